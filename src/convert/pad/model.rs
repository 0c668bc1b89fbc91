//! Decodes a pad snapshot into what every exporter renders: paragraphs of formatted runs and the
//! pad's authors (DESIGN.md §3).
//!
//! Authorship is the clientID of the Yjs item that holds the text. yrs keeps its items private,
//! so the items are read through `Text::diff_range` against an empty "before" snapshot: that marks
//! every visible string item as added and cuts the diff at every item, handing each chunk the ID
//! of its item. Deleted items, format markers and non-string content fall out on the way.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use yrs::types::text::YChange;
use yrs::types::Attrs;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Doc, IdSet, Map, Out, ReadTxn, Snapshot, StateVector, Text, Transact, TransactionMut,
    Update,
};

use super::ExportError;
use crate::doc::nesting;

/// The root `Y.Text` holding the pad's rich text.
const CONTENT: &str = "content";
/// The root `Y.Map` from clientID (decimal string) to `{id, name, color}`.
const AUTHORS: &str = "authors";
/// Author names longer than this (in characters) are cut: they only label a colour.
const MAX_NAME_CHARS: usize = 200;
/// Titles derived from the first line are cut to this many characters.
const MAX_TITLE_CHARS: usize = 100;

/// A decoded pad.
#[derive(Debug, Default)]
pub struct Pad {
    /// The lines of the pad, in order.
    pub paragraphs: Vec<Paragraph>,
    /// Every person in the authors map, merged by person id: first those whose text is in the
    /// pad, in order of appearance, then the others by name.
    pub authors: Vec<Author>,
    /// clientID → index in `authors`.
    clients: HashMap<u64, usize>,
}

/// What a line is, from the attributes of the `"\n"` that ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// A plain paragraph.
    Paragraph,
    /// A heading of level 1 to 3.
    Heading(u8),
    /// An item of a bulleted list.
    Bullet,
    /// An item of a numbered list.
    Ordered,
}

impl LineKind {
    /// Whether the line is a list item.
    pub fn is_list(self) -> bool {
        matches!(self, LineKind::Bullet | LineKind::Ordered)
    }
}

/// One line of the pad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paragraph {
    /// Heading, list item or plain paragraph.
    pub kind: LineKind,
    /// The text, without the ending newline; neighbouring runs always differ in look or author.
    pub runs: Vec<Run>,
}

/// A stretch of text with one formatting and one author.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Run {
    /// The text: never empty, no newline, no character XML forbids (tabs kept).
    pub text: String,
    /// Bold.
    pub bold: bool,
    /// Italic.
    pub italic: bool,
    /// Underlined.
    pub underline: bool,
    /// Struck through.
    pub strike: bool,
    /// An `http`, `https` or `mailto` URL, percent-encoded where it had spaces, quotes, angle
    /// brackets or controls. Shared between the runs of one link.
    pub link: Option<Arc<str>>,
    /// The clientID that typed the text, normalised to one clientID per person so that equal
    /// authors compare equal; `None` for text whose origin is unknown.
    pub author: Option<u64>,
}

impl Run {
    /// Whether `other` looks the same and has the same author, so the two can be one run.
    fn same_look(&self, other: &Run) -> bool {
        self.bold == other.bold
            && self.italic == other.italic
            && self.underline == other.underline
            && self.strike == other.strike
            && self.link == other.link
            && self.author == other.author
    }
}

/// A person who wrote in the pad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// The stable person id from the authors map (or `client:<clientID>` when it had none).
    pub id: String,
    /// The display name, cleaned; empty when none was given (each export names it in its
    /// language: [`super::Language::name_of`]).
    pub name: String,
    /// The author's colour, when the map held a valid `#rrggbb`.
    pub color: Option<Color>,
}

/// A colour from the authors map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Color {
    r: u8,
    g: u8,
    b: u8,
}

