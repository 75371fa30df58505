//! The device's store, IndexedDB through rexie. Four object stores:
//! - `base`: records as the server last sent them;
//! - `records`: what the UI shows: `base` with the pending outbox replayed on top;
//! - `outbox`: mutations not yet acknowledged (pending) or refused by the server (rejected,
//!   kept with the reason until the user discards them);
//! - `meta`: the device id, clock, cursor and last sync result.
//!
//! Invariant: `records[id]` = `base[id]` + every pending outbox mutation on `id`, in clock
//! order. Every function that touches one side rebuilds the other in the same transaction,
//! so a change is either fully recorded or not at all, and a crash leaves nothing between.

use std::collections::{BTreeMap, BTreeSet};

use rexie::{ObjectStore, Rexie, Store, Transaction, TransactionMode};
use serde::{Deserialize, Serialize};
use shared::mutation::{self, FieldClocks, Mutation, Op};
use shared::protocol::{Rejection, SyncResponse};
use shared::{DomainError, Hlc, Record};
use uuid::Uuid;
use wasm_bindgen::JsValue;

use crate::ids;

const BASE: &str = "base";
const RECORDS: &str = "records";
const OUTBOX: &str = "outbox";
const META: &str = "meta";
const META_KEY: &str = "state";

/// A failure of the local database.
#[derive(Debug, Clone, thiserror::Error)]
#[error("local database: {0}")]
pub struct DbError(pub String);

impl From<rexie::Error> for DbError {
    fn from(e: rexie::Error) -> Self {
        DbError(e.to_string())
    }
}

impl From<serde_wasm_bindgen::Error> for DbError {
    fn from(e: serde_wasm_bindgen::Error) -> Self {
        DbError(e.to_string())
    }
}

/// Why a local edit was not recorded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EditError {
    /// The edit breaks a rule of the domain.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// The local database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<rexie::Error> for EditError {
    fn from(e: rexie::Error) -> Self {
        EditError::Db(e.into())
    }
}

/// Whether an outbox entry still waits or was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting to be pushed.
    Pending,
    /// Refused by the server; kept, with its reason, until the user discards it.
    Rejected,
}

/// One outbox entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The mutation id (the store's key).
    pub id: Uuid,
    /// The record it changes.
    pub target: Uuid,
    /// The mutation.
    pub mutation: Mutation,
    /// Pending or rejected.
    pub status: OutboxStatus,
    /// Why the server refused it.
    pub rejection: Option<Rejection>,
}

/// The device's sync state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncMeta {
    /// This device.
    pub device_id: Uuid,
    /// The last stamp this device issued or saw.
    pub hlc: Hlc,
    /// The server sequence stored so far.
    pub cursor: u64,
    /// When the last sync succeeded (ms since the epoch).
    pub last_ok_ms: Option<u64>,
    /// The last sync error, shown until a sync succeeds.
    pub last_error: Option<String>,
    /// This device's bearer token, from signing in; `None` until then.
    #[serde(default)]
    pub token: Option<String>,
    /// Who signed in, for the sync bar.
    #[serde(default)]
    pub account_name: Option<String>,
}

/// Everything the UI shows, read in one transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Records by id.
    pub records: BTreeMap<Uuid, Record>,
    /// The outbox, oldest first.
    pub outbox: Vec<OutboxEntry>,
    /// Sync state.
    pub meta: Option<SyncMeta>,
}

impl Snapshot {
    /// Mutations waiting to be pushed.
    pub fn pending_count(&self) -> usize {
        self.outbox
            .iter()
            .filter(|e| e.status == OutboxStatus::Pending)
            .count()
    }

    /// Records with a pending mutation.
    pub fn pending_targets(&self) -> BTreeSet<Uuid> {
        self.outbox
            .iter()
            .filter(|e| e.status == OutboxStatus::Pending)
            .map(|e| e.target)
            .collect()
    }
}

/// The open local database.
pub struct LocalDb {
    rexie: Rexie,
}

