//! `POST /api/v1/sync`: push the device's outbox, then pull changes since its cursor.
//! The protocol is described in `shared::protocol`.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use shared::protocol::{
    MAX_PULL_LIMIT, OutcomeStatus, PROTOCOL, ProtocolVersion, SyncRequest, SyncResponse,
};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::{AppState, Store};

pub(crate) async fn sync<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Json<SyncResponse>, ApiError> {
    let Json(value) =
        body.map_err(|r| ApiError::from_json_rejection(r, state.limits.max_body_bytes))?;
    let req = parse(value)?;
    if req.mutations.len() > state.limits.max_batch {
        return Err(ApiError::BatchTooLarge {
            got: req.mutations.len(),
            max: state.limits.max_batch,
        });
    }
    if req.device_id != auth.device {
        return Err(ApiError::Malformed(
            "device_id is not the device this token was issued to".into(),
        ));
    }
    let outcomes = if req.mutations.is_empty() {
        Vec::new()
    } else {
        let outcomes = state
            .store
            .push(&auth.principal, auth.device, &req.mutations)
            .await?;
        if outcomes
            .iter()
            .any(|o| matches!(o.status, OutcomeStatus::Applied { .. }))
        {
            // Nobody listening is fine.
            let _ = state.events.send(());
        }
        outcomes
    };
    let limit = req.limit.unwrap_or(MAX_PULL_LIMIT).clamp(1, MAX_PULL_LIMIT);
    let blocks = auth.principal.readable_blocks();
    let page = state
        .store
        .pull(blocks.as_deref(), req.cursor, limit)
        .await?;
    Ok(Json(SyncResponse {
        protocol: PROTOCOL,
        outcomes,
        changes: page.changes,
        cursor: page.cursor,
        more: page.more,
    }))
}

/// Checks the protocol version before the shape, so a client of another major version is
/// told to update rather than that its request is malformed.
fn parse(value: serde_json::Value) -> Result<SyncRequest, ApiError> {
    let version = value
        .get("protocol")
        .cloned()
        .map(serde_json::from_value::<ProtocolVersion>);
    match version {
        Some(Ok(v)) if v.major != PROTOCOL.major => {
            return Err(ApiError::UnsupportedProtocol {
                got: v,
                ours: PROTOCOL,
            });
        }
        Some(Ok(_)) => {}
        Some(Err(e)) => return Err(ApiError::Malformed(format!("protocol: {e}"))),
        None => return Err(ApiError::Malformed("missing field `protocol`".into())),
    }
    serde_json::from_value(value).map_err(|e| ApiError::Malformed(e.to_string()))
}
