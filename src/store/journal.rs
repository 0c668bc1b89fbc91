//! The write-ahead journal of the redb store: every write's effects (keys put and removed), in
//! commit order, appended with a plain `write` before the commit returns. redb's non-durable
//! commits are lost when the process dies (it recovers to the last durable commit), but a
//! `write` that returned is in the kernel's page cache and survives a process kill: replaying
//! the journal onto the recovered database restores every commit made since the last durable
//! one. Only a power loss can take what the flush interval has not made durable yet.
//!
//! Records are `[len u32 LE][crc32 u32 LE][payload]`; the payload is a list of operations.
//! Reading stops at the first record that is short or fails its checksum (a write torn by a
//! power loss): nothing after it is applied. Operations are blind writes (put a value, remove a
//! key or a range), so replaying records a durable commit already covers changes nothing.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::ops::Bound;
use std::path::{Path, PathBuf};

/// Largest record read back: far above any write the store makes (a snapshot is bounded by
/// the document size limit), and a bound on what a corrupt length can make us allocate.
const MAX_RECORD: usize = 1 << 30;

/// One effect of a write transaction on one table (tables by their index in the store's list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Op {
    /// `table[key] = value`.
    Put {
        table: u8,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    /// `key` removed from `table`.
    Remove { table: u8, key: Vec<u8> },
    /// Every key from `from` (inclusive) to `to` removed from `table`.
    RemoveRange {
        table: u8,
        from: Vec<u8>,
        to: Bound<Vec<u8>>,
    },
}

const PUT: u8 = 1;
const REMOVE: u8 = 2;
const REMOVE_RANGE: u8 = 3;
const UNBOUNDED: u8 = 0;
const INCLUDED: u8 = 1;
const EXCLUDED: u8 = 2;

/// The journal file, opened for appending.
pub(super) struct Journal {
    file: File,
    path: PathBuf,
    /// Bytes of whole records in the file: where a failed append is cut back to.
    len: u64,
}

impl Journal {
    /// Opens (creating) the journal at `path` for appending after what it holds.
    pub(super) fn open(path: &Path) -> io::Result<Self> {
        let new = !path.exists();
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        if new {
            // The journal is what survives a power loss: its name must, too.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                File::open(dir)?.sync_all()?;
            }
        }
        let len = file.metadata()?.len();
        Ok(Self {
            file,
            path: path.to_owned(),
            len,
        })
    }

    /// A second handle on the journal file, to make it durable (`sync_data`) without holding
    /// the journal, so appends go on while the disk syncs.
    pub(super) fn sync_handle(&self) -> io::Result<File> {
        self.file.try_clone()
    }

    /// The journal's path.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record holding `ops` with a single `write` (as far as the kernel allows).
    /// On failure the file is cut back to its last whole record, so a later append never
    /// follows a torn one; if even that fails, the error says so and the journal must be
    /// reopened (it is re-read, up to the torn record, and cleared).
    pub(super) fn append(&mut self, ops: &[Op]) -> io::Result<()> {
        let record = encode(ops);
        if let Err(e) = self.file.write_all(&record) {
            self.file.set_len(self.len)?;
            return Err(e);
        }
        self.len += record.len() as u64;
        Ok(())
    }

    /// Empties the journal: a durable commit covers everything in it.
    pub(super) fn clear(&mut self) -> io::Result<()> {
        self.file.set_len(0)?;
        self.len = 0;
        Ok(())
    }

    /// Bytes the journal holds.
    pub(super) fn len(&self) -> u64 {
        self.len
    }
}

/// Calls `apply` on each whole record of the journal at `path`, in order (nothing if there is
/// no journal); stops at the first torn or corrupt record, logged.
pub(super) fn replay<E: From<io::Error>>(
    path: &Path,
    mut apply: impl FnMut(Vec<Op>) -> Result<(), E>,
) -> Result<usize, E> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    // A length read from a torn record can be anything: it is checked against what is left.
    let mut left = file.metadata()?.len();
    let mut reader = BufReader::new(file);
    let mut records = 0;
    loop {
        let mut head = [0u8; 8];
        match read_full(&mut reader, &mut head)? {
            0 => return Ok(records),
            8 => {}
            _ => return Ok(torn(path, records)),
        }
        let (len, crc) = head.split_at(4);
        let len = u32::from_le_bytes(len.try_into().unwrap_or_default()) as usize;
        let crc = u32::from_le_bytes(crc.try_into().unwrap_or_default());
        left = left.saturating_sub(8);
        if len > MAX_RECORD || len as u64 > left {
            return Ok(torn(path, records));
        }
        left -= len as u64;
        let mut payload = vec![0u8; len];
        if read_full(&mut reader, &mut payload)? != len || crc32fast::hash(&payload) != crc {
            return Ok(torn(path, records));
        }
        let Some(ops) = decode(&payload) else {
            return Ok(torn(path, records));
        };
        apply(ops)?;
        records += 1;
    }
}

