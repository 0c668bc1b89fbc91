//! The HTTP edge: routes, pages, the WebSocket upgrades, and the mapping of errors to
//! responses. Client-facing errors carry a clear message; internal ones are logged only.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::FormRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::convert::pad::{export_pad, ExportOptions, Language, PadFormat, UnknownFormat};
use crate::doc::lifetime::{choose_lifetime, LifetimeError};
use crate::doc::meta::{random_hex, random_name, DocMeta, Kind, NewDoc, ReadToken};
use crate::doc::name::{DocName, NameError};
use crate::doc::secret::CreatorSecret;
use crate::http::metrics::{Metrics, Refusal, Snapshot};
use crate::http::pages::{ErrorKind, Lang, PadShell, Problem, Retention};
use crate::http::ratelimit::IpLimits;
use crate::service::admission::{self, pick_weighted, AdmissionHandle};
use crate::sync::hub::{Hub, HubError};

pub mod accept;
pub mod admin;
pub mod api;
pub mod assets;
pub mod base_path;
mod calc;
pub mod delete;
pub mod ethercalc;
pub mod gate;
pub mod metrics;
pub mod middleware;
pub mod pages;
pub mod qr;
pub mod ratelimit;
pub mod site;
pub mod ws;

/// Largest body of the plain forms (home page, creator delete), in bytes.
const FORM_BODY_BYTES: usize = 64 * 1024;

/// Longest an export may take before the client is told to try again.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(30);

/// Policy of pages without the editor: nothing but our own files.
pub(crate) const CSP_STATIC: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// Live rooms.
    pub hub: Arc<Hub>,
    /// The server's configuration.
    pub config: Arc<Config>,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Tracks WebSocket connections so shutdown can wait for their close frames.
    pub connections: TaskTracker,
    /// Bounds how many exports run at once, so downloads cannot starve the editors.
    pub exports: Arc<Semaphore>,
    /// Whether new documents may be created.
    pub admission: AdmissionHandle,
    /// Counters and gauges for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Per-address budgets of requests and upgrades.
    pub limits: Arc<IpLimits>,
    /// Open TCP connections, counted by the accept loop.
    pub slots: Arc<crate::http::accept::Slots>,
    /// Bytes of request bodies held at once (`gate`).
    pub bodies: Arc<crate::http::gate::BodyBudget>,
}

impl AppState {
    /// The answer to a request that would create a document of `kind` while creation is
    /// closed: 503, `Retry-After`, and the partner hosts that make that kind.
    pub(crate) fn creation_closed(
        &self,
        lang: Lang,
        name: Option<&DocName>,
        kind: Kind,
    ) -> Response {
        self.metrics.refused(Refusal::CreationClosed);
        let body = pages::creation_closed(
            lang,
            assets::urls(),
            name.map(DocName::as_str),
            kind,
            &self.config.trusted_hosts,
        );
        let mut response = html(StatusCode::SERVICE_UNAVAILABLE, body, CSP_STATIC.into());
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECS),
        );
        response
    }

    /// The error page for `e`, with the partner hosts when creation was refused.
    pub(crate) fn fail(&self, lang: Lang, e: AppError) -> Response {
        match e {
            AppError::CreationClosed(name, kind) => self.creation_closed(lang, Some(&name), kind),
            other => other.page(lang),
        }
    }

    /// The metadata of `name`, creating it as `new` when it is missing and creation is open;
    /// `None` when creation refused it (then nothing was loaded or kept: `creation::open`).
    pub(crate) async fn open_or_create(
        &self,
        name: &DocName,
        new: NewDoc,
    ) -> Result<Option<DocMeta>, HubError> {
        crate::service::creation::open(&self.hub, &self.admission, name, new).await
    }
}

/// What `Retry-After` says while creation is closed: about the admission hold time's scale.
pub(crate) const RETRY_AFTER_SECS: &str = "60";