fn to_js<T: Serialize>(v: &T) -> Result<JsValue, DbError> {
    Ok(v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())?)
}

fn from_js<T: serde::de::DeserializeOwned>(v: JsValue) -> Result<T, DbError> {
    Ok(serde_wasm_bindgen::from_value(v)?)
}

fn key(id: Uuid) -> JsValue {
    JsValue::from_str(&id.to_string())
}

async fn read_outbox(store: &Store) -> Result<Vec<OutboxEntry>, DbError> {
    let mut entries = store
        .get_all(None, None)
        .await?
        .into_iter()
        .map(from_js::<OutboxEntry>)
        .collect::<Result<Vec<_>, _>>()?;
    entries.sort_by_key(|e| e.mutation.hlc);
    Ok(entries)
}

async fn read_meta(store: &Store) -> Result<Option<SyncMeta>, DbError> {
    match store.get(JsValue::from_str(META_KEY)).await? {
        Some(v) if !v.is_undefined() => Ok(Some(from_js(v)?)),
        _ => Ok(None),
    }
}

async fn write_meta(store: &Store, meta: &SyncMeta) -> Result<(), DbError> {
    store
        .put(&to_js(meta)?, Some(&JsValue::from_str(META_KEY)))
        .await?;
    Ok(())
}

/// Rebuilds `records[id]` from `base[id]` and the pending mutations on it.
async fn rebuild(tx: &Transaction, id: Uuid, outbox: &[OutboxEntry]) -> Result<(), DbError> {
    let base = tx.store(BASE)?;
    let records = tx.store(RECORDS)?;
    let Some(mut record) = base
        .get(key(id))
        .await?
        .filter(|v| !v.is_undefined())
        .map(from_js::<Record>)
        .transpose()?
    else {
        return Ok(());
    };
    let mut clocks = FieldClocks::new();
    for e in outbox
        .iter()
        .filter(|e| e.target == id && e.status == OutboxStatus::Pending)
    {
        // A pending edit that no longer applies (its record changed kind or it became
        // invalid) stays in the outbox for the server to judge; the view skips it.
        if let Ok(a) = mutation::apply(&e.mutation, Some(&record), &clocks) {
            record = a.record;
            clocks = a.clocks;
        }
    }
    records.put(&to_js(&record)?, None).await?;
    Ok(())
}

impl LocalDb {
    /// Opens (creating or upgrading) the database called `name`.
    pub async fn open(name: &str) -> Result<LocalDb, DbError> {
        let rexie = Rexie::builder(name)
            .version(1)
            .add_object_store(ObjectStore::new(BASE).key_path("id"))
            .add_object_store(ObjectStore::new(RECORDS).key_path("id"))
            .add_object_store(ObjectStore::new(OUTBOX).key_path("id"))
            .add_object_store(ObjectStore::new(META))
            .build()
            .await?;
        let db = LocalDb { rexie };
        db.ensure_meta().await?;
        Ok(db)
    }

    /// Creates the device id on first start.
    async fn ensure_meta(&self) -> Result<SyncMeta, DbError> {
        let tx = self
            .rexie
            .transaction(&[META], TransactionMode::ReadWrite)?;
        let store = tx.store(META)?;
        let meta = match read_meta(&store).await? {
            Some(m) => m,
            None => {
                let device_id = ids::new_v7();
                let meta = SyncMeta {
                    device_id,
                    hlc: Hlc::zero(device_id),
                    cursor: 0,
                    last_ok_ms: None,
                    last_error: None,
                    token: None,
                    account_name: None,
                };
                write_meta(&store, &meta).await?;
                meta
            }
        };
        tx.done().await?;
        Ok(meta)
    }

