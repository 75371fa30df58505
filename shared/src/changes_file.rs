//! Moving a device's unsynced changes without a network: a changes file (tệp thay đổi).
//!
//! A device with no connection for days writes its outbox to a JSON file; someone carries it
//! to a device or office that has one, which uploads it. The server applies the mutations as
//! the device that made them, through the same rules and idempotency keys as a sync: importing
//! twice changes nothing, and the device's own later sync answers `duplicate`.
//!
//! The file is signed with the device's own key: an ECDSA P-256 key pair made on the device
//! (SubtleCrypto, the private key not extractable), whose public key the device registered
//! when it signed in or joined. The signature (SHA-256, the 64-byte r‖s form SubtleCrypto
//! writes) covers [`ChangesFile::sealed_bytes`]; the server verifies it with the registered
//! public key, so nothing the server stores can forge a file, not even a copy of its
//! database. A file altered after export, signed by another key, or from a device whose
//! sign-ins are all revoked or expired is refused whole. The crypto itself is done by each
//! side (the browser's SubtleCrypto, the server's `p256`), so this crate stays pure.
//! Version 1 files (sealed with an HMAC keyed by the token's hash, which the database
//! stores) are no longer read: export them again.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::mutation::Mutation;

/// The `format` a changes file declares.
pub const FORMAT: &str = "thidua-changes";
/// The file layout's version.
pub const VERSION: u32 = 2;

/// A device's unsynced changes, sealed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangesFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// The device that made the changes.
    pub device_id: Uuid,
    /// When the file was written, ms since the epoch (device clock).
    pub created_ms: u64,
    /// The outbox, oldest first, but for its ballot papers.
    pub mutations: Vec<Mutation>,
    /// The outbox's ballot papers (`cast_vote` mutations), each encrypted to the server's
    /// paper key, so the carrier cannot read them. Sealed like the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub papers: Vec<SealedPaper>,
    /// Lowercase hex ECDSA P-256 / SHA-256 signature (r‖s, 64 bytes) of the sealed bytes,
    /// by the device's registered key.
    #[serde(default)]
    pub signature: String,
}

/// One ballot paper encrypted to the server (ECIES over P-256 with AES-256-GCM; the
/// server's `paper_key` module describes the envelope).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedPaper {
    /// The ephemeral public key, hex SPKI DER.
    pub key: String,
    /// The mutation's JSON, encrypted, with its tag, hex.
    pub data: String,
}

/// Why a changes file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// Not JSON, or not this shape.
    #[error("not a changes file: {0}")]
    Malformed(String),
    /// Another format or a newer version.
    #[error(
        "a changes file of format {format} version {version}; this server reads {FORMAT} version {VERSION}"
    )]
    Unsupported {
        /// Its format.
        format: String,
        /// Its version.
        version: u32,
    },
}

impl FileError {
    /// The message in Vietnamese.
    pub fn message_vi(&self) -> String {
        match self {
            FileError::Malformed(why) => format!("Không phải tệp thay đổi của ThiĐua: {why}"),
            FileError::Unsupported { .. } => {
                "Tệp thay đổi có định dạng hoặc phiên bản khác, máy chủ này không đọc được".into()
            }
        }
    }
}

impl ChangesFile {
    /// A file for `mutations`, unsigned (`signature` empty).
    pub fn new(device_id: Uuid, created_ms: u64, mutations: Vec<Mutation>) -> ChangesFile {
        ChangesFile {
            format: FORMAT.into(),
            version: VERSION,
            device_id,
            created_ms,
            mutations,
            papers: Vec::new(),
            signature: String::new(),
        }
    }

    /// The bytes the signature covers: the file's JSON with `signature` empty, written through a
    /// `serde_json::Value`, whose objects keep their keys sorted, so both sides write the same
    /// bytes. (Through a `Value` the app also keeps one copy of each type's serde code.)
    pub fn sealed_bytes(&self) -> Vec<u8> {
        let unsealed = ChangesFile {
            signature: String::new(),
            ..self.clone()
        };
        serde_json::to_value(&unsealed)
            .map(|v| v.to_string().into_bytes())
            .unwrap_or_default()
    }

    /// Reads a file: its shape, format and version (not its seal).
    pub fn decode(text: &str) -> Result<ChangesFile, FileError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| FileError::Malformed(e.to_string()))?;
        let format = value.get("format").and_then(|f| f.as_str()).unwrap_or("");
        let version = value.get("version").and_then(serde_json::Value::as_u64);
        if format != FORMAT || version != Some(u64::from(VERSION)) {
            return Err(FileError::Unsupported {
                format: format.to_owned(),
                version: version.and_then(|v| u32::try_from(v).ok()).unwrap_or(0),
            });
        }
        crate::tree::from_value(value).map_err(|e| FileError::Malformed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hlc::Hlc;
    use crate::mutation::Op;

    fn file() -> ChangesFile {
        let node = Uuid::from_u128(9);
        let m = Mutation {
            id: Uuid::from_u128(1),
            hlc: Hlc {
                ms: 5,
                counter: 0,
                node,
            },
            op: Op::set(Uuid::from_u128(2), "title", serde_json::json!("Tiêu chí")),
        };
        ChangesFile::new(node, 7, vec![m])
    }

    #[test]
    fn a_file_reads_back_and_its_seal_covers_everything_but_the_signature() {
        let mut f = file();
        let unsealed = f.sealed_bytes();
        f.signature = "ab".repeat(64);
        assert_eq!(f.sealed_bytes(), unsealed, "the signature is not signed");
        let text = serde_json::to_string(&f).expect("json");
        let back = ChangesFile::decode(&text).expect("decode");
        assert_eq!(back, f);
        assert_eq!(
            back.sealed_bytes(),
            unsealed,
            "the same bytes after a round trip"
        );
        let mut other = f.clone();
        other.created_ms += 1;
        assert_ne!(other.sealed_bytes(), unsealed, "every field is sealed");
    }

    #[test]
    fn other_files_are_refused_with_a_reason() {
        assert!(matches!(
            ChangesFile::decode("not json"),
            Err(FileError::Malformed(_))
        ));
        assert!(matches!(
            ChangesFile::decode("{\"format\":\"thidua-changes\",\"version\":1}"),
            Err(FileError::Unsupported { version: 1, .. })
        ));
        assert!(matches!(
            ChangesFile::decode("{\"format\":\"csv\",\"version\":2}"),
            Err(FileError::Unsupported { .. })
        ));
        let mut v = serde_json::to_value(file()).expect("json");
        v["extra"] = serde_json::json!(1);
        let e = ChangesFile::decode(&v.to_string()).expect_err("unknown field");
        assert!(e.to_string().contains("extra"), "{e}");
        assert!(!e.message_vi().is_empty());
    }
}
