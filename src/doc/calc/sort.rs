//! The order of a row sort (the browser's twin is in `web/src/calc/doc.js`): numbers (and
//! booleans, as 0 and 1) before text, text before errors, empty cells last in both directions.
//! The browser compares text with the viewer's `Intl.Collator`; here, without ICU, text is
//! compared case-insensitively by code point, which agrees with it on plain ASCII words.

use std::cmp::Ordering;

use super::value::Computed;
use super::value::Input;

/// What a cell sorts by.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    /// A number (booleans are 0 and 1).
    Number(f64),
    /// Text.
    Text(String),
    /// An error value.
    Error(String),
    /// Nothing: always last.
    Empty,
}

impl SortKey {
    /// The key of a computed value.
    pub fn of_computed(value: &Computed) -> Self {
        match value {
            Computed::Number(n) => SortKey::Number(*n),
            Computed::Bool(b) => SortKey::Number(f64::from(u8::from(*b))),
            Computed::Text(t) if t.is_empty() => SortKey::Empty,
            Computed::Text(t) => SortKey::Text(t.clone()),
            Computed::Error(e) => SortKey::Error(e.clone()),
            Computed::Empty => SortKey::Empty,
        }
    }

    /// The key of an input as typed (a formula sorts by its text: use
    /// [`SortKey::of_computed`] for its value).
    pub fn of_input(input: &Input) -> Self {
        match input {
            Input::Number(n) => SortKey::Number(*n),
            Input::Bool(b) => SortKey::Number(f64::from(u8::from(*b))),
            Input::Text(t) if t.is_empty() => SortKey::Empty,
            Input::Text(t) | Input::Formula(t) => SortKey::Text(t.clone()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            SortKey::Number(_) => 0,
            SortKey::Text(_) => 1,
            SortKey::Error(_) => 2,
            SortKey::Empty => 3,
        }
    }
}

/// The order of `a` and `b`; `descending` reverses everything but the empty cells, which stay
/// last (as in LibreOffice and Excel). Equal keys compare equal, so a stable sort keeps their
/// rows in their current order.
pub fn compare(a: &SortKey, b: &SortKey, descending: bool) -> Ordering {
    let ord = match (a, b) {
        (SortKey::Empty, SortKey::Empty) => return Ordering::Equal,
        (SortKey::Empty, _) => return Ordering::Greater,
        (_, SortKey::Empty) => return Ordering::Less,
        (SortKey::Number(x), SortKey::Number(y)) => x.total_cmp(y),
        (SortKey::Text(x), SortKey::Text(y)) | (SortKey::Error(x), SortKey::Error(y)) => {
            x.to_lowercase().cmp(&y.to_lowercase())
        }
        _ => a.rank().cmp(&b.rank()),
    };
    if descending {
        ord.reverse()
    } else {
        ord
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_then_text_then_errors_empty_last_both_ways() {
        let keys = [
            SortKey::Empty,
            SortKey::Text("banana".into()),
            SortKey::Number(10.0),
            SortKey::Error("#DIV/0!".into()),
            SortKey::Text("Apple".into()),
            SortKey::Number(-2.0),
        ];
        let mut up = keys.to_vec();
        up.sort_by(|a, b| compare(a, b, false));
        assert_eq!(
            up,
            [
                SortKey::Number(-2.0),
                SortKey::Number(10.0),
                SortKey::Text("Apple".into()),
                SortKey::Text("banana".into()),
                SortKey::Error("#DIV/0!".into()),
                SortKey::Empty,
            ]
        );
        let mut down = keys.to_vec();
        down.sort_by(|a, b| compare(a, b, true));
        assert_eq!(down.first(), Some(&SortKey::Error("#DIV/0!".into())));
        assert_eq!(down[4], SortKey::Number(-2.0));
        assert_eq!(down.last(), Some(&SortKey::Empty));
        assert_eq!(
            SortKey::of_computed(&Computed::Bool(true)),
            SortKey::Number(1.0)
        );
    }
}
