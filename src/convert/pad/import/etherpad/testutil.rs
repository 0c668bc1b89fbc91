//! Test files in Etherpad's export format, made from a script of edits: authors type, delete
//! and format, and every edit becomes a revision whose changeset is computed here from an
//! independent model of the text (units with their attributes), as Etherpad's would be; the
//! final `atext`, every 100th revision's `meta.atext` and the pool come from the same model.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::changeset::num_to_string;

/// A pad being scripted.
pub struct Builder {
    id: String,
    pool: Vec<(String, String)>,
    /// The text's UTF-16 units, each with its attributes (pool numbers sorted by key).
    units: Vec<(u16, Vec<u32>)>,
    revs: Vec<Value>,
    authors: BTreeMap<String, Value>,
    chat: Vec<Value>,
    time: u64,
    /// Write record values as strings of JSON (older ueberDB exports).
    pub string_records: bool,
}

/// The kind of a line, as Etherpad's line attributes (`None`: a plain line).
pub type LineAttr<'a> = Option<(&'a str, &'a str)>;

impl Builder {
    /// A pad `id` holding one empty line, as Etherpad makes a pad (revision 0 is the first
    /// edit).
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            pool: Vec::new(),
            units: vec![(u16::from(b'\n'), Vec::new())],
            revs: Vec::new(),
            authors: BTreeMap::new(),
            chat: Vec::new(),
            time: 1_700_000_000_000,
            string_records: false,
        }
    }

    /// Adds an author record (`colorId` as given: an index or a `#rrggbb`, or anything).
    pub fn author(&mut self, id: &str, name: Value, color_id: Value) -> &mut Self {
        self.authors.insert(
            id.to_owned(),
            json!({"colorId": color_id, "name": name, "timestamp": self.time, "padIDs": self.id}),
        );
        self
    }

    /// Lets `ms` pass.
    pub fn pause(&mut self, ms: u64) -> &mut Self {
        self.time += ms;
        self
    }

    /// Length in UTF-16 units.
    pub fn len(&self) -> usize {
        self.units.len()
    }

    /// The text so far.
    pub fn text(&self) -> String {
        String::from_utf16(&self.units.iter().map(|u| u.0).collect::<Vec<_>>()).unwrap()
    }

    /// Where `needle` starts, in UTF-16 units.
    pub fn find(&self, needle: &str) -> usize {
        let text = self.text();
        let at = text.find(needle).unwrap();
        text[..at].encode_utf16().count()
    }

    fn attrib(&mut self, key: &str, value: &str) -> u32 {
        if let Some(i) = self.pool.iter().position(|(k, v)| k == key && v == value) {
            return i as u32;
        }
        self.pool.push((key.to_owned(), value.to_owned()));
        (self.pool.len() - 1) as u32
    }

    fn attribs(&mut self, attrs: &[(&str, &str)]) -> Vec<u32> {
        let mut nums: Vec<u32> = attrs.iter().map(|(k, v)| self.attrib(k, v)).collect();
        nums.sort_by(|a, b| self.pool[*a as usize].0.cmp(&self.pool[*b as usize].0));
        nums
    }

    fn star(nums: &[u32]) -> String {
        nums.iter()
            .map(|n| format!("*{}", num_to_string(*n)))
            .collect()
    }

    /// `op` over `units` (code units), with `|L` for the part through the last newline.
    fn op(prefix: &str, op: char, units: &[u16]) -> String {
        let mut out = String::new();
        let last_nl = units.iter().rposition(|&u| u == u16::from(b'\n'));
        let (lines_part, rest) = match last_nl {
            Some(i) => units.split_at(i + 1),
            None => (&units[..0], units),
        };
        if !lines_part.is_empty() {
            let lines = lines_part
                .iter()
                .filter(|&&u| u == u16::from(b'\n'))
                .count();
            out.push_str(&format!(
                "{prefix}|{}{op}{}",
                num_to_string(lines as u32),
                num_to_string(lines_part.len() as u32)
            ));
        }
        if !rest.is_empty() {
            out.push_str(&format!("{prefix}{op}{}", num_to_string(rest.len() as u32)));
        }
        out
    }

    fn keep(&self, from: usize, to: usize) -> String {
        let units: Vec<u16> = self.units[from..to].iter().map(|u| u.0).collect();
        Self::op("", '=', &units)
    }

    fn push_rev(&mut self, cs: String, author: &str) {
        let n = self.revs.len();
        let mut meta = json!({"author": author, "timestamp": self.time});
        if n.is_multiple_of(100) {
            meta["atext"] = self.atext();
            meta["pool"] = self.pool_json();
        }
        self.revs.push(json!({"changeset": cs, "meta": meta}));
        self.time += 150;
    }

    fn header(old: usize, new: usize) -> String {
        if new >= old {
            format!(
                "Z:{}>{}",
                num_to_string(old as u32),
                num_to_string((new - old) as u32)
            )
        } else {
            format!(
                "Z:{}<{}",
                num_to_string(old as u32),
                num_to_string((old - new) as u32)
            )
        }
    }

    /// `author` inserts `text` at unit `at` with `attrs` (their `author` attribute added), as
    /// one revision.
    pub fn insert(&mut self, author: &str, at: usize, text: &str, attrs: &[(&str, &str)]) {
        let mut all = vec![("author", author)];
        all.extend_from_slice(attrs);
        let nums = self.attribs(&all);
        let units: Vec<u16> = text.encode_utf16().collect();
        let old = self.len();
        let cs = format!(
            "{}{}{}${}",
            Self::header(old, old + units.len()),
            self.keep(0, at),
            Self::op(&Self::star(&nums), '+', &units),
            text
        );
        self.units
            .splice(at..at, units.iter().map(|&u| (u, nums.clone())));
        self.push_rev(cs, author);
    }

    /// `author` types `text` at `at`, one revision per character.
    pub fn type_text(&mut self, author: &str, mut at: usize, text: &str, attrs: &[(&str, &str)]) {
        for c in text.chars() {
            let mut buf = [0u8; 4];
            self.insert(author, at, c.encode_utf8(&mut buf), attrs);
            at += c.len_utf16();
        }
    }

    /// `author` adds a line before the pad's last (empty) line: a marker if `line` gives it a
    /// kind, then `text`, then a newline; one revision.
    pub fn line(&mut self, author: &str, text: &str, line: LineAttr, attrs: &[(&str, &str)]) {
        let at = self.len() - 1;
        if let Some((key, value)) = line {
            let marker = [
                ("insertorder", "first"),
                ("lmkr", "1"),
                (key, value),
                ("start", "1"),
            ];
            self.insert(author, at, "*", &marker);
            self.insert(author, at + 1, &format!("{text}\n"), attrs);
        } else {
            self.insert(author, at, &format!("{text}\n"), attrs);
        }
    }

    /// `author` removes units `at..at + len`.
    pub fn delete(&mut self, author: &str, at: usize, len: usize) {
        let old = self.len();
        let removed: Vec<u16> = self.units[at..at + len].iter().map(|u| u.0).collect();
        let cs = format!(
            "{}{}{}$",
            Self::header(old, old - len),
            self.keep(0, at),
            Self::op("", '-', &removed)
        );
        self.units.drain(at..at + len);
        self.push_rev(cs, author);
    }

    /// `author` sets `attrs` on units `at..at + len` (an empty value removes one).
    pub fn format(&mut self, author: &str, at: usize, len: usize, attrs: &[(&str, &str)]) {
        let nums = self.attribs(attrs);
        let old = self.len();
        let span: Vec<u16> = self.units[at..at + len].iter().map(|u| u.0).collect();
        let cs = format!(
            "{}{}{}$",
            Self::header(old, old),
            self.keep(0, at),
            Self::op(&Self::star(&nums), '=', &span)
        );
        for unit in &mut self.units[at..at + len] {
            for &n in &nums {
                let (key, value) = self.pool[n as usize].clone();
                unit.1.retain(|m| self.pool[*m as usize].0 != key);
                if !value.is_empty() {
                    unit.1.push(n);
                }
            }
            let pool = &self.pool;
            unit.1
                .sort_by(|a, b| pool[*a as usize].0.cmp(&pool[*b as usize].0));
        }
        self.push_rev(cs, author);
    }

    /// A chat message by `author`.
    pub fn chat(&mut self, author: &str, text: &str) -> &mut Self {
        self.chat
            .push(json!({"text": text, "userId": author, "time": self.time}));
        self.time += 1000;
        self
    }

    fn atext(&self) -> Value {
        let mut attribs = String::new();
        for run in self.units.chunk_by(|a, b| a.1 == b.1) {
            let units: Vec<u16> = run.iter().map(|u| u.0).collect();
            attribs.push_str(&Self::op(&Self::star(&run[0].1), '+', &units));
        }
        json!({"text": self.text(), "attribs": attribs})
    }

    fn pool_json(&self) -> Value {
        let num_to_attrib: Map<String, Value> = self
            .pool
            .iter()
            .enumerate()
            .map(|(i, (k, v))| (i.to_string(), json!([k, v])))
            .collect();
        json!({"numToAttrib": num_to_attrib, "nextNum": self.pool.len()})
    }

    /// The `.etherpad` file.
    pub fn build(&self) -> Vec<u8> {
        let mut records = Map::new();
        let mut put = |key: String, value: Value| {
            let value = if self.string_records {
                Value::String(value.to_string())
            } else {
                value
            };
            records.insert(key, value);
        };
        put(
            format!("pad:{}", self.id),
            json!({
                "atext": self.atext(),
                "pool": self.pool_json(),
                "head": self.revs.len() as i64 - 1,
                "chatHead": self.chat.len() as i64 - 1,
                "publicStatus": false,
                "savedRevisions": [],
            }),
        );
        for (id, author) in &self.authors {
            put(format!("globalAuthor:{id}"), author.clone());
        }
        for (n, rev) in self.revs.iter().enumerate() {
            put(format!("pad:{}:revs:{n}", self.id), rev.clone());
        }
        for (n, message) in self.chat.iter().enumerate() {
            put(format!("pad:{}:chat:{n}", self.id), message.clone());
        }
        serde_json::to_vec(&Value::Object(records)).unwrap()
    }

    /// The `.etherpad` file without its revisions.
    pub fn build_without_history(&self) -> Vec<u8> {
        let mut value: Value = serde_json::from_slice(&self.build()).unwrap();
        let records = value.as_object_mut().unwrap();
        records.retain(|k, _| !k.contains(":revs:"));
        serde_json::to_vec(&value).unwrap()
    }
}