/// Errors answered to clients, as an error page in the client's language.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The document name in the request is invalid.
    #[error("invalid document name: {0}")]
    BadName(#[from] NameError),
    /// The request should have been a WebSocket upgrade.
    #[error("this endpoint expects a WebSocket upgrade (y-websocket protocol)")]
    NotWebSocket,
    /// A form or query was invalid; the text says what.
    #[error("{0}")]
    BadRequest(String),
    /// No such route, document or link.
    #[error("not found")]
    NotFound,
    /// The server is shutting down.
    #[error("server shutting down")]
    ShuttingDown,
    /// Storage failed (details are in the log).
    #[error("document unavailable, try again later")]
    Unavailable,
    /// The export format is unknown; the message lists the known ones.
    #[error(transparent)]
    UnknownFormat(#[from] UnknownFormat),
    /// Creating this document (of this kind) was refused because the server is shedding load.
    #[error("new documents are paused while the server is busy; existing ones work")]
    CreationClosed(DocName, Kind),
    /// The export did not finish in time or failed (details are in the log).
    #[error("the export could not be produced, try again later")]
    ExportFailed,
    /// The document is past a limit of the file work asked for; the text says which.
    #[error("{0}")]
    TooLarge(String),
    /// A form could not be read (missing or malformed fields).
    #[error("the form is incomplete or malformed")]
    BadForm,
    /// The lifetime asked for is not one the server offers.
    #[error(transparent)]
    BadLifetime(#[from] LifetimeError),
}

impl From<HubError> for AppError {
    fn from(e: HubError) -> Self {
        match e {
            HubError::ShuttingDown => AppError::ShuttingDown,
            HubError::Unavailable => AppError::Unavailable,
        }
    }
}

impl AppError {
    /// The error page in `lang`.
    pub fn page(self, lang: Lang) -> Response {
        let (status, kind) = match &self {
            AppError::BadName(_) => (StatusCode::BAD_REQUEST, ErrorKind::BadName),
            AppError::NotWebSocket
            | AppError::BadRequest(_)
            | AppError::BadForm
            | AppError::BadLifetime(_) => (StatusCode::BAD_REQUEST, ErrorKind::BadRequest),
            AppError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, ErrorKind::BadRequest),
            AppError::NotFound | AppError::UnknownFormat(_) => {
                (StatusCode::NOT_FOUND, ErrorKind::NotFound)
            }
            AppError::ShuttingDown
            | AppError::Unavailable
            | AppError::ExportFailed
            | AppError::CreationClosed(..) => {
                (StatusCode::SERVICE_UNAVAILABLE, ErrorKind::Unavailable)
            }
        };
        // Each kind is said with the page's catalogue, never with this type's English
        // `Display` (which the API and the log use).
        let formats = PadFormat::ALL.map(|f| f.extension()).join(", ");
        let problem = match &self {
            AppError::BadName(NameError::Empty) => Problem::NameEmpty,
            AppError::BadName(NameError::TooLong) => Problem::NameTooLong,
            AppError::BadName(NameError::BadChar) => Problem::NameBadChar,
            AppError::BadName(NameError::OnlyDots) => Problem::NameOnlyDots,
            AppError::NotWebSocket => Problem::NotWebSocket,
            AppError::BadRequest(text) => Problem::Other(text),
            AppError::NotFound => Problem::None,
            AppError::ShuttingDown => Problem::ShuttingDown,
            AppError::Unavailable | AppError::CreationClosed(..) => Problem::Unavailable,
            AppError::UnknownFormat(_) => Problem::UnknownFormat(&formats),
            AppError::ExportFailed => Problem::ExportFailed,
            AppError::TooLarge(text) => Problem::TooLarge(text),
            AppError::BadForm => Problem::BadForm,
            AppError::BadLifetime(
                LifetimeError::Syntax(value)
                | LifetimeError::Range(value)
                | LifetimeError::NotOffered(value),
            ) => Problem::BadLifetime(value),
        };
        let mut response = html(
            status,
            pages::problem_page(lang, assets::urls(), kind, problem),
            CSP_STATIC.into(),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        response
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.page(Lang::En)
    }
}

/// An HTML response with the headers every page carries.
pub(crate) fn html(status: StatusCode, body: String, csp: String) -> Response {
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Pages embed per-response nonces and share links: never cache them.
    private_document(h);
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

/// Headers of a response made for one person (a page, a download): never stored by caches,
/// and never reinterpreted as another content type.
fn private_document(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// The interface language of a request.
pub(crate) struct RequestLang(pub(crate) Lang);

impl<S: Send + Sync> FromRequestParts<S> for RequestLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts
            .uri
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")));
        let accept = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        Ok(RequestLang(Lang::choose(query, accept)))
    }
}

/// All routes of the server.
pub fn router(state: AppState) -> Router {
    let base = state.config.base_path.clone();
    base_path::init(&base);
    let app = Router::new()
        .route("/", get(home))
        .route("/new", post(create))
        .route("/open", get(open))
        .route("/p/{name}", get(pad_page))
        .route("/p/{name}/qr.svg", get(pad_qr))
        .route("/r/{token}", get(read_only_page))
        .route("/r/{token}/qr.svg", get(read_only_qr))
        .route("/p/{name}/export/{format}", get(pad_export))
        .route("/r/{token}/export/{format}", get(read_only_export))
        .route("/assets/{*path}", get(assets::serve))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/elsewhere", get(elsewhere))
        .route(
            "/favicon.ico",
            get(|| async { Redirect::permanent(&assets::urls().icon) }),
        )
        .route("/ws/{name}", get(websocket))
        .route("/ws/r/{token}", get(read_only_websocket))
        .nest(api::PREFIX, api::routes(&state.config))
        .merge(delete::routes())
        .merge(site::routes())
        .merge(admin::routes())
        .merge(calc::routes())
        .merge(crate::http::ethercalc::routes())
        .fallback(not_found)
        // Forms without a file (creating a document, a creator's delete): small. Routes with
        // larger bodies set their own limit (the API) or read them through `gate` (calc files).
        .layer(DefaultBodyLimit::max(FORM_BODY_BYTES))
        // Inside the CSP layer, so a 429 carries the policy too.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::limit,
        ))
        .layer(axum::middleware::map_response(site::default_csp));
    base_path::mount(app.with_state(state), &base, outside_base_path)
}