impl Color {
    /// Parses `#rrggbb` (either case) and nothing else: colours come from other clients.
    pub fn parse(s: &str) -> Option<Color> {
        let hex = s.strip_prefix('#')?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Color {
            r: channel(0)?,
            g: channel(2)?,
            b: channel(4)?,
        })
    }

    /// `#rrggbb`, lowercase.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }

    /// `RRGGBB`, as OOXML wants it.
    pub fn ooxml(self) -> String {
        format!("{:02X}{:02X}{:02X}", self.r, self.g, self.b)
    }

    /// The pale shade the editor paints behind this author's text: the colour at alpha
    /// `0x59` over white paper (`--a: <colour>59` in web/src/common/chrome.js). Every channel of a
    /// tint is at least 166, so its relative luminance is at least 0.38, whatever the colour.
    pub fn tint(self) -> Color {
        let blend = |c: u8| {
            let covered = (255 - u32::from(c)) * TINT_ALPHA;
            // Rounded to nearest, as the browser composites; never above 255.
            255 - ((covered + 127) / 255) as u8
        };
        Color {
            r: blend(self.r),
            g: blend(self.g),
            b: blend(self.b),
        }
    }

    /// WCAG 2 relative luminance, 0 (black) to 1 (white).
    #[cfg(test)]
    pub fn luminance(self) -> f64 {
        let linear = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(self.r) + 0.7152 * linear(self.g) + 0.0722 * linear(self.b)
    }

    /// WCAG 2 contrast ratio between two colours, 1 to 21.
    #[cfg(test)]
    pub fn contrast(self, other: Color) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }
}

/// The opacity of an author's colour in its tint, out of 255 (the `59` of `#rrggbb59`).
const TINT_ALPHA: u32 = 0x59;

/// The text colour of every export, the editor's ink: at least 6.4:1 on any tint.
pub const INK: Color = Color {
    r: 0x1c,
    g: 0x23,
    b: 0x30,
};

/// The colour of links in every export: at least 4.9:1 on any tint (a tint's luminance is at
/// least 0.38), where a usual link blue (#0645ad) falls to 3.5:1.
pub const LINK: Color = Color {
    r: 0x00,
    g: 0x30,
    b: 0x7f,
};

impl Pad {
    /// Each line's kind and text, for tests that compare what a reader made.
    #[cfg(test)]
    pub fn lines(&self) -> Vec<(LineKind, String)> {
        self.paragraphs
            .iter()
            .map(|p| (p.kind, p.runs.iter().map(|r| r.text.as_str()).collect()))
            .collect()
    }

    /// Decodes a yrs v1 update of the whole document. Hostile input yields an error, never a
    /// panic, a stack overflow or a quadratic run: [`nesting::check_document`] vets the bytes first, and
    /// yrs runs under `catch_unwind`.
    pub fn from_snapshot(snapshot: &[u8]) -> Result<Pad, ExportError> {
        nesting::check_document(snapshot)?;
        catch_unwind(AssertUnwindSafe(|| decode(snapshot))).unwrap_or(Err(ExportError::BadSnapshot))
    }

    /// The author of a run, if known.
    pub fn author(&self, client: Option<u64>) -> Option<&Author> {
        self.authors.get(*self.clients.get(&client?)?)
    }

    /// The colour to shade a run with, if its author has one.
    pub fn color(&self, run: &Run) -> Option<Color> {
        self.author(run.author)?.color
    }

    /// The paragraphs grouped into blocks: each consecutive run of list items of one kind is one
    /// block (one list), every other paragraph is a block of its own.
    pub fn blocks(&self) -> impl Iterator<Item = &[Paragraph]> {
        self.paragraphs
            .chunk_by(|a, b| a.kind == b.kind && a.kind.is_list())
    }

    /// A title for the document: its first non-blank line, shortened.
    pub fn title(&self) -> String {
        let first = self.paragraphs.iter().find_map(|p| {
            let line: String = p.runs.iter().map(|r| r.text.as_str()).collect();
            let line = line.replace('\t', " ");
            let line = line.trim();
            (!line.is_empty()).then(|| line.to_owned())
        });
        match first {
            Some(line) if line.chars().count() > MAX_TITLE_CHARS => {
                let cut: String = line.chars().take(MAX_TITLE_CHARS).collect();
                format!("{}…", cut.trim_end())
            }
            Some(line) => line,
            None => "Pad".to_owned(),
        }
    }
}

