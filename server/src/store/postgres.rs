//! PostgreSQL backend: for the central office and for several stateless servers behind a
//! load balancer, with no global serialisation point.
//!
//! **Locks.** A push first takes transaction-scoped advisory locks for what it will read and
//! write, in one global order (the global key, then blocks, then sheets, each sorted), so
//! pushes that share nothing run at once and two that do never deadlock:
//! - a change to a block's structure (covenant, rounds, ballots, votes, signatures: see
//!   `is_structure`) locks the block exclusively; a unit (no block) locks the global key;
//! - sheets and cells lock the block shared, plus each sheet they write to (a cell's rules
//!   read only its sheet and the structure) and, for a new sheet, its scorer in the round
//!   (the rule "one sheet per scorer and subject").
//!
//! A record found only after the locks (created meanwhile) has its locks taken before it is
//! read. A lost race the database still reports (a deadlock, a mutation id inserted twice
//! at once) rolls the push back and runs it again.
//!
//! **Sequences.** A transaction's writes are numbered `xid << 20 | n` from its transaction
//! id, taken only once its locks are held. A pull reads up to the oldest transaction still
//! running (`pg_snapshot_xmin`): every transaction below it has ended, and one that commits
//! later has an id at least that, so its sequences are above every cursor handed out before
//! and a pull never skips a committed change. Structural writes to one block are serialised
//! by its lock, so their sequences rise in commit order, which the block's context version
//! (`ContextCache`) relies on.

use std::time::Duration;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use shared::Record;
use shared::access::{Grant, Principal, Role};
use shared::ballot::BallotPaper;
use shared::mutation::{Mutation, Op};
use shared::protocol::Outcome;
use shared::world::Entry;
use sqlx::Connection as _;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Row, Transaction};
use uuid::Uuid;

use super::accounts::{SEAT_TAKEN, accounts};

/// One audit line for an act that is not a mutation (a join, a revoked device): mutation id,
/// device, account, record, block, what (`field`), details (JSON), time.
const AUDIT_EVENT: &str = "INSERT INTO audit_log (mutation_id, device_id, account_id, record_id,
    block_id, field, old_value, new_value, won, client_hlc, reason, server_ms)
    VALUES ($1::uuid, $2::uuid, $3, $4::uuid, $5, $6, 'null'::jsonb, $7::jsonb, true, '{}'::jsonb, NULL, $8)";
use super::{
    AccountRow, AuditRow, Batch, ContextCache, JoinCodeRow, NOT_STRUCTURE, Page, PushTx, Store,
    StoreError, TokenRow, push_batch, seq_from_sql, seq_to_sql,
};

/// A sequence is `xid << SEQ_SHIFT | n`: a transaction writes at most 2^20 records.
const SEQ_SHIFT: u32 = 20;
/// The lock every push that changes a unit takes, and seeding.
const GLOBAL_KEY: i64 = 0x7468_6964_7561;
/// Past this many sheets in one push, it locks its blocks whole instead (the lock table
/// holds 64 locks per connection by default).
const MAX_SHEET_LOCKS: usize = 48;
/// Times a push that lost a race is run again before its error is returned.
const RETRIES: u32 = 5;
/// Fields that would move a sheet or a cell to another sheet, scorer or block.
const KEY_FIELDS: [&str; 5] = ["block_id", "sheet_id", "round_id", "scorer", "subject"];

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    contexts: ContextCache,
    /// Wakes this process's event streams when any process commits a change.
    changes: tokio::sync::broadcast::Sender<()>,
    /// The task that LISTENs for those, started by the first stream.
    listener: std::sync::Arc<std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

/// The NOTIFY channel: each push's transaction sends its last sequence on it.
const CHANNEL: &str = "thidua_changes";

