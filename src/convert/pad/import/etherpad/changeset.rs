//! Etherpad's easysync format: base-36 numbers, attribute pools, operation strings and
//! changesets, applied to a text held as UTF-16 code units (Etherpad counts lengths in them).
//!
//! Everything here reads client data: no recursion, every number checked, every length
//! compared with what it applies to, errors instead of panics.

use std::collections::HashMap;

/// Why an easysync string does not read or apply. The message names the problem only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EasyError(pub String);

fn bad(msg: impl Into<String>) -> EasyError {
    EasyError(msg.into())
}

/// A base-36 number as Etherpad writes them (`0-9a-z`), within `u32`.
pub fn parse_num(s: &str) -> Result<u32, EasyError> {
    if s.is_empty() || s.len() > 7 {
        return Err(bad("a base-36 number is empty or too long"));
    }
    let mut n: u64 = 0;
    for c in s.bytes() {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'z' => c - b'a' + 10,
            _ => return Err(bad("a base-36 number has a character that is not a digit")),
        };
        n = n * 36 + u64::from(d);
    }
    u32::try_from(n).map_err(|_| bad("a base-36 number is too large"))
}

/// A base-36 number as Etherpad writes it.
pub fn num_to_string(mut n: u32) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// One operation: keep (`=`), insert (`+`) or remove (`-`) `chars` code units spanning `lines`
/// newlines, with the attributes `attribs` (pool numbers, in the order written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// `b'='`, `b'+'` or `b'-'`.
    pub opcode: u8,
    /// Length in UTF-16 code units.
    pub chars: u32,
    /// Newlines in it.
    pub lines: u32,
    /// Attribute numbers of the pool.
    pub attribs: Vec<u32>,
}

/// The operations of an operation string (`*0*1|2+5=3-1`), up to its end or a `$`.
pub struct Ops<'a> {
    rest: &'a str,
}

/// Reads the operations of `s`.
pub fn ops(s: &str) -> Ops<'_> {
    Ops { rest: s }
}

impl Ops<'_> {
    fn digits(&mut self) -> &str {
        let end = self
            .rest
            .bytes()
            .position(|b| !(b.is_ascii_digit() || b.is_ascii_lowercase()))
            .unwrap_or(self.rest.len());
        let (num, rest) = self.rest.split_at(end);
        self.rest = rest;
        num
    }
}

impl Iterator for Ops<'_> {
    type Item = Result<Op, EasyError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.rest.starts_with('$') {
            return None;
        }
        let mut attribs = Vec::new();
        let mut lines = 0;
        loop {
            let Some(&c) = self.rest.as_bytes().first() else {
                self.rest = "";
                return Some(Err(bad("an operation ends too early")));
            };
            self.rest = &self.rest[1..];
            let num = match c {
                b'*' | b'|' | b'+' | b'-' | b'=' => parse_num(self.digits()),
                _ => Err(bad("an operation string has an unknown character")),
            };
            let num = match num {
                Ok(n) => n,
                Err(e) => {
                    self.rest = "";
                    return Some(Err(e));
                }
            };
            match c {
                b'*' => {
                    if attribs.len() >= 64 {
                        self.rest = "";
                        return Some(Err(bad("an operation has too many attributes")));
                    }
                    attribs.push(num);
                }
                b'|' => lines = num,
                _ => {
                    return Some(Ok(Op {
                        opcode: c,
                        chars: num,
                        lines,
                        attribs,
                    }))
                }
            }
        }
    }
}

/// A changeset (`Z:<old>[<>]<diff><ops>$<bank>`), unpacked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changeset<'a> {
    /// Length of the text it applies to, in code units.
    pub old_len: u32,
    /// Length of the text it makes.
    pub new_len: u32,
    /// The operation string.
    pub ops: &'a str,
    /// The inserted characters, in order.
    pub bank: &'a str,
}

/// Unpacks a changeset's header, operations and character bank.
pub fn unpack(cs: &str) -> Result<Changeset<'_>, EasyError> {
    let rest = cs
        .strip_prefix("Z:")
        .ok_or_else(|| bad("a changeset does not start with Z:"))?;
    let sign = rest
        .find(['>', '<'])
        .ok_or_else(|| bad("a changeset has no length change"))?;
    let old_len = parse_num(&rest[..sign])?;
    let after = &rest[sign + 1..];
    let end = after
        .bytes()
        .position(|b| !(b.is_ascii_digit() || b.is_ascii_lowercase()))
        .unwrap_or(after.len());
    let change = parse_num(&after[..end])?;
    let new_len = if rest.as_bytes()[sign] == b'>' {
        old_len.checked_add(change)
    } else {
        old_len.checked_sub(change)
    }
    .ok_or_else(|| bad("a changeset's lengths do not add up"))?;
    let body = &after[end..];
    let (ops, bank) = body.split_once('$').unwrap_or((body, ""));
    Ok(Changeset {
        old_len,
        new_len,
        ops,
        bank,
    })
}