/// Groups runs into stretches sharing one link (or none), so a link is written once however
/// many authors and looks it spans.
pub fn link_groups(runs: &[Run]) -> impl Iterator<Item = (Option<&str>, &[Run])> {
    runs.chunk_by(|a, b| a.link == b.link)
        .map(|group| (group[0].link.as_deref(), group))
}

fn decode(snapshot: &[u8]) -> Result<Pad, ExportError> {
    let update = Update::decode_v1(snapshot).map_err(|_| ExportError::BadSnapshot)?;
    let doc = Doc::new();
    let mut txn = doc.transact_mut();
    txn.apply_update(update)
        .map_err(|_| ExportError::BadSnapshot)?;
    let (mut authors, mut clients) = read_authors(&txn);
    let canonical = canonical_clients(&clients);
    let mut builder = Builder::new(&canonical);
    for chunk in items(&mut txn) {
        builder.push(&chunk.text, chunk.attrs.as_deref(), chunk.client);
    }
    let paragraphs = builder.finish();
    order_authors(&paragraphs, &mut authors, &mut clients);
    Ok(Pad {
        paragraphs,
        authors,
        clients,
    })
}

/// A visible string item of the content text.
struct Chunk {
    text: Arc<str>,
    attrs: Option<Box<Attrs>>,
    /// The clientID that created the item.
    client: Option<u64>,
}

/// The visible string items of the content text, in order, with their formatting and clientID.
/// Embeds and nested types are dropped: the schema has none, and a stock client can still insert
/// them.
fn items(txn: &mut TransactionMut) -> Vec<Chunk> {
    let Some(text) = txn.get_text(CONTENT) else {
        return Vec::new();
    };
    let now = txn.snapshot();
    let nothing = Snapshot::new(StateVector::default(), IdSet::new());
    text.diff_range(txn, Some(&now), Some(&nothing), |c: YChange| {
        c.id.client.get()
    })
    .into_iter()
    .filter_map(|d| match d.insert {
        Out::Any(Any::String(text)) => Some(Chunk {
            text,
            attrs: d.attributes,
            client: d.ychange,
        }),
        _ => None,
    })
    .collect()
}

/// One entry of the authors map, before merging by person.
struct Entry {
    id: Option<String>,
    name: String,
    color: Option<Color>,
}

/// Reads `Y.Map "authors"`; entries of one person id become one author.
fn read_authors<T: ReadTxn>(txn: &T) -> (Vec<Author>, HashMap<u64, usize>) {
    let mut authors: Vec<Author> = Vec::new();
    let mut clients = HashMap::new();
    let Some(map) = txn.get_map(AUTHORS) else {
        return (authors, clients);
    };
    let mut entries: Vec<(u64, Entry)> = map
        .iter(txn)
        .filter_map(|(key, value)| Some((key.parse().ok()?, read_entry(txn, value)?)))
        .collect();
    // Map order is a hash order: sort so that merged names and colours are deterministic.
    entries.sort_by_key(|(client, _)| *client);
    let mut persons: HashMap<String, usize> = HashMap::new();
    for (client, entry) in entries {
        let id = entry.id.unwrap_or_else(|| format!("client:{client}"));
        let index = *persons.entry(id.clone()).or_insert_with(|| {
            authors.push(Author {
                id,
                name: String::new(),
                color: None,
            });
            authors.len() - 1
        });
        let author = &mut authors[index];
        if author.name.is_empty() {
            author.name = entry.name;
        }
        if author.color.is_none() {
            author.color = entry.color;
        }
        clients.insert(client, index);
    }
    (authors, clients)
}

