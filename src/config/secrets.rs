//! The operator's secrets in the configuration: the API key, kept hashed (the configuration
//! holds the SHA-256 of the key, never the key; a presented key is hashed and compared in
//! constant time), and the admin token (compared in constant time, never shown in logs).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 of the API key, from `api_key_sha256` (64 hex digits, e.g. from
/// `printf %s "$KEY" | sha256sum`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ApiKeyHash([u8; 32]);

/// A value that is not 64 hexadecimal digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("api_key_sha256 must be 64 hexadecimal digits (the SHA-256 of the key)")]
pub struct BadKeyHash;

impl ApiKeyHash {
    /// Whether `presented` is the key: its hash is compared in constant time, so the time taken
    /// says nothing about how close a guess was.
    pub fn matches(&self, presented: &str) -> bool {
        let digest = Sha256::digest(presented.as_bytes());
        bool::from(digest.as_slice().ct_eq(&self.0))
    }
}

impl FromStr for ApiKeyHash {
    type Err = BadKeyHash;

    fn from_str(s: &str) -> Result<Self, BadKeyHash> {
        let s = s.trim();
        if s.len() != 64 {
            return Err(BadKeyHash);
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2).ok_or(BadKeyHash)?, 16)
                .map_err(|_| BadKeyHash)?;
        }
        Ok(Self(out))
    }
}

impl TryFrom<String> for ApiKeyHash {
    type Error = BadKeyHash;
    fn try_from(s: String) -> Result<Self, BadKeyHash> {
        s.parse()
    }
}

impl From<ApiKeyHash> for String {
    fn from(h: ApiKeyHash) -> String {
        h.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

// Not the key, but still nothing to print in logs or `--help` dumps.
impl fmt::Debug for ApiKeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeyHash(..)")
    }
}

/// The operator's secret. Its `Debug` form hides it, so logging the configuration cannot leak it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AdminToken(String);

/// An admin token must not be empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the admin token must not be empty")]
pub struct EmptyToken;

impl FromStr for AdminToken {
    type Err = EmptyToken;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() {
            Err(EmptyToken)
        } else {
            Ok(Self(s.to_owned()))
        }
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

impl AdminToken {
    /// Whether `given` is this token, in time that does not depend on where they differ.
    pub fn matches(&self, given: &str) -> bool {
        self.0.as_bytes().ct_eq(given.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_matches_its_hash_only() {
        // printf %s secret | sha256sum
        let hash: ApiKeyHash = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
            .parse()
            .expect("valid hash");
        assert!(hash.matches("secret"));
        assert!(!hash.matches("secret "));
        assert!(!hash.matches(""));
        assert_eq!("xyz".parse::<ApiKeyHash>(), Err(BadKeyHash));
        assert_eq!("g".repeat(64).parse::<ApiKeyHash>(), Err(BadKeyHash));
    }
}
