//! Serves the built app. Trunk names the wasm and JS after their hash, so those are cached
//! for a year; `index.html` and the service worker must be revalidated every time, or a
//! browser could pair an old script with a new module.

use std::convert::Infallible;
use std::path::PathBuf;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

pub(crate) fn serve(router: Router, dir: PathBuf) -> Router {
    let index = dir.join("index.html");
    // Unknown pages get index.html so the app's own routes survive a reload; an unknown
    // file (an old build's script, say) is a 404, never an HTML page a worker could cache
    // under a script's name.
    let pages = tower::service_fn(move |req: Request| {
        let index = index.clone();
        async move {
            if looks_like_file(req.uri().path()) {
                return Ok::<_, Infallible>(StatusCode::NOT_FOUND.into_response());
            }
            let res = ServeFile::new(index).oneshot(req).await?;
            Ok(res.into_response())
        }
    });
    router
        // The build writes Brotli and gzip copies beside each file (scripts/node/
        // precompress.mjs): served as they are, so the first visit downloads the smallest
        // shell without compressing on every request.
        .fallback_service(
            ServeDir::new(&dir)
                .precompressed_br()
                .precompressed_gzip()
                .fallback(pages),
        )
        .layer(middleware::from_fn(cache_headers))
}

/// `/app-1a2b.js`, `/favicon.ico`: a last segment with an extension.
fn looks_like_file(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|name| name.contains('.'))
}

async fn cache_headers(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let mut res = next.run(req).await;
    if path.starts_with("/api/") {
        // The API sets its own.
        return res;
    }
    let value = if is_hashed_asset(&path) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    res
}

/// `/thidua-frontend-1a2b3c4d5e6f7a8b_bg.wasm` and the like: Trunk's hash (a 64-bit number in
/// hex without leading zeros, so 1 to 16 digits) after the last dash, before the extension.
fn is_hashed_asset(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    let hash = stem.rsplit_once('-').map_or("", |(_, h)| h);
    matches!(ext, "js" | "wasm" | "css")
        && (1..=16).contains(&hash.len())
        && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::is_hashed_asset;

    #[test]
    fn recognises_trunk_hashed_names() {
        assert!(is_hashed_asset("/thidua-frontend-1a2b3c4d5e6f7a8b_bg.wasm"));
        assert!(is_hashed_asset("/thidua-frontend-1a2b3c4d5e6f7a8b.js"));
        // A hash with a leading zero is printed with 15 digits.
        assert!(is_hashed_asset("/thidua-frontend-a80ecbc36cb959a_bg.wasm"));
        assert!(is_hashed_asset("/style-dbcb9836aacdd543.css"));
        assert!(!is_hashed_asset("/thidua-frontend.js"));
        assert!(!is_hashed_asset("/notes-1a2b.txt"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/sw.js"));
    }
}
