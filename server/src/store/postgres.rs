//! PostgreSQL backend: for the central office and for several stateless servers behind a
//! load balancer. Concurrent pushes serialise on the sequence counter's row lock, so
//! sequences commit in order and a pull never skips one that commits late.

use std::time::Duration;

use shared::Record;
use shared::mutation::{FieldClocks, Mutation};
use shared::protocol::Outcome;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Row, Transaction};
use uuid::Uuid;

use super::{
    AuditEntry, Page, PushError, PushTx, Store, StoreError, push_batch, seq_from_sql, seq_to_sql,
};

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to and migrates the database at `url`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgStore { pool })
    }
}

struct Tx<'c>(Transaction<'c, Postgres>);

impl PushTx for Tx<'_> {
    async fn seen(&mut self, mutation: Uuid) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM mutations WHERE id = $1")
            .bind(mutation)
            .fetch_optional(&mut *self.0)
            .await?;
        Ok(row.is_some())
    }

    async fn load(&mut self, id: Uuid) -> Result<Option<(Record, FieldClocks)>, StoreError> {
        let row = sqlx::query("SELECT body::text, clocks::text FROM records WHERE id = $1")
            .bind(id)
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
            "INSERT INTO records (id, kind, block_id, body, clocks, seq) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body, clocks = excluded.clocks, seq = excluded.seq",
        )
        .bind(record.id())
        .bind(record.record_type())
        .bind(record.scope())
        .bind(serde_json::to_string(record)?)
        .bind(serde_json::to_string(clocks)?)
        .bind(seq_to_sql(seq))
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn log(&mut self, e: &AuditEntry<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO mutations (id, device_id, record_id, seq, received_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(e.mutation_id)
        .bind(e.device_id)
        .bind(e.record_id)
        .bind(seq_to_sql(e.seq))
        .bind(e.server_ms)
        .execute(&mut *self.0)
        .await?;
        sqlx::query(
            "INSERT INTO audit_log (mutation_id, device_id, record_id, field, old_value, new_value, won, client_hlc, server_ms)
             VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8::jsonb, $9)",
        )
        .bind(e.mutation_id)
        .bind(e.device_id)
        .bind(e.record_id)
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

impl Store for PgStore {
    async fn push(&self, device: Uuid, mutations: &[Mutation]) -> Result<Vec<Outcome>, PushError> {
        let mut tx = Tx(self.pool.begin().await.map_err(StoreError::from)?);
        // Serialise pushes on the counter row: a mutation id retried on two connections at
        // once is then seen as a duplicate by the second, never applied twice.
        sqlx::query("SELECT value FROM counters WHERE name = 'seq' FOR UPDATE")
            .execute(&mut *tx.0)
            .await
            .map_err(StoreError::from)?;
        let outcomes = push_batch(&mut tx, device, mutations).await?;
        tx.0.commit().await.map_err(StoreError::from)?;
        Ok(outcomes)
    }

    async fn pull(&self, cursor: u64, limit: u32) -> Result<Page, StoreError> {
        let rows =
            sqlx::query("SELECT seq, body::text, clocks::text FROM records WHERE seq > $1 ORDER BY seq LIMIT $2")
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
        let mut tx = Tx(self.pool.begin().await?);
        // Lock the counter first so two servers starting together seed once.
        sqlx::query("SELECT value FROM counters WHERE name = 'seq' FOR UPDATE")
            .execute(&mut *tx.0)
            .await?;
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
}
