//! The API's one error type: every failure a client can see, with its status and stable code.
//! Internal errors are logged in full and sent out as a bare `internal`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shared::protocol::{ErrorBody, ErrorCode, ProtocolVersion};

use crate::store::StoreError;

/// An error answered to an API client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not the JSON expected.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// 415: the body is not declared as JSON.
    #[error("expected a JSON body (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// 400: the client's major protocol version is not this server's.
    #[error("protocol {}.{} is not supported; this server speaks {}.x", .got.major, .got.minor, .ours.major)]
    UnsupportedProtocol {
        /// What the client sent.
        got: ProtocolVersion,
        /// What the server speaks.
        ours: ProtocolVersion,
    },
    /// 413: the body is over the limit.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 413: too many mutations in one push.
    #[error("{got} mutations in one push; at most {max} are accepted")]
    BatchTooLarge {
        /// How many were sent.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// 401: no token, or one that is unknown, expired or revoked; or a wrong password.
    #[error("not signed in: {0}")]
    Unauthorized(&'static str),
    /// 401: a sign-in with a wrong username or password.
    #[error("wrong username or password")]
    WrongPassword,
    /// 403: the account may not do this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// 400: a one-time code that is unknown, used or expired.
    #[error("the code is unknown, already used or expired")]
    InvalidCode,
    /// 409: a delegate's code for a unit that already has its delegate.
    #[error(
        "the unit already has its delegate (an account made by the administrator, or a device that joined and is still signed in); the administrator revokes that device first"
    )]
    UnitTaken,
    /// 409: a name that is taken.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// 409: the block has nothing to make the document from yet (no round, no covenant, or
    /// a covenant that does not score); the reason says which.
    #[error("nothing to make the document from yet: {en}")]
    NoResults {
        /// Why, in English.
        en: String,
        /// Why, in Vietnamese.
        vi: String,
    },
    /// 400: a changes file whose seal does not match any token of the device it names.
    #[error(
        "the changes file was altered after export, or was not exported by device {0}; nothing was imported"
    )]
    Tampered(uuid::Uuid),
    /// 422: the domain's rules refuse the request.
    #[error("refused: {en}")]
    Refused { en: String, vi: String },
    /// 409: a pushed stamp runs ahead of the server's clock by more than the allowed skew;
    /// nothing of the push was applied.
    #[error(
        "a stamp is {ahead_ms} ms ahead of the server's clock (at most {max_skew_ms} allowed): set the device's clock, or re-stamp from server_ms and push again"
    )]
    ClockAhead {
        /// How far ahead the furthest stamp is.
        ahead_ms: u64,
        /// The allowed skew.
        max_skew_ms: u64,
        /// The server's clock.
        server_ms: u64,
    },
    /// 429: too many attempts; wait `retry_after_secs`.
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// 404: no such route.
    #[error("no such endpoint")]
    NotFound,
    /// 503: a resource the server needs is missing for now; retry.
    #[error("temporarily unavailable: {0}")]
    Unavailable(&'static str),
    /// 503: the database cannot write for now (disk full, read-only); nothing was written.
    #[error("storage unavailable; retry later")]
    StorageUnavailable,
    /// 500: storage failed.
    #[error(transparent)]
    Internal(StoreError),
}