    /// Reads what the UI shows.
    pub async fn snapshot(&self) -> Result<Snapshot, DbError> {
        let tx = self
            .rexie
            .transaction(&[RECORDS, OUTBOX, META], TransactionMode::ReadOnly)?;
        let records = tx
            .store(RECORDS)?
            .get_all(None, None)
            .await?
            .into_iter()
            .map(|v| from_js::<Record>(v).map(|r| (r.id(), r)))
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        let outbox = read_outbox(&tx.store(OUTBOX)?).await?;
        let meta = read_meta(&tx.store(META)?).await?;
        tx.done().await?;
        Ok(Snapshot {
            records,
            outbox,
            meta,
        })
    }

    /// Records a local edit: the changed record and its outbox entry, in one transaction.
    pub async fn edit(&self, op: Op) -> Result<Mutation, EditError> {
        let tx = self
            .rexie
            .transaction(&[RECORDS, OUTBOX, META], TransactionMode::ReadWrite)?;
        let meta_store = tx.store(META)?;
        let mut meta = read_meta(&meta_store)
            .await?
            .ok_or_else(|| DbError("no device id".into()))?;
        let records = tx.store(RECORDS)?;
        let current = records
            .get(key(op.target()))
            .await
            .map_err(DbError::from)?
            .filter(|v| !v.is_undefined())
            .map(from_js::<Record>)
            .transpose()?;
        meta.hlc = meta.hlc.tick(ids::now_ms());
        let m = Mutation {
            id: ids::new_v7(),
            hlc: meta.hlc,
            op,
        };
        let applied = match mutation::apply(&m, current.as_ref(), &FieldClocks::new()) {
            Ok(a) => a,
            Err(e) => {
                // Nothing was written yet; abort so the transaction leaves no trace.
                let _ = tx.abort().await;
                return Err(e.into());
            }
        };
        records
            .put(&to_js(&applied.record)?, None)
            .await
            .map_err(DbError::from)?;
        let entry = OutboxEntry {
            id: m.id,
            target: m.op.target(),
            mutation: m.clone(),
            status: OutboxStatus::Pending,
            rejection: None,
        };
        tx.store(OUTBOX)?
            .add(&to_js(&entry)?, None)
            .await
            .map_err(DbError::from)?;
        write_meta(&meta_store, &meta).await?;
        tx.done().await.map_err(DbError::from)?;
        Ok(m)
    }

    /// The sync state and up to `limit` pending mutations, oldest first.
    pub async fn outgoing(&self, limit: usize) -> Result<(SyncMeta, Vec<Mutation>), DbError> {
        let tx = self
            .rexie
            .transaction(&[OUTBOX, META], TransactionMode::ReadOnly)?;
        let outbox = read_outbox(&tx.store(OUTBOX)?).await?;
        let meta = read_meta(&tx.store(META)?)
            .await?
            .ok_or_else(|| DbError("no device id".into()))?;
        tx.done().await?;
        let pending = outbox
            .into_iter()
            .filter(|e| e.status == OutboxStatus::Pending)
            .take(limit)
            .map(|e| e.mutation)
            .collect();
        Ok((meta, pending))
    }

