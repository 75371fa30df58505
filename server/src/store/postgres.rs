//! PostgreSQL backend: for the central office and for several stateless servers behind a
//! load balancer. Concurrent pushes serialise on the sequence counter's row lock, so
//! sequences commit in order and a pull never skips one that commits late.

use std::time::Duration;

use std::collections::HashMap;

use shared::Record;
use shared::access::{Grant, Principal, Role};
use shared::ballot::BallotPaper;
use shared::mutation::Mutation;
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
    AccountRow, AuditRow, Batch, ContextCache, JoinCodeRow, Page, PushTx, Store, StoreError,
    TokenRow, push_batch, seq_from_sql, seq_to_sql,
};

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    contexts: ContextCache,
}

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
        })
    }
}

impl PgStore {
    /// PostgreSQL takes concurrent writers itself: no turn to wait for.
    async fn write_turn(&self) -> Option<()> {
        None
    }
}

struct Tx<'c>(Transaction<'c, Postgres>);

impl Tx<'_> {
    async fn entries(&mut self, sql: &str, ids: &[Uuid]) -> Result<Vec<Entry>, StoreError> {
        let rows = sqlx::query(sql).bind(ids).fetch_all(&mut *self.0).await?;
        rows.iter()
            .map(|row| {
                super::decode_entry(
                    row.try_get::<&str, _>(0)?,
                    row.try_get::<&str, _>(1)?,
                    row.try_get(2)?,
                )
            })
            .collect()
    }
}

impl PushTx for Tx<'_> {
    async fn lock(&mut self) -> Result<(), StoreError> {
        // Serialise pushes on the counter row, from the first read to the commit: a push
        // never merges from a record another push is changing, a mutation id retried on two
        // connections at once is a duplicate for the second, and sequences commit in order
        // so a pull never skips one.
        sqlx::query("SELECT value FROM counters WHERE name = 'seq' FOR UPDATE")
            .execute(&mut *self.0)
            .await?;
        Ok(())
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
        let rows: Vec<(Uuid, i64)> = sqlx::query_as(
            "SELECT block_id, MAX(seq) FROM records
             WHERE kind <> 'score_cell' AND block_id = ANY($1) GROUP BY block_id",
        )
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
            "SELECT body::text, clocks::text, deleted FROM records
             WHERE kind <> 'score_cell' AND block_id = ANY($1)",
            blocks,
        )
        .await
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
        let v: i64 = sqlx::query_scalar(
            "UPDATE counters SET value = value + $1 WHERE name = 'seq' RETURNING value",
        )
        .bind(seq_to_sql(n))
        .fetch_one(&mut *self.0)
        .await?;
        Ok(seq_from_sql(v) + 1 - n)
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

impl Store for PgStore {
    async fn push(
        &self,
        who: &Principal,
        device: Uuid,
        mutations: &[Mutation],
    ) -> Result<Vec<Outcome>, StoreError> {
        let mut tx = Tx(self.pool.begin().await?);
        let pushed = push_batch(&mut tx, &self.contexts, who, device, mutations).await?;
        tx.0.commit().await?;
        self.contexts.put(pushed.contexts);
        Ok(pushed.outcomes)
    }

    async fn pull(
        &self,
        blocks: Option<&[Uuid]>,
        cursor: u64,
        limit: u32,
    ) -> Result<Page, StoreError> {
        let mut conn = self.pool.acquire().await?;
        // Read the counter first: every sequence up to it is committed (the counter row is
        // locked until its push commits), so the rows query sees them all.
        let upto: i64 = sqlx::query_scalar("SELECT value FROM counters WHERE name = 'seq'")
            .fetch_one(&mut *conn)
            .await?;
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
        let upto: i64 = sqlx::query_scalar("SELECT value FROM counters WHERE name = 'seq'")
            .fetch_one(&mut *conn)
            .await?;
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
        let mut tx = Tx(self.pool.begin().await?);
        // Lock the counter first so two servers starting together seed once.
        tx.lock().await?;
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

    accounts!();
}