/// Most entries an attribute pool may have.
pub const MAX_POOL: usize = 100_000;

/// Attribute pool: `[key, value]` pairs by number.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    attribs: HashMap<u32, (String, String)>,
}

impl Pool {
    /// Adds attribute `num` (a later one of the same number replaces it).
    pub fn insert(&mut self, num: u32, key: String, value: String) -> Result<(), EasyError> {
        if self.attribs.len() >= MAX_POOL && !self.attribs.contains_key(&num) {
            return Err(bad(format!(
                "the attribute pool has more than {MAX_POOL} entries"
            )));
        }
        self.attribs.insert(num, (key, value));
        Ok(())
    }

    /// Attribute `num`.
    pub fn get(&self, num: u32) -> Result<(&str, &str), EasyError> {
        self.attribs
            .get(&num)
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .ok_or_else(|| bad("an attribute number is not in the pool"))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.attribs.len()
    }

    /// Every `(key, value)`, in no order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attribs.values().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether it has no entries.
    pub fn is_empty(&self) -> bool {
        self.attribs.is_empty()
    }
}

/// Most distinct attribute sets a text may use.
pub const MAX_SETS: usize = 100_000;

/// Distinct attribute sets, each a list of pool numbers sorted by key, numbered densely so a
/// text can carry one small number per code unit.
#[derive(Debug, Default)]
pub struct Sets {
    sets: Vec<Vec<u32>>,
    ids: HashMap<Vec<u32>, u32>,
}

impl Sets {
    /// Sets with only the empty set (number 0).
    pub fn new() -> Self {
        let mut sets = Self::default();
        sets.sets.push(Vec::new());
        sets.ids.insert(Vec::new(), 0);
        sets
    }

    /// The attributes of set `id`.
    pub fn get(&self, id: u32) -> &[u32] {
        self.sets.get(id as usize).map_or(&[], Vec::as_slice)
    }

    /// Number of sets.
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// Whether there are none (never: the empty set is always there).
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    fn intern(&mut self, set: Vec<u32>) -> Result<u32, EasyError> {
        if let Some(&id) = self.ids.get(&set) {
            return Ok(id);
        }
        if self.sets.len() >= MAX_SETS {
            return Err(bad(format!(
                "the pad uses more than {MAX_SETS} combinations of attributes"
            )));
        }
        let id = self.sets.len() as u32;
        self.sets.push(set.clone());
        self.ids.insert(set, id);
        Ok(id)
    }

    /// The set of an insertion's `attribs` (one value per key: the last written wins; an empty
    /// value is no attribute).
    pub fn of(&mut self, pool: &Pool, attribs: &[u32]) -> Result<u32, EasyError> {
        if attribs.is_empty() {
            return Ok(0);
        }
        self.compose(pool, 0, attribs)
    }

    /// Set `base` changed by `attribs`: each replaces the base's attribute of its key, an
    /// empty value removes it.
    pub fn compose(&mut self, pool: &Pool, base: u32, attribs: &[u32]) -> Result<u32, EasyError> {
        if attribs.is_empty() {
            return Ok(base);
        }
        let mut set: Vec<(&str, u32)> = Vec::new();
        for &n in self.get(base) {
            set.push((pool.get(n)?.0, n));
        }
        for &n in attribs {
            let (key, value) = pool.get(n)?;
            set.retain(|&(k, _)| k != key);
            if !value.is_empty() {
                set.push((key, n));
            }
        }
        set.sort_unstable();
        let set = set.into_iter().map(|(_, n)| n).collect();
        self.intern(set)
    }
}

/// Most code units a text may hold (2 per character of the pad's bound, surrogates).
pub const MAX_UNITS: usize = 2 * super::super::MAX_IMPORT_CHARS;

/// A text with an attribute set per UTF-16 code unit, and a mark per unit kept for the caller
/// (history's record of what its document holds; new units get [`Text::NEW`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text {
    /// The code units.
    pub units: Vec<u16>,
    /// The attribute set of each unit.
    pub sets: Vec<u32>,
    /// The caller's mark of each unit.
    pub marks: Vec<u8>,
}