impl PgStore {
    /// Connects to and migrates the database at `url`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // A commit that failed (disk full) can leave a connection that still counts itself
            // in a transaction, and every later BEGIN on it would fail: close it instead.
            .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgStore {
            pool,
            contexts: ContextCache::default(),
            changes: tokio::sync::broadcast::channel(64).0,
            listener: std::sync::Arc::default(),
        })
    }
}

impl PgStore {
    /// PostgreSQL takes concurrent writers itself: no turn to wait for.
    async fn write_turn(&self) -> Option<()> {
        None
    }
}

/// A stored entry from a row of (body, clocks, deleted).
fn entry(row: &sqlx::postgres::PgRow) -> Result<Entry, StoreError> {
    super::decode_entry(
        row.try_get::<&str, _>(0)?,
        row.try_get::<&str, _>(1)?,
        row.try_get(2)?,
    )
}

struct Tx<'c>(Transaction<'c, Postgres>, Reserved);

/// The sequences a transaction has handed out: its base (`xid << SEQ_SHIFT`) and how many.
#[derive(Default)]
struct Reserved {
    base: Option<u64>,
    used: u64,
}

/// A stable 64-bit lock key (the same in every build, so servers of two versions exclude
/// each other during an upgrade).
fn key(tag: u64, a: Uuid, b: Option<Uuid>) -> i64 {
    let fold = |u: Uuid| {
        let v = u.as_u128();
        // Truncation is the point: fold 128 bits into 64.
        #[allow(clippy::cast_possible_truncation)]
        let x = (v >> 64) as u64 ^ v as u64;
        x
    };
    let h = fold(a)
        ^ b.map_or(0, |b| fold(b).rotate_left(29))
        ^ tag.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// What the records a batch names are, as far as locking needs: kind, block, a cell's sheet.
type Found = HashMap<Uuid, (String, Option<Uuid>, Option<Uuid>)>;

/// The advisory locks a batch needs, in the order they are taken: (key, exclusive).
fn lock_plan(mutations: &[Mutation], found: &Found) -> Vec<(i64, bool)> {
    let mut global = false;
    let mut blocks: BTreeMap<Uuid, bool> = BTreeMap::new();
    let mut sheets: BTreeSet<i64> = BTreeSet::new();
    let mut whole = |scope: Option<Uuid>, blocks: &mut BTreeMap<Uuid, bool>| match scope {
        Some(b) => {
            blocks.insert(b, true);
        }
        None => global = true,
    };
    for m in mutations {
        match &m.op {
            Op::Create {
                record: Record::ScoreCell(c),
            } => {
                blocks.entry(c.block_id).or_insert(false);
                sheets.insert(key(1, c.sheet_id, None));
            }
            Op::Create {
                record: Record::ScoreSheet(s),
            } => {
                blocks.entry(s.block_id).or_insert(false);
                sheets.insert(key(1, s.id, None));
                sheets.insert(key(2, s.round_id, Some(s.scorer)));
            }
            Op::Create { record } => whole(record.scope(), &mut blocks),
            op => {
                let Some((kind, block, sheet)) = found.get(&op.target()) else {
                    // Unknown: refused, or created earlier in this batch (locked there).
                    continue;
                };
                let moves = matches!(op, Op::Update { fields, .. }
                    if KEY_FIELDS.iter().any(|f| fields.contains_key(*f)));
                let sheet = match kind.as_str() {
                    "score_cell" => *sheet,
                    "score_sheet" => Some(op.target()),
                    _ => None,
                };
                match (block, sheet) {
                    (Some(b), Some(s)) if !moves => {
                        blocks.entry(*b).or_insert(false);
                        sheets.insert(key(1, s, None));
                    }
                    _ => whole(*block, &mut blocks),
                }
            }
        }
    }
    if sheets.len() > MAX_SHEET_LOCKS {
        sheets.clear();
        blocks.values_mut().for_each(|x| *x = true);
    }
    let mut plan: Vec<(i64, bool)> = Vec::new();
    if global {
        plan.push((GLOBAL_KEY, true));
    }
    let mut by_key: Vec<(i64, bool)> = blocks
        .into_iter()
        .map(|(b, x)| (key(0, b, None), x))
        .collect();
    by_key.sort_unstable();
    plan.extend(by_key);
    plan.extend(sheets.into_iter().map(|k| (k, true)));
    plan
}

impl Tx<'_> {
    /// Kind, block and (for a cell) sheet of each of these records that exists.
    async fn found(&mut self, ids: &[Uuid]) -> Result<Found, StoreError> {
        let rows: Vec<(Uuid, String, Option<Uuid>, Option<String>)> = sqlx::query_as(
            "SELECT id, kind, block_id, body->>'sheet_id' FROM records WHERE id = ANY($1)",
        )
        .bind(ids)
        .fetch_all(&mut *self.0)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, kind, block, sheet)| {
                let sheet = sheet.and_then(|s| Uuid::parse_str(&s).ok());
                (id, (kind, block, sheet))
            })
            .collect())
    }

    /// Takes these advisory locks, in order, until the transaction ends.
    async fn take(&mut self, locks: &[(i64, bool)]) -> Result<(), StoreError> {
        let keys: Vec<i64> = locks.iter().map(|l| l.0).collect();
        let exclusive: Vec<bool> = locks.iter().map(|l| l.1).collect();
        sqlx::query(
            "SELECT CASE WHEN x THEN pg_advisory_xact_lock(k) ELSE pg_advisory_xact_lock_shared(k) END
             FROM UNNEST($1::int8[], $2::bool[]) AS t(k, x)",
        )
        .bind(&keys)
        .bind(&exclusive)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn entries(&mut self, sql: &str, ids: &[Uuid]) -> Result<Vec<Entry>, StoreError> {
        let rows = sqlx::query(sql).bind(ids).fetch_all(&mut *self.0).await?;
        rows.iter().map(entry).collect()
    }
}

