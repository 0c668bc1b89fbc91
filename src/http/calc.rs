//! Calc pages: `/c/{name}` opens (creating if allowed) a calc, `/c/{name}/qr.svg` its share
//! code; the read-only page of a calc (`/r/{token}`) is answered from here too. A pad asked for
//! under `/c/` is redirected to `/p/` and the reverse (both in `pad::editor_page`): the kind is
//! fixed when the document is created.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::doc::meta::Kind;
use crate::doc::name::DocName;
use crate::doc::random::random_hex;
use crate::http::extract::RequestLang;
use crate::http::pages::{self, Lang, PadShell};
use crate::http::respond::html;
use crate::http::{assets, base_path, pad, AppState};

/// Where a document of `kind` named `name` is edited.
pub(crate) fn editor_path(kind: Kind, name: &DocName, lang: Lang) -> String {
    let prefix = match kind {
        Kind::Pad => "p",
        Kind::Calc => "c",
    };
    base_path::url(&format!("/{prefix}/{name}?lang={}", lang.code()))
}

/// The calc shell: like the pad's, plus `'wasm-unsafe-eval'` so the browser may compile the
/// IronCalc engine (a `.wasm` served from our own assets; no other script source is allowed).
pub(crate) fn calc_response(lang: Lang, shell: &PadShell<'_>) -> Response {
    let nonce = random_hex();
    let csp = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
         style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; connect-src 'self'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    html(
        StatusCode::OK,
        pages::editor(Kind::Calc, lang, assets::urls(), &nonce, shell),
        csp,
    )
}

/// The read-only calc page of link `token`.
pub(crate) fn read_only_response(lang: Lang, token: &str) -> Response {
    let base = base_path::url(&format!("/r/{token}"));
    let room = format!("r/{token}");
    let export_base = format!("{base}/export/");
    let shell = PadShell {
        name: None,
        room: &room,
        read_only_path: None,
        export_base: &export_base,
        qr_base: &base,
        retention: None,
        creator_secret: None,
    };
    calc_response(lang, &shell)
}

pub(crate) async fn calc_page(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(raw): Path<String>,
) -> Response {
    pad::editor_page(&state, lang, &raw, Kind::Calc).await
}

pub(crate) async fn calc_qr(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    pad::doc_qr(&state, &headers, &raw, "c")
}
