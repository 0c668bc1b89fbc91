//! Stock Yjs clients (`yjs` + `y-websocket` from npm, pinned in tests/package-lock.json)
//! against the real server binary.

#[test]
fn stock_yjs_clients() {
    crate::node_suite::run("node", &[], "");
}
