//! The sync protocol's wire types (`POST /api/v1/sync`, `GET /api/v1/health`).
//!
//! One request pushes the device's outbox and pulls what changed since its cursor:
//! 0. Auth. Every call but health, login and join carries `Authorization: Bearer <token>`, a
//!    per-device token from `POST /api/v1/auth/login` or `/auth/join` (a one-time code).
//! 1. Push. The batch is applied in one transaction, in order, each mutation seeing the ones
//!    before it. Each mutation id is applied at most once: a retried mutation answers
//!    `duplicate`. A mutation that breaks a rule or the author's rights answers `rejected`
//!    with a code and messages and writes nothing; the others of the batch still apply. The
//!    client sets rejected ones aside, visible with their reason, so the queue never stalls.
//! 2. Pull. Records whose server sequence is above `cursor`, in sequence order, at most
//!    `limit`; `more` says another page waits. The client stores them, then replays its own
//!    pending mutations on top, and keeps the returned cursor.
//!
//! Changing these types is a protocol change: a new field must be optional and bump the
//! minor version; anything else bumps the major, which old servers refuse with
//! `unsupported_protocol`.

use serde::{Deserialize, Deserializer, Serialize, de};
use uuid::Uuid;

use std::collections::BTreeMap;

use crate::hlc::Hlc;
use crate::model::Record;
use crate::mutation::{FieldClocks, Mutation};
use crate::tagged;

/// This build's protocol version.
pub const PROTOCOL: ProtocolVersion = ProtocolVersion { major: 2, minor: 1 };

/// Largest page of changes a server sends, whatever the client asks.
pub const MAX_PULL_LIMIT: u32 = 5000;

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

/// Why a sync request body could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The client speaks another major version: it should update, not retry.
    #[error("protocol {}.{} is not supported (this server speaks {}.{})", got.major, got.minor, ours.major, ours.minor)]
    Unsupported {
        /// The client's version.
        got: ProtocolVersion,
        /// Ours.
        ours: ProtocolVersion,
    },
    /// Not a sync request: what is wrong, as serde_json words it.
    #[error("{0}")]
    Malformed(String),
}

/// Reads a sync request body. The protocol version is read first, so that a client of
/// another major version is told to update rather than that its request is malformed.
pub fn decode_request(body: &str) -> Result<SyncRequest, RequestError> {
    /// Only the version.
    #[derive(Deserialize)]
    struct Probe {
        protocol: Option<serde_json::Value>,
    }
    let malformed = |e: serde_json::Error| RequestError::Malformed(e.to_string());
    let probe: Probe = serde_json::from_str(body).map_err(malformed)?;
    let Some(protocol) = probe.protocol else {
        return Err(RequestError::Malformed("missing field `protocol`".into()));
    };
    let got: ProtocolVersion = serde_json::from_value(protocol)
        .map_err(|e| RequestError::Malformed(format!("protocol: {e}")))?;
    if got.major != PROTOCOL.major {
        return Err(RequestError::Unsupported {
            got,
            ours: PROTOCOL,
        });
    }
    serde_json::from_str(body).map_err(malformed)
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
    /// The server's paper key (hex SPKI DER, ECDH P-256), on the last page of a pull: the
    /// ballot papers of a changes file are sealed to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper_key: Option<String>,
}

/// What became of one pushed mutation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The mutation.
    pub mutation_id: Uuid,
    /// Applied now, or already applied before.
    #[serde(flatten)]
    pub status: OutcomeStatus,
}

/// Applied, duplicate or rejected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// Applied by this request; `seq` is the record's new server sequence.
    Applied {
        /// Server sequence.
        seq: u64,
    },
    /// Applied by an earlier request (a retry); nothing changed.
    Duplicate,
    /// Refused; nothing of it was written. Pushing it again gives the same answer.
    Rejected {
        /// Machine code, e.g. `round_locked` (see `DomainError::code`).
        code: String,
        /// English message.
        message: String,
        /// Vietnamese message.
        message_vi: String,
    },
}

impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (tag, body) = tagged::split(d, "status")?;
        let mut fields = tagged::fields(body);
        let mutation_id = fields
            .remove("mutation_id")
            .ok_or_else(|| de::Error::missing_field("mutation_id"))?;
        Ok(Outcome {
            mutation_id: tagged::body(mutation_id)?,
            status: OutcomeStatus::from_tagged(&tag, serde_json::Value::Object(fields))?,
        })
    }
}

impl<'de> Deserialize<'de> for OutcomeStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (tag, body) = tagged::split(d, "status")?;
        OutcomeStatus::from_tagged(&tag, body)
    }
}

impl OutcomeStatus {
    fn from_tagged<E: de::Error>(tag: &str, body: serde_json::Value) -> Result<Self, E> {
        const VARIANTS: &[&str] = &["applied", "duplicate", "rejected"];
        Ok(match tag {
            "applied" => {
                let b: status_body::Applied = tagged::body(body)?;
                OutcomeStatus::Applied { seq: b.seq }
            }
            "duplicate" => OutcomeStatus::Duplicate,
            "rejected" => {
                let b: status_body::Rejected = tagged::body(body)?;
                OutcomeStatus::Rejected {
                    code: b.code,
                    message: b.message,
                    message_vi: b.message_vi,
                }
            }
            other => return Err(tagged::unknown(other, VARIANTS)),
        })
    }
}

