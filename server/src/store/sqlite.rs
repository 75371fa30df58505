//! SQLite backend: the embedded default, one file under `./data/`, WAL with full sync.
//!
//! SQLite has one writer at a time, so pushes go to one writer task instead of failing with
//! `SQLITE_BUSY`; readers run alongside (WAL). The writer commits pushes in groups: it takes
//! every push already waiting (up to `GROUP_MUTATIONS`), runs each in its own savepoint, and
//! commits them together, so one fsync serves many devices. A push that fails rolls back
//! its savepoint only; a failed commit fails the whole group, and nobody is told "applied"
//! before the commit is durable.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use std::collections::HashMap;

use shared::Record;
use shared::access::{Grant, Principal, Role};
use shared::ballot::BallotPaper;
use shared::mutation::Mutation;
use shared::protocol::Outcome;
use shared::world::Entry;
use sqlx::Connection as _;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use super::accounts::{SEAT_TAKEN, accounts};

/// One audit line for an act that is not a mutation (a join, a revoked device): mutation id,
/// device, account, record, block, what (`field`), details (JSON), time.
const AUDIT_EVENT: &str = "INSERT INTO audit_log (mutation_id, device_id, account_id, record_id,
    block_id, field, old_value, new_value, won, client_hlc, reason, server_ms)
    VALUES ($1, $2, $3, $4, $5, $6, 'null', $7, 1, '{}', NULL, $8)";
use super::{
    AccountRow, AuditRow, Batch, ContextCache, JoinCodeRow, NOT_STRUCTURE, Page, PushTx, Store,
    StoreError, TokenRow, push_batch, seq_from_sql, seq_to_sql,
};

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Arc<Mutex<()>>,
    contexts: ContextCache,
    pushes: mpsc::Sender<Job>,
}

/// Mutations committed together at most (a push is never split).
const GROUP_MUTATIONS: usize = 8_000;

/// One push waiting for the writer.
struct Job {
    who: Principal,
    device: Uuid,
    mutations: Vec<Mutation>,
    reply: oneshot::Sender<Result<Vec<Outcome>, StoreError>>,
}

impl SqliteStore {
    /// Opens (creating the file and its folder if needed) and migrates the database at `url`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            // 8 MiB of page cache per connection instead of 2 MiB: a push's index updates
            // stay in memory. More (32 MiB was tried) bought no speed and 10 MB of peak
            // memory over the pool's 8 connections; the kernel caches the file anyway.
            .pragma("cache_size", "-8192")
            // Checkpoints run in the background (`checkpoint_loop`); this is only the
            // backstop, so a commit seldom copies the log into the database itself.
            .pragma("wal_autocheckpoint", "16384")
            .foreign_keys(true);
        if let Some(dir) = opts.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Other(Box::new(e)))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // A commit that failed (disk full) can leave a connection that still counts itself
            // in a transaction, and every later BEGIN on it would fail: close it instead.
            .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let (pushes, queue) = mpsc::channel(256);
        let store = SqliteStore {
            pool,
            writer: Arc::new(Mutex::new(())),
            contexts: ContextCache::default(),
            pushes,
        };
        // The tasks end when the last clone of the store (the last sender) is dropped.
        tokio::spawn(checkpoint_loop(
            store.pool.clone(),
            store.pushes.downgrade(),
        ));
        tokio::spawn(write_loop(
            store.pool.clone(),
            store.writer.clone(),
            store.contexts.clone(),
            queue,
        ));
        Ok(store)
    }
}

impl SqliteStore {
    /// Waits for this process's turn to write. SQLite has one writer; a write that waited in
    /// SQLite's busy handler instead would starve behind back-to-back push groups (a login
    /// during a busy hall timed out after 10 s), while this lock is first come, first served.
    async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        Some(self.writer.lock().await)
    }
}

