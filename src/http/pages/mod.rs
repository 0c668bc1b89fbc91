//! Server-rendered HTML: the home page, the shells of the pad and read-only pages (the editor
//! itself is the bundled client in `web/`), and error pages. Pure: strings in, strings out;
//! every interpolated value is escaped.

use std::fmt::Write;

use crate::convert::escape::html as escape;
use crate::doc::lifetime::{self, Lifetime, Unit};
use crate::doc::meta::Kind;
use crate::service::admission::TrustedHost;

mod open;
pub use open::{bad_name, name_rule, open_missing};

/// The interface language, chosen from `?lang=` or `Accept-Language`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// French.
    Fr,
}

impl Lang {
    /// Picks the language: an explicit `?lang=` wins, then the first of `fr`/`en` in
    /// `Accept-Language` by preference, then English.
    pub fn choose(query: Option<&str>, accept_language: Option<&str>) -> Self {
        match query {
            Some("fr") => return Lang::Fr,
            Some("en") => return Lang::En,
            _ => {}
        }
        let mut best: Option<(f32, Lang)> = None;
        for part in accept_language.unwrap_or("").split(',') {
            let mut fields = part.trim().split(';');
            let tag = fields.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = fields
                .find_map(|f| {
                    f.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("fr") => Lang::Fr,
                Some("en") => Lang::En,
                _ => continue,
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }

    /// The BCP 47 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    fn t(self) -> &'static Strings {
        match self {
            Lang::En => &EN,
            Lang::Fr => &FR,
        }
    }
}

struct Strings {
    tagline: &'static str,
    create_title: &'static str,
    name_label: &'static str,
    name_hint: &'static str,
    keep_label: &'static str,
    create_button: &'static str,
    create_calc_button: &'static str,
    read_only_calc_title: &'static str,
    open_title: &'static str,
    open_button: &'static str,
    privacy: &'static str,
    back_home: &'static str,
    bad_request: &'static str,
    not_found: &'static str,
    not_found_text: &'static str,
    unavailable: &'static str,
    names_rule: &'static str,
    read_only_title: &'static str,
    closed_title: &'static str,
    closed_text: &'static str,
    closed_hosts: &'static str,
    closed_button: &'static str,
    closed_banner: &'static str,
    other_lang: (&'static str, &'static str),
    // (B) language everywhere: every detail an error page gives, and the no-script notes.
    noscript_pad: &'static str,
    noscript_calc: &'static str,
    name_empty: &'static str,
    name_too_long: &'static str,
    name_bad_char: &'static str,
    name_only_dots: &'static str,
    not_websocket: &'static str,
    unknown_format: &'static str,
    shutting_down: &'static str,
    unavailable_text: &'static str,
    export_failed: &'static str,
    bad_form: &'static str,
    bad_lifetime: &'static str,
    too_large: &'static str,
    other_problem: &'static str,
    detail_in_english: &'static str,
}

const EN: Strings = Strings {
    tagline: "Write together, in real time. No account, no tracking.",
    create_title: "Create a pad or a calc",
    name_label: "Name (optional)",
    name_hint: "Leave empty for a random, unguessable name.",
    keep_label: "Keep it after the last edit for",
    create_button: "Create the pad",
    create_calc_button: "Create a calc (spreadsheet)",
    read_only_calc_title: "Read-only calc",
    open_title: "Open a pad",
    open_button: "Open",
    privacy: "Anyone with the link can edit. Pads are erased when their time is up.",
    back_home: "Back to the home page",
    bad_request: "Bad request",
    not_found: "Not found",
    not_found_text: "There is nothing at this address.",
    unavailable: "Temporarily unavailable",
    names_rule: "A name has 1 to 100 characters: letters A–Z and a–z, digits, '_', '.' and '-', \
                 and is not made of dots only.",
    read_only_title: "Read-only pad",
    closed_title: "New pads are paused",
    closed_text:
        "This server is very busy, so it is not creating new pads for now. Every existing \
                  pad still works. Try again in a few minutes.",
    closed_hosts: "Partner hosts",
    closed_button: "Create it on a partner host",
    closed_banner: "This server is very busy: new pads are paused, existing pads work normally.",
    other_lang: ("fr", "Français"),
    noscript_pad: "ardoise needs JavaScript to edit pads.",
    noscript_calc: "ardoise needs JavaScript to edit calcs.",
    name_empty: "The document name is empty.",
    name_too_long: "The document name is longer than 100 characters.",
    name_bad_char: "The document name contains a character that is not allowed.",
    name_only_dots: "The document name is made of dots only.",
    not_websocket: "This address is the editor's live connection (a WebSocket), not a page.",
    unknown_format: "This export format does not exist. The formats are: {formats}.",
    shutting_down: "The server is restarting. Try again in a minute.",
    unavailable_text: "This document cannot be reached right now. Try again in a minute.",
    export_failed: "The file could not be produced. Try again later.",
    bad_form: "The form sent was incomplete or malformed. Go back and try again.",
    bad_lifetime:
        "`{value}` is not one of the retention times this server offers. Choose one from the list.",
    too_large: "The document or file is past one of this server's limits.",
    other_problem: "The request could not be carried out.",
    detail_in_english: "Details:",
};

const FR: Strings = Strings {
    tagline: "Écrire à plusieurs, en temps réel. Sans compte, sans pistage.",
    create_title: "Créer un pad ou un calc",
    name_label: "Nom (facultatif)",
    name_hint: "Laissez vide pour un nom aléatoire, impossible à deviner.",
    keep_label: "Le conserver après la dernière modification pendant",
    create_button: "Créer le pad",
    create_calc_button: "Créer un calc (tableur)",
    read_only_calc_title: "Calc en lecture seule",
    open_title: "Ouvrir un pad",
    open_button: "Ouvrir",
    privacy: "Toute personne qui a le lien peut écrire. Les pads sont effacés à échéance.",
    back_home: "Retour à l'accueil",
    bad_request: "Requête invalide",
    not_found: "Page introuvable",
    not_found_text: "Il n'y a rien à cette adresse.",
    unavailable: "Temporairement indisponible",
    names_rule:
        "Un nom compte de 1 à 100 caractères : lettres A–Z et a–z, chiffres, « _ », « . » et « - », \
         et pas seulement des points.",
    read_only_title: "Pad en lecture seule",
    closed_title: "Création de pads suspendue",
    closed_text:
        "Ce serveur est très sollicité : il ne crée plus de nouveaux pads pour l'instant. \
                  Tous les pads existants fonctionnent. Réessayez dans quelques minutes.",
    closed_hosts: "Hébergeurs partenaires",
    closed_button: "Le créer chez un partenaire",
    closed_banner: "Ce serveur est très sollicité : la création de pads est suspendue, les pads \
                    existants fonctionnent normalement.",
    other_lang: ("en", "English"),
    noscript_pad: "ardoise a besoin de JavaScript pour modifier les pads.",
    noscript_calc: "ardoise a besoin de JavaScript pour modifier les tableurs.",
    name_empty: "Le nom du document est vide.",
    name_too_long: "Le nom du document dépasse 100 caractères.",
    name_bad_char: "Le nom du document contient un caractère non autorisé.",
    name_only_dots: "Le nom du document n'est fait que de points.",
    not_websocket: "Cette adresse est la connexion en direct de l'éditeur (un WebSocket), pas une page.",
    unknown_format: "Ce format d'export n'existe pas. Les formats sont : {formats}.",
    shutting_down: "Le serveur redémarre. Réessayez dans une minute.",
    unavailable_text: "Ce document est momentanément inaccessible. Réessayez dans une minute.",
    export_failed: "Le fichier n'a pas pu être produit. Réessayez plus tard.",
    bad_form: "Le formulaire envoyé est incomplet ou mal formé. Revenez en arrière et réessayez.",
    bad_lifetime: "« {value} » ne fait pas partie des durées de conservation de ce serveur. Choisissez-en une dans la liste.",
    too_large: "Le document ou le fichier dépasse l'une des limites de ce serveur.",
    other_problem: "La demande n'a pas pu aboutir.",
    detail_in_english: "Détail technique (en anglais)\u{a0}:",
};

/// Every sentence and word of the server's catalogue in `lang` (templates with their
/// `{placeholders}` left in), for tests that check a page holds none of the other language's.
/// A field added to a table without being listed here escapes those tests.
pub fn catalogue(lang: Lang) -> Vec<&'static str> {
    let t = lang.t();
    let r = retention_text(lang);
    let a = match lang {
        Lang::En => &ADMIN_EN,
        Lang::Fr => &ADMIN_FR,
    };
    let mut all = vec![
        t.tagline,
        t.create_title,
        t.name_label,
        t.name_hint,
        t.keep_label,
        t.create_button,
        t.create_calc_button,
        t.read_only_calc_title,
        t.open_title,
        t.open_button,
        t.privacy,
        t.back_home,
        t.bad_request,
        t.not_found,
        t.not_found_text,
        t.unavailable,
        t.names_rule,
        t.read_only_title,
        t.closed_title,
        t.closed_text,
        t.closed_hosts,
        t.closed_button,
        t.closed_banner,
        t.noscript_pad,
        t.noscript_calc,
        t.name_empty,
        t.name_too_long,
        t.name_bad_char,
        t.name_only_dots,
        t.not_websocket,
        t.unknown_format,
        t.shutting_down,
        t.unavailable_text,
        t.export_failed,
        t.bad_form,
        t.bad_lifetime,
        t.too_large,
        t.other_problem,
        t.detail_in_english,
        t.other_lang.1,
        a.title,
        a.token,
        a.sign_in,
        a.state,
        a.refresh,
        a.creation,
        a.auto,
        a.open,
        a.closed,
        a.notice,
        a.notice_hint,
        a.notice_set,
        a.notice_clear,
        a.documents,
        a.prefix,
        a.search,
        a.name,
        a.kind,
        a.size,
        a.last_edit,
        a.connections,
        a.more,
        a.bad_token,
        a.failed,
        a.delete,
        a.delete_prompt,
        a.is_open,
        a.is_closed,
        a.none,
        r.forever,
        r.privacy_link,
        r.expires,
        r.when,
        r.kept_forever,
        r.privacy_title,
        r.keep_title,
        r.keep_text,
        r.keep_choices,
        r.keep_forever,
        r.keep_erased,
        r.keep_archive,
        r.stored_title,
        r.stored_text,
        r.stored_meta,
        r.browser_title,
        r.browser_text,
        r.logs_title,
        r.logs_text,
        r.third_title,
        r.third_text,
        r.contact_title,
        r.no_contact,
    ];
    all.extend(r.units.iter().flat_map(|(one, many)| [*one, *many]));
    all.extend(r.months);
    all.extend(r.docs);
    all.extend(import_words(lang));
    all
}

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

fn head(lang: Lang, title: &str, assets: &AssetUrls, nonce: Option<&str>) -> String {
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

fn lang_switch(lang: Lang, path: &str) -> String {
    let (code, label) = lang.t().other_lang;
    format!(
        "<a class=\"lang\" href=\"{}?lang={code}\" hreflang=\"{code}\">{label}</a>",
        escape(path)
    )
}

/// `path` (starting with `/`) under the base path, escaped for an attribute.
fn link(assets: &AssetUrls, path: &str) -> String {
    escape(&format!("{}{path}", assets.base))
}

/// The partner hosts offered while creation is closed, as a list and a button that picks one
/// (server-side, by weight) for `name`. Only hosts that make documents of `kind` are listed (a
/// calc needs a host's `calc_url`); each links to `name` there, or to the host's home page when
/// there is no name (a link never ends in an empty name).
fn hosts_section(
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
        import = calc_import_section(lang, assets),
        privacy = t.privacy,
        privacy_link = retention_text(lang).privacy_link,
    )
}

/// Words of the admin page (issue 7); the script reads the ones it needs from `data-` attributes.
struct AdminStrings {
    title: &'static str,
    token: &'static str,
    sign_in: &'static str,
    state: &'static str,
    refresh: &'static str,
    creation: &'static str,
    auto: &'static str,
    open: &'static str,
    closed: &'static str,
    notice: &'static str,
    notice_hint: &'static str,
    notice_set: &'static str,
    notice_clear: &'static str,
    documents: &'static str,
    prefix: &'static str,
    search: &'static str,
    name: &'static str,
    kind: &'static str,
    size: &'static str,
    last_edit: &'static str,
    connections: &'static str,
    more: &'static str,
    // For the script.
    bad_token: &'static str,
    failed: &'static str,
    delete: &'static str,
    delete_prompt: &'static str,
    is_open: &'static str,
    is_closed: &'static str,
    none: &'static str,
    /// Names of the counters and signals the stats API reports, by their JSON key.
    stat_names: [(&'static str, &'static str); 7],
    signal: &'static str,
    value: &'static str,
    closes_at: &'static str,
    reopens_at: &'static str,
    kind_pad: &'static str,
    kind_calc: &'static str,
    /// Byte units: B, KiB, MiB.
    units: [&'static str; 3],
    delete_title: &'static str,
    delete_message: &'static str,
    cancel: &'static str,
    delete_confirm: &'static str,
}

const ADMIN_EN: AdminStrings = AdminStrings {
    title: "Administration",
    token: "Admin token",
    sign_in: "Sign in",
    state: "State",
    refresh: "Refresh",
    creation: "Creation of new documents",
    auto: "Automatic",
    open: "Force open",
    closed: "Force closed",
    notice: "Message to every open pad",
    notice_hint: "Shown as a banner on every pad, including pads opened later, until cleared.",
    notice_set: "Show",
    notice_clear: "Clear",
    documents: "Documents",
    prefix: "Name starts with",
    search: "Search",
    name: "Name",
    kind: "Kind",
    size: "Size",
    last_edit: "Last edit",
    connections: "Connections",
    more: "More",
    bad_token: "This token is not valid.",
    failed: "The request failed:",
    delete: "Delete",
    delete_prompt: "The people who have it open will see this message.",
    is_open: "open",
    is_closed: "closed",
    none: "none",
    stat_names: [
        ("connections", "Open connections"),
        ("rooms", "Documents open"),
        ("stored_documents", "Stored documents"),
        ("memory_mib", "Memory (MiB)"),
        ("loop_lag_ms", "Event-loop lag (ms)"),
        ("cpu_percent", "CPU (%)"),
        ("broadcast_delay_ms", "Broadcast delay (ms)"),
    ],
    signal: "Signal",
    value: "Value",
    closes_at: "Closes creation at",
    reopens_at: "Reopens below",
    kind_pad: "pad",
    kind_calc: "calc",
    units: ["B", "KiB", "MiB"],
    delete_title: "Delete “{name}” for good?",
    delete_message: "Message (optional)",
    cancel: "Cancel",
    delete_confirm: "Delete for good",
};

const ADMIN_FR: AdminStrings = AdminStrings {
    title: "Administration",
    token: "Jeton d'administration",
    sign_in: "Se connecter",
    state: "État",
    refresh: "Actualiser",
    creation: "Création de nouveaux documents",
    auto: "Automatique",
    open: "Forcer l'ouverture",
    closed: "Forcer la fermeture",
    notice: "Message à tous les pads ouverts",
    notice_hint:
        "Affiché en bandeau sur chaque pad, y compris ceux ouverts ensuite, jusqu'à effacement.",
    notice_set: "Afficher",
    notice_clear: "Effacer",
    documents: "Documents",
    prefix: "Le nom commence par",
    search: "Chercher",
    name: "Nom",
    kind: "Type",
    size: "Taille",
    last_edit: "Dernière modification",
    connections: "Connexions",
    more: "Suite",
    bad_token: "Ce jeton n'est pas valide.",
    failed: "La requête a échoué :",
    delete: "Supprimer",
    delete_prompt: "Les personnes qui l'ont ouvert verront ce message.",
    is_open: "ouverte",
    is_closed: "fermée",
    none: "aucun",
    stat_names: [
        ("connections", "Connexions ouvertes"),
        ("rooms", "Documents ouverts"),
        ("stored_documents", "Documents enregistrés"),
        ("memory_mib", "Mémoire (Mio)"),
        ("loop_lag_ms", "Retard de la boucle d'événements (ms)"),
        ("cpu_percent", "Processeur (%)"),
        ("broadcast_delay_ms", "Délai de diffusion (ms)"),
    ],
    signal: "Signal",
    value: "Valeur",
    closes_at: "Ferme la création à",
    reopens_at: "Rouvre sous",
    kind_pad: "pad",
    kind_calc: "tableur",
    units: ["o", "Kio", "Mio"],
    delete_title: "Supprimer définitivement « {name} » ?",
    delete_message: "Message (facultatif)",
    cancel: "Annuler",
    delete_confirm: "Supprimer définitivement",
};

/// The admin page: a token form, then (filled by its script from the JSON API) the state, the
/// creation override, the notice to open pads and the document search. It holds no data itself.
pub fn admin(lang: Lang, assets: &AssetUrls) -> String {
    let a = match lang {
        Lang::En => &ADMIN_EN,
        Lang::Fr => &ADMIN_FR,
    };
    let mut words: Vec<(String, &str)> = [
        ("bad-token", a.bad_token),
        ("failed", a.failed),
        ("delete", a.delete),
        ("is-open", a.is_open),
        ("is-closed", a.is_closed),
        ("none", a.none),
        ("auto", a.auto),
        ("open", a.open),
        ("closed", a.closed),
        ("kind-pad", a.kind_pad),
        ("kind-calc", a.kind_calc),
        ("unit-b", a.units[0]),
        ("unit-kib", a.units[1]),
        ("unit-mib", a.units[2]),
        ("delete-title", a.delete_title),
        ("name", a.name),
        ("kind", a.kind),
        ("size", a.size),
        ("last-edit", a.last_edit),
        ("connections-col", a.connections),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), *v))
    .collect();
    // dataset turns `stat-memory_mib` into `statMemory_mib`; the script asks for that key.
    words.extend(a.stat_names.iter().map(|(k, v)| (format!("stat-{k}"), *v)));
    let data = words
        .iter()
        .map(|(k, v)| format!(" data-{k}=\"{}\"", escape(v)))
        .collect::<String>();
    format!(
        "{head}<body class=\"home admin\">\n<header><h1>ardoise · {title}</h1>{switch}</header>\n\
         <main id=\"admin\" data-lang=\"{code}\" data-base=\"{base}\"{data}>\n\
         <section id=\"login-card\">\n<form id=\"login\">\n<label for=\"token\">{token}</label>\n\
         <input id=\"token\" type=\"password\" autocomplete=\"off\" required>\n\
         <button type=\"submit\">{sign_in}</button>\n\
         <p id=\"login-error\" class=\"notice\" role=\"alert\" hidden></p>\n</form>\n</section>\n\
         <div id=\"panel\" hidden>\n\
         <p id=\"error\" class=\"notice\" role=\"alert\" hidden></p>\n\
         <section>\n<h2>{state}</h2>\n<dl id=\"stats\"></dl>\n\
         <table id=\"signals\"><thead><tr><th scope=\"col\">{signal}</th><th scope=\"col\">{value}</th>\
         <th scope=\"col\">{closes_at}</th><th scope=\"col\">{reopens_at}</th></tr></thead><tbody></tbody></table>\n\
         <button type=\"button\" id=\"refresh\">{refresh}</button>\n</section>\n\
         <section>\n<h2>{creation}</h2>\n<p id=\"creation-state\" role=\"status\"></p>\n\
         <p class=\"modes\"><button type=\"button\" data-mode=\"auto\">{auto}</button> \
         <button type=\"button\" data-mode=\"open\">{open}</button> \
         <button type=\"button\" data-mode=\"closed\">{closed}</button></p>\n</section>\n\
         <section>\n<h2 id=\"notice-title\">{notice}</h2>\n<form id=\"notice-form\">\n\
         <textarea id=\"notice\" maxlength=\"500\" rows=\"3\" aria-labelledby=\"notice-title\" \
         aria-describedby=\"notice-hint\"></textarea>\n\
         <p id=\"notice-hint\" class=\"hint\">{notice_hint}</p>\n\
         <p class=\"actions\"><button type=\"submit\">{notice_set}</button> \
         <button type=\"button\" id=\"notice-clear\">{notice_clear}</button></p>\n</form>\n</section>\n\
         <section>\n<h2>{documents}</h2>\n<form id=\"search\">\n\
         <label for=\"prefix\">{prefix}</label>\n\
         <input id=\"prefix\" maxlength=\"100\" pattern=\"[A-Za-z0-9_.\\-]{{0,100}}\" autocomplete=\"off\">\n\
         <button type=\"submit\">{search}</button>\n</form>\n\
         <table id=\"docs\">\n<thead><tr><th scope=\"col\">{name}</th><th scope=\"col\">{kind}</th>\
         <th scope=\"col\">{size}</th><th scope=\"col\">{last_edit}</th><th scope=\"col\">{connections}</th>\
         <th scope=\"col\"><span class=\"visually-hidden\">{delete}</span></th></tr></thead>\n<tbody></tbody>\n</table>\n\
         <button type=\"button\" id=\"more\" hidden>{more}</button>\n</section>\n\
         </div>\n\
         <dialog id=\"delete-dialog\" class=\"dialog\" aria-labelledby=\"delete-title\">\n\
         <form id=\"delete-form\" method=\"dialog\">\n<h2 id=\"delete-title\"></h2>\n\
         <p id=\"delete-hint\">{delete_prompt}</p>\n\
         <label for=\"delete-message\">{delete_message}</label>\n\
         <textarea id=\"delete-message\" maxlength=\"500\" rows=\"2\" aria-describedby=\"delete-hint\"></textarea>\n\
         <div class=\"dialog-actions\"><button type=\"button\" id=\"delete-cancel\" class=\"btn\">{cancel}</button> \
         <button type=\"submit\" id=\"delete-confirm\" class=\"btn btn-danger\">{delete_confirm}</button></div>\n\
         </form>\n</dialog>\n\
         </main>\n<script src=\"{js}\" defer></script>\n</body>\n</html>\n",
        head = head(lang, &format!("{} · ardoise", a.title), assets, None),
        title = a.title,
        switch = lang_switch(lang, &format!("{}/admin", assets.base)),
        base = escape(&assets.base),
        code = lang.code(),
        token = a.token,
        sign_in = a.sign_in,
        state = a.state,
        signal = a.signal,
        value = a.value,
        closes_at = a.closes_at,
        reopens_at = a.reopens_at,
        refresh = a.refresh,
        creation = a.creation,
        auto = a.auto,
        open = a.open,
        closed = a.closed,
        notice = a.notice,
        notice_hint = escape(a.notice_hint),
        notice_set = a.notice_set,
        notice_clear = a.notice_clear,
        documents = a.documents,
        prefix = a.prefix,
        search = a.search,
        name = a.name,
        kind = a.kind,
        size = a.size,
        last_edit = a.last_edit,
        connections = a.connections,
        delete = a.delete,
        more = a.more,
        delete_prompt = escape(a.delete_prompt),
        delete_message = a.delete_message,
        cancel = a.cancel,
        delete_confirm = a.delete_confirm,
        js = escape(&assets.admin_js),
    )
}

