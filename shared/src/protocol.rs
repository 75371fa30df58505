//! The sync protocol's wire types (`POST /api/v1/sync`, `GET /api/v1/health`).
//!
//! One request pushes the device's outbox and pulls what changed since its cursor:
//! 1. Push. The batch is applied in one transaction. Each mutation id is applied at most once:
//!    a retried mutation answers `duplicate`. If any mutation breaks a rule, nothing of the
//!    batch is written and the server answers 422 `mutation_rejected` listing each rejected
//!    mutation with its code; the client sets those aside, visible with their reason, and
//!    pushes the rest again, so one bad change never stalls the queue.
//! 2. Pull. Records whose server sequence is above `cursor`, in sequence order, at most
//!    `limit`; `more` says another page waits. The client stores them, then replays its own
//!    pending mutations on top, and keeps the returned cursor.
//!
//! Changing these types is a protocol change: a new field must be optional and bump the
//! minor version; anything else bumps the major, which old servers refuse with
//! `unsupported_protocol`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use std::collections::BTreeMap;

use crate::hlc::Hlc;
use crate::model::Record;
use crate::mutation::{FieldClocks, Mutation};

/// This build's protocol version.
pub const PROTOCOL: ProtocolVersion = ProtocolVersion { major: 1, minor: 0 };

/// Largest page of changes a server sends, whatever the client asks.
pub const MAX_PULL_LIMIT: u32 = 1000;

/// A protocol version; servers accept their own major and any minor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolVersion {
    /// Incompatible changes.
    pub major: u32,
    /// Compatible additions.
    pub minor: u32,
}

/// `GET /api/v1/health`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// "ok" when the database answers.
    pub status: String,
    /// The server's protocol version.
    pub protocol: ProtocolVersion,
    /// The server's build version.
    pub version: String,
}

/// `POST /api/v1/sync` request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// The client's protocol version.
    pub protocol: ProtocolVersion,
    /// The device sending.
    pub device_id: Uuid,
    /// The highest server sequence the device has stored (0 at first).
    pub cursor: u64,
    /// Page size wanted; the server caps it at `MAX_PULL_LIMIT`.
    #[serde(default)]
    pub limit: Option<u32>,
    /// The outbox, oldest first.
    #[serde(default)]
    pub mutations: Vec<Mutation>,
}

/// `POST /api/v1/sync` answer when the push went through.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// The server's protocol version.
    pub protocol: ProtocolVersion,
    /// One outcome per pushed mutation, in request order.
    pub outcomes: Vec<Outcome>,
    /// Records changed since the cursor, in sequence order.
    pub changes: Vec<Change>,
    /// The cursor to send next time.
    pub cursor: u64,
    /// Whether more changes wait beyond this page.
    pub more: bool,
}

/// What became of one pushed mutation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The mutation.
    pub mutation_id: Uuid,
    /// Applied now, or already applied before.
    #[serde(flatten)]
    pub status: OutcomeStatus,
}

/// Applied or duplicate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// Applied by this request; `seq` is the record's new server sequence.
    Applied {
        /// Server sequence.
        seq: u64,
    },
    /// Applied by an earlier request (a retry); nothing changed.
    Duplicate,
}

/// One changed record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Its server sequence.
    pub seq: u64,
    /// The record as it now stands.
    pub record: Record,
    /// The stamp that last wrote each field; a device folds them into its clock, so its next
    /// edit orders after everything it has seen even when its own wall clock is behind.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub clocks: FieldClocks,
}

impl Change {
    /// The newest stamp on the record, if any field was ever edited.
    pub fn latest_stamp(&self) -> Option<Hlc> {
        self.clocks.values().max().copied()
    }
}

/// A mutation the server refused, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The mutation.
    pub mutation_id: Uuid,
    /// Machine code, e.g. `unknown_entity`.
    pub code: String,
    /// English message.
    pub message: String,
    /// Vietnamese message.
    pub message_vi: String,
}

/// Every API error body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine code (see `ErrorCode`).
    pub code: ErrorCode,
    /// English message.
    pub message: String,
    /// Vietnamese message.
    pub message_vi: String,
    /// For `mutation_rejected`: each refused mutation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<Rejection>,
}

/// API error codes a client can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not valid JSON of the expected shape (fix the client; do not retry).
    MalformedRequest,
    /// The body is not JSON at all (wrong content type).
    UnsupportedMediaType,
    /// The client speaks another major protocol version (update the app).
    UnsupportedProtocol,
    /// The body is larger than the server accepts (send smaller batches).
    PayloadTooLarge,
    /// More mutations in one push than the server accepts (send smaller batches).
    BatchTooLarge,
    /// Some mutations break a rule; nothing was written (set them aside, push the rest).
    MutationRejected,
    /// No such route or resource.
    NotFound,
    /// The server or its database failed; retry later.
    Internal,
    /// The server is starting or stopping; retry later.
    Unavailable,
}

impl ErrorCode {
    /// Whether retrying the same request later can succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorCode::Internal | ErrorCode::Unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_wire_shape_is_flat() {
        let o = Outcome {
            mutation_id: Uuid::nil(),
            status: OutcomeStatus::Applied { seq: 42 },
        };
        let v = serde_json::to_value(&o).expect("json");
        assert_eq!(v["status"], "applied");
        assert_eq!(v["seq"], 42);
        let d: Outcome = serde_json::from_value(serde_json::json!({
            "mutation_id": Uuid::nil(), "status": "duplicate"
        }))
        .expect("parse");
        assert_eq!(d.status, OutcomeStatus::Duplicate);
    }

    #[test]
    fn request_refuses_unknown_fields() {
        let v = serde_json::json!({
            "protocol": {"major": 1, "minor": 0},
            "device_id": Uuid::nil(), "cursor": 0, "mutations": [], "bogus": true
        });
        assert!(serde_json::from_value::<SyncRequest>(v).is_err());
    }
}
