//! What every reader makes of a file: lines of formatted text with their authors, the authors'
//! names and colours, and chat; then written as one yrs update of a whole pad.
//!
//! Authorship is the clientID of the item holding the text (DESIGN.md §3), and a yrs document
//! types with one clientID only, so the text is written as the update that each author typing
//! their stretches at the end of the pad would have made (`encode_content`), in one pass, and
//! the authors map and chat are added on top by a clientID of no author.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use yrs::block::{
    ClientID, BLOCK_ITEM_FORMAT_REF_NUMBER, BLOCK_ITEM_STRING_REF_NUMBER, HAS_ORIGIN, ID,
};
use yrs::encoding::write::Write;
use yrs::types::Attrs;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::{Encoder, EncoderV1};
use yrs::{Any, Array, Doc, Map, Options, ReadTxn, Transact, Update, WriteTxn};

use super::{Dropped, ImportError, Imported, MAX_IMPORT_CHARS, MAX_LINES, MAX_PIECES};
use crate::convert::pad::model::{keep, safe_link, LineKind};

/// The root `Y.Text` of a pad.
const CONTENT: &str = "content";
/// The root `Y.Map` of authors.
const AUTHORS: &str = "authors";
/// The root `Y.Array` of chat messages.
const CHAT: &str = "chat";

/// Most authors a draft keeps; text of the others stays, uncoloured.
pub const MAX_AUTHORS: usize = 1_000;
/// Most chat messages a draft keeps (the oldest are dropped past it).
pub const MAX_CHAT: usize = 10_000;
/// Longest chat message kept, in characters (the editor's own limit).
pub const MAX_CHAT_CHARS: usize = 2_000;
/// Longest author name kept, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// How a stretch of text looks (DESIGN.md §3 inline attributes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inline {
    /// Bold.
    pub bold: bool,
    /// Italic.
    pub italic: bool,
    /// Underlined.
    pub underline: bool,
    /// Struck through.
    pub strike: bool,
    /// A link target already checked by [`Draft::link`].
    pub link: Option<Arc<str>>,
}

/// An author of an imported pad: an entry of the `authors` map under their own clientID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftAuthor {
    /// The clientID their text is typed with (never 0; unique in the draft).
    pub client: u64,
    /// Their stable person id (the other server's author id).
    pub id: String,
    /// Their name, plain text.
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
}

/// One chat message (`{author, text, ts}` in the `chat` array).
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    /// The author's name as shown.
    pub author: String,
    /// The message, plain text.
    pub text: String,
    /// When it was sent, ms since the Unix epoch.
    pub ts: f64,
}

/// A stretch of text of one look and one author, or one newline ending a line.
#[derive(Debug, Clone, PartialEq)]
struct Piece {
    /// The text (no newline), or `"\n"` for a line end.
    text: String,
    /// The look of text; unused for a line end.
    look: Inline,
    /// The kind of the line a line end ends; `None` for text.
    line: Option<LineKind>,
    author: Option<u64>,
}

/// A pad being read from a file.
#[derive(Debug, Default)]
pub struct Draft {
    pieces: Vec<Piece>,
    chars: usize,
    lines: usize,
    author: Option<u64>,
    authors: Vec<DraftAuthor>,
    chat: Vec<ChatMessage>,
    /// What the reader left out.
    pub dropped: Dropped,
}

impl Draft {
    /// An empty pad.
    pub fn new() -> Self {
        Self::default()
    }

    /// Text from now on is typed by `client` (an author added with [`Self::add_author`]), or
    /// by nobody known (`None`, the default).
    pub fn set_author(&mut self, client: Option<u64>) {
        self.author = client;
    }

    /// Adds an author; past [`MAX_AUTHORS`], or with a clientID already taken or 0, it is not
    /// added and `false` is returned (their text then stays uncoloured).
    pub fn add_author(&mut self, mut author: DraftAuthor) -> bool {
        if author.client == 0
            || self.authors.len() >= MAX_AUTHORS
            || self.authors.iter().any(|a| a.client == author.client)
        {
            return false;
        }
        author.name = author
            .name
            .chars()
            .filter(|&c| keep(c) && c != '\n' && c != '\t')
            .take(MAX_NAME_CHARS)
            .collect();
        if crate::convert::pad::model::Color::parse(&author.color).is_none() {
            author.color = String::new();
        }
        self.authors.push(author);
        true
    }

