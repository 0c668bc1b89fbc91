//! Stock Yjs clients (`yjs` + `y-websocket` from npm, pinned in tests/node/package-lock.json)
//! against the real server binary: runs the `node --test` suite in tests/node with `ARDOISE_BIN`
//! set.
//!
//! Needs `node` (20+) and `npm` on PATH; installs tests/node/node_modules with `npm ci` when it
//! is missing or older than the lock file. The suite's own output is streamed as it runs.
//!
//! The `*.test.mjs` files are passed to `node --test` by name rather than as the directory
//! `tests/node/`: Node 20 searches a directory argument, but later versions (seen: 22, 24)
//! treat it as a glob that matches the directory itself and fail with MODULE_NOT_FOUND.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// `npm ci` is needed when node_modules was never installed, or was installed from an older lock.
fn needs_npm_ci(node_dir: &Path) -> bool {
    let installed = node_dir.join("node_modules").join(".package-lock.json");
    match (
        modified(&installed),
        modified(&node_dir.join("package-lock.json")),
    ) {
        (None, _) => true,
        (Some(installed), Some(lock)) => lock > installed,
        (Some(_), None) => false,
    }
}

fn npm_ci(node_dir: &Path) {
    eprintln!("node_clients: running `npm ci` in {}", node_dir.display());
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(node_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `npm ci` in {}: {e}. Install Node.js 20+ and npm \
                 (they must be on PATH) to run the stock-Yjs-client tests",
                node_dir.display()
            )
        });
    assert!(
        status.success(),
        "`npm ci` failed in {} ({status}); see its output above. The npm registry must be \
         reachable, and package-lock.json must match package.json",
        node_dir.display()
    );
}

/// The suite's files, relative to the repo root (`tests/node/*.test.mjs`, sorted).
fn test_files(node_dir: &Path) -> Vec<String> {
    let entries = std::fs::read_dir(node_dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", node_dir.display()));
    let mut files: Vec<String> = entries
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", node_dir.display()))
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".test.mjs"))
        .map(|name| format!("tests/node/{name}"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no *.test.mjs file in {}",
        node_dir.display()
    );
    files
}

#[test]
fn stock_yjs_clients() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let node_dir = root.join("tests").join("node");
    assert!(
        node_dir.join("package.json").is_file(),
        "missing {}/package.json",
        node_dir.display()
    );
    if needs_npm_ci(&node_dir) {
        npm_ci(&node_dir);
    }

    let bin = env!("CARGO_BIN_EXE_ardoise");
    let files = test_files(&node_dir);
    eprintln!(
        "node_clients: ARDOISE_BIN={bin} node --test {}",
        files.join(" ")
    );
    let status = Command::new("node")
        .arg("--test")
        .args(&files)
        .current_dir(&root)
        .env("ARDOISE_BIN", bin)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `node --test` in {}: {e}. Install Node.js 20+ \
                 (it must be on PATH) to run the stock-Yjs-client tests",
                root.display()
            )
        });
    assert!(
        status.success(),
        "`node --test tests/node/*.test.mjs` failed ({status}): see the TAP output above; \
         rerun it alone with `ARDOISE_BIN={bin} node --test tests/node/` from {} \
         (add ARDOISE_TEST_LOG=1 to stream the server's log)",
        root.display()
    );
}