/// The 404 page for a request outside the base path.
fn outside_base_path(headers: &HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    AppError::NotFound.page(Lang::choose(None, accept))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.hub.storage_ready().await {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "storage unavailable").into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let now = Snapshot {
        connections: state.connections.len(),
        tcp_connections: state.slots.open(),
        rooms: state.hub.live_rooms(),
        stored_documents: state.hub.stored_documents(),
        rss_bytes: rss_bytes(),
        admission: state.admission.state(),
        storage: state.hub.storage_health(),
    };
    let mut response = state.metrics.render(&now).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// Resident memory in bytes, 0 when unknown.
fn rss_bytes() -> u64 {
    let mib = admission::probe::rss_mib();
    if mib.is_finite() {
        (mib * 1024.0 * 1024.0) as u64
    } else {
        0
    }
}

/// A page without the editor: 200, strict CSP, not cached.
pub(crate) fn static_page(body: String) -> Response {
    html(StatusCode::OK, body, CSP_STATIC.into())
}

/// `?name=` of the partner-host button (empty for a random name), `?kind=calc` for a calc.
#[derive(Debug, Deserialize)]
struct ElsewhereQuery {
    #[serde(default)]
    name: String,
    kind: Option<Kind>,
}

/// Sends the visitor to a partner host picked at random by weight, to create the pad there.
async fn elsewhere(
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

async fn home(State(state): State<AppState>, RequestLang(lang): RequestLang) -> Response {
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
struct CreateForm {
    #[serde(default)]
    name: String,
    /// One of the offered lifetimes (`lifetime::choose_lifetime`); the default if absent.
    lifetime: Option<String>,
    /// `pad` (default) or `calc`.
    kind: Option<Kind>,
}

async fn create(
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
        let new = NewDoc {
            kind: form.kind.unwrap_or(Kind::Pad),
            lifetime,
            creator: Some(secret.hash()),
            // Asked for: kept even if nobody ever types into it.
            provisional: false,
        };
        let Some(meta) = state.open_or_create(&name, new).await? else {
            return Err(AppError::CreationClosed(name, new.kind));
        };
        // The fragment never reaches a server or a log; the page moves the secret into the
        // browser's storage and removes it from the address bar.
        let fragment = if delete::created_by(&meta, &secret) {
            format!("#creator={}", secret.as_str())
        } else {
            String::new()
        };
        // An existing document keeps its kind: the redirect goes to its editor.
        let editor = calc::editor_path(meta.kind, &name, lang);
        Ok(Redirect::to(&format!("{editor}{fragment}")).into_response())
    }
    .await;
    result.unwrap_or_else(|e| state.fail(lang, e))
}

#[derive(Debug, Deserialize)]
struct OpenQuery {
    #[serde(default)]
    name: String,
}

/// "Open" on the home page: an existing document opens in its editor (by its kind); a missing
/// name gets a page offering to create it, with the near names that exist (asking creates
/// nothing); a bad name gets what a name may contain. Every answer keeps the language.
async fn open(
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
        Ok(Some(meta)) => Redirect::to(&calc::editor_path(meta.kind, &name, lang)).into_response(),
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

/// Opens document `raw`, creating it as a `kind` if it does not exist (and creation is open);
/// with the creator secret if this request created it.
async fn open_doc(
    state: &AppState,
    raw: &str,
    kind: Kind,
) -> Result<(DocName, DocMeta, Option<CreatorSecret>), AppError> {
    let name = DocName::parse(raw)?;
    let secret = CreatorSecret::generate();
    let new = NewDoc {
        kind,
        lifetime: state.config.retention_default,
        creator: Some(secret.hash()),
        // Made by visiting its link: kept only once someone types (`creation`'s rule).
        provisional: true,
    };
    let meta = state
        .open_or_create(&name, new)
        .await?
        .ok_or(AppError::CreationClosed(name.clone(), kind))?;
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

fn pad_response(lang: Lang, shell: &PadShell<'_>) -> Response {
    let nonce = random_hex();
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    );
    html(
        StatusCode::OK,
        pages::editor(Kind::Pad, lang, assets::urls(), &nonce, shell),
        csp,
    )
}

async fn pad_page(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(raw): Path<String>,
) -> Response {
    editor_page(&state, lang, &raw, Kind::Pad).await
}

/// The editor of document `raw` (created as a `kind` if it does not exist and creation is
/// open), or a redirect to the editor of the kind it was created as.
pub(crate) async fn editor_page(state: &AppState, lang: Lang, raw: &str, kind: Kind) -> Response {
    match open_doc(state, raw, kind).await {
        Ok((name, meta, _)) if meta.kind != kind => {
            Redirect::to(&calc::editor_path(meta.kind, &name, lang)).into_response()
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
            match kind {
                Kind::Pad => pad_response(lang, &shell),
                Kind::Calc => calc::calc_response(lang, &shell),
            }
        }
        Err(e) => state.fail(lang, e),
    }
}

async fn read_only_page(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(raw): Path<String>,
) -> Response {
    match resolve(&state, &raw).await {
        Ok((token, name)) => {
            match state.hub.open(&name, None).await {
                Ok(Some(meta)) if meta.kind == Kind::Calc => {
                    return calc::read_only_response(lang, token.as_str())
                }
                Ok(_) => {}
                Err(e) => return AppError::from(e).page(lang),
            }
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
            pad_response(lang, &shell)
        }
        Err(e) => e.page(lang),
    }
}

/// The base URL links are built on: the configured public URL, else the Host asked for;
/// followed by the base path (unless the public URL already ends with it).
pub(crate) fn public_base(config: &Config, headers: &HeaderMap) -> String {
    let origin = public_origin(config, headers);
    let base = config.base_path.as_str();
    if origin.ends_with(base) {
        origin
    } else {
        format!("{origin}{base}")
    }
}

fn public_origin(config: &Config, headers: &HeaderMap) -> String {
    if let Some(url) = &config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        });
    match host {
        Some(host) => format!("http://{host}"),
        None => format!("http://{}", config.listen),
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

async fn pad_qr(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    doc_qr(&state, &headers, &raw, "p")
}

/// The QR code of the editable link `/{prefix}/{raw}` (`p` for pads, `c` for calcs).
fn doc_qr(state: &AppState, headers: &HeaderMap, raw: &str, prefix: &str) -> Response {
    match DocName::parse(raw) {
        Ok(name) => svg_response(&format!(
            "{}/{prefix}/{name}",
            public_base(&state.config, headers)
        )),
        Err(e) => AppError::from(e).into_response(),
    }
}

async fn read_only_qr(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    match resolve(&state, &raw).await {
        Ok((token, _)) => svg_response(&format!(
            "{}/r/{}",
            public_base(&state.config, &headers),
            token.as_str()
        )),
        Err(e) => e.into_response(),
    }
}

/// `?kind=calc` of a calc page's WebSocket: what its join creates if the document is missing (a
/// provisional calc erased while its page was away); a pad otherwise.
#[derive(Debug, Deserialize)]
struct JoinQuery {
    kind: Option<Kind>,
}

async fn websocket(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(raw): Path<String>,
    query: Result<Query<JoinQuery>, axum::extract::rejection::QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let kind = query.ok().and_then(|Query(q)| q.kind).unwrap_or(Kind::Pad);
    join(&state, lang, &raw, kind, upgrade)
        .await
        .unwrap_or_else(|e| e.page(lang))
}

/// The upgrade of a join to document `raw`, creating it if creation is open.
async fn join(
    state: &AppState,
    lang: Lang,
    raw: &str,
    kind: Kind,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    let name = DocName::parse(raw)?;
    // Checked before anything is created: a plain GET on this route creates nothing.
    let upgrade = upgrade.map_err(|_| AppError::NotWebSocket)?;
    // A join accepted while creation is open creates the document as opening its page does
    // (metadata, default lifetime, read-only token), so it stays an existing document once
    // creation closes. Refused at the upgrade, so a client never gets an empty document it
    // would fill: reconnections to existing documents always pass.
    let new = NewDoc {
        kind,
        lifetime: state.config.retention_default,
        // No page to hand a creator secret to: nobody can delete it as its creator.
        creator: None,
        provisional: true,
    };
    if state.open_or_create(&name, new).await?.is_none() {
        return Ok(state.creation_closed(lang, Some(&name), kind));
    }
    upgrade_to(state.clone(), name, false, Ok(upgrade))
}

async fn read_only_websocket(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path(raw): Path<String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let result = async {
        let (_, name) = resolve(&state, &raw).await?;
        upgrade_to(state.clone(), name, true, upgrade)
    };
    result.await.unwrap_or_else(|e| e.page(lang))
}

fn upgrade_to(
    state: AppState,
    name: DocName,
    read_only: bool,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    let upgrade = upgrade.map_err(|_| AppError::NotWebSocket)?;
    if state.shutdown.is_cancelled() {
        return Err(AppError::ShuttingDown);
    }
    let max = state.config.max_message_bytes;
    let AppState {
        hub,
        config,
        shutdown,
        connections,
        ..
    } = state;
    Ok(upgrade
        // tungstenite zero-fills its read buffer before reads, so all of it is resident on
        // every connection: the default 128 KiB made an idle connection cost ~140 KB, 4 KiB
        // ~12.4 KB (BENCHMARKS.md, "Idle connections"). It is only the size of each socket
        // read: larger messages are assembled across reads, and a typed edit fits in one.
        .read_buffer_size(512)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| {
            connections.track_future(ws::serve(socket, name, read_only, hub, config, shutdown))
        }))
}

/// Export switches: `?colors=0` drops the authors' shading, `?authors=0` the authors list;
/// `?sheet=` picks a calc's sheet for CSV.
#[derive(Debug, Deserialize)]
pub(crate) struct ExportQuery {
    colors: Option<String>,
    authors: Option<String>,
    pub(crate) sheet: Option<String>,
}

impl ExportQuery {
    pub(crate) fn options(&self) -> ExportOptions {
        let on = |v: &Option<String>| !matches!(v.as_deref(), Some("0" | "false" | "off"));
        ExportOptions {
            colors: on(&self.colors),
            authors_list: on(&self.authors),
            ..ExportOptions::default()
        }
    }
}

async fn pad_export(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path((raw, format)): Path<(String, String)>,
    Query(query): Query<ExportQuery>,
) -> Response {
    let result = async {
        let name = DocName::parse(&raw)?;
        export(&state, &name, name.as_str(), &format, &query, lang).await
    };
    result.await.unwrap_or_else(|e| e.page(lang))
}

async fn read_only_export(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    Path((raw, format)): Path<(String, String)>,
    Query(query): Query<ExportQuery>,
) -> Response {
    let result = async {
        let (_, name) = resolve(&state, &raw).await?;
        if crate::http::ethercalc::is_calc(&state, &name).await? {
            // Named "calc" for the same reason as below.
            return crate::http::ethercalc::export(
                &state,
                &name,
                "calc",
                &format,
                query.sheet.as_deref(),
            )
            .await;
        }
        // The file is named "pad": a read-only link must not reveal the (writable) name.
        export(&state, &name, "pad", &format, &query, lang).await
    };
    result.await.unwrap_or_else(|e| e.page(lang))
}

/// Renders document `name` as a download named `stem.{ext}`, off the async workers, with the
/// words the export adds (the authors heading) in the page's language.
async fn export(
    state: &AppState,
    name: &DocName,
    stem: &str,
    format: &str,
    query: &ExportQuery,
    lang: Lang,
) -> Result<Response, AppError> {
    let format: PadFormat = format.parse()?;
    let options = ExportOptions {
        language: match lang {
            Lang::En => Language::En,
            Lang::Fr => Language::Fr,
        },
        ..query.options()
    };
    let bytes = render_export(state, name, format, options).await?;
    Ok(download(bytes, format, stem))
}

/// Renders document `name` in `format` on the blocking pool, at most `EXPORTS_AT_ONCE` at a
/// time and bounded in time: the one export path of pages and the API.
pub(crate) async fn render_export(
    state: &AppState,
    name: &DocName,
    format: PadFormat,
    options: ExportOptions,
) -> Result<Vec<u8>, AppError> {
    let snapshot = state.hub.snapshot(name).await?.ok_or(AppError::NotFound)?;
    bounded(state, name, "export", move || {
        export_pad(&snapshot, format, &options)
    })
    .await?
    .map_err(|e| {
        tracing::error!(doc = %name, %format, error = %e, "export failed");
        AppError::ExportFailed
    })
}

/// Runs `job` on the blocking pool within the export bounds — at most as many at once as the
/// `exports` semaphore allows, answered within `EXPORT_TIMEOUT` (waiting for a slot included) —
/// so file work cannot starve the editors. Pad exports and calc exports and imports share it.
pub(crate) async fn bounded<T, E>(
    state: &AppState,
    doc: &DocName,
    what: &'static str,
    job: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<Result<T, E>, AppError>
where
    T: Send + 'static,
    E: Send + 'static,
{
    match run_bounded(state.exports.clone(), EXPORT_TIMEOUT, job).await {
        Ok(result) => Ok(result),
        Err(Bounded::Closed) => Err(AppError::ShuttingDown),
        Err(Bounded::Panicked) => {
            tracing::error!(doc = %doc, what, "file job panicked");
            Err(AppError::ExportFailed)
        }
        Err(Bounded::Busy) => {
            tracing::warn!(doc = %doc, what, "file job found no free slot in time");
            Err(AppError::ExportFailed)
        }
        Err(Bounded::TimedOut) => {
            tracing::warn!(doc = %doc, what, "file job timed out");
            Err(AppError::ExportFailed)
        }
    }
}

/// Why [`run_bounded`] gave no result.
#[derive(Debug, PartialEq, Eq)]
enum Bounded {
    /// The semaphore is closed (shutting down).
    Closed,
    /// No slot freed up before the deadline.
    Busy,
    /// The job ran past the deadline; it keeps its slot until it returns.
    TimedOut,
    /// The job panicked.
    Panicked,
}

/// Runs `job` on the blocking pool holding one permit of `slots`, waiting at most `timeout` in
/// all. The permit moves into the job and is released only when the job returns, not when the
/// caller gives up: a blocking thread cannot be stopped, so a timed-out job still counts against
/// the slots, and timed-out work can never pile up beyond them (each export's memory and CPU
/// stay bounded by the slots, and its own work by `calc_io::budget`).
async fn run_bounded<T, E>(
    slots: Arc<Semaphore>,
    timeout: Duration,
    job: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<Result<T, E>, Bounded>
where
    T: Send + 'static,
    E: Send + 'static,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let permit = match tokio::time::timeout_at(deadline, slots.acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        Ok(Err(_)) => return Err(Bounded::Closed),
        Err(_) => return Err(Bounded::Busy),
    };
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        job()
    });
    match tokio::time::timeout_at(deadline, task).await {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(_)) => Err(Bounded::Panicked),
        Err(_) => Err(Bounded::TimedOut),
    }
}

