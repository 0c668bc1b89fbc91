//! Pad import times (issue 21): a 100,000-revision `.etherpad` (three authors typing a pad of
//! about 90,000 characters one key at a time, with lines, bullets, bold and deletions; every
//! 100th revision a key revision with its `atext`, as Etherpad writes them), and a 1 MB docx
//! written by our own docx exporter. Prints the times; BENCHMARKS.md records them.
//!
//! ```sh
//! cargo bench --bench import
//! cargo bench --bench import -- --revisions 20000
//! ```

use std::time::Instant;

use ardoise::convert::pad::import::{import_pad, ImportFormat};
use ardoise::convert::pad::{export_pad, ExportOptions, PadFormat};
use serde_json::{json, Map, Value};

/// Runs timed for each file (the median is reported).
const RUNS: usize = 3;

fn main() {
    let revisions = std::env::args()
        .skip_while(|a| a != "--revisions")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);

    let started = Instant::now();
    let file = etherpad_file(revisions);
    println!(
        "etherpad: {revisions} revisions, {:.1} MB, generated in {:.1} s",
        file.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let (time, imported) = timed(|| import_pad(&file, ImportFormat::Etherpad));
    match imported {
        Ok(imported) => {
            let history: usize = imported.history.iter().map(|e| e.update.len()).sum();
            println!(
                "etherpad: imported in {time:.2} s (median of {RUNS}): {} history entries \
                 ({:.1} MB), state {:.1} KB",
                imported.history.len(),
                history as f64 / 1e6,
                imported.state.len() as f64 / 1e3
            );
        }
        Err(e) => println!("etherpad: import failed: {e}"),
    }

    let docx = docx_file(1_000_000);
    println!(
        "docx: {:.2} MB written by our exporter",
        docx.len() as f64 / 1e6
    );
    let (time, imported) = timed(|| import_pad(&docx, ImportFormat::Docx));
    match imported {
        Ok(imported) => println!(
            "docx: imported in {time:.3} s (median of {RUNS}), state {:.1} KB",
            imported.state.len() as f64 / 1e3
        ),
        Err(e) => println!("docx: import failed: {e}"),
    }
}

