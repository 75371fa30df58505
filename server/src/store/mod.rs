//! Storage: one small trait, two backends (SQLite embedded, PostgreSQL for the central office).
//!
//! The push algorithm is written once (`push_batch`) over `PushTx`, the handful of statements
//! a backend runs inside one transaction; each backend only supplies SQL. A batch is all or
//! nothing: any rejected mutation rolls the whole transaction back.

mod postgres;
mod sqlite;

use std::future::Future;

use shared::mutation::{self, FieldClocks, Mutation};
use shared::protocol::{Change, Outcome, OutcomeStatus, Rejection};
use shared::{Hlc, Record};
use uuid::Uuid;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for is not there.
    #[error("not found")]
    NotFound,
    /// Anything else: the database, a migration, a corrupt row.
    #[error("storage: {0}")]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            other => StoreError::Other(Box::new(other)),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Other(Box::new(e))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Other(Box::new(e))
    }
}

/// Why a push wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// Some mutations break a rule; the batch was rolled back.
    #[error("{} mutation(s) rejected", .0.len())]
    Rejected(Vec<Rejection>),
    /// Storage failed; the batch was rolled back.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One page of changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Changes in sequence order.
    pub changes: Vec<Change>,
    /// The cursor after this page.
    pub cursor: u64,
    /// Whether more changes wait.
    pub more: bool,
}

/// What the server needs from a database.
pub trait Store: Clone + Send + Sync + 'static {
    /// Applies a batch of mutations from `device` atomically, idempotent by mutation id.
    fn push(
        &self,
        device: Uuid,
        mutations: &[Mutation],
    ) -> impl Future<Output = Result<Vec<Outcome>, PushError>> + Send;

    /// Records changed after `cursor`, at most `limit`.
    fn pull(
        &self,
        cursor: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Page, StoreError>> + Send;

    /// Inserts `records` if the database holds none yet; returns whether it did.
    fn seed_if_empty(
        &self,
        records: &[Record],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// One record and its sequence.
    fn record(&self, id: Uuid) -> impl Future<Output = Result<(Record, u64), StoreError>> + Send;

    /// Checks the database answers.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// One applied mutation, as the audit log keeps it.
pub(crate) struct AuditEntry<'a> {
    pub mutation_id: Uuid,
    pub device_id: Uuid,
    pub record_id: Uuid,
    pub seq: u64,
    pub field: &'a str,
    pub old: &'a serde_json::Value,
    pub new: &'a serde_json::Value,
    pub won: bool,
    pub hlc: &'a Hlc,
    pub server_ms: i64,
}

/// The statements a push runs inside one transaction.
pub(crate) trait PushTx: Send {
    /// Whether a mutation id was applied before.
    fn seen(&mut self, mutation: Uuid) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// A record and its field clocks.
    fn load(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<(Record, FieldClocks)>, StoreError>> + Send;
    /// The next server sequence.
    fn next_seq(&mut self) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Writes a record (insert or replace) at `seq`.
    fn save(
        &mut self,
        record: &Record,
        clocks: &FieldClocks,
        seq: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records the mutation id and appends the audit entry.
    fn log(
        &mut self,
        entry: &AuditEntry<'_>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Milliseconds since the Unix epoch, for server timestamps.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The push algorithm: validate with `shared`, merge last-writer-wins, log, answer.
///
/// Returns the outcomes when every mutation is applied or a duplicate; otherwise every
/// rejection, and the caller rolls back.
pub(crate) async fn push_batch<T: PushTx>(
    tx: &mut T,
    device: Uuid,
    mutations: &[Mutation],
) -> Result<Vec<Outcome>, PushError> {
    let mut outcomes = Vec::with_capacity(mutations.len());
    let mut rejected = Vec::new();
    let server_ms = now_ms();
    for m in mutations {
        if tx.seen(m.id).await? {
            outcomes.push(Outcome {
                mutation_id: m.id,
                status: OutcomeStatus::Duplicate,
            });
            continue;
        }
        let current = tx.load(m.op.target()).await?;
        let (record, clocks) = match &current {
            Some((r, c)) => (Some(r), c.clone()),
            None => (None, FieldClocks::new()),
        };
        let applied = match mutation::apply(m, record, &clocks) {
            Ok(a) => a,
            Err(e) => {
                rejected.push(Rejection {
                    mutation_id: m.id,
                    code: e.code().to_owned(),
                    message: e.to_string(),
                    message_vi: e.message_vi(),
                });
                continue;
            }
        };
        if !rejected.is_empty() {
            // The batch will roll back; keep validating to report every problem at once.
            continue;
        }
        let seq = tx.next_seq().await?;
        tx.save(&applied.record, &applied.clocks, seq).await?;
        tx.log(&AuditEntry {
            mutation_id: m.id,
            device_id: device,
            record_id: applied.record.id(),
            seq,
            field: applied.field,
            old: &applied.old,
            new: &applied.new,
            won: applied.won,
            hlc: &m.hlc,
            server_ms,
        })
        .await?;
        outcomes.push(Outcome {
            mutation_id: m.id,
            status: OutcomeStatus::Applied { seq },
        });
    }
    if rejected.is_empty() {
        Ok(outcomes)
    } else {
        Err(PushError::Rejected(rejected))
    }
}

/// Inserts `records` as they are, each at a new sequence (seeding an empty database).
pub(crate) async fn insert_all<T: PushTx>(
    tx: &mut T,
    records: &[Record],
) -> Result<(), StoreError> {
    for r in records {
        let seq = tx.next_seq().await?;
        tx.save(r, &FieldClocks::new(), seq).await?;
    }
    Ok(())
}

/// Seq values are `u64` on the wire and `i64` in SQL; they never come near the limit.
pub(crate) fn seq_to_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// See `seq_to_sql`.
pub(crate) fn seq_from_sql(seq: i64) -> u64 {
    u64::try_from(seq).unwrap_or(0)
}

/// Which backend a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://path` (or `sqlite:path`).
    Sqlite,
    /// `postgres://…` or `postgresql://…`.
    Postgres,
}

impl Backend {
    /// The backend for a URL, or `None` for an unknown scheme.
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// One change from its stored sequence, JSON body and field clocks.
pub(crate) fn decode_change(seq: i64, body: &str, clocks: &str) -> Result<Change, StoreError> {
    Ok(Change {
        seq: seq_from_sql(seq),
        record: serde_json::from_str(body)?,
        clocks: serde_json::from_str(clocks)?,
    })
}

/// Cuts a fetched `limit + 1` rows to a page and its cursor.
pub(crate) fn page(mut changes: Vec<Change>, cursor: u64, limit: u32) -> Page {
    let more = changes.len() > limit as usize;
    changes.truncate(limit as usize);
    let cursor = changes.last().map_or(cursor, |c| c.seq);
    Page {
        changes,
        cursor,
        more,
    }
}
