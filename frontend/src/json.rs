//! JSON in and out through `serde_json::Value` only, read with `shared::tree` (the reader the
//! merge rules use). One reader for text and trees spares a second and third copy of each
//! type's serde code in the WebAssembly, at the cost of one intermediate tree per document.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// `v` as JSON text.
pub fn to_string<T: Serialize>(v: &T) -> Result<String, serde_json::Error> {
    Ok(serde_json::to_value(v)?.to_string())
}

/// A `T` from JSON text.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    shared::tree::from_value(serde_json::from_str::<serde_json::Value>(text)?)
}
