//! The site's own pages: home (`/`) and its creation form (`POST /new`), "Open" (`/open`),
//! the partner-host redirect (`/elsewhere`), the privacy page generated from the configuration,
//! and the 404 page.

use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use crate::doc::lifetime::choose_lifetime;
use crate::doc::meta::{random_name, Kind};
use crate::doc::name::DocName;
use crate::doc::random::random_hex;
use crate::doc::secret::CreatorSecret;
use crate::http::extract::RequestLang;
use crate::http::pages::{self, Lang, PrivacyFacts};
use crate::http::respond::{html, CSP_STATIC};
use crate::http::{assets, delete, editor, AppError, AppState};
use crate::service::admission::pick_weighted;
use crate::service::creation;

/// `?name=` of the partner-host button (empty for a random name), `?kind=calc` for a calc.
#[derive(Debug, Deserialize)]
pub(crate) struct ElsewhereQuery {
    #[serde(default)]
    name: String,
    kind: Option<Kind>,
}

/// Sends the visitor to a partner host picked at random by weight, to create the pad there.
pub(crate) async fn elsewhere(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Query(query): Query<ElsewhereQuery>,
) -> Response {
    let name = match query.name.trim() {
        "" => random_name(),
        raw => match DocName::parse(raw) {
            Ok(name) => name.to_string(),
            Err(e) => return AppError::from(e).page(lang),
        },
    };
    let kind = query.kind.unwrap_or(Kind::Pad);
    // Only the hosts that make this kind (a calc needs a `calc_url`).
    let hosts: Vec<_> = state
        .config
        .trusted_hosts
        .iter()
        .filter(|h| h.url_for_kind(kind, "").is_some())
        .cloned()
        .collect();
    let r = u64::from_str_radix(&random_hex()[..16], 16).unwrap_or(0);
    match pick_weighted(&hosts, r).and_then(|host| host.url_for_kind(kind, &name)) {
        Some(url) => Redirect::to(&url).into_response(),
        None => AppError::NotFound.page(lang),
    }
}

pub(crate) async fn not_found(RequestLang(lang): RequestLang) -> Response {
    AppError::NotFound.page(lang)
}

pub(crate) async fn home(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
) -> Response {
    let config = &state.config;
    let creation = pages::Creation {
        open: state.admission.is_open(),
        hosts: &config.trusted_hosts,
    };
    let body = pages::home(
        lang,
        assets::urls(),
        &config.retention_choices,
        config.retention_default,
        creation,
    );
    html(StatusCode::OK, body, CSP_STATIC.into())
}

/// The home page's creation form.
#[derive(Debug, Deserialize)]
pub(crate) struct CreateForm {
    #[serde(default)]
    name: String,
    /// One of the offered lifetimes (`lifetime::choose_lifetime`); the default if absent.
    lifetime: Option<String>,
    /// `pad` (default) or `calc`.
    kind: Option<Kind>,
}

pub(crate) async fn create(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    form: Result<Form<CreateForm>, FormRejection>,
) -> Response {
    let result = async {
        let Form(form) = form.map_err(|_| AppError::BadForm)?;
        let lifetime = choose_lifetime(
            &state.config.retention_choices,
            state.config.retention_default,
            form.lifetime.as_deref(),
        )?;
        let raw = form.name.trim();
        let name = if raw.is_empty() {
            DocName::parse(&random_name())
        } else {
            DocName::parse(raw)
        }?;
        let secret = CreatorSecret::generate();
        let kind = form.kind.unwrap_or(Kind::Pad);
        let new = creation::asked(kind, lifetime, Some(secret.hash()));
        let meta = state.open_or_create(&name, new).await?;
        // The fragment never reaches a server or a log; the page moves the secret into the
        // browser's storage and removes it from the address bar.
        let fragment = if delete::created_by(&meta, &secret) {
            format!("#creator={}", secret.as_str())
        } else {
            String::new()
        };
        // An existing document keeps its kind: the redirect goes to its editor.
        let editor = editor::editor_path(meta.kind, &name, lang);
        Ok(Redirect::to(&format!("{editor}{fragment}")).into_response())
    }
    .await;
    result.unwrap_or_else(|e| state.fail(lang, e))
}

#[derive(Debug, Deserialize)]
pub(crate) struct OpenQuery {
    #[serde(default)]
    name: String,
}

/// "Open" on the home page: an existing document opens in its editor (by its kind); a missing
/// name gets a page offering to create it, with the near names that exist (asking creates
/// nothing); a bad name gets what a name may contain. Every answer keeps the language.
pub(crate) async fn open(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Query(query): Query<OpenQuery>,
) -> Response {
    let raw = query.name.trim();
    let name = match DocName::parse(raw) {
        Ok(name) => name,
        Err(_) => {
            // Shown back in the field to be corrected; no name is longer.
            let typed: String = raw.chars().take(crate::doc::name::MAX_NAME_LEN).collect();
            let page = pages::bad_name(lang, assets::urls(), &typed);
            return html(StatusCode::BAD_REQUEST, page, CSP_STATIC.into());
        }
    };
    match state.hub.meta(&name).await {
        Ok(Some(meta)) => {
            Redirect::to(&editor::editor_path(meta.kind, &name, lang)).into_response()
        }
        Ok(None) => {
            let near: Vec<(String, Kind)> = crate::service::creation::near_names(&state.hub, &name)
                .await
                .into_iter()
                .map(|(name, kind)| (name.to_string(), kind))
                .collect();
            let page = pages::open_missing(
                lang,
                assets::urls(),
                name.as_str(),
                &near,
                state.admission.is_open(),
            );
            html(StatusCode::NOT_FOUND, page, CSP_STATIC.into())
        }
        Err(e) => AppError::from(e).page(lang),
    }
}

/// The privacy page: what is kept and for how long, from the configuration.
pub(crate) async fn privacy(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
) -> Response {
    let config = &state.config;
    let facts = PrivacyFacts {
        choices: &config.retention_choices,
        default: config.retention_default,
        archives: config.retention_archive_dir.is_some(),
        contact: config.contact.as_deref(),
    };
    html(
        StatusCode::OK,
        pages::privacy(lang, assets::urls(), &facts),
        CSP_STATIC.into(),
    )
}

/// The 404 page for a request outside the base path.
pub(crate) fn outside_base_path(headers: &HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    AppError::NotFound.page(Lang::choose(None, accept))
}
