//! How deeply a formula nests, checked before any recursive parser sees it, and the stack its
//! evaluation needs.
//!
//! IronCalc's formula parser recurses once per bracket level (about 3.5 KiB of stack each), and
//! its evaluator, its printer and `Drop` recurse once per level of the expression tree, where
//! every binary operator of a chain such as `1+1+1+…` is one level (about 2 KiB each in
//! evaluation). A 1.4 KB formula of 700 parentheses, or a 2.2 KB sum of 1,100 ones, overflows a
//! 2 MiB stack, which aborts the process (`catch_unwind` cannot help). These scans are
//! iterative, so every formula is measured here first, wherever it comes from (typing, the API,
//! EtherCalc commands, imports, a stored document).
//!
//! One recursion no input check bounds: evaluating a cell evaluates, recursively, every formula
//! cell it refers to that has not been computed yet, so a chain `A1 =A2+1`, `A2 =A3+1`, … recurses
//! once per link. Each formula cell is on that recursion at most once (a second visit is a
//! circular reference), so [`eval_stack_bytes`] bounds it from the formulas' own depths, and
//! [`on_stack`] runs the evaluation on a thread with that stack.

/// Formulas nesting brackets (and prefix operators) deeper than this are refused. Excel allows
/// 64 nested function calls; IronCalc parses about 600 levels on a 2 MiB stack.
pub const MAX_FORMULA_NESTING: usize = 100;

/// Formulas whose expression tree may be deeper than this (chained operators, nested calls) are
/// refused: a sum of 256 terms still passes; IronCalc evaluates about 1,000 levels on 2 MiB.
pub const MAX_FORMULA_TREE_DEPTH: usize = 256;

/// Stack reserved per level of expression tree on a reference chain ([`eval_stack_bytes`]):
/// twice the 2 KiB measured per level (a chain link `=A2+1` took 3.9 KiB for its two levels).
pub const STACK_PER_LEVEL: usize = 4 * 1024;

/// Stack every evaluation thread gets on top of the chain: room to parse and evaluate any one
/// admitted formula (100 bracket levels and 256 tree levels need about 1 MiB) several times over.
pub const BASE_EVAL_STACK: usize = 8 * 1024 * 1024;

/// Largest evaluation stack reserved (address space: only what the recursion reaches is
/// touched). 4 GiB covers about a million tree levels on formula cells, e.g. 300,000 formula
/// cells of `=B2*C2` (each counts its 2 levels and 1 for its cell).
pub const MAX_EVAL_STACK: usize = 4 * 1024 * 1024 * 1024;

/// A formula nests deeper than the bounds, or calls `LAMBDA`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "formula nested more than {MAX_FORMULA_NESTING} levels deep, chaining more than \
     {MAX_FORMULA_TREE_DEPTH} operators, or using LAMBDA"
)]
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

/// One bracket level while measuring the tree: operators seen in the current argument, the
/// deepest bracket closed inside it, and the deepest argument finished so far.
#[derive(Default, Clone, Copy)]
struct Level {
    ops: usize,
    child: usize,
    best: usize,
}

impl Level {
    fn depth(self) -> usize {
        self.best.max(self.ops + self.child)
    }
}