/// A pad export as a download named `stem.{ext}`.
pub(crate) fn download(bytes: Vec<u8>, format: PadFormat, stem: &str) -> Response {
    download_file(
        bytes,
        format.content_type(),
        &format!("{stem}.{}", format.extension()),
    )
}

/// A file download named `file_name` (made of name characters and an extension only), with
/// the headers every download carries.
pub(crate) fn download_file(
    bytes: Vec<u8>,
    content_type: &'static str,
    file_name: &str,
) -> Response {
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Names are [A-Za-z0-9_.-] only, so the quoted filename needs no escaping.
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    private_document(h);
    // An HTML export opened in place must not run anything or reach anything.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'; style-src 'unsafe-inline'"),
    );
    response
}

#[cfg(test)]
mod bounded_tests {
    use super::*;

    #[tokio::test]
    async fn a_timed_out_job_keeps_its_slot_until_it_returns() {
        let slots = Arc::new(Semaphore::new(1));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = tokio::sync::oneshot::channel();
        // The deadline is short so the test is quick; the job waits on a channel, not a clock.
        let stuck = run_bounded(slots.clone(), Duration::from_millis(50), move || {
            let _ = started_tx.send(());
            wait.recv().map_err(|_| ())
        })
        .await;
        assert_eq!(stuck.err(), Some(Bounded::TimedOut));
        started.await.expect("the job ran");
        assert_eq!(
            slots.available_permits(),
            0,
            "the stuck job still holds its slot"
        );
        let next = run_bounded(slots.clone(), Duration::from_millis(50), || Ok::<_, ()>(1)).await;
        assert_eq!(next.err(), Some(Bounded::Busy));
        release.send(()).expect("the job still waits");
        let _free = slots
            .acquire()
            .await
            .expect("the slot comes back once the job returns");
        drop(_free);
        let done = run_bounded(slots.clone(), Duration::from_secs(30), || Ok::<_, ()>(2)).await;
        assert_eq!(done, Ok(Ok(2)));
    }
}
