//! The pages in real Chromium (Debian's `/usr/bin/chromium`, driven by playwright-core pinned in
//! tests/package-lock.json) against the real server binary.

use std::path::Path;

const CHROMIUM: &str = "/usr/bin/chromium";

#[test]
fn pages_in_chromium() {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: the browser tests drive Debian's Chromium. Install it with \
         `apt-get update && apt-get install -y chromium` (.ci/run does)"
    );
    // One file at a time: each starts its own server and Chromium, and the machine is small.
    crate::node_suite::run(
        "browser",
        &["--test-concurrency=1"],
        "Screenshots are in target/screenshots/.",
    );
}
