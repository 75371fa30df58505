//! This device's signing key, through the browser's SubtleCrypto: an ECDSA P-256 key pair
//! made once per device with a private key that cannot be exported, kept in IndexedDB (a
//! `CryptoKey` is stored as it is, never as bytes), its public half registered with the
//! server at sign-in or join. It signs changes files (`shared::changes_file`), so whoever
//! carries a file, or copies the server's database, cannot forge one. No crypto code in the
//! WebAssembly; SubtleCrypto exists only in secure contexts (https, or localhost).

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

fn algorithm(pairs: &[(&str, &str)]) -> Result<Object, String> {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &(*k).into(), &(*v).into()).map_err(failed)?;
    }
    Ok(o)
}

/// A new key pair: the private `CryptoKey` (not extractable) and the public key as hex DER
/// SubjectPublicKeyInfo, what the server's `device_key` expects.
pub async fn new_device_key() -> Result<(web_sys::CryptoKey, String), String> {
    let subtle = subtle()?;
    let alg = algorithm(&[("name", "ECDSA"), ("namedCurve", "P-256")])?;
    let usages = Array::of2(&"sign".into(), &"verify".into());
    let p = subtle
        .generate_key_with_object(&alg, false, &usages)
        .map_err(failed)?;
    let pair = JsFuture::from(p).await.map_err(failed)?;
    let get = |k: &str| -> Result<web_sys::CryptoKey, String> {
        Reflect::get(&pair, &k.into())
            .map_err(failed)
            .map(JsCast::unchecked_into)
    };
    let (private, public) = (get("privateKey")?, get("publicKey")?);
    let p = subtle.export_key("spki", &public).map_err(failed)?;
    Ok((private, hex(&JsFuture::from(p).await.map_err(failed)?)))
}

/// Lowercase hex ECDSA P-256 / SHA-256 signature (r‖s) of `data` by `key`.
pub async fn sign_hex(key: &web_sys::CryptoKey, data: &[u8]) -> Result<String, String> {
    let alg = algorithm(&[("name", "ECDSA"), ("hash", "SHA-256")])?;
    let p = subtle()?
        .sign_with_object_and_u8_array(&alg, key, data)
        .map_err(failed)?;
    Ok(hex(&JsFuture::from(p).await.map_err(failed)?))
}
