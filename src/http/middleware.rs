//! The layers every response passes through: the per-address throttle and the default CSP.
//!
//! The throttle is the HTTP edge of the rate limits: who the client is (the TCP peer, or with
//! `--trust-proxy` the address the reverse proxy saw) and the per-address budgets of page/API
//! requests and WebSocket upgrades, answered with 429 and `Retry-After`. The address is only a
//! key of the in-memory table in [`crate::http::ratelimit`]: never logged, never stored.
//!
//! The CSP layer gives every response without a policy of its own the strict static one, so no
//! route (error pages, redirects, QR codes, anything added later) is served without one.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use crate::http::metrics::Refusal;
use crate::http::respond::CSP_STATIC;
use crate::http::AppState;

/// Paths no person loads repeatedly by hand: hashed assets (cached for a year), and probes
/// and scrapes, which come from the operator's own tooling.
const EXEMPT: [&str; 5] = [
    "/assets/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/favicon.ico",
];

/// The client's address: the rightmost `X-Forwarded-For` entry when `trust_proxy` (the one
/// the proxy appended: entries to its left come from the client and can be forged), else the
/// TCP peer. `None` when neither is known (then nothing is limited).
pub fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, trust_proxy: bool) -> Option<IpAddr> {
    if trust_proxy {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|ip| ip.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    peer
}

/// Middleware: counts the request against its address's budget; 429 once it is spent.
pub async fn throttle(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let upgrade = path.starts_with("/ws/");
    if !upgrade && EXEMPT.iter().any(|p| path.starts_with(p)) {
        return next.run(request).await;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let Some(ip) = client_ip(request.headers(), peer, state.config.trust_proxy) else {
        return next.run(request).await;
    };
    // A loopback client is the reverse proxy (without --trust-proxy) or the operator's own
    // tooling: limiting it would throttle every visitor as one.
    if ip.to_canonical().is_loopback() {
        return next.run(request).await;
    }
    let (limiter, why) = if upgrade {
        (&state.limits.upgrades, Refusal::UpgradeRate)
    } else {
        (&state.limits.requests, Refusal::RequestRate)
    };
    match limiter.check(ip, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            state.metrics.refused(why);
            too_many(wait.as_secs().saturating_add(1))
        }
    }
}

/// 429 with `Retry-After`.
fn too_many(retry_after_secs: u64) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        format!("too many requests from your address; retry in {retry_after_secs} s\n"),
    )
        .into_response();
    let h = response.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Adds the static CSP and `Referrer-Policy: no-referrer` to a response that has none.
pub async fn default_csp(mut response: Response) -> Response {
    let h = response.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP_STATIC),
        );
    }
    if !h.contains_key(header::REFERRER_POLICY) {
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).expect("value"));
        }
        h
    }

    #[test]
    fn the_proxy_header_counts_only_when_trusted_and_only_its_last_entry() {
        let peer: Option<IpAddr> = Some("10.0.0.1".parse().expect("ip"));
        let h = headers(&["1.1.1.1, 203.0.113.7"]);
        assert_eq!(client_ip(&h, peer, false), peer);
        assert_eq!(
            client_ip(&h, peer, true),
            Some("203.0.113.7".parse().expect("ip"))
        );
        let two = headers(&["1.1.1.1", "2001:db8::5"]);
        assert_eq!(
            client_ip(&two, peer, true),
            Some("2001:db8::5".parse().expect("ip"))
        );
        assert_eq!(client_ip(&headers(&["nonsense"]), peer, true), peer);
        assert_eq!(client_ip(&HeaderMap::new(), None, true), None);
    }
}