/// A bound on the depth of the expression tree IronCalc builds for `formula` (without its
/// leading `=`): within each argument, every operator character may add a level (a chain of
/// operators is a left-deep tree) on top of the deepest bracket in it, and every bracket adds
/// one. Conservative (`<=` counts twice, a sign inside `1E+5` counts). Past
/// 4 × [`MAX_FORMULA_NESTING`] open brackets it answers `usize::MAX` without reading further:
/// such a formula is refused by [`nesting`] anyway, and the scan keeps its memory bounded.
pub fn tree_depth(formula: &str) -> usize {
    let body = formula.strip_prefix('=').unwrap_or(formula);
    let mut levels = vec![Level::default()];
    let mut quote: Option<char> = None;
    for c in body.chars() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        let open = levels.len();
        let Some(top) = levels.last_mut() else {
            return usize::MAX;
        };
        match c {
            '"' | '\'' => quote = Some(c),
            '(' | '{' | '[' => {
                if open > 4 * MAX_FORMULA_NESTING {
                    return usize::MAX;
                }
                levels.push(Level::default());
            }
            // An unmatched closing bracket at the top level closes nothing.
            ')' | '}' | ']' if open > 1 => {
                let closed = levels.pop().map_or(0, Level::depth) + 1;
                if let Some(parent) = levels.last_mut() {
                    parent.child = parent.child.max(closed);
                }
            }
            ',' | ';' => {
                top.best = top.depth();
                top.ops = 0;
                top.child = 0;
            }
            '+' | '-' | '*' | '/' | '^' | '&' | '=' | '<' | '>' | '%' | ':' | '@' | '#' => {
                top.ops += 1;
            }
            _ => {}
        }
    }
    // Brackets left open still hold their operators: fold them into their parents.
    let mut depth = 0;
    while let Some(level) = levels.pop() {
        depth = level.best.max(level.ops + level.child.max(depth));
        if !levels.is_empty() {
            depth += 1;
        }
    }
    depth
}

/// Whether `formula` calls `LAMBDA` (outside string literals): a lambda applied to itself,
/// `=LAMBDA(f,f(f))(LAMBDA(f,f(f)))`, recurses in IronCalc without end, whatever the stack.
pub fn calls_lambda(formula: &str) -> bool {
    const WORD: &str = "LAMBDA";
    let mut quote: Option<char> = None;
    let mut word = String::new();
    let mut hit = false;
    for c in formula.chars().chain(std::iter::once(' ')) {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            if word.len() <= WORD.len() {
                word.push(c);
            }
            continue;
        }
        hit |= word.eq_ignore_ascii_case(WORD);
        word.clear();
        if c == '"' || c == '\'' {
            quote = Some(c);
        }
    }
    hit
}

/// Refuses a formula nesting deeper than [`MAX_FORMULA_NESTING`], whose tree may be deeper than
/// [`MAX_FORMULA_TREE_DEPTH`], or calling `LAMBDA`.
pub fn check(formula: &str) -> Result<(), FormulaTooDeep> {
    if nesting(formula) > MAX_FORMULA_NESTING
        || tree_depth(formula) > MAX_FORMULA_TREE_DEPTH
        || calls_lambda(formula)
    {
        Err(FormulaTooDeep)
    } else {
        Ok(())
    }
}

/// The formula IronCalc gets instead of one that [`check`] refuses, in a document stored before
/// the check or written by a client that skipped it: the cell shows `#N/A`.
pub const REFUSED_FORMULA: &str = "=NA()";

/// A calc's formulas need more evaluation stack than [`MAX_EVAL_STACK`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many formulas to evaluate ({levels} levels of formulas, at most {})", MAX_EVAL_STACK / STACK_PER_LEVEL)]
pub struct TooManyFormulas {
    /// The levels counted.
    pub levels: usize,
}

/// Sums what each formula cell may add to the evaluation's recursion: its tree depth plus one
/// for the cell itself. Feed it only formulas that pass [`check`].
#[derive(Debug, Default, Clone, Copy)]
pub struct StackBudget {
    levels: usize,
}

impl StackBudget {
    /// Counts one formula cell.
    pub fn add(&mut self, formula: &str) {
        let tree = tree_depth(formula).min(MAX_FORMULA_TREE_DEPTH);
        self.levels = self.levels.saturating_add(tree + 1);
    }

    /// The stack an evaluation of the counted formulas needs.
    pub fn bytes(self) -> Result<usize, TooManyFormulas> {
        eval_stack_bytes(self.levels)
    }
}

/// The stack an evaluation needs when its formula cells add up to `levels` ([`StackBudget`]):
/// every formula cell can be on the recursion at most once, at most as deep as its own tree.
pub fn eval_stack_bytes(levels: usize) -> Result<usize, TooManyFormulas> {
    levels
        .checked_mul(STACK_PER_LEVEL)
        .and_then(|b| b.checked_add(BASE_EVAL_STACK))
        .filter(|&b| b <= MAX_EVAL_STACK)
        .ok_or(TooManyFormulas { levels })
}

