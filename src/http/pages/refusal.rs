//! The 503 page of a refused creation (new documents paused under load) and the partner hosts it
//! and the home page's banner offer.

use std::fmt::Write;

use super::lang::Lang;
use super::layout::{head, link, AssetUrls};
use super::open;
use crate::convert::escape::html as escape;
use crate::doc::meta::Kind;
use crate::service::admission::TrustedHost;

/// The partner hosts offered while creation is closed, as a list and a button that picks one
/// (server-side, by weight) for `name`. Only hosts that make documents of `kind` are listed (a
/// calc needs a host's `calc_url`); each links to `name` there, or to the host's home page when
/// there is no name (a link never ends in an empty name).
pub(super) fn hosts_section(
    lang: Lang,
    assets: &AssetUrls,
    name: Option<&str>,
    kind: Kind,
    hosts: &[TrustedHost],
) -> String {
    let offered: Vec<(&TrustedHost, String)> = hosts
        .iter()
        .filter_map(|host| {
            let url = host.url_for_kind(kind, name.unwrap_or(""))?;
            Some((host, if name.is_some() { url } else { host.home() }))
        })
        .collect();
    if offered.is_empty() {
        return String::new();
    }
    let t = lang.t();
    let mut out = format!(
        "<section class=\"hosts\">\n<h2>{}</h2>\n<ul>\n",
        t.closed_hosts
    );
    for (host, url) in offered {
        let _ = writeln!(
            out,
            "<li><a href=\"{}\" rel=\"noopener noreferrer\">{}</a></li>",
            escape(&url),
            escape(&host.name)
        );
    }
    let _ = writeln!(
        out,
        "</ul>\n<form method=\"get\" action=\"{}\">\n\
         <input type=\"hidden\" name=\"lang\" value=\"{}\">",
        link(assets, "/elsewhere"),
        lang.code()
    );
    if let Some(name) = name {
        let _ = writeln!(
            out,
            "<input type=\"hidden\" name=\"name\" value=\"{}\">",
            escape(name)
        );
    }
    if kind == Kind::Calc {
        out.push_str("<input type=\"hidden\" name=\"kind\" value=\"calc\">\n");
    }
    let button = match kind {
        Kind::Pad => t.closed_button,
        Kind::Calc => open::closed_calc(lang).button,
    };
    let _ = write!(
        out,
        "<button type=\"submit\">{button}</button>\n</form>\n</section>\n"
    );
    out
}

/// The page answered (503) when a document of `kind` would be created while creation is
/// closed: it names what is paused (pads or calcs) and offers partners making that kind.
pub fn creation_closed(
    lang: Lang,
    assets: &AssetUrls,
    name: Option<&str>,
    kind: Kind,
    hosts: &[TrustedHost],
) -> String {
    let t = lang.t();
    let (closed_title, closed_text) = match kind {
        Kind::Pad => (t.closed_title, t.closed_text),
        Kind::Calc => {
            let c = open::closed_calc(lang);
            (c.title, c.text)
        }
    };
    format!(
        "{head}<body class=\"error\">\n<header><h1>ardoise</h1></header>\n<main>\n<h2>{title}</h2>\n\
         <p>{text}</p>\n{hosts}<p><a href=\"{home}?lang={code}\">{back}</a></p>\n</main>\n</body>\n</html>\n",
        head = head(lang, closed_title, assets, None),
        title = closed_title,
        text = escape(closed_text),
        hosts = hosts_section(lang, assets, name, kind, hosts),
        home = link(assets, "/"),
        code = lang.code(),
        back = t.back_home,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::lifetime::Lifetime;
    use crate::http::pages::home::{home, Creation};
    use crate::http::pages::testutil::assets;

    #[test]
    fn closed_creation_offers_partner_hosts() {
        let hosts = [TrustedHost {
            name: "Partner <1>".into(),
            url: "https://pads.example/p/{name}".into(),
            weight: 1,
            calc_url: None,
        }];
        let page = creation_closed(Lang::En, &assets(), Some("maths"), Kind::Pad, &hosts);
        assert!(page.contains("Partner &lt;1&gt;"));
        assert!(page.contains("https://pads.example/p/maths"));
        assert!(page.contains("action=\"/elsewhere\"") && page.contains("value=\"maths\""));
        let home = home(
            Lang::Fr,
            &assets(),
            &[Lifetime::After(7 * 86_400)],
            Lifetime::After(7 * 86_400),
            Creation {
                open: false,
                hosts: &hosts,
            },
        );
        assert!(home.contains("class=\"banner\"") && home.contains("suspendue"));
    }
}
