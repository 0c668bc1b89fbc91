//! Document names: validated once at the edge, then carried as a newtype.

use std::fmt;

/// Longest accepted document name, in characters.
pub const MAX_NAME_LEN: usize = 100;

/// A validated document name: 1–100 characters of `[A-Za-z0-9_.-]`, not only dots,
/// case-sensitive.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocName(String);

/// Why a string is not a valid document name; the message is safe to show to clients.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    /// The name is empty.
    #[error("document name is empty")]
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`].
    #[error("document name is longer than {MAX_NAME_LEN} characters")]
    TooLong,
    /// The name contains a character outside `[A-Za-z0-9_.-]`.
    #[error("document name may only contain letters A-Z and a-z, digits, '_', '.' and '-'")]
    BadChar,
    /// The name is made only of dots, which browsers read as a path step (`.`, `..`) and never
    /// send as a name.
    #[error("document name must contain a character other than '.'")]
    OnlyDots,
}

impl DocName {
    /// Validates `raw` as a document name.
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        if raw.is_empty() {
            return Err(NameError::Empty);
        }
        if raw.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong);
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            return Err(NameError::BadChar);
        }
        if raw.bytes().all(|b| b == b'.') {
            return Err(NameError::OnlyDots);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The name another server's document id gets here (an Etherpad pad id, which may hold
    /// any character but `$`): the id itself when it is a valid name, else its valid
    /// characters (others become `-`, at most 80) followed by `-` and 8 hex digits of the id's
    /// SHA-256, so different ids never share a name and the same id always maps to the same
    /// one (old links are redirected by computing it again). `None` for an empty id.
    pub fn foreign(id: &str) -> Option<Self> {
        if id.is_empty() {
            return None;
        }
        if let Ok(name) = Self::parse(id) {
            return Some(name);
        }
        let mut base: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .take(80)
            .collect();
        base.push('-');
        let digest = <sha2::Sha256 as sha2::Digest>::digest(id.as_bytes());
        for b in &digest[..4] {
            base.push_str(&format!("{b:02x}"));
        }
        Self::parse(&base).ok()
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DocName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DocName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_ids_map_to_stable_distinct_names() {
        assert_eq!(DocName::foreign("plain-pad").unwrap().as_str(), "plain-pad");
        let a = DocName::foreign("réunion du lundi").unwrap();
        assert_eq!(a, DocName::foreign("réunion du lundi").unwrap());
        assert!(a.as_str().starts_with("r-union-du-lundi-"), "{a}");
        assert_ne!(a, DocName::foreign("r union du lundi").unwrap());
        assert_eq!(
            DocName::foreign(&"x".repeat(300)).unwrap().as_str().len(),
            89
        );
        assert!(DocName::foreign("..").is_some());
        assert!(DocName::foreign("").is_none());
    }

    #[test]
    fn accepts_the_documented_alphabet() {
        for ok in [
            "a",
            "Pad-1",
            "x.y_z",
            ".a",
            "..-",
            &"a".repeat(MAX_NAME_LEN),
        ] {
            assert_eq!(DocName::parse(ok).map(|n| n.to_string()).as_deref(), Ok(ok));
        }
    }

    #[test]
    fn refuses_everything_else() {
        assert_eq!(DocName::parse(""), Err(NameError::Empty));
        assert_eq!(
            DocName::parse(&"a".repeat(MAX_NAME_LEN + 1)),
            Err(NameError::TooLong)
        );
        for bad in ["a b", "a/b", "é", "a%20", "<script>", "a\0"] {
            assert_eq!(DocName::parse(bad), Err(NameError::BadChar), "{bad:?}");
        }
        for dots in [".", "..", "...", &".".repeat(MAX_NAME_LEN)] {
            assert_eq!(DocName::parse(dots), Err(NameError::OnlyDots), "{dots:?}");
        }
    }
}
