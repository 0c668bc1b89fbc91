//! What a cell holds in the document: its input (language-neutral) and its formatting, and the
//! parsing of what a person types in their locale.

use std::collections::HashMap;

use yrs::Any;

use super::formula::{self, Layout};
use super::locale::Locale;

/// The input of a cell, as stored in `cells` (`{v: …}`): never a computed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A number (typed `1,23` in French is stored as 1.23).
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// Text, shown as is.
    Text(String),
    /// A formula in stored form: starts with `=`, English names and separators, references by
    /// row and column id (`formula/`).
    Formula(String),
}

impl Input {
    /// Reads a stored cell value; `None` for shapes no client writes.
    pub fn from_any(any: &Any) -> Option<Self> {
        let Any::Map(map) = any else { return None };
        match map.get("v")? {
            Any::Number(n) => n.as_f64().filter(|n| n.is_finite()).map(Input::Number),
            Any::Bool(b) => Some(Input::Bool(*b)),
            Any::String(s) => Some(if let Some(text) = s.strip_prefix('\'') {
                Input::Text(text.to_owned())
            } else if s.starts_with('=') {
                Input::Formula(s.to_string())
            } else {
                Input::Text(s.to_string())
            }),
            _ => None,
        }
    }

    /// The stored value: `{v: …}`; text that would read as a formula or quoted text gets the
    /// quote prefix `'`, as in every spreadsheet.
    pub fn to_any(&self) -> Any {
        let v = match self {
            // Whole numbers as integers, as Yjs writes them from JavaScript.
            Input::Number(n) => Any::Number(yrs::any::Number::try_i64(*n)),
            Input::Bool(b) => Any::Bool(*b),
            Input::Text(t) if t.starts_with('=') || t.starts_with('\'') => {
                Any::from(format!("'{t}"))
            }
            Input::Text(t) => Any::from(t.as_str()),
            Input::Formula(f) => Any::from(f.as_str()),
        };
        Any::from(HashMap::from([("v".to_owned(), v)]))
    }
}

/// Formatting of a cell, apart from its value so concurrent "bold" and "type 42" both survive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellFormat {
    /// Bold.
    pub bold: bool,
    /// Italic.
    pub italic: bool,
    /// Number format code (Excel syntax, e.g. `0.00`, `0%`, `#,##0.00 "€"`).
    pub num_fmt: Option<String>,
}

impl CellFormat {
    /// Reads a stored format (`{b, i, nf}`).
    pub fn from_any(any: &Any) -> Option<Self> {
        let Any::Map(map) = any else { return None };
        let flag = |k: &str| matches!(map.get(k), Some(Any::Bool(true)));
        let num_fmt = match map.get("nf") {
            Some(Any::String(s)) if !s.is_empty() && s.len() <= 255 => Some(s.to_string()),
            _ => None,
        };
        Some(CellFormat {
            bold: flag("b"),
            italic: flag("i"),
            num_fmt,
        })
    }

    /// The stored shape.
    pub fn to_any(&self) -> Any {
        let mut map = HashMap::new();
        if self.bold {
            map.insert("b".to_owned(), Any::Bool(true));
        }
        if self.italic {
            map.insert("i".to_owned(), Any::Bool(true));
        }
        if let Some(nf) = &self.num_fmt {
            map.insert("nf".to_owned(), Any::from(nf.as_str()));
        }
        Any::from(map)
    }

    /// Whether this is the default format (nothing to store).
    pub fn is_empty(&self) -> bool {
        *self == CellFormat::default()
    }
}

/// Where a typed input lands: the formula's own sheet, for relative references.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    /// The sheet layout of the workbook.
    pub layout: &'a Layout<'a>,
    /// Index of the cell's sheet in the layout.
    pub sheet: usize,
}

/// What a person typed in `locale`, as it is stored; `None` clears the cell.
pub fn parse_typed(text: &str, locale: Locale, at: At<'_>) -> Option<Input> {
    if text.is_empty() {
        return None;
    }
    if text.len() > 1 && text.starts_with('=') {
        return Some(Input::Formula(formula::to_stored(
            text, locale, at.layout, at.sheet,
        )));
    }
    if let Some(quoted) = text.strip_prefix('\'') {
        return Some(Input::Text(quoted.to_owned()));
    }
    if let Some(n) = parse_number(text, locale) {
        return Some(Input::Number(n));
    }
    if let Some(b) = locale.parse_bool(text.trim()) {
        return Some(Input::Bool(b));
    }
    Some(Input::Text(text.to_owned()))
}

