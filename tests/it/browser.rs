//! The pages in a real browser: Debian's Chromium (`/usr/bin/chromium`) driven by `playwright-core`
//! (pinned in tests/browser/package-lock.json) against the real server binary. Runs the
//! `node --test` suite in tests/browser with `ARDOISE_BIN` set; screenshots land in
//! target/screenshots/.
//!
//! Needs `node` (20+), `npm` and `/usr/bin/chromium` (`apt-get install -y chromium`); installs
//! tests/browser/node_modules with `npm ci` when it is missing or older than the lock file.
//! The `*.test.mjs` files are passed by name (see node_clients.rs for why).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

const CHROMIUM: &str = "/usr/bin/chromium";

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
    eprintln!("browser: running `npm ci` in {}", dir.display());
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `npm ci` in {}: {e}. Install Node.js 20+ and npm \
                 (they must be on PATH) to run the browser tests",
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

/// The suite's files, relative to the repo root (`tests/browser/*.test.mjs`, sorted).
fn test_files(dir: &Path) -> Vec<String> {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let mut files: Vec<String> = entries
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".test.mjs"))
        .map(|name| format!("tests/browser/{name}"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.test.mjs file in {}", dir.display());
    files
}

#[test]
fn pages_in_chromium() {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: the browser tests drive Debian's Chromium. Install it with \
         `apt-get update && apt-get install -y chromium` (.ci/run does)"
    );
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests").join("browser");
    assert!(
        dir.join("package.json").is_file(),
        "missing {}/package.json",
        dir.display()
    );
    if needs_npm_ci(&dir) {
        npm_ci(&dir);
    }

    let bin = env!("CARGO_BIN_EXE_ardoise");
    let files = test_files(&dir);
    eprintln!("browser: ARDOISE_BIN={bin} node --test {}", files.join(" "));
    let status = Command::new("node")
        // one file at a time: each starts its own server and Chromium, and the machine is small
        .args(["--test", "--test-concurrency=1"])
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
                 (it must be on PATH) to run the browser tests",
                root.display()
            )
        });
    assert!(
        status.success(),
        "`node --test tests/browser/*.test.mjs` failed ({status}): see the TAP output above; \
         rerun it alone with `ARDOISE_BIN={bin} node --test tests/browser/*.test.mjs` from {} \
         (add ARDOISE_TEST_LOG=1 to stream the server's log); screenshots are in \
         target/screenshots/",
        root.display()
    );
}
