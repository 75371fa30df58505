//! The typed client of the server's API.

use gloo_net::http::Request;

use crate::i18n::Lang;
use shared::protocol::{
    ErrorBody, ErrorCode, JoinRequest, LoginRequest, SyncRequest, SyncResponse, TokenResponse,
};

/// Why a call to the server failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// No answer: offline, server down, connection cut. Retry later.
    #[error("no connection to the server: {0}")]
    Network(String),
    /// The server answered with an error.
    #[error("{status} {}: {}", code_name(&.body.code), .body.message)]
    Server {
        /// HTTP status.
        status: u16,
        /// Its error body.
        body: ErrorBody,
    },
    /// The answer could not be read.
    #[error("unreadable answer from the server ({status}): {message}")]
    Decode {
        /// HTTP status.
        status: u16,
        /// What went wrong.
        message: String,
    },
}

fn code_name(c: &ErrorCode) -> String {
    serde_json::to_value(c)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl ApiError {
    /// Whether the same request may succeed later without any change on the device.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Network(_) | ApiError::Decode { .. } => true,
            ApiError::Server { status, body } => *status >= 500 || body.code.is_retryable(),
        }
    }

    /// A short message in the user's language (one language per message).
    pub fn user_message(&self, lang: Lang) -> String {
        match self {
            ApiError::Network(_) => lang
                .t("Mất kết nối tới máy chủ", "No connection to the server")
                .into(),
            ApiError::Server { body, .. } => match lang {
                Lang::Vi => body.message_vi.clone(),
                Lang::En => body.message.clone(),
            },
            other => other.to_string(),
        }
    }
}

impl ApiError {
    /// The server's clock, when it refused a push as stamped too far ahead of it.
    pub fn clock_ahead(&self) -> Option<u64> {
        match self {
            ApiError::Server { body, .. } if body.code == ErrorCode::ClockAhead => body.server_ms,
            _ => None,
        }
    }

    /// Whether the server refused a request as too large (bytes or mutations): a smaller
    /// one may pass.
    pub fn too_large(&self) -> bool {
        matches!(self, ApiError::Server { body, .. }
            if matches!(body.code, ErrorCode::PayloadTooLarge | ErrorCode::BatchTooLarge))
    }

    /// Whether the server wants the user to sign in (again).
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, ApiError::Server { body, .. } if body.code == ErrorCode::Unauthorized)
    }
}

/// `POST {base}/api/v1/sync` with this device's token.
pub async fn sync(base: &str, token: &str, req: &SyncRequest) -> Result<SyncResponse, ApiError> {
    post(base, "/api/v1/sync", Some(token), req).await
}

/// `POST {base}/api/v1/auth/login`.
pub async fn login(base: &str, req: &LoginRequest) -> Result<TokenResponse, ApiError> {
    post(base, "/api/v1/auth/login", None, req).await
}

/// `POST {base}/api/v1/auth/join` with a one-time code.
pub async fn join(base: &str, req: &JoinRequest) -> Result<TokenResponse, ApiError> {
    post(base, "/api/v1/auth/join", None, req).await
}

/// `POST {base}/api/v1/auth/device-key`: registers this device's public key.
pub async fn register_device_key(base: &str, token: &str, key: &str) -> Result<(), ApiError> {
    // The key is hex (made by SubtleCrypto): nothing to escape.
    let body = format!("{{\"device_key\":\"{key}\"}}");
    post_plain(base, "/api/v1/auth/device-key", token, Some(body)).await
}

/// `POST {base}/api/v1/auth/page-session`: the HttpOnly cookie that opens server pages,
/// documents and the event stream.
pub async fn page_session(base: &str, token: &str) -> Result<(), ApiError> {
    post_plain(base, "/api/v1/auth/page-session", token, None).await
}

/// A POST with the token and an optional JSON body, whose answer is only its status.
async fn post_plain(
    base: &str,
    path: &str,
    token: &str,
    json: Option<String>,
) -> Result<(), ApiError> {
    let req =
        Request::post(&format!("{base}{path}")).header("Authorization", &format!("Bearer {token}"));
    let req = match json {
        Some(b) => req.header("Content-Type", "application/json").body(b),
        None => req.build(),
    };
    let res = req
        .map_err(|e| ApiError::Network(e.to_string()))?
        .send()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))?;
    if res.ok() {
        Ok(())
    } else {
        Err(ApiError::Network(format!("HTTP {}", res.status())))
    }
}

/// `POST {base}/api/v1/auth/logout`: revokes this device's token.
pub async fn logout(base: &str, token: &str) -> Result<(), ApiError> {
    Request::post(&format!("{base}/api/v1/auth/logout"))
        .header("Authorization", &format!("Bearer {token}"))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| ApiError::Network(e.to_string()))
}

async fn post<Req: serde::Serialize, Res: serde::de::DeserializeOwned>(
    base: &str,
    path: &str,
    token: Option<&str>,
    req: &Req,
) -> Result<Res, ApiError> {
    let mut builder = Request::post(&format!("{base}{path}"));
    if let Some(t) = token {
        builder = builder.header("Authorization", &format!("Bearer {t}"));
    }
    let body = crate::json::to_string(req).map_err(|e| ApiError::Decode {
        status: 0,
        message: e.to_string(),
    })?;
    let res = builder
        .header("Content-Type", "application/json")
        .body(body)
        .map_err(|e| ApiError::Decode {
            status: 0,
            message: e.to_string(),
        })?
        .send()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))?;
    let status = res.status();
    let text = res
        .text()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))?;
    if status == 200 {
        return crate::json::from_str(&text).map_err(|e| ApiError::Decode {
            status,
            message: e.to_string(),
        });
    }
    match crate::json::from_str::<ErrorBody>(&text) {
        Ok(body) => Err(ApiError::Server { status, body }),
        // A proxy's or a dead upstream's page rather than ours.
        Err(_) if status >= 500 => Err(ApiError::Network(format!("HTTP {status}"))),
        Err(e) => Err(ApiError::Decode {
            status,
            message: e.to_string(),
        }),
    }
}
