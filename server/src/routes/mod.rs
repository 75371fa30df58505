//! The router: the API under `/api/v1` and the built single-page app for everything else.

mod audit;
mod auth;
mod changes;
mod events;
pub mod hall;
mod headers;
mod health;
mod meeting;
pub(crate) mod openapi;
mod overview;
mod report;
mod spa;
mod sync;

use std::path::PathBuf;

pub use events::Streams;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::{AppState, Store};

pub(crate) fn router<S: Store>(
    state: AppState<S>,
    static_dir: Option<PathBuf>,
    hsts: bool,
    hall_page: Option<hall::SharedHall>,
) -> Router {
    let limit = state.limits.max_body_bytes;
    let api = Router::new()
        .route("/health", get(health::health::<S>))
        .route("/paper-key", get(health::paper_key::<S>))
        .route("/sync", post(sync::sync::<S>))
        .route("/changes-file", post(changes::import::<S>))
        .route("/auth/login", post(auth::login::<S>))
        .route("/auth/join", post(auth::join::<S>))
        .route("/auth/logout", post(auth::logout::<S>))
        .route("/auth/page-session", post(auth::page_session::<S>))
        .route("/auth/revoke-device", post(auth::revoke_device::<S>))
        .route("/auth/me", get(auth::me))
        .route("/auth/device-key", post(auth::device_key_route::<S>))
        .route("/join-codes", post(auth::create_join_code::<S>))
        .route("/blocks/{block_id}/audit", get(audit::audit_json::<S>))
        .route("/blocks/{block_id}/audit.csv", get(audit::audit_csv::<S>))
        .route(
            "/blocks/{block_id}/results.csv",
            get(report::results_csv::<S>),
        )
        .route(
            "/blocks/{block_id}/results.xlsx",
            get(report::results_xlsx::<S>),
        )
        .route(
            "/blocks/{block_id}/minutes.html",
            get(report::minutes_html::<S>),
        )
        .route(
            "/blocks/{block_id}/covenant.html",
            get(report::covenant_html::<S>),
        )
        .route(
            "/blocks/{block_id}/board.html",
            get(report::board_html::<S>),
        )
        .route(
            "/blocks/{block_id}/meeting",
            axum::routing::put(meeting::put_meeting::<S>),
        )
        .route(
            "/blocks/{block_id}/documents.html",
            get(report::documents_html::<S>),
        )
        .route("/import.html", get(report::import_html))
        .route("/overview.html", get(overview::overview_html::<S>))
        .route("/overview.xlsx", get(overview::overview_xlsx::<S>))
        .route("/events", get(events::events::<S>))
        .route("/openapi.json", get(openapi::document))
        .fallback(|| async { ApiError::NotFound })
        .layer(DefaultBodyLimit::max(limit))
        // Answers depend on the database: no cache, the service worker's included, keeps one.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .with_state(state);
    let mut router = Router::new().nest("/api/v1", api);
    if let Some(h) = hall_page {
        router = router.merge(hall::routes(h));
    }
    // The policy allows the inline loaders of both modules: the shell and the editor
    // module under /editor/ (see scripts/env.sh, `build_app`).
    let index = static_dir.as_ref().and_then(|d| {
        let mut html = std::fs::read_to_string(d.join("index.html")).ok()?;
        if let Ok(editor) = std::fs::read_to_string(d.join("editor").join("index.html")) {
            html.push_str(&editor);
        }
        Some(html)
    });
    let policies = headers::Policies::new(index.as_deref(), hsts);
    let router = match static_dir {
        Some(dir) => spa::serve(router, dir),
        None => router,
    };
    let router = router.layer(axum::middleware::from_fn_with_state(policies, headers::add));
    // Gzip matters on a meeting hall's Wi-Fi: the wasm module and a full pull shrink ~3×.
    router
        .layer(CompressionLayer::new())
        // Spans name the path only: a query never reaches a log.
        .layer(TraceLayer::new_for_http().make_span_with(
            |req: &axum::http::Request<axum::body::Body>| {
                tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
            },
        ))
}

/// Refuses a push whose stamps run ahead of this server's clock by more than the allowed
/// skew (`ApiError::ClockAhead`, carrying the server's time for the device to re-stamp from).
pub(crate) fn check_clock(
    limits: &crate::Limits,
    mutations: &[shared::mutation::Mutation],
    device: uuid::Uuid,
) -> Result<(), ApiError> {
    let now = u64::try_from(crate::store::now_ms()).unwrap_or(0);
    match crate::config::stamps_ahead(mutations, device, now, limits.max_clock_skew_ms) {
        Some(ahead_ms) => Err(ApiError::ClockAhead {
            ahead_ms,
            max_skew_ms: limits.max_clock_skew_ms,
            server_ms: now,
        }),
        None => Ok(()),
    }
}

/// The plain-HTTP listener beside HTTPS: the hall's setup page (a tablet fetches the
/// authority before it trusts HTTPS) and a redirect to HTTPS for everything else.
pub fn redirect_router(https_port: u16, hall_page: Option<hall::SharedHall>) -> Router {
    let redirect = move |req: axum::extract::Request| async move {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        // The host without its port ("[::1]:80" keeps its brackets).
        let name = match host.rfind(':') {
            Some(i) if !host[i..].contains(']') => &host[..i],
            _ => host,
        };
        let path = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        axum::response::Redirect::permanent(&format!("https://{name}:{https_port}{path}"))
    };
    let router = Router::new().fallback(redirect);
    match hall_page {
        Some(h) => router.merge(hall::routes(h)),
        None => router,
    }
}