/// Takes the pushes waiting in `queue` in groups and commits each group together.
async fn write_loop(
    pool: SqlitePool,
    writer: Arc<Mutex<()>>,
    contexts: ContextCache,
    mut queue: mpsc::Receiver<Job>,
) {
    while let Some(first) = queue.recv().await {
        let mut size = first.mutations.len();
        let mut group = vec![first];
        while size < GROUP_MUTATIONS {
            match queue.try_recv() {
                Ok(job) => {
                    size += job.mutations.len();
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        // Its own task: a panic fails this group's pushes (their replies are dropped),
        // not the writer.
        let run = commit_group(pool.clone(), writer.clone(), contexts.clone(), group);
        if let Err(e) = tokio::spawn(run).await {
            tracing::error!(error = %e, "push group failed");
        }
    }
}

/// Copies the write-ahead log into the database every half second, beside the writer
/// (a passive checkpoint waits for nobody), so commits stay short.
async fn checkpoint_loop(pool: SqlitePool, alive: mpsc::WeakSender<Job>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if alive.upgrade().is_none() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(error = %e, "checkpoint failed");
        }
    }
}

/// Runs a group of pushes in one transaction, each in a savepoint, then answers them.
async fn commit_group(
    pool: SqlitePool,
    writer: Arc<Mutex<()>>,
    contexts: ContextCache,
    group: Vec<Job>,
) {
    let _writer = writer.lock().await;
    // IMMEDIATE: take the write lock before the first read. A deferred transaction would
    // read, then fail with SQLITE_BUSY_SNAPSHOT when a token or account write from another
    // connection had committed in between.
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => Tx(tx),
        Err(e) => {
            for job in group {
                let _ = job.reply.send(Err(StoreError::copy_of(&e)));
            }
            return;
        }
    };
    let mut done = Vec::with_capacity(group.len());
    let mut touched = Vec::new();
    for job in group {
        let pushed = async {
            let mut savepoint = Tx(sqlx::Acquire::begin(&mut tx.0).await?);
            let pushed = push_batch(
                &mut savepoint,
                &contexts,
                &job.who,
                job.device,
                &job.mutations,
            )
            .await?;
            savepoint.0.commit().await?;
            Ok::<_, StoreError>(pushed)
        }
        .await;
        match pushed {
            Ok(pushed) => {
                // The next push of the group reads these blocks at their new versions.
                touched.extend(pushed.contexts.iter().map(|c| c.block));
                contexts.put(pushed.contexts);
                done.push((job.reply, pushed.outcomes));
            }
            Err(e) => {
                let _ = job.reply.send(Err(e));
            }
        }
    }
    match tx.0.commit().await {
        Ok(()) => {
            for (reply, outcomes) in done {
                let _ = reply.send(Ok(outcomes));
            }
        }
        Err(e) => {
            // Versions written by this group may be reused by later pushes.
            contexts.forget(&touched);
            for (reply, _) in done {
                let _ = reply.send(Err(StoreError::copy_of(&e)));
            }
        }
    }
}

/// A stored entry from a row of (body, clocks, deleted).
fn entry(row: &sqlx::sqlite::SqliteRow) -> Result<Entry, StoreError> {
    super::decode_entry(
        row.try_get::<&str, _>(0)?,
        row.try_get::<&str, _>(1)?,
        row.try_get(2)?,
    )
}

struct Tx<'c>(Transaction<'c, Sqlite>);

/// Rows per multi-row statement; SQLite allows 32,766 parameters.
const CHUNK: usize = 500;

fn id_list(ids: &[Uuid]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    v.sort_unstable();
    v.dedup();
    v
}

impl Tx<'_> {
    async fn entries(&mut self, sql: &str, ids: &[Uuid]) -> Result<Vec<Entry>, StoreError> {
        let mut out = Vec::new();
        for chunk in id_list(ids).chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(sql);
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id);
            }
            q.push(")");
            for row in q.build().fetch_all(&mut *self.0).await? {
                out.push(entry(&row)?);
            }
        }
        Ok(out)
    }
}

