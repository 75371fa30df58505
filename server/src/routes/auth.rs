//! Sign-in with a password, joining with a one-time code, sign-out, and issuing codes.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use shared::Record;
use shared::access::{Principal, Role};
use shared::protocol::{
    JoinCodeRequest, JoinCodeResponse, JoinRequest, LoginRequest, TokenResponse,
};
use uuid::Uuid;

use crate::auth::{self, Auth, ClientAddr, TOKEN_TTL_MS};
use crate::error::ApiError;
use crate::store::{AccountRow, JoinCodeRow, Redeemed, StoreError, now_ms};
use crate::{AppState, Store};

/// Default and longest life of a join code, in minutes.
const CODE_TTL_MIN: u32 = 720;
const CODE_TTL_MAX: u32 = 7 * 24 * 60;

fn body<T>(b: Result<Json<T>, JsonRejection>, limit: usize) -> Result<T, ApiError> {
    b.map(|Json(v)| v)
        .map_err(|r| ApiError::from_json_rejection(r, limit))
}

/// A device name is shown in lists: bounded and free of invisible characters.
fn check_device_name(name: &str) -> Result<(), ApiError> {
    shared::limits::check_text("device_name", name, shared::limits::MAX_DEVICE_NAME_CHARS)
        .map_err(|e| ApiError::Malformed(e.to_string()))
}

/// A device's public key, checked (`crate::device_key`).
fn device_key(key: Option<&str>) -> Result<Option<String>, ApiError> {
    key.map(crate::device_key::check_public_key)
        .transpose()
        .map_err(ApiError::Malformed)
}

fn expires(now: i64) -> u64 {
    u64::try_from(now + TOKEN_TTL_MS).unwrap_or(0)
}

/// `POST /api/v1/auth/login`.
pub(crate) async fn login<S: Store>(
    State(state): State<AppState<S>>,
    ClientAddr(addr): ClientAddr,
    req: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Json<TokenResponse>, ApiError> {
    let req = body(req, state.limits.max_body_bytes)?;
    check_device_name(&req.device_name)?;
    let device_key = device_key(req.device_key.as_deref())?;
    let username = req.username.trim();
    if username.chars().count() > shared::limits::MAX_USERNAME_CHARS
        || req.password.len() > shared::limits::MAX_PASSWORD_BYTES
    {
        return Err(ApiError::WrongPassword);
    }
    // Throttled before any hashing: see `crate::throttle`.
    let throttle_key = username.to_lowercase();
    let now = now_ms();
    state.throttle.check_addr(addr, now)?;
    state.throttle.check_account(&throttle_key, now)?;
    let _slot = state.throttle.hashing_slot().await?;
    let account = state.store.account_by_username(username).await?;
    let hash = account.as_ref().and_then(|a| a.password_hash.clone());
    let password = req.password;
    // Verify even for an unknown name, so timing does not tell which names exist.
    let mut memory = state.throttle.take_memory();
    let ok = tokio::task::spawn_blocking(move || {
        let ok = match hash {
            Some(h) => auth::verify_password_in(&password, &h, &mut memory),
            None => {
                let _ = auth::verify_password_in(&password, dummy_hash(), &mut memory);
                false
            }
        };
        (ok, memory)
    })
    .await
    .map(|(ok, memory)| {
        state.throttle.put_memory(memory);
        ok
    })
    .unwrap_or(false);
    let Some(account) = account.filter(|_| ok) else {
        state.throttle.failed_addr(addr, now_ms());
        state.throttle.failed_account(&throttle_key, now_ms());
        return Err(ApiError::WrongPassword);
    };
    state.throttle.succeeded_account(&throttle_key);
    let issued = issue(&state, account.id, req.device_id, &req.device_name).await?;
    if let Some(key) = device_key {
        state
            .store
            .register_device_key(req.device_id, account.id, &key)
            .await?;
    }
    Ok(issued)
}

/// An argon2id hash of a random password, to spend the same time on unknown names.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| auth::hash_password("no such account, ever").unwrap_or_default())
}

