//! Server-only document metadata (DESIGN.md §3): what kind a document is and when it was created
//! and last edited. Stored as JSON bytes; never part of the CRDT, where clients could change it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

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
pub struct DocMeta {
    /// What the document is.
    pub kind: Kind,
    /// Creation time, seconds since the Unix epoch.
    pub created: u64,
    /// Time of the last persisted edit, seconds since the Unix epoch.
    pub last_edit: u64,
}

impl DocMeta {
    /// Metadata of a document created now.
    pub fn new(kind: Kind) -> Self {
        let now = unix_now();
        Self {
            kind,
            created: now,
            last_edit: now,
        }
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

    #[test]
    fn round_trips() {
        let m = DocMeta::new(Kind::Pad);
        assert_eq!(DocMeta::from_bytes(&m.to_bytes()).ok(), Some(m));
        assert!(String::from_utf8_lossy(&DocMeta::new(Kind::Calc).to_bytes()).contains("\"calc\""));
    }
}
