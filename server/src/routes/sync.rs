//! `POST /api/v1/sync`: push the device's outbox, then pull changes since its cursor.
//! The protocol is described in `shared::protocol`.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use serde_json::value::RawValue;
use shared::protocol::{
    MAX_PULL_LIMIT, Outcome, OutcomeStatus, PROTOCOL, ProtocolVersion, RequestError, SyncRequest,
    decode_request,
};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::{AppState, Store};

/// `shared::protocol::SyncResponse` as the server writes it: pulled records go out as stored.
#[derive(serde::Serialize)]
pub(crate) struct SyncReply {
    protocol: ProtocolVersion,
    outcomes: Vec<Outcome>,
    changes: Box<RawValue>,
    cursor: u64,
    more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    paper_key: Option<String>,
}

pub(crate) async fn sync<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    body: Result<Json<Box<RawValue>>, JsonRejection>,
) -> Result<Json<SyncReply>, ApiError> {
    let Json(value) =
        body.map_err(|r| ApiError::from_json_rejection(r, state.limits.max_body_bytes))?;
    // Decoding, applying and pulling take the memory; a sync waits its turn for them.
    let _turn = state
        .sync_turns
        .acquire()
        .await
        .map_err(|_| ApiError::Unavailable("shutting down"))?;
    let mut req = parse(&value)?;
    req.mutations = std::mem::take(&mut req.mutations)
        .into_iter()
        .map(crate::nfc::mutation)
        .collect();
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
    crate::routes::check_clock(&state.limits, &req.mutations, auth.device)?;
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
    // The paper key rides on the last page; a sync never fails for want of it.
    let paper_key = if page.more {
        None
    } else {
        state
            .paper_key()
            .await
            .ok()
            .map(|k| k.public_hex().to_owned())
    };
    Ok(Json(SyncReply {
        protocol: PROTOCOL,
        outcomes,
        changes: page.changes,
        cursor: page.cursor,
        more: page.more,
        paper_key,
    }))
}

/// Checks the protocol version, then the shape (`shared::protocol::decode_request`).
fn parse(raw: &RawValue) -> Result<SyncRequest, ApiError> {
    decode_request(raw.get()).map_err(|e| match e {
        RequestError::Unsupported { got, ours } => ApiError::UnsupportedProtocol { got, ours },
        RequestError::Malformed(reason) => ApiError::Malformed(reason),
    })
}
