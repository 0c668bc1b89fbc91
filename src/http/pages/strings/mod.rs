//! The server's words, one table per language (`en.rs`, `fr.rs`): the shared sentences, the admin
//! page's and the retention and privacy sentences; and the catalogue tests read to check that a
//! page in one language holds none of the other's. (The "Open a pad" pages keep their own small
//! table in `open.rs`.)

use super::lang::Lang;

mod en;
mod fr;

impl Lang {
    /// The shared sentences in this language.
    pub(super) fn t(self) -> &'static Strings {
        match self {
            Lang::En => &en::EN,
            Lang::Fr => &fr::FR,
        }
    }
}

/// The admin page's words in `lang`.
pub(super) fn admin_strings(lang: Lang) -> &'static AdminStrings {
    match lang {
        Lang::En => &en::ADMIN_EN,
        Lang::Fr => &fr::ADMIN_FR,
    }
}

/// The retention notes' and privacy page's words in `lang`.
pub(super) fn retention_text(lang: Lang) -> &'static RetentionText {
    match lang {
        Lang::En => &en::RETENTION_EN,
        Lang::Fr => &fr::RETENTION_FR,
    }
}

/// The sentences every page shares.
pub(super) struct Strings {
    pub(super) tagline: &'static str,
    pub(super) create_title: &'static str,
    pub(super) name_label: &'static str,
    pub(super) name_hint: &'static str,
    pub(super) keep_label: &'static str,
    pub(super) create_button: &'static str,
    pub(super) create_calc_button: &'static str,
    pub(super) read_only_calc_title: &'static str,
    pub(super) open_title: &'static str,
    pub(super) open_button: &'static str,
    pub(super) privacy: &'static str,
    pub(super) back_home: &'static str,
    pub(super) bad_request: &'static str,
    pub(super) not_found: &'static str,
    pub(super) not_found_text: &'static str,
    pub(super) unavailable: &'static str,
    pub(super) names_rule: &'static str,
    pub(super) read_only_title: &'static str,
    pub(super) closed_title: &'static str,
    pub(super) closed_text: &'static str,
    pub(super) closed_hosts: &'static str,
    pub(super) closed_button: &'static str,
    pub(super) closed_banner: &'static str,
    pub(super) other_lang: (&'static str, &'static str),
    // (B) language everywhere: every detail an error page gives, and the no-script notes.
    pub(super) noscript_pad: &'static str,
    pub(super) noscript_calc: &'static str,
    pub(super) name_empty: &'static str,
    pub(super) name_too_long: &'static str,
    pub(super) name_bad_char: &'static str,
    pub(super) name_only_dots: &'static str,
    pub(super) not_websocket: &'static str,
    pub(super) unknown_format: &'static str,
    pub(super) shutting_down: &'static str,
    pub(super) unavailable_text: &'static str,
    pub(super) export_failed: &'static str,
    pub(super) bad_form: &'static str,
    pub(super) bad_lifetime: &'static str,
    pub(super) too_large: &'static str,
    pub(super) other_problem: &'static str,
    pub(super) detail_in_english: &'static str,
}

