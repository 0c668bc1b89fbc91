//! The shells of the pad and calc editors, editable and read-only: the bundled client builds the
//! editor inside them from their `data-*` attributes.

use std::fmt::Write;

use super::expiry::{expiry_html, iso_utc, Retention};
use super::lang::Lang;
use super::layout::{head, AssetUrls};
use crate::convert::escape::html as escape;
use crate::doc::meta::Kind;

/// What the pad shell tells the client.
#[derive(Debug, Clone)]
pub struct PadShell<'a> {
    /// The document name; `None` on the read-only page, which must not reveal it.
    pub name: Option<&'a str>,
    /// The y-websocket room the client joins: the name, or `r/{token}`.
    pub room: &'a str,
    /// Path of the read-only page, shown for sharing on the editable page.
    pub read_only_path: Option<&'a str>,
    /// Prefix of the export links.
    pub export_base: &'a str,
    /// Path of the QR code image(s) prefix: `{prefix}/qr.svg`.
    pub qr_base: &'a str,
    /// When the document will be erased if nobody edits it; shown on the page.
    pub retention: Option<Retention>,
    /// The creator secret, on the one page that created the document: the browser keeps it to
    /// offer "Delete". Never on a page anyone else can load.
    pub creator_secret: Option<&'a str>,
}