impl PushTx for Tx<'_> {
    async fn lock(&mut self, _: &[Mutation]) -> Result<(), StoreError> {
        // The store's writer mutex is held by the caller; SQLite has one writer anyway.
        Ok(())
    }

    async fn seen(&mut self, ids: &[Uuid]) -> Result<super::Seen, StoreError> {
        let mut out = super::Seen::new();
        for chunk in id_list(ids).chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT id, device_id, digest FROM mutations WHERE id IN (",
            );
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id);
            }
            q.push(")");
            for row in q.build().fetch_all(&mut *self.0).await? {
                out.insert(
                    super::parse_id(row.try_get::<&str, _>(0)?)?,
                    (
                        super::parse_id(row.try_get::<&str, _>(1)?)?,
                        row.try_get::<Option<String>, _>(2)?,
                    ),
                );
            }
        }
        Ok(out)
    }

    async fn load(&mut self, ids: &[Uuid]) -> Result<Vec<Entry>, StoreError> {
        self.entries(
            "SELECT body, clocks, deleted FROM records WHERE id IN (",
            ids,
        )
        .await
    }

    async fn context_versions(
        &mut self,
        blocks: &[Uuid],
    ) -> Result<HashMap<Uuid, u64>, StoreError> {
        let mut out = HashMap::new();
        for chunk in id_list(blocks).chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(format!(
                "SELECT block_id, MAX(seq) FROM records WHERE {NOT_STRUCTURE} AND block_id IN ("
            ));
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id);
            }
            q.push(") GROUP BY block_id");
            for row in q.build().fetch_all(&mut *self.0).await? {
                out.insert(
                    super::parse_id(row.try_get::<&str, _>(0)?)?,
                    seq_from_sql(row.try_get(1)?),
                );
            }
        }
        Ok(out)
    }

    async fn load_blocks(&mut self, blocks: &[Uuid]) -> Result<Vec<Entry>, StoreError> {
        self.entries(
            &format!(
                "SELECT body, clocks, deleted FROM records WHERE {NOT_STRUCTURE} AND block_id IN ("
            ),
            blocks,
        )
        .await
    }

    async fn load_block_sheets(&mut self, blocks: &[Uuid]) -> Result<Vec<Entry>, StoreError> {
        self.entries(
            "SELECT body, clocks, deleted FROM records WHERE kind = 'score_sheet' AND block_id IN (",
            blocks,
        )
        .await
    }

    async fn load_scorer_sheets(
        &mut self,
        keys: &[super::ScorerKey],
    ) -> Result<Vec<Entry>, StoreError> {
        let mut out = Vec::new();
        for (block, round, scorer) in keys {
            let rows = sqlx::query(
                "SELECT body, clocks, deleted FROM records
                 WHERE kind = 'score_sheet' AND block_id = ?1
                   AND json_extract(body, '$.round_id') = ?2 AND json_extract(body, '$.scorer') = ?3",
            )
            .bind(block.to_string())
            .bind(round.to_string())
            .bind(scorer.to_string())
            .fetch_all(&mut *self.0)
            .await?;
            for row in rows {
                out.push(entry(&row)?);
            }
        }
        Ok(out)
    }

    async fn load_papers(
        &mut self,
        ballots: &[Uuid],
    ) -> Result<Vec<(Uuid, BallotPaper)>, StoreError> {
        let mut out = Vec::new();
        for b in ballots {
            let stored: Option<String> =
                sqlx::query_scalar("SELECT papers FROM ballot_boxes WHERE ballot_id = ?1")
                    .bind(b.to_string())
                    .fetch_optional(&mut *self.0)
                    .await?;
            for p in stored
                .as_deref()
                .map(super::box_papers)
                .transpose()?
                .unwrap_or_default()
            {
                out.push((*b, p));
            }
        }
        Ok(out)
    }

    async fn reserve(&mut self, n: u64) -> Result<u64, StoreError> {
        let v: i64 = sqlx::query_scalar(
            "UPDATE counters SET value = value + ?1 WHERE name = 'seq' RETURNING value",
        )
        .bind(seq_to_sql(n))
        .fetch_one(&mut *self.0)
        .await?;
        Ok(seq_from_sql(v) + 1 - n)
    }

    async fn write(&mut self, b: &Batch) -> Result<(), StoreError> {
        for chunk in b.records.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO records (id, kind, block_id, body, clocks, seq, deleted) ",
            );
            q.push_values(chunk, |mut v, r| {
                v.push_bind(r.id.to_string())
                    .push_bind(r.kind)
                    .push_bind(r.block_id.map(|b| b.to_string()))
                    .push_bind(&r.body)
                    .push_bind(&r.clocks)
                    .push_bind(seq_to_sql(r.seq))
                    .push_bind(r.deleted);
            });
            q.push(
                " ON CONFLICT (id) DO UPDATE SET body = excluded.body, clocks = excluded.clocks, \
                 seq = excluded.seq, deleted = excluded.deleted",
            );
            q.build().execute(&mut *self.0).await?;
        }
        for chunk in b.mutations.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO mutations (id, device_id, record_id, seq, received_ms, digest) ",
            );
            q.push_values(chunk, |mut v, m| {
                v.push_bind(m.id.to_string())
                    .push_bind(m.device_id.to_string())
                    .push_bind(m.record_id.to_string())
                    .push_bind(seq_to_sql(m.seq))
                    .push_bind(m.server_ms)
                    .push_bind(&m.digest);
            });
            q.build().execute(&mut *self.0).await?;
        }
        for chunk in b.audit.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO audit_log (mutation_id, device_id, account_id, record_id, block_id, \
                 field, old_value, new_value, won, client_hlc, reason, server_ms) ",
            );
            q.push_values(chunk, |mut v, a| {
                v.push_bind(a.mutation_id.to_string())
                    .push_bind(a.device_id.to_string())
                    .push_bind(a.account_id.to_string())
                    .push_bind(a.record_id.to_string())
                    .push_bind(a.block_id.map(|b| b.to_string()))
                    .push_bind(a.op)
                    .push_bind(&a.old)
                    .push_bind(&a.new)
                    .push_bind(a.won)
                    .push_bind(&a.hlc)
                    .push_bind(a.reason.as_deref())
                    .push_bind(a.server_ms);
            });
            q.build().execute(&mut *self.0).await?;
        }
        for (ballot, papers) in b.papers_by_ballot() {
            let stored: Option<String> =
                sqlx::query_scalar("SELECT papers FROM ballot_boxes WHERE ballot_id = ?1")
                    .bind(ballot.to_string())
                    .fetch_optional(&mut *self.0)
                    .await?;
            sqlx::query(
                "INSERT INTO ballot_boxes (ballot_id, papers) VALUES (?1, ?2) \
                 ON CONFLICT (ballot_id) DO UPDATE SET papers = excluded.papers",
            )
            .bind(ballot.to_string())
            .bind(super::ballot_box(stored.as_deref(), &papers)?)
            .execute(&mut *self.0)
            .await?;
        }
        for (ballot, voter) in &b.receipts {
            sqlx::query("INSERT INTO receipts (ballot_id, voter) VALUES (?1, ?2)")
                .bind(ballot.to_string())
                .bind(voter.to_string())
                .execute(&mut *self.0)
                .await?;
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    async fn push(
        &self,
        who: &Principal,
        device: Uuid,
        mutations: &[Mutation],
    ) -> Result<Vec<Outcome>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            who: who.clone(),
            device,
            mutations: mutations.to_vec(),
            reply,
        };
        let stopped = || StoreError::from("the writer stopped".to_owned());
        self.pushes.send(job).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    async fn pull(
        &self,
        blocks: Option<&[Uuid]>,
        cursor: u64,
        limit: u32,
    ) -> Result<Page, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let upto: i64 = sqlx::query_scalar("SELECT value FROM counters WHERE name = 'seq'")
            .fetch_one(&mut *conn)
            .await?;
        // The account's blocks (units belong to none and are public).
        let filter = |q: &mut QueryBuilder<'_, Sqlite>| {
            if let Some(blocks) = blocks {
                q.push(" AND (block_id IS NULL");
                if !blocks.is_empty() {
                    q.push(" OR block_id IN (");
                    let mut list = q.separated(", ");
                    for b in blocks {
                        list.push_bind(b.to_string());
                    }
                    q.push(")");
                }
                q.push(")");
            }
        };
        // The database writes the page as the wire's JSON array of
        // `shared::protocol::Change` objects, one row for the whole page.
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT COUNT(*), MAX(seq), '[' || COALESCE(group_concat('{\"seq\":' || seq \
             || ',\"record\":' || body \
             || CASE WHEN clocks = '{}' THEN '' ELSE ',\"clocks\":' || clocks END \
             || CASE WHEN deleted THEN ',\"deleted\":true' ELSE '' END || '}', ',' \
             ORDER BY seq), '') || ']' \
             FROM (SELECT seq, body, clocks, deleted FROM records WHERE seq > ",
        );
        q.push_bind(seq_to_sql(cursor))
            .push(" AND seq <= ")
            .push_bind(upto);
        filter(&mut q);
        q.push(" ORDER BY seq LIMIT ")
            .push_bind(i64::from(limit))
            .push(")");
        let row = q
            .build_query_as::<super::PageRow>()
            .fetch_one(&mut *conn)
            .await?;
        let more = match row.1 {
            Some(last) if row.0 >= i64::from(limit) => {
                let mut q = QueryBuilder::<Sqlite>::new(
                    "SELECT EXISTS (SELECT 1 FROM records WHERE seq > ",
                );
                q.push_bind(last).push(" AND seq <= ").push_bind(upto);
                filter(&mut q);
                q.push(")");
                q.build_query_scalar::<bool>().fetch_one(&mut *conn).await?
            }
            _ => false,
        };
        super::page(row, more, cursor, seq_from_sql(upto))
    }

    async fn changed_blocks(&self, cursor: u64) -> Result<(Vec<Uuid>, u64), StoreError> {
        let mut conn = self.pool.acquire().await?;
        let upto: i64 = sqlx::query_scalar("SELECT value FROM counters WHERE name = 'seq'")
            .fetch_one(&mut *conn)
            .await?;
        let rows: Vec<Option<String>> = sqlx::query_scalar(
            "SELECT DISTINCT block_id FROM records WHERE seq > ?1 AND seq <= ?2",
        )
        .bind(seq_to_sql(cursor))
        .bind(upto)
        .fetch_all(&mut *conn)
        .await?;
        let blocks = rows
            .iter()
            .flatten()
            .map(|b| super::parse_id(b))
            .collect::<Result<_, _>>()?;
        Ok((blocks, seq_from_sql(upto)))
    }

    async fn seed_if_empty(&self, records: &[Record]) -> Result<bool, StoreError> {
        let _writer = self.writer.lock().await;
        let mut tx = Tx(self.pool.begin_with("BEGIN IMMEDIATE").await?);
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM records")
            .fetch_one(&mut *tx.0)
            .await?;
        if count > 0 {
            return Ok(false);
        }
        super::insert_all(&mut tx, records).await?;
        tx.0.commit().await?;
        Ok(true)
    }

    async fn record(&self, id: Uuid) -> Result<(Record, u64), StoreError> {
        let row = sqlx::query("SELECT body, seq FROM records WHERE id = ?1")
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await?;
        let body: String = row.try_get(0)?;
        let seq: i64 = row.try_get(1)?;
        Ok((serde_json::from_str(&body)?, seq_from_sql(seq)))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    accounts!();
}