impl ApiError {
    /// A document that cannot be made yet, with the domain's reason in both languages.
    pub fn no_results(e: &shared::DomainError) -> ApiError {
        ApiError::NoResults {
            en: e.to_string(),
            vi: e.message_vi(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(reason) => {
                tracing::warn!(%reason, "storage unavailable");
                ApiError::StorageUnavailable
            }
            other => ApiError::Internal(other),
        }
    }
}

impl ApiError {
    /// Maps a rejected JSON body to our error, keeping the limit's status.
    pub fn from_json_rejection(r: JsonRejection, body_limit: usize) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
            JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge { limit: body_limit }
            }
            other => ApiError::Malformed(other.body_text()),
        }
    }

    fn parts(&self) -> (StatusCode, ErrorCode, String) {
        match self {
            ApiError::Malformed(m) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::MalformedRequest,
                format!("Yêu cầu không đúng định dạng: {m}"),
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "Nội dung gửi lên phải là JSON".into(),
            ),
            ApiError::UnsupportedProtocol { got, ours } => (
                StatusCode::BAD_REQUEST,
                ErrorCode::UnsupportedProtocol,
                format!(
                    "Phiên bản giao thức {}.{} không được hỗ trợ; máy chủ dùng {}.x. Hãy cập nhật ứng dụng.",
                    got.major, got.minor, ours.major
                ),
            ),
            ApiError::PayloadTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                format!("Dữ liệu gửi lên vượt quá {limit} byte"),
            ),
            ApiError::BatchTooLarge { got, max } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::BatchTooLarge,
                format!("Gửi {got} thay đổi một lần; tối đa {max}"),
            ),
            ApiError::Unauthorized(_) => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "Chưa đăng nhập hoặc phiên đã hết hạn; hãy đăng nhập lại".into(),
            ),
            ApiError::WrongPassword => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "Sai tên đăng nhập hoặc mật khẩu".into(),
            ),
            ApiError::Forbidden(_) => (
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                "Tài khoản không có quyền thực hiện việc này".into(),
            ),
            ApiError::InvalidCode => (
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidCode,
                "Mã tham gia không đúng, đã dùng hoặc đã hết hạn".into(),
            ),
            ApiError::UnitTaken => (
                StatusCode::CONFLICT,
                ErrorCode::UnitTaken,
                "Đơn vị này đã có đại biểu (tài khoản do quản trị viên cấp, hoặc một máy đã tham gia và chưa đăng xuất); quản trị viên thu hồi máy đó trước".into(),
            ),
            ApiError::Conflict(what) => (
                StatusCode::CONFLICT,
                ErrorCode::Conflict,
                format!("Đã tồn tại: {what}"),
            ),
            ApiError::NoResults { vi, .. } => (
                StatusCode::CONFLICT,
                ErrorCode::Conflict,
                format!("Khối chưa có dữ liệu để lập tài liệu này: {vi}"),
            ),
            ApiError::Tampered(_) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::Tampered,
                "Tệp thay đổi đã bị sửa sau khi xuất, hoặc không do thiết bị ghi trong tệp xuất ra; không nhập thay đổi nào".into(),
            ),
            ApiError::Refused { vi, .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::Refused,
                vi.clone(),
            ),
            ApiError::ClockAhead { ahead_ms, .. } => (
                StatusCode::CONFLICT,
                ErrorCode::ClockAhead,
                format!(
                    "Đồng hồ của thiết bị chạy nhanh hơn máy chủ {} giây; thiết bị sẽ lấy giờ máy chủ và gửi lại",
                    ahead_ms / 1000
                ),
            ),
            ApiError::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                format!("Thử quá nhiều lần; hãy chờ {retry_after_secs} giây rồi thử lại"),
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "Không có địa chỉ này".into(),
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                "Máy chủ tạm thời không phục vụ được; hãy thử lại sau".into(),
            ),
            ApiError::StorageUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                "Máy chủ tạm thời không ghi được dữ liệu (đĩa đầy hoặc chỉ đọc); thiết bị sẽ tự gửi lại"
                    .into(),
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "Lỗi máy chủ; hãy thử lại sau".into(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message_vi) = self.parts();
        let message = match &self {
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                "internal server error; retry later".to_owned()
            }
            other => other.to_string(),
        };
        let (server_ms, retry_after_secs) = match &self {
            ApiError::ClockAhead { server_ms, .. } => (Some(*server_ms), None),
            ApiError::RateLimited { retry_after_secs } => (None, Some(*retry_after_secs)),
            _ => (None, None),
        };
        let body = ErrorBody {
            code,
            message,
            message_vi,
            server_ms,
            retry_after_secs,
        };
        let mut res = (status, Json(body)).into_response();
        if let Some(secs) = retry_after_secs {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
    }
}