/// The shell of a pad or calc page (editable or read-only); `nonce` authorises the editor's own
/// styles. The client bundle builds everything inside `#app` from the `data-*` attributes.
pub fn editor(
    kind: Kind,
    lang: Lang,
    assets: &AssetUrls,
    nonce: &str,
    shell: &PadShell<'_>,
) -> String {
    let t = lang.t();
    let (kind_name, read_only_title, js, noscript) = match kind {
        Kind::Pad => ("pad", t.read_only_title, &assets.pad_js, t.noscript_pad),
        Kind::Calc => (
            "calc",
            t.read_only_calc_title,
            &assets.calc_js,
            t.noscript_calc,
        ),
    };
    let title = match shell.name {
        Some(name) => format!("{name} · ardoise"),
        None => format!("{read_only_title} · ardoise"),
    };
    let mut attrs = format!(
        "data-kind=\"{kind_name}\" data-room=\"{}\" data-readonly=\"{}\" data-lang=\"{}\" \
         data-export-base=\"{}\" data-qr-base=\"{}\" data-base=\"{}\"",
        escape(shell.room),
        shell.name.is_none(),
        lang.code(),
        escape(shell.export_base),
        escape(shell.qr_base),
        escape(&assets.base),
    );
    if kind == Kind::Calc {
        let _ = write!(attrs, " data-wasm=\"{}\"", escape(&assets.calc_wasm));
    }
    if let Some(name) = shell.name {
        let _ = write!(attrs, " data-name=\"{}\"", escape(name));
    }
    if let Some(path) = shell.read_only_path {
        let _ = write!(attrs, " data-readonly-path=\"{}\"", escape(path));
    }
    if let Some(secret) = shell.creator_secret {
        let _ = write!(attrs, " data-creator=\"{}\"", escape(secret));
    }
    let retention = shell
        .retention
        .map(|r| {
            // The client rewrites the sentence in the page's language and the reader's time
            // zone from these attributes; the text is the UTC fallback.
            let expires = r
                .expires_at
                .map(|at| format!(" data-expires-at=\"{}\"", iso_utc(at)))
                .unwrap_or_default();
            format!(
                "<p id=\"expiry\" class=\"expiry\" data-lifetime=\"{}\"{expires}>{}</p>\n",
                r.lifetime,
                expiry_html(lang, kind, r)
            )
        })
        .unwrap_or_default();
    format!(
        "{head}<body class=\"{kind_name}\">\n<div id=\"app\" {attrs}></div>\n{retention}\
         <noscript>{noscript}</noscript>\n\
         <script src=\"{js}\" defer></script>\n</body>\n</html>\n",
        head = head(lang, &title, assets, Some(nonce)),
        js = escape(js),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::lifetime::Lifetime;
    use crate::http::pages::expiry::expiry_note;
    use crate::http::pages::problem::{error, ErrorKind};
    use crate::http::pages::testutil::assets;

    #[test]
    fn everything_interpolated_is_escaped() {
        let shell = PadShell {
            name: Some("a\"<b>"),
            room: "a\"<b>",
            read_only_path: Some("/r/x"),
            export_base: "/p/x/export/",
            qr_base: "/p/x",
            retention: None,
            creator_secret: None,
        };
        let html = editor(Kind::Pad, Lang::En, &assets(), "n\"once", &shell);
        assert!(!html.contains("<b>"));
        assert!(html.contains("a&quot;&lt;b&gt;"));
        assert!(html.contains("content=\"n&quot;once\""));
        let page = error(
            Lang::Fr,
            &assets(),
            ErrorKind::NotFound,
            "<script>alert(1)</script>",
        );
        assert!(!page.contains("<script>"));
    }

    #[test]
    fn read_only_shell_hides_the_name() {
        let shell = PadShell {
            name: None,
            room: "r/0123",
            read_only_path: None,
            export_base: "/r/0123/export/",
            qr_base: "/r/0123",
            retention: None,
            creator_secret: None,
        };
        let html = editor(Kind::Pad, Lang::Fr, &assets(), "n", &shell);
        assert!(html.contains("data-readonly=\"true\""));
        assert!(!html.contains("data-name"));
        assert!(html.contains("lecture seule"));
        let calc = editor(Kind::Calc, Lang::En, &assets(), "n", &shell);
        assert!(calc.contains("data-kind=\"calc\"") && calc.contains("/assets/calc.js?v=1"));
        assert!(!calc.contains("data-name") && calc.contains("Read-only calc"));
    }

    #[test]
    fn the_editor_pages_say_when_they_are_erased() {
        let retention = Retention {
            lifetime: Lifetime::After(60 * 86_400),
            // 2024-02-29 13:37 UTC
            expires_at: Some(1_709_213_820),
        };
        assert_eq!(
            expiry_note(Lang::Fr, Kind::Pad, retention),
            "Sans modification, ce pad sera effacé le 29 février 2024 à 13:37 UTC \
             (60 jours après la dernière modification)."
        );
        assert!(expiry_note(Lang::En, Kind::Calc, retention).starts_with(
            "If nobody edits it, this calc will be erased on 29 February 2024 at 13:37 UTC"
        ));
        assert!(expiry_note(Lang::Fr, Kind::Calc, retention)
            .starts_with("Sans modification, ce tableur"));
        let forever = Retention {
            lifetime: Lifetime::Forever,
            expires_at: None,
        };
        assert!(expiry_note(Lang::En, Kind::Pad, forever).contains("until someone deletes it"));
        let shell = PadShell {
            name: Some("x"),
            room: "x",
            read_only_path: None,
            export_base: "/p/x/export/",
            qr_base: "/p/x",
            retention: Some(retention),
            creator_secret: Some("s3cret"),
        };
        let html = editor(Kind::Pad, Lang::En, &assets(), "n", &shell);
        assert!(html.contains(
            "<p id=\"expiry\" class=\"expiry\" data-lifetime=\"60d\" \
             data-expires-at=\"2024-02-29T13:37:00Z\">If nobody edits it, this pad will be erased \
             on <time datetime=\"2024-02-29T13:37:00Z\">29 February 2024 at 13:37 UTC</time> (60 days"
        ));
        assert!(html.contains("data-creator=\"s3cret\""));
        assert!(!html.contains("data-wasm"));
        let html = editor(Kind::Calc, Lang::En, &assets(), "n", &shell);
        assert!(html.contains("data-creator=\"s3cret\""));
        assert!(html.contains("data-kind=\"calc\"") && html.contains("data-wasm="));
        assert!(html.contains("2024-02-29T13:37:00Z\">If nobody edits it, this calc"));
    }
}
