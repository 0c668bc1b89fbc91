//! The pages of a document of either kind: the editor (`/p/{name}` and `/c/{name}` open it,
//! creating it when creation is open, and send a document asked for under the other prefix to
//! the editor of its kind, fixed at creation), the read-only page `/r/{token}` (where the
//! read-only token is resolved: [`resolve`]), and their QR codes. A calc's shell differs from a
//! pad's only by `'wasm-unsafe-eval'` in its CSP.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use crate::doc::meta::{DocMeta, Kind, ReadToken};
use crate::doc::name::DocName;
use crate::doc::random::random_hex;
use crate::doc::secret::CreatorSecret;
use crate::http::extract::RequestLang;
use crate::http::pages::{self, Lang, PadShell, Retention};
use crate::http::respond::html;
use crate::http::{assets, base_path, delete, qr, AppError, AppState};
use crate::service::creation;

/// Where a document of `kind` named `name` is edited.
pub(crate) fn editor_path(kind: Kind, name: &DocName, lang: Lang) -> String {
    let prefix = match kind {
        Kind::Pad => "p",
        Kind::Calc => "c",
    };
    base_path::url(&format!("/{prefix}/{name}?lang={}", lang.code()))
}

/// The editor shell of a document of `kind`, with its own CSP: a calc's adds
/// `'wasm-unsafe-eval'` so the browser may compile the IronCalc engine (a `.wasm` served from our
/// own assets; no other script source is allowed).
fn shell_response(kind: Kind, lang: Lang, shell: &PadShell<'_>) -> Response {
    let nonce = random_hex();
    let wasm = match kind {
        Kind::Pad => "",
        Kind::Calc => " 'wasm-unsafe-eval'",
    };
    let csp = format!(
        "default-src 'self'; script-src 'self'{wasm}; style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    );
    html(
        StatusCode::OK,
        pages::editor(kind, lang, assets::urls(), &nonce, shell),
        csp,
    )
}

/// The read-only page of link `token` for a document of `kind`: a shell that names no document.
fn read_only_shell(kind: Kind, lang: Lang, token: &ReadToken) -> Response {
    let base = base_path::url(&format!("/r/{}", token.as_str()));
    let room = format!("r/{}", token.as_str());
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
    shell_response(kind, lang, &shell)
}

/// Opens document `raw`, creating it as a `kind` if it does not exist (and creation is open);
/// with the creator secret if this request created it.
pub(crate) async fn open_doc(
    state: &AppState,
    raw: &str,
    kind: Kind,
) -> Result<(DocName, DocMeta, Option<CreatorSecret>), AppError> {
    let name = DocName::parse(raw)?;
    let secret = CreatorSecret::generate();
    // Made by visiting its link: kept only once someone types (`creation`'s rule).
    let new = creation::visited(kind, state.config.retention_default, Some(secret.hash()));
    let meta = state.open_or_create(&name, new).await?;
    let secret = delete::created_by(&meta, &secret).then_some(secret);
    Ok((name, meta, secret))
}

/// The document a read-only link designates.
pub(crate) async fn resolve(state: &AppState, raw: &str) -> Result<(ReadToken, DocName), AppError> {
    let token = ReadToken::parse(raw).map_err(|_| AppError::NotFound)?;
    let name = state
        .hub
        .resolve_token(&token)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((token, name))
}

/// The editor of document `raw` (created as a `kind` if it does not exist and creation is
/// open), or a redirect to the editor of the kind it was created as.
pub(crate) async fn editor_page(state: &AppState, lang: Lang, raw: &str, kind: Kind) -> Response {
    match open_doc(state, raw, kind).await {
        Ok((name, meta, _)) if meta.kind != kind => {
            Redirect::to(&editor_path(meta.kind, &name, lang)).into_response()
        }
        Ok((name, meta, secret)) => {
            let prefix = match kind {
                Kind::Pad => "p",
                Kind::Calc => "c",
            };
            let read_only_path = base_path::url(&format!("/r/{}", meta.read_token.as_str()));
            let export_base = base_path::url(&format!("/{prefix}/{name}/export/"));
            let qr_base = base_path::url(&format!("/{prefix}/{name}"));
            let shell = PadShell {
                name: Some(name.as_str()),
                room: name.as_str(),
                read_only_path: Some(&read_only_path),
                export_base: &export_base,
                qr_base: &qr_base,
                retention: Some(Retention {
                    lifetime: meta.lifetime,
                    expires_at: meta.expires_at(),
                }),
                creator_secret: secret.as_ref().map(CreatorSecret::as_str),
            };
            shell_response(kind, lang, &shell)
        }
        Err(e) => state.fail(lang, e),
    }
}

pub(crate) async fn read_only_page(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(raw): Path<String>,
) -> Response {
    match resolve(&state, &raw).await {
        Ok((token, name)) => match state.hub.open(&name, None).await {
            Ok(meta) => read_only_shell(meta.map_or(Kind::Pad, |m| m.kind), lang, &token),
            Err(e) => AppError::from(e).page(lang),
        },
        Err(e) => e.page(lang),
    }
}

fn svg_response(text: &str) -> Response {
    match qr::svg(text) {
        Some(svg) => {
            let mut r = svg.into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            );
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=3600"),
            );
            r
        }
        None => AppError::NotFound.into_response(),
    }
}

/// The QR code of the editable link `/{prefix}/{raw}` (`p` for pads, `c` for calcs).
pub(crate) fn doc_qr(state: &AppState, headers: &HeaderMap, raw: &str, prefix: &str) -> Response {
    match DocName::parse(raw) {
        Ok(name) => svg_response(&format!(
            "{}/{prefix}/{name}",
            base_path::public_base(&state.config, headers)
        )),
        Err(e) => AppError::from(e).into_response(),
    }
}

pub(crate) async fn read_only_qr(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    match resolve(&state, &raw).await {
        Ok((token, _)) => svg_response(&format!(
            "{}/r/{}",
            base_path::public_base(&state.config, &headers),
            token.as_str()
        )),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csp(kind: Kind) -> String {
        let token = ReadToken::generate();
        let response = read_only_shell(kind, Lang::En, &token);
        response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ascii")
            .to_owned()
    }

    #[test]
    fn only_a_calc_may_compile_webassembly() {
        let pad = csp(Kind::Pad);
        assert!(pad.starts_with("default-src 'self'; script-src 'self'; style-src 'self' 'nonce-"));
        let calc = csp(Kind::Calc);
        assert!(calc.starts_with(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'nonce-"
        ));
        for policy in [pad, calc] {
            assert!(policy.ends_with(
                "; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
                 form-action 'self'; frame-ancestors 'none'"
            ));
        }
    }
}
