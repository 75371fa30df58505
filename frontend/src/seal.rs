//! This device's signing key, through the browser's SubtleCrypto: an ECDSA P-256 key pair
//! made once per device with a private key that cannot be exported, kept in IndexedDB (a
//! `CryptoKey` is stored as it is, never as bytes), its public half registered with the
//! server at sign-in or join. It signs changes files (`shared::changes_file`), so whoever
//! carries a file, or copies the server's database, cannot forge one. No crypto code in the
//! WebAssembly; SubtleCrypto exists only in secure contexts (https, or localhost).
//!
//! It also seals the ballot papers a changes file carries to the server's paper key, so
//! the carrier cannot read them: ECIES as the server's `paper_key` module opens it (a fresh
//! ECDH P-256 key per paper, AES-256-GCM keyed by SHA-256(Z ‖ 00000001 ‖ ephemeral SPKI),
//! a zero nonce since each key seals one paper).
//!
//! The calls to SubtleCrypto are a few lines of JavaScript beside the module (a
//! wasm-bindgen snippet): the same steps bound one by one from Rust cost the shell ~3 kB.

use js_sys::Array;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(
    inline_js = "const S=()=>{if(!globalThis.crypto||!crypto.subtle)throw Error('SubtleCrypto needs https');return crypto.subtle},H=b=>Array.from(new Uint8Array(b),x=>x.toString(16).padStart(2,'0')).join(''),P=(n,x,u)=>S().generateKey({name:n,namedCurve:'P-256'},x,u);export async function newKey(){const p=await P('ECDSA',false,['sign','verify']);return[p.privateKey,H(await S().exportKey('spki',p.publicKey))]}export async function sign(k,d){return H(await S().sign({name:'ECDSA',hash:'SHA-256'},k,d))}export async function sealPaper(h,d){const s=S(),e={name:'ECDH',namedCurve:'P-256'},v=await s.importKey('spki',Uint8Array.from(h.match(/../g)||[],x=>parseInt(x,16)),e,false,[]),p=await P('ECDH',true,['deriveBits']),q=new Uint8Array(await s.exportKey('spki',p.publicKey)),z=new Uint8Array(await s.deriveBits({name:'ECDH',public:v},p.privateKey,256)),m=new Uint8Array(z.length+4+q.length);m.set(z);m.set([0,0,0,1],z.length);m.set(q,z.length+4);const k=await s.importKey('raw',await s.digest('SHA-256',m),'AES-GCM',false,['encrypt']);return[H(q),H(await s.encrypt({name:'AES-GCM',iv:new Uint8Array(12)},k,d))]}"
)]
extern "C" {
    #[wasm_bindgen(catch, js_name = newKey)]
    async fn js_new_key() -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = sign)]
    async fn js_sign(key: &JsValue, data: &[u8]) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = sealPaper)]
    async fn js_seal_paper(server: &str, data: &[u8]) -> Result<JsValue, JsValue>;
}

fn failed(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "SubtleCrypto failed".to_owned())
}

/// The two members of a `[a, b]` answer.
fn two(v: Result<JsValue, JsValue>) -> Result<(JsValue, JsValue), String> {
    let a: Array = v.map_err(failed)?.unchecked_into();
    Ok((a.get(0), a.get(1)))
}

/// A new key pair: the private `CryptoKey` (not extractable) and the public key as hex DER
/// SubjectPublicKeyInfo, what the server's `device_key` expects.
pub async fn new_device_key() -> Result<(web_sys::CryptoKey, String), String> {
    let (private, public) = two(js_new_key().await)?;
    Ok((
        private.unchecked_into(),
        public.as_string().unwrap_or_default(),
    ))
}

/// Lowercase hex ECDSA P-256 / SHA-256 signature (r‖s) of `data` by `key`.
pub async fn sign_hex(key: &web_sys::CryptoKey, data: &[u8]) -> Result<String, String> {
    Ok(js_sign(key, data)
        .await
        .map_err(failed)?
        .as_string()
        .unwrap_or_default())
}

/// Seals `plain` (a ballot paper's JSON) to the server's paper key `server_hex` (hex SPKI):
/// the ephemeral public key and the ciphertext, both hex.
pub async fn seal_paper(server_hex: &str, plain: &[u8]) -> Result<(String, String), String> {
    let (key, data) = two(js_seal_paper(server_hex, plain).await)?;
    Ok((
        key.as_string().unwrap_or_default(),
        data.as_string().unwrap_or_default(),
    ))
}