    /// The authors added so far.
    pub fn authors(&self) -> &[DraftAuthor] {
        &self.authors
    }

    /// Adds a chat message (cut to [`MAX_CHAT_CHARS`]); past [`MAX_CHAT`] messages, it is
    /// counted as dropped.
    pub fn chat(&mut self, mut message: ChatMessage) {
        if self.chat.len() >= MAX_CHAT {
            self.dropped.other = self.dropped.other.saturating_add(1);
            return;
        }
        message.text = message
            .text
            .chars()
            .filter(|&c| keep(c))
            .take(MAX_CHAT_CHARS)
            .collect();
        message.author = message
            .author
            .chars()
            .filter(|&c| keep(c) && c != '\n')
            .take(MAX_NAME_CHARS)
            .collect();
        if !message.ts.is_finite() || message.ts < 0.0 {
            message.ts = 0.0;
        }
        self.chat.push(message);
    }

    /// The link target a text should carry, if `raw` is an http, https or mailto URL;
    /// otherwise `None`, counted in [`Dropped::links`] (the text stays, plain). Call it once
    /// per link, not per stretch of its text.
    pub fn link(&mut self, raw: &str) -> Option<Arc<str>> {
        let safe = safe_link(raw);
        if safe.is_none() {
            self.dropped.links = self.dropped.links.saturating_add(1);
        }
        safe
    }

