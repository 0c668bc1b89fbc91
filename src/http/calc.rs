//! Calc routes: `/c/{name}` opens (creating if allowed) a calc, `/c/{name}/qr.svg` its share
//! code. The pages themselves, and the read-only page of a calc, are `editor.rs`'s: a pad asked
//! for under `/c/` is redirected to `/p/` and the reverse, as the kind is fixed at creation.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use crate::doc::meta::Kind;
use crate::http::editor::{doc_qr, editor_page};
use crate::http::extract::RequestLang;
use crate::http::AppState;

pub(crate) async fn calc_page(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(raw): Path<String>,
) -> Response {
    editor_page(&state, lang, &raw, Kind::Calc).await
}

pub(crate) async fn calc_qr(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    doc_qr(&state, &headers, &raw, "c")
}
