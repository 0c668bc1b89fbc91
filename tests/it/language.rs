//! One language choice (issue 18): `?lang=`, then the `?lang=` every link, form and redirect the
//! server makes carries, then Accept-Language. Every page rendered in French holds no English
//! string of the UI catalogues (the server's `Strings` tables and the client's `i18n.js`).

use std::collections::HashMap;

use ardoise::http::pages::{catalogue, Lang};

use crate::server::TestServer;

/// A browser whose own preference is English: only the URL can make a page French.
const ENGLISH_BROWSER: [(&str, &str); 1] = [("Accept-Language", "en-GB,en;q=0.9")];
const FORM: [(&str, &str); 2] = [
    ("Content-Type", "application/x-www-form-urlencoded"),
    ("Accept-Language", "en-GB,en;q=0.9"),
];

/// Names that read the same in every language.
const BRANDS: [&str; 9] = [
    "ardoise",
    "calc",
    "pad",
    "Framacalc",
    "EtherCalc",
    "OpenDocument",
    "Markdown",
    "Excel",
    "JavaScript",
];

/// The parts of `template` around its `{placeholders}`.
fn fragments(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push(rest[..open].to_owned());
        rest = rest[open..]
            .find('}')
            .map_or("", |close| &rest[open + close + 1..]);
    }
    out.push(rest.to_owned());
    out
}

/// `key: 'value'` lines of the `lang` block of `web/src/common/i18n.js`.
fn client_strings(source: &str, lang: &str) -> HashMap<String, String> {
    let start = source
        .find(&format!("\n  {lang}: {{\n"))
        .expect("language block in i18n.js");
    let block = &source[start + 1..];
    let end = block.find("\n  }").expect("end of the block");
    block[..end]
        .lines()
        .filter_map(|line| {
            let (key, value) = line.trim().split_once(": '")?;
            let value = value.trim_end_matches(',').strip_suffix('\'')?;
            Some((key.trim_matches('\'').to_owned(), value.replace("\\'", "'")))
        })
        .collect()
}