async fn issue<S: Store>(
    state: &AppState<S>,
    account: Uuid,
    device: Uuid,
    device_name: &str,
) -> Result<Json<TokenResponse>, ApiError> {
    let (token, hash) = auth::new_token()?;
    let now = now_ms();
    state
        .store
        .insert_token(
            &hash,
            account,
            device,
            device_name.trim(),
            now + TOKEN_TTL_MS,
        )
        .await?;
    let principal = state.store.principal(account).await?;
    Ok(Json(TokenResponse {
        token,
        expires_ms: expires(now),
        principal,
    }))
}

/// `POST /api/v1/auth/join`: a one-time code makes an account for this device's delegate.
pub(crate) async fn join<S: Store>(
    State(state): State<AppState<S>>,
    ClientAddr(addr): ClientAddr,
    req: Result<Json<JoinRequest>, JsonRejection>,
) -> Result<Json<TokenResponse>, ApiError> {
    let req = body(req, state.limits.max_body_bytes)?;
    check_device_name(&req.device_name)?;
    let device_key = device_key(req.device_key.as_deref())?;
    let now = now_ms();
    state.throttle.check_addr(addr, now)?;
    let code = auth::normalise_code(&req.code);
    if code.len() != 8 {
        state.throttle.failed_addr(addr, now);
        return Err(ApiError::InvalidCode);
    }
    let account_id = Uuid::now_v7();
    let name = if req.device_name.trim().is_empty() {
        "Đại biểu".to_owned()
    } else {
        req.device_name.trim().to_owned()
    };
    let account = AccountRow {
        id: account_id,
        username: format!("joined-{account_id}"),
        name,
        password_hash: None,
        admin: false,
    };
    let (token, token_hash) = auth::new_token()?;
    let redeemed = state
        .store
        .redeem_join_code(
            &auth::hash_secret(&code),
            now,
            &account,
            &token_hash,
            req.device_id,
            req.device_name.trim(),
            now + TOKEN_TTL_MS,
        )
        .await?;
    let grant = match redeemed {
        Redeemed::Joined(g) => g,
        Redeemed::Invalid => {
            state.throttle.failed_addr(addr, now);
            return Err(ApiError::InvalidCode);
        }
        Redeemed::SeatTaken => return Err(ApiError::UnitTaken),
        Redeemed::IssuersDevice => {
            return Err(ApiError::Forbidden(
                "a join code is for another person's device, not its issuer's",
            ));
        }
    };
    tracing::info!(block = %grant.block_id, role = grant.role.as_str(), "a device joined with a code");
    if let Some(key) = device_key {
        state
            .store
            .register_device_key(req.device_id, account_id, &key)
            .await?;
    }
    Ok(Json(TokenResponse {
        token,
        expires_ms: expires(now),
        principal: Principal {
            account_id,
            name: account.name,
            admin: false,
            grants: vec![grant],
        },
    }))
}

/// `POST /api/v1/auth/logout`: revokes this device's token, its page session with it.
pub(crate) async fn logout<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
) -> Result<impl IntoResponse, ApiError> {
    state.store.revoke_token(&auth.token_hash, now_ms()).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            auth::page_cookie_cleared(state.limits.tls),
        )],
    ))
}

/// `POST /api/v1/auth/revoke-device`: an administrator signs a device out of every account
/// (a lost tablet, or a unit's seat taken by the wrong device); the blocks' audit logs show it.
pub(crate) async fn revoke_device<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    req: Result<Json<shared::protocol::RevokeDeviceRequest>, JsonRejection>,
) -> Result<Json<shared::protocol::RevokeDeviceResponse>, ApiError> {
    let req = body(req, state.limits.max_body_bytes)?;
    if !auth.principal.admin {
        return Err(ApiError::Forbidden(
            "only an administrator revokes a device",
        ));
    }
    let revoked = state
        .store
        .revoke_device(req.device_id, auth.principal.account_id, now_ms())
        .await?;
    tracing::info!(device = %req.device_id, revoked, "an administrator revoked a device");
    Ok(Json(shared::protocol::RevokeDeviceResponse { revoked }))
}

