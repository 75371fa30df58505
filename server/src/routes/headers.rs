//! Security headers on every answer: no sniffing, no framing, no referrer, and a
//! Content-Security-Policy that lets pages load only this server's own code.
//!
//! The app's policy allows scripts from this origin, WebAssembly compilation
//! (`'wasm-unsafe-eval'`, nothing broader) and, by hash, exactly the inline loader Trunk
//! writes into `index.html` (hashed when the server starts, so a new build needs no edit
//! here). Server pages (projector, documents) carry their small scripts inline and escape
//! every text they print, so their policy allows inline scripts but nothing from elsewhere.
//! With TLS on, browsers are told to keep to HTTPS (HSTS).

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The policies, worked out once.
#[derive(Debug, Clone)]
pub(crate) struct Policies {
    app: HeaderValue,
    pages: HeaderValue,
    hsts: bool,
}

const COMMON: &str = "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; \
    worker-src 'self'; manifest-src 'self'; font-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

impl Policies {
    /// Policies for an app whose `index.html` is `index` (none when not serving the app).
    pub(crate) fn new(index: Option<&str>, hsts: bool) -> Arc<Policies> {
        let hashes: String = index
            .map(inline_scripts)
            .unwrap_or_default()
            .iter()
            .map(|s| {
                let digest = Sha256::digest(s.as_bytes());
                format!(
                    " 'sha256-{}'",
                    base64::engine::general_purpose::STANDARD.encode(digest)
                )
            })
            .collect();
        let app = format!(
            "{COMMON}; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self' 'unsafe-inline'"
        );
        let pages = format!(
            "{COMMON}; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'"
        );
        Arc::new(Policies {
            app: HeaderValue::from_str(&app)
                .unwrap_or(HeaderValue::from_static("default-src 'self'")),
            pages: HeaderValue::from_str(&pages)
                .unwrap_or(HeaderValue::from_static("default-src 'self'")),
            hsts,
        })
    }
}

/// The bodies of the inline `<script>` elements (those without `src`) of an HTML page.
pub(crate) fn inline_scripts(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let tag = &after[..open_end];
        let body = &after[open_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            out.push(body[..close].to_owned());
        }
        rest = &body[close..];
    }
    out
}

/// Adds the headers to an answer.
pub(crate) async fn add(
    axum::extract::State(p): axum::extract::State<Arc<Policies>>,
    req: Request,
    next: Next,
) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let csp = if api { &p.pages } else { &p.app };
    h.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("geolocation=(), microphone=(), payment=()"),
    );
    if p.hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_inline_scripts_are_hashed() {
        let html = r#"<head><script src="/a.js"></script><script type="module">import init from '/x.js';</script></head>"#;
        assert_eq!(inline_scripts(html), vec!["import init from '/x.js';"]);
        let p = Policies::new(Some(html), false);
        let app = p.app.to_str().unwrap_or_default().to_owned();
        assert!(app.contains("'wasm-unsafe-eval'") && app.contains("'sha256-"));
        assert!(!app.contains("unsafe-eval'") || app.contains("wasm-unsafe-eval"));
        assert!(!app.contains("script-src 'self' 'unsafe-inline'"));
    }
}
