//! What the Etherpad API reads of a pad besides its text (DESIGN.md §3): the person ids of
//! `Y.Map "authors"` and the messages of `Y.Array "chat"`. Pure; run on the blocking pool, on a
//! snapshot vetted like an export's input (`nesting::check_document`, yrs under
//! `catch_unwind`).

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};

use yrs::any::Number;
use yrs::updates::decoder::Decode;
use yrs::{Any, Array, Doc, Map, Out, ReadTxn, Transact, Update};

use crate::doc::nesting;

/// One chat message as Etherpad's `getChatHistory` gives it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChatLine {
    /// The message.
    pub text: String,
    /// Etherpad's author id; ardoise's chat keeps the author's name only, so always `None`.
    #[serde(rename = "userId")]
    pub user_id: Option<String>,
    /// When it was sent, ms since the Unix epoch.
    pub time: f64,
    /// The author's name as shown.
    #[serde(rename = "userName")]
    pub user_name: String,
}

/// The parts of a pad the API reads.
#[derive(Debug, Default, PartialEq)]
pub struct PadParts {
    /// The distinct person ids of the authors map, sorted (an entry without one counts as
    /// `client:<clientID>`, as the exports merge it).
    pub author_ids: Vec<String>,
    /// The chat, oldest first.
    pub chat: Vec<ChatLine>,
}

/// Reads the authors and chat of a pad snapshot (a whole document as one v1 update); `None` if
/// it cannot be decoded.
pub fn pad_parts(snapshot: &[u8]) -> Option<PadParts> {
    nesting::check_document(snapshot).ok()?;
    catch_unwind(AssertUnwindSafe(|| decode(snapshot))).ok()?
}

fn decode(snapshot: &[u8]) -> Option<PadParts> {
    let update = Update::decode_v1(snapshot).ok()?;
    let doc = Doc::new();
    let mut txn = doc.transact_mut();
    txn.apply_update(update).ok()?;
    let mut ids = BTreeSet::new();
    if let Some(authors) = txn.get_map("authors") {
        for (client, value) in authors.iter(&txn) {
            let id = match field(&txn, &value, "id") {
                Some(Any::String(id)) if !id.trim().is_empty() => id.trim().to_owned(),
                _ => format!("client:{client}"),
            };
            ids.insert(id);
        }
    }
    let mut chat = Vec::new();
    if let Some(messages) = txn.get_array("chat") {
        for value in messages.iter(&txn) {
            let text = |key| match field(&txn, &value, key) {
                Some(Any::String(s)) => s.to_string(),
                _ => String::new(),
            };
            let time = match field(&txn, &value, "ts") {
                Some(Any::Number(Number::Float(f))) => f,
                Some(Any::Number(Number::Int(i))) => i as f64,
                _ => 0.0,
            };
            chat.push(ChatLine {
                text: text("text"),
                user_id: None,
                time,
                user_name: text("author"),
            });
        }
    }
    Some(PadParts {
        author_ids: ids.into_iter().collect(),
        chat,
    })
}

/// Field `key` of an entry written as a plain object or a nested `Y.Map`.
fn field<T: ReadTxn>(txn: &T, value: &Out, key: &str) -> Option<Any> {
    match value {
        Out::Any(Any::Map(m)) => m.get(key).cloned(),
        Out::YMap(m) => match m.get(txn, key)? {
            Out::Any(any) => Some(any),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use yrs::{ArrayPrelim, MapPrelim};

    #[test]
    fn authors_and_chat_are_read_and_garbage_is_refused() {
        let doc = Doc::new();
        {
            let authors = doc.get_or_insert_map("authors");
            let chat = doc.get_or_insert_array("chat");
            let mut txn = doc.transact_mut();
            let entry = |id: Option<&str>| {
                let mut m: HashMap<String, Any> = HashMap::new();
                m.insert("name".into(), Any::from("Ana"));
                if let Some(id) = id {
                    m.insert("id".into(), Any::from(id));
                }
                Any::from(m)
            };
            authors.insert(&mut txn, "7", entry(Some("a.one")));
            authors.insert(&mut txn, "8", entry(Some("a.one")));
            authors.insert(&mut txn, "9", entry(None));
            authors.insert(
                &mut txn,
                "10",
                MapPrelim::from([("id", Any::from("a.two"))]),
            );
            let mut msg: HashMap<String, Any> = HashMap::new();
            msg.insert("author".into(), Any::from("Ana"));
            msg.insert("text".into(), Any::from("salut"));
            msg.insert("ts".into(), Any::from(1_700_000_000_000.0));
            chat.push_back(&mut txn, Any::from(msg));
            chat.push_back(&mut txn, ArrayPrelim::default());
        }
        let snapshot = doc
            .transact()
            .encode_state_as_update_v1(&yrs::StateVector::default());
        let parts = pad_parts(&snapshot).expect("decodes");
        assert_eq!(parts.author_ids, ["a.one", "a.two", "client:9"]);
        assert_eq!(parts.chat.len(), 2);
        assert_eq!(parts.chat[0].text, "salut");
        assert_eq!(parts.chat[0].user_name, "Ana");
        assert_eq!(parts.chat[0].time, 1_700_000_000_000.0);
        assert_eq!(
            parts.chat[1].text, "",
            "a malformed message is blank, not an error"
        );
        assert_eq!(pad_parts(b"\xff\xff\xff"), None);
        assert_eq!(pad_parts(&[]), None);
    }
}