/// English strings of both catalogues that differ from their French, split around their
/// placeholders; brand names and strings shorter than 4 characters left out.
fn english_strings() -> Vec<String> {
    let (en, fr) = (catalogue(Lang::En), catalogue(Lang::Fr));
    assert_eq!(en.len(), fr.len(), "both catalogues list the same fields");
    let mut english: Vec<String> = en
        .iter()
        .zip(&fr)
        .filter(|(e, f)| e != f)
        .map(|(e, _)| (*e).to_owned())
        .collect();
    let source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/web/src/common/i18n.js"
    ))
    .expect("i18n.js");
    let (client_en, client_fr) = (client_strings(&source, "en"), client_strings(&source, "fr"));
    assert!(client_en.len() > 100, "{} client strings", client_en.len());
    for (key, value) in client_en {
        if client_fr.get(&key) != Some(&value) {
            english.push(value);
        }
    }
    let mut out: Vec<String> = english
        .iter()
        .flat_map(|s| fragments(s))
        .map(|f| f.trim().to_owned())
        .filter(|f| f.chars().count() >= 4 && !BRANDS.contains(&f.as_str()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `&amp;`-style references of our escaping, decoded.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// What a person reads or hears of `html`: text between tags, and the attributes that are
/// words (titles, labels, placeholders, the `data-` words scripts show), one item each.
fn readable(html: &str) -> Vec<String> {
    const WORD_ATTRS: [&str; 5] = ["title", "aria-label", "placeholder", "alt", "content"];
    // `data-` attributes that hold identifiers, not words.
    const DATA_IDS: [&str; 14] = [
        "kind",
        "mode",
        "lang",
        "room",
        "base",
        "readonly",
        "export-base",
        "qr-base",
        "wasm",
        "name",
        "readonly-path",
        "creator",
        "lifetime",
        "expires-at",
    ];
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push(unescape(&rest[..open]));
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let tag = &rest[open + 1..open + close];
        for attr in tag.split('"').collect::<Vec<_>>().chunks(2) {
            let [name, value] = attr else { continue };
            let name = name
                .trim()
                .trim_end_matches('=')
                .rsplit(' ')
                .next()
                .unwrap_or("");
            let words = WORD_ATTRS.contains(&name)
                || name
                    .strip_prefix("data-")
                    .is_some_and(|d| !DATA_IDS.contains(&d));
            if words {
                out.push(unescape(value));
            }
        }
        rest = &rest[open + close + 1..];
    }
    out.push(unescape(rest));
    out
}

/// Whether `needle` occurs in `hay` as whole words (not inside a longer word: "Import" is
/// not found in "Importer").
fn has_words(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + needle.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Fails naming every English string of the UI catalogues that `html` shows.
pub fn assert_no_english(what: &str, html: &str) {
    assert!(html.contains("<html lang=\"fr\">"), "{what} is not French");
    let texts = readable(html);
    let found: Vec<String> = english_strings()
        .into_iter()
        .filter(|e| texts.iter().any(|t| has_words(t, e)))
        .collect();
    assert!(found.is_empty(), "{what} shows English: {found:?}");
}

/// The redirect of a response, asserting it is one.
fn location(r: &crate::server::HttpResponse) -> String {
    assert!(
        (300..400).contains(&r.status),
        "status {}: {}",
        r.status,
        r.body
    );
    r.header("location").expect("location").to_owned()
}

/// The value of `data-{attr}="…"` in a page.
fn data_attr(page: &str, attr: &str) -> String {
    let key = format!("data-{attr}=\"");
    let start = page.find(&key).expect("attribute") + key.len();
    page[start..].split('"').next().expect("value").to_owned()
}

/// The `action` of the first form whose action contains `path`.
fn form_action(page: &str, path: &str) -> String {
    page.match_indices("action=\"")
        .map(|(i, m)| page[i + m.len()..].split('"').next().unwrap_or(""))
        .find(|a| a.contains(path))
        .expect("form")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn french_from_the_home_page_holds_through_creation_and_every_page() {
    let server = TestServer::builder()
        .args(&["--admin-token", "0123456789abcdef0123456789abcdef"])
        .start()
        .await;
    let get = |path: String| {
        let server = &server;
        async move { server.request("GET", &path, &ENGLISH_BROWSER, "").await }
    };
    let home = get("/?lang=fr".into()).await;
    assert_no_english("home", &home.body);
    // "Créer le pad" and "Créer un calc" post where the home page's form says.
    let action = form_action(&home.body, "/new");
    assert_eq!(action, "/new?lang=fr");
    for (kind, name, prefix) in [("pad", "lecon", "/p/"), ("calc", "notes", "/c/")] {
        let r = server
            .request("POST", &action, &FORM, &format!("name={name}&kind={kind}"))
            .await;
        let to = location(&r);
        assert!(
            to.starts_with(&format!("{prefix}{name}?lang=fr")),
            "{kind} created at {to}"
        );
        let page = get(to.split('#').next().unwrap_or("").to_owned()).await;
        assert_eq!(page.status, 200);
        assert_no_english(kind, &page.body);
        assert!(
            page.body.contains("<time datetime=\""),
            "{kind}: expiry as a time"
        );
        let read_only = get(format!(
            "{}?lang=fr",
            data_attr(&page.body, "readonly-path")
        ))
        .await;
        assert_eq!(read_only.status, 200);
        assert_no_english(&format!("read-only {kind}"), &read_only.body);
    }
    // "Ouvrir" carries the language in a field of its (GET) form; the redirect keeps it.
    assert!(home
        .body
        .contains("<input type=\"hidden\" name=\"lang\" value=\"fr\">"));
    let open = get("/open?lang=fr&name=lecon".into()).await;
    assert_eq!(location(&open), "/p/lecon?lang=fr");
    // A pad opened under /c/ goes to its editor in the same language.
    assert_eq!(
        location(&get("/c/lecon?lang=fr".into()).await),
        "/p/lecon?lang=fr"
    );
    for (what, path, status) in [
        ("400", "/p/bad!name?lang=fr", 400),
        ("400 open", "/open?lang=fr&name=..", 400),
        ("404", "/nowhere?lang=fr", 404),
        ("404 export", "/p/lecon/export/pdf?lang=fr", 404),
        ("400 websocket", "/ws/lecon?lang=fr", 400),
        ("privacy", "/privacy?lang=fr", 200),
        ("admin", "/admin?lang=fr", 200),
    ] {
        let r = get(path.into()).await;
        assert_eq!(r.status, status, "{what}: {}", r.body);
        assert_no_english(what, &r.body);
    }
    let bad = get("/p/bad!name?lang=fr".into()).await;
    assert!(bad
        .body
        .contains("Le nom du document contient un caractère non autorisé."));
    // Every link back home keeps the language.
    assert!(bad.body.contains("href=\"/?lang=fr\""));
    // The English pages are English (the same requests without `?lang=fr`).
    let english = get("/p/bad!name".into()).await;
    assert!(english.body.contains("<html lang=\"en\">"));
    assert!(english.body.contains("not allowed"));
}

#[tokio::test]
async fn the_refusal_while_creation_is_closed_is_french_from_the_french_form() {
    let server = TestServer::builder()
        .args(&["--shedding-mode", "closed"])
        .start()
        .await;
    let home = server
        .request("GET", "/?lang=fr", &ENGLISH_BROWSER, "")
        .await;
    let action = form_action(&home.body, "/new");
    let r = server
        .request("POST", &action, &FORM, "name=sortie&kind=pad")
        .await;
    assert_eq!(r.status, 503);
    assert_no_english("503", &r.body);
    let r = server
        .request("GET", "/c/sortie?lang=fr", &ENGLISH_BROWSER, "")
        .await;
    assert_eq!(r.status, 503);
    assert_no_english("503 calc", &r.body);
}

#[tokio::test]
async fn a_bad_form_is_refused_in_french() {
    let server = TestServer::builder()
        .args(&["--retention-choices", "1d,7d", "--retention-default", "7d"])
        .start()
        .await;
    for body in ["name=x&lifetime=99d", "name=x&kind=spreadsheet"] {
        let r = server.request("POST", "/new?lang=fr", &FORM, body).await;
        assert_eq!(r.status, 400, "{body}");
        assert_no_english(body, &r.body);
    }
}

#[test]
fn the_check_finds_english() {
    assert!(has_words("Créer le pad. Open", "Open"));
    assert!(!has_words("Importer un tableur", "Import"));
    let page = "<html lang=\"fr\"><p title=\"Close the panel\">Bonjour</p></html>";
    let caught = std::panic::catch_unwind(|| assert_no_english("sample", page));
    assert!(caught.is_err(), "an English title is caught");
}
