//! The pages of "Open a pad" (issue 18, E): a name that does not exist is said so and offered
//! for creation (through the home form's `/new`, so the shedding rule applies), with the near
//! names that do exist; a name that is not a name gets what a name may contain. Every link and
//! form keeps the page's language.

use std::fmt::Write;

use super::lang::Lang;
use super::layout::{head, link, AssetUrls};
use crate::convert::escape::html as escape;
use crate::doc::meta::Kind;

/// The words of these pages.
struct OpenStrings {
    /// `{name}` stands for the name asked for.
    missing_title: &'static str,
    create_question: &'static str,
    create_pad: &'static str,
    create_calc: &'static str,
    paused: &'static str,
    did_you_mean: &'static str,
    pad: &'static str,
    calc: &'static str,
    back_home: &'static str,
    bad_title: &'static str,
    name_rule: &'static str,
    open_label: &'static str,
    open_button: &'static str,
    other_lang: (&'static str, &'static str),
}

const EN: OpenStrings = OpenStrings {
    missing_title: "“{name}” does not exist",
    create_question: "Nobody has created a document with this name. Create it?",
    create_pad: "Create the pad",
    create_calc: "Create a calc (spreadsheet)",
    paused: "This server is very busy: new documents may be refused for a few minutes.",
    did_you_mean: "Did you mean:",
    pad: "pad",
    calc: "calc",
    back_home: "Back to the home page",
    bad_title: "This is not a document name",
    name_rule: "A name has 1 to 100 characters: letters without accents (A–Z, a–z), digits, \
                “_”, “.” and “-”, no spaces, and not only dots.",
    open_label: "Name",
    open_button: "Open",
    other_lang: ("fr", "Français"),
};

const FR: OpenStrings = OpenStrings {
    missing_title: "«\u{a0}{name}\u{a0}» n’existe pas",
    create_question: "Personne n’a créé de document de ce nom. Le créer\u{a0}?",
    create_pad: "Créer le pad",
    create_calc: "Créer un calc (tableur)",
    paused: "Ce serveur est très sollicité\u{a0}: la création peut être refusée pendant \
             quelques minutes.",
    did_you_mean: "Vous cherchiez peut-être\u{a0}:",
    pad: "pad",
    calc: "calc",
    back_home: "Retour à l’accueil",
    bad_title: "Ce n’est pas un nom de document",
    name_rule: "Un nom compte de 1 à 100 caractères\u{a0}: lettres sans accent (A–Z, a–z), \
                chiffres, «\u{a0}_\u{a0}», «\u{a0}.\u{a0}» et «\u{a0}-\u{a0}», sans espace, \
                et pas seulement des points.",
    open_label: "Nom",
    open_button: "Ouvrir",
    other_lang: ("en", "English"),
};

fn t(lang: Lang) -> &'static OpenStrings {
    match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
    }
}

/// The words of the refusal page of a calc while creation is closed.
pub(super) struct ClosedCalc {
    /// The page's title.
    pub title: &'static str,
    /// What happens, and what to do.
    pub text: &'static str,
    /// The button that sends the calc to a partner.
    pub button: &'static str,
}

const CLOSED_CALC_EN: ClosedCalc = ClosedCalc {
    title: "New calcs are paused",
    text: "This server is very busy, so it is not creating new calcs for now. Every existing \
           calc still works. Try again in a few minutes.",
    button: "Create it on a partner host",
};

const CLOSED_CALC_FR: ClosedCalc = ClosedCalc {
    title: "Création de tableurs suspendue",
    text: "Ce serveur est très sollicité\u{a0}: il ne crée plus de nouveaux tableurs pour \
           l’instant. Tous les tableurs existants fonctionnent. Réessayez dans quelques minutes.",
    button: "Le créer chez un partenaire",
};

/// The refusal words for a calc, in `lang`.
pub(super) fn closed_calc(lang: Lang) -> &'static ClosedCalc {
    match lang {
        Lang::En => &CLOSED_CALC_EN,
        Lang::Fr => &CLOSED_CALC_FR,
    }
}