/// Reads `{id, name, color}`, written either as a plain object or as a nested `Y.Map`.
fn read_entry<T: ReadTxn>(txn: &T, value: Out) -> Option<Entry> {
    let field = |key: &str| -> Option<Any> {
        match &value {
            Out::Any(Any::Map(m)) => m.get(key).cloned(),
            Out::YMap(m) => match m.get(txn, key)? {
                Out::Any(any) => Some(any),
                _ => None,
            },
            _ => None,
        }
    };
    if !matches!(value, Out::Any(Any::Map(_)) | Out::YMap(_)) {
        return None;
    }
    let id = match field("id") {
        Some(Any::String(s)) => Some(clean(&s)).filter(|s| !s.is_empty()),
        Some(Any::Number(n)) => Some(match n {
            yrs::any::Number::Int(i) => i.to_string(),
            yrs::any::Number::Float(f) => f.to_string(),
        }),
        _ => None,
    };
    let name = match field("name") {
        Some(Any::String(s)) => {
            let one_line = clean(&s).replace(['\n', '\t'], " ");
            one_line.trim().chars().take(MAX_NAME_CHARS).collect()
        }
        _ => String::new(),
    };
    let color = match field("color") {
        Some(Any::String(s)) => Color::parse(&s),
        _ => None,
    };
    Some(Entry { id, name, color })
}

/// clientID → the smallest clientID of the same person, so that runs by one person merge.
fn canonical_clients(clients: &HashMap<u64, usize>) -> HashMap<u64, u64> {
    let mut first: HashMap<usize, u64> = HashMap::new();
    for (&client, &person) in clients {
        first
            .entry(person)
            .and_modify(|c| *c = (*c).min(client))
            .or_insert(client);
    }
    clients
        .iter()
        .filter_map(|(&client, person)| Some((client, *first.get(person)?)))
        .collect()
}

/// Sorts authors by first appearance in the text, then by name, and re-points `clients`.
fn order_authors(
    paragraphs: &[Paragraph],
    authors: &mut Vec<Author>,
    clients: &mut HashMap<u64, usize>,
) {
    let mut first_seen = vec![usize::MAX; authors.len()];
    let runs = paragraphs.iter().flat_map(|p| &p.runs);
    for (position, run) in runs.enumerate() {
        if let Some(&person) = run.author.and_then(|c| clients.get(&c)) {
            if let Some(seen) = first_seen.get_mut(person) {
                *seen = (*seen).min(position);
            }
        }
    }
    let mut order: Vec<usize> = (0..authors.len()).collect();
    order.sort_by(|&a, &b| {
        (first_seen[a], &authors[a].name, &authors[a].id).cmp(&(
            first_seen[b],
            &authors[b].name,
            &authors[b].id,
        ))
    });
    let mut new_index = vec![0; authors.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    let mut old: Vec<Option<Author>> = std::mem::take(authors).into_iter().map(Some).collect();
    *authors = order.iter().filter_map(|&i| old[i].take()).collect();
    for person in clients.values_mut() {
        *person = new_index[*person];
    }
}

/// Accumulates text chunks into paragraphs.
struct Builder<'a> {
    canonical: &'a HashMap<u64, u64>,
    paragraphs: Vec<Paragraph>,
    runs: Vec<Run>,
    /// The last link attribute seen and what it became: consecutive chunks of one link share
    /// the attribute's `Arc`, so it is checked once and the runs share the result.
    last_link: Option<(Arc<str>, Option<Arc<str>>)>,
}

impl<'a> Builder<'a> {
    fn new(canonical: &'a HashMap<u64, u64>) -> Self {
        Self {
            canonical,
            paragraphs: Vec::new(),
            runs: Vec::new(),
            last_link: None,
        }
    }

    /// Adds one chunk of text; each `"\n"` in it ends a line whose kind the chunk's attributes
    /// give (Quill puts line attributes on the newline).
    fn push(&mut self, text: &str, attrs: Option<&Attrs>, client: Option<u64>) {
        let look = self.look(attrs, client);
        let mut lines = text.split('\n');
        if let Some(first) = lines.next() {
            self.push_text(first, &look);
        }
        for line in lines {
            self.end_line(line_kind(attrs));
            self.push_text(line, &look);
        }
    }

