//! SQLite backend: the embedded default, one file under `./data/`, WAL with full sync.
//!
//! SQLite has one writer at a time; pushes take an in-process lock so they queue here
//! instead of failing with `SQLITE_BUSY`. Readers run alongside (WAL).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use std::collections::HashSet;

use shared::Record;
use shared::access::{Grant, Principal, Role};
use shared::ballot::BallotPaper;
use shared::mutation::Mutation;
use shared::protocol::Outcome;
use shared::world::Entry;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use tokio::sync::Mutex;
use uuid::Uuid;

use super::accounts::accounts;
use super::{
    AccountRow, AuditRow, Batch, JoinCodeRow, Page, PushTx, Store, StoreError, TokenRow,
    push_batch, seq_from_sql, seq_to_sql,
};

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Arc<Mutex<()>>,
}

impl SqliteStore {
    /// Opens (creating the file and its folder if needed) and migrates the database at `url`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        if let Some(dir) = opts.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Other(Box::new(e)))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore {
            pool,
            writer: Arc::new(Mutex::new(())),
        })
    }
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
                out.push(super::decode_entry(
                    row.try_get::<&str, _>(0)?,
                    row.try_get::<&str, _>(1)?,
                    row.try_get(2)?,
                )?);
            }
        }
        Ok(out)
    }
}

impl PushTx for Tx<'_> {
    async fn lock(&mut self) -> Result<(), StoreError> {
        // The store's writer mutex is held by the caller; SQLite has one writer anyway.
        Ok(())
    }

    async fn seen(&mut self, ids: &[Uuid]) -> Result<HashSet<Uuid>, StoreError> {
        let mut out = HashSet::new();
        for chunk in id_list(ids).chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new("SELECT id FROM mutations WHERE id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id);
            }
            q.push(")");
            for row in q.build().fetch_all(&mut *self.0).await? {
                out.insert(super::parse_id(row.try_get::<&str, _>(0)?)?);
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

    async fn load_blocks(&mut self, blocks: &[Uuid]) -> Result<Vec<Entry>, StoreError> {
        self.entries(
            "SELECT body, clocks, deleted FROM records WHERE kind <> 'score_cell' AND block_id IN (",
            blocks,
        )
        .await
    }

    async fn load_papers(
        &mut self,
        ballots: &[Uuid],
    ) -> Result<Vec<(Uuid, BallotPaper)>, StoreError> {
        let mut out = Vec::new();
        for b in ballots {
            let rows: Vec<String> =
                sqlx::query_scalar("SELECT paper FROM votes WHERE ballot_id = ?1")
                    .bind(b.to_string())
                    .fetch_all(&mut *self.0)
                    .await?;
            for p in rows {
                out.push((*b, serde_json::from_str(&p)?));
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
            let mut err = None;
            q.push_values(chunk, |mut v, r| {
                let body = serde_json::to_string(&r.record).unwrap_or_else(|e| {
                    err = Some(e);
                    String::new()
                });
                let clocks = serde_json::to_string(&r.clocks).unwrap_or_default();
                v.push_bind(r.record.id().to_string())
                    .push_bind(r.record.record_type())
                    .push_bind(r.record.scope().map(|b| b.to_string()))
                    .push_bind(body)
                    .push_bind(clocks)
                    .push_bind(seq_to_sql(r.seq))
                    .push_bind(r.deleted);
            });
            if let Some(e) = err {
                return Err(e.into());
            }
            q.push(
                " ON CONFLICT (id) DO UPDATE SET body = excluded.body, clocks = excluded.clocks, \
                 seq = excluded.seq, deleted = excluded.deleted",
            );
            q.build().execute(&mut *self.0).await?;
        }
        for chunk in b.mutations.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO mutations (id, device_id, record_id, seq, received_ms) ",
            );
            q.push_values(chunk, |mut v, m| {
                v.push_bind(m.id.to_string())
                    .push_bind(m.device_id.to_string())
                    .push_bind(m.record_id.to_string())
                    .push_bind(seq_to_sql(m.seq))
                    .push_bind(m.server_ms);
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
        for (ballot, paper) in &b.papers {
            sqlx::query("INSERT INTO votes (id, ballot_id, paper) VALUES (?1, ?2, ?3)")
                .bind(Uuid::new_v4().to_string())
                .bind(ballot.to_string())
                .bind(paper)
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
        let _writer = self.writer.lock().await;
        let mut tx = Tx(self.pool.begin().await?);
        let outcomes = push_batch(&mut tx, who, device, mutations).await?;
        tx.0.commit().await?;
        Ok(outcomes)
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
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT seq, body, clocks, deleted FROM records WHERE seq > ",
        );
        q.push_bind(seq_to_sql(cursor))
            .push(" AND seq <= ")
            .push_bind(upto);
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
        q.push(" ORDER BY seq LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows = q.build().fetch_all(&mut *conn).await?;
        let changes = rows
            .iter()
            .map(|row| {
                super::decode_change(
                    row.try_get(0)?,
                    row.try_get::<&str, _>(1)?,
                    row.try_get::<&str, _>(2)?,
                    row.try_get(3)?,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(super::page(changes, cursor, limit, seq_from_sql(upto)))
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
        let mut tx = Tx(self.pool.begin().await?);
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