/// What a document name may contain, in `lang`: the Open and create forms' `title` (shown by
/// the browser when the field does not match) and the 400 answered for a bad name.
pub fn name_rule(lang: Lang) -> &'static str {
    t(lang).name_rule
}

/// The page answered (404) when "Open" asks for `name` and no such document exists: a form
/// that creates it as a pad or a calc (`/new`, so the shedding rule applies), the existing
/// near names (`near`, with their kinds) and the way back. `creation_open` only adds a warning
/// that creation may be refused; the form is offered either way.
pub fn open_missing(
    lang: Lang,
    assets: &AssetUrls,
    name: &str,
    near: &[(String, Kind)],
    creation_open: bool,
) -> String {
    let s = t(lang);
    let code = lang.code();
    let title = s.missing_title.replace("{name}", name);
    let paused = if creation_open {
        String::new()
    } else {
        format!("<p class=\"banner\" role=\"status\">{}</p>\n", s.paused)
    };
    let mut suggestions = String::new();
    if !near.is_empty() {
        let _ = write!(
            suggestions,
            "<h3>{}</h3>\n<ul class=\"near-names\">\n",
            s.did_you_mean
        );
        for (other, kind) in near {
            let (prefix, word) = match kind {
                Kind::Pad => ("p", s.pad),
                Kind::Calc => ("c", s.calc),
            };
            let _ = writeln!(
                suggestions,
                "<li><a href=\"{}?lang={code}\">{}</a> ({word})</li>",
                link(assets, &format!("/{prefix}/{other}")),
                escape(other),
            );
        }
        suggestions.push_str("</ul>\n");
    }
    let (other_code, other_label) = s.other_lang;
    format!(
        "{head}<body class=\"home open-missing\">\n<header><h1>ardoise</h1>\
         <a class=\"lang\" href=\"{open}?name={name_q}&amp;lang={other_code}\" hreflang=\"{other_code}\">{other_label}</a>\
         </header>\n<main>\n<section>\n<h2>{title_html}</h2>\n{paused}<p>{question}</p>\n\
         <form method=\"post\" action=\"{new}?lang={code}\">\n\
         <input type=\"hidden\" name=\"name\" value=\"{name_attr}\">\n\
         <input type=\"hidden\" name=\"lang\" value=\"{code}\">\n\
         <button type=\"submit\" name=\"kind\" value=\"pad\">{create_pad}</button>\n\
         <button type=\"submit\" name=\"kind\" value=\"calc\">{create_calc}</button>\n\
         </form>\n{suggestions}</section>\n\
         <p><a href=\"{home}?lang={code}\">{back}</a></p>\n</main>\n</body>\n</html>\n",
        head = head(lang, &title, assets, None),
        open = link(assets, "/open"),
        name_q = escape(name),
        title_html = escape(&title),
        question = s.create_question,
        new = link(assets, "/new"),
        name_attr = escape(name),
        create_pad = s.create_pad,
        create_calc = s.create_calc,
        home = link(assets, "/"),
        back = s.back_home,
    )
}

/// The page answered (400) when "Open" gets something that is not a document name: what a
/// name may contain, and the Open form again with what was typed.
pub fn bad_name(lang: Lang, assets: &AssetUrls, typed: &str) -> String {
    let s = t(lang);
    let code = lang.code();
    format!(
        "{head}<body class=\"home open-missing\">\n<header><h1>ardoise</h1></header>\n<main>\n\
         <section>\n<h2>{title}</h2>\n<p id=\"name-rule\">{rule}</p>\n\
         <form method=\"get\" action=\"{open}\">\n\
         <input type=\"hidden\" name=\"lang\" value=\"{code}\">\n\
         <label for=\"open-name\">{label}</label>\n\
         <input id=\"open-name\" name=\"name\" required maxlength=\"100\" value=\"{typed}\" \
         {pattern} title=\"{rule}\" aria-describedby=\"name-rule\" autocomplete=\"off\">\n\
         <button type=\"submit\">{button}</button>\n</form>\n</section>\n\
         <p><a href=\"{home}?lang={code}\">{back}</a></p>\n</main>\n</body>\n</html>\n",
        head = head(lang, s.bad_title, assets, None),
        title = s.bad_title,
        rule = escape(s.name_rule),
        open = link(assets, "/open"),
        label = s.open_label,
        typed = escape(typed),
        pattern = NAME_PATTERN,
        button = s.open_button,
        home = link(assets, "/"),
        back = s.back_home,
    )
}