    /// A run with the chunk's look and author, and no text yet.
    fn look(&mut self, attrs: Option<&Attrs>, client: Option<u64>) -> Run {
        let flag = |key: &str| matches!(attrs.and_then(|a| a.get(key)), Some(Any::Bool(true)));
        let link = match attrs.and_then(|a| a.get("link")) {
            Some(Any::String(raw)) => match &self.last_link {
                Some((seen, safe)) if Arc::ptr_eq(seen, raw) => safe.clone(),
                _ => {
                    let safe = safe_link(raw);
                    self.last_link = Some((raw.clone(), safe.clone()));
                    safe
                }
            },
            _ => None,
        };
        Run {
            text: String::new(),
            bold: flag("bold"),
            italic: flag("italic"),
            underline: flag("underline"),
            strike: flag("strike"),
            link,
            author: client.map(|c| self.canonical.get(&c).copied().unwrap_or(c)),
        }
    }

    fn push_text(&mut self, text: &str, look: &Run) {
        let kept = text.chars().filter(|&c| keep(c));
        match self.runs.last_mut() {
            Some(last) if last.same_look(look) => last.text.extend(kept),
            _ => {
                let text: String = kept.collect();
                if !text.is_empty() {
                    self.runs.push(Run {
                        text,
                        ..look.clone()
                    });
                }
            }
        }
    }

    fn end_line(&mut self, kind: LineKind) {
        let runs = std::mem::take(&mut self.runs);
        self.paragraphs.push(Paragraph { kind, runs });
    }

    /// The paragraphs; text after the last newline (Quill always ends with one, other clients
    /// may not) becomes a last plain paragraph.
    fn finish(mut self) -> Vec<Paragraph> {
        if !self.runs.is_empty() {
            self.end_line(LineKind::Paragraph);
        }
        self.paragraphs
    }
}

/// The kind of the line that a newline with these attributes ends.
fn line_kind(attrs: Option<&Attrs>) -> LineKind {
    let Some(attrs) = attrs else {
        return LineKind::Paragraph;
    };
    let level = match attrs.get("header") {
        Some(Any::Number(yrs::any::Number::Int(n))) => Some(*n as f64),
        Some(Any::Number(yrs::any::Number::Float(f))) => Some(*f),
        Some(Any::String(s)) => s.parse::<f64>().ok(),
        _ => None,
    };
    // Quill allows levels up to 6; the schema has 3, so deeper ones stay headings at level 3.
    if let Some(level) = level.filter(|l| l.fract() == 0.0 && (1.0..=6.0).contains(l)) {
        return LineKind::Heading((level as u8).min(3));
    }
    match attrs.get("list") {
        Some(Any::String(s)) if &**s == "ordered" => LineKind::Ordered,
        // Quill's checklists have no equivalent here; a bullet keeps them a list.
        Some(Any::String(s)) if matches!(&**s, "bullet" | "checked" | "unchecked") => {
            LineKind::Bullet
        }
        _ => LineKind::Paragraph,
    }
}