fn torn(path: &Path, records: usize) -> usize {
    tracing::warn!(journal = %path.display(), records, "the journal ends with a torn record; replayed what precedes it");
    records
}

/// Reads until `buf` is full or the file ends; how many bytes were read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn encode(ops: &[Op]) -> Vec<u8> {
    let mut payload = Vec::new();
    for op in ops {
        match op {
            Op::Put { table, key, value } => {
                payload.extend_from_slice(&[PUT, *table]);
                put_bytes(&mut payload, key);
                put_bytes(&mut payload, value);
            }
            Op::Remove { table, key } => {
                payload.extend_from_slice(&[REMOVE, *table]);
                put_bytes(&mut payload, key);
            }
            Op::RemoveRange { table, from, to } => {
                payload.extend_from_slice(&[REMOVE_RANGE, *table]);
                put_bytes(&mut payload, from);
                match to {
                    Bound::Unbounded => payload.push(UNBOUNDED),
                    Bound::Included(to) => {
                        payload.push(INCLUDED);
                        put_bytes(&mut payload, to);
                    }
                    Bound::Excluded(to) => {
                        payload.push(EXCLUDED);
                        put_bytes(&mut payload, to);
                    }
                }
            }
        }
    }
    let mut record = Vec::with_capacity(8 + payload.len());
    record.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    record.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    record.extend_from_slice(&payload);
    record
}

/// A cursor over a payload; every read is bounds-checked (a corrupt record is `None`).
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn bytes(&mut self) -> Option<Vec<u8>> {
        let (len, rest) = self.0.split_at_checked(4)?;
        let len = u32::from_le_bytes(len.try_into().ok()?) as usize;
        let (bytes, rest) = rest.split_at_checked(len)?;
        self.0 = rest;
        Some(bytes.to_vec())
    }
}

fn decode(payload: &[u8]) -> Option<Vec<Op>> {
    let mut cursor = Cursor(payload);
    let mut ops = Vec::new();
    while let Some(kind) = cursor.byte() {
        let table = cursor.byte()?;
        let op = match kind {
            PUT => Op::Put {
                table,
                key: cursor.bytes()?,
                value: cursor.bytes()?,
            },
            REMOVE => Op::Remove {
                table,
                key: cursor.bytes()?,
            },
            REMOVE_RANGE => Op::RemoveRange {
                table,
                from: cursor.bytes()?,
                to: match cursor.byte()? {
                    UNBOUNDED => Bound::Unbounded,
                    INCLUDED => Bound::Included(cursor.bytes()?),
                    EXCLUDED => Bound::Excluded(cursor.bytes()?),
                    _ => return None,
                },
            },
            _ => return None,
        };
        ops.push(op);
    }
    Some(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(n: u8) -> Vec<Op> {
        vec![
            Op::Put {
                table: 2,
                key: vec![n, 0, 1],
                value: vec![n; 40],
            },
            Op::Remove {
                table: 6,
                key: b"k".to_vec(),
            },
            Op::RemoveRange {
                table: 2,
                from: vec![n],
                to: Bound::Included(vec![n, 9]),
            },
            Op::RemoveRange {
                table: 2,
                from: vec![],
                to: Bound::Unbounded,
            },
        ]
    }

    fn read(path: &Path) -> Vec<Vec<Op>> {
        let mut out = Vec::new();
        replay::<io::Error>(path, |ops| {
            out.push(ops);
            Ok(())
        })
        .expect("replay");
        out
    }

    #[test]
    fn records_come_back_in_order_and_a_torn_tail_is_ignored() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("j");
        assert!(read(&path).is_empty(), "no journal, nothing to replay");
        let mut journal = Journal::open(&path).expect("open");
        journal.append(&ops(1)).expect("append");
        journal.append(&[]).expect("an empty record");
        journal.append(&ops(2)).expect("append");
        let whole = journal.len();
        assert_eq!(read(&path), vec![ops(1), vec![], ops(2)]);
        // A record cut short (a power loss mid-write) and anything after it are not applied.
        let mut raw = std::fs::read(&path).expect("read");
        raw.extend_from_slice(&encode(&ops(3))[..20]);
        std::fs::write(&path, &raw).expect("write");
        assert_eq!(read(&path).len(), 3);
        // A flipped bit fails the checksum.
        let mut raw = std::fs::read(&path).expect("read");
        raw[12] ^= 1;
        std::fs::write(&path, &raw).expect("write");
        assert!(read(&path).is_empty());
        let mut journal = Journal::open(&path).expect("reopen");
        assert!(journal.len() > whole);
        journal.clear().expect("clear");
        journal.append(&ops(4)).expect("append after clear");
        assert_eq!(read(&path), vec![ops(4)]);
    }

    #[test]
    fn garbage_never_panics() {
        for payload in [
            &[9u8, 0][..],
            &[PUT, 0, 255, 255, 255, 255],
            &[REMOVE_RANGE, 0, 0, 0, 0, 0, 7],
        ] {
            assert_eq!(decode(payload), None);
        }
    }
}