/// A pad of three authors (colours as an index, a `#hex`, and none), headings, a bulleted and a
/// numbered list, bold and italic, an emoji, a deletion, and chat.
pub fn rich() -> Builder {
    let mut b = Builder::new("rich");
    b.author("a.alice", json!("Alice"), json!(3))
        .author(
            "a.bob",
            json!("Bob <script>alert(1)</script>"),
            json!("#336699"),
        )
        .author("a.carol", json!(null), json!("red; background: url(x)"));
    b.line("a.alice", "Title", Some(("heading", "h1")), &[]);
    b.line("a.bob", "Part", Some(("heading", "h2")), &[]);
    b.line("a.alice", "first", Some(("list", "bullet1")), &[]);
    b.line("a.bob", "second", Some(("list", "bullet1")), &[]);
    b.line("a.carol", "one", Some(("list", "number1")), &[]);
    b.line("a.alice", "plain ", None, &[]);
    // Bob types into Alice's line, bold, with an emoji.
    let at = b.len() - 2;
    b.type_text("a.bob", at, "bold😀", &[("bold", "true")]);
    let at = b.len() - 1;
    b.insert("a.carol", at, "italic gone\n", &[("italic", "true")]);
    let at = b.len() - 7;
    b.delete("a.carol", at, 5);
    // Bob bolds Alice's "first", then takes it back (an empty value removes an attribute).
    let first = b.find("first");
    b.format("a.bob", first, 5, &[("bold", "true")]);
    b.format("a.bob", first, 5, &[("bold", "")]);
    b.pause(60_000);
    b.chat("a.alice", "hello").chat("a.bob", "hi <b>there</b>");
    b
}
