//! The integration suite: the real server binary, real WebSocket clients. One line per module
//! says what it covers; run one with `cargo test --test it <module>`.

// Helpers, not tests.
mod client; // a yrs client over tokio-tungstenite that speaks y-websocket as the npm provider
mod node_suite; // runs a `node --test` suite under tests/{suite}/ against the binary
mod server; // `TestServer::builder()`: starts the binary, reads its address, logs and HTTP

mod abuse; // bad input closes only the connection that sent it; the room goes on
mod admin; // the admin page and API, the notice to open pads, rate limits, metrics
mod api; // the HTTP API: every call and error, the OpenAPI document, a backup that restores
mod awareness; // presence states appear, change and disappear however a connection ends
mod base_path; // `--base-path`: the whole application under a sub-path
mod browser; // the pages in real Chromium (tests/browser/) against the binary
mod calc; // calc pages and model: concurrent structure edits, sorts, evaluation
mod calc_files; // calc exports and imports, and the EtherCalc-compatible API
mod calc_readers; // LibreOffice reads the calc's ODS and XLSX exports with our values
mod cluster; // several nodes on one PostgreSQL, straight and through HAProxy; a node's death
mod creation; // creation decisions read metadata only; refusals load nothing
mod docs; // the option table in docs/ equals `ardoise --help`; doc links resolve
mod durability; // nothing acknowledged is lost on SIGTERM or SIGKILL
mod etherpad_api; // the Etherpad-compatible API: Etherpad-shaped calls, codes, live edits, curl
mod export; // pad export downloads from the editable and read-only links
mod export_look; // export contrast (WCAG AA) on every author colour, lists, Markdown
mod export_readers; // LibreOffice reads the pad's ODT and DOCX exports
mod history; // revisions listed, previewed, exported and restored; erasure leaves no history
mod hostile_files; // hostile calc files: deep XML, cell bombs, endless formulas
mod hostile_formula; // formulas deep enough to overflow IronCalc are served as #N/A
mod hostile_http; // hostile HTTP clients: oversized bodies, slow heads, connection floods
mod hostile_storage; // a disk that fills up, a kill right after a broadcast
mod hostile_sync; // deeply nested shared types and presence floods; the server lives on
mod http; // the HTTP edge: health, unknown routes, invalid names, non-WebSocket requests
mod idle_shedding; // an idle server in `auto` shedding mode never closes creation
mod import_office; // LibreOffice-written ODT and DOCX import with headings and lists
mod language; // one language choice carried everywhere; French pages hold no English
mod loadtest; // a short `loadtest run` against the server, every pad converging
mod migrate; // `ardoise migrate etherpad` against a stub Etherpad and a folder of files; resumable
mod node_clients; // stock `yjs` + `y-websocket` npm clients (tests/node/) against the binary
mod opening; // opening a missing name creates nothing; untyped visits are not kept
mod pad_import; // pad uploads: home form, replace a live pad, the API, refusals, old Etherpad links
mod pages; // home, creation, pad and read-only pages, QR codes
mod retention; // expiry, creator delete, logs without addresses or content, CSP, /privacy
mod shedding; // past a high mark new documents are refused, existing ones work
mod store_engines; // `--store sled:DIR`: pads survive SIGTERM and, with --sync, SIGKILL; unknown engines refused
mod sync; // two yrs clients converge and persist across reloads and restarts