/// Why guarded work did not return.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// The thread could not be started (e.g. its stack could not be mapped).
    #[error("evaluation thread not started: {0}")]
    Spawn(std::io::Error),
    /// The work panicked (a bug in the engine; the panic was reported on its thread).
    #[error("evaluation thread panicked")]
    Panicked,
}

/// Runs `work` on a new thread with a stack of `stack_bytes` and waits for it. For blocking
/// callers only (the export pool): the caller's thread waits, the work's recursion uses the new
/// thread's stack, which is unmapped again when it ends.
pub fn on_stack<T, F>(stack_bytes: usize, work: F) -> Result<T, GuardError>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("calc-eval".into())
            .stack_size(stack_bytes)
            .spawn_scoped(scope, work)
            .map_err(GuardError::Spawn)?
            .join()
            .map_err(|_| GuardError::Panicked)
    })
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
    fn tree_depth_counts_operator_chains_per_argument() {
        assert_eq!(tree_depth("=1"), 0);
        assert_eq!(tree_depth("=1+2+3"), 2);
        assert_eq!(tree_depth("=SUM(A1:B2)"), 2);
        assert_eq!(tree_depth("=SUM(1+1,2)"), 2);
        assert_eq!(tree_depth("=SUM(1,2,3,4,5,6)"), 1);
        // The deep bracket hangs under the whole chain that follows it.
        assert_eq!(tree_depth("=(((1)))+1+1+1"), 6);
        assert_eq!(tree_depth("=\"+++\"&A1"), 1);
        assert_eq!(
            tree_depth(&format!("={}1{}", "(".repeat(5), ")".repeat(5))),
            5
        );
        assert_eq!(tree_depth("=((1+1"), 3);
        assert_eq!(tree_depth(&format!("=1{}", "+1".repeat(1000))), 1000);
        assert_eq!(tree_depth(&"(".repeat(10_000)), usize::MAX);
    }

    #[test]
    fn finds_lambda_outside_strings() {
        assert!(calls_lambda("=LAMBDA(f,f(f))(LAMBDA(f,f(f)))"));
        assert!(calls_lambda("=_xlfn.lambda(x,x)(1)"));
        assert!(!calls_lambda("=\"LAMBDA(\"&A1"));
        assert!(!calls_lambda("=LAMBDAS+LAMBD"));
    }

    #[test]
    fn refuses_past_the_bounds() {
        let ok = format!("={}1{}", "(".repeat(100), ")".repeat(100));
        let deep = format!("={}1{}", "(".repeat(700), ")".repeat(700));
        assert!(check(&ok).is_ok());
        assert_eq!(check(&deep), Err(FormulaTooDeep));
        assert_eq!(
            check(&format!("={}1", "-".repeat(5000))),
            Err(FormulaTooDeep)
        );
        assert!(check(&format!("=A1{}", "+A1".repeat(256))).is_ok());
        assert_eq!(
            check(&format!("=A1{}", "+A1".repeat(257))),
            Err(FormulaTooDeep)
        );
        assert_eq!(check("=LET(g,LAMBDA(f,f(f)),g(g))"), Err(FormulaTooDeep));
    }

    #[test]
    fn the_stack_follows_the_formulas_and_has_a_ceiling() {
        let mut budget = StackBudget::default();
        for _ in 0..1000 {
            budget.add("=A2+1");
        }
        assert_eq!(budget.bytes(), Ok(BASE_EVAL_STACK + 2000 * STACK_PER_LEVEL));
        assert!(eval_stack_bytes(usize::MAX / 2).is_err());
        assert!(eval_stack_bytes(MAX_EVAL_STACK / STACK_PER_LEVEL).is_err());
    }

    #[test]
    fn guarded_work_returns_or_reports_its_panic() {
        assert_eq!(on_stack(BASE_EVAL_STACK, || 41 + 1).ok(), Some(42));
        assert!(matches!(
            on_stack(BASE_EVAL_STACK, || -> u8 { panic!("engine bug") }),
            Err(GuardError::Panicked)
        ));
    }
}
