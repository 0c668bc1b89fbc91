//! The admin page's shell; its script fills it from the admin JSON API.

use super::lang::Lang;
use super::layout::{head, lang_switch, AssetUrls};
use super::strings::admin_strings;
use crate::convert::escape::html as escape;

/// The admin page: a token form, then (filled by its script from the JSON API) the state, the
/// creation override, the notice to open pads and the document search. It holds no data itself.
pub fn admin(lang: Lang, assets: &AssetUrls) -> String {
    let a = admin_strings(lang);
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
        ("node", a.node),
        ("address", a.address),
        ("rooms-col", a.rooms_col),
        ("creation-col", a.creation_col),
        ("load-col", a.load_col),
        ("last-seen", a.last_seen),
        ("this-node", a.this_node),
        ("not-answering", a.not_answering),
        ("this-server", a.this_server),
        ("nodes-unread", a.nodes_unread),
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
         <section>\n<h2 id=\"nodes-title\">{nodes}</h2>\n\
         <p id=\"nodes-unread\" class=\"notice\" hidden>{nodes_unread}</p>\n\
         <div class=\"table-scroll\">\n<table id=\"nodes\" aria-labelledby=\"nodes-title\">\n\
         <thead><tr><th scope=\"col\">{node}</th><th scope=\"col\">{address}</th>\
         <th scope=\"col\">{rooms_col}</th><th scope=\"col\">{connections}</th>\
         <th scope=\"col\">{creation_col}</th><th scope=\"col\">{load_col}</th>\
         <th scope=\"col\">{last_seen}</th></tr></thead>\n<tbody></tbody>\n</table>\n</div>\n</section>\n\
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
        nodes = a.nodes,
        nodes_unread = escape(a.nodes_unread),
        node = a.node,
        address = a.address,
        rooms_col = a.rooms_col,
        creation_col = a.creation_col,
        load_col = a.load_col,
        last_seen = a.last_seen,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::pages::testutil::assets;

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