/// The home page's form that makes a calc from a CSV, ODS, XLSX or SocialCalc file
/// (`POST /import`).
pub fn calc_import_section(lang: Lang, assets: &AssetUrls) -> String {
    let [title, name, file, button] = import_words(lang);
    format!(
        "<section>\n<h2>{title}</h2>\n\
         <form method=\"post\" action=\"{action}?lang={code}\" enctype=\"multipart/form-data\">\n\
         <label for=\"import-name\">{name}</label>\n\
         <input id=\"import-name\" name=\"name\" maxlength=\"100\" \
         pattern=\"(?!\\.+$)[A-Za-z0-9_.\\-]{{1,100}}\" title=\"{name_title}\" autocomplete=\"off\">\n\
         <label for=\"import-file\">{file}</label>\n\
         <input id=\"import-file\" name=\"file\" type=\"file\" required \
         accept=\".csv,.ods,.xlsx,.sc,text/csv,text/x-socialcalc\">\n\
         <button type=\"submit\">{button}</button>\n</form>\n</section>\n",
        action = link(assets, "/import"),
        code = lang.code(),
        name_title = escape(open::name_rule(lang)),
    )
}

/// The import form's title, name label, file label and button.
fn import_words(lang: Lang) -> [&'static str; 4] {
    match lang {
        Lang::Fr => [
            "Importer un tableur",
            "Nom (facultatif)",
            "Fichier CSV, ODS, XLSX ou EtherCalc (Framacalc)",
            "Importer",
        ],
        Lang::En => [
            "Import a spreadsheet",
            "Name (optional)",
            "CSV, ODS, XLSX or EtherCalc (Framacalc) file",
            "Import",
        ],
    }
}

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