    /// Stores a sync answer: drops acknowledged mutations, stores pulled records, replays
    /// what is still pending on top, and advances the cursor, all in one transaction.
    pub async fn apply_sync(&self, res: &SyncResponse) -> Result<(), DbError> {
        let tx = self
            .rexie
            .transaction(&[BASE, RECORDS, OUTBOX, META], TransactionMode::ReadWrite)?;
        let outbox_store = tx.store(OUTBOX)?;
        let mut touched = BTreeSet::new();
        for o in &res.outcomes {
            match o.rejection() {
                None => outbox_store.delete(key(o.mutation_id)).await?,
                // Set aside with its reason, in this same transaction.
                Some(r) => {
                    if let Some(v) = outbox_store
                        .get(key(o.mutation_id))
                        .await?
                        .filter(|v| !v.is_undefined())
                    {
                        let mut entry: OutboxEntry = from_js(v)?;
                        entry.status = OutboxStatus::Rejected;
                        entry.rejection = Some(r);
                        touched.insert(entry.target);
                        outbox_store.put(&to_js(&entry)?, None).await?;
                    }
                }
            }
        }
        let outbox = read_outbox(&outbox_store).await?;
        let base = tx.store(BASE)?;
        let records = tx.store(RECORDS)?;
        for change in &res.changes {
            if change.deleted {
                base.delete(key(change.record.id())).await?;
                records.delete(key(change.record.id())).await?;
            } else {
                base.put(&to_js(&change.record)?, None).await?;
            }
        }
        for id in res
            .changes
            .iter()
            .filter(|c| !c.deleted)
            .map(|c| c.record.id())
            .chain(touched)
        {
            rebuild(&tx, id, &outbox).await?;
        }
        let meta_store = tx.store(META)?;
        let mut meta = read_meta(&meta_store)
            .await?
            .ok_or_else(|| DbError("no device id".into()))?;
        for stamp in res.changes.iter().filter_map(|c| c.latest_stamp()) {
            meta.hlc = meta.hlc.observe(stamp);
        }
        meta.cursor = meta.cursor.max(res.cursor);
        meta.last_ok_ms = Some(ids::now_ms());
        meta.last_error = None;
        write_meta(&meta_store, &meta).await?;
        tx.done().await?;
        Ok(())
    }

    /// Sets refused mutations aside with their reason and takes them out of the view.
    pub async fn mark_rejected(&self, rejected: &[Rejection]) -> Result<(), DbError> {
        let tx = self
            .rexie
            .transaction(&[BASE, RECORDS, OUTBOX], TransactionMode::ReadWrite)?;
        let store = tx.store(OUTBOX)?;
        let mut touched = BTreeSet::new();
        for r in rejected {
            let Some(v) = store
                .get(key(r.mutation_id))
                .await?
                .filter(|v| !v.is_undefined())
            else {
                continue;
            };
            let mut entry: OutboxEntry = from_js(v)?;
            entry.status = OutboxStatus::Rejected;
            entry.rejection = Some(r.clone());
            touched.insert(entry.target);
            store.put(&to_js(&entry)?, None).await?;
        }
        let outbox = read_outbox(&store).await?;
        for id in touched {
            rebuild(&tx, id, &outbox).await?;
        }
        tx.done().await?;
        Ok(())
    }

    /// Stores (or with `None`, forgets) this device's token after signing in or out.
    pub async fn set_token(
        &self,
        token: Option<String>,
        account_name: Option<String>,
    ) -> Result<(), DbError> {
        let tx = self
            .rexie
            .transaction(&[META], TransactionMode::ReadWrite)?;
        let store = tx.store(META)?;
        if let Some(mut meta) = read_meta(&store).await? {
            meta.token = token;
            meta.account_name = account_name;
            meta.last_error = None;
            write_meta(&store, &meta).await?;
        }
        tx.done().await?;
        Ok(())
    }

    /// Remembers why the last sync failed.
    pub async fn set_error(&self, message: &str) -> Result<(), DbError> {
        let tx = self
            .rexie
            .transaction(&[META], TransactionMode::ReadWrite)?;
        let store = tx.store(META)?;
        if let Some(mut meta) = read_meta(&store).await? {
            meta.last_error = Some(message.to_owned());
            write_meta(&store, &meta).await?;
        }
        tx.done().await?;
        Ok(())
    }

    /// Deletes a rejected mutation the user has read.
    pub async fn discard_rejected(&self, mutation_id: Uuid) -> Result<(), DbError> {
        let tx = self
            .rexie
            .transaction(&[OUTBOX], TransactionMode::ReadWrite)?;
        let store = tx.store(OUTBOX)?;
        if let Some(v) = store
            .get(key(mutation_id))
            .await?
            .filter(|v| !v.is_undefined())
        {
            let entry: OutboxEntry = from_js(v)?;
            if entry.status == OutboxStatus::Rejected {
                store.delete(key(mutation_id)).await?;
            }
        }
        tx.done().await?;
        Ok(())
    }
}
