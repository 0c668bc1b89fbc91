//! Where the documents are: the `--url` flag, restricted to this machine.

use std::net::IpAddr;

use anyhow::{bail, Context, Result};
use tokio_tungstenite::tungstenite::http::Uri;

/// The placeholder a URL template may hold for the document name.
const PLACEHOLDER: &str = "{doc}";

/// A loopback y-websocket endpoint.
#[derive(Debug, Clone)]
pub struct Target {
    url: String,
}

impl Target {
    /// Accepts `ws://HOST[:PORT]/PATH`, where HOST is loopback (127.0.0.0/8, `::1` or
    /// `localhost`). Documents are at `{url}/{name}`, or wherever `{doc}` stands in the URL.
    pub fn parse(url: &str) -> Result<Self> {
        let url = url.trim_end_matches('/');
        let probe = url.replace(PLACEHOLDER, "doc");
        let uri: Uri = probe
            .parse()
            .with_context(|| format!("invalid URL {url:?}"))?;
        if uri.scheme_str() != Some("ws") {
            bail!("only ws:// URLs are measured (got {url:?})");
        }
        let host = uri.host().context("the URL has no host")?;
        if !is_loopback(host) {
            bail!("refusing to load {host:?}: only 127.0.0.1, ::1 and localhost are allowed");
        }
        Ok(Self {
            url: url.to_owned(),
        })
    }

    /// The WebSocket URL of document `name`.
    pub fn doc_url(&self, name: &str) -> String {
        if self.url.contains(PLACEHOLDER) {
            self.url.replace(PLACEHOLDER, name)
        } else {
            format!("{}/{name}", self.url)
        }
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only() {
        for ok in [
            "ws://127.0.0.1:8080/ws",
            "ws://localhost/ws/",
            "ws://[::1]:1234/ws",
            "ws://127.1.2.3:9/ws/{doc}",
        ] {
            assert!(Target::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ws://10.0.0.1/ws",
            "ws://example.org/ws",
            "wss://127.0.0.1/ws",
            "http://127.0.0.1/ws",
            "ws://localhost.example.org/ws",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn document_urls() {
        let t = Target::parse("ws://127.0.0.1:1/ws/").expect("valid");
        assert_eq!(t.doc_url("x"), "ws://127.0.0.1:1/ws/x");
        let t = Target::parse("ws://127.0.0.1:1/d/{doc}?a=1").expect("valid");
        assert_eq!(t.doc_url("x"), "ws://127.0.0.1:1/d/x?a=1");
    }
}
