//! The background sync engine.
//!
//! `sync_once` pushes the outbox in batches and pulls until the server has nothing more;
//! refused mutations are set aside (visible with their reason) and the rest pushed again at
//! once, so the queue never stalls on one bad change. `run` repeats it: soon after a local
//! edit, when the network comes back or the tab becomes visible, at once when the server's
//! event stream says a block changed (or reconnects after an outage), every 15 s when idle
//! without that stream (60 s with it), and with exponential backoff (2 s … 60 s, at most 4 s
//! while the stream is connected) after a failure. The outbox survives reloads, so
//! nothing waits on this loop, and typing never waits on it either: edits go to IndexedDB.
//! A push refused as `clock_ahead` (this device's clock runs ahead of the server's) is
//! healed here: the pending edits are re-stamped from the server's time and pushed again.

use std::rc::Rc;

use futures::StreamExt;
use futures::channel::mpsc;
use futures::future::select;
use gloo_timers::future::TimeoutFuture;
use shared::protocol::{PROTOCOL, SyncRequest};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::api::{self, ApiError};
use crate::db::{DbError, LocalDb, Synced};

/// Most mutations pushed in one request (the server takes up to 1,000); a batch the server
/// finds too large (long notes) is split until it passes.
pub const PUSH_BATCH: usize = 500;
/// Changes asked for per page (the server gives up to 5,000): one IndexedDB transaction
/// each, so fewer, larger pages store a block faster.
pub const PULL_PAGE: u32 = 2_000;
const IDLE_MS: u32 = 15_000;
/// The fallback poll while the event stream is connected.
const LIVE_IDLE_MS: u32 = 60_000;
/// The longest wait after a failure while the event stream is connected (it reconnects by
/// itself and says so, so the next try comes with it).
const LIVE_BACKOFF_MS: u32 = 4_000;
const MAX_BACKOFF_MS: u32 = 60_000;

/// Why a sync stopped.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SyncError {
    /// The server could not be reached or refused the request.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The local database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Nobody has signed in on this device yet.
    #[error("not signed in")]
    SignedOut,
}

impl SyncError {
    /// What the sync bar shows, in the language the user chose.
    pub fn user_message(&self) -> String {
        let lang = crate::app::stored_lang();
        match self {
            SyncError::Api(e) => e.user_message(lang),
            SyncError::Db(e) => format!(
                "{} ({e})",
                lang.t("Lỗi cơ sở dữ liệu trên máy", "Local database error")
            ),
            SyncError::SignedOut => lang
                .t(
                    "Chưa đăng nhập: thay đổi được giữ trên máy",
                    "Not signed in: changes are kept on this device",
                )
                .into(),
        }
    }

    fn is_retryable(&self) -> bool {
        match self {
            SyncError::Api(e) => e.is_retryable(),
            SyncError::Db(_) => true,
            SyncError::SignedOut => false,
        }
    }
}

/// Takes what one answer changed (`None`: read everything again).
pub type OnSynced = dyn Fn(Option<&Synced>);

/// Where a sync hands what it stored, so the UI's copy follows without a full read.
pub struct Sink {
    /// Held while an answer is stored and handed over: the UI's edits take it too, so a
    /// change handed over never overtakes an edit made meanwhile.
    pub lock: Rc<futures::lock::Mutex<()>>,
    /// Takes what one answer changed; `None`: read everything again (pending edits were
    /// re-stamped).
    pub synced: Box<OnSynced>,
}

