//! Where Etherpad pads come from: a running instance (its HTTP API lists them, its export route
//! serves each as an `.etherpad` file) or a directory of such files. Every call here blocks
//! (run them on the blocking pool), is bounded in bytes and, over the network, in time.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use crate::config::migrate::ApiKey;

/// The API version asked for: `listAllPads` exists since 1.2.1.
const API_VERSION: &str = "1.2.1";

/// Most bytes of a `listAllPads` answer: 100,000 ids of 50 characters, escaped, fit well.
const MAX_LIST_BYTES: u64 = 64 * 1024 * 1024;

/// Longest wait for a connection to the instance.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Longest silence while reading an answer.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest one request may take in all (a large export over a slow link included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// Why the pads could not be listed: the whole run stops.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The URL is not an http(s) one.
    #[error("--url must start with http:// or https://: {0}")]
    BadUrl(String),
    /// The instance answered with an error code (4: wrong API key).
    #[error("Etherpad refused listAllPads (code {code}): {message}")]
    Refused {
        /// Etherpad's code.
        code: i64,
        /// Its message.
        message: String,
    },
    /// The instance could not be reached or answered something else than its API's JSON.
    #[error("cannot list the pads of {url}: {reason}")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The directory could not be read.
    #[error("cannot read the directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// An Etherpad instance reached over HTTP.
pub struct Instance {
    /// Its base URL, without a trailing slash.
    base: String,
    key: ApiKey,
    agent: ureq::Agent,
}

impl Instance {
    /// An instance at `url` (http or https), asked with `key`.
    pub fn new(url: &str, key: ApiKey) -> Result<Self, ListError> {
        let base = url.trim().trim_end_matches('/');
        let lower = base.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(ListError::BadUrl(url.to_owned()));
        }
        let config = ureq::Agent::config_builder()
            // Statuses are read and reported, not turned into transport errors.
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_per_read(Some(READ_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .user_agent(concat!("ardoise-migrate/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Self {
            base: base.to_owned(),
            key,
            agent: config.into(),
        })
    }

    /// Every pad id of the instance (`listAllPads`).
    pub fn list(&self) -> Result<Vec<String>, ListError> {
        let url = format!("{}/api/{API_VERSION}/listAllPads", self.base);
        let unreachable = |reason: String| ListError::Unreachable {
            url: url.clone(),
            reason,
        };
        let mut response = self
            .agent
            .get(&url)
            .query("apikey", self.key.expose())
            .call()
            .map_err(|e| unreachable(e.to_string()))?;
        let status = response.status();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_LIST_BYTES)
            .read_to_vec()
            .map_err(|e| unreachable(e.to_string()))?;
        // Etherpad answers its API errors with a JSON body, under 200 or an error status
        // (401 for a wrong key in recent versions): read the body first.
        let answer: ApiAnswer = serde_json::from_slice(&body).map_err(|_| {
            unreachable(format!(
                "HTTP {status}, not an Etherpad API answer (is --url the instance's base URL?)"
            ))
        })?;
        if answer.code != 0 {
            return Err(ListError::Refused {
                code: answer.code,
                message: answer.message,
            });
        }
        answer
            .data
            .map(|d| d.pad_ids)
            .ok_or_else(|| unreachable("the answer has no data.padIDs".into()))
    }