impl PushTx for Tx<'_> {
    async fn lock(&mut self, mutations: &[Mutation]) -> Result<(), StoreError> {
        let targets: Vec<Uuid> = mutations.iter().map(|m| m.op.target()).collect();
        let created: BTreeSet<Uuid> = mutations
            .iter()
            .filter(|m| matches!(m.op, Op::Create { .. }))
            .map(|m| m.op.target())
            .collect();
        let mut held: BTreeSet<(i64, bool)> = BTreeSet::new();
        let mut found = self.found(&targets).await?;
        loop {
            let wanted: Vec<(i64, bool)> = lock_plan(mutations, &found)
                .into_iter()
                .filter(|l| !held.contains(l))
                .collect();
            if wanted.is_empty() {
                return Ok(());
            }
            self.take(&wanted).await?;
            held.extend(wanted);
            // A record created by another push before these locks were held is locked too
            // before anything reads it (out of order: a deadlock is reported and retried).
            if targets
                .iter()
                .all(|t| found.contains_key(t) || created.contains(t))
            {
                return Ok(());
            }
            let again = self.found(&targets).await?;
            if again.len() == found.len() {
                return Ok(());
            }
            found = again;
        }
    }

    async fn seen(&mut self, ids: &[Uuid]) -> Result<super::Seen, StoreError> {
        let rows: Vec<(Uuid, Uuid, Option<String>)> =
            sqlx::query_as("SELECT id, device_id, digest FROM mutations WHERE id = ANY($1)")
                .bind(ids)
                .fetch_all(&mut *self.0)
                .await?;
        Ok(rows.into_iter().map(|(id, d, h)| (id, (d, h))).collect())
    }

    async fn load(&mut self, ids: &[Uuid]) -> Result<Vec<Entry>, StoreError> {
        self.entries(
            "SELECT body::text, clocks::text, deleted FROM records WHERE id = ANY($1)",
            ids,
        )
        .await
    }

    async fn context_versions(
        &mut self,
        blocks: &[Uuid],
    ) -> Result<HashMap<Uuid, u64>, StoreError> {
        let rows: Vec<(Uuid, i64)> = sqlx::query_as(&format!(
            "SELECT block_id, MAX(seq) FROM records
                 WHERE {NOT_STRUCTURE} AND block_id = ANY($1) GROUP BY block_id"
        ))
        .bind(blocks)
        .fetch_all(&mut *self.0)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(b, v)| (b, seq_from_sql(v)))
            .collect())
    }

    async fn load_blocks(&mut self, blocks: &[Uuid]) -> Result<Vec<Entry>, StoreError> {
        self.entries(
            &format!(
                "SELECT body::text, clocks::text, deleted FROM records
                 WHERE {NOT_STRUCTURE} AND block_id = ANY($1)"
            ),
            blocks,
        )
        .await
    }

    async fn load_block_sheets(&mut self, blocks: &[Uuid]) -> Result<Vec<Entry>, StoreError> {
        self.entries(
            "SELECT body::text, clocks::text, deleted FROM records
             WHERE kind = 'score_sheet' AND block_id = ANY($1)",
            blocks,
        )
        .await
    }

    async fn load_scorer_sheets(
        &mut self,
        keys: &[super::ScorerKey],
    ) -> Result<Vec<Entry>, StoreError> {
        let blocks: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rounds: Vec<String> = keys.iter().map(|k| k.1.to_string()).collect();
        let scorers: Vec<String> = keys.iter().map(|k| k.2.to_string()).collect();
        let rows = sqlx::query(
            "SELECT r.body::text, r.clocks::text, r.deleted
             FROM UNNEST($1::uuid[], $2::text[], $3::text[]) AS k(block_id, round_id, scorer)
             JOIN records r ON r.block_id = k.block_id AND r.kind = 'score_sheet'
               AND r.body->>'round_id' = k.round_id AND r.body->>'scorer' = k.scorer",
        )
        .bind(&blocks)
        .bind(&rounds)
        .bind(&scorers)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter().map(entry).collect()
    }

    async fn load_papers(
        &mut self,
        ballots: &[Uuid],
    ) -> Result<Vec<(Uuid, BallotPaper)>, StoreError> {
        let ids: Vec<String> = ballots.iter().map(Uuid::to_string).collect();
        let rows =
            sqlx::query("SELECT ballot_id, papers FROM ballot_boxes WHERE ballot_id = ANY($1)")
                .bind(&ids)
                .fetch_all(&mut *self.0)
                .await?;
        let mut out = Vec::new();
        for r in &rows {
            let ballot = super::parse_id(r.try_get::<&str, _>(0)?)?;
            for p in super::box_papers(r.try_get::<&str, _>(1)?)? {
                out.push((ballot, p));
            }
        }
        Ok(out)
    }

    async fn reserve(&mut self, n: u64) -> Result<u64, StoreError> {
        let base = match self.1.base {
            Some(base) => base,
            None => {
                // The transaction's id is assigned here, after its locks (see the module).
                let xid: i64 = sqlx::query_scalar("SELECT pg_current_xact_id()::text::int8")
                    .fetch_one(&mut *self.0)
                    .await?;
                let base = seq_from_sql(xid) << SEQ_SHIFT;
                self.1.base = Some(base);
                base
            }
        };
        if self.1.used + n > 1 << SEQ_SHIFT {
            return Err(
                format!("a transaction writes at most {} records", 1u64 << SEQ_SHIFT).into(),
            );
        }
        let first = base + self.1.used;
        self.1.used += n;
        Ok(first)
    }

    async fn write(&mut self, b: &Batch) -> Result<(), StoreError> {
        // One statement per table whatever the batch size: arrays unnested server-side.
        if !b.records.is_empty() {
            let mut ids = Vec::new();
            let mut kinds = Vec::new();
            let mut blocks = Vec::new();
            let mut bodies = Vec::new();
            let mut clocks = Vec::new();
            let mut seqs = Vec::new();
            let mut deleted = Vec::new();
            for r in &b.records {
                ids.push(r.id);
                kinds.push(r.kind);
                blocks.push(r.block_id);
                bodies.push(r.body.as_str());
                clocks.push(r.clocks.as_str());
                seqs.push(seq_to_sql(r.seq));
                deleted.push(r.deleted);
            }
            sqlx::query(
                "INSERT INTO records (id, kind, block_id, body, clocks, seq, deleted)
                 SELECT id, kind, block_id, body::jsonb, clocks::jsonb, seq, deleted
                 FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::int8[], $7::bool[])
                   AS t(id, kind, block_id, body, clocks, seq, deleted)
                 ON CONFLICT (id) DO UPDATE SET body = excluded.body, clocks = excluded.clocks,
                   seq = excluded.seq, deleted = excluded.deleted",
            )
            .bind(&ids)
            .bind(&kinds)
            .bind(&blocks)
            .bind(&bodies)
            .bind(&clocks)
            .bind(&seqs)
            .bind(&deleted)
            .execute(&mut *self.0)
            .await?;
        }
        if !b.mutations.is_empty() {
            let ids: Vec<Uuid> = b.mutations.iter().map(|m| m.id).collect();
            let devices: Vec<Uuid> = b.mutations.iter().map(|m| m.device_id).collect();
            let records: Vec<Uuid> = b.mutations.iter().map(|m| m.record_id).collect();
            let seqs: Vec<i64> = b.mutations.iter().map(|m| seq_to_sql(m.seq)).collect();
            let ms: Vec<i64> = b.mutations.iter().map(|m| m.server_ms).collect();
            let digests: Vec<&str> = b.mutations.iter().map(|m| m.digest.as_str()).collect();
            sqlx::query(
                "INSERT INTO mutations (id, device_id, record_id, seq, received_ms, digest)
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::int8[], $5::int8[],
                                      $6::text[])",
            )
            .bind(&ids)
            .bind(&devices)
            .bind(&records)
            .bind(&seqs)
            .bind(&ms)
            .bind(&digests)
            .execute(&mut *self.0)
            .await?;
        }
        if !b.audit.is_empty() {
            let a = &b.audit;
            let col =
                |f: &dyn Fn(&super::AuditInsert) -> String| a.iter().map(f).collect::<Vec<_>>();
            sqlx::query(
                "INSERT INTO audit_log (mutation_id, device_id, account_id, record_id, block_id,
                   field, old_value, new_value, won, client_hlc, reason, server_ms)
                 SELECT m::uuid, d::uuid, acc, r::uuid, blk, f, o::jsonb, n::jsonb, w, h::jsonb, rs, ms
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                             $7::text[], $8::text[], $9::bool[], $10::text[], $11::text[], $12::int8[])
                   AS t(m, d, acc, r, blk, f, o, n, w, h, rs, ms)",
            )
            .bind(col(&|x| x.mutation_id.to_string()))
            .bind(col(&|x| x.device_id.to_string()))
            .bind(col(&|x| x.account_id.to_string()))
            .bind(col(&|x| x.record_id.to_string()))
            .bind(a.iter().map(|x| x.block_id.map(|b| b.to_string())).collect::<Vec<_>>())
            .bind(col(&|x| x.op.to_owned()))
            .bind(col(&|x| x.old.clone()))
            .bind(col(&|x| x.new.clone()))
            .bind(a.iter().map(|x| x.won).collect::<Vec<_>>())
            .bind(col(&|x| x.hlc.clone()))
            .bind(a.iter().map(|x| x.reason.clone()).collect::<Vec<_>>())
            .bind(a.iter().map(|x| x.server_ms).collect::<Vec<_>>())
            .execute(&mut *self.0)
            .await?;
        }
        for (ballot, papers) in b.papers_by_ballot() {
            let stored: Option<String> =
                sqlx::query_scalar("SELECT papers FROM ballot_boxes WHERE ballot_id = $1")
                    .bind(ballot.to_string())
                    .fetch_optional(&mut *self.0)
                    .await?;
            sqlx::query(
                "INSERT INTO ballot_boxes (ballot_id, papers) VALUES ($1, $2) \
                 ON CONFLICT (ballot_id) DO UPDATE SET papers = excluded.papers",
            )
            .bind(ballot.to_string())
            .bind(super::ballot_box(stored.as_deref(), &papers)?)
            .execute(&mut *self.0)
            .await?;
        }
        if let (Some(base), Some(last)) = (self.1.base, b.records.iter().map(|r| r.seq).max()) {
            // Delivered to every listening server when (and only if) this commits.
            debug_assert!(last >= base);
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(last.to_string())
                .execute(&mut *self.0)
                .await?;
        }
        for (ballot, voter) in &b.receipts {
            sqlx::query("INSERT INTO receipts (ballot_id, voter) VALUES ($1, $2)")
                .bind(ballot.to_string())
                .bind(voter.to_string())
                .execute(&mut *self.0)
                .await?;
        }
        Ok(())
    }
}

