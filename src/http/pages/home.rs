//! The home page: create a pad or a calc, open one by name, import a file as a pad or a calc.

use std::fmt::Write;

use super::expiry::lifetime_label;
use super::lang::Lang;
use super::layout::{head, lang_switch, link, AssetUrls};
use super::open;
use super::refusal::hosts_section;
use super::strings::{import_words, retention_text};
use crate::convert::escape::html as escape;
use crate::doc::lifetime::Lifetime;
use crate::doc::meta::Kind;
use crate::service::admission::TrustedHost;

/// Whether creation is open, and where to send people while it is not.
#[derive(Debug, Clone, Copy)]
pub struct Creation<'a> {
    /// New documents may be created.
    pub open: bool,
    /// Partner hosts offered while closed.
    pub hosts: &'a [TrustedHost],
}

/// The home page: create a pad (optional name, retention) or open one by name; says clearly
/// when creation is closed.
pub fn home(
    lang: Lang,
    assets: &AssetUrls,
    lifetimes: &[Lifetime],
    lifetime_default: Lifetime,
    creation: Creation<'_>,
) -> String {
    let t = lang.t();
    let banner = if creation.open {
        String::new()
    } else {
        format!(
            "<p class=\"banner\" role=\"status\">{}</p>\n{}",
            escape(t.closed_banner),
            hosts_section(lang, assets, None, Kind::Pad, creation.hosts)
        )
    };
    let mut options = String::new();
    for &lifetime in lifetimes {
        let selected = if lifetime == lifetime_default {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            options,
            "<option value=\"{lifetime}\"{selected}>{}</option>",
            lifetime_label(lang, lifetime)
        );
    }
    format!(
        "{head}<body class=\"home\">\n<header><h1>ardoise</h1>{switch}</header>\n<main>\n\
         <p class=\"tagline\">{tagline}</p>\n{banner}\
         <section>\n<h2>{create_title}</h2>\n\
         <form method=\"post\" action=\"{new}?lang={code}\">\n\
         <label for=\"new-name\">{name_label}</label>\n\
         <input id=\"new-name\" name=\"name\" maxlength=\"100\" pattern=\"(?!\\.+$)[A-Za-z0-9_.\\-]{{1,100}}\" \
         title=\"{name_title}\" autocomplete=\"off\" aria-describedby=\"name-hint\">\n\
         <p id=\"name-hint\" class=\"hint\">{name_hint} {names_rule}</p>\n\
         <label for=\"lifetime\">{keep_label}</label>\n\
         <select id=\"lifetime\" name=\"lifetime\">{options}</select>\n\
         <button type=\"submit\" name=\"kind\" value=\"pad\">{create_button}</button>\n\
         <button type=\"submit\" name=\"kind\" value=\"calc\">{create_calc_button}</button>\n\
         </form>\n</section>\n\
         <section>\n<h2>{open_title}</h2>\n\
         <form method=\"get\" action=\"{open}\">\n\
         <input type=\"hidden\" name=\"lang\" value=\"{code}\">\n\
         <label for=\"open-name\">{name}</label>\n\
         <input id=\"open-name\" name=\"name\" required maxlength=\"100\" \
         pattern=\"(?!\\.+$)[A-Za-z0-9_.\\-]{{1,100}}\" title=\"{name_title}\" autocomplete=\"off\">\n\
         <button type=\"submit\">{open_button}</button>\n</form>\n</section>\n\
         {import}<p class=\"privacy\">{privacy} <a href=\"{privacy_href}?lang={code}\">{privacy_link}</a></p>\n\
         </main>\n</body>\n</html>\n",
        head = head(lang, "ardoise", assets, None),
        switch = lang_switch(lang, &format!("{}/", assets.base)),
        new = link(assets, "/new"),
        open = link(assets, "/open"),
        privacy_href = link(assets, "/privacy"),
        tagline = t.tagline,
        banner = banner,
        create_title = t.create_title,
        code = lang.code(),
        name_label = t.name_label,
        name_hint = t.name_hint,
        names_rule = escape(t.names_rule),
        name_title = escape(open::name_rule(lang)),
        keep_label = t.keep_label,
        create_button = t.create_button,
        create_calc_button = t.create_calc_button,
        open_title = t.open_title,
        name = t.name_label.split(" (").next().unwrap_or(t.name_label),
        open_button = t.open_button,
        import = import_section(lang, assets),
        privacy = t.privacy,
        privacy_link = retention_text(lang).privacy_link,
    )
}