    /// The `.etherpad` export of pad `id`, at most `max_bytes` long; the error says why not.
    pub fn export(&self, id: &str, max_bytes: usize) -> Result<Vec<u8>, String> {
        let url = format!("{}/p/{}/export/etherpad", self.base, encode_segment(id));
        let mut response = self.agent.get(&url).call().map_err(|e| e.to_string())?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the export answered HTTP {status}"));
        }
        match response
            .body_mut()
            .with_config()
            .limit(max_bytes as u64)
            .read_to_vec()
        {
            Ok(bytes) => Ok(bytes),
            Err(ureq::Error::BodyExceedsLimit(_)) => Err(too_large(max_bytes)),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// `listAllPads`'s answer: `{code, message, data: {padIDs}}`.
#[derive(Deserialize)]
struct ApiAnswer {
    code: i64,
    #[serde(default)]
    message: String,
    data: Option<PadIds>,
}

#[derive(Deserialize)]
struct PadIds {
    #[serde(rename = "padIDs")]
    pad_ids: Vec<String>,
}

/// Why a file or an export is refused for its size.
fn too_large(max_bytes: usize) -> String {
    format!("larger than the import limit ({max_bytes} bytes, --max-import-bytes)")
}

/// `s` as one URL path segment: unreserved characters as they are, every other byte of its
/// UTF-8 as `%XX`.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `.etherpad` files of `dir` (not its subdirectories), in name order.
pub fn files(dir: &Path) -> Result<Vec<PathBuf>, ListError> {
    let failed = |source| ListError::Dir {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(failed)? {
        let path = entry.map_err(failed)?.path();
        if path.extension().is_some_and(|e| e == "etherpad") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The bytes of file `path`, at most `max_bytes`; the error says why not.
pub fn read_file(path: &Path, max_bytes: usize) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    let mut bytes = Vec::new();
    // One byte more than allowed tells a file past the limit without reading all of it.
    file.take(max_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() > max_bytes {
        return Err(too_large(max_bytes));
    }
    Ok(bytes)
}

/// The pad id of an `.etherpad` file: the `X` of its one `pad:X` record (the record holding
/// `atext`; revisions and chat messages are `pad:X:revs:N`, `pad:X:chat:N`, and an id may
/// itself hold a colon). Reads the keys only: values are skipped, not built, but for `pad:`
/// records that older exports wrote as a string holding the object.
pub fn pad_id(bytes: &[u8]) -> Result<String, String> {
    let ids = serde_json::from_slice::<PadRecords>(bytes)
        .map_err(|e| format!("not an Etherpad file: {e}"))?
        .0;
    match ids.as_slice() {
        [id] if !id.is_empty() => Ok(id.clone()),
        [_, _, ..] => Err("the file holds more than one pad".into()),
        _ => Err("not an Etherpad file: no pad:ID record with atext".into()),
    }
}

/// The ids of the `pad:ID` records (those whose value holds `atext`) of an `.etherpad` file.
struct PadRecords(Vec<String>);

impl<'de> Deserialize<'de> for PadRecords {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Top;
        impl<'de> Visitor<'de> for Top {
            type Value = PadRecords;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of database records")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PadRecords, A::Error> {
                let mut ids = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let Some(id) = key.strip_prefix("pad:") else {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    if map.next_value::<HasAtext>()?.0 {
                        ids.push(id.to_owned());
                    }
                }
                Ok(PadRecords(ids))
            }
        }
        d.deserialize_map(Top)
    }
}

/// Whether a record's value is an object with an `atext` field, or a string holding one.
struct HasAtext(bool);

impl<'de> Deserialize<'de> for HasAtext {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Look { in_string: false })
    }
}

/// Visits a record's value; `in_string` once inside a string, which is unwrapped only once.
struct Look {
    in_string: bool,
}

impl<'de> Visitor<'de> for Look {
    type Value = HasAtext;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a record")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HasAtext, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            found |= key == "atext";
            map.next_value::<IgnoredAny>()?;
        }
        Ok(HasAtext(found))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<HasAtext, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(HasAtext(false))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<HasAtext, E> {
        if self.in_string {
            return Ok(HasAtext(false));
        }
        let mut inner = serde_json::Deserializer::from_str(s);
        Ok(
            de::Deserializer::deserialize_any(&mut inner, Look { in_string: true })
                .unwrap_or(HasAtext(false)),
        )
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<HasAtext, E> {
        Ok(HasAtext(false))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<HasAtext, E> {
        Ok(HasAtext(false))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<HasAtext, E> {
        Ok(HasAtext(false))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<HasAtext, E> {
        Ok(HasAtext(false))
    }
    fn visit_unit<E: de::Error>(self) -> Result<HasAtext, E> {
        Ok(HasAtext(false))
    }
}

#[cfg(test)]
mod tests {
    use super::{encode_segment, pad_id};

    #[test]
    fn the_pad_id_is_the_record_with_atext() {
        let file = br#"{
            "pad:a:b": {"atext": {"text": "x\n", "attribs": "|1+2"}, "pool": {}, "head": 0},
            "pad:a:b:revs:0": {"changeset": "Z:1>1+1$x", "meta": {}},
            "pad:a:b:chat:0": {"text": "hi", "time": 1},
            "globalAuthor:a.x": {"name": "A", "colorId": 3},
            "pad2readonly:a:b": "r.123",
            "n": null, "l": [1, [2]], "f": 1.5, "t": true
        }"#;
        assert_eq!(pad_id(file).as_deref(), Ok("a:b"));
        let older = br#"{"pad:old": "{\"atext\": {\"text\": \"x\\n\"}, \"pool\": {}}",
                         "pad:old:revs:0": "{\"changeset\": \"\"}"}"#;
        assert_eq!(pad_id(older).as_deref(), Ok("old"));
        let twice = br#"{"pad:s": "\"{\\\"atext\\\": 1}\""}"#;
        assert!(pad_id(twice).is_err(), "a string is unwrapped once");
    }

    #[test]
    fn the_fixture_of_etherpad_is_read() {
        let file = include_bytes!("../../tests/fixtures/etherpad/test.etherpad");
        assert_eq!(pad_id(file).as_deref(), Ok("Pd4b1Kgvv9qHZZtj8yzl"));
    }

    #[test]
    fn files_without_one_pad_are_refused() {
        assert!(pad_id(b"[]").is_err());
        assert!(pad_id(b"{}").is_err());
        assert!(pad_id(b"{\"pad:x:revs:0\": {\"changeset\": \"\"}}").is_err());
        assert!(pad_id(br#"{"pad:a": {"atext": 1}, "pad:b": {"atext": 1}}"#).is_err());
        assert!(pad_id(br#"{"pad:": {"atext": 1}}"#).is_err());
        assert!(pad_id(b"{\"pad:a\": {\"atext\": 1}").is_err());
    }

    #[test]
    fn ids_are_one_path_segment() {
        assert_eq!(encode_segment("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(encode_segment("a b/c?d#é"), "a%20b%2Fc%3Fd%23%C3%A9");
    }
}