impl PgStore {
    /// One push in one transaction.
    async fn push_once(
        &self,
        who: &Principal,
        device: Uuid,
        mutations: &[Mutation],
    ) -> Result<Vec<Outcome>, StoreError> {
        let mut tx = Tx(self.pool.begin().await?, Reserved::default());
        let pushed = push_batch(&mut tx, &self.contexts, who, device, mutations).await?;
        tx.0.commit().await?;
        self.contexts.put(pushed.contexts);
        Ok(pushed.outcomes)
    }

    /// Listens for changes committed by any server until no stream is left to wake; after
    /// a lost connection it wakes every stream once, since notifications sent meanwhile
    /// are gone.
    async fn listen(self) {
        loop {
            if self.changes.receiver_count() == 0 {
                return;
            }
            let mut listener = match sqlx::postgres::PgListener::connect_with(&self.pool).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "live events: cannot listen; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(e) = listener.listen(CHANNEL).await {
                tracing::warn!(error = %e, "live events: LISTEN failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            let _ = self.changes.send(());
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => {
                        let seq: i64 = n.payload().parse().unwrap_or(0);
                        self.until_horizon(seq).await;
                        if self.changes.send(()).is_err() {
                            return;
                        }
                    }
                    // Reconnected: what was sent in between is lost.
                    Ok(None) => {
                        let _ = self.changes.send(());
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "live events: listener lost");
                        break;
                    }
                }
            }
        }
    }

    /// Waits (briefly) until a pull can see sequence `seq`: a notification comes at commit,
    /// but an older transaction still running holds the horizon below it.
    async fn until_horizon(&self, seq: i64) {
        for _ in 0..250 {
            let Ok(mut conn) = self.pool.acquire().await else {
                return;
            };
            match Self::horizon(&mut conn).await {
                Ok(h) if h < seq => {}
                _ => return,
            }
            drop(conn);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The highest sequence below which every transaction has ended: a pull reads up to it.
    async fn horizon(conn: &mut sqlx::PgConnection) -> Result<i64, StoreError> {
        let xmin: i64 =
            sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::int8")
                .fetch_one(conn)
                .await?;
        Ok((xmin << SEQ_SHIFT) - 1)
    }
}

impl Store for PgStore {
    async fn push(
        &self,
        who: &Principal,
        device: Uuid,
        mutations: &[Mutation],
    ) -> Result<Vec<Outcome>, StoreError> {
        let mut attempt = 0;
        loop {
            match self.push_once(who, device, mutations).await {
                Err(e) if e.lost_race() && attempt < RETRIES => attempt += 1,
                other => return other,
            }
        }
    }

    async fn pull(
        &self,
        blocks: Option<&[Uuid]>,
        cursor: u64,
        limit: u32,
    ) -> Result<Page, StoreError> {
        let mut conn = self.pool.acquire().await?;
        // The horizon first: every transaction below it has ended, so the rows query (a
        // later snapshot) sees all of their changes.
        let upto = Self::horizon(&mut conn).await?;
        // The account's blocks (units belong to none and are public); no `$n IS NULL OR …`,
        // so each form keeps its own plan.
        let filter = if blocks.is_some() {
            " AND (block_id IS NULL OR block_id = ANY($4))"
        } else {
            ""
        };
        // The page's sequences are chosen first, so whatever plan the statistics lead to (a
        // bulk upload leaves them stale) only the page's rows are turned into text; then the
        // database writes them as the wire's JSON array of `shared::protocol::Change` objects.
        let sql = format!(
            "SELECT COUNT(*), MAX(seq),
                    '[' || COALESCE(string_agg('{{\"seq\":' || seq || ',\"record\":' || body::text
                        || CASE WHEN clocks = '{{}}'::jsonb THEN '' ELSE ',\"clocks\":' || clocks::text END
                        || CASE WHEN deleted THEN ',\"deleted\":true' ELSE '' END || '}}', ','
                        ORDER BY seq), '') || ']'
             FROM records
             WHERE seq IN (SELECT seq FROM records WHERE seq > $1 AND seq <= $2{filter}
                           ORDER BY seq LIMIT $3)"
        );
        let mut q = sqlx::query_as::<_, super::PageRow>(&sql)
            .bind(seq_to_sql(cursor))
            .bind(upto)
            .bind(i64::from(limit));
        if let Some(blocks) = blocks {
            q = q.bind(blocks);
        }
        let row = q.fetch_one(&mut *conn).await?;
        let more = match row.1 {
            Some(last) if row.0 >= i64::from(limit) => {
                let sql = format!(
                    "SELECT EXISTS (SELECT 1 FROM records WHERE seq > $1 AND seq <= $2{})",
                    filter.replace("$4", "$3")
                );
                let mut q = sqlx::query_scalar::<_, bool>(&sql).bind(last).bind(upto);
                if let Some(blocks) = blocks {
                    q = q.bind(blocks);
                }
                q.fetch_one(&mut *conn).await?
            }
            _ => false,
        };
        super::page(row, more, cursor, seq_from_sql(upto))
    }

    async fn changed_blocks(&self, cursor: u64) -> Result<(Vec<Uuid>, u64), StoreError> {
        let mut conn = self.pool.acquire().await?;
        let upto = Self::horizon(&mut conn).await?;
        let blocks: Vec<Option<Uuid>> = sqlx::query_scalar(
            "SELECT DISTINCT block_id FROM records WHERE seq > $1 AND seq <= $2",
        )
        .bind(seq_to_sql(cursor))
        .bind(upto)
        .fetch_all(&mut *conn)
        .await?;
        Ok((blocks.into_iter().flatten().collect(), seq_from_sql(upto)))
    }

    async fn seed_if_empty(&self, records: &[Record]) -> Result<bool, StoreError> {
        let mut tx = Tx(self.pool.begin().await?, Reserved::default());
        // Two servers starting together seed once.
        tx.take(&[(GLOBAL_KEY, true)]).await?;
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
        let row = sqlx::query("SELECT body::text, seq FROM records WHERE id = $1")
            .bind(id)
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

    fn remote_changes(&self) -> Option<tokio::sync::broadcast::Receiver<()>> {
        let rx = self.changes.subscribe();
        let mut task = self
            .listener
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if task
            .as_ref()
            .is_none_or(tokio::task::JoinHandle::is_finished)
        {
            *task = Some(tokio::spawn(self.clone().listen()));
        }
        Some(rx)
    }

    accounts!();
}
