//! `GET /api/v1/health`: the protocol version, and whether the database answers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shared::protocol::{Health, PROTOCOL};

use crate::{AppState, Store};

pub(crate) async fn health<S: Store>(
    State(state): State<AppState<S>>,
) -> (StatusCode, Json<Health>) {
    let (status, word) = match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "health check: database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
        }
    };
    let body = Health {
        status: word.to_owned(),
        protocol: PROTOCOL,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    (status, Json(body))
}

/// `GET /api/v1/paper-key`: the server's public paper key (hex SPKI DER, ECDH P-256), which
/// devices encrypt the ballot papers of a changes file to (`crate::paper_key`).
pub(crate) async fn paper_key<S: Store>(
    State(state): State<AppState<S>>,
) -> Result<impl axum::response::IntoResponse, crate::error::ApiError> {
    let key = state.paper_key().await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        key.public_hex().to_owned(),
    ))
}