/// What applying a changeset changed, in the new text's positions, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Units `at..at + len` were inserted.
    Insert {
        /// Where.
        at: usize,
        /// How many.
        len: usize,
    },
    /// Units were removed just before `at`; `marks` are theirs.
    Delete {
        /// Where.
        at: usize,
        /// The removed units' marks.
        marks: Vec<u8>,
    },
    /// Units `at..at + old.len()` had their attributes changed; `old` are their sets before.
    Format {
        /// Where.
        at: usize,
        /// The sets before.
        old: Vec<u32>,
    },
}

impl Text {
    /// The mark of units inserted by a changeset.
    pub const NEW: u8 = 0;

    /// Number of code units.
    pub fn len(&self) -> usize {
        self.units.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// Whether unit `i` starts a line.
    pub fn line_start(&self, i: usize) -> bool {
        i == 0 || self.units.get(i - 1) == Some(&u16::from(b'\n'))
    }

    /// An attributed text (`atext`): `text` with the attribute string `attribs` (insertions
    /// only), which must cover it exactly.
    pub fn from_atext(
        text: &str,
        attribs: &str,
        pool: &Pool,
        sets: &mut Sets,
    ) -> Result<Text, EasyError> {
        let units: Vec<u16> = text.encode_utf16().collect();
        if units.len() > MAX_UNITS {
            return Err(bad("the text is too long"));
        }
        let mut out = Text {
            units: Vec::with_capacity(units.len()),
            sets: Vec::with_capacity(units.len()),
            marks: Vec::with_capacity(units.len()),
        };
        let mut at = 0usize;
        for op in ops(attribs) {
            let op = op?;
            if op.opcode != b'+' {
                return Err(bad(
                    "the text's attributes hold something else than insertions",
                ));
            }
            let end = at
                .checked_add(op.chars as usize)
                .filter(|&e| e <= units.len())
                .ok_or_else(|| bad("the text's attributes are longer than the text"))?;
            let piece = &units[at..end];
            check_lines(piece, op.lines)?;
            let set = sets.of(pool, &op.attribs)?;
            out.units.extend_from_slice(piece);
            out.sets.extend(std::iter::repeat_n(set, piece.len()));
            out.marks
                .extend(std::iter::repeat_n(Text::NEW, piece.len()));
            at = end;
        }
        if at != units.len() {
            return Err(bad("the text's attributes are shorter than the text"));
        }
        Ok(out)
    }

    /// Applies changeset `cs` (checked against this text's length and lines), returning what
    /// changed. On an error the text is left as it was.
    pub fn apply(
        &mut self,
        cs: &str,
        pool: &Pool,
        sets: &mut Sets,
    ) -> Result<Vec<Edit>, EasyError> {
        let cs = unpack(cs)?;
        if cs.old_len as usize != self.units.len() {
            return Err(bad(
                "a changeset does not apply: its length differs from the text's",
            ));
        }
        if cs.new_len as usize > MAX_UNITS {
            return Err(bad("a changeset makes the text too long"));
        }
        let bank: Vec<u16> = cs.bank.encode_utf16().collect();
        let mut new = Text {
            units: Vec::with_capacity(cs.new_len as usize),
            sets: Vec::with_capacity(cs.new_len as usize),
            marks: Vec::with_capacity(cs.new_len as usize),
        };
        let mut edits = Vec::new();
        let (mut old_at, mut bank_at) = (0usize, 0usize);
        for op in ops(cs.ops) {
            let op = op?;
            let n = op.chars as usize;
            match op.opcode {
                b'+' => {
                    let end = bank_at
                        .checked_add(n)
                        .filter(|&e| e <= bank.len())
                        .ok_or_else(|| bad("a changeset inserts more than its characters"))?;
                    let piece = &bank[bank_at..end];
                    check_lines(piece, op.lines)?;
                    let set = sets.of(pool, &op.attribs)?;
                    edits.push(Edit::Insert {
                        at: new.units.len(),
                        len: n,
                    });
                    new.units.extend_from_slice(piece);
                    new.sets.extend(std::iter::repeat_n(set, n));
                    new.marks.extend(std::iter::repeat_n(Text::NEW, n));
                    bank_at = end;
                }
                b'-' | b'=' => {
                    let end = old_at
                        .checked_add(n)
                        .filter(|&e| e <= self.units.len())
                        .ok_or_else(|| bad("a changeset goes past the end of the text"))?;
                    check_lines(&self.units[old_at..end], op.lines)?;
                    if op.opcode == b'-' {
                        edits.push(Edit::Delete {
                            at: new.units.len(),
                            marks: self.marks[old_at..end].to_vec(),
                        });
                    } else {
                        if !op.attribs.is_empty() {
                            edits.push(Edit::Format {
                                at: new.units.len(),
                                old: self.sets[old_at..end].to_vec(),
                            });
                            for &set in &self.sets[old_at..end] {
                                new.sets.push(sets.compose(pool, set, &op.attribs)?);
                            }
                        } else {
                            new.sets.extend_from_slice(&self.sets[old_at..end]);
                        }
                        new.units.extend_from_slice(&self.units[old_at..end]);
                        new.marks.extend_from_slice(&self.marks[old_at..end]);
                    }
                    old_at = end;
                }
                _ => return Err(bad("a changeset has an unknown operation")),
            }
        }
        new.units.extend_from_slice(&self.units[old_at..]);
        new.sets.extend_from_slice(&self.sets[old_at..]);
        new.marks.extend_from_slice(&self.marks[old_at..]);
        if new.units.len() != cs.new_len as usize {
            return Err(bad(
                "a changeset does not apply: it makes another length than it says",
            ));
        }
        if bank_at != bank.len() {
            return Err(bad("a changeset has characters it does not insert"));
        }
        *self = new;
        Ok(edits)
    }
}

/// Checks that `units` hold exactly `lines` newlines.
fn check_lines(units: &[u16], lines: u32) -> Result<(), EasyError> {
    let n = units.iter().filter(|&&u| u == u16::from(b'\n')).count();
    if n != lines as usize {
        return Err(bad("an operation's newline count is wrong"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_and_write_base_36() {
        for n in [0, 1, 35, 36, 1295, 1296, u32::MAX] {
            assert_eq!(parse_num(&num_to_string(n)), Ok(n));
        }
        assert_eq!(parse_num("bk"), Ok(11 * 36 + 20));
        assert!(parse_num("").is_err());
        assert!(parse_num("A").is_err());
        assert!(parse_num("zzzzzzz").is_err());
    }

    #[test]
    fn operations_read_with_attributes_and_lines() {
        let got: Vec<Op> = ops("*0*1|2+5=3-1$ignored").map(Result::unwrap).collect();
        assert_eq!(
            got,
            [
                Op {
                    opcode: b'+',
                    chars: 5,
                    lines: 2,
                    attribs: vec![0, 1]
                },
                Op {
                    opcode: b'=',
                    chars: 3,
                    lines: 0,
                    attribs: vec![]
                },
                Op {
                    opcode: b'-',
                    chars: 1,
                    lines: 0,
                    attribs: vec![]
                },
            ]
        );
        assert!(ops("+").any(|o| o.is_err()));
        assert!(ops("?1").any(|o| o.is_err()));
        assert!(ops("*0").any(|o| o.is_err()));
    }

    #[test]
    fn changesets_apply_in_utf16_and_refuse_what_does_not_fit() {
        let mut pool = Pool::default();
        pool.insert(0, "bold".into(), "true".into()).unwrap();
        pool.insert(1, "bold".into(), String::new()).unwrap();
        let mut sets = Sets::new();
        let mut t = Text::from_atext("a😀\n", "+3|1+1", &pool, &mut sets).unwrap();
        assert_eq!(t.len(), 4);
        let edits = t.apply("Z:4>1=3*0+1$b", &pool, &mut sets).unwrap();
        assert_eq!(edits, [Edit::Insert { at: 3, len: 1 }]);
        assert_eq!(String::from_utf16(&t.units).unwrap(), "a😀b\n");
        let b = t.sets[3];
        assert_eq!(sets.get(b), [0]);
        t.apply("Z:5>0=3*1=1$", &pool, &mut sets).unwrap();
        assert_eq!(t.sets[3], 0);
        let before = t.clone();
        assert!(t.apply("Z:4>1+1$x", &pool, &mut sets).is_err());
        assert!(t.apply("Z:5>1+1$xy", &pool, &mut sets).is_err());
        assert!(t.apply("Z:5>0=9$", &pool, &mut sets).is_err());
        assert!(t.apply("Z:5>0|1=1$", &pool, &mut sets).is_err());
        assert_eq!(t, before);
        assert!(Text::from_atext("ab\n", "+2", &pool, &mut sets).is_err());
        assert!(Text::from_atext("ab\n", "+9", &pool, &mut sets).is_err());
        assert!(Text::from_atext("ab\n", "+3", &pool, &mut sets).is_err());
    }
}
