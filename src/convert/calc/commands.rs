//! EtherCalc's "Post Commands" (`POST /_/{name}` with `{"command": …}` or a plain-text body):
//! the subset of SocialCalc commands that scripts and forms use to change content, parsed
//! here and written into the calc document exactly as the browser writes it (`calc::schema`).
//!
//! Supported: `set <A1|A1:B2> value <type> <number>`, `set … text <type> <text>`,
//! `set … formula <formula>`, `set … constant <type> <number> <text>`, `set … empty`,
//! `set … font <style weight size family>` (bold and italic), `erase <range> all|formulas|formats`,
//! `insertrow <A5>`, `insertcol <C1>`, `deleterow <A5[:A7]>`, `deletecol <C1[:D1]>`.
//! Anything else is refused as a whole batch, with the offending line named, rather than
//! half-applied: a script must learn that its edit did not happen.

use yrs::{ReadTxn, Transact, TransactionMut};

use super::openformula::parse_a1;
use super::socialcalc::decode;
use super::CalcIoError;
use crate::doc::calc::depth;
use crate::doc::calc::formula::{self, Layout};
use crate::doc::calc::locale::Locale;
use crate::doc::calc::schema::{self, Axis, Sheet, Workbook};
use crate::doc::calc::value::{CellFormat, Input};

/// Most commands in one request: each is a small edit, so this bounds the work of one call.
pub const MAX_COMMANDS: usize = 10_000;

/// Most cells one command may cover.
const MAX_RANGE_CELLS: u64 = 1_000_000;

/// A rectangle of 0-based cells, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Top-left (row, column).
    pub from: (u32, u32),
    /// Bottom-right (row, column).
    pub to: (u32, u32),
}

impl Range {
    fn cells(self) -> impl Iterator<Item = (u32, u32)> {
        (self.from.0..=self.to.0).flat_map(move |r| (self.from.1..=self.to.1).map(move |c| (r, c)))
    }

    fn len(self) -> u64 {
        u64::from(self.to.0 - self.from.0 + 1) * u64::from(self.to.1 - self.from.1 + 1)
    }
}

/// What a `set` writes.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// A number.
    Number(f64),
    /// Text, shown as is (never read as a formula).
    Text(String),
    /// A formula in English A1 form, without its `=`.
    Formula(String),
    /// Nothing: the cell is cleared.
    Empty,
}

/// One parsed command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `set <range> value|text|formula|constant|empty`.
    Set(Range, Content),
    /// `set <range> font …`: bold and italic.
    Font(Range, bool, bool),
    /// `erase <range> all|formulas|formats`: which of inputs and formats go.
    Erase(Range, bool, bool),
    /// `insertrow` / `insertcol`: one before the given 0-based position.
    Insert(Axis, u32),
    /// `deleterow` / `deletecol`: 0-based first position and count.
    Delete(Axis, u32, u32),
}

/// Parses a batch: one command per line (blank lines skipped).
pub fn parse(lines: &[String]) -> Result<Vec<Command>, CalcIoError> {
    let mut out = Vec::new();
    for (number, line) in lines.iter().flat_map(|l| l.lines()).enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if out.len() == MAX_COMMANDS {
            return Err(CalcIoError::TooLarge(format!(
                "too many commands (at most {MAX_COMMANDS} per request)"
            )));
        }
        let shown: String = line.chars().take(80).collect();
        let command = parse_one(line).ok_or_else(|| {
            CalcIoError::Invalid(format!("unsupported or malformed command: {shown}"))
        })?;
        // Refused here, before the formula is stored: every later evaluation would recurse
        // through it (calc::depth).
        if let Command::Set(_, Content::Formula(f)) = &command {
            depth::check(f)
                .map_err(|e| CalcIoError::Invalid(format!("line {}: {e}: {shown}", number + 1)))?;
        }
        out.push(command);
    }
    Ok(out)
}

