//! Storage: one small trait, two backends (SQLite embedded, PostgreSQL for the central office).
//!
//! The push algorithm is written once (`push_batch`) over `PushTx`, the handful of bulk
//! statements a backend runs inside one transaction; each backend only supplies SQL. A push
//! holds its locks (`PushTx::lock`) from its first read to its commit, so two pushes never
//! merge from the same stale record nor check a rule against a state the other is changing. A rejected mutation writes nothing; a storage failure rolls the
//! whole push back and the client retries it (mutation ids make the retry safe). The account
//! tables use the same SQL on both backends (`accounts!`).

mod accounts;
mod context;
mod postgres;
mod sqlite;

use std::future::Future;

use std::collections::{BTreeMap, HashMap};

use serde_json::value::RawValue;
use shared::Record;
use shared::access::{Grant, Principal};
use shared::ballot::BallotPaper;
use shared::mutation::{FieldClocks, Mutation, Op};
use shared::protocol::{Change, Outcome, OutcomeStatus};
use shared::world::{Applied, Entry, World};
use uuid::Uuid;

pub(crate) use context::{Context, ContextCache};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for is not there.
    #[error("not found")]
    NotFound,
    /// A unique key is taken (a username).
    #[error("already exists")]
    Conflict,
    /// The database cannot write for now: disk full, read-only, an I/O error, the
    /// connection lost. Nothing was written; the client should retry later.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Anything else: the database, a migration, a corrupt row.
    #[error("storage: {0}")]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            e if StoreError::is_transient(&e) => StoreError::Unavailable(e.to_string()),
            other => StoreError::Other(Box::new(other)),
        }
    }
}

impl StoreError {
    /// The same error for another waiter (a failed group commit answers every push in it).
    pub fn copy_of(e: &sqlx::Error) -> StoreError {
        if StoreError::is_transient(e) {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Other(e.to_string().into())
        }
    }

    /// Whether a concurrent push won a race the database reported (PostgreSQL's deadlock,
    /// serialization failure or a key inserted twice at once): running it again is safe.
    pub(crate) fn lost_race(&self) -> bool {
        let StoreError::Other(e) = self else {
            return false;
        };
        e.downcast_ref::<sqlx::Error>()
            .and_then(sqlx::Error::as_database_error)
            .and_then(|d| d.code())
            .is_some_and(|c| matches!(&*c, "40P01" | "40001" | "23505"))
    }

    /// Whether `e` says the database cannot write for now rather than that the request or
    /// the data is wrong: SQLite's BUSY, NOMEM, READONLY, IOERR, FULL and CANTOPEN (by
    /// primary code), PostgreSQL's connection and insufficient-resources classes (08, 53,
    /// 57P0x) and read-only transactions (25006), and a lost or exhausted pool.
    fn is_transient(e: &sqlx::Error) -> bool {
        match e {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
            sqlx::Error::Database(db) => {
                let Some(code) = db.code() else {
                    return false;
                };
                if let Ok(sqlite) = code.parse::<u32>() {
                    return matches!(sqlite & 0xFF, 5 | 7 | 8 | 10 | 13 | 14);
                }
                code.starts_with("08")
                    || code.starts_with("53")
                    || code.starts_with("57P0")
                    || code == "25006"
            }
            _ => false,
        }
    }
}

impl From<String> for StoreError {
    fn from(message: String) -> Self {
        StoreError::Other(message.into())
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

/// One page of changes. The changes are the JSON array the database assembles from the stored
/// records (the wire form of `Vec<shared::protocol::Change>`), so a pull never decodes and
/// encodes them again.
#[derive(Debug, Clone)]
pub struct Page {
    /// The changes in sequence order (JSON array).
    pub changes: Box<RawValue>,
    /// How many changes the array holds.
    pub count: usize,
    /// The cursor after this page.
    pub cursor: u64,
    /// Whether more changes wait.
    pub more: bool,
}

impl Page {
    /// The changes decoded, as a device reads them.
    pub fn decode(&self) -> Result<Vec<Change>, StoreError> {
        Ok(serde_json::from_str(self.changes.get())?)
    }
}

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// Id.
    pub id: Uuid,
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub name: String,
    /// Argon2id PHC string; `None` for accounts made by a join code.
    pub password_hash: Option<String>,
    /// Central office administrator.
    pub admin: bool,
}

/// What a join code did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// The device joined with this grant.
    Joined(Grant),
    /// The code is unknown, used or expired.
    Invalid,
    /// The unit already has its delegate (`Store::seat_taken`).
    SeatTaken,
    /// The device is the code's issuer's own.
    IssuersDevice,
}