/// A document's lifetime and when it ends if nobody edits it.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Chosen at creation.
    pub lifetime: Lifetime,
    /// Unix seconds; `None` for never.
    pub expires_at: Option<u64>,
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

// ---- Retention and privacy (issue 8) ----------------------------------------------------------

/// Strings of the retention notes and the privacy page.
struct RetentionText {
    units: [(&'static str, &'static str); 4],
    forever: &'static str,
    privacy_link: &'static str,
    months: [&'static str; 12],
    expires: &'static str,
    /// The moment in `expires`, `{when}`: `{date}` and `{time}`, in UTC.
    when: &'static str,
    kept_forever: &'static str,
    /// What a pad and a calc are called in the sentences above, `{doc}`.
    docs: [&'static str; 2],
    privacy_title: &'static str,
    keep_title: &'static str,
    keep_text: &'static str,
    keep_choices: &'static str,
    keep_forever: &'static str,
    keep_erased: &'static str,
    keep_archive: &'static str,
    stored_title: &'static str,
    stored_text: &'static str,
    stored_meta: &'static str,
    browser_title: &'static str,
    browser_text: &'static str,
    logs_title: &'static str,
    logs_text: &'static str,
    third_title: &'static str,
    third_text: &'static str,
    contact_title: &'static str,
    no_contact: &'static str,
}

const RETENTION_EN: RetentionText = RetentionText {
    units: [("second", "seconds"), ("minute", "minutes"), ("hour", "hours"), ("day", "days")],
    forever: "until deleted",
    privacy_link: "What is stored, and for how long.",
    months: [
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December",
    ],
    expires: "If nobody edits it, this {doc} will be erased on {when} ({lifetime} after the last edit).",
    when: "{date} at {time} UTC",
    kept_forever: "This {doc} is kept until someone deletes it.",
    docs: ["pad", "calc"],
    privacy_title: "Privacy",
    keep_title: "How long documents are kept",
    keep_text: "Each document is erased a set time after its last edit; whoever creates it picks that time. Without a choice: {default}.",
    keep_choices: "Offered:",
    keep_forever: "A document created “until deleted” is kept until someone deletes it.",
    keep_erased: "Erasure is complete: text, history, chat, read-only link and metadata.",
    keep_archive: "This server saves a copy of each expired pad (as a web page) for its operator before erasing it.",
    stored_title: "What is stored",
    stored_text: "The content of each document: its text and formatting, its chat, and the names and colours its authors chose. No account, no IP address, no cookie.",
    stored_meta: "About each document: its kind, when it was created and last edited, its lifetime, the secret of its read-only link, and a hash of its creator's secret.",
    browser_title: "In your browser",
    browser_text: "The page keeps in your browser's local storage, never in a cookie: the name and colour you chose, whether authors' colours are shown, and for each document you created, the secret that lets you delete it. Only that delete request ever sends the secret back.",
    logs_title: "Logs",
    logs_text: "The server logs events such as “document created”, “document deleted”, with the document's name. It never logs IP addresses or what documents contain.",
    third_title: "No third parties",
    third_text: "Pages load nothing from other sites, and their security policy forbids it.",
    contact_title: "Contact",
    no_contact: "The operator of this server has not published a contact.",
};

const RETENTION_FR: RetentionText = RetentionText {
    units: [("seconde", "secondes"), ("minute", "minutes"), ("heure", "heures"), ("jour", "jours")],
    forever: "jusqu'à suppression",
    privacy_link: "Ce qui est conservé, et combien de temps.",
    months: [
        "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
        "octobre", "novembre", "décembre",
    ],
    expires: "Sans modification, ce {doc} sera effacé le {when} ({lifetime} après la dernière modification).",
    when: "{date} à {time} UTC",
    kept_forever: "Ce {doc} est conservé jusqu'à ce que quelqu'un le supprime.",
    docs: ["pad", "tableur"],
    privacy_title: "Vie privée",
    keep_title: "Durée de conservation",
    keep_text: "Chaque document est effacé un certain temps après sa dernière modification ; la personne qui le crée choisit ce temps. Sans choix : {default}.",
    keep_choices: "Durées proposées :",
    keep_forever: "Un document créé « jusqu'à suppression » est conservé jusqu'à ce que quelqu'un le supprime.",
    keep_erased: "L'effacement est complet : texte, historique, discussion, lien de lecture et métadonnées.",
    keep_archive: "Ce serveur garde pour son exploitant une copie (page web) de chaque pad expiré avant de l'effacer.",
    stored_title: "Ce qui est conservé",
    stored_text: "Le contenu de chaque document : son texte et sa mise en forme, sa discussion, et les noms et couleurs choisis par ses auteurs. Pas de compte, pas d'adresse IP, pas de cookie.",
    stored_meta: "Pour chaque document : sa nature, ses dates de création et de dernière modification, sa durée de conservation, le secret de son lien de lecture et une empreinte du secret de sa créatrice ou de son créateur.",
    browser_title: "Dans votre navigateur",
    browser_text: "La page garde dans le stockage local de votre navigateur, jamais dans un cookie : le nom et la couleur choisis, l'affichage des couleurs des auteurs et, pour chaque document que vous avez créé, le secret qui permet de le supprimer. Seule la demande de suppression renvoie ce secret.",
    logs_title: "Journaux",
    logs_text: "Le serveur journalise des événements comme « document créé », « document supprimé », avec le nom du document. Il ne journalise jamais d'adresse IP ni le contenu des documents.",
    third_title: "Aucun tiers",
    third_text: "Les pages ne chargent rien depuis d'autres sites, et leur politique de sécurité l'interdit.",
    contact_title: "Contact",
    no_contact: "L'exploitant de ce serveur n'a pas publié de contact.",
};

fn retention_text(lang: Lang) -> &'static RetentionText {
    match lang {
        Lang::En => &RETENTION_EN,
        Lang::Fr => &RETENTION_FR,
    }
}

/// A lifetime in words: "1 day", "30 secondes", "until deleted".
pub fn lifetime_label(lang: Lang, lifetime: Lifetime) -> String {
    let t = retention_text(lang);
    match lifetime.amount() {
        None => t.forever.to_owned(),
        Some((n, unit)) => {
            let (one, many) = t.units[match unit {
                Unit::Second => 0,
                Unit::Minute => 1,
                Unit::Hour => 2,
                Unit::Day => 3,
            }];
            format!("{n} {}", if n == 1 { one } else { many })
        }
    }
}

/// When a document will be erased if nobody edits it, as a sentence (plain text).
pub fn expiry_note(lang: Lang, kind: Kind, retention: Retention) -> String {
    let (sentence, when) = expiry_parts(lang, kind, retention);
    match when {
        Some((utc_text, _)) => sentence.replace("{when}", &utc_text),
        None => sentence,
    }
}

/// [`expiry_note`] as HTML, the moment in a `<time datetime>` a client can reformat.
fn expiry_html(lang: Lang, kind: Kind, retention: Retention) -> String {
    let (sentence, when) = expiry_parts(lang, kind, retention);
    let Some((utc_text, at)) = when else {
        return escape(&sentence);
    };
    let (before, after) = sentence.split_once("{when}").unwrap_or((&sentence, ""));
    format!(
        "{}<time datetime=\"{}\">{}</time>{}",
        escape(before),
        iso_utc(at),
        escape(&utc_text),
        escape(after)
    )
}

/// The expiry sentence with `{when}` left in, and that moment in UTC words and Unix seconds
/// (`None` for a document kept until deleted).
fn expiry_parts(lang: Lang, kind: Kind, retention: Retention) -> (String, Option<(String, u64)>) {
    let t = retention_text(lang);
    let doc = t.docs[match kind {
        Kind::Pad => 0,
        Kind::Calc => 1,
    }];
    let Some(at) = retention.expires_at else {
        return (t.kept_forever.replace("{doc}", doc), None);
    };
    let (year, month, day, hour, minute) = lifetime::utc(at);
    let month = t.months[(month as usize).saturating_sub(1) % 12];
    let utc_text = t
        .when
        .replace("{date}", &format!("{day} {month} {year}"))
        .replace("{time}", &format!("{hour:02}:{minute:02}"));
    let sentence = t
        .expires
        .replace("{lifetime}", &lifetime_label(lang, retention.lifetime))
        .replace("{doc}", doc);
    (sentence, Some((utc_text, at)))
}

/// `unix` seconds as an ISO 8601 UTC timestamp (`2024-02-29T13:37:00Z`).
fn iso_utc(unix: u64) -> String {
    let (year, month, day, hour, minute) = lifetime::utc(unix);
    format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{:02}Z",
        unix % 60
    )
}

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

    fn assets() -> AssetUrls {
        AssetUrls {
            css: "/assets/app.css?v=1".into(),
            pad_js: "/assets/pad.js?v=1".into(),
            admin_js: "/assets/admin.js?v=1".into(),
            calc_js: "/assets/calc.js?v=1".into(),
            calc_wasm: "/assets/ironcalc.wasm?v=1".into(),
            icon: "/assets/favicon.svg?v=1".into(),
            base: String::new(),
        }
    }

    #[test]
    fn language_follows_query_then_preferences() {
        assert_eq!(Lang::choose(Some("fr"), Some("en")), Lang::Fr);
        assert_eq!(
            Lang::choose(None, Some("fr-FR,fr;q=0.9,en;q=0.8")),
            Lang::Fr
        );
        assert_eq!(Lang::choose(None, Some("de,en;q=0.5,fr;q=0.4")), Lang::En);
        assert_eq!(Lang::choose(None, Some("en;q=0.2, fr;q=0.9")), Lang::Fr);
        assert_eq!(Lang::choose(Some("xx"), None), Lang::En);
    }

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

    #[test]
    fn admin_page_holds_no_data_and_escapes_its_words() {
        let page = admin(Lang::Fr, &assets());
        assert!(page.contains("<html lang=\"fr\">"));
        assert!(page.contains("id=\"token\" type=\"password\""));
        assert!(page.contains("data-delete-title=\"Supprimer définitivement « {name} » ?\""));
        assert!(page.contains("l&#39;ont ouvert") || page.contains("l&#x27;ont ouvert"));
        assert!(
            page.contains("data-unit-kib=\"Kio\"")
                && page.contains("data-stat-stored_documents=\"Documents enregistrés\"")
        );
        assert_eq!(
            page.matches("Message à tous les pads ouverts").count(),
            1,
            "said once"
        );
        assert!(page.contains("src=\"/assets/admin.js?v=1\""));
        assert!(!page.contains("<script>"), "no inline script");
    }
}