/// The variants' fields, for `OutcomeStatus`'s tagged deserialisation.
mod status_body {
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub(super) struct Applied {
        pub seq: u64,
    }

    #[derive(Deserialize)]
    pub(super) struct Rejected {
        pub code: String,
        pub message: String,
        pub message_vi: String,
    }
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
    /// The record was deleted: drop it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl Change {
    /// The newest stamp on the record, if any field was ever edited.
    pub fn latest_stamp(&self) -> Option<Hlc> {
        self.clocks.values().max().copied()
    }
}

impl Outcome {
    /// The rejection, if the server refused the mutation.
    pub fn rejection(&self) -> Option<Rejection> {
        match &self.status {
            OutcomeStatus::Rejected {
                code,
                message,
                message_vi,
            } => Some(Rejection {
                mutation_id: self.mutation_id,
                code: code.clone(),
                message: message.clone(),
                message_vi: message_vi.clone(),
            }),
            _ => None,
        }
    }
}

/// A mutation the server refused, and why (kept on the device with the mutation).
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
    /// The server's clock (ms since the Unix epoch), with `clock_ahead`: the device re-stamps
    /// its pending edits from it and retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_ms: Option<u64>,
    /// Seconds to wait before trying again, with `rate_limited` (also the `Retry-After` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
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
    /// No valid token: sign in again (or join with a new code).
    Unauthorized,
    /// The account may not do this.
    Forbidden,
    /// The one-time code is unknown, used or expired.
    InvalidCode,
    /// The name is taken, or the record exists already.
    Conflict,
    /// No such route or resource.
    NotFound,
    /// The server or its database failed; retry later.
    Internal,
    /// The server is starting or stopping; retry later.
    Unavailable,
    /// A changes file altered after export, or not sealed by the device it names (do not
    /// retry; export it again from the device).
    Tampered,
    /// The domain's rules refuse the change; the message says which (fix it, then retry).
    Refused,
    /// A pushed stamp is too far ahead of the server's clock: re-stamp the pending edits
    /// from `server_ms` and push again.
    ClockAhead,
    /// Too many attempts from this address or on this account: wait `retry_after_secs`.
    RateLimited,
    /// The unit already has its delegate (an account, or a device that joined and is still
    /// signed in): the administrator revokes that device first.
    UnitTaken,
}

impl ErrorCode {
    /// Whether retrying the same request later can succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorCode::Internal | ErrorCode::Unavailable)
    }
}

/// `POST /api/v1/auth/revoke-device`: an administrator signs a device out of every account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeDeviceRequest {
    /// The device.
    pub device_id: Uuid,
}

/// What `POST /api/v1/auth/revoke-device` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeDeviceResponse {
    /// Sign-ins revoked.
    pub revoked: u64,
}

/// `POST /api/v1/auth/login`: a password sign-in that issues this device a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Account name.
    pub username: String,
    /// Password.
    pub password: String,
    /// The device asking.
    pub device_id: Uuid,
    /// A name for the device in the account's device list, e.g. "Máy tính bảng 3".
    #[serde(default)]
    pub device_name: String,
    /// The device's public key (hex DER SubjectPublicKeyInfo of an ECDSA P-256 key), which
    /// verifies the changes files it signs. Made on the device; its private key never leaves it.
    #[serde(default)]
    pub device_key: Option<String>,
}

/// `POST /api/v1/auth/join`: a delegate's tablet joins a block with a one-time code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    /// The code the secretary issued (case and spaces ignored).
    pub code: String,
    /// The device asking.
    pub device_id: Uuid,
    /// A name for the device.
    #[serde(default)]
    pub device_name: String,
    /// The device's public key, as in `LoginRequest`.
    #[serde(default)]
    pub device_key: Option<String>,
}

/// `POST /api/v1/auth/device-key`: a signed-in device registers its public key (a device
/// signed in before it had one, or whose key could not be sent with the sign-in).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceKeyRequest {
    /// Hex DER SubjectPublicKeyInfo of the device's ECDSA P-256 key.
    pub device_key: String,
}

/// A device token and whom it acts for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The bearer token; shown once, stored hashed on the server.
    pub token: String,
    /// When it expires unless used (milliseconds since the Unix epoch); each sync extends it.
    pub expires_ms: u64,
    /// The account and its rights.
    pub principal: crate::access::Principal,
}

/// `POST /api/v1/join-codes`: a secretary issues a one-time code for a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinCodeRequest {
    /// The block.
    pub block_id: Uuid,
    /// The role the code grants (delegate or observer).
    pub role: crate::access::Role,
    /// For a delegate: the member unit.
    #[serde(default)]
    pub unit: Option<Uuid>,
    /// Minutes the code stays valid (default 720, at most 10 080).
    #[serde(default)]
    pub ttl_minutes: Option<u32>,
}

/// A one-time code, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinCodeResponse {
    /// The code, e.g. "K7QM-2XWD".
    pub code: String,
    /// When it expires (milliseconds since the Unix epoch).
    pub expires_ms: u64,
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
