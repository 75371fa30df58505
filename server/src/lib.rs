//! ThiĐua's server as a library: `app` builds the router over any `Store`, `launch` serves it
//! on a listener until a shutdown signal, so tests run the real thing on port 0.

pub mod auth;
pub mod cli;
pub mod config;
pub mod device_key;
pub mod error;
pub mod hall;
pub mod nfc;
pub mod paper_key;
mod routes;
pub mod store;
pub mod throttle;
pub mod tls;

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
    /// Bounds on sign-in and join attempts.
    pub throttle: std::sync::Arc<throttle::Throttle>,
    /// Live-event streams open per token.
    pub streams: std::sync::Arc<routes::Streams>,
    /// The server's paper key, read (or made) on first use.
    pub paper_key: std::sync::Arc<tokio::sync::OnceCell<paper_key::PaperKey>>,
    /// Turns for syncs (`Limits::max_concurrent_syncs`).
    pub sync_turns: std::sync::Arc<tokio::sync::Semaphore>,
}

impl<S: Store> AppState<S> {
    /// The server's paper key, from the database (made and stored on first use).
    pub async fn paper_key(&self) -> Result<&paper_key::PaperKey, error::ApiError> {
        self.paper_key
            .get_or_try_init(|| async {
                let fresh = paper_key::fresh()
                    .map_err(|_| error::ApiError::Unavailable("no randomness"))?;
                let (secret, _) = self.store.server_key("paper", (&fresh.0, &fresh.1)).await?;
                paper_key::PaperKey::from_secret_hex(&secret)
                    .map_err(|e| error::ApiError::Internal(store::StoreError::Other(e.into())))
            })
            .await
    }
}

pub use routes::hall::{HallPage, SharedHall};
pub use routes::redirect_router;

/// The whole HTTP application: the API under `/api/v1` and, if given, the built app.
pub fn app<S: Store>(store: S, limits: Limits, static_dir: Option<PathBuf>) -> Router {
    app_with_hall(store, limits, static_dir, None)
}

/// `app`, with the hall's setup page (`/hall`) when serving in hall mode.
pub fn app_with_hall<S: Store>(
    store: S,
    limits: Limits,
    static_dir: Option<PathBuf>,
    hall_page: Option<SharedHall>,
) -> Router {
    let (events, _) = broadcast::channel(64);
    routes::router(
        AppState {
            store,
            limits,
            events,
            throttle: throttle::Throttle::for_this_machine(),
            streams: std::sync::Arc::default(),
            paper_key: std::sync::Arc::default(),
            sync_turns: std::sync::Arc::new(tokio::sync::Semaphore::new(
                limits.max_concurrent_syncs.max(1),
            )),
        },
        static_dir,
        limits.tls,
        hall_page,
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
    // Each request knows its client's address, for the sign-in throttle.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        let _ = tx.send(true);
    })
    .await
}

/// `launch` over TLS: serves `app` on `listener` with `config` (reloadable in place) until
/// `shutdown` resolves, then finishes requests in flight (at most 30 s).
pub async fn launch_tls(
    listener: std::net::TcpListener,
    app: Router,
    config: axum_server::tls_rustls::RustlsConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (tx, rx) = watch::channel(false);
    let app = app.layer(axum::Extension(Closing(rx)));
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
        h.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
    });
    listener.set_nonblocking(true)?;
    axum_server::from_tcp_rustls(listener, config)
        .handle(handle)
        .serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .await
}

/// Turns true when the server starts shutting down.
#[derive(Clone, Debug)]
pub struct Closing(pub watch::Receiver<bool>);
