//! The privacy page: retention, what is stored and where, logs, contact; from the configuration.

use std::fmt::Write;

use super::expiry::lifetime_label;
use super::lang::Lang;
use super::layout::{head, lang_switch, link, AssetUrls};
use super::strings::retention_text;
use crate::convert::escape::html as escape;
use crate::doc::lifetime::Lifetime;

/// What the privacy page says, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct PrivacyFacts<'a> {
    /// Lifetimes offered at creation.
    pub choices: &'a [Lifetime],
    /// The lifetime of a document created without a choice.
    pub default: Lifetime,
    /// Whether expired pads are archived before erasure.
    pub archives: bool,
    /// How to reach the operator.
    pub contact: Option<&'a str>,
}

/// The privacy page: retention, what is stored, where, logs, contact.
pub fn privacy(lang: Lang, assets: &AssetUrls, facts: &PrivacyFacts<'_>) -> String {
    let t = retention_text(lang);
    let mut body = String::new();
    let section = |out: &mut String, title: &str, paragraphs: &[String]| {
        let _ = write!(out, "<section>\n<h2>{}</h2>\n", escape(title));
        for p in paragraphs {
            let _ = writeln!(out, "<p>{p}</p>");
        }
        out.push_str("</section>\n");
    };
    let choices: Vec<String> = facts
        .choices
        .iter()
        .map(|l| escape(&lifetime_label(lang, *l)))
        .collect();
    let mut keep = vec![
        escape(
            &t.keep_text
                .replace("{default}", &lifetime_label(lang, facts.default)),
        ),
        format!("{} {}.", escape(t.keep_choices), choices.join(", ")),
    ];
    if facts.choices.contains(&Lifetime::Forever) {
        keep.push(escape(t.keep_forever));
    }
    keep.push(escape(t.keep_erased));
    if facts.archives {
        keep.push(escape(t.keep_archive));
    }
    section(&mut body, t.keep_title, &keep);
    section(
        &mut body,
        t.stored_title,
        &[escape(t.stored_text), escape(t.stored_meta)],
    );
    section(&mut body, t.browser_title, &[escape(t.browser_text)]);
    section(&mut body, t.logs_title, &[escape(t.logs_text)]);
    section(&mut body, t.third_title, &[escape(t.third_text)]);
    let contact = match facts.contact.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) if c.contains('@') && !c.contains(':') => {
            format!("<a href=\"mailto:{0}\">{0}</a>", escape(c))
        }
        Some(c) if c.starts_with("https://") || c.starts_with("http://") => {
            format!(
                "<a href=\"{0}\" rel=\"noopener noreferrer\">{0}</a>",
                escape(c)
            )
        }
        Some(c) => escape(c),
        None => escape(t.no_contact),
    };
    section(&mut body, t.contact_title, &[contact]);
    format!(
        "{head}<body class=\"privacy-page\">\n<header><h1>ardoise</h1>{switch}</header>\n<main>\n\
         <h2>{title}</h2>\n{body}<p><a href=\"{home}?lang={code}\">{back}</a></p>\n</main>\n</body>\n</html>\n",
        head = head(lang, t.privacy_title, assets, None),
        switch = lang_switch(lang, &format!("{}/privacy", assets.base)),
        home = link(assets, "/"),
        title = escape(t.privacy_title),
        code = lang.code(),
        back = lang.t().back_home,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::pages::testutil::assets;

    #[test]
    fn the_privacy_page_follows_the_configuration() {
        let choices = [Lifetime::After(86_400), Lifetime::Forever];
        let mut facts = PrivacyFacts {
            choices: &choices,
            default: Lifetime::After(86_400),
            archives: false,
            contact: Some("dpo@example.org"),
        };
        let en = privacy(Lang::En, &assets(), &facts);
        assert!(en.contains("Without a choice: 1 day."));
        assert!(en.contains("Offered: 1 day, until deleted."));
        assert!(en.contains("mailto:dpo@example.org"));
        assert!(!en.contains("saves a copy"));
        facts.archives = true;
        facts.contact = Some("<script>");
        let fr = privacy(Lang::Fr, &assets(), &facts);
        assert!(fr.contains("Vie privée") && fr.contains("garde pour son exploitant"));
        assert!(!fr.contains("<script>"));
    }
}