/// The median time of [`RUNS`] runs of `f`, in seconds, and the last result.
fn timed<T>(mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..RUNS {
        let started = Instant::now();
        last = Some(f());
        times.push(started.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    (times[RUNS / 2], last.expect("RUNS > 0"))
}

/// A base-36 number as Etherpad writes it.
fn b36(mut n: usize) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[n % 36]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII")
}

/// A pad typed one key per revision by three authors in turns of 200 keys: a new line every
/// 60 characters (every fifth one a bullet, its marker inserted with it), every 7th word bold,
/// a backspace every 97 revisions. The text is ASCII, so units are characters.
fn etherpad_file(revisions: usize) -> Vec<u8> {
    // Pool: 0-2 authors, 3 bold, 4 insertorder, 5 lmkr, 6 list, 7 start.
    let authors = ["a.alice", "a.bob", "a.carol"];
    let pool = json!({"numToAttrib": {
        "0": ["author", authors[0]], "1": ["author", authors[1]], "2": ["author", authors[2]],
        "3": ["bold", "true"], "4": ["insertorder", "first"], "5": ["lmkr", "1"],
        "6": ["list", "bullet1"], "7": ["start", "1"]}, "nextNum": 8});
    // The text before the final newline: (char, attribs).
    let mut text: Vec<(u8, String)> = Vec::new();
    let mut records = Map::new();
    let mut line_len = 0;
    // Newlines in `text`, and where the last one is.
    let mut newlines = 0;
    let mut last_nl: Option<usize> = None;
    let mut lines = 0;
    let mut word = 0;
    let mut time = 1_700_000_000_000u64;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for rev in 0..revisions {
        let who = (rev / 200) % 3;
        let author = format!("*{who}");
        let len = text.len() + 1;
        let keep = keep_to(text.len(), newlines, last_nl);
        let changeset;
        if rev % 97 == 96 && line_len > 0 {
            // Backspace the last character of the line.
            let keep = keep_to(text.len() - 1, newlines, last_nl);
            changeset = format!("Z:{}<1{keep}-1$", b36(len));
            text.pop();
            line_len -= 1;
        } else if line_len >= 60 {
            lines += 1;
            line_len = 0;
            if lines % 5 == 0 {
                let marker = format!("{author}*4*6*5*7");
                changeset = format!("Z:{}>2{keep}{author}|1+1{marker}+1$\n*", b36(len));
                text.push((b'\n', author.clone()));
                newlines += 1;
                last_nl = Some(text.len() - 1);
                text.push((b'*', marker));
            } else {
                changeset = format!("Z:{}>1{keep}{author}|1+1$\n", b36(len));
                text.push((b'\n', author.clone()));
                newlines += 1;
                last_nl = Some(text.len() - 1);
            }
        } else {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let c = if rng.is_multiple_of(6) {
                word += 1;
                b' '
            } else {
                b'a' + (rng % 26) as u8
            };
            let attribs = if word % 7 == 3 {
                format!("{author}*3")
            } else {
                author.clone()
            };
            changeset = format!("Z:{}>1{keep}{attribs}+1${}", b36(len), c as char);
            text.push((c, attribs));
            line_len += 1;
        }
        let mut meta = json!({"author": authors[who], "timestamp": time});
        if rev % 100 == 0 {
            meta["atext"] = atext(&text);
            meta["pool"] = pool.clone();
        }
        records.insert(
            format!("pad:bench:revs:{rev}"),
            json!({"changeset": changeset, "meta": meta}),
        );
        time += 180;
    }
    records.insert(
        "pad:bench".into(),
        json!({"atext": atext(&text), "pool": pool, "head": revisions - 1, "chatHead": -1}),
    );
    for (i, id) in authors.iter().enumerate() {
        records.insert(
            format!("globalAuthor:{id}"),
            json!({"colorId": i * 9, "name": id.trim_start_matches("a."), "padIDs": "bench"}),
        );
    }
    serde_json::to_vec(&Value::Object(records)).expect("JSON")
}

/// Keep operations over the first `at` units of a text holding `newlines` newlines there,
/// the last at `last_nl`.
fn keep_to(at: usize, newlines: usize, last_nl: Option<usize>) -> String {
    match last_nl {
        Some(last_nl) => {
            let rest = at - last_nl - 1;
            format!(
                "|{}={}{}",
                b36(newlines),
                b36(last_nl + 1),
                if rest > 0 {
                    format!("={}", b36(rest))
                } else {
                    String::new()
                }
            )
        }
        None if at > 0 => format!("={}", b36(at)),
        None => String::new(),
    }
}

/// The attributed text of `text` and its final newline.
fn atext(text: &[(u8, String)]) -> Value {
    let mut attribs = String::new();
    let mut s: String = text.iter().map(|(c, _)| *c as char).collect();
    s.push('\n');
    for run in text.chunk_by(|a, b| a.1 == b.1 && a.0 != b'\n') {
        let lines = usize::from(run.last().is_some_and(|(c, _)| *c == b'\n'));
        if lines > 0 {
            attribs.push_str(&format!("{}|1+{}", run[0].1, b36(run.len())));
        } else {
            attribs.push_str(&format!("{}+{}", run[0].1, b36(run.len())));
        }
    }
    attribs.push_str("|1+1");
    json!({"text": s, "attribs": attribs})
}

/// A docx of at least `bytes` bytes from our exporter: headings, paragraphs of varied words
/// with bold and italic runs, bullets. The pad is made by the Markdown reader, whose draft
/// writes a pad in one pass (typing it through yrs would take minutes: each insert by index
/// walks the text from its start).
fn docx_file(bytes: usize) -> Vec<u8> {
    let mut paragraphs = 500;
    loop {
        let pad = import_pad(markdown(paragraphs).as_bytes(), ImportFormat::Md)
            .expect("the Markdown reader reads our Markdown");
        let docx = export_pad(&pad.state, PadFormat::Docx, &ExportOptions::default())
            .expect("the exporter writes the pad");
        if docx.len() >= bytes {
            return docx;
        }
        paragraphs *= 2;
    }
}

/// Markdown of `paragraphs` paragraphs of 40 words: every tenth a heading, some bullets.
fn markdown(paragraphs: u32) -> String {
    let mut out = String::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for p in 0..paragraphs {
        if p % 10 == 0 {
            out.push_str(&"#".repeat(1 + (p as usize / 10) % 3));
            out.push(' ');
        } else if p % 4 == 1 {
            out.push_str("- ");
        }
        for w in 0..40 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let len = 2 + (rng % 9) as usize;
            let word: String = (0..len)
                .map(|i| (b'a' + ((rng >> (i * 5)) % 26) as u8) as char)
                .collect();
            match (w % 11 == 3, w % 13 == 5) {
                (true, _) => out.push_str(&format!("**{word}** ")),
                (_, true) => out.push_str(&format!("*{word}* ")),
                _ => out.push_str(&format!("{word} ")),
            }
        }
        out.push_str("\n\n");
    }
    out
}
