//! Every route of the server, in one table: method, path and handler, by area. Area files hold
//! the handlers only. The layers that apply to all of them (the form body limit, the
//! per-address throttle, the default CSP) and the base-path mounting are set here too.

use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::response::Redirect;
use axum::routing::{delete, get, on, post, put, MethodFilter, MethodRouter};
use axum::Router;

use crate::config::Config;
use crate::http::api;
use crate::http::error::api::ApiError;
use crate::http::etherpad_api;
use crate::http::{
    admin, assets, base_path, calc, calc_export, calc_import, editor, ethercalc, history,
    home_import, join, middleware, pad, pad_import, probes, proxy, site, AppError, AppState,
};

/// Largest body of the plain forms (home page, creator delete), in bytes.
const FORM_BODY_BYTES: usize = 64 * 1024;

/// All routes of the server, mounted under the base path.
pub fn router(state: AppState) -> Router {
    let base = state.config.base_path.clone();
    base_path::init(&base);
    // Calc and pad files read their bodies through `gate::Authed` and the upload forms under
    // the import limit, which say what the limit is; axum's own limit would only answer first
    // without saying it.
    let calc_files = Router::new()
        .route("/c/{name}/export/{format}", get(calc_export::export))
        .route("/c/{name}/import", post(calc_import::into_calc))
        .route("/p/{name}/import", post(pad_import::into_pad))
        .route("/import", post(home_import::new_from_file))
        // EtherCalc-compatible API.
        .route("/{file}", get(ethercalc::dot_csv))
        .route("/_", post(ethercalc::create))
        .route(
            "/_/{name}",
            get(ethercalc::save)
                .put(ethercalc::overwrite)
                .post(ethercalc::append),
        )
        .route("/_/{name}/{view}", get(ethercalc::view))
        .route("/_/{name}/cells/{coord}", get(ethercalc::cell))
        .layer(DefaultBodyLimit::disable());
    let app = Router::new()
        // Home and site pages.
        .route("/", get(site::home))
        .route("/new", post(site::create))
        .route("/open", get(site::open))
        .route("/elsewhere", get(site::elsewhere))
        .route("/privacy", get(site::privacy))
        .route(
            "/favicon.ico",
            get(|| async { Redirect::permanent(&assets::urls().icon) }),
        )
        .route("/assets/{*path}", get(assets::serve))
        // Pads, read-only links and their files.
        .route("/p/{name}", get(pad::pad_page))
        .route("/p/{name}/qr.svg", get(pad::pad_qr))
        .route("/p/{name}/export/{format}", get(pad::pad_export))
        .route("/p/{name}/delete", post(crate::http::delete::delete_pad))
        .route("/r/{token}", get(editor::read_only_page))
        .route("/r/{token}/qr.svg", get(editor::read_only_qr))
        .route("/r/{token}/export/{format}", get(pad::read_only_export))
        // Calcs (their files are in `calc_files` above).
        .route("/c/{name}", get(calc::calc_page))
        .route("/c/{name}/qr.svg", get(calc::calc_qr))
        .route("/c/{name}/delete", post(crate::http::delete::delete_calc))
        // History of either kind: its revisions, a version, its files, restoring it (never
        // from a read-only link).
        .route("/p/{name}/history", get(history::pad_list))
        .route("/p/{name}/history/{rev}", get(history::pad_version))
        .route(
            "/p/{name}/history/{rev}/export/{format}",
            get(history::pad_export),
        )
        .route(
            "/p/{name}/history/{rev}/restore",
            post(history::pad_restore),
        )
        .route("/c/{name}/history", get(history::calc_list))
        .route("/c/{name}/history/{rev}", get(history::calc_version))
        .route(
            "/c/{name}/history/{rev}/export/{format}",
            get(history::calc_export),
        )
        .route(
            "/c/{name}/history/{rev}/restore",
            post(history::calc_restore),
        )
        .route("/r/{token}/history", get(history::read_only_list))
        .route("/r/{token}/history/{rev}", get(history::read_only_version))
        .route(
            "/r/{token}/history/{rev}/export/{format}",
            get(history::read_only_export),
        )
        // Live editing.
        .route("/ws/{name}", get(join::websocket))
        .route("/ws/r/{token}", get(join::read_only_websocket))
        // The operator: probes, the admin page and its API.
        .route("/healthz", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .route("/metrics", get(probes::metrics))
        .route("/admin", get(admin::page).fallback(admin::wrong_method))
        .route(
            "/admin/api/stats",
            get(admin::stats).fallback(admin::wrong_method),
        )
        .route(
            "/admin/api/nodes",
            get(admin::nodes).fallback(admin::wrong_method),
        )
        .route(
            "/admin/api/creation",
            put(admin::set_creation).fallback(admin::wrong_method),
        )
        .route(
            "/admin/api/documents",
            get(admin::documents).fallback(admin::wrong_method),
        )
        .route(
            "/admin/api/documents/{name}",
            delete(admin::delete_document).fallback(admin::wrong_method),
        )
        .route(
            "/admin/api/notice",
            put(admin::set_notice)
                .delete(admin::clear_notice)
                .fallback(admin::wrong_method),
        )
        // The Etherpad-compatible API (beside `/api/v1`, whose static prefix routes first).
        .route("/api", get(etherpad_api::current_version))
        .route(
            "/api/{version}/{function}",
            get(etherpad_api::call).post(etherpad_api::call),
        )
        // The JSON API, under its prefix (its table is `api_endpoints` below).
        .nest(api::PREFIX, api_routes(&state.config))
        .merge(calc_files)
        .fallback(site::not_found)
        // Forms without a file (creating a document, a creator's delete): small. Routes with
        // larger bodies set their own limit (the API) or read them through `gate` (calc files).
        .layer(DefaultBodyLimit::max(FORM_BODY_BYTES))
        // Inside the throttle: a forwarded request counts against its sender here too.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            proxy::forward,
        ))
        // Inside the CSP layer, so a 429 carries the policy too.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::throttle,
        ))
        .layer(axum::middleware::map_response(middleware::default_csp));
    base_path::mount(app.with_state(state), &base, site::outside_base_path)
}

