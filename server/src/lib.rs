//! ThiĐua's server as a library: `app` builds the router over any `Store`, `launch` serves it
//! on a listener until a shutdown signal, so tests run the real thing on port 0.

pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
mod routes;
pub mod store;

use std::future::Future;
use std::path::PathBuf;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};

pub use config::Limits;
pub use store::{PgStore, SqliteStore, Store, StoreError};

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState<S: Store> {
    /// The database.
    pub store: S,
    /// Request limits.
    pub limits: Limits,
    /// Wakes live-event streams after a push applied something.
    pub events: broadcast::Sender<()>,
}

/// The whole HTTP application: the API under `/api/v1` and, if given, the built app.
pub fn app<S: Store>(store: S, limits: Limits, static_dir: Option<PathBuf>) -> Router {
    let (events, _) = broadcast::channel(64);
    routes::router(
        AppState {
            store,
            limits,
            events,
        },
        static_dir,
    )
}

/// The OpenAPI document served at `/api/v1/openapi.json`.
pub fn openapi() -> serde_json::Value {
    routes::openapi::spec()
}

/// Serves `app` on `listener` until `shutdown` resolves, finishing requests in flight, so
/// every write a client saw acknowledged is committed.
pub async fn launch(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (tx, rx) = watch::channel(false);
    // Live-event streams never end by themselves; this tells them to, or the graceful
    // shutdown would wait for them forever.
    let app = app.layer(axum::Extension(Closing(rx)));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = tx.send(true);
        })
        .await
}

/// Turns true when the server starts shutting down.
#[derive(Clone, Debug)]
pub struct Closing(pub watch::Receiver<bool>);
