//! Authentication: argon2id passwords, per-device bearer tokens and one-time join codes.
//!
//! Tokens and codes are random and stored only as SHA-256 hashes, so a copy of the database
//! lets nobody in. A token lasts `TOKEN_TTL_MS` from its last use (a tablet may stay offline
//! for weeks and still sync) until revoked. The `Auth` extractor resolves the bearer token to
//! the account's `Principal` on every request.
//!
//! Server pages, documents and the event stream are opened by the browser, which cannot
//! send a header: they take a page session instead (`PageAuth`), an HttpOnly cookie made
//! from a signed-in device's token (`POST /auth/page-session`), dying with that token. A
//! device token never travels in an address.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use sha2::{Digest, Sha256};
use shared::access::Principal;
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;
use crate::store::{Store, now_ms};

/// How long a token stays valid after its last use: 60 days.
pub const TOKEN_TTL_MS: i64 = 60 * 24 * 3600 * 1000;
/// A token's use is recorded at most this often (saves a write per request).
const TOUCH_EVERY_MS: i64 = 3600 * 1000;
/// Letters of join codes: no 0/O, 1/I/L, so a code read aloud or typed survives.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// Random bytes from the OS.
fn random<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|_| ApiError::Unavailable("no randomness"))?;
    Ok(b)
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// SHA-256 of a token or normalised code, in hex: what the database keeps.
pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// A new random token (256 bits, hex) and its hash.
pub fn new_token() -> Result<(String, String), ApiError> {
    let token = hex(&random::<32>()?);
    let hash = hash_secret(&token);
    Ok((token, hash))
}

/// A new one-time code like `K7QM-2XWD` (about 40 bits: with expiry and single use, enough).
pub fn new_code() -> Result<String, ApiError> {
    let bytes = random::<8>()?;
    let mut code = String::with_capacity(9);
    for (i, b) in bytes.iter().enumerate() {
        if i == 4 {
            code.push('-');
        }
        code.push(char::from(
            CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()],
        ));
    }
    Ok(code)
}

/// A code as typed ("k7qm 2xwd") in its stored form ("K7QM2XWD").
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// An argon2id hash (PHC string) of `password`. Slow on purpose: run it off the async pool.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt =
        SaltString::encode_b64(&random::<16>()?).map_err(|_| ApiError::Unavailable("salt"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| ApiError::Unavailable("password hashing"))
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// `verify_password`, computing in `memory` (grown to the hash's size and kept by the
/// caller): each sign-in reuses one buffer per hashing slot instead of allocating ~19 MiB
/// that the allocator keeps afterwards, so the server's memory stays flat under a flood.
pub fn verify_password_in(password: &str, hash: &str, memory: &mut Vec<argon2::Block>) -> bool {
    use argon2::{Algorithm, Params, Version};
    let Ok(h) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(alg), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(h.algorithm),
        Params::try_from(&h),
        h.salt,
        h.hash,
    ) else {
        return false;
    };
    let Ok(version) = h.version.map_or(Ok(Version::default()), Version::try_from) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let Ok(params) = Params::new(
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        Some(expected.len()),
    ) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    if Argon2::new(alg, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..blocks])
        .is_err()
    {
        return false;
    }
    // `Output`'s equality is constant-time.
    argon2::password_hash::Output::new(&out).is_ok_and(|o| o == expected)
}

/// Checks a new password: long enough to resist guessing at a meeting hall's pace.
pub fn check_new_password(password: &str) -> Result<(), String> {
    if password.chars().count() < 10 {
        return Err("a password needs at least 10 characters".into());
    }
    Ok(())
}

/// The client's address, when the server knows it (not under `oneshot` tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Store> FromRequestParts<AppState<S>> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S>,
    ) -> Result<Self, Self::Rejection> {
        if state.limits.trust_proxy
            && let Some(ip) = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|ip| ip.trim().parse().ok())
                .next_back()
        {
            return Ok(ClientAddr(Some(ip)));
        }
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Auth {
    /// The account and its rights.
    pub principal: Principal,
    /// The device the token was issued to.
    pub device: Uuid,
    /// The token's hash (for sign-out).
    pub token_hash: String,
    /// The page session's hash, when the caller came by its cookie (`PageAuth`).
    pub session: Option<String>,
}

/// The page session's cookie: HttpOnly, SameSite=Strict, sent only under `/api/v1`.
pub const PAGE_COOKIE: &str = "thidua_page";
/// The header a server page's own script sends with a write: no other site can make a
/// browser send it (it would need a CORS preflight this server never allows).
pub const PAGE_HEADER: &str = "x-thidua-page";
/// How long a page session stays valid after its last use: 12 hours.
pub const PAGE_TTL_MS: i64 = 12 * 3600 * 1000;
/// A page session's use is recorded at most this often.
const PAGE_TOUCH_EVERY_MS: i64 = 10 * 60 * 1000;

fn bearer(parts: &Parts) -> Option<String> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let t = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))?;
    Some(t.trim().to_owned())
}

/// The page session's secret from the request's cookies.
fn page_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(PAGE_COOKIE)?.strip_prefix('='))
        .map(str::to_owned)
}

/// Why there is no caller: a token in the address is named, as it is no longer taken.
fn missing(parts: &Parts) -> ApiError {
    let in_query = parts
        .uri
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("access_token=")));
    if in_query {
        ApiError::Unauthorized(
            "a token in the address is not accepted: open the page from the app (it sets a page session), or send Authorization: Bearer",
        )
    } else {
        ApiError::Unauthorized("no bearer token")
    }
}

