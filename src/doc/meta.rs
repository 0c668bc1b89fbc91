//! Server-only document metadata (DESIGN.md §3): what kind a document is and when it was created
//! and last edited. Stored as JSON bytes; never part of the CRDT, where clients could change it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::doc::lifetime::Lifetime;
use crate::doc::random::{random_bytes, random_hex};
use crate::doc::secret::CreatorHash;

/// What a document is; fixed at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Rich text.
    Pad,
    /// Spreadsheet.
    Calc,
}

/// The metadata of one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredMeta")]
pub struct DocMeta {
    /// What the document is.
    pub kind: Kind,
    /// Creation time, seconds since the Unix epoch.
    pub created: u64,
    /// Time of the last persisted edit, seconds since the Unix epoch.
    pub last_edit: u64,
    /// How long the document is kept after its last edit, chosen at creation.
    pub lifetime: Lifetime,
    /// Secret of the read-only link (`/r/{token}`); unrelated to the name.
    pub read_token: ReadToken,
    /// Hash of the creator secret, if the document was created by a browser that got one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<CreatorHash>,
    /// Created by opening its link (a page visit or a WebSocket join), not asked for: erased
    /// when its room unloads while nobody has typed into it (`creation`'s rule).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub provisional: bool,
}

/// Metadata as stored by any version: documents written before lifetimes were durations carry
/// `keep_days` instead of `lifetime`.
#[derive(Deserialize)]
struct StoredMeta {
    kind: Kind,
    created: u64,
    last_edit: u64,
    #[serde(default)]
    lifetime: Option<Lifetime>,
    #[serde(default)]
    keep_days: Option<u32>,
    read_token: ReadToken,
    #[serde(default)]
    creator: Option<CreatorHash>,
    #[serde(default)]
    provisional: bool,
}

impl TryFrom<StoredMeta> for DocMeta {
    type Error = &'static str;
    fn try_from(m: StoredMeta) -> Result<Self, &'static str> {
        let lifetime = match (m.lifetime, m.keep_days) {
            (Some(lifetime), _) => lifetime,
            (None, Some(days)) => Lifetime::After(u64::from(days.max(1)) * 86_400),
            (None, None) => return Err("metadata without a lifetime"),
        };
        Ok(Self {
            kind: m.kind,
            created: m.created,
            last_edit: m.last_edit,
            lifetime,
            read_token: m.read_token,
            creator: m.creator,
            provisional: m.provisional,
        })
    }
}

/// How a new document is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewDoc {
    /// What the document is.
    pub kind: Kind,
    /// How long it is kept after its last edit (see `lifetime::choose_lifetime`).
    pub lifetime: Lifetime,
    /// Hash of the secret handed to the creating browser, if any.
    pub creator: Option<CreatorHash>,
    /// Made by opening the document's link rather than asked for (see
    /// [`DocMeta::provisional`]).
    pub provisional: bool,
}

impl DocMeta {
    /// Metadata of a document created at `now` (Unix seconds), with a fresh read-only token.
    pub fn new(new: NewDoc, now: u64) -> Self {
        Self {
            kind: new.kind,
            created: now,
            last_edit: now,
            lifetime: new.lifetime,
            read_token: ReadToken::generate(),
            creator: new.creator,
            provisional: new.provisional,
        }
    }

    /// When the document expires if nobody edits it (Unix seconds); `None` for never.
    pub fn expires_at(&self) -> Option<u64> {
        self.lifetime.expires_at(self.last_edit)
    }

    /// Encodes for storage.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising a struct of integers and a unit enum to JSON cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// The read-only link's secret: 128 random bits as 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReadToken(String);

/// A string that is not a read-only token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a read-only link")]
pub struct BadToken;

impl ReadToken {
    /// A new random token.
    pub fn generate() -> Self {
        Self(random_hex())
    }

    /// Validates a token taken from a URL.
    pub fn parse(raw: &str) -> Result<Self, BadToken> {
        if raw.len() == 32 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(BadToken)
        }
    }

    /// The token as it appears in URLs.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ReadToken {
    type Error = BadToken;
    fn try_from(s: String) -> Result<Self, BadToken> {
        Self::parse(&s)
    }
}

impl From<ReadToken> for String {
    fn from(t: ReadToken) -> String {
        t.0
    }
}

/// A random name for a document created without one: 16 characters of `[a-z0-9]`, about 82
/// bits, so it cannot be guessed.
pub fn random_name() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let bytes: [u8; 16] = random_bytes();
    // 256 is not a multiple of 36; the slight bias costs under a bit of entropy in total.
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAD: NewDoc = NewDoc {
        kind: Kind::Pad,
        lifetime: Lifetime::After(30 * 86_400),
        creator: None,
        provisional: false,
    };

    #[test]
    fn round_trips() {
        let m = DocMeta::new(PAD, unix_now());
        assert_eq!(DocMeta::from_bytes(&m.to_bytes()).ok(), Some(m));
        let secret = crate::doc::secret::CreatorSecret::generate();
        let calc = DocMeta::new(
            NewDoc {
                kind: Kind::Calc,
                creator: Some(secret.hash()),
                ..PAD
            },
            5,
        );
        let text = String::from_utf8_lossy(&calc.to_bytes()).into_owned();
        assert!(text.contains("\"calc\"") && text.contains("\"lifetime\":\"30d\""));
        assert!(!text.contains(secret.as_str()));
        assert_eq!(DocMeta::from_bytes(text.as_bytes()).ok(), Some(calc));
    }

    #[test]
    fn metadata_stored_with_keep_days_still_loads() {
        let old = br#"{"kind":"pad","created":10,"last_edit":20,"keep_days":7,"read_token":"0123456789abcdef0123456789abcdef"}"#;
        let meta = DocMeta::from_bytes(old).expect("old metadata loads");
        assert_eq!(meta.lifetime, Lifetime::After(7 * 86_400));
        assert_eq!(meta.expires_at(), Some(20 + 7 * 86_400));
        assert_eq!(meta.creator, None);
        let none = br#"{"kind":"pad","created":10,"last_edit":20,"read_token":"0123456789abcdef0123456789abcdef"}"#;
        assert!(DocMeta::from_bytes(none).is_err());
    }

    #[test]
    fn tokens_are_random_and_validated() {
        let a = ReadToken::generate();
        assert_ne!(a, ReadToken::generate());
        assert_eq!(ReadToken::parse(a.as_str()), Ok(a));
        for bad in ["", "abc", &"g".repeat(32), &"A".repeat(32), &"a".repeat(33)] {
            assert_eq!(ReadToken::parse(bad), Err(BadToken), "{bad}");
        }
        let name = random_name();
        assert!(name.len() >= 10 && crate::doc::name::DocName::parse(&name).is_ok());
        assert_ne!(name, random_name());
    }
}
