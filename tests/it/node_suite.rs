//! Runs a `node --test` suite under `tests/{suite}/` against the real server binary: installs
//! the suites' pinned npm packages (one `tests/package.json`) with `npm ci` when needed, then runs
//! every `*.test.mjs` file with `ARDOISE_BIN` set. Needs Node.js 20+ and npm on `PATH`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// `npm ci` is needed when node_modules was never installed, or was installed from an older lock.
fn needs_npm_ci(dir: &Path) -> bool {
    let installed = dir.join("node_modules").join(".package-lock.json");
    match (
        modified(&installed),
        modified(&dir.join("package-lock.json")),
    ) {
        (None, _) => true,
        (Some(installed), Some(lock)) => lock > installed,
        (Some(_), None) => false,
    }
}

fn npm_ci(dir: &Path) {
    eprintln!("running `npm ci` in {}", dir.display());
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `npm ci` in {}: {e}. Install Node.js 20+ and npm (on PATH)",
                dir.display()
            )
        });
    assert!(
        status.success(),
        "`npm ci` failed in {} ({status}); see its output above. The npm registry must be \
         reachable, and package-lock.json must match package.json",
        dir.display()
    );
}

/// The suite's files, relative to the repo root, sorted.
fn test_files(dir: &Path, suite: &str) -> Vec<String> {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let mut files: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".test.mjs"))
        .map(|name| format!("tests/{suite}/{name}"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.test.mjs file in {}", dir.display());
    files
}

/// Runs `tests/{suite}/*.test.mjs` with `node --test` plus `node_args`, and fails the test
/// (pointing at the TAP output and at `hint`) unless every node test passes.
pub fn run(suite: &str, node_args: &[&str], hint: &str) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests").join(suite);
    // Both suites share one npm package (one pinned yjs, y-websocket and ws): tests/package.json.
    let npm_dir = root.join("tests");
    assert!(
        npm_dir.join("package.json").is_file(),
        "missing {}/package.json",
        npm_dir.display()
    );
    if needs_npm_ci(&npm_dir) {
        npm_ci(&npm_dir);
    }
    let bin = env!("CARGO_BIN_EXE_ardoise");
    // Files are named one by one: newer Node versions take a directory argument as a file.
    let files = test_files(&dir, suite);
    eprintln!("{suite}: ARDOISE_BIN={bin} node --test {}", files.join(" "));
    let status = Command::new("node")
        .arg("--test")
        .args(node_args)
        .args(&files)
        .current_dir(&root)
        .env("ARDOISE_BIN", bin)
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run `node --test`: {e}. Install Node.js 20+ (on PATH)"));
    assert!(
        status.success(),
        "`node --test tests/{suite}/*.test.mjs` failed ({status}): see the TAP output above; \
         rerun it alone with `ARDOISE_BIN={bin} node --test tests/{suite}/*.test.mjs` from {} \
         (add ARDOISE_TEST_LOG=1 to stream the server's log). {hint}",
        root.display()
    );
}