/// One command, or `None` if it is not one of the supported forms.
fn parse_one(line: &str) -> Option<Command> {
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim_start();
    match verb.to_ascii_lowercase().as_str() {
        "set" => {
            let (target, rest) = rest.split_once(' ')?;
            let range = parse_range(target)?;
            let (attr, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            let content = match attr.to_ascii_lowercase().as_str() {
                "empty" => Content::Empty,
                "value" => {
                    let (kind, value) = rest.split_once(' ')?;
                    if !kind.starts_with('n') {
                        return None;
                    }
                    Content::Number(number(value)?)
                }
                "constant" => {
                    let mut parts = rest.splitn(3, ' ');
                    let kind = parts.next()?;
                    let value = parts.next()?;
                    if !kind.starts_with('n') {
                        return None;
                    }
                    Content::Number(number(value)?)
                }
                "text" => {
                    let (kind, text) = rest.split_once(' ').unwrap_or((rest, ""));
                    if !kind.starts_with('t') {
                        return None;
                    }
                    Content::Text(decode(text))
                }
                "formula" => {
                    let f = rest.trim();
                    if f.is_empty() {
                        return None;
                    }
                    Content::Formula(f.strip_prefix('=').unwrap_or(f).to_owned())
                }
                "font" => {
                    let words: Vec<String> =
                        rest.split_whitespace().map(str::to_lowercase).collect();
                    return Some(Command::Font(
                        range,
                        words.iter().any(|w| w == "bold"),
                        words.iter().any(|w| w == "italic"),
                    ));
                }
                _ => return None,
            };
            Some(Command::Set(range, content))
        }
        "erase" => {
            let (target, what) = rest.split_once(' ').unwrap_or((rest, "all"));
            let range = parse_range(target)?;
            let (inputs, formats) = match what.trim().to_ascii_lowercase().as_str() {
                "all" => (true, true),
                "formulas" => (true, false),
                "formats" => (false, true),
                _ => return None,
            };
            Some(Command::Erase(range, inputs, formats))
        }
        "insertrow" => Some(Command::Insert(Axis::Rows, parse_range(rest)?.from.0)),
        "insertcol" => Some(Command::Insert(Axis::Cols, parse_range(rest)?.from.1)),
        "deleterow" => {
            let r = parse_range(rest)?;
            Some(Command::Delete(Axis::Rows, r.from.0, r.to.0 - r.from.0 + 1))
        }
        "deletecol" => {
            let r = parse_range(rest)?;
            Some(Command::Delete(Axis::Cols, r.from.1, r.to.1 - r.from.1 + 1))
        }
        _ => None,
    }
}

/// `A1` or `A1:B2` (either corner order).
fn parse_range(text: &str) -> Option<Range> {
    let text = text.trim();
    let (a, b) = text.split_once(':').unwrap_or((text, text));
    let (a, b) = (parse_a1(a)?, parse_a1(b)?);
    Some(Range {
        from: (a.0.min(b.0), a.1.min(b.1)),
        to: (a.0.max(b.0), a.1.max(b.1)),
    })
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The update that runs `commands`, in order, on sheet `sheet` (0-based, the first if out of
/// range) of the calc `snapshot`. Rows and columns are added when a command writes past the
/// sheet's end, as EtherCalc's unbounded grid would.
pub fn apply(snapshot: &[u8], commands: &[Command], sheet: usize) -> Result<Vec<u8>, CalcIoError> {
    let doc = super::bridge::load(Some(snapshot))?;
    let before = doc.transact().state_vector();
    {
        let mut txn = doc.transact_mut();
        let mut workbook = schema::read(&txn);
        if workbook.sheets.is_empty() {
            schema::ensure_first_sheet(&mut txn);
            workbook = schema::read(&txn);
        }
        let index = if sheet < workbook.sheets.len() {
            sheet
        } else {
            0
        };
        for command in commands {
            run(&mut txn, &mut workbook, index, command)?;
            // Cell writes and growth are mirrored in `workbook` as they are made; an inserted
            // or deleted row or column is simply read again.
            if matches!(command, Command::Insert(..) | Command::Delete(..)) {
                workbook = schema::read(&txn);
            }
        }
    }
    let update = doc.transact().encode_state_as_update_v1(&before);
    Ok(update)
}

/// Sheet `index` of `workbook`, which [`apply`] chose among its sheets.
fn target(workbook: &mut Workbook, index: usize) -> Result<&mut Sheet, CalcIoError> {
    workbook
        .sheets
        .get_mut(index)
        .ok_or_else(|| CalcIoError::Engine("calc without a sheet".into()))
}

/// Runs one command on sheet `index`; `workbook` is the document as it stands (its id arrays
/// kept current here), so formulas are stored against the rows they name.
fn run(
    txn: &mut TransactionMut,
    workbook: &mut Workbook,
    index: usize,
    command: &Command,
) -> Result<(), CalcIoError> {
    let edit = |e: schema::EditError| CalcIoError::Engine(e.to_string());
    let range = match command {
        Command::Set(r, _) | Command::Font(r, ..) | Command::Erase(r, ..) => Some(*r),
        _ => None,
    };
    if range.is_some_and(|r| r.len() > MAX_RANGE_CELLS) {
        return Err(past_limits());
    }
    match command {
        Command::Set(range, content) => {
            reach(txn, target(workbook, index)?, *range)?;
            let input = match content {
                Content::Number(n) => Some(Input::Number(*n)),
                Content::Text(t) => Some(Input::Text(t.clone())),
                Content::Formula(f) => Some(Input::Formula(formula::to_stored(
                    &format!("={f}"),
                    Locale::En,
                    &Layout::new(workbook),
                    index,
                ))),
                Content::Empty => None,
            };
            let sheet = target(workbook, index)?;
            for (r, c) in range.cells() {
                let (row, col) = ids(sheet, r, c);
                schema::set_input(txn, &sheet.id, row, col, input.as_ref()).map_err(edit)?;
            }
            Ok(())
        }
        Command::Font(range, bold, italic) => {
            let sheet = target(workbook, index)?;
            reach(txn, sheet, *range)?;
            for (r, c) in range.cells() {
                let (row, col) = ids(sheet, r, c);
                let key = schema::cell_key(row, col);
                let mut format = sheet.fmt.get(&key).cloned().unwrap_or_default();
                format.bold = *bold;
                format.italic = *italic;
                schema::set_format(txn, &sheet.id, row, col, Some(&format)).map_err(edit)?;
                sheet.fmt.insert(key, format);
            }
            Ok(())
        }
        Command::Erase(range, inputs, formats) => {
            let sheet = target(workbook, index)?;
            for (r, c) in range.cells() {
                let (Some(row), Some(col)) =
                    (sheet.rows.get(r as usize), sheet.cols.get(c as usize))
                else {
                    continue;
                };
                if *inputs {
                    schema::set_input(txn, &sheet.id, row, col, None).map_err(edit)?;
                }
                if *formats {
                    schema::set_format(txn, &sheet.id, row, col, None::<&CellFormat>)
                        .map_err(edit)?;
                }
            }
            Ok(())
        }
        Command::Insert(axis, at) => {
            let sheet = target(workbook, index)?;
            let len = axis_len(sheet, *axis);
            if *at >= limit(*axis) {
                return Err(past_limits());
            }
            // Inserting past the end means the sheet grows to reach it, then gets the new one.
            if *at > len {
                schema::insert(txn, &sheet.id, *axis, len, at - len).map_err(edit)?;
            }
            schema::insert(txn, &sheet.id, *axis, *at, 1).map_err(edit)?;
            Ok(())
        }
        Command::Delete(axis, at, n) => {
            let sheet = target(workbook, index)?;
            let len = axis_len(sheet, *axis);
            // Deleting what is not there deletes nothing, as in a spreadsheet's empty margin.
            if *at < len {
                let n = (*n).min(len - at);
                schema::delete(txn, &sheet.id, *axis, *at, n).map_err(edit)?;
            }
            Ok(())
        }
    }
}

fn axis_len(sheet: &Sheet, axis: Axis) -> u32 {
    let n = match axis {
        Axis::Rows => sheet.rows.len(),
        Axis::Cols => sheet.cols.len(),
    };
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn limit(axis: Axis) -> u32 {
    let n = match axis {
        Axis::Rows => schema::MAX_ROWS,
        Axis::Cols => schema::MAX_COLS,
    };
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Grows the sheet so that `range` exists; refused past the sheet limits.
fn reach(txn: &mut TransactionMut, sheet: &mut Sheet, range: Range) -> Result<(), CalcIoError> {
    if range.to.0 >= limit(Axis::Rows) || range.to.1 >= limit(Axis::Cols) {
        return Err(past_limits());
    }
    for (axis, want) in [(Axis::Rows, range.to.0 + 1), (Axis::Cols, range.to.1 + 1)] {
        let have = axis_len(sheet, axis);
        if want > have {
            let ids = schema::insert(txn, &sheet.id, axis, have, want - have)
                .map_err(|e| CalcIoError::Engine(e.to_string()))?;
            match axis {
                Axis::Rows => sheet.rows.extend(ids),
                Axis::Cols => sheet.cols.extend(ids),
            }
        }
    }
    Ok(())
}

fn past_limits() -> CalcIoError {
    CalcIoError::TooLarge(format!(
        "a command reaches past the largest sheet ({} rows × {} columns)",
        schema::MAX_ROWS,
        schema::MAX_COLS
    ))
}

/// The ids at a position that `reach` made exist.
fn ids(sheet: &Sheet, r: u32, c: u32) -> (&str, &str) {
    (
        sheet.rows.get(r as usize).map_or("", String::as_str),
        sheet.cols.get(c as usize).map_or("", String::as_str),
    )
}

/// Reads a document back, for tests.
#[cfg(test)]
fn read_back(doc: &yrs::Doc) -> schema::Workbook {
    schema::read(&doc.transact())
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::updates::decoder::Decode;
    use yrs::{Doc, Update};

    fn lines(text: &str) -> Vec<String> {
        vec![text.to_owned()]
    }

    fn run_on(doc: &Doc, text: &str) {
        let snapshot = doc
            .transact()
            .encode_state_as_update_v1(&yrs::StateVector::default());
        let commands = parse(&lines(text)).expect("parse");
        let update = apply(&snapshot, &commands, 0).expect("apply");
        doc.transact_mut()
            .apply_update(Update::decode_v1(&update).expect("decode"))
            .expect("apply update");
    }

    fn fresh() -> Doc {
        let doc = Doc::new();
        schema::ensure_first_sheet(&mut doc.transact_mut());
        doc
    }

    #[test]
    fn parses_the_forms_scripts_send() {
        let parsed = parse(&lines(
            "set A1 value n 42\nset B2:C3 text t a\\cb\\nc\nset D4 formula SUM(A1:A3)\n\n\
             set E5 constant nd 43000 1/1/2018\nset A1 empty\nerase A1:B2 formulas\n\
             insertrow A5\ndeletecol C1:D1\nset A1 font italic bold * *",
        ))
        .expect("parse");
        assert_eq!(parsed.len(), 9);
        assert_eq!(
            parsed[1],
            Command::Set(
                Range {
                    from: (1, 1),
                    to: (2, 2)
                },
                Content::Text("a:b\nc".into())
            )
        );
        assert_eq!(
            parsed[2],
            Command::Set(
                parse_range("D4").expect("d4"),
                Content::Formula("SUM(A1:A3)".into())
            )
        );
        assert_eq!(
            parsed[3],
            Command::Set(parse_range("E5").expect("e5"), Content::Number(43000.0))
        );
        assert_eq!(parsed[6], Command::Insert(Axis::Rows, 4));
        assert_eq!(parsed[7], Command::Delete(Axis::Cols, 2, 2));
        assert_eq!(
            parsed[8],
            Command::Font(parse_range("A1").expect("a1"), true, true)
        );
    }

    #[test]
    fn refuses_what_it_does_not_know_as_a_whole() {
        for bad in [
            "set A1 value n forty-two",
            "set A1 bgcolor rgb(0,0,0)",
            "sort A1:B5 A up",
            "set sheet defaultcolwidth 80",
            "insertrow",
            "set A0 value n 1",
        ] {
            let err = parse(&lines(&format!("set A1 value n 1\n{bad}"))).expect_err(bad);
            assert!(matches!(err, CalcIoError::Invalid(_)), "{bad}: {err}");
        }
        let deep = format!("set A1 formula {}1{}", "(".repeat(700), ")".repeat(700));
        let err = parse(&lines(&format!("set A1 value n 1\n\n{deep}"))).expect_err("deep");
        assert!(
            matches!(&err, CalcIoError::Invalid(m) if m.starts_with("line 3: formula nested")),
            "{err}"
        );
        let ok = format!("set A1 formula {}1{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&lines(&ok)).is_ok());
        let many = vec!["set A1 value n 1".to_owned(); MAX_COMMANDS + 1];
        assert!(matches!(parse(&many), Err(CalcIoError::TooLarge(_))));
    }

    #[test]
    fn writes_what_the_browser_would_write() {
        let doc = fresh();
        run_on(
            &doc,
            "set A1 value n 2\nset A2 value n 3\nset B1 text t =not a formula\n\
             set A3 formula SUM(A1:A2)\nset A1 font normal bold * *",
        );
        let book = read_back(&doc);
        let sheet = &book.sheets[0];
        assert_eq!(sheet.input_at(0, 0), Some(&Input::Number(2.0)));
        assert_eq!(
            sheet.input_at(0, 1),
            Some(&Input::Text("=not a formula".into()))
        );
        let Some(Input::Formula(f)) = sheet.input_at(2, 0) else {
            panic!("a formula in A3");
        };
        assert!(!f.contains("A1"), "stored by id, not A1: {f}");
        let key = schema::cell_key(&sheet.rows[0], &sheet.cols[0]);
        assert!(sheet.fmt.get(&key).is_some_and(|f| f.bold && !f.italic));

        // A row inserted above moves the cells with their row; the formula still covers them.
        run_on(&doc, "insertrow A1\nset A1 text t header");
        let sheet = &read_back(&doc).sheets[0];
        assert_eq!(sheet.input_at(1, 0), Some(&Input::Number(2.0)));
        assert_eq!(sheet.input_at(0, 0), Some(&Input::Text("header".into())));
        assert!(matches!(sheet.input_at(3, 0), Some(Input::Formula(_))));

        run_on(&doc, "deleterow A1\nerase A2 all");
        let sheet = &read_back(&doc).sheets[0];
        assert_eq!(sheet.input_at(0, 0), Some(&Input::Number(2.0)));
        assert_eq!(sheet.input_at(1, 0), None);
    }

    #[test]
    fn grows_the_sheet_to_reach_a_far_cell_and_stops_at_the_limits() {
        let doc = fresh();
        run_on(&doc, "set AD2000 value n 1");
        let sheet = &read_back(&doc).sheets[0];
        assert_eq!(sheet.rows.len(), 2000);
        assert_eq!(sheet.cols.len(), 30);
        assert_eq!(sheet.input_at(1999, 29), Some(&Input::Number(1.0)));

        let snapshot = doc
            .transact()
            .encode_state_as_update_v1(&yrs::StateVector::default());
        let far = parse(&lines("set A200000 value n 1")).expect("parse");
        assert!(matches!(
            apply(&snapshot, &far, 0),
            Err(CalcIoError::TooLarge(_))
        ));
    }
}