/// A device token as stored (by hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// The account.
    pub account_id: Uuid,
    /// The device.
    pub device_id: Uuid,
    /// Last use, ms.
    pub last_used_ms: i64,
    /// Expiry, ms.
    pub expires_ms: i64,
    /// Revocation, ms.
    pub revoked_ms: Option<i64>,
}

/// A one-time join code as stored (by hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinCodeRow {
    /// What it grants.
    pub grant: Grant,
    /// Who issued it.
    pub created_by: Uuid,
    /// Expiry, ms.
    pub expires_ms: i64,
}

/// One audit log line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRow {
    /// Position in the log.
    pub id: i64,
    /// Server time, ms.
    pub server_ms: i64,
    /// The author's account.
    pub account_id: Option<String>,
    /// The device.
    pub device_id: String,
    /// The mutation.
    pub mutation_id: String,
    /// The client's stamp (JSON).
    pub client_hlc: String,
    /// The record.
    pub record_id: String,
    /// The operation.
    pub op: String,
    /// Changed fields before (JSON).
    pub old_value: String,
    /// Changed fields after (JSON).
    pub new_value: String,
    /// Whether the mutation's values won.
    pub won: bool,
    /// A correction's reason.
    pub reason: Option<String>,
}

/// What the server needs from a database.
pub trait Store: Clone + Send + Sync + 'static {
    /// Applies `mutations` by `who` from `device`, idempotent by mutation id, in one
    /// transaction; one outcome per mutation.
    fn push(
        &self,
        who: &Principal,
        device: Uuid,
        mutations: &[Mutation],
    ) -> impl Future<Output = Result<Vec<Outcome>, StoreError>> + Send;

    /// Records changed after `cursor` in `blocks` (and units; all when `None`), at most `limit`.
    fn pull(
        &self,
        blocks: Option<&[Uuid]>,
        cursor: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Page, StoreError>> + Send;

    /// The blocks changed after `cursor`, and the latest sequence (live events).
    fn changed_blocks(
        &self,
        cursor: u64,
    ) -> impl Future<Output = Result<(Vec<Uuid>, u64), StoreError>> + Send;

    /// Inserts `records` if the database holds none yet; returns whether it did.
    fn seed_if_empty(
        &self,
        records: &[Record],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// One record and its sequence.
    fn record(&self, id: Uuid) -> impl Future<Output = Result<(Record, u64), StoreError>> + Send;

    /// Checks the database answers.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Wake-ups for changes committed by other server processes on the same database
    /// (PostgreSQL's LISTEN/NOTIFY), each sent once the pull horizon covers the change;
    /// `None` where one process writes (SQLite: the server's own pushes wake its streams).
    fn remote_changes(&self) -> Option<tokio::sync::broadcast::Receiver<()>> {
        None
    }

    /// Creates an account; `Conflict` if the username is taken.
    fn create_account(
        &self,
        account: &AccountRow,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// An account by username.
    fn account_by_username(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<AccountRow>, StoreError>> + Send;

    /// An account and its grants.
    fn principal(
        &self,
        account: Uuid,
    ) -> impl Future<Output = Result<Principal, StoreError>> + Send;

    /// Gives `account` a role on a block (replacing its earlier role there).
    fn set_grant(
        &self,
        account: Uuid,
        grant: &Grant,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores a token's hash for a device.
    fn insert_token(
        &self,
        token_hash: &str,
        account: Uuid,
        device: Uuid,
        device_name: &str,
        expires_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A token by hash.
    fn token(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<TokenRow>, StoreError>> + Send;

    /// Registers a device's public key (hex SPKI DER) for `account`; a key already there is kept.
    fn register_device_key(
        &self,
        device_id: Uuid,
        account: Uuid,
        public_key: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A device's public keys, with their account, for the accounts that still have a live
    /// (not revoked, not expired at `now_ms`) sign-in on it; newest first.
    fn device_keys(
        &self,
        device_id: Uuid,
        now_ms: i64,
    ) -> impl Future<Output = Result<Vec<(String, Uuid)>, StoreError>> + Send;

    /// Records a token's use and extends its expiry.
    fn touch_token(
        &self,
        token_hash: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Starts a page session for a token (its hash), ending the token's earlier ones and any
    /// expired session.
    fn insert_page_session(
        &self,
        session_hash: &str,
        token_hash: &str,
        expires_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A page session by hash: its token's hash and the session's expiry.
    fn page_session(
        &self,
        session_hash: &str,
    ) -> impl Future<Output = Result<Option<(String, i64)>, StoreError>> + Send;

    /// Extends a page session's expiry.
    fn touch_page_session(
        &self,
        session_hash: &str,
        expires_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The server's key pair `name` as (secret, public), hex: the one stored, or `fresh`
    /// stored now if there is none (of several servers racing, the first one's stays).
    fn server_key(
        &self,
        name: &str,
        fresh: (&str, &str),
    ) -> impl Future<Output = Result<(String, String), StoreError>> + Send;

    /// Revokes a token.
    fn revoke_token(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores a join code's hash.
    fn insert_join_code(
        &self,
        code_hash: &str,
        code: &JoinCodeRow,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Uses a join code once: creates `account` with the code's grant and its device token,
    /// all or nothing, and writes the join in the block's audit log. A delegate's code
    /// joins only while the unit's seat is free (`seat_taken`), and never on a device where
    /// the code's issuer is signed in; a refused code stays unused.
    #[allow(clippy::too_many_arguments)]
    fn redeem_join_code(
        &self,
        code_hash: &str,
        now_ms: i64,
        account: &AccountRow,
        token_hash: &str,
        device: Uuid,
        device_name: &str,
        token_expires_ms: i64,
    ) -> impl Future<Output = Result<Redeemed, StoreError>> + Send;

    /// Whether unit `unit` of `block` has its delegate: an account made by the
    /// administrator (with a password) or a device that joined for it and is still signed
    /// in at `now_ms`.
    fn seat_taken(
        &self,
        block: Uuid,
        unit: Uuid,
        now_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes every live sign-in on `device` (an administrator's act, `by`), freeing the
    /// seats it held; each block the device acted in logs it. The sign-ins revoked.
    fn revoke_device(
        &self,
        device: Uuid,
        by: Uuid,
        now_ms: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The scores of a block corrected after their round was locked, oldest first, from the
    /// audit log.
    fn corrections(
        &self,
        block: Uuid,
    ) -> impl Future<Output = Result<Vec<shared::correction::CorrectionLine>, StoreError>> + Send;

    /// The audit log of a block, oldest first, after `after`, at most `limit`.
    fn audit(
        &self,
        block: Uuid,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditRow>, StoreError>> + Send;

    /// The papers cast in a ballot (for tests of secrecy and recounts), in the box's sorted order.
    fn papers(
        &self,
        ballot: Uuid,
    ) -> impl Future<Output = Result<Vec<BallotPaper>, StoreError>> + Send;
}

/// One applied write, ready for the database: its JSON is written once, here.
pub(crate) struct RecordRow {
    pub id: Uuid,
    pub kind: &'static str,
    pub block_id: Option<Uuid>,
    pub body: String,
    pub clocks: String,
    pub deleted: bool,
    pub seq: u64,
}

impl RecordRow {
    fn new(
        record: &Record,
        clocks: &FieldClocks,
        deleted: bool,
        seq: u64,
    ) -> Result<RecordRow, StoreError> {
        Ok(RecordRow {
            id: record.id(),
            kind: record.record_type(),
            block_id: record.scope(),
            body: serde_json::to_string(record)?,
            clocks: serde_json::to_string(clocks)?,
            deleted,
            seq,
        })
    }
}

/// One audit line to append.
pub(crate) struct AuditInsert {
    pub mutation_id: Uuid,
    pub device_id: Uuid,
    pub account_id: Uuid,
    pub record_id: Uuid,
    pub block_id: Option<Uuid>,
    pub op: &'static str,
    pub old: String,
    pub new: String,
    pub won: bool,
    pub hlc: String,
    pub reason: Option<String>,
    pub server_ms: i64,
}

/// Most public keys kept per device (the newest): re-registering cannot grow the table.
pub(crate) const MAX_DEVICE_KEYS: i64 = 8;

/// Mutation ids applied before: each with the device that sent it and its digest (none for
/// rows older than migration 0006).
pub(crate) type Seen = HashMap<Uuid, (Uuid, Option<String>)>;

/// SHA-256 (hex) of a mutation as sent: same id, same device, same digest is a retry.
pub(crate) fn digest(m: &Mutation) -> Result<String, StoreError> {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(serde_json::to_string(m)?.as_bytes());
    Ok(hash.iter().map(|b| format!("{b:02x}")).collect())
}

/// One applied mutation id, the idempotency key.
pub(crate) struct MutationInsert {
    pub id: Uuid,
    pub digest: String,
    pub device_id: Uuid,
    pub record_id: Uuid,
    pub seq: u64,
    pub server_ms: i64,
}

/// Everything a push writes, in one go.
#[derive(Default)]
pub(crate) struct Batch {
    pub records: Vec<RecordRow>,
    pub mutations: Vec<MutationInsert>,
    pub audit: Vec<AuditInsert>,
    /// (ballot, paper JSON): no voter.
    pub papers: Vec<(Uuid, String)>,
    /// (ballot, voter): no paper.
    pub receipts: Vec<(Uuid, Uuid)>,
}

impl Batch {
    /// The papers to add, by ballot.
    pub fn papers_by_ballot(&self) -> BTreeMap<Uuid, Vec<&str>> {
        let mut out: BTreeMap<Uuid, Vec<&str>> = BTreeMap::new();
        for (ballot, paper) in &self.papers {
            out.entry(*ballot).or_default().push(paper);
        }
        out
    }
}

/// A ballot box after adding `new` papers (JSON texts) to `stored` (a JSON array; none
/// before the first paper): every paper, sorted by its JSON text, so that the box shows
/// which papers were cast but never in what order, nor which came with which receipt.
pub(crate) fn ballot_box(stored: Option<&str>, new: &[&str]) -> Result<String, StoreError> {
    let mut papers: Vec<String> = match stored {
        Some(text) => serde_json::from_str::<Vec<serde_json::Value>>(text)?
            .iter()
            .map(serde_json::Value::to_string)
            .collect(),
        None => Vec::new(),
    };
    for paper in new {
        papers.push(serde_json::from_str::<serde_json::Value>(paper)?.to_string());
    }
    papers.sort_unstable();
    Ok(format!("[{}]", papers.join(",")))
}

/// The papers in a stored ballot box.
pub(crate) fn box_papers(stored: &str) -> Result<Vec<BallotPaper>, StoreError> {
    Ok(serde_json::from_str(stored)?)
}

/// A scorer's sheets in one round: (block, round, scorer).
pub(crate) type ScorerKey = (Uuid, Uuid, Uuid);

/// Kinds outside a block's *structure*: a push loads the ones it touches, never all.
pub(crate) const NOT_STRUCTURE: &str = "kind NOT IN ('score_cell', 'score_sheet')";

/// Whether a record is part of its block's structure: everything but score sheets and cells
/// (the covenant, rounds, ballots, signatures, the block itself). A push checks its
/// mutations against the structure of their blocks, kept decoded in `ContextCache`, plus
/// the sheets it touches; a block's 3,600 sheets are read only for a change to its structure.
pub(crate) fn is_structure(record: &Record) -> bool {
    !matches!(record, Record::ScoreCell(_) | Record::ScoreSheet(_))
}

/// The statements a push runs inside one transaction.
pub(crate) trait PushTx: Send {
    /// Takes the locks `mutations` need, before any read: on SQLite the one write lock; on
    /// PostgreSQL the blocks' and sheets' locks (see `postgres`), so that no other push can
    /// change what this one reads until it commits.
    fn lock(
        &mut self,
        mutations: &[Mutation],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Which of these mutation ids were applied before, by which device, with which digest.
    fn seen(&mut self, ids: &[Uuid]) -> impl Future<Output = Result<Seen, StoreError>> + Send;
    /// These records, deleted ones included.
    fn load(&mut self, ids: &[Uuid])
    -> impl Future<Output = Result<Vec<Entry>, StoreError>> + Send;
    /// The context version of each of these blocks that has records: the highest sequence
    /// among its structure (`is_structure`).
    fn context_versions(
        &mut self,
        blocks: &[Uuid],
    ) -> impl Future<Output = Result<HashMap<Uuid, u64>, StoreError>> + Send;
    /// The structure of these blocks (`is_structure`).
    fn load_blocks(
        &mut self,
        blocks: &[Uuid],
    ) -> impl Future<Output = Result<Vec<Entry>, StoreError>> + Send;
    /// Every score sheet of these blocks.
    fn load_block_sheets(
        &mut self,
        blocks: &[Uuid],
    ) -> impl Future<Output = Result<Vec<Entry>, StoreError>> + Send;
    /// The score sheets of each (block, round, scorer).
    fn load_scorer_sheets(
        &mut self,
        keys: &[ScorerKey],
    ) -> impl Future<Output = Result<Vec<Entry>, StoreError>> + Send;
    /// The papers of these ballots.
    fn load_papers(
        &mut self,
        ballots: &[Uuid],
    ) -> impl Future<Output = Result<Vec<(Uuid, BallotPaper)>, StoreError>> + Send;
    /// Reserves `n` sequence numbers; returns the first.
    fn reserve(&mut self, n: u64) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Writes the batch.
    fn write(&mut self, batch: &Batch) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Milliseconds since the Unix epoch, for server timestamps.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// What a push answers, and the block contexts to keep once it has committed.
pub(crate) struct Pushed {
    pub outcomes: Vec<Outcome>,
    pub contexts: Vec<Context>,
}

/// The push algorithm, written once: lock, load what the batch touches (block contexts from
/// `cache` when still current), apply each mutation with `shared`'s rules (`World`), then
/// write every change in bulk. The caller commits, then hands `Pushed::contexts` to the cache.
pub(crate) async fn push_batch<T: PushTx>(
    tx: &mut T,
    cache: &ContextCache,
    who: &Principal,
    device: Uuid,
    mutations: &[Mutation],
) -> Result<Pushed, StoreError> {
    tx.lock(mutations).await?;
    let ids: Vec<Uuid> = mutations.iter().map(|m| m.id).collect();
    let mut seen = tx.seen(&ids).await?;
    let digests: Vec<String> = mutations.iter().map(digest).collect::<Result<_, _>>()?;
    let targets: Vec<Uuid> = mutations.iter().map(|m| m.op.target()).collect();
    let mut loaded = tx.load(&targets).await?;
    let created: HashMap<Uuid, &Record> = mutations
        .iter()
        .filter_map(|m| match &m.op {
            Op::Create { record } => Some((record.id(), record)),
            _ => None,
        })
        .collect();
    // A cell is checked against its sheet: load the sheets of the batch's cells.
    let have: std::collections::HashSet<Uuid> = loaded.iter().map(|e| e.record.id()).collect();
    let mut sheets: Vec<Uuid> = loaded
        .iter()
        .map(|e| &e.record)
        .chain(created.values().copied())
        .filter_map(|r| match r {
            Record::ScoreCell(c) => Some(c.sheet_id),
            _ => None,
        })
        .filter(|s| !have.contains(s) && !created.contains_key(s))
        .collect();
    sheets.sort_unstable();
    sheets.dedup();
    if !sheets.is_empty() {
        loaded.extend(tx.load(&sheets).await?);
    }
    let mut blocks: Vec<Uuid> = loaded.iter().filter_map(|e| e.record.scope()).collect();
    blocks.extend(created.values().filter_map(|r| r.scope()));
    blocks.sort_unstable();
    blocks.dedup();
    // The blocks whose structure the batch changes: their rules may look at every sheet.
    let kinds: HashMap<Uuid, &Record> = loaded.iter().map(|e| (e.record.id(), &e.record)).collect();
    let mut restructured: Vec<Uuid> = targets
        .iter()
        .filter_map(|t| created.get(t).or_else(|| kinds.get(t)).copied())
        .filter(|r| is_structure(r))
        .filter_map(Record::scope)
        .collect();
    restructured.sort_unstable();
    restructured.dedup();
    let mut world = World::new();
    let versions = tx.context_versions(&blocks).await?;
    let mut missing = Vec::new();
    for b in &blocks {
        match cache.get(*b, versions.get(b).copied().unwrap_or(0)) {
            Some(entries) => entries.iter().for_each(|e| world.insert(e.clone())),
            None => missing.push(*b),
        }
    }
    if !missing.is_empty() {
        for e in tx.load_blocks(&missing).await? {
            world.insert(e);
        }
    }
    if !restructured.is_empty() {
        for e in tx.load_block_sheets(&restructured).await? {
            world.insert(e);
        }
    }
    // A new sheet must not repeat one of its scorer's sheets in the round.
    let mut scorers: Vec<ScorerKey> = created
        .values()
        .filter_map(|r| match r {
            Record::ScoreSheet(s) if !restructured.contains(&s.block_id) => {
                Some((s.block_id, s.round_id, s.scorer))
            }
            _ => None,
        })
        .collect();
    scorers.sort_unstable();
    scorers.dedup();
    if !scorers.is_empty() {
        for e in tx.load_scorer_sheets(&scorers).await? {
            world.insert(e);
        }
    }
    for e in loaded {
        world.insert(e);
    }
    // Papers are needed only to count a ballot that this batch closes.
    let closing: Vec<Uuid> = mutations
        .iter()
        .filter_map(|m| match &m.op {
            Op::Update { id, fields } if fields.contains_key("state") => Some(*id),
            _ => None,
        })
        .filter(|id| matches!(world.get(*id), Some(e) if matches!(e.record, Record::Ballot(_))))
        .collect();
    if !closing.is_empty() {
        let mut by_ballot: HashMap<Uuid, Vec<BallotPaper>> = HashMap::new();
        for (b, p) in tx.load_papers(&closing).await? {
            by_ballot.entry(b).or_default().push(p);
        }
        for (b, p) in by_ballot {
            world.insert_papers(b, p);
        }
    }

    let server_ms = now_ms();
    let mut outcomes = Vec::with_capacity(mutations.len());
    let mut applied: Vec<(usize, Applied)> = Vec::new();
    for (i, m) in mutations.iter().enumerate() {
        if let Some((by, was)) = seen.get(&m.id) {
            // A retry is the same change from the same device; anything else under a taken
            // id (another device's, or altered) is refused, never passed off as a duplicate.
            let same = *by == device && was.as_ref().is_none_or(|d| *d == digests[i]);
            outcomes.push(if same {
                OutcomeStatus::Duplicate
            } else {
                let e = shared::DomainError::MutationIdTaken { id: m.id };
                OutcomeStatus::Rejected {
                    code: e.code().to_owned(),
                    message: e.to_string(),
                    message_vi: e.message_vi(),
                }
            });
            continue;
        }
        seen.insert(m.id, (device, Some(digests[i].clone())));
        // A stamp must be the sending device's own: another device's node would let one
        // device win ties it should lose, or pass its edits off as another's.
        let checked = if m.hlc.node == device {
            world.apply(m, who)
        } else {
            Err(shared::DomainError::ForeignStamp {
                node: m.hlc.node,
                device,
            })
        };
        match checked {
            Ok(a) => {
                outcomes.push(OutcomeStatus::Applied { seq: 0 });
                applied.push((i, a));
            }
            Err(e) => {
                // A rejected id is not remembered: a fixed device may send it again.
                seen.remove(&m.id);
                outcomes.push(OutcomeStatus::Rejected {
                    code: e.code().to_owned(),
                    message: e.to_string(),
                    message_vi: e.message_vi(),
                });
            }
        }
    }
    let writes: u64 = applied.iter().map(|(_, a)| a.writes.len() as u64).sum();
    let mut versions = versions;
    if writes > 0 {
        let mut seq = tx.reserve(writes).await?;
        let mut batch = Batch::default();
        let mut last: HashMap<Uuid, usize> = HashMap::new();
        for (i, a) in applied {
            let m = &mutations[i];
            outcomes[i] = OutcomeStatus::Applied { seq };
            batch.mutations.push(MutationInsert {
                id: m.id,
                digest: digests[i].clone(),
                device_id: device,
                record_id: m.op.target(),
                seq,
                server_ms,
            });
            if let Some((ballot, paper)) = &a.paper {
                batch.papers.push((*ballot, serde_json::to_string(paper)?));
                if let Some(voter) = who.unit_in(a.writes[0].record.scope().unwrap_or_default()) {
                    batch.receipts.push((*ballot, voter));
                }
            }
            for w in a.writes {
                let row = RecordRow::new(&w.record, &w.clocks, w.deleted, seq)?;
                // A creation's new value is the record itself, already written out as the body.
                let new = if w.old.is_null() {
                    row.body.clone()
                } else {
                    serde_json::to_string(&w.new)?
                };
                batch.audit.push(AuditInsert {
                    mutation_id: m.id,
                    device_id: device,
                    account_id: who.account_id,
                    record_id: w.record.id(),
                    block_id: w.record.scope(),
                    op: m.op.name(),
                    old: serde_json::to_string(&w.old)?,
                    new,
                    won: a.won,
                    hlc: serde_json::to_string(&m.hlc)?,
                    reason: a.reason.clone(),
                    server_ms,
                });
                if let Some(b) = w.record.scope()
                    && is_structure(&w.record)
                {
                    let v = versions.entry(b).or_default();
                    *v = (*v).max(seq);
                }
                // One row per record per statement: a later write in the batch replaces it.
                match last.get(&row.id) {
                    Some(&k) => batch.records[k] = row,
                    None => {
                        last.insert(row.id, batch.records.len());
                        batch.records.push(row);
                    }
                }
                seq += 1;
            }
        }
        tx.write(&batch).await?;
    }
    let contexts = blocks
        .iter()
        .filter_map(|b| {
            versions.get(b).map(|v| Context {
                block: *b,
                version: *v,
                entries: world
                    .take_block(*b)
                    .into_iter()
                    .filter(|e| is_structure(&e.record))
                    .collect(),
            })
        })
        .collect();
    let outcomes = mutations
        .iter()
        .zip(outcomes)
        .map(|(m, status)| Outcome {
            mutation_id: m.id,
            status,
        })
        .collect();
    Ok(Pushed { outcomes, contexts })
}

/// Inserts `records` as they are, each at a new sequence (seeding an empty database).
pub(crate) async fn insert_all<T: PushTx>(
    tx: &mut T,
    records: &[Record],
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let first = tx.reserve(records.len() as u64).await?;
    let batch = Batch {
        records: records
            .iter()
            .zip(first..)
            .map(|(r, seq)| RecordRow::new(r, &FieldClocks::new(), false, seq))
            .collect::<Result<_, _>>()?,
        ..Batch::default()
    };
    tx.write(&batch).await
}

/// An id stored as text.
pub(crate) fn parse_id(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| StoreError::Other(Box::new(e)))
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

/// A page as the database aggregates it: how many rows (at most `limit`), the last sequence,
/// and the rows as a JSON array.
pub(crate) type PageRow = (i64, Option<i64>, String);

/// One stored entry from its JSON body, field clocks and tombstone flag.
pub(crate) fn decode_entry(body: &str, clocks: &str, deleted: bool) -> Result<Entry, StoreError> {
    Ok(Entry {
        record: serde_json::from_str(body)?,
        clocks: serde_json::from_str(clocks)?,
        deleted,
    })
}

/// A page and its cursor from the aggregated rows and whether more rows follow them.
///
/// `upto` is the sequence counter read before the rows: every sequence up to it was
/// committed, so a last page may move the cursor there even when the account's filter hid
/// the rows in between.
pub(crate) fn page(row: PageRow, more: bool, cursor: u64, upto: u64) -> Result<Page, StoreError> {
    let (count, last, json) = row;
    let cursor = match last {
        Some(last) if more => seq_from_sql(last),
        _ => upto.max(cursor),
    };
    Ok(Page {
        changes: RawValue::from_string(json)?,
        count: usize::try_from(count).unwrap_or(0),
        cursor,
        more,
    })
}