/// `POST /api/v1/auth/page-session`: starts a page session for the calling device (an
/// HttpOnly cookie), which opens server pages, documents and the event stream; it replaces
/// the device's earlier one and ends with its token.
pub(crate) async fn page_session<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
) -> Result<impl IntoResponse, ApiError> {
    let (secret, hash) = auth::new_token()?;
    let expires_ms = now_ms() + auth::PAGE_TTL_MS;
    state
        .store
        .insert_page_session(&hash, &auth.token_hash, expires_ms)
        .await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            auth::page_cookie_header(&secret, state.limits.tls),
        )],
    ))
}

/// `POST /api/v1/auth/device-key`: registers the calling device's public key for its account.
pub(crate) async fn device_key_route<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    req: Result<Json<shared::protocol::DeviceKeyRequest>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let req = body(req, state.limits.max_body_bytes)?;
    let key = crate::device_key::check_public_key(&req.device_key).map_err(ApiError::Malformed)?;
    state
        .store
        .register_device_key(auth.device, auth.principal.account_id, &key)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/auth/me`.
pub(crate) async fn me(auth: Auth) -> Json<Principal> {
    Json(auth.principal)
}

/// `POST /api/v1/join-codes`: the block's secretary issues a code for a delegate or observer.
pub(crate) async fn create_join_code<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    req: Result<Json<JoinCodeRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<JoinCodeResponse>), ApiError> {
    let req = body(req, state.limits.max_body_bytes)?;
    if !auth.principal.manages(req.block_id) {
        return Err(ApiError::Forbidden(
            "only the block's secretary issues join codes",
        ));
    }
    let block = match state.store.record(req.block_id).await {
        Ok((Record::Block(b), _)) => b,
        Ok(_) | Err(StoreError::NotFound) => {
            return Err(ApiError::Malformed(format!("no block {}", req.block_id)));
        }
        Err(e) => return Err(e.into()),
    };
    match (req.role, req.unit) {
        // One delegate per unit: a code is not issued for a unit that has one (the
        // secretary cannot make a second voter for it).
        (Role::Delegate, Some(u)) if block.is_member(u) => {
            if state.store.seat_taken(req.block_id, u, now_ms()).await? {
                return Err(ApiError::UnitTaken);
            }
        }
        (Role::Delegate, _) => {
            return Err(ApiError::Malformed(
                "a delegate's code needs a member unit of the block".into(),
            ));
        }
        (Role::Observer, None) => {}
        (Role::Observer, Some(_)) => {
            return Err(ApiError::Malformed("an observer acts for no unit".into()));
        }
        (Role::Secretary, _) => {
            return Err(ApiError::Forbidden(
                "secretaries are appointed by an administrator, not by code",
            ));
        }
    }
    let ttl = req.ttl_minutes.unwrap_or(CODE_TTL_MIN);
    if ttl == 0 || ttl > CODE_TTL_MAX {
        return Err(ApiError::Malformed(format!(
            "ttl_minutes must be between 1 and {CODE_TTL_MAX}"
        )));
    }
    let code = auth::new_code()?;
    let expires_ms = now_ms() + i64::from(ttl) * 60_000;
    state
        .store
        .insert_join_code(
            &auth::hash_secret(&auth::normalise_code(&code)),
            &JoinCodeRow {
                grant: shared::access::Grant {
                    block_id: req.block_id,
                    role: req.role,
                    unit: req.unit,
                },
                created_by: auth.principal.account_id,
                expires_ms,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(JoinCodeResponse {
            code,
            expires_ms: u64::try_from(expires_ms).unwrap_or(0),
        }),
    ))
}
