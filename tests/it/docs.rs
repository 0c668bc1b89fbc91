//! The documentation against the binary: the option table of `docs/configuration.md` lists
//! exactly the flags `ardoise --help` prints, each with its environment variable (as the OpenAPI
//! test keeps the API document equal to the routes), and the links between the README and
//! `docs/` reach a file and a heading that exist.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::server::BINARY;

/// The option table's file, relative to the repository root.
const OPTION_TABLE: &str = "docs/configuration.md";

/// Flags clap adds by itself, which the table does not list.
const CLAP_FLAGS: [&str; 2] = ["--help", "--version"];

/// Every `--flag` that `ardoise --help` prints, with the `ARDOISE_*` variable clap names for it
/// (`None` when it names none).
fn help_flags() -> BTreeMap<String, Option<String>> {
    let out = std::process::Command::new(BINARY)
        .arg("--help")
        .output()
        .expect("ardoise --help runs");
    assert!(out.status.success(), "ardoise --help exits 0");
    let help = String::from_utf8(out.stdout).expect("help is UTF-8");
    // clap's long help: each option on a line of its own indented by at most 6 spaces
    // (`      --listen <LISTEN>`, `  -h, --help`), its description below it, indented deeper
    // and perhaps wrapped; the description is read as one string so a wrap cannot split it.
    let mut described: Vec<(String, String)> = Vec::new();
    for line in help.lines() {
        let text = line.trim_start();
        let indent = line.len() - text.len();
        if indent <= 6 && text.starts_with('-') {
            let name = text
                .split(|c: char| c == ',' || c.is_whitespace())
                .find(|w| w.starts_with("--"))
                .unwrap_or_default();
            described.push((name.to_owned(), String::new()));
        } else if let Some((_, description)) = described.last_mut() {
            description.push(' ');
            description.push_str(text);
        }
    }
    let mut flags: BTreeMap<String, Option<String>> = described
        .into_iter()
        .filter(|(flag, _)| !flag.is_empty())
        .map(|(flag, description)| {
            let env = description.split_once("[env: ").map(|(_, rest)| {
                rest.chars()
                    .take_while(|c| *c != '=' && *c != ']')
                    .collect()
            });
            (flag, env)
        })
        .collect();
    for own in CLAP_FLAGS {
        flags.remove(own);
    }
    flags
}

/// The rows of the option table: `| `--flag` | `ARDOISE_X` | default | meaning |`.
fn table_flags(markdown: &str) -> BTreeMap<String, Option<String>> {
    markdown
        .lines()
        .filter(|l| l.starts_with("| `--"))
        .map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let unquote = |cell: &str| cell.trim_matches('`').to_owned();
            let env = cells
                .get(2)
                .filter(|c| c.starts_with("`ARDOISE_"))
                .map(|c| unquote(c));
            (unquote(cells[1]), env)
        })
        .collect()
}

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn the_option_table_lists_exactly_the_flags_of_help_with_their_env_vars() {
    let help = help_flags();
    assert!(help.len() > 30, "--help parsed: {help:?}");
    assert!(
        help.values().all(Option::is_some),
        "every flag has an env var in --help: {help:?}"
    );
    let doc = std::fs::read_to_string(repo_file(OPTION_TABLE)).expect("option table readable");
    let table = table_flags(&doc);

    let missing: Vec<_> = help.keys().filter(|f| !table.contains_key(*f)).collect();
    assert!(
        missing.is_empty(),
        "{OPTION_TABLE} lacks a row for {missing:?} that `ardoise --help` lists"
    );
    let extra: Vec<_> = table.keys().filter(|f| !help.contains_key(*f)).collect();
    assert!(
        extra.is_empty(),
        "{OPTION_TABLE} lists {extra:?}, which `ardoise --help` does not"
    );
    for (flag, env) in &help {
        assert_eq!(
            &table[flag], env,
            "{OPTION_TABLE}: the env var of {flag} differs from `ardoise --help`"
        );
    }
}

/// GitHub's anchor of a heading: lowercase, punctuation dropped, spaces as hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of every heading of a Markdown file (outside code blocks).
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut fenced = false;
    let mut out = BTreeSet::new();
    for line in markdown.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.insert(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

/// The targets of the inline links `[text](target)` of a Markdown file.
fn link_targets(markdown: &str) -> Vec<String> {
    markdown
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(t, _)| t.to_owned()))
        .collect()
}

#[test]
fn links_between_the_readme_and_docs_reach_existing_headings() {
    let docs = std::fs::read_dir(repo_file("docs"))
        .expect("docs/ readable")
        .map(|e| format!("docs/{}", e.expect("entry").file_name().to_string_lossy()))
        .filter(|p| p.ends_with(".md"));
    let files: Vec<String> = std::iter::once("README.md".to_owned())
        .chain(docs)
        .collect();
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(repo_file(file)).expect("readable");
        let dir = Path::new(file).parent().unwrap_or(Path::new(""));
        for target in link_targets(&text) {
            if target.contains("://") {
                continue;
            }
            let (path, fragment) = match target.split_once('#') {
                Some((path, fragment)) => (path, Some(fragment)),
                None => (target.as_str(), None),
            };
            let linked = if path.is_empty() {
                repo_file(file)
            } else {
                repo_file(&dir.join(path).to_string_lossy())
            };
            let Ok(linked_text) = std::fs::read_to_string(&linked) else {
                broken.push(format!("{file}: {target} (no such file)"));
                continue;
            };
            if let Some(fragment) = fragment {
                if !anchors(&linked_text).contains(fragment) {
                    broken.push(format!("{file}: {target} (no such heading)"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links: {broken:#?}");
}