/// Whether a character may appear in the exports: XML 1.0 forbids most C0 controls and
/// U+FFFE/U+FFFF; tab and newline stay, carriage return goes (XML parsers turn it into a
/// newline).
pub fn keep(c: char) -> bool {
    !matches!(c, '\0'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// Drops the characters [`keep`] refuses.
pub fn clean(s: &str) -> String {
    s.chars().filter(|&c| keep(c)).collect()
}

/// The link target if its scheme is `http`, `https` or `mailto`, with the characters that could
/// break out of an attribute, a Markdown destination or a URL percent-encoded.
pub(crate) fn safe_link(raw: &str) -> Option<Arc<str>> {
    let url = raw.trim();
    let (scheme, _) = url.split_once(':')?;
    if !["http", "https", "mailto"]
        .iter()
        .any(|s| scheme.eq_ignore_ascii_case(s))
    {
        return None;
    }
    let mut safe = String::with_capacity(url.len());
    for c in url.chars() {
        let encode = c.is_control()
            || c.is_whitespace()
            || matches!(
                c,
                '"' | '\''
                    | '<'
                    | '>'
                    | '\\'
                    | '^'
                    | '`'
                    | '{'
                    | '|'
                    | '}'
                    | '\u{fffe}'
                    | '\u{ffff}'
            );
        if encode {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                safe.push_str(&format!("%{b:02X}"));
            }
        } else {
            safe.push(c);
        }
    }
    Some(safe.into())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    fn pad(b: &PadBuilder) -> Pad {
        Pad::from_snapshot(&b.snapshot()).expect("decodes")
    }

    fn texts(p: &Paragraph) -> Vec<&str> {
        p.runs.iter().map(|r| r.text.as_str()).collect()
    }

    #[test]
    fn empty_pad_has_no_paragraphs() {
        let p = pad(&PadBuilder::new());
        assert!(p.paragraphs.is_empty());
        assert!(p.authors.is_empty());
        assert_eq!(p.title(), "Pad");
    }

    #[test]
    fn lines_take_their_kind_from_the_newline() {
        let b = PadBuilder::new();
        b.alice("Title").alice_attrs("\n", &[("header", 1.into())]);
        b.alice("Sub").alice_attrs("\n", &[("header", 2.into())]);
        b.alice("Small").alice_attrs("\n", &[("header", 3.into())]);
        b.alice("Deep").alice_attrs("\n", &[("header", 6.into())]);
        b.alice("one")
            .alice_attrs("\n", &[("list", "bullet".into())]);
        b.alice("first")
            .alice_attrs("\n", &[("list", "ordered".into())]);
        b.alice("todo")
            .alice_attrs("\n", &[("list", "checked".into())]);
        b.alice("weird")
            .alice_attrs("\n", &[("list", "zigzag".into()), ("header", 9.into())]);
        b.alice("\n");
        b.alice("tail without newline");
        let p = pad(&b);
        let kinds: Vec<LineKind> = p.paragraphs.iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            [
                LineKind::Heading(1),
                LineKind::Heading(2),
                LineKind::Heading(3),
                LineKind::Heading(3),
                LineKind::Bullet,
                LineKind::Ordered,
                LineKind::Bullet,
                LineKind::Paragraph,
                LineKind::Paragraph,
                LineKind::Paragraph,
            ]
        );
        assert!(p.paragraphs[8].runs.is_empty(), "empty line kept");
        assert_eq!(texts(&p.paragraphs[9]), ["tail without newline"]);
        assert_eq!(p.title(), "Title");
    }

    #[test]
    fn inline_formats_become_runs() {
        let b = PadBuilder::new();
        b.alice("plain ");
        b.alice_attrs("bold", &[("bold", true.into())]);
        b.alice_attrs("both", &[("bold", true.into()), ("italic", true.into())]);
        b.alice_attrs("u", &[("underline", true.into())]);
        b.alice_attrs("s", &[("strike", true.into())]);
        b.alice_attrs("false", &[("bold", false.into())]);
        b.alice_attrs("link", &[("link", "https://example.org/a b".into())]);
        b.alice_attrs("js", &[("link", "JavaScript:alert(1)".into())]);
        b.alice("\n");
        let p = pad(&b);
        let runs = &p.paragraphs[0].runs;
        assert_eq!(
            texts(&p.paragraphs[0]),
            ["plain ", "bold", "both", "u", "s", "false", "link", "js"]
        );
        assert!(runs[1].bold && !runs[1].italic);
        assert!(runs[2].bold && runs[2].italic);
        assert!(runs[3].underline && runs[4].strike);
        assert!(!runs[5].bold, "only `true` turns a format on");
        assert_eq!(runs[6].link.as_deref(), Some("https://example.org/a%20b"));
        assert_eq!(runs[7].link, None);
        assert_eq!(runs[0].author, Some(ALICE));
    }

    #[test]
    fn format_applied_after_typing_is_seen() {
        let b = PadBuilder::new();
        b.alice("hello world\n");
        b.format_alice(6, 5, &[("bold", true.into())]);
        b.format_alice(11, 1, &[("header", 2.into())]);
        let p = pad(&b);
        assert_eq!(texts(&p.paragraphs[0]), ["hello ", "world"]);
        assert!(p.paragraphs[0].runs[1].bold);
        assert_eq!(p.paragraphs[0].kind, LineKind::Heading(2));
    }

    #[test]
    fn authorship_comes_from_the_items() {
        let b = PadBuilder::new();
        b.alice("Alice wrote this. ");
        b.bob("Bob wrote that.");
        b.alice("\n");
        b.set_author(ALICE, "alice-id", "Alice", "#FFAA00");
        b.set_author(BOB, "bob-id", "Bob", "red");
        let p = pad(&b);
        let runs = &p.paragraphs[0].runs;
        assert_eq!(
            texts(&p.paragraphs[0]),
            ["Alice wrote this. ", "Bob wrote that."]
        );
        assert_eq!(runs[0].author, Some(ALICE));
        assert_eq!(runs[1].author, Some(BOB));
        let alice = p.author(runs[0].author).expect("alice known");
        assert_eq!(alice.name, "Alice");
        assert_eq!(alice.color.map(Color::hex).as_deref(), Some("#ffaa00"));
        let bob = p.author(runs[1].author).expect("bob known");
        assert_eq!(bob.color, None, "only #rrggbb is a colour");
        assert_eq!(p.color(&runs[1]), None);
        let names: Vec<&str> = p.authors.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["Alice", "Bob"]);
    }

    #[test]
    fn one_person_with_two_client_ids_is_one_author() {
        let b = PadBuilder::new();
        b.alice("from the first tab ");
        b.bob("from the second tab\n");
        b.set_author(ALICE, "same-person", "Pat", "#00ff00");
        b.set_author(BOB, "same-person", "Pat", "#00ff00");
        b.set_author(77, "ghost", "Nobody Typed", "#0000ff");
        let p = pad(&b);
        assert_eq!(p.paragraphs[0].runs.len(), 1, "merged into one run");
        assert_eq!(p.authors.len(), 2);
        assert_eq!(p.authors[0].name, "Pat");
        assert_eq!(
            p.authors[1].name, "Nobody Typed",
            "authors without text come last"
        );
    }

    #[test]
    fn authors_map_entries_of_any_shape_are_tolerated() {
        let b = PadBuilder::new();
        b.alice("x\n");
        b.raw_author("not-a-number", Any::from("x"));
        b.raw_author("5", Any::from(42));
        b.raw_author(
            "6",
            Any::from(HashMap::from([
                ("name".to_owned(), Any::from("\u{0}Eve\u{7}\n<b>")),
                ("color".to_owned(), Any::from(17)),
            ])),
        );
        b.nested_author(ALICE, "Ann", "#123456");
        let p = pad(&b);
        let eve = p
            .author(Some(6))
            .expect("entry without id is its own person");
        assert_eq!(eve.name, "Eve <b>");
        assert_eq!(eve.color, None);
        assert_eq!(eve.id, "client:6");
        let ann = p.author(Some(ALICE)).expect("nested Y.Map entry");
        assert_eq!(ann.name, "Ann");
        assert_eq!(ann.color.map(Color::hex).as_deref(), Some("#123456"));
        assert_eq!(p.author(Some(5)), None);
    }

    #[test]
    fn unicode_survives_as_typed() {
        let text = "emoji 👩‍👩‍👧‍👦 🇫🇷 CJK 漢字かな한글 RTL עברית العربية combining e\u{301}\u{328} ﷽\n";
        let b = PadBuilder::new();
        b.alice(text);
        let p = pad(&b);
        assert_eq!(texts(&p.paragraphs[0]).concat() + "\n", text);
    }

    #[test]
    fn control_characters_are_dropped_but_tabs_kept() {
        let b = PadBuilder::new();
        b.alice("a\u{0}b\u{1b}c\td\re\u{fffe}f\u{ffff}g\u{7f}h\n");
        let p = pad(&b);
        // DEL is a control character XML allows.
        assert_eq!(texts(&p.paragraphs[0]), ["abc\tdefg\u{7f}h"]);
    }

    #[test]
    fn deleted_text_and_embeds_are_not_exported() {
        let b = PadBuilder::new();
        b.alice("keep gone keep\n");
        b.delete_alice(5, 5);
        b.embed_alice(4);
        let p = pad(&b);
        assert_eq!(texts(&p.paragraphs[0]).concat(), "keep keep");
    }

    #[test]
    fn links_are_checked_once_per_attribute_and_shared() {
        let b = PadBuilder::new();
        b.alice_attrs("one ", &[("link", " mailto:a@b.c ".into())]);
        b.bob_attrs("two", &[("link", " mailto:a@b.c ".into())]);
        b.alice("\n");
        let p = pad(&b);
        let runs = &p.paragraphs[0].runs;
        assert_eq!(runs[0].link.as_deref(), Some("mailto:a@b.c"));
        let groups: Vec<_> = link_groups(runs).collect();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].1.len(), 2);
    }

    #[test]
    fn only_web_and_mail_links_are_kept() {
        for ok in [
            "http://x",
            "HTTPS://x/y?q=1#f",
            "mailto:someone@example.org",
        ] {
            assert!(safe_link(ok).is_some(), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "java\tscript:alert(1)",
            "\u{0}javascript:alert(1)",
            "data:text/html,<script>",
            "vbscript:x",
            "file:///etc/passwd",
            "//evil.example",
            "relative/path",
            "",
        ] {
            assert!(safe_link(bad).is_none(), "{bad:?}");
        }
        assert_eq!(
            safe_link("https://x/\"><script>`{|}\\ é").as_deref(),
            Some("https://x/%22%3E%3Cscript%3E%60%7B%7C%7D%5C%20é")
        );
    }

    #[test]
    fn colours_parse_strictly() {
        assert_eq!(
            Color::parse("#A0b1C2").map(Color::hex).as_deref(),
            Some("#a0b1c2")
        );
        assert_eq!(
            Color::parse("#a0b1c2").map(Color::ooxml).as_deref(),
            Some("A0B1C2")
        );
        for bad in [
            "a0b1c2",
            "#abc",
            "#a0b1c2ff",
            "#gggggg",
            "red",
            "#a0b1c\u{e9}",
            "",
        ] {
            assert_eq!(Color::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn tints_are_the_editors_and_text_and_links_read_on_every_one() {
        // The editor's shade of #911eb4 (alpha 0x59 over white), as Chromium composites it.
        let purple = Color::parse("#911eb4").expect("colour");
        assert_eq!(purple.tint().hex(), "#d9b0e5");
        assert_eq!(
            Color::parse("#ffffff").expect("white").tint().hex(),
            "#ffffff"
        );
        // The darkest possible tint is the one of black; every other has more luminance.
        let darkest = Color::parse("#000000").expect("black").tint();
        assert_eq!(darkest.hex(), "#a6a6a6");
        assert!(INK.contrast(darkest) >= 4.5, "{}", INK.contrast(darkest));
        assert!(LINK.contrast(darkest) >= 4.5, "{}", LINK.contrast(darkest));
        for channel in 0..=255u8 {
            let grey = Color {
                r: channel,
                g: channel,
                b: channel,
            };
            assert!(grey.tint().luminance() >= darkest.luminance());
        }
        let white = Color::parse("#ffffff").expect("white");
        assert!((white.contrast(Color::parse("#000000").expect("black")) - 21.0).abs() < 1e-9);
    }

    #[test]
    fn long_first_lines_make_short_titles() {
        let b = PadBuilder::new();
        b.alice("\n   \n");
        b.alice(&"word ".repeat(100));
        let title = pad(&b).title();
        assert!(title.chars().count() <= MAX_TITLE_CHARS + 1);
        assert!(title.starts_with("word word") && title.ends_with('…'));
    }

    #[test]
    fn hostile_snapshots_never_panic() {
        let good = rich_pad().snapshot();
        for cut in 0..good.len() {
            let _ = Pad::from_snapshot(&good[..cut]);
        }
        let mut flipped = good.clone();
        for i in 0..flipped.len() {
            flipped[i] ^= 0x5a;
            let _ = Pad::from_snapshot(&flipped);
            flipped[i] ^= 0x5a;
        }
    }
}
