//! `GET /api/v1/events`: server-sent events telling a connected client which of its blocks
//! changed, so a projector screen pulls within a moment of a sync landing.
//!
//! Each push wakes the stream through an in-process channel; a poll every second also
//! catches pushes served by another server process on the same PostgreSQL database. The
//! event carries only the block id and the sequence, never data: the client then pulls
//! through the normal, rights-checked sync.

use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use tokio::sync::{broadcast, watch};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::{AppState, Closing, Store};

/// How often the stream looks at the database when no local push woke it.
const POLL: Duration = Duration::from_secs(1);

struct Watch<S: Store> {
    store: S,
    auth: Auth,
    rx: broadcast::Receiver<()>,
    closing: Option<watch::Receiver<bool>>,
    cursor: u64,
    pending: Vec<Event>,
}

/// The event stream.
pub(crate) async fn events<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    closing: Option<Extension<Closing>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // A cursor past every sequence lists no block and returns the latest sequence.
    let (_, cursor) = state.store.changed_blocks(u64::MAX).await?;
    let watch = Watch {
        store: state.store.clone(),
        auth,
        rx: state.events.subscribe(),
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
            tokio::select! {
                () = closing => return None,
                r = w.rx.recv() => {
                    if matches!(r, Err(broadcast::error::RecvError::Closed)) {
                        return None;
                    }
                }
                () = tokio::time::sleep(POLL) => {}
            }
            match w.store.changed_blocks(w.cursor).await {
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
