//! Excel number format codes and the ODF number, percentage and scientific styles they become.

use crate::convert::escape::html_into as escape_into;

/// What an Excel number format code says, in the subset ODF data styles carry.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct NumberFormat {
    pub(super) prefix: String,
    pub(super) decimals: u32,
    pub(super) min_int: u32,
    pub(super) grouping: bool,
    pub(super) percent: bool,
    pub(super) exponent: Option<u32>,
    pub(super) suffix: String,
}

impl NumberFormat {
    /// Parses the first section of an Excel code; `None` for what ODF number styles cannot say
    /// here (dates, times, fractions, conditions, colours).
    pub(super) fn parse(code: &str) -> Option<Self> {
        let section = code.split(';').next()?;
        let mut f = NumberFormat {
            prefix: String::new(),
            decimals: 0,
            min_int: 0,
            grouping: false,
            percent: false,
            exponent: None,
            suffix: String::new(),
        };
        let mut seen_digits = false;
        let mut in_decimals = false;
        let mut chars = section.chars().peekable();
        while let Some(c) = chars.next() {
            let literal = |f: &mut NumberFormat, s: &str| {
                if seen_digits {
                    f.suffix.push_str(s);
                } else {
                    f.prefix.push_str(s);
                }
            };
            match c {
                '"' => {
                    let mut s = String::new();
                    for c in chars.by_ref() {
                        if c == '"' {
                            break;
                        }
                        s.push(c);
                    }
                    literal(&mut f, &s);
                }
                '\\' => {
                    let s = chars.next()?.to_string();
                    literal(&mut f, &s);
                }
                '0' | '#' | '?' if f.exponent.is_none() && f.suffix.is_empty() => {
                    seen_digits = true;
                    if in_decimals {
                        f.decimals += 1;
                    } else if c == '0' {
                        f.min_int += 1;
                    }
                }
                ',' if seen_digits && !in_decimals => f.grouping = true,
                '.' if seen_digits || chars.peek() == Some(&'0') => {
                    seen_digits = true;
                    in_decimals = true;
                }
                '%' => f.percent = true,
                'E' | 'e' if seen_digits => {
                    chars.next_if(|c| *c == '+' || *c == '-');
                    let mut digits = 0;
                    while chars.next_if(|c| *c == '0').is_some() {
                        digits += 1;
                    }
                    f.exponent = Some(digits.max(1));
                }
                '_' | '*' => {
                    chars.next();
                }
                ' ' | '$' | '€' | '£' | '¥' | '-' | '+' | '(' | ')' | ':' | '/' => {
                    literal(&mut f, &c.to_string())
                }
                c if c.is_alphabetic() || c == '[' || c == '@' => return None,
                c => literal(&mut f, &c.to_string()),
            }
        }
        seen_digits.then_some(f)
    }

    /// The Excel code of this format (the inverse of [`parse`](Self::parse) for its output).
    pub(super) fn code(&self) -> String {
        let mut out = String::new();
        let literal = |out: &mut String, s: &str| {
            let s = s.replace('%', "");
            if !s.is_empty() {
                out.push('"');
                out.push_str(&s.replace('"', ""));
                out.push('"');
            }
        };
        literal(&mut out, &self.prefix);
        let int = if self.grouping {
            if self.min_int <= 1 {
                format!("#,##{}", "0".repeat(self.min_int.max(1) as usize))
            } else {
                format!("#,{}", "0".repeat(self.min_int as usize))
            }
        } else if self.min_int == 0 {
            "#".to_owned()
        } else {
            "0".repeat(self.min_int as usize)
        };
        out.push_str(&int);
        if self.decimals > 0 {
            out.push('.');
            out.push_str(&"0".repeat(self.decimals as usize));
        }
        if let Some(e) = self.exponent {
            out.push_str("E+");
            out.push_str(&"0".repeat(e as usize));
        }
        if self.percent {
            out.push('%');
        }
        literal(&mut out, &self.suffix);
        out
    }

    /// The `<number:…-style>` element named `name`.
    pub(super) fn style_xml(&self, name: &str, out: &mut String) {
        let kind = if self.percent {
            "number:percentage-style"
        } else {
            "number:number-style"
        };
        out.push_str(&format!("<{kind} style:name=\"{name}\">"));
        let text = |out: &mut String, s: &str| {
            if !s.is_empty() {
                out.push_str("<number:text>");
                escape_into(out, s);
                out.push_str("</number:text>");
            }
        };
        text(out, &self.prefix);
        match self.exponent {
            Some(e) => out.push_str(&format!(
                "<number:scientific-number number:decimal-places=\"{}\" \
                 number:min-integer-digits=\"{}\" number:min-exponent-digits=\"{e}\"/>",
                self.decimals, self.min_int
            )),
            None => out.push_str(&format!(
                "<number:number number:decimal-places=\"{d}\" number:min-decimal-places=\"{d}\" \
                 number:min-integer-digits=\"{}\"{}/>",
                self.min_int,
                if self.grouping {
                    " number:grouping=\"true\""
                } else {
                    ""
                },
                d = self.decimals
            )),
        }
        if self.percent {
            text(out, "%");
        }
        text(out, &self.suffix);
        out.push_str(&format!("</{kind}>"));
    }
}

#[cfg(test)]
mod tests {
    use roxmltree::Document;

    use super::*;
    use crate::convert::calc::ods::read::{number_style, NS_NUMBER, NS_STYLE};

    #[test]
    fn number_formats_both_ways() {
        for code in [
            "0",
            "0.00",
            "#,##0",
            "#,##0.00",
            "0%",
            "0.00%",
            "0.00E+00",
            "#,##0.00\" €\"",
            "\"$\"#,##0",
        ] {
            let f = NumberFormat::parse(code).unwrap_or_else(|| panic!("{code}"));
            assert_eq!(f.code(), code, "{code}");
            let mut xml = String::new();
            f.style_xml("N1", &mut xml);
            let doc_text =
                format!("<r xmlns:number=\"{NS_NUMBER}\" xmlns:style=\"{NS_STYLE}\">{xml}</r>");
            let doc = Document::parse(&doc_text).unwrap();
            let node = doc.root_element().first_element_child().unwrap();
            assert_eq!(number_style(&node, f.percent), f, "{code}");
        }
        for code in ["yyyy-mm-dd", "[Red]0", "General", "@", "hh:mm"] {
            assert_eq!(NumberFormat::parse(code), None, "{code}");
        }
    }
}
