//! The router: the API under `/api/v1` and the built single-page app for everything else.

mod health;
mod spa;
mod sync;

use std::path::PathBuf;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::{AppState, Store};

pub(crate) fn router<S: Store>(state: AppState<S>, static_dir: Option<PathBuf>) -> Router {
    let limit = state.limits.max_body_bytes;
    let api = Router::new()
        .route("/health", get(health::health::<S>))
        .route("/sync", post(sync::sync::<S>))
        .fallback(|| async { ApiError::NotFound })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state);
    let router = Router::new().nest("/api/v1", api);
    let router = match static_dir {
        Some(dir) => spa::serve(router, dir),
        None => router,
    };
    router.layer(TraceLayer::new_for_http())
}