/// Pushes everything pending and pulls everything new, then returns.
pub async fn sync_once(db: &LocalDb, base_url: &str, sink: &Sink) -> Result<(), SyncError> {
    let mut restamped = false;
    // Halved while the server finds a push too large (long notes on many cells can pass
    // its body limit), down to one mutation.
    let mut batch = PUSH_BATCH;
    // Bounded: each round either empties a batch, sets some aside, halves it, or fails.
    for _ in 0..10_000 {
        let (meta, mutations) = db.outgoing(batch).await?;
        let Some(token) = meta.token.clone() else {
            // Nothing leaves the device before someone signs in; edits wait in the outbox.
            return Err(SyncError::SignedOut);
        };
        let pushed = mutations.len();
        // A full batch means more wait behind it: take (almost) no changes back until the
        // queue is empty, then pull. Pages pulled meanwhile would echo this device's own
        // edits and replay the rest of a long queue over each record again and again.
        let limit = if pushed == batch { 1 } else { PULL_PAGE };
        let req = SyncRequest {
            protocol: PROTOCOL,
            device_id: meta.device_id,
            cursor: meta.cursor,
            limit: Some(limit),
            mutations,
        };
        match api::sync(base_url, &token, &req).await {
            Ok(res) => {
                let turn = sink.lock.lock().await;
                let synced = db.apply_sync(&res).await?;
                (sink.synced)(Some(&synced));
                drop(turn);
                if !res.more && pushed < batch {
                    if !meta.device_key_registered {
                        register_key(db, base_url, &token).await;
                    }
                    return Ok(());
                }
            }
            Err(e) if e.too_large() && pushed > 1 => batch = pushed / 2,
            Err(e) if e.clock_ahead().is_some() && !restamped => {
                // This device's clock runs ahead of the server's: take the server's time,
                // re-stamp what is pending and push again (once per sync).
                restamped = true;
                let turn = sink.lock.lock().await;
                db.restamp(e.clock_ahead().unwrap_or_default()).await?;
                (sink.synced)(None);
                drop(turn);
            }
            Err(e) => {
                if e.needs_sign_in() {
                    // The token expired or was revoked: ask for a sign-in; edits stay queued.
                    db.set_token(None, None).await?;
                }
                let e = SyncError::from(e);
                let turn = sink.lock.lock().await;
                let failed = db.set_error(&e.user_message()).await?;
                (sink.synced)(Some(&failed));
                drop(turn);
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Sends this device's public key once per sign-in, so the changes files it signs verify.
/// Without SubtleCrypto (not a secure context) there is no key, and nothing to send.
async fn register_key(db: &LocalDb, base_url: &str, token: &str) {
    if let Ok((_, public)) = db.device_key().await
        && api::register_device_key(base_url, token, &public)
            .await
            .is_ok()
    {
        let _ = db.edit_meta(|m| m.device_key_registered = true).await;
    }
}

/// A handle that wakes the engine for an immediate sync.
#[derive(Clone)]
pub struct Poke(mpsc::UnboundedSender<()>);

impl Poke {
    /// Asks for a sync now.
    pub fn now(&self) {
        let _ = self.0.unbounded_send(());
    }
}

/// Opens the server's event stream: each change to a block the account reads, and each
/// (re)connection after an outage, asks for a sync at once. `None` where the browser has no
/// `EventSource`. The stream is opened by the page session's cookie (`api::page_session`),
/// never by a token in its address.
fn listen(base_url: &str, poke: &Poke) -> Option<web_sys::EventSource> {
    let es = web_sys::EventSource::new(&format!("{base_url}/api/v1/events")).ok()?;
    let p = poke.clone();
    let wake = Closure::<dyn Fn()>::new(move || p.now());
    for event in ["change", "ready"] {
        let _ = es.add_event_listener_with_callback(event, wake.as_ref().unchecked_ref());
    }
    // Lives as long as the stream: one per sign-in.
    wake.forget();
    Some(es)
}

/// Starts the engine; `sink` takes what each answer stored, `after` runs after every
/// attempt (to show the sync state).
pub fn run(db: Rc<LocalDb>, base_url: String, sink: Sink, after: impl Fn() + 'static) -> Poke {
    let (tx, mut rx) = mpsc::unbounded::<()>();
    let poke = Poke(tx);
    if let Some(w) = web_sys::window() {
        let p = poke.clone();
        let on_online = Closure::<dyn Fn()>::new(move || p.now());
        let _ = w.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
        // The listener lives as long as the page.
        on_online.forget();
        if let Some(doc) = w.document() {
            let p = poke.clone();
            let d = doc.clone();
            let on_visible = Closure::<dyn Fn()>::new(move || {
                if d.visibility_state() == web_sys::VisibilityState::Visible {
                    p.now();
                }
            });
            let _ = doc.add_event_listener_with_callback(
                "visibilitychange",
                on_visible.as_ref().unchecked_ref(),
            );
            on_visible.forget();
        }
    }
    let me = poke.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let mut failures: u32 = 0;
        let mut live: Option<(String, web_sys::EventSource)> = None;
        loop {
            let result = sync_once(&db, &base_url, &sink).await;
            // Follow the server's events for the signed-in token: one opened for the
            // current token, the old one closed on sign-out or a new sign-in.
            // A stream the server ended (sign-out elsewhere, an expired page session) is
            // closed for good by the browser: it is opened again with a new page session.
            let token = db.outgoing(0).await.ok().and_then(|(m, _)| m.token);
            let ended = live
                .as_ref()
                .is_some_and(|(_, es)| es.ready_state() == web_sys::EventSource::CLOSED);
            if ended || live.as_ref().map(|(t, _)| t) != token.as_ref() {
                if let Some((_, old)) = live.take() {
                    old.close();
                }
                if let Some(t) = token
                    && api::page_session(&base_url, &t).await.is_ok()
                {
                    live = listen(&base_url, &me).map(|es| (t, es));
                }
            }
            let connected = live
                .as_ref()
                .is_some_and(|(_, es)| es.ready_state() == web_sys::EventSource::OPEN);
            let wait = match result {
                // The events wake the engine; polling is the fallback.
                Ok(()) if connected => LIVE_IDLE_MS,
                Ok(()) => {
                    failures = 0;
                    IDLE_MS
                }
                Err(e) if e.is_retryable() => {
                    failures = failures.saturating_add(1);
                    2_000u32
                        .saturating_mul(1 << failures.min(5).saturating_sub(1))
                        .min(if connected {
                            LIVE_BACKOFF_MS
                        } else {
                            MAX_BACKOFF_MS
                        })
                }
                Err(_) => MAX_BACKOFF_MS,
            };
            // Anything that failed is shown by the sync bar (meta.last_error) and retried.
            after();
            // Wait for the timer or a poke, then drain extra pokes so a burst syncs once.
            let _ = select(TimeoutFuture::new(wait), rx.next()).await;
            while let Ok(()) = rx.try_recv() {}
            // A short pause lets a burst of edits go out in one push.
            TimeoutFuture::new(150).await;
        }
    });
    poke
}
