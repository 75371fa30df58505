//! `GET /api/v1/events`: server-sent events telling a connected client which of its blocks
//! changed, so a projector screen pulls within a moment of a sync landing.
//!
//! Each push wakes the stream through an in-process channel, and a push served by another
//! server process on the same PostgreSQL database through the store's LISTEN/NOTIFY
//! (`Store::remote_changes`); a look every `FALLBACK` ticks catches anything else (the CLI
//! writing to SQLite). The event carries only the block id and the sequence, never data:
//! the client then pulls through the normal, rights-checked sync.
//!
//! A stream ends when its sign-in does (sign-out, revocation, expiry, the page session's
//! end), checked every `LIVE_CHECK` ticks, and one device token holds at most
//! `MAX_STREAMS_PER_TOKEN` streams at once, so no token can pile up connections.

use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use tokio::sync::{broadcast, watch};

use crate::auth::{Auth, PageAuth};
use crate::error::ApiError;
use crate::{AppState, Closing, Store};

/// The stream's clock.
const TICK: Duration = Duration::from_secs(1);
/// Every this many ticks, the stream checks that its sign-in is still live.
const LIVE_CHECK: u32 = 10;
/// Every this many ticks, the stream looks for changes even though nothing woke it.
const FALLBACK: u32 = 30;
/// Streams one device token may hold open at once (an app, a projector tab, a spare).
pub(crate) const MAX_STREAMS_PER_TOKEN: u32 = 4;

/// Open streams per token hash.
#[derive(Debug, Default)]
pub struct Streams(std::sync::Mutex<std::collections::HashMap<String, u32>>);

/// One open stream, counted until it drops.
struct Slot {
    streams: std::sync::Arc<Streams>,
    token_hash: String,
}

impl Streams {
    fn take(streams: &std::sync::Arc<Streams>, token_hash: &str) -> Option<Slot> {
        let mut open = streams
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = open.entry(token_hash.to_owned()).or_default();
        if *n >= MAX_STREAMS_PER_TOKEN {
            return None;
        }
        *n += 1;
        Some(Slot {
            streams: streams.clone(),
            token_hash: token_hash.to_owned(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .streams
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.token_hash) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.token_hash);
            }
        }
    }
}

struct Watch<S: Store> {
    state: AppState<S>,
    _slot: Slot,
    ticks: u32,
    /// A steady clock: wake-ups in between do not postpone its ticks.
    clock: tokio::time::Interval,
    auth: Auth,
    rx: broadcast::Receiver<()>,
    remote: Option<broadcast::Receiver<()>>,
    closing: Option<watch::Receiver<bool>>,
    cursor: u64,
    pending: Vec<Event>,
}

/// The event stream.
pub(crate) async fn events<S: Store>(
    State(state): State<AppState<S>>,
    PageAuth(auth): PageAuth,
    closing: Option<Extension<Closing>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // A cursor past every sequence lists no block and returns the latest sequence.
    let (_, cursor) = state.store.changed_blocks(u64::MAX).await?;
    let slot = Streams::take(&state.streams, &auth.token_hash).ok_or(ApiError::RateLimited {
        retry_after_secs: 5,
    })?;
    let watch = Watch {
        state: state.clone(),
        _slot: slot,
        ticks: 0,
        clock: {
            let mut c = tokio::time::interval_at(tokio::time::Instant::now() + TICK, TICK);
            c.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            c
        },
        auth,
        rx: state.events.subscribe(),
        remote: state.store.remote_changes(),
        closing: closing.map(|Extension(Closing(rx))| rx),
        cursor,
        pending: vec![Event::default().event("ready").data(cursor.to_string())],
    };
    let stream = stream::unfold(watch, |mut w| async move {
        loop {
            if let Some(e) = w.pending.pop() {
                return Some((Ok(e), w));
            }
            let closing = async {
                match w.closing.as_mut() {
                    Some(c) => {
                        let _ = c.wait_for(|closing| *closing).await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let remote = async {
                match w.remote.as_mut() {
                    Some(r) => r.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = closing => return None,
                r = w.rx.recv() => {
                    if matches!(r, Err(broadcast::error::RecvError::Closed)) {
                        return None;
                    }
                }
                r = remote => {
                    if matches!(r, Err(broadcast::error::RecvError::Closed)) {
                        w.remote = None;
                    }
                }
                _ = w.clock.tick() => {
                    w.ticks = w.ticks.wrapping_add(1);
                    if w.ticks % LIVE_CHECK == 0
                        && !crate::auth::still_live(&w.state, &w.auth).await
                    {
                        return None;
                    }
                    if w.ticks % FALLBACK != 0 {
                        continue;
                    }
                }
            }
            match w.state.store.changed_blocks(w.cursor).await {
                Ok((blocks, upto)) => {
                    for b in blocks {
                        if w.auth.principal.can_read(Some(b)) {
                            w.pending.push(
                                Event::default()
                                    .event("change")
                                    .data(format!("{{\"block_id\":\"{b}\",\"seq\":{upto}}}")),
                            );
                        }
                    }
                    w.cursor = upto;
                }
                Err(e) => tracing::warn!(error = %e, "live events: database poll failed"),
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
