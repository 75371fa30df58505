//! SHA-256 and HMAC-SHA-256 through the browser's SubtleCrypto, for sealing a changes file
//! (`shared::changes_file`): no hashing code in the WebAssembly. SubtleCrypto exists only in
//! secure contexts, which the service worker needs anyway (https, or localhost).

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn subtle() -> Result<web_sys::SubtleCrypto, String> {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.subtle())
        .ok_or_else(|| "SubtleCrypto is not available (needs https)".to_owned())
}

fn failed(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "SubtleCrypto failed".to_owned())
}

fn hex(buffer: &JsValue) -> String {
    Uint8Array::new(buffer)
        .to_vec()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Lowercase hex SHA-256 of `data`.
pub async fn sha256_hex(data: &[u8]) -> Result<String, String> {
    let p = subtle()?
        .digest_with_str_and_u8_array("SHA-256", data)
        .map_err(failed)?;
    Ok(hex(&JsFuture::from(p).await.map_err(failed)?))
}

/// Lowercase hex HMAC-SHA-256 of `data` under `key`.
pub async fn hmac_hex(key: &[u8], data: &[u8]) -> Result<String, String> {
    let subtle = subtle()?;
    let algorithm = Object::new();
    let set = |k: &str, v: &str| Reflect::set(&algorithm, &k.into(), &v.into()).map_err(failed);
    set("name", "HMAC")?;
    set("hash", "SHA-256")?;
    let usages = Array::of1(&"sign".into());
    let key_data: Object = Uint8Array::from(key).unchecked_into();
    let p = subtle
        .import_key_with_object("raw", &key_data, &algorithm, false, &usages)
        .map_err(failed)?;
    let key: web_sys::CryptoKey = JsFuture::from(p).await.map_err(failed)?.unchecked_into();
    let data: Object = Uint8Array::from(data).unchecked_into();
    let p = subtle
        .sign_with_str_and_buffer_source("HMAC", &key, &data)
        .map_err(failed)?;
    Ok(hex(&JsFuture::from(p).await.map_err(failed)?))
}