/// Resolves a token's hash to its caller, refusing revoked and expired tokens.
async fn by_token<S: Store>(state: &AppState<S>, hash: String) -> Result<Auth, ApiError> {
    let row = state
        .store
        .token(&hash)
        .await?
        .ok_or(ApiError::Unauthorized("unknown token"))?;
    let now = now_ms();
    if row.revoked_ms.is_some() {
        return Err(ApiError::Unauthorized("token revoked"));
    }
    if row.expires_ms <= now {
        return Err(ApiError::Unauthorized("token expired"));
    }
    if now - row.last_used_ms > TOUCH_EVERY_MS {
        state
            .store
            .touch_token(&hash, now, now + TOKEN_TTL_MS)
            .await?;
    }
    let principal = state.store.principal(row.account_id).await?;
    Ok(Auth {
        principal,
        device: row.device_id,
        token_hash: hash,
        session: None,
    })
}

/// Whether a caller's sign-in (and page session, if it came by one) is still live: a
/// long-lived answer, such as the event stream, ends when it is not.
pub async fn still_live<S: Store>(state: &AppState<S>, auth: &Auth) -> bool {
    let now = now_ms();
    let token = matches!(
        state.store.token(&auth.token_hash).await,
        Ok(Some(row)) if row.revoked_ms.is_none() && row.expires_ms > now
    );
    match &auth.session {
        None => token,
        Some(s) => token && session_live(state, s, now).await.is_ok(),
    }
}

/// Checks a page session by hash (extending it when due): its token's hash.
async fn session_live<S: Store>(
    state: &AppState<S>,
    session_hash: &str,
    now: i64,
) -> Result<String, ApiError> {
    let (token_hash, expires_ms) = state
        .store
        .page_session(session_hash)
        .await?
        .ok_or(ApiError::Unauthorized("unknown page session"))?;
    if expires_ms <= now {
        return Err(ApiError::Unauthorized("page session expired"));
    }
    if expires_ms - now < PAGE_TTL_MS - PAGE_TOUCH_EVERY_MS {
        state
            .store
            .touch_page_session(session_hash, now + PAGE_TTL_MS)
            .await?;
    }
    Ok(token_hash)
}

impl<S: Store> FromRequestParts<AppState<S>> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S>,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(|| missing(parts))?;
        if token.is_empty() || token.len() > 128 {
            return Err(ApiError::Unauthorized("malformed token"));
        }
        by_token(state, hash_secret(&token)).await
    }
}

/// The caller of a server page, a document or the event stream: a bearer token, or the
/// page session's cookie. The cookie opens pages only (never a sync), and a write by
/// cookie needs `PAGE_HEADER`, which only the server's own pages send.
#[derive(Debug, Clone)]
pub struct PageAuth(pub Auth);

impl<S: Store> FromRequestParts<AppState<S>> for PageAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S>,
    ) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return Auth::from_request_parts(parts, state).await.map(PageAuth);
        }
        let secret = page_cookie(parts).ok_or_else(|| missing(parts))?;
        if secret.is_empty() || secret.len() > 128 {
            return Err(ApiError::Unauthorized("malformed page session"));
        }
        let reads = matches!(parts.method, Method::GET | Method::HEAD);
        if !reads && !parts.headers.contains_key(PAGE_HEADER) {
            return Err(ApiError::Forbidden(
                "a write by page session must come from the server's own page",
            ));
        }
        let hash = hash_secret(&secret);
        let token_hash = session_live(state, &hash, now_ms()).await?;
        let mut auth = by_token(state, token_hash).await?;
        auth.session = Some(hash);
        Ok(PageAuth(auth))
    }
}

/// The `Set-Cookie` value that starts a page session (`Secure` when served over TLS).
pub fn page_cookie_header(secret: &str, tls: bool) -> String {
    let secure = if tls { "; Secure" } else { "" };
    format!("{PAGE_COOKIE}={secret}; Path=/api/v1; HttpOnly; SameSite=Strict{secure}")
}

/// The `Set-Cookie` value that ends the page session in the browser.
pub fn page_cookie_cleared(tls: bool) -> String {
    let secure = if tls { "; Secure" } else { "" };
    format!("{PAGE_COOKIE}=; Path=/api/v1; Max-Age=0; HttpOnly; SameSite=Strict{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_codes() {
        let h = hash_password("mật khẩu đủ dài").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("mật khẩu đủ dài", &h));
        assert!(!verify_password("mật khẩu sai", &h));
        assert!(!verify_password("x", "not a hash"));
        let mut memory = Vec::new();
        assert!(verify_password_in("mật khẩu đủ dài", &h, &mut memory));
        assert!(!verify_password_in("mật khẩu sai", &h, &mut memory));
        assert!(!verify_password_in("x", "not a hash", &mut memory));
        assert_eq!(
            memory.len(),
            19 * 1024,
            "one buffer of the default 19 MiB, reused"
        );
        let c = new_code().expect("code");
        assert_eq!(c.len(), 9);
        assert_eq!(
            normalise_code(&c.to_lowercase().replace('-', " ")),
            c.replace('-', "")
        );
        let (t, th) = new_token().expect("token");
        assert_eq!(t.len(), 64);
        assert_eq!(hash_secret(&t), th);
        assert_ne!(t, th);
        assert!(check_new_password("short").is_err());
    }
}
