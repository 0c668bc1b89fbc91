//! Calc pages: `/c/{name}` opens (creating if allowed) a calc, `/c/{name}/qr.svg` its share
//! code; the read-only page of a calc (`/r/{token}`) is answered from here too. A pad asked for
//! under `/c/` is redirected to `/p/`, and the reverse happens in `pad_page`: the kind is fixed
//! when the document is created.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::{AppState, RequestLang};
use crate::doc::meta::{random_hex, Kind};
use crate::doc::name::DocName;
use crate::http::pages::{self, Lang, PadShell};
use crate::http::{assets, base_path};

/// The calc routes, merged into `http::router`.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/c/{name}", get(calc_page))
        .route("/c/{name}/qr.svg", get(calc_qr))
}

/// Where a document of `kind` named `name` is edited.
pub(super) fn editor_path(kind: Kind, name: &DocName, lang: Lang) -> String {
    let prefix = match kind {
        Kind::Pad => "p",
        Kind::Calc => "c",
    };
    base_path::url(&format!("/{prefix}/{name}?lang={}", lang.code()))
}

/// The calc shell: like the pad's, plus `'wasm-unsafe-eval'` so the browser may compile the
/// IronCalc engine (a `.wasm` served from our own assets; no other script source is allowed).
pub(super) fn calc_response(lang: Lang, shell: &PadShell<'_>) -> Response {
    let nonce = random_hex();
    let csp = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
         style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; connect-src 'self'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    super::html(
        StatusCode::OK,
        pages::editor(Kind::Calc, lang, assets::urls(), &nonce, shell),
        csp,
    )
}

/// The read-only calc page of link `token`.
pub(super) fn read_only_response(lang: Lang, token: &str) -> Response {
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

async fn calc_page(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(raw): Path<String>,
) -> Response {
    super::editor_page(&state, lang, &raw, Kind::Calc).await
}

async fn calc_qr(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    super::doc_qr(&state, &headers, &raw, "c")
}
