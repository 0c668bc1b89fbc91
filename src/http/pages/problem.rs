//! Error pages: what went wrong (`ErrorKind`, `Problem`) said in the page's language.

use super::lang::Lang;
use super::layout::{head, link, AssetUrls};
use super::open;
use crate::convert::escape::html as escape;

/// What went wrong, for an error page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: the request is invalid; the detail says why.
    BadRequest,
    /// 400 about a document name; the page explains the allowed characters.
    BadName,
    /// 404.
    NotFound,
    /// 503.
    Unavailable,
}

/// An error page; `detail` is plain text (escaped here).
pub fn error(lang: Lang, assets: &AssetUrls, kind: ErrorKind, detail: &str) -> String {
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!("<p class=\"detail\">{}</p>\n", escape(detail))
    };
    error_page(lang, assets, kind, &detail)
}

/// What went wrong with a request, said with the page's catalogue: every kind the server knows
/// has its sentence in each language; a message made by another layer (`Other`, `TooLarge`)
/// exists only in English, so a French page says the French sentence and gives the English
/// text as a marked technical detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem<'a> {
    /// Nothing more to say than the title.
    None,
    /// The document name is empty.
    NameEmpty,
    /// The document name is past 100 characters.
    NameTooLong,
    /// The document name has a character outside `[A-Za-z0-9_.-]`.
    NameBadChar,
    /// The document name is only dots.
    NameOnlyDots,
    /// A plain request reached the WebSocket route.
    NotWebSocket,
    /// The export format is unknown; the known ones, comma-separated.
    UnknownFormat(&'a str),
    /// The server is shutting down.
    ShuttingDown,
    /// Storage is unavailable.
    Unavailable,
    /// An export failed or timed out.
    ExportFailed,
    /// A form could not be read.
    BadForm,
    /// A lifetime the server does not offer (as it was sent).
    BadLifetime(&'a str),
    /// A limit was passed; the text (English) says which.
    TooLarge(&'a str),
    /// Any other refusal; the text (English) says why.
    Other(&'a str),
}

/// An error page saying `problem` in `lang`.
pub fn problem_page(
    lang: Lang,
    assets: &AssetUrls,
    kind: ErrorKind,
    problem: Problem<'_>,
) -> String {
    let t = lang.t();
    let said = |text: &str| format!("<p class=\"detail\">{}</p>\n", escape(text));
    let foreign = |lead: &str, text: &str| match lang {
        Lang::En => said(text),
        Lang::Fr => format!(
            "{}<p class=\"detail\">{} <span lang=\"en\">{}</span></p>\n",
            said(lead),
            escape(t.detail_in_english),
            escape(text)
        ),
    };
    let detail = match problem {
        Problem::None => String::new(),
        Problem::NameEmpty => said(t.name_empty),
        Problem::NameTooLong => said(t.name_too_long),
        Problem::NameBadChar => said(t.name_bad_char),
        Problem::NameOnlyDots => said(t.name_only_dots),
        Problem::NotWebSocket => said(t.not_websocket),
        Problem::UnknownFormat(formats) => said(&t.unknown_format.replace("{formats}", formats)),
        Problem::ShuttingDown => said(t.shutting_down),
        Problem::Unavailable => said(t.unavailable_text),
        Problem::ExportFailed => said(t.export_failed),
        Problem::BadForm => said(t.bad_form),
        Problem::BadLifetime(value) => said(&t.bad_lifetime.replace("{value}", value)),
        Problem::TooLarge(text) => foreign(t.too_large, text),
        Problem::Other("") => said(t.other_problem),
        Problem::Other(text) => foreign(t.other_problem, text),
    };
    error_page(lang, assets, kind, &detail)
}

/// The frame of every error page around `detail` (HTML, already escaped).
fn error_page(lang: Lang, assets: &AssetUrls, kind: ErrorKind, detail: &str) -> String {
    let t = lang.t();
    let (title, text) = match kind {
        ErrorKind::BadRequest => (t.bad_request, String::new()),
        ErrorKind::BadName => (t.bad_request, escape(open::name_rule(lang))),
        ErrorKind::NotFound => (t.not_found, t.not_found_text.to_owned()),
        ErrorKind::Unavailable => (t.unavailable, String::new()),
    };
    let text = if text.is_empty() {
        String::new()
    } else {
        format!("<p>{text}</p>\n")
    };
    format!(
        "{head}<body class=\"error\">\n<header><h1>ardoise</h1></header>\n<main>\n<h2>{title}</h2>\n\
         {detail}{text}<p><a href=\"{home}?lang={code}\">{back}</a></p>\n</main>\n</body>\n</html>\n",
        head = head(lang, title, assets, None),
        home = link(assets, "/"),
        code = lang.code(),
        back = t.back_home,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::pages::testutil::assets;

    #[test]
    fn error_details_are_said_in_the_page_language() {
        let fr = problem_page(
            Lang::Fr,
            &assets(),
            ErrorKind::BadName,
            Problem::NameBadChar,
        );
        assert!(fr.contains("Le nom du document contient un caractère non autorisé."));
        assert!(!fr.contains("document name"));
        // Another layer's English message stays, marked as English, under a French sentence.
        let other = problem_page(
            Lang::Fr,
            &assets(),
            ErrorKind::BadRequest,
            Problem::Other("row 3 <x>"),
        );
        assert!(other.contains("La demande n&#39;a pas pu aboutir."));
        assert!(other.contains("<span lang=\"en\">row 3 &lt;x&gt;</span>"));
        let en = problem_page(
            Lang::En,
            &assets(),
            ErrorKind::BadRequest,
            Problem::Other("row 3"),
        );
        assert!(en.contains("<p class=\"detail\">row 3</p>") && !en.contains("<span lang"));
    }
}
