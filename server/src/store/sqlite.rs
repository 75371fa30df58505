//! SQLite backend: the embedded default, one file under `./data/`, WAL with full sync.
//!
//! SQLite has one writer at a time; pushes take an in-process lock so they queue here
//! instead of failing with `SQLITE_BUSY`. Readers run alongside (WAL).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use shared::Record;
use shared::mutation::{FieldClocks, Mutation};
use shared::protocol::Outcome;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};
use tokio::sync::Mutex;
use uuid::Uuid;

use super::{
    AuditEntry, Page, PushError, PushTx, Store, StoreError, push_batch, seq_from_sql, seq_to_sql,
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

impl PushTx for Tx<'_> {
    async fn seen(&mut self, mutation: Uuid) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM mutations WHERE id = ?1")
            .bind(mutation.to_string())
            .fetch_optional(&mut *self.0)
            .await?;
        Ok(row.is_some())
    }

    async fn load(&mut self, id: Uuid) -> Result<Option<(Record, FieldClocks)>, StoreError> {
        let row = sqlx::query("SELECT body, clocks FROM records WHERE id = ?1")
            .bind(id.to_string())
            .fetch_optional(&mut *self.0)
            .await?;
        match row {
            None => Ok(None),
            Some(row) => {
                let body: String = row.try_get(0)?;
                let clocks: String = row.try_get(1)?;
                Ok(Some((
                    serde_json::from_str(&body)?,
                    serde_json::from_str(&clocks)?,
                )))
            }
        }
    }

    async fn next_seq(&mut self) -> Result<u64, StoreError> {
        let v: i64 = sqlx::query_scalar(
            "UPDATE counters SET value = value + 1 WHERE name = 'seq' RETURNING value",
        )
        .fetch_one(&mut *self.0)
        .await?;
        Ok(seq_from_sql(v))
    }

    async fn save(
        &mut self,
        record: &Record,
        clocks: &FieldClocks,
        seq: u64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO records (id, kind, block_id, body, clocks, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body, clocks = excluded.clocks, seq = excluded.seq",
        )
        .bind(record.id().to_string())
        .bind(record.record_type())
        .bind(record.scope().map(|b| b.to_string()))
        .bind(serde_json::to_string(record)?)
        .bind(serde_json::to_string(clocks)?)
        .bind(seq_to_sql(seq))
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn log(&mut self, e: &AuditEntry<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO mutations (id, device_id, record_id, seq, received_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(e.mutation_id.to_string())
        .bind(e.device_id.to_string())
        .bind(e.record_id.to_string())
        .bind(seq_to_sql(e.seq))
        .bind(e.server_ms)
        .execute(&mut *self.0)
        .await?;
        sqlx::query(
            "INSERT INTO audit_log (mutation_id, device_id, record_id, field, old_value, new_value, won, client_hlc, server_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .bind(e.mutation_id.to_string())
        .bind(e.device_id.to_string())
        .bind(e.record_id.to_string())
        .bind(e.field)
        .bind(e.old.to_string())
        .bind(e.new.to_string())
        .bind(e.won)
        .bind(serde_json::to_string(e.hlc)?)
        .bind(e.server_ms)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }
}

impl Store for SqliteStore {
    async fn push(&self, device: Uuid, mutations: &[Mutation]) -> Result<Vec<Outcome>, PushError> {
        let _writer = self.writer.lock().await;
        let mut tx = Tx(self.pool.begin().await.map_err(StoreError::from)?);
        let outcomes = push_batch(&mut tx, device, mutations).await?;
        tx.0.commit().await.map_err(StoreError::from)?;
        Ok(outcomes)
    }

    async fn pull(&self, cursor: u64, limit: u32) -> Result<Page, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, body, clocks FROM records WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )
        .bind(seq_to_sql(cursor))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let changes = rows
            .iter()
            .map(|row| {
                super::decode_change(
                    row.try_get(0)?,
                    row.try_get::<&str, _>(1)?,
                    row.try_get::<&str, _>(2)?,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(super::page(changes, cursor, limit))
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
}