/// Words of the admin page (issue 7); the script reads the ones it needs from `data-` attributes.
pub(super) struct AdminStrings {
    pub(super) title: &'static str,
    pub(super) token: &'static str,
    pub(super) sign_in: &'static str,
    pub(super) state: &'static str,
    pub(super) refresh: &'static str,
    pub(super) creation: &'static str,
    pub(super) auto: &'static str,
    pub(super) open: &'static str,
    pub(super) closed: &'static str,
    pub(super) notice: &'static str,
    pub(super) notice_hint: &'static str,
    pub(super) notice_set: &'static str,
    pub(super) notice_clear: &'static str,
    pub(super) documents: &'static str,
    pub(super) prefix: &'static str,
    pub(super) search: &'static str,
    pub(super) name: &'static str,
    pub(super) kind: &'static str,
    pub(super) size: &'static str,
    pub(super) last_edit: &'static str,
    pub(super) connections: &'static str,
    pub(super) more: &'static str,
    // For the script.
    pub(super) bad_token: &'static str,
    pub(super) failed: &'static str,
    pub(super) delete: &'static str,
    pub(super) delete_prompt: &'static str,
    pub(super) is_open: &'static str,
    pub(super) is_closed: &'static str,
    pub(super) none: &'static str,
    /// Names of the counters and signals the stats API reports, by their JSON key.
    pub(super) stat_names: [(&'static str, &'static str); 7],
    pub(super) signal: &'static str,
    pub(super) value: &'static str,
    pub(super) closes_at: &'static str,
    pub(super) reopens_at: &'static str,
    pub(super) kind_pad: &'static str,
    pub(super) kind_calc: &'static str,
    /// Byte units: B, KiB, MiB.
    pub(super) units: [&'static str; 3],
    pub(super) delete_title: &'static str,
    pub(super) delete_message: &'static str,
    pub(super) cancel: &'static str,
    pub(super) delete_confirm: &'static str,
    /// The list of nodes: its heading and columns.
    pub(super) nodes: &'static str,
    pub(super) node: &'static str,
    pub(super) address: &'static str,
    pub(super) rooms_col: &'static str,
    pub(super) creation_col: &'static str,
    pub(super) load_col: &'static str,
    pub(super) last_seen: &'static str,
    /// Marks of a node's row: the one that answered, one that stopped reporting, a server
    /// without `--node-id`.
    pub(super) this_node: &'static str,
    pub(super) not_answering: &'static str,
    pub(super) this_server: &'static str,
    pub(super) nodes_unread: &'static str,
}

/// Strings of the retention notes and the privacy page.
pub(super) struct RetentionText {
    pub(super) units: [(&'static str, &'static str); 4],
    pub(super) forever: &'static str,
    pub(super) privacy_link: &'static str,
    pub(super) months: [&'static str; 12],
    pub(super) expires: &'static str,
    /// The moment in `expires`, `{when}`: `{date}` and `{time}`, in UTC.
    pub(super) when: &'static str,
    pub(super) kept_forever: &'static str,
    /// What a pad and a calc are called in the sentences above, `{doc}`.
    pub(super) docs: [&'static str; 2],
    pub(super) privacy_title: &'static str,
    pub(super) keep_title: &'static str,
    pub(super) keep_text: &'static str,
    pub(super) keep_choices: &'static str,
    pub(super) keep_forever: &'static str,
    pub(super) keep_erased: &'static str,
    pub(super) keep_archive: &'static str,
    pub(super) stored_title: &'static str,
    pub(super) stored_text: &'static str,
    pub(super) stored_meta: &'static str,
    pub(super) browser_title: &'static str,
    pub(super) browser_text: &'static str,
    pub(super) logs_title: &'static str,
    pub(super) logs_text: &'static str,
    pub(super) third_title: &'static str,
    pub(super) third_text: &'static str,
    pub(super) contact_title: &'static str,
    pub(super) no_contact: &'static str,
}

/// Every sentence and word of the server's catalogue in `lang` (templates with their
/// `{placeholders}` left in), for tests that check a page holds none of the other language's.
/// A field added to a table without being listed here escapes those tests.
pub fn catalogue(lang: Lang) -> Vec<&'static str> {
    let t = lang.t();
    let r = retention_text(lang);
    let a = admin_strings(lang);
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
/// The import form's title, name label, file label, the hint saying which files make a pad
/// and which a calc, and its button.
pub(in crate::http::pages) fn import_words(lang: Lang) -> [&'static str; 5] {
    match lang {
        Lang::Fr => [
            "Importer un fichier",
            "Nom (facultatif)",
            "Fichier",
            "Un pad depuis un fichier texte, Markdown, HTML, ODT, DOCX ou Etherpad ; un tableur \
             depuis un fichier CSV, ODS, XLSX ou EtherCalc (Framacalc).",
            "Importer",
        ],
        Lang::En => [
            "Import a file",
            "Name (optional)",
            "File",
            "A pad from a text, Markdown, HTML, ODT, DOCX or Etherpad file; a calc from a CSV, \
             ODS, XLSX or EtherCalc (Framacalc) file.",
            "Import",
        ],
    }
}
