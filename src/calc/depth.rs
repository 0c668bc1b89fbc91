//! How deeply a formula nests, checked before any recursive parser sees it.
//!
//! IronCalc's formula parser and evaluator recurse once per nesting level (parentheses,
//! function calls, array braces and prefix operators): a 1.4 KB formula of 700 parentheses
//! overflows a thread's stack, which aborts the process (`catch_unwind` cannot help). This scan
//! is iterative, so every formula is measured here first, wherever it comes from (typing, the
//! API, EtherCalc commands, imports, a stored document).

/// Formulas nesting deeper than this are refused. Excel allows 64 nested function calls;
/// IronCalc is safe to about 400 levels on a 2 MiB stack.
pub const MAX_FORMULA_NESTING: usize = 100;

/// A formula nests deeper than [`MAX_FORMULA_NESTING`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("formula nested more than {MAX_FORMULA_NESTING} levels deep")]
pub struct FormulaTooDeep;

/// The nesting depth of a formula: open brackets plus the longest run of prefix operators at
/// that point, outside string literals and quoted sheet names. Conservative: it may count a
/// binary operator as a prefix, never the other way round.
pub fn nesting(formula: &str) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut run = 0usize;
    let mut quote: Option<char> = None;
    for c in formula.chars() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => {
                quote = Some(c);
                run = 0;
            }
            '(' | '{' | '[' => {
                depth += 1;
                run = 0;
            }
            ')' | '}' | ']' => {
                depth = depth.saturating_sub(1);
                run = 0;
            }
            '+' | '-' | '@' => run += 1,
            c if c.is_whitespace() => {}
            _ => run = 0,
        }
        deepest = deepest.max(depth + run);
    }
    deepest
}

/// Refuses a formula nesting deeper than [`MAX_FORMULA_NESTING`].
pub fn check(formula: &str) -> Result<(), FormulaTooDeep> {
    if nesting(formula) > MAX_FORMULA_NESTING {
        Err(FormulaTooDeep)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_brackets_and_prefix_runs_outside_strings() {
        assert_eq!(nesting("=SUM(A1:B2)"), 1);
        assert_eq!(nesting("=IF(A1>0,ROUND(A1,2),\"((((\")"), 2);
        assert_eq!(nesting("='Sheet (1)'!A1"), 0);
        assert_eq!(nesting("=---1"), 3);
        assert_eq!(nesting("=1-2-3"), 1);
    }

    #[test]
    fn refuses_past_the_bound() {
        let ok = format!("={}1{}", "(".repeat(100), ")".repeat(100));
        let deep = format!("={}1{}", "(".repeat(700), ")".repeat(700));
        assert!(check(&ok).is_ok());
        assert_eq!(check(&deep), Err(FormulaTooDeep));
        assert_eq!(
            check(&format!("={}1", "-".repeat(5000))),
            Err(FormulaTooDeep)
        );
    }
}