/// The files the home form's picker offers: every pad format, then the calc ones (with the
/// media types browsers know them by).
const IMPORT_ACCEPT: &str = ".txt,.md,.markdown,.html,.htm,.odt,.docx,.etherpad,\
                             .csv,.ods,.xlsx,.sc,text/plain,text/markdown,text/html,text/csv,\
                             text/x-socialcalc";

/// The home page's form that makes a pad from a text, Markdown, HTML, ODT, DOCX or Etherpad
/// file, or a calc from a CSV, ODS, XLSX or SocialCalc file (`POST /import`, by extension).
pub fn import_section(lang: Lang, assets: &AssetUrls) -> String {
    let [title, name, file, hint, button] = import_words(lang);
    format!(
        "<section>\n<h2>{title}</h2>\n\
         <form method=\"post\" action=\"{action}?lang={code}\" enctype=\"multipart/form-data\">\n\
         <label for=\"import-name\">{name}</label>\n\
         <input id=\"import-name\" name=\"name\" maxlength=\"100\" \
         pattern=\"(?!\\.+$)[A-Za-z0-9_.\\-]{{1,100}}\" title=\"{name_title}\" autocomplete=\"off\">\n\
         <label for=\"import-file\">{file}</label>\n\
         <input id=\"import-file\" name=\"file\" type=\"file\" required \
         aria-describedby=\"import-hint\" accept=\"{IMPORT_ACCEPT}\">\n\
         <p id=\"import-hint\" class=\"hint\">{hint}</p>\n\
         <button type=\"submit\">{button}</button>\n</form>\n</section>\n",
        action = link(assets, "/import"),
        code = lang.code(),
        name_title = escape(open::name_rule(lang)),
        hint = escape(hint),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::pages::testutil::assets;

    #[test]
    fn home_offers_the_configured_retention() {
        let open = Creation {
            open: true,
            hosts: &[],
        };
        let day = 86_400;
        let choices = [
            Lifetime::After(day),
            Lifetime::After(7 * day),
            Lifetime::After(30),
            Lifetime::Forever,
        ];
        let html = home(
            Lang::En,
            &assets(),
            &choices,
            Lifetime::After(7 * day),
            open,
        );
        assert!(!html.contains("banner"));
        assert!(html.contains("<option value=\"7d\" selected>7 days</option>"));
        assert!(html.contains("<option value=\"1d\">1 day</option>"));
        assert!(html.contains("<option value=\"30s\">30 seconds</option>"));
        assert!(html.contains("<option value=\"forever\">until deleted</option>"));
        assert!(
            html.contains("action=\"/new?lang=en\"") && html.contains("href=\"/privacy?lang=en\"")
        );
        assert!(html.contains("name=\"kind\" value=\"calc\""));
    }

    #[test]
    fn the_import_form_offers_every_pad_format() {
        use crate::convert::pad::import::ImportFormat;
        let html = import_section(Lang::Fr, &assets());
        for format in ImportFormat::ALL {
            let ext = format!(".{},", format.extension());
            assert!(IMPORT_ACCEPT.contains(&ext), "{ext}");
        }
        assert!(html.contains("accept=\".txt,") && html.contains(".xlsx,.sc,"));
        assert!(html.contains("aria-describedby=\"import-hint\""));
        assert!(html.contains("Un pad depuis un fichier texte"));
    }
}
