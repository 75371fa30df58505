//! Authentication: argon2id passwords, per-device bearer tokens and one-time join codes.
//!
//! Tokens and codes are random and stored only as SHA-256 hashes, so a copy of the database
//! lets nobody in. A token lasts `TOKEN_TTL_MS` from its last use (a tablet may stay offline
//! for weeks and still sync) until revoked. The `Auth` extractor resolves the bearer token to
//! the account's `Principal` on every request.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
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

fn hex(bytes: &[u8]) -> String {
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
}

fn bearer(parts: &Parts) -> Option<String> {
    if let Some(h) = parts.headers.get(header::AUTHORIZATION) {
        let v = h.to_str().ok()?;
        let t = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))?;
        return Some(t.trim().to_owned());
    }
    // EventSource cannot send headers: live events take the token from the query.
    parts.uri.query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("access_token="))
            .map(str::to_owned)
    })
}

impl<S: Store> FromRequestParts<AppState<S>> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S>,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized("no bearer token"))?;
        if token.is_empty() || token.len() > 128 {
            return Err(ApiError::Unauthorized("malformed token"));
        }
        let hash = hash_secret(&token);
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
        })
    }
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
