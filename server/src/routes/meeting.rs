//! `PUT /api/v1/blocks/{id}/meeting`: the year-end meeting's details (place, date, chair,
//! secretary, absent units) as the minutes print them, saved from the documents page. It is
//! one field update of the block, made as the caller's device through the same store path
//! and rules as a sync, so it merges, syncs to every device and is audited like any edit.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use shared::hlc::Hlc;
use shared::model::MeetingDetails;
use shared::mutation::{Mutation, Op};
use shared::protocol::OutcomeStatus;
use uuid::Uuid;

use crate::auth::PageAuth;
use crate::error::ApiError;
use crate::{AppState, Store};

/// Saves the meeting's details and answers them as stored.
pub(crate) async fn put_meeting<S: Store>(
    State(state): State<AppState<S>>,
    PageAuth(auth): PageAuth,
    path: Result<Path<Uuid>, PathRejection>,
    body: Result<Json<MeetingDetails>, JsonRejection>,
) -> Result<Json<MeetingDetails>, ApiError> {
    let Path(block) = path.map_err(|r| ApiError::Malformed(r.body_text()))?;
    let Json(meeting) =
        body.map_err(|r| ApiError::from_json_rejection(r, state.limits.max_body_bytes))?;
    let value = serde_json::to_value(&meeting)
        .map_err(|e| ApiError::Internal(crate::StoreError::Other(Box::new(e))))?;
    let m = Mutation {
        id: Uuid::now_v7(),
        hlc: Hlc {
            ms: u64::try_from(crate::store::now_ms()).unwrap_or(0),
            counter: 0,
            node: auth.device,
        },
        op: Op::Update {
            id: block,
            fields: [("meeting".to_owned(), value)].into_iter().collect(),
        },
    };
    let outcome = state
        .store
        .push(&auth.principal, auth.device, std::slice::from_ref(&m))
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    match outcome.status {
        OutcomeStatus::Rejected {
            code,
            message,
            message_vi,
        } => Err(match code.as_str() {
            "forbidden" => ApiError::Forbidden("only the block's secretary records the meeting"),
            "unknown_entity" => ApiError::NotFound,
            _ => ApiError::Refused {
                en: message,
                vi: message_vi,
            },
        }),
        _ => {
            let _ = state.events.send(());
            Ok(Json(meeting))
        }
    }
}
