//! What a request must pass before a handler sees its body, in this order: who sends it (an
//! `Authorization: Bearer` secret, its scheme read case-insensitively, RFC 9110 §11.1), then how
//! much it sends (refused with 413 past the route's limit: from `Content-Length` before a byte
//! of the body is read, else as soon as a streamed body passes it). [`Authed`] is the one
//! extractor every route with a body and a secret uses, so no handler can read first and check
//! after.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use futures_util::StreamExt;
use tokio::time::Instant;

use crate::config::Config;
use crate::http::AppState;

/// Longest wait for the next piece of a request body: a client that stops sending mid-body
/// would otherwise hold its connection and buffer for ever.
pub const BODY_STALL: Duration = Duration::from_secs(30);

/// Longest a whole request body may take to arrive (16 MiB at 0.5 Mbit/s): a client trickling
/// a body would otherwise hold its share of the [`BodyBudget`] for ever.
pub const BODY_DEADLINE: Duration = Duration::from_secs(300);

/// The secret of an `Authorization: Bearer SECRET` header, if there is one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        // The scheme name is case-insensitive (RFC 9110 §11.1): `bearer` is `Bearer`.
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, secret)| secret.trim())
}

/// A secret a route checks against the request's bearer token.
pub trait Credential: Sized + Send {
    /// The answer when the secret is missing or wrong (or the route is off); also the answer
    /// to a body refused by [`Authed`].
    type Rejection: IntoResponse + From<BodyError>;

    /// Checks the presented secret (`None` without a bearer token).
    fn check(state: &AppState, token: Option<&str>) -> Result<Self, Self::Rejection>;
}

/// Proof that the request carried credential `C`: the one `Authorization` extractor of the
/// admin API, the HTTP API and the EtherCalc API.
pub struct Bearer<C>(pub C);

impl<C: Credential> FromRequestParts<AppState> for Bearer<C> {
    type Rejection = C::Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        C::check(state, bearer_token(&parts.headers)).map(Bearer)
    }
}

/// The body limit of a route, read from the configuration.
pub trait Limit {
    /// Most bytes of body the route accepts.
    fn max(config: &Config) -> usize;
}

/// `--max-import-bytes`: calc files (EtherCalc API bodies, upload forms).
pub struct ImportLimit;

impl Limit for ImportLimit {
    fn max(config: &Config) -> usize {
        config.max_import_bytes
    }
}

/// `--api-max-body-bytes`: JSON bodies of the HTTP API and the admin API.
pub struct ApiLimit;

impl Limit for ApiLimit {
    fn max(config: &Config) -> usize {
        config.api_max_body_bytes
    }
}

/// Why a body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The body is (or says it is) larger than the limit, in bytes.
    #[error("the request body is larger than the limit of {}", describe(*.0))]
    TooLarge(usize),
    /// The body could not be read (the client went away or sent a broken chunk), or it
    /// stalled for [`BODY_STALL`] or took longer than [`BODY_DEADLINE`].
    #[error("the request body could not be read")]
    Unreadable,
    /// Other requests' bodies hold the whole [`BodyBudget`]: retry.
    #[error("the server is receiving too many request bodies at once; retry shortly")]
    Busy,
}

/// The bytes of request bodies the server holds at once, across all requests: a body is
/// charged as its buffer grows and refused ([`BodyError::Busy`]) past the budget, and its
/// charge is given back when the request is done with it.
#[derive(Debug)]
pub struct BodyBudget {
    max: usize,
    used: AtomicUsize,
}

impl BodyBudget {
    /// A budget of `max` bytes.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            used: AtomicUsize::new(0),
        })
    }

    /// Bytes charged now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

/// What one body holds of the [`BodyBudget`]; given back when dropped.
#[derive(Debug)]
pub struct Charge {
    budget: Arc<BodyBudget>,
    bytes: usize,
}

impl Charge {
    /// An empty charge on `budget`.
    pub fn new(budget: &Arc<BodyBudget>) -> Self {
        Self {
            budget: budget.clone(),
            bytes: 0,
        }
    }