/// A number typed in `locale`: optional sign, digits with optional group separators (`,` in
/// English by threes; spaces in French), the locale's decimal separator, an exponent, `%`.
pub fn parse_number(text: &str, locale: Locale) -> Option<f64> {
    let mut s = text.trim().to_owned();
    let percent = s.ends_with('%');
    if percent {
        s.pop();
        s = s.trim_end().to_owned();
    }
    let (decimal, group) = match locale {
        Locale::En => ('.', ','),
        Locale::Fr => (',', ' '),
    };
    let s: String = s
        .chars()
        .filter(|&c| !(locale == Locale::Fr && matches!(c, ' ' | '\u{a0}' | '\u{202f}')))
        .collect();
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s.as_str(), None),
    };
    let (sign, digits) = match mantissa.strip_prefix(['-', '+']) {
        Some(rest) => (&mantissa[..1], rest),
        None => ("", mantissa),
    };
    let (int, frac) = match digits.split_once(decimal) {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let int = if locale == Locale::En && int.contains(group) {
        let groups: Vec<&str> = int.split(group).collect();
        let ok = groups[0].len() <= 3
            && !groups[0].is_empty()
            && groups[1..].iter().all(|g| g.len() == 3);
        if !ok {
            return None;
        }
        groups.concat()
    } else {
        int.to_owned()
    };
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(&int) || int.is_empty() && frac.is_none_or(str::is_empty) {
        return None;
    }
    if frac.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    let mut canonical = format!(
        "{sign}{}.{}",
        if int.is_empty() { "0" } else { &int },
        frac.unwrap_or("0")
    );
    if let Some(e) = exponent {
        let digits = e.strip_prefix(['-', '+']).unwrap_or(e);
        if digits.is_empty() || !all_digits(digits) {
            return None;
        }
        canonical.push('e');
        canonical.push_str(e);
    }
    let n: f64 = canonical.parse().ok()?;
    let n = if percent { n / 100.0 } else { n };
    n.is_finite().then_some(n)
}

/// A number as a person edits it in `locale` (shortest form that reads back the same).
pub fn format_number(n: f64, locale: Locale) -> String {
    let s = format!("{n}");
    match locale {
        Locale::En => s,
        Locale::Fr => s.replace('.', ","),
    }
}

/// The text shown in the formula bar when editing a cell.
pub fn edit_text(input: &Input, locale: Locale, at: At<'_>) -> String {
    match input {
        Input::Number(n) => format_number(*n, locale),
        Input::Bool(b) => locale.bool_name(*b).to_owned(),
        Input::Text(t) => {
            let reads_as_other = t.starts_with('=')
                || t.starts_with('\'')
                || parse_number(t, locale).is_some()
                || locale.parse_bool(t.trim()).is_some();
            if reads_as_other {
                format!("'{t}")
            } else {
                t.clone()
            }
        }
        Input::Formula(f) => formula::to_a1(f, locale, at.layout, at.sheet),
    }
}

/// A computed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Computed {
    /// Nothing.
    Empty,
    /// A number.
    Number(f64),
    /// Text.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// An error such as `#REF!` or `#DIV/0!` (in the evaluation locale).
    Error(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_both_locales() {
        assert_eq!(parse_number("1,23", Locale::Fr), Some(1.23));
        assert_eq!(parse_number("1,23", Locale::En), None);
        assert_eq!(parse_number("1 234,5", Locale::Fr), Some(1234.5));
        assert_eq!(parse_number("1,234.5", Locale::En), Some(1234.5));
        assert_eq!(parse_number("-3.5e2", Locale::En), Some(-350.0));
        assert_eq!(parse_number("12 %", Locale::Fr), Some(0.12));
        assert_eq!(parse_number(",5", Locale::Fr), Some(0.5));
        for bad in ["", "abc", "1.2.3", "1,2345", "1e", "--1", "12a", ".", "1 2"] {
            assert_eq!(parse_number(bad, Locale::En), None, "{bad}");
        }
        assert_eq!(format_number(1.23, Locale::Fr), "1,23");
        assert_eq!(format_number(42.0, Locale::En), "42");
    }

    #[test]
    fn stored_shapes_round_trip() {
        for input in [
            Input::Number(1.5),
            Input::Bool(true),
            Input::Text("hello".into()),
            Input::Text("=not a formula".into()),
            Input::Text("'quoted".into()),
            Input::Formula("=1+2".into()),
        ] {
            assert_eq!(Input::from_any(&input.to_any()), Some(input.clone()));
        }
        let f = CellFormat {
            bold: true,
            italic: false,
            num_fmt: Some("0.00".into()),
        };
        assert_eq!(CellFormat::from_any(&f.to_any()), Some(f));
        assert_eq!(Input::from_any(&Any::from("bare")), None);
    }
}