/// One API endpoint: method, path (relative to [`api::PREFIX`], axum syntax) and handler. The
/// router and the OpenAPI test both read this one table, and the handler is routed on the
/// method written here, so the two cannot disagree.
pub(crate) struct Endpoint {
    /// What the OpenAPI test compares with the document.
    #[cfg_attr(not(test), allow(dead_code))]
    method: Method,
    path: &'static str,
    handler: MethodRouter<AppState>,
}

/// `handler` at `path` for `method`.
fn endpoint<H, T>(method: Method, path: &'static str, handler: H) -> Endpoint
where
    H: Handler<T, AppState>,
    T: 'static,
{
    // The methods are this file's constants, all of them ones axum routes.
    let filter = MethodFilter::try_from(method.clone()).expect("an HTTP method axum routes");
    Endpoint {
        method,
        path,
        handler: on(filter, handler),
    }
}

/// The routes of `/api/v1`.
pub(crate) fn api_endpoints() -> Vec<Endpoint> {
    vec![
        endpoint(Method::GET, "/openapi.json", api::openapi_json),
        endpoint(Method::GET, "/documents", api::list),
        endpoint(Method::POST, "/documents", api::create),
        endpoint(Method::GET, "/documents/{name}", api::info),
        endpoint(Method::DELETE, "/documents/{name}", api::remove),
        endpoint(Method::GET, "/documents/{name}/text", api::get_text),
        endpoint(Method::PUT, "/documents/{name}/text", api::set_text),
        endpoint(Method::POST, "/documents/{name}/append", api::append_text),
        endpoint(Method::GET, "/documents/{name}/html", api::get_html),
        endpoint(Method::POST, "/documents/{name}/import", api::import),
        endpoint(
            Method::GET,
            "/documents/{name}/export/{format}",
            api::export,
        ),
        endpoint(
            Method::GET,
            "/documents/{name}/last-edited",
            api::last_edited,
        ),
        endpoint(
            Method::GET,
            "/documents/{name}/read-only-link",
            api::read_only_link,
        ),
        endpoint(
            Method::GET,
            "/documents/{name}/revisions",
            history::api_list,
        ),
        endpoint(
            Method::GET,
            "/documents/{name}/revisions/{rev}/export/{format}",
            history::api_export,
        ),
        endpoint(
            Method::POST,
            "/documents/{name}/revisions/{rev}/restore",
            history::api_restore,
        ),
        endpoint(Method::GET, "/stats", api::stats),
        endpoint(Method::POST, "/backup", api::backup),
    ]
}

/// The API's routes, to nest under [`api::PREFIX`]; bodies are limited to
/// `api_max_body_bytes`.
fn api_routes(config: &Config) -> Router<AppState> {
    let mut router = Router::new();
    for e in api_endpoints() {
        // Routes sharing a path merge their methods.
        router = router.route(e.path, e.handler);
    }
    router
        .fallback(|| async { ApiError::from(AppError::NoEndpoint) })
        .layer(DefaultBodyLimit::max(config.api_max_body_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn the_openapi_document_lists_exactly_the_routes() {
        let config = Config::load_from(["ardoise"]).expect("defaults");
        let doc = api::openapi::document(&config);
        let mut documented = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                if method != "parameters" {
                    documented.push((method.to_uppercase(), path.clone()));
                }
            }
        }
        let mut routes: Vec<(String, String)> = api_endpoints()
            .into_iter()
            .map(|e| (e.method.to_string(), e.path.to_owned()))
            .collect();
        documented.sort();
        routes.sort();
        assert_eq!(documented, routes);
    }
}
