//! The frame every page shares: the asset URLs, the `<head>`, the language switch and links
//! under the base path.

use std::fmt::Write;

use super::lang::Lang;
use crate::convert::escape::html as escape;

/// Versioned URLs of the bundled assets, for cache busting.
#[derive(Debug, Clone)]
pub struct AssetUrls {
    /// The stylesheet shared by every page.
    pub css: String,
    /// The pad editor bundle.
    pub pad_js: String,
    /// The admin page's script.
    pub admin_js: String,
    /// The calc editor bundle.
    pub calc_js: String,
    /// IronCalc's wasm engine, loaded by the calc bundle.
    pub calc_wasm: String,
    /// The site icon.
    pub icon: String,
    /// The base path every link and form starts with (`--base-path`); empty at the root.
    pub base: String,
}

/// The doctype and `<head>` of a page titled `title`; `nonce` authorises the editor's styles.
pub(super) fn head(lang: Lang, title: &str, assets: &AssetUrls, nonce: Option<&str>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n",
        lang.code()
    );
    if let Some(nonce) = nonce {
        let _ = writeln!(
            out,
            "<meta name=\"csp-nonce\" content=\"{}\">",
            escape(nonce)
        );
    }
    let _ = write!(
        out,
        "<title>{}</title>\n<link rel=\"icon\" href=\"{}\" type=\"image/svg+xml\">\n\
         <link rel=\"stylesheet\" href=\"{}\">\n</head>\n",
        escape(title),
        escape(&assets.icon),
        escape(&assets.css)
    );
    out
}

/// The link to the same `path` in the other language.
pub(super) fn lang_switch(lang: Lang, path: &str) -> String {
    let (code, label) = lang.t().other_lang;
    format!(
        "<a class=\"lang\" href=\"{}?lang={code}\" hreflang=\"{code}\">{label}</a>",
        escape(path)
    )
}

/// `path` (starting with `/`) under the base path, escaped for an attribute.
pub(super) fn link(assets: &AssetUrls, path: &str) -> String {
    escape(&format!("{}{path}", assets.base))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::lifetime::Lifetime;
    use crate::doc::meta::Kind;
    use crate::http::pages::testutil::assets;
    use crate::http::pages::{creation_closed, editor, error, home, Creation, ErrorKind, PadShell};
    use crate::service::admission::TrustedHost;

    #[test]
    fn every_link_and_form_starts_with_the_base_path() {
        let assets = AssetUrls {
            base: "/pad".into(),
            ..assets()
        };
        let hosts = [TrustedHost {
            name: "P".into(),
            url: "https://p.example/{name}".into(),
            weight: 1,
            calc_url: None,
        }];
        let closed = Creation {
            open: false,
            hosts: &hosts,
        };
        let pages = [
            home(
                Lang::En,
                &assets,
                &[Lifetime::After(86_400)],
                Lifetime::After(86_400),
                closed,
            ),
            creation_closed(Lang::En, &assets, Some("x"), Kind::Pad, &hosts),
            error(Lang::En, &assets, ErrorKind::NotFound, ""),
        ];
        for page in &pages {
            for attr in ["href=\"/", "action=\"/"] {
                for (i, _) in page.match_indices(attr) {
                    let rest = &page[i + attr.len() - 1..];
                    assert!(
                        rest.starts_with("/pad/") || rest.starts_with("/assets/"),
                        "{}",
                        &rest[..rest.len().min(40)]
                    );
                }
            }
        }
        assert!(
            pages[0].contains("action=\"/pad/new?lang=en\"")
                && pages[0].contains("href=\"/pad/?lang=fr\"")
        );
        assert!(pages[1].contains("action=\"/pad/elsewhere\""));
        let shell = PadShell {
            name: Some("x"),
            room: "x",
            read_only_path: None,
            export_base: "/pad/p/x/export/",
            qr_base: "/pad/p/x",
            retention: None,
            creator_secret: None,
        };
        assert!(editor(Kind::Pad, Lang::En, &assets, "n", &shell).contains("data-base=\"/pad\""));
    }
}
