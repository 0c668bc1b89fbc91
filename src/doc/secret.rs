//! The creator secret: handed once to the browser that creates a document, which can then
//! delete it at once. Only its SHA-256 is stored (in the metadata, never in the CRDT), and
//! secrets are compared by hash in constant time. Pure.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::doc::random::random_hex;

/// The secret as given to the creating browser: 128 random bits as 32 lowercase hex digits.
#[derive(Clone, PartialEq, Eq)]
pub struct CreatorSecret(String);

impl std::fmt::Debug for CreatorSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CreatorSecret(..)")
    }
}

impl CreatorSecret {
    /// A new random secret.
    pub fn generate() -> Self {
        Self(random_hex())
    }

    /// The secret, to hand to the creating browser (and nowhere else).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What is stored for it.
    pub fn hash(&self) -> CreatorHash {
        CreatorHash::of(&self.0)
    }
}

/// SHA-256 of a creator secret. The secret has 128 random bits, so a plain hash suffices: there
/// is nothing to brute-force.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CreatorHash([u8; 32]);

impl std::fmt::Debug for CreatorHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CreatorHash(..)")
    }
}

impl CreatorHash {
    /// The hash of whatever a client presents as the secret (any string).
    pub fn of(presented: &str) -> Self {
        Self(Sha256::digest(presented.as_bytes()).into())
    }

    /// Whether two hashes are equal, in time independent of where they differ.
    pub fn matches(&self, other: &CreatorHash) -> bool {
        let diff = self
            .0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(diff) == 0
    }
}

/// A stored hash that is not 64 hex digits.
#[derive(Debug, thiserror::Error)]
#[error("not a creator hash")]
pub struct BadHash;

impl TryFrom<String> for CreatorHash {
    type Error = BadHash;
    fn try_from(s: String) -> Result<Self, BadHash> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return Err(BadHash);
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let hex = std::str::from_utf8(pair).map_err(|_| BadHash)?;
            out[i] = u8::from_str_radix(hex, 16).map_err(|_| BadHash)?;
        }
        Ok(Self(out))
    }
}

impl From<CreatorHash> for String {
    fn from(h: CreatorHash) -> String {
        h.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_secret_matches_its_hash() {
        let secret = CreatorSecret::generate();
        let stored = secret.hash();
        assert!(stored.matches(&CreatorHash::of(secret.as_str())));
        assert!(!stored.matches(&CreatorHash::of(CreatorSecret::generate().as_str())));
        assert!(!stored.matches(&CreatorHash::of("")));
        let text = String::from(stored);
        assert_eq!(text.len(), 64);
        assert!(!text.contains(secret.as_str()));
        assert!(CreatorHash::try_from(text)
            .expect("round trip")
            .matches(&stored));
        assert!(CreatorHash::try_from("zz".repeat(32)).is_err());
        assert!(!format!("{secret:?}").contains(secret.as_str()));
    }
}
