//! `POST /api/v1/changes-file`: imports a changes file (`shared::changes_file`) carried from
//! a device that had no network. Any signed-in account may carry one in; the mutations apply
//! as the device and account that signed it (`crate::device_key`), under that account's rights, in batches through
//! the same store path as a sync, so a second import answers `duplicate` for every one.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use serde::Serialize;
use shared::changes_file::ChangesFile;
use shared::protocol::{Outcome, OutcomeStatus};

use crate::auth::PageAuth;
use crate::error::ApiError;
use crate::{AppState, Store};

/// What an import did.
#[derive(Debug, Serialize)]
pub(crate) struct ImportReply {
    /// The device whose changes these were.
    device_id: uuid::Uuid,
    /// Mutations applied now.
    applied: usize,
    /// Mutations the server already had.
    duplicate: usize,
    /// Mutations refused by the rules (each outcome says why).
    rejected: usize,
    /// One outcome per mutation, in the file's order.
    outcomes: Vec<Outcome>,
}

/// The import.
pub(crate) async fn import<S: Store>(
    State(state): State<AppState<S>>,
    PageAuth(_carrier): PageAuth,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ImportReply>, ApiError> {
    let body = body.map_err(|r| {
        if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge {
                limit: state.limits.max_body_bytes,
            }
        } else {
            ApiError::Malformed(r.body_text())
        }
    })?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::Malformed("a changes file is UTF-8 JSON".into()))?;
    let file = ChangesFile::decode(text).map_err(|e| ApiError::Malformed(e.to_string()))?;
    let sealed = file.sealed_bytes();
    let mut signer = None;
    for (key, account) in state
        .store
        .device_keys(file.device_id, crate::store::now_ms())
        .await?
    {
        if crate::device_key::verifies(&key, &sealed, &file.signature) {
            signer = Some(account);
            break;
        }
    }
    let account = signer.ok_or(ApiError::Tampered(file.device_id))?;
    // The papers open with the server's key, after the signature check; each must be a
    // ballot paper of the device that signed the file.
    let mut file = file;
    if !file.papers.is_empty() {
        let key = state.paper_key().await?;
        for paper in std::mem::take(&mut file.papers) {
            let plain = key.open(&paper).map_err(ApiError::Malformed)?;
            let m: shared::mutation::Mutation = serde_json::from_slice(&plain)
                .map_err(|e| ApiError::Malformed(format!("a sealed paper: {e}")))?;
            if !matches!(m.op, shared::mutation::Op::CastVote { .. }) {
                return Err(ApiError::Malformed(
                    "a sealed paper holds a ballot paper only".into(),
                ));
            }
            file.mutations.push(m);
        }
    }
    // A tablet whose clock ran ahead exports stamps the server refuses: its owner sets the
    // clock, lets the app re-stamp (it does on its next sync) or exports again.
    crate::routes::check_clock(&state.limits, &file.mutations, file.device_id)?;
    let principal = state.store.principal(account).await?;
    // Normalised after the signature check: the device signed what it typed.
    let mutations: Vec<_> = file
        .mutations
        .into_iter()
        .map(crate::nfc::mutation)
        .collect();
    let mut outcomes = Vec::with_capacity(mutations.len());
    for batch in mutations.chunks(state.limits.max_batch.max(1)) {
        outcomes.extend(state.store.push(&principal, file.device_id, batch).await?);
    }
    let count = |f: fn(&OutcomeStatus) -> bool| outcomes.iter().filter(|o| f(&o.status)).count();
    let applied = count(|s| matches!(s, OutcomeStatus::Applied { .. }));
    if applied > 0 {
        let _ = state.events.send(());
    }
    Ok(Json(ImportReply {
        device_id: file.device_id,
        applied,
        duplicate: count(|s| matches!(s, OutcomeStatus::Duplicate)),
        rejected: count(|s| matches!(s, OutcomeStatus::Rejected { .. })),
        outcomes,
    }))
}