/// The `pattern` attribute of a name field, the browser's twin of `DocName::parse`.
const NAME_PATTERN: &str = "pattern=\"(?!\\.+$)[A-Za-z0-9_.\\-]{1,100}\"";

#[cfg(test)]
mod tests {
    use super::*;

    fn assets() -> AssetUrls {
        AssetUrls {
            css: "/assets/app.css".into(),
            pad_js: String::new(),
            admin_js: String::new(),
            calc_js: String::new(),
            calc_wasm: String::new(),
            icon: "/assets/icon.svg".into(),
            base: "/pad".into(),
        }
    }

    #[test]
    fn the_missing_page_keeps_the_language_and_escapes_the_name() {
        let near = [("a\"b".to_owned(), Kind::Calc)];
        let page = open_missing(Lang::Fr, &assets(), "x<y", &near, false);
        assert!(page.contains("«\u{a0}x&lt;y\u{a0}» n’existe pas"), "{page}");
        assert!(page.contains("action=\"/pad/new?lang=fr\""));
        assert!(page.contains("href=\"/pad/c/a&quot;b?lang=fr\""));
        assert!(page.contains("href=\"/pad/?lang=fr\""));
        assert!(page.contains("href=\"/pad/open?name=x&lt;y&amp;lang=en\""));
        assert!(page.contains("role=\"status\""));
        assert!(!page.contains("x<y"));
        let en = open_missing(Lang::En, &assets(), "x", &[], true);
        assert!(en.contains("“x” does not exist") && !en.contains("near-names"));
    }

    #[test]
    fn a_refused_calc_offers_partner_calcs_and_no_link_ends_in_an_empty_name() {
        use crate::doc::lifetime::Lifetime;
        use crate::service::admission::TrustedHost;
        let hosts = [
            TrustedHost {
                name: "Pads".into(),
                url: "https://pads.example/p/{name}".into(),
                weight: 1,
                calc_url: None,
            },
            TrustedHost {
                name: "Both".into(),
                url: "https://both.example/p/{name}?x=1".into(),
                weight: 1,
                calc_url: Some("https://both.example/c/{name}".into()),
            },
        ];
        let calc = crate::http::pages::creation_closed(
            Lang::Fr,
            &assets(),
            Some("budget"),
            Kind::Calc,
            &hosts,
        );
        assert!(calc.contains("Création de tableurs suspendue"), "{calc}");
        assert!(calc.contains("https://both.example/c/budget"));
        assert!(!calc.contains("pads.example") && !calc.contains("/p/budget"));
        assert!(calc.contains("name=\"kind\" value=\"calc\""));
        assert!(calc.contains("name=\"lang\" value=\"fr\""));
        let pad =
            crate::http::pages::creation_closed(Lang::En, &assets(), Some("n"), Kind::Pad, &hosts);
        assert!(pad.contains("New pads are paused"));
        assert!(pad.contains("https://pads.example/p/n") && !pad.contains("/c/n"));
        let week = Lifetime::After(7 * 86_400);
        let creation = crate::http::pages::Creation {
            open: false,
            hosts: &hosts,
        };
        let home = crate::http::pages::home(Lang::En, &assets(), &[week], week, creation);
        assert!(home.contains("href=\"https://pads.example/\""), "{home}");
        assert!(home.contains("href=\"https://both.example/\""));
        assert!(!home.contains("/p/\""));
    }

    #[test]
    fn the_bad_name_page_says_what_a_name_may_contain() {
        let page = bad_name(Lang::En, &assets(), "a b\"");
        assert!(page.contains("letters without accents"));
        assert!(page.contains("value=\"a b&quot;\""));
        assert!(page.contains("title=\"A name has"));
        assert!(bad_name(Lang::Fr, &assets(), "").contains("sans espace"));
    }
}
