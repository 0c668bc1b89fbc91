//! Display and input languages of a calc. Storage is always English (IronCalc's canonical form:
//! English function names, `.` decimals, `,` separators); each viewer reads and types in theirs.
//! The French names come from IronCalc's own tables (`fr.json`, generated from `ironcalc_base`'s
//! language data and checked against its parser by the tests below), shared with the browser.

use std::collections::HashMap;
use std::sync::LazyLock;

/// A viewer's formula language and number format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    /// English: `1.5`, `SUM(A1,B1)`, `TRUE`.
    En,
    /// French: `1,5`, `SOMME(A1;B1)`, `VRAI`.
    Fr,
}

/// The English ↔ French names of functions (`f`), errors (`e`) and booleans (`b`), as
/// `{"f": [[en, fr], …], …}`.
const FR_JSON: &str = include_str!("fr.json");

struct Table {
    /// Upper-cased English name → French name, per kind.
    to_fr: HashMap<(char, String), String>,
    /// Upper-cased French name → English name, per kind.
    to_en: HashMap<(char, String), String>,
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut to_fr = HashMap::new();
    let mut to_en = HashMap::new();
    // A compile-time constant of this crate: a parse failure is caught by the tests below.
    let table: HashMap<String, Vec<(String, String)>> =
        serde_json::from_str(FR_JSON).unwrap_or_default();
    for (kind, pairs) in &table {
        let Some(kind) = kind.chars().next() else {
            continue;
        };
        for (en, fr) in pairs {
            to_fr
                .entry((kind, en.to_uppercase()))
                .or_insert_with(|| fr.clone());
            // One French name stands for two functions (TAUX.ESCOMPTE.R): like IronCalc's
            // parser, the last one wins.
            to_en.insert((kind, fr.to_uppercase()), en.clone());
        }
    }
    Table { to_fr, to_en }
});

/// Kinds of translated words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    /// A function name.
    Function,
    /// An error literal such as `#DIV/0!`.
    Error,
    /// `TRUE`/`FALSE`.
    Bool,
}

impl Word {
    fn tag(self) -> char {
        match self {
            Word::Function => 'f',
            Word::Error => 'e',
            Word::Bool => 'b',
        }
    }
}

impl Locale {
    /// `en` or `fr`.
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
        }
    }

    /// The locale of a language code; English for anything else.
    pub fn from_code(code: &str) -> Self {
        if code.eq_ignore_ascii_case("fr") {
            Locale::Fr
        } else {
            Locale::En
        }
    }

    /// Decimal separator.
    pub fn decimal(self) -> char {
        match self {
            Locale::En => '.',
            Locale::Fr => ',',
        }
    }

    /// Argument separator.
    pub fn list(self) -> char {
        match self {
            Locale::En => ',',
            Locale::Fr => ';',
        }
    }

    /// `word` (in this locale) in English; `None` when it is not a known word of this kind.
    pub fn to_english(self, kind: Word, word: &str) -> Option<String> {
        let upper = word.to_uppercase();
        match self {
            Locale::En => TABLE
                .to_fr
                .contains_key(&(kind.tag(), upper.clone()))
                .then_some(upper),
            Locale::Fr => TABLE.to_en.get(&(kind.tag(), upper)).cloned(),
        }
    }

    /// English `word` in this locale; `None` when it is not a known word of this kind.
    pub fn from_english(self, kind: Word, word: &str) -> Option<String> {
        let upper = word.to_uppercase();
        let fr = TABLE.to_fr.get(&(kind.tag(), upper.clone()))?;
        Some(match self {
            Locale::En => upper,
            Locale::Fr => fr.clone(),
        })
    }

    /// Every error literal of this locale, longest first (for prefix matching).
    pub fn errors(self) -> Vec<String> {
        let mut all: Vec<String> = TABLE
            .to_fr
            .iter()
            .filter(|((k, _), _)| *k == 'e')
            .map(|((_, en), fr)| match self {
                Locale::En => en.clone(),
                Locale::Fr => fr.clone(),
            })
            .collect();
        all.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        all
    }

    /// `TRUE`/`FALSE` in this locale.
    pub fn bool_name(self, b: bool) -> &'static str {
        match (self, b) {
            (Locale::En, true) => "TRUE",
            (Locale::En, false) => "FALSE",
            (Locale::Fr, true) => "VRAI",
            (Locale::Fr, false) => "FAUX",
        }
    }

    /// A typed boolean (case-insensitive).
    pub fn parse_bool(self, text: &str) -> Option<bool> {
        [true, false]
            .into_iter()
            .find(|&b| text.eq_ignore_ascii_case(self.bool_name(b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironcalc_base::expressions::parser::stringify::to_english_string;
    use ironcalc_base::expressions::parser::Parser;
    use ironcalc_base::expressions::types::CellReferenceRC;
    use ironcalc_base::language::get_language;
    use ironcalc_base::locale::get_locale;

    #[test]
    fn table_matches_ironcalc_parser() {
        // Every French function name parses, in IronCalc's French parser, to its English name.
        let locale = get_locale("fr").unwrap();
        let language = get_language("fr").unwrap();
        assert_eq!(locale.numbers.symbols.decimal, ",");
        let mut parser = Parser::new(
            vec!["Sheet1".to_owned()],
            vec![],
            HashMap::new(),
            locale,
            language,
        );
        let at = CellReferenceRC {
            sheet: "Sheet1".to_owned(),
            row: 1,
            column: 1,
        };
        let table: HashMap<String, Vec<(String, String)>> = serde_json::from_str(FR_JSON).unwrap();
        let mut checked = 0;
        for (_, fr) in &table["f"] {
            // A few French names stand for two functions: ours and IronCalc's pick the same.
            let ours = Locale::Fr.to_english(Word::Function, fr).unwrap();
            let node = parser.parse(&format!("{fr}(1)"), &at);
            let english = to_english_string(&node, &at);
            assert!(english.starts_with(&format!("{ours}(")), "{fr} → {english}");
            checked += 1;
        }
        assert_eq!(table["e"].len(), 12);
        assert!(checked > 400, "{checked}");
        assert_eq!(
            Locale::Fr.to_english(Word::Function, "somme"),
            Some("SUM".into())
        );
        assert_eq!(
            Locale::Fr.from_english(Word::Function, "sum"),
            Some("SOMME".into())
        );
        assert_eq!(Locale::En.to_english(Word::Function, "nope"), None);
        assert_eq!(Locale::Fr.parse_bool("vrai"), Some(true));
    }
}