    /// Raises the charge to `bytes` (a buffer's capacity), if the budget has room.
    pub fn cover(&mut self, bytes: usize) -> Result<(), BodyError> {
        let more = bytes.saturating_sub(self.bytes);
        if more == 0 {
            return Ok(());
        }
        let max = self.budget.max;
        self.budget
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(more).filter(|&total| total <= max)
            })
            .map_err(|_| BodyError::Busy)?;
        self.bytes = bytes;
        Ok(())
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// A limit as people read it (a limit under 1 KiB would read "0 KiB").
pub fn describe(bytes: usize) -> String {
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

/// The request after credential `C` was checked, with its body read under limit `L`.
pub struct Authed<C, L> {
    /// The checked credential.
    pub auth: C,
    /// The request's headers.
    pub headers: HeaderMap,
    /// The whole body, at most `L::max` bytes.
    pub body: Bytes,
    /// The body's share of the server's body budget, held as long as the request is.
    pub charge: Charge,
    limit: PhantomData<L>,
}

impl<C: Credential, L: Limit> FromRequest<AppState> for Authed<C, L> {
    type Rejection = C::Rejection;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let auth = C::check(state, bearer_token(&parts.headers))?;
        let mut charge = Charge::new(&state.bodies);
        let body = read_bounded(body, &parts.headers, L::max(&state.config), &mut charge).await?;
        Ok(Self {
            auth,
            headers: parts.headers,
            body,
            charge,
            limit: PhantomData,
        })
    }
}

/// The declared length of a request body, if it declares one.
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Refuses a body whose declared length passes `limit`, before reading any of it.
pub fn check_declared(headers: &HeaderMap, limit: usize) -> Result<(), BodyError> {
    match content_length(headers) {
        Some(len) if len > limit as u64 => Err(BodyError::TooLarge(limit)),
        _ => Ok(()),
    }
}

/// Reads `body` whole, refusing it as soon as it passes `limit` bytes: from its declared
/// length before reading, else while it streams (chunked bodies declare none). Its buffer is
/// charged to `charge` as it grows with what arrives (never past a declared length), so a
/// client that only declares a size holds nothing; a body that does not arrive whole within
/// [`BODY_DEADLINE`] is dropped.
pub async fn read_bounded(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
    charge: &mut Charge,
) -> Result<Bytes, BodyError> {
    check_declared(headers, limit)?;
    let ceiling = content_length(headers)
        .and_then(|n| usize::try_from(n).ok())
        .map_or(limit, |declared| declared.min(limit));
    let deadline = Instant::now() + BODY_DEADLINE;
    let mut out = Vec::new();
    let mut stream = body.into_data_stream();
    loop {
        let wait = (Instant::now() + BODY_STALL).min(deadline);
        let next = tokio::time::timeout_at(wait, stream.next())
            .await
            .map_err(|_| BodyError::Unreadable)?;
        let Some(chunk) = next else {
            return Ok(out.into());
        };
        let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        let len = out.len().saturating_add(chunk.len());
        if len > limit {
            return Err(BodyError::TooLarge(limit));
        }
        if len > out.capacity() {
            // Grown here rather than by `extend`, so the charge covers what is allocated.
            let capacity = out.capacity().saturating_mul(2).min(ceiling).max(len);
            charge.cover(capacity)?;
            out.reserve_exact(capacity - out.len());
        }
        out.extend_from_slice(&chunk);
    }
}