    /// Appends text to the current line with look `look`. Each newline in it (`\n`, `\r\n` or
    /// a lone `\r`) ends a plain paragraph; characters the exports cannot hold (most C0
    /// controls) are dropped.
    pub fn text(&mut self, text: &str, look: &Inline) -> Result<(), ImportError> {
        let mut rest = text;
        loop {
            let cut = rest.find(['\n', '\r']);
            let (line, tail) = match cut {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            self.push_text(line, look)?;
            if tail.is_empty() {
                return Ok(());
            }
            self.end_line(LineKind::Paragraph)?;
            rest = tail
                .strip_prefix("\r\n")
                .or_else(|| tail.strip_prefix('\n'))
                .or_else(|| tail.strip_prefix('\r'))
                .unwrap_or("");
            if rest.is_empty() {
                return Ok(());
            }
        }
    }

    fn push_text(&mut self, text: &str, look: &Inline) -> Result<(), ImportError> {
        let kept = text.chars().filter(|&c| keep(c) && c != '\n' && c != '\r');
        match self.pieces.last_mut() {
            Some(last)
                if last.line.is_none() && last.author == self.author && last.look == *look =>
            {
                let start = last.text.len();
                last.text.extend(kept);
                self.chars += last.text[start..].chars().count();
            }
            _ => {
                let text: String = kept.collect();
                if text.is_empty() {
                    return Ok(());
                }
                self.chars += text.chars().count();
                self.pieces.push(Piece {
                    text,
                    look: look.clone(),
                    line: None,
                    author: self.author,
                });
            }
        }
        self.check()
    }

    /// Ends the current line as a `kind` line (a heading level is kept between 1 and 3).
    pub fn end_line(&mut self, kind: LineKind) -> Result<(), ImportError> {
        let kind = match kind {
            LineKind::Heading(level) => LineKind::Heading(level.clamp(1, 3)),
            other => other,
        };
        self.chars += 1;
        self.lines += 1;
        self.pieces.push(Piece {
            text: "\n".to_owned(),
            look: Inline::default(),
            line: Some(kind),
            author: self.author,
        });
        self.check()
    }

    /// Whether the current line has no text yet.
    pub fn line_is_empty(&self) -> bool {
        self.pieces.last().is_none_or(|p| p.line.is_some())
    }

    /// Characters so far, newlines included.
    pub fn chars(&self) -> usize {
        self.chars
    }

    /// The text so far, newlines included, without formatting (for tests and checks).
    pub fn plain(&self) -> String {
        self.pieces.iter().map(|p| p.text.as_str()).collect()
    }

    fn check(&self) -> Result<(), ImportError> {
        if self.chars > MAX_IMPORT_CHARS {
            return Err(ImportError::TooLarge(format!(
                "the text is longer than {} million characters",
                MAX_IMPORT_CHARS / (1024 * 1024)
            )));
        }
        if self.pieces.len() > MAX_PIECES {
            return Err(ImportError::TooLarge(format!(
                "the file changes formatting or author more than {MAX_PIECES} times"
            )));
        }
        if self.lines > MAX_LINES {
            return Err(ImportError::TooLarge(format!(
                "the file has more than {MAX_LINES} lines"
            )));
        }
        Ok(())
    }

    /// The pad as one yrs v1 update (no history), with the authors' names and what was
    /// dropped.
    pub fn finish(self) -> Result<Imported, ImportError> {
        let doc = self.to_doc()?;
        let state = doc
            .transact()
            .encode_state_as_update_v1(&yrs::StateVector::default());
        Ok(Imported {
            state,
            history: Vec::new(),
            authors: self.authors.iter().map(|a| a.name.clone()).collect(),
            dropped: self.dropped,
        })
    }

    /// The pad as a yrs document: text typed by each author's own clientID (text of no known
    /// author by a fresh one), the authors map, the chat. A last plain line needs no newline,
    /// so a file's final newline makes no empty line.
    pub fn to_doc(&self) -> Result<Doc, ImportError> {
        let mut pieces: &[Piece] = &self.pieces;
        if let Some((last, rest)) = pieces.split_last() {
            if last.line == Some(LineKind::Paragraph) {
                pieces = rest;
            }
        }
        let known: HashSet<u64> = self.authors.iter().map(|a| a.client).collect();
        let mut taken = known.clone();
        let own = fresh_client(&mut taken)?;
        let main = doc_with_client(own);
        let content = encode_content(pieces, |author| {
            author.filter(|c| known.contains(c)).unwrap_or(own)
        });
        let update = Update::decode_v1(&content)
            .map_err(|_| ImportError::Invalid("the pad could not be written".into()))?;
        main.transact_mut()
            .apply_update(update)
            .map_err(|_| ImportError::Invalid("the pad could not be written".into()))?;
        let mut txn = main.transact_mut();
        if !self.authors.is_empty() {
            let map = txn.get_or_insert_map(AUTHORS);
            for a in &self.authors {
                let mut entry = HashMap::from([
                    ("id".to_owned(), Any::from(a.id.as_str())),
                    ("name".to_owned(), Any::from(a.name.as_str())),
                ]);
                if !a.color.is_empty() {
                    entry.insert("color".to_owned(), Any::from(a.color.as_str()));
                }
                map.insert(&mut txn, a.client.to_string(), Any::from(entry));
            }
        }
        if !self.chat.is_empty() {
            let chat = txn.get_or_insert_array(CHAT);
            for m in &self.chat {
                let message = HashMap::from([
                    ("author".to_owned(), Any::from(m.author.as_str())),
                    ("text".to_owned(), Any::from(m.text.as_str())),
                    ("ts".to_owned(), Any::from(m.ts)),
                ]);
                chat.push_back(&mut txn, Any::from(message));
            }
        }
        drop(txn);
        Ok(main)
    }
}

fn doc_with_client(client: u64) -> Doc {
    Doc::with_options(Options::with_client_id(yrs::block::ClientID::new(client)))
}

/// A clientID (32 bits, as Yjs draws them) not in `taken`.
pub(crate) fn fresh_client(taken: &mut HashSet<u64>) -> Result<u64, ImportError> {
    for _ in 0..64 {
        let n = u64::from(u32::from_le_bytes(crate::doc::random::random_bytes::<4>()));
        if n != 0 && taken.insert(n) {
            return Ok(n);
        }
    }
    Err(ImportError::Invalid("no free client id".into()))
}

/// One item of the pad's text as written: a run of text or a formatting mark.
enum Written {
    Text(String),
    /// An attribute starting (its value) or ending (`Any::Null`) at this point.
    Format(Arc<str>, Any),
}

/// Items being written: per client, in clock order, each with its left origin.
#[derive(Default)]
struct Items {
    items: HashMap<u64, Vec<(Option<ID>, Written)>>,
    clocks: HashMap<u64, u32>,
    /// The id of the last character written.
    last: Option<ID>,
}

impl Items {
    /// Appends `written` typed by `client`; text right after the same client's text joins it.
    fn push(&mut self, client: u64, written: Written) {
        let len = match &written {
            Written::Text(t) => t.encode_utf16().count() as u32,
            Written::Format(..) => 1,
        };
        let clock = self.clocks.entry(client).or_insert(0);
        let list = self.items.entry(client).or_default();
        let mine = self.last.is_some_and(|id| id.client.get() == client);
        match (&written, list.last_mut()) {
            (Written::Text(more), Some((_, Written::Text(text)))) if mine => text.push_str(more),
            _ => list.push((self.last, written)),
        }
        *clock += len;
        self.last = Some(ID::new(ClientID::new(client), *clock - 1));
    }
}

/// The pad's text as one yrs v1 update: every piece appended after the one before it, each
/// typed by the clientID `client_of` gives its author, formats as marks where they change.
///
/// yrs inserts by index by walking the text from its start, so typing piece after piece is
/// quadratic in the number of pieces (minutes for a long file with many authors); the items
/// a typist appending at the end would make are written here directly, in one pass: each one's
/// left origin is the last character before it, none has a right origin.
fn encode_content(pieces: &[Piece], client_of: impl Fn(Option<u64>) -> u64) -> Vec<u8> {
    let mut out = Items::default();
    let mut current = Attrs::new();
    for piece in pieces {
        let client = client_of(piece.author);
        let wanted = match piece.line {
            Some(kind) => line_attrs(kind),
            None => inline_attrs(&piece.look),
        };
        let mut marks: Vec<(Arc<str>, Any)> = current
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .map(|k| (k.clone(), Any::Null))
            .collect();
        marks.extend(
            wanted
                .iter()
                .filter(|(k, v)| current.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        marks.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, value) in marks {
            out.push(client, Written::Format(key, value));
        }
        current = wanted;
        out.push(client, Written::Text(piece.text.clone()));
    }
    if let Some(last) = out.last {
        let mut open: Vec<Arc<str>> = current.keys().cloned().collect();
        open.sort();
        for key in open {
            out.push(last.client.get(), Written::Format(key, Any::Null));
        }
    }
    let mut encoder = EncoderV1::new();
    encoder.write_var(out.items.len() as u32);
    let mut clients: Vec<_> = out.items.into_iter().collect();
    clients.sort_by_key(|(client, _)| std::cmp::Reverse(*client));
    for (client, list) in clients {
        encoder.write_var(list.len() as u32);
        encoder.write_client(ClientID::new(client));
        encoder.write_var(0u32);
        for (origin, written) in list {
            let kind = match written {
                Written::Text(_) => BLOCK_ITEM_STRING_REF_NUMBER,
                Written::Format(..) => BLOCK_ITEM_FORMAT_REF_NUMBER,
            };
            match origin {
                Some(id) => {
                    encoder.write_info(HAS_ORIGIN | kind);
                    encoder.write_left_id(&id);
                }
                None => {
                    encoder.write_info(kind);
                    encoder.write_parent_info(true);
                    encoder.write_string(CONTENT);
                }
            }
            match written {
                Written::Text(text) => encoder.write_string(&text),
                Written::Format(key, value) => {
                    encoder.write_key(&key);
                    encoder.write_json(&value);
                }
            }
        }
    }
    // No deletions.
    encoder.write_var(0u32);
    encoder.to_vec()
}

fn inline_attrs(look: &Inline) -> Attrs {
    let mut attrs = Attrs::new();
    for (key, on) in [
        ("bold", look.bold),
        ("italic", look.italic),
        ("underline", look.underline),
        ("strike", look.strike),
    ] {
        if on {
            attrs.insert(Arc::from(key), Any::Bool(true));
        }
    }
    if let Some(link) = &look.link {
        attrs.insert(Arc::from("link"), Any::String(link.clone()));
    }
    attrs
}

fn line_attrs(kind: LineKind) -> Attrs {
    let mut attrs = Attrs::new();
    match kind {
        LineKind::Paragraph => {}
        LineKind::Heading(level) => {
            attrs.insert(Arc::from("header"), Any::from(f64::from(level)));
        }
        LineKind::Bullet => {
            attrs.insert(Arc::from("list"), Any::from("bullet"));
        }
        LineKind::Ordered => {
            attrs.insert(Arc::from("list"), Any::from("ordered"));
        }
    }
    attrs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::pad::model::Pad;

    fn bold() -> Inline {
        Inline {
            bold: true,
            ..Inline::default()
        }
    }

    #[test]
    fn lines_looks_and_authors_survive_the_exporters_reader() {
        let mut d = Draft::new();
        assert!(d.add_author(DraftAuthor {
            client: 7,
            id: "a.x".into(),
            name: "Alice <b>".into(),
            color: "#ff0000".into(),
        }));
        assert!(!d.add_author(DraftAuthor {
            client: 7,
            id: "dup".into(),
            name: "Dup".into(),
            color: "#00ff00".into(),
        }));
        d.text("Title", &Inline::default()).unwrap();
        d.end_line(LineKind::Heading(5)).unwrap();
        d.set_author(Some(7));
        d.text("bold", &bold()).unwrap();
        d.set_author(None);
        d.text(" plain\r\nsecond\n", &Inline::default()).unwrap();
        d.text("item", &Inline::default()).unwrap();
        d.end_line(LineKind::Bullet).unwrap();
        d.chat(ChatMessage {
            author: "Alice".into(),
            text: "hi".into(),
            ts: 1_700_000_000_000.0,
        });
        let imported = d.finish().unwrap();
        let pad = Pad::from_snapshot(&imported.state).unwrap();
        let kinds: Vec<_> = pad.paragraphs.iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            [
                LineKind::Heading(3),
                LineKind::Paragraph,
                LineKind::Paragraph,
                LineKind::Bullet
            ]
        );
        let line1 = &pad.paragraphs[1].runs;
        assert_eq!(line1[0].text, "bold");
        assert!(line1[0].bold);
        assert_eq!(line1[0].author, Some(7));
        assert_eq!(pad.author(Some(7)).unwrap().name, "Alice <b>");
        assert_eq!(line1[1].text, " plain");
        assert!(!line1[1].bold);
        assert_ne!(line1[1].author, Some(7));
        assert_eq!(imported.authors, ["Alice <b>"]);
    }

    #[test]
    fn a_final_newline_makes_no_empty_line_and_bounds_hold() {
        let mut d = Draft::new();
        d.text("a\nb\n", &Inline::default()).unwrap();
        let pad = Pad::from_snapshot(&d.finish().unwrap().state).unwrap();
        assert_eq!(pad.paragraphs.len(), 2);

        let mut d = Draft::new();
        let err = (0..=MAX_LINES)
            .map(|_| d.end_line(LineKind::Paragraph))
            .find_map(Result::err)
            .unwrap();
        assert!(err.is_too_large());
    }

    #[test]
    fn unsafe_links_are_plain_text_and_counted() {
        let mut d = Draft::new();
        assert!(d.link("javascript:alert(1)").is_none());
        assert_eq!(
            d.link("https://example.org").as_deref(),
            Some("https://example.org")
        );
        assert_eq!(d.dropped.links, 1);
    }

    #[test]
    fn every_author_keeps_their_stretches_across_many_switches() {
        let mut d = Draft::new();
        for client in [5u64, 6] {
            assert!(d.add_author(DraftAuthor {
                client,
                id: format!("a.{client}"),
                name: format!("n{client}"),
                color: "#112233".into(),
            }));
        }
        let switches = 20_000u64;
        for i in 0..switches {
            d.set_author(Some(5 + i % 2));
            let look = Inline {
                bold: i.is_multiple_of(3),
                ..Inline::default()
            };
            d.text("a😀", &look).unwrap();
            if i % 10 == 9 {
                d.end_line(if i % 20 == 9 {
                    LineKind::Bullet
                } else {
                    LineKind::Heading(2)
                })
                .unwrap();
            }
        }
        let pad = Pad::from_snapshot(&d.finish().unwrap().state).unwrap();
        assert_eq!(pad.paragraphs.len() as u64, switches / 10);
        let mut i = 0u64;
        for (n, line) in pad.paragraphs.iter().enumerate() {
            let kind = if n % 2 == 0 {
                LineKind::Bullet
            } else {
                LineKind::Heading(2)
            };
            assert_eq!(line.kind, kind);
            for run in &line.runs {
                assert_eq!(run.text, "a😀");
                assert_eq!(run.author, Some(5 + i % 2));
                assert_eq!(run.bold, i.is_multiple_of(3));
                i += 1;
            }
        }
        assert_eq!(i, switches);
    }
}