/// Whether the request says its body is JSON (`application/json` or `application/…+json`).
pub fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).expect("value"));
        h
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for v in ["Bearer k", "bearer k", "BEARER  k ", " bEaReR k"] {
            assert_eq!(
                bearer_token(&with(header::AUTHORIZATION, v)),
                Some("k"),
                "{v:?}"
            );
        }
        for v in ["Basic k", "Bearerk", "k", ""] {
            assert_eq!(bearer_token(&with(header::AUTHORIZATION, v)), None, "{v:?}");
        }
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_before_reading() {
        // A body that would fail if it were read: only the declared length can refuse it.
        let failing = Body::from_stream(futures_util::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::other("must not be read"))
        }));
        let h = with(header::CONTENT_LENGTH, "1073741824");
        let budget = BodyBudget::new(usize::MAX);
        assert_eq!(
            read_bounded(failing, &h, 1024, &mut Charge::new(&budget)).await,
            Err(BodyError::TooLarge(1024))
        );
        assert_eq!(budget.used(), 0);
    }

    #[tokio::test]
    async fn a_streamed_body_is_refused_as_it_passes_the_limit() {
        let chunks = (0..10).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; 100])));
        let body = Body::from_stream(futures_util::stream::iter(chunks));
        let budget = BodyBudget::new(usize::MAX);
        let mut charge = Charge::new(&budget);
        assert_eq!(
            read_bounded(body, &HeaderMap::new(), 550, &mut charge).await,
            Err(BodyError::TooLarge(550))
        );
        drop(charge);
        assert_eq!(budget.used(), 0, "a refused body gives its charge back");
        let body = Body::from(vec![b'x'; 550]);
        let mut charge = Charge::new(&budget);
        assert_eq!(
            read_bounded(body, &HeaderMap::new(), 550, &mut charge)
                .await
                .map(|b| b.len()),
            Ok(550)
        );
        assert!(budget.used() >= 550);
        drop(charge);
        assert_eq!(budget.used(), 0);
    }

    #[tokio::test]
    async fn bodies_share_one_budget() {
        let budget = BodyBudget::new(1000);
        let chunks = |n: usize| {
            let chunks = (0..n).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; 100])));
            Body::from_stream(futures_util::stream::iter(chunks))
        };
        let mut first = Charge::new(&budget);
        let held = read_bounded(chunks(6), &HeaderMap::new(), 10_000, &mut first).await;
        assert_eq!(held.map(|b| b.len()), Ok(600));
        let used = budget.used();
        assert!((600..=1000).contains(&used), "{used}");
        let mut second = Charge::new(&budget);
        assert_eq!(
            read_bounded(chunks(6), &HeaderMap::new(), 10_000, &mut second).await,
            Err(BodyError::Busy)
        );
        drop((first, second));
        assert_eq!(budget.used(), 0);
        let mut again = Charge::new(&budget);
        assert!(
            read_bounded(chunks(6), &HeaderMap::new(), 10_000, &mut again)
                .await
                .is_ok()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_or_trickling_body_is_dropped_and_charges_nothing_meanwhile() {
        let budget = BodyBudget::new(usize::MAX);
        let h = with(header::CONTENT_LENGTH, "1000");
        {
            let silent =
                Body::from_stream(futures_util::stream::pending::<Result<Bytes, std::io::Error>>());
            let mut charge = Charge::new(&budget);
            let read = read_bounded(silent, &h, 1000, &mut charge);
            tokio::pin!(read);
            assert!(futures_util::poll!(read.as_mut()).is_pending());
            assert_eq!(budget.used(), 0, "a declared length alone holds nothing");
            assert_eq!(read.await, Err(BodyError::Unreadable));
        }
        // One byte every 29 s never stalls, but the deadline ends it.
        let trickle = futures_util::stream::unfold((), |()| async {
            tokio::time::sleep(BODY_STALL - Duration::from_secs(1)).await;
            Some((Ok::<_, std::io::Error>(Bytes::from_static(b"x")), ()))
        });
        let started = Instant::now();
        let mut charge = Charge::new(&budget);
        let read = read_bounded(
            Body::from_stream(trickle),
            &HeaderMap::new(),
            1000,
            &mut charge,
        )
        .await;
        assert_eq!(read, Err(BodyError::Unreadable));
        assert!(started.elapsed() <= BODY_DEADLINE);
    }

    #[test]
    fn json_types() {
        assert!(is_json(&with(header::CONTENT_TYPE, "application/json")));
        assert!(is_json(&with(
            header::CONTENT_TYPE,
            "Application/JSON; charset=utf-8"
        )));
        assert!(is_json(&with(
            header::CONTENT_TYPE,
            "application/merge-patch+json"
        )));
        assert!(!is_json(&with(header::CONTENT_TYPE, "text/plain")));
        assert!(!is_json(&HeaderMap::new()));
    }
}
