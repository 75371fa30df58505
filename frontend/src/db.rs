//! The device's store, IndexedDB through rexie. Five object stores (schema version 3):
//! - `base`: records as the server last sent them;
//! - `records`: what the UI shows: `base` with the pending outbox replayed on top;
//! - `outbox`: mutations not yet acknowledged by the server, indexed by stamp (`by_hlc`, the
//!   push order, read in bounded pages) and by record (`by_target`, for replay);
//! - `rejected`: mutations the server refused, kept with the reason until the user
//!   discards them (version 1 kept them in `outbox` with a status; `open` moves them);
//! - `meta`: the device id, clock, cursor, token, account and last sync result.
//!
//! A stored record this build cannot read (written by a newer or a faulty build, say) is
//! left where it is and set aside when reading: the rest of the block opens, the sync bar
//! counts it, and sign-out and wipe stay reachable. No data is ever fatal.
//!
//! Invariant: `records[id]` = `base[id]` + every outbox mutation on `id`, in clock order.
//! Every function that touches one side rebuilds the other in the same transaction, so a
//! change is either fully recorded or not at all, and a crash leaves nothing between.
//!
//! Speed at a block's real size (60,000 records and more): a pulled page is written with
//! every request issued at once and only the transaction's end awaited; replay reads the
//! outbox only for the records a page touches (`by_target`), and a push reads only the
//! batch it sends (`by_hlc`). A sync answers with what changed (`Synced`), so the UI
//! updates its copy instead of reading the whole store again.
//!
//! Values are stored as plain objects made by `JSON.parse` of serde_json's output (and read
//! back through `JSON.stringify`): one serializer for the wire and the disk keeps the
//! WebAssembly small, and a version 1 database (written with serde-wasm-bindgen's
//! JSON-compatible objects) reads the same.

use std::collections::{BTreeMap, BTreeSet};

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use rexie::{Index, KeyRange, ObjectStore, Rexie, Store, Transaction, TransactionMode};
use serde::{Deserialize, Serialize};
use shared::access::Principal;
use shared::model::ScoreCell;
use shared::mutation::{self, FieldClocks, Mutation, Op};
use shared::protocol::{Rejection, SyncResponse};
use shared::{DomainError, Hlc, Record};
use uuid::Uuid;
use wasm_bindgen::JsValue;

use crate::ids;

/// The schema version `open` creates or upgrades to.
pub const SCHEMA_VERSION: u32 = 3;
const BASE: &str = "base";
const RECORDS: &str = "records";
const OUTBOX: &str = "outbox";
const REJECTED: &str = "rejected";
const META: &str = "meta";
const META_KEY: &str = "state";
/// The outbox by stamp: the order mutations are pushed in.
const BY_HLC: &str = "by_hlc";
/// The outbox by the record each mutation changes.
const BY_TARGET: &str = "by_target";
/// Records read per request when the whole view is read (bounds the peak memory).
const READ_PAGE: u32 = 5_000;
/// The `meta` entry holding this device's signing key: `{ private: CryptoKey, public: hex }`,
/// stored by structured clone (a `CryptoKey` never becomes bytes).
const DEVICE_KEY: &str = "device_key";
/// The `meta` mark that version 1's refused mutations were moved out of the outbox.
const MIGRATED: &str = "rejected_moved";

/// A failure of the local database.
#[derive(Debug, Clone, thiserror::Error)]
#[error("local database: {0}")]
pub struct DbError(pub String);

impl From<rexie::Error> for DbError {
    fn from(e: rexie::Error) -> Self {
        DbError(e.to_string())
    }
}

impl From<serde_json::Error> for DbError {
    fn from(e: serde_json::Error) -> Self {
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

/// One outbox (or rejected) entry.
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
    /// The signed-in account's rights, so the app checks edits as the server will.
    #[serde(default)]
    pub principal: Option<Principal>,
    /// Whether the server has this device's public key (sent at sign-in or join, or once
    /// after an older sign-in), so it can verify the changes files the device signs.
    #[serde(default)]
    pub device_key_registered: bool,
    /// Server time minus this device's clock, in ms, learned when the server refused a
    /// stamp as too far ahead (`clock_ahead`); added to the clock for every new stamp.
    #[serde(default)]
    pub clock_offset_ms: i64,
    /// The server's paper key (hex SPKI), which the ballot papers of a changes file are
    /// sealed to; learned from the last page of a pull.
    #[serde(default)]
    pub paper_key: Option<String>,
}

impl SyncMeta {
    /// This device's clock corrected by what the server told it.
    pub fn now_ms(&self) -> u64 {
        ids::now_ms().saturating_add_signed(self.clock_offset_ms)
    }
}

/// Everything the UI shows, read in one transaction, with the indexes its screens ask by.
/// Change `records` only through `put` and `remove`, which keep the indexes in step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Records by id.
    pub records: BTreeMap<Uuid, Record>,
    /// The outbox, oldest first.
    pub outbox: Vec<OutboxEntry>,
    /// Refused mutations, oldest first.
    pub rejected: Vec<OutboxEntry>,
    /// Sync state.
    pub meta: Option<SyncMeta>,
    /// Stored records this build cannot read, left out of `records`.
    pub unreadable: usize,
    /// Every record but the score cells (a block's few hundred or thousand records
    /// against its tens of thousands of cells): what most screens look through.
    others: BTreeSet<Uuid>,
    /// Score cells by sheet.
    sheet_cells: BTreeMap<Uuid, BTreeSet<Uuid>>,
}

impl Snapshot {
    /// Mutations waiting to be pushed.
    pub fn pending_count(&self) -> usize {
        self.outbox.len()
    }

    /// Records with a pending mutation.
    pub fn pending_targets(&self) -> BTreeSet<Uuid> {
        self.outbox.iter().map(|e| e.target).collect()
    }

    /// Adds or replaces a record. (A record keeps its kind and a cell its sheet: both are
    /// fixed fields, so a replaced record's index entries stay right.)
    pub fn put(&mut self, r: Record) {
        let id = r.id();
        match &r {
            Record::ScoreCell(c) => self.sheet_cells.entry(c.sheet_id).or_default().insert(id),
            _ => self.others.insert(id),
        };
        self.records.insert(id, r);
    }

    /// Removes a record.
    pub fn remove(&mut self, id: Uuid) {
        match self.records.remove(&id) {
            Some(Record::ScoreCell(c)) => {
                if let Some(set) = self.sheet_cells.get_mut(&c.sheet_id) {
                    set.remove(&id);
                }
            }
            _ => {
                self.others.remove(&id);
            }
        }
    }

    /// Every record but the score cells.
    pub fn others(&self) -> impl Iterator<Item = &Record> {
        self.others.iter().filter_map(|id| self.records.get(id))
    }

    /// A sheet's cells.
    pub fn cells_of(&self, sheet: Uuid) -> impl Iterator<Item = &ScoreCell> {
        self.sheet_cells
            .get(&sheet)
            .into_iter()
            .flatten()
            .filter_map(|id| match self.records.get(id) {
                Some(Record::ScoreCell(c)) => Some(c),
                _ => None,
            })
    }

    /// Takes in a local edit already committed to IndexedDB, without reading it back.
    pub fn absorb(&mut self, edited: &Edited) {
        for r in &edited.records {
            self.put(r.clone());
        }
        for id in &edited.removed {
            self.remove(*id);
        }
        self.outbox.extend(edited.entries.iter().cloned());
        if let Some(m) = self.meta.as_mut() {
            m.hlc = edited.hlc;
        }
    }
}

impl Snapshot {
    /// Takes in what a sync stored, without reading the database again.
    pub fn absorb_sync(&mut self, synced: &Synced) {
        for (id, r) in &synced.records {
            match r {
                Some(r) => self.put(r.clone()),
                None => self.remove(*id),
            }
        }
        if !synced.gone.is_empty() {
            let gone: BTreeSet<Uuid> = synced.gone.iter().copied().collect();
            self.outbox.retain(|e| !gone.contains(&e.id));
        }
        if !synced.rekeyed.is_empty() {
            self.outbox.extend(synced.rekeyed.iter().cloned());
            self.outbox.sort_by_key(|e| e.mutation.hlc);
        }
        self.rejected.extend(synced.rejected.iter().cloned());
        self.meta = Some(synced.meta.clone());
    }
}

/// What one sync answer changed on the device, so the UI can update its copy.
#[derive(Clone, Debug)]
pub struct Synced {
    /// Records as the view now shows them (`None`: gone).
    pub records: Vec<(Uuid, Option<Record>)>,
    /// Outbox entries gone: acknowledged, set aside or re-keyed.
    pub gone: Vec<Uuid>,
    /// Entries sent again under a new id.
    pub rekeyed: Vec<OutboxEntry>,
    /// Entries the server refused, now set aside.
    pub rejected: Vec<OutboxEntry>,
    /// The sync state after it.
    pub meta: SyncMeta,
}

/// What one local edit wrote, so the UI can update without reading the database again.
#[derive(Clone, Debug)]
pub struct Edited {
    /// The records as they now are.
    pub records: Vec<Record>,
    /// Records deleted.
    pub removed: Vec<Uuid>,
    /// The new outbox entries.
    pub entries: Vec<OutboxEntry>,
    /// The device clock after the edit.
    pub hlc: Hlc,
}

/// Checks one mutation with the record it changes (as the earlier ops of the edit left it).
pub type Check<'a> = dyn FnMut(&Mutation, Option<&Record>) -> Result<(), DomainError> + 'a;

/// The open local database.
pub struct LocalDb {
    rexie: Rexie,
}

/// A JavaScript exception as a database error (its message, not its Debug form: the
/// release build has none).
fn js_error(what: &str, e: &JsValue) -> DbError {
    let message = js_sys::Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_default();
    DbError(format!("{what}: {message}"))
}

/// A value as a plain JavaScript object, through serde_json and `JSON.parse`.
pub fn to_js<T: Serialize>(v: &T) -> Result<JsValue, DbError> {
    let text = crate::json::to_string(v)?;
    js_sys::JSON::parse(&text).map_err(|e| js_error("JSON.parse", &e))
}

/// A value back from a plain JavaScript object.
pub fn from_js<T: serde::de::DeserializeOwned>(v: JsValue) -> Result<T, DbError> {
    let text: String = js_sys::JSON::stringify(&v)
        .map_err(|e| js_error("JSON.stringify", &e))?
        .into();
    Ok(crate::json::from_str(&text)?)
}

/// Many values read at once: one `JSON.stringify` crossing instead of one per value.
fn from_js_all<T: serde::de::DeserializeOwned>(values: Vec<JsValue>) -> Result<Vec<T>, DbError> {
    let array: js_sys::Array = values.into_iter().collect();
    from_js(array.into())
}

/// The readable records of `values`, and how many could not be read.
fn read_each(values: Vec<JsValue>) -> (Vec<Record>, usize) {
    let n = values.len();
    // Through the same `Vec<Record>` reader as the fast path: one copy of its code.
    let good: Vec<Record> = values
        .into_iter()
        .filter_map(|v| from_js_all::<Record>(vec![v]).ok())
        .flatten()
        .collect();
    let bad = n - good.len();
    (good, bad)
}

/// One IndexedDB request, boxed so `together` has one copy per result type.
type Request<'a, T> = Pin<Box<dyn Future<Output = rexie::Result<T>> + 'a>>;

/// Runs requests of one transaction together: every future is polled once, which issues
/// its request, then each is awaited in order (a transaction answers in order). So a page
/// of a thousand writes costs one wait, not a thousand. (A small loop rather than
/// `try_join_all`, whose machinery would weigh on the shell.)
async fn together<T>(requests: Vec<Request<'_, T>>) -> Result<Vec<T>, DbError> {
    let mut requests = requests;
    let mut ready: Vec<Option<rexie::Result<T>>> = requests.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (r, out) in requests.iter_mut().zip(ready.iter_mut()) {
            if let Poll::Ready(v) = r.as_mut().poll(cx) {
                *out = Some(v);
            }
        }
        Poll::Ready(())
    })
    .await;
    let mut out = Vec::with_capacity(requests.len());
    for (r, done) in requests.into_iter().zip(ready) {
        out.push(match done {
            Some(v) => v?,
            None => r.await?,
        });
    }
    Ok(out)
}

/// Deletes `ids` from `store`, every request issued at once.
async fn delete_all(store: &Store, ids: Vec<Uuid>) -> Result<(), DbError> {
    together(
        ids.into_iter()
            .map(|id| -> Request<'_, ()> { Box::pin(store.delete(key(id))) })
            .collect(),
    )
    .await?;
    Ok(())
}

/// A key range, its failure as a database error.
fn range<E: Into<rexie::Error>>(r: Result<KeyRange, E>) -> Result<KeyRange, DbError> {
    r.map_err(|e| DbError::from(e.into()))
}

fn key(id: Uuid) -> JsValue {
    JsValue::from_str(&id.to_string())
}

async fn get<T: serde::de::DeserializeOwned>(
    store: &Store,
    id: Uuid,
) -> Result<Option<T>, DbError> {
    store
        .get(key(id))
        .await?
        .filter(|v| !v.is_undefined())
        .map(from_js)
        .transpose()
}

async fn read_entries(store: &Store) -> Result<Vec<OutboxEntry>, DbError> {
    let mut entries: Vec<OutboxEntry> = from_js_all(store.get_all(None, None).await?)?;
    entries.sort_by_key(|e| e.mutation.hlc);
    Ok(entries)
}

/// The oldest `limit` outbox entries (all with `None`), in push order, read through the
/// stamp index so a push never reads more than it sends.
async fn read_outbox(store: &Store, limit: Option<u32>) -> Result<Vec<OutboxEntry>, DbError> {
    let mut entries: Vec<OutboxEntry> =
        from_js_all(store.index(BY_HLC)?.get_all(None, limit).await?)?;
    // The index orders by stamp already; ties of a forged node never reach the outbox.
    entries.sort_by_key(|e| e.mutation.hlc);
    Ok(entries)
}

async fn read_meta(store: &Store) -> Result<Option<SyncMeta>, DbError> {
    match store.get(JsValue::from_str(META_KEY)).await? {
        Some(v) if !v.is_undefined() => Ok(Some(from_js(v)?)),
        _ => Ok(None),
    }
}

async fn must_meta(store: &Store) -> Result<SyncMeta, DbError> {
    read_meta(store)
        .await?
        .ok_or_else(|| DbError("no device id".into()))
}

async fn write_meta(store: &Store, meta: &SyncMeta) -> Result<(), DbError> {
    store
        .put(&to_js(meta)?, Some(&JsValue::from_str(META_KEY)))
        .await?;
    Ok(())
}

/// The pending outbox entries on each of `ids`, in stamp order (read through `by_target`,
/// every request issued at once).
async fn pending_on(outbox: &Store, ids: &[Uuid]) -> Result<Vec<Vec<OutboxEntry>>, DbError> {
    // Most syncs find nothing pending: one count instead of a read per record.
    if ids.is_empty() || outbox.count(None).await? == 0 {
        return Ok(ids.iter().map(|_| Vec::new()).collect());
    }
    let index = outbox.index(BY_TARGET)?;
    let ranges = ids
        .iter()
        .map(|id| range(KeyRange::only(&key(*id))))
        .collect::<Result<Vec<_>, _>>()?;
    let found = together(
        ranges
            .into_iter()
            .map(|r| -> Request<'_, _> { Box::pin(index.get_all(Some(r), None)) })
            .collect(),
    )
    .await?;
    found
        .into_iter()
        .map(|values| {
            let mut entries: Vec<OutboxEntry> = from_js_all(values)?;
            entries.sort_by_key(|e| e.mutation.hlc);
            Ok(entries)
        })
        .collect()
}

/// A record's base as the caller has it: the record (`None`: gone) and, when just
/// written, the stored object (else `undefined`).
type Base = (Uuid, Option<Record>, JsValue);

/// Rebuilds `records[id]` from its base and the outbox mutations on it, for each of
/// `fresh` (bases the caller just wrote) and of `others` (bases read here). Returns the
/// view of each id. Writes are issued at once.
async fn rebuild(
    tx: &Transaction,
    mut fresh: Vec<Base>,
    others: BTreeSet<Uuid>,
) -> Result<Vec<(Uuid, Option<Record>)>, DbError> {
    let base_store = tx.store(BASE)?;
    for id in others {
        if !fresh.iter().any(|(i, ..)| *i == id) {
            fresh.push((id, get(&base_store, id).await?, JsValue::UNDEFINED));
        }
    }
    let ids: Vec<Uuid> = fresh.iter().map(|b| b.0).collect();
    let pending = pending_on(&tx.store(OUTBOX)?, &ids).await?;
    let mut puts = Vec::new();
    let mut deletes = Vec::new();
    let mut views = Vec::with_capacity(ids.len());
    for ((id, base, object), entries) in fresh.into_iter().zip(pending) {
        let view = if entries.is_empty() {
            base
        } else {
            mutation::replay(base.as_ref(), entries.iter().map(|e| &e.mutation))
        };
        match &view {
            // Nothing pending on a base just written: the view is that object as it is.
            Some(_) if entries.is_empty() && object.is_object() => puts.push(object),
            Some(r) => puts.push(to_js(r)?),
            None => deletes.push(id),
        }
        views.push((id, view));
    }
    let records = tx.store(RECORDS)?;
    records.put_all(puts.into_iter().map(|v| (v, None))).await?;
    delete_all(&records, deletes).await?;
    Ok(views)
}

/// Moves the refused entries from the outbox to `rejected`; returns them as set aside.
async fn set_aside(tx: &Transaction, refused: &[Rejection]) -> Result<Vec<OutboxEntry>, DbError> {
    let outbox = tx.store(OUTBOX)?;
    let rejected = tx.store(REJECTED)?;
    let mut moved = Vec::new();
    for r in refused {
        if let Some(mut entry) = get::<OutboxEntry>(&outbox, r.mutation_id).await? {
            entry.status = OutboxStatus::Rejected;
            entry.rejection = Some(r.clone());
            outbox.delete(key(entry.id)).await?;
            rejected.put(&to_js(&entry)?, None).await?;
            moved.push(entry);
        }
    }
    Ok(moved)
}

impl LocalDb {
    /// Opens (creating or upgrading) the database called `name`.
    pub async fn open(name: &str) -> Result<LocalDb, DbError> {
        let rexie = Rexie::builder(name)
            .version(SCHEMA_VERSION)
            .add_object_store(ObjectStore::new(BASE).key_path("id"))
            .add_object_store(ObjectStore::new(RECORDS).key_path("id"))
            .add_object_store(
                ObjectStore::new(OUTBOX)
                    .key_path("id")
                    .add_index(Index::new_array(
                        BY_HLC,
                        [
                            "mutation.hlc.ms",
                            "mutation.hlc.counter",
                            "mutation.hlc.node",
                        ],
                    ))
                    .add_index(Index::new(BY_TARGET, "target")),
            )
            .add_object_store(ObjectStore::new(REJECTED).key_path("id"))
            .add_object_store(ObjectStore::new(META))
            .build()
            .await?;
        let db = LocalDb { rexie };
        db.ensure_meta().await?;
        db.migrate_rejected().await?;
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
                    principal: None,
                    device_key_registered: false,
                    clock_offset_ms: 0,
                    paper_key: None,
                };
                write_meta(&store, &meta).await?;
                meta
            }
        };
        tx.done().await?;
        Ok(meta)
    }

    /// Version 1 kept refused mutations in the outbox with a status: move them to their
    /// own store, in one transaction, once (a `meta` mark says it is done, so a long
    /// outbox is not read at every start).
    async fn migrate_rejected(&self) -> Result<(), DbError> {
        let tx = self
            .rexie
            .transaction(&[OUTBOX, REJECTED, META], TransactionMode::ReadWrite)?;
        let meta = tx.store(META)?;
        let mark = JsValue::from_str(MIGRATED);
        if meta
            .get(mark.clone())
            .await?
            .is_some_and(|v| !v.is_undefined())
        {
            return Ok(tx.done().await.map(|_| ())?);
        }
        let outbox = tx.store(OUTBOX)?;
        let rejected = tx.store(REJECTED)?;
        for e in read_entries(&outbox).await? {
            if e.status == OutboxStatus::Rejected {
                outbox.delete(key(e.id)).await?;
                rejected.put(&to_js(&e)?, None).await?;
            }
        }
        meta.put(&JsValue::TRUE, Some(&mark)).await?;
        tx.done().await?;
        Ok(())
    }

    /// Reads what the UI shows.
    pub async fn snapshot(&self) -> Result<Snapshot, DbError> {
        let tx = self.rexie.transaction(
            &[RECORDS, OUTBOX, REJECTED, META],
            TransactionMode::ReadOnly,
        )?;
        let store = tx.store(RECORDS)?;
        let mut snap = Snapshot::default();
        let mut after: Option<JsValue> = None;
        // In pages by key, so the text crossing into WebAssembly stays small.
        loop {
            let range = after
                .as_ref()
                .map(|k| range(KeyRange::lower_bound(k, Some(true))))
                .transpose()?;
            let raw = store.get_all(range, Some(READ_PAGE)).await?;
            let full = raw.len() == READ_PAGE as usize;
            after = raw
                .last()
                .and_then(|v| js_sys::Reflect::get(v, &"id".into()).ok());
            let (page, bad) = match from_js_all::<Record>(raw.clone()) {
                Ok(all) => (all, 0),
                // Only when one fails: read them one by one and set the bad ones aside.
                Err(_) => read_each(raw),
            };
            snap.unreadable += bad;
            for r in page {
                snap.put(r);
            }
            if !full {
                break;
            }
        }
        let outbox = read_outbox(&tx.store(OUTBOX)?, None).await?;
        let rejected = read_entries(&tx.store(REJECTED)?).await?;
        let meta = read_meta(&tx.store(META)?).await?;
        tx.done().await?;
        snap.outbox = outbox;
        snap.rejected = rejected;
        snap.meta = meta;
        Ok(snap)
    }

    /// Records one local edit with no check beyond the merge itself.
    pub async fn edit(&self, op: Op) -> Result<Mutation, EditError> {
        let edited = self.edit_all(vec![op], &mut |_, _| Ok(())).await?;
        Ok(edited
            .entries
            .into_iter()
            .next()
            .map(|e| e.mutation)
            .ok_or_else(|| DbError("no mutation".into()))?)
    }

    /// Records local edits: the changed records and their outbox entries, all in one
    /// transaction. `check` sees each mutation with the record it changes (as the earlier
    /// ops left it) and may refuse it, with the domain's reason; then nothing is written.
    pub async fn edit_all(
        &self,
        ops: Vec<Op>,
        // A trait object, not a generic: one copy of this state machine in the WebAssembly.
        check: &mut Check<'_>,
    ) -> Result<Edited, EditError> {
        let tx = self
            .rexie
            .transaction(&[RECORDS, OUTBOX, META], TransactionMode::ReadWrite)?;
        let meta_store = tx.store(META)?;
        let mut meta = must_meta(&meta_store).await?;
        let records = tx.store(RECORDS)?;
        let outbox = tx.store(OUTBOX)?;
        let mut now: BTreeMap<Uuid, Option<Record>> = BTreeMap::new();
        let mut entries = Vec::with_capacity(ops.len());
        for op in ops {
            let target = op.target();
            let current = match now.get(&target) {
                Some(r) => r.clone(),
                None => get::<Record>(&records, target).await?,
            };
            meta.hlc = meta.hlc.tick(meta.now_ms());
            let m = Mutation {
                id: ids::new_v7(),
                hlc: meta.hlc,
                op,
            };
            let after = check(&m, current.as_ref()).and_then(|()| match &m.op {
                Op::Delete { .. } => Ok(None),
                _ => mutation::apply(&m, current.as_ref(), &FieldClocks::new())
                    .map(|a| Some(a.record)),
            });
            let after = match after {
                Ok(a) => a,
                Err(e) => {
                    // Nothing is committed; abort so the transaction leaves no trace.
                    let _ = tx.abort().await;
                    return Err(e.into());
                }
            };
            now.insert(target, after);
            entries.push(OutboxEntry {
                id: m.id,
                target,
                mutation: m,
                status: OutboxStatus::Pending,
                rejection: None,
            });
        }
        let mut edited = Edited {
            records: Vec::new(),
            removed: Vec::new(),
            entries,
            hlc: meta.hlc,
        };
        for (id, r) in now {
            match r {
                Some(r) => {
                    records.put(&to_js(&r)?, None).await?;
                    edited.records.push(r);
                }
                None => {
                    records.delete(key(id)).await?;
                    edited.removed.push(id);
                }
            }
        }
        for e in &edited.entries {
            outbox.add(&to_js(e)?, None).await?;
        }
        write_meta(&meta_store, &meta).await?;
        tx.done().await.map_err(DbError::from)?;
        Ok(edited)
    }

    /// The sync state and up to `limit` pending mutations, oldest first (`0`: the state
    /// alone).
    pub async fn outgoing(&self, limit: usize) -> Result<(SyncMeta, Vec<Mutation>), DbError> {
        let tx = self
            .rexie
            .transaction(&[OUTBOX, META], TransactionMode::ReadOnly)?;
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        // IndexedDB reads a count of 0 as "all": no read at all for the sync state alone.
        let outbox = match limit {
            0 => Vec::new(),
            n => read_outbox(&tx.store(OUTBOX)?, Some(n)).await?,
        };
        let meta = must_meta(&tx.store(META)?).await?;
        tx.done().await?;
        Ok((meta, outbox.into_iter().map(|e| e.mutation).collect()))
    }

    /// Stores a sync answer: drops acknowledged mutations, sets refused ones aside, stores
    /// pulled records, replays what is still pending on top, and advances the cursor, all
    /// in one transaction; returns what changed.
    pub async fn apply_sync(&self, res: &SyncResponse) -> Result<Synced, DbError> {
        let tx = self.rexie.transaction(
            &[BASE, RECORDS, OUTBOX, REJECTED, META],
            TransactionMode::ReadWrite,
        )?;
        let outbox_store = tx.store(OUTBOX)?;
        let mut refused = Vec::new();
        let mut acked = Vec::new();
        let mut rekeyed = Vec::new();
        for o in &res.outcomes {
            match o.rejection() {
                // The view already shows it; the record itself arrives with the pull.
                None => acked.push(o.mutation_id),
                // Another change holds this id on the server (a forged push, say): the same
                // change goes again under a new id, with its stamp, on the next push.
                Some(r) if r.code == "mutation_id_taken" => {
                    if let Some(mut e) = get::<OutboxEntry>(&outbox_store, r.mutation_id).await? {
                        outbox_store.delete(key(e.id)).await?;
                        e.id = ids::new_v7();
                        e.mutation.id = e.id;
                        outbox_store.put(&to_js(&e)?, None).await?;
                        rekeyed.push((r.mutation_id, e));
                    }
                }
                Some(r) => refused.push(r),
            }
        }
        delete_all(&outbox_store, acked.clone()).await?;
        let rejected = set_aside(&tx, &refused).await?;
        // Records whose pending edits changed without a pulled base: read their base.
        let mut touched: BTreeSet<Uuid> = rejected.iter().map(|e| e.target).collect();
        touched.extend(rekeyed.iter().map(|(_, e)| e.target));
        // The page's records cross into JavaScript as one array: one `JSON.parse`.
        let live: Vec<&Record> = res
            .changes
            .iter()
            .filter(|c| !c.deleted)
            .map(|c| &c.record)
            .collect();
        let objects: js_sys::Array = to_js(&live)?.into();
        let mut fresh: Vec<Base> = Vec::with_capacity(res.changes.len());
        let mut gone_here = Vec::new();
        for change in &res.changes {
            let id = change.record.id();
            if change.deleted {
                gone_here.push(id);
                fresh.push((id, None, JsValue::UNDEFINED));
            } else {
                let object =
                    objects.get(u32::try_from(fresh.len() - gone_here.len()).unwrap_or(u32::MAX));
                fresh.push((id, Some(change.record.clone()), object));
            }
        }
        let base = tx.store(BASE)?;
        base.put_all(objects.iter().map(|v| (v, None))).await?;
        delete_all(&base, gone_here).await?;
        let records = rebuild(&tx, fresh, touched).await?;
        let meta_store = tx.store(META)?;
        let mut meta = must_meta(&meta_store).await?;
        // Stamps the server stored are bounded by its clock (it refuses pushes too far ahead,
        // and migration 0005 clamped older ones), so folding them in never runs this device's
        // clock into the future, while a device whose clock is behind still orders its next
        // edit after everything it has seen.
        for stamp in res.changes.iter().filter_map(|c| c.latest_stamp()) {
            meta.hlc = meta.hlc.observe(stamp);
        }
        meta.cursor = meta.cursor.max(res.cursor);
        if res.paper_key.is_some() {
            meta.paper_key.clone_from(&res.paper_key);
        }
        meta.last_ok_ms = Some(ids::now_ms());
        meta.last_error = None;
        write_meta(&meta_store, &meta).await?;
        tx.done().await?;
        let mut gone = acked;
        gone.extend(rejected.iter().map(|e| e.id));
        gone.extend(rekeyed.iter().map(|(old, _)| *old));
        Ok(Synced {
            records,
            gone,
            rekeyed: rekeyed.into_iter().map(|(_, e)| e).collect(),
            rejected,
            meta,
        })
    }

    /// The server said this device's clock runs ahead: learn the offset from `server_ms`,
    /// reset the clock to it and re-stamp every pending edit in order, rebuilding what the
    /// view shows, all in one transaction. Edits keep their ids: none was applied.
    pub async fn restamp(&self, server_ms: u64) -> Result<(), DbError> {
        let tx = self
            .rexie
            .transaction(&[BASE, RECORDS, OUTBOX, META], TransactionMode::ReadWrite)?;
        let meta_store = tx.store(META)?;
        let mut meta = must_meta(&meta_store).await?;
        let local = ids::now_ms();
        meta.clock_offset_ms =
            i64::try_from(i128::from(server_ms) - i128::from(local)).unwrap_or(0);
        let outbox_store = tx.store(OUTBOX)?;
        let mut outbox = read_outbox(&outbox_store, None).await?;
        let (stamps, clock) = Hlc::restamped(meta.device_id, server_ms, outbox.len());
        let mut touched = BTreeSet::new();
        for (e, stamp) in outbox.iter_mut().zip(stamps) {
            e.mutation.hlc = stamp;
            touched.insert(e.target);
        }
        let values = outbox.iter().map(to_js).collect::<Result<Vec<_>, _>>()?;
        outbox_store
            .put_all(values.into_iter().map(|v| (v, None)))
            .await?;
        rebuild(&tx, Vec::new(), touched).await?;
        meta.hlc = clock;
        write_meta(&meta_store, &meta).await?;
        tx.done().await?;
        Ok(())
    }

    /// Sets refused mutations aside with their reason and takes them out of the view.
    pub async fn mark_rejected(&self, rejected: &[Rejection]) -> Result<(), DbError> {
        let tx = self.rexie.transaction(
            &[BASE, RECORDS, OUTBOX, REJECTED],
            TransactionMode::ReadWrite,
        )?;
        let touched = set_aside(&tx, rejected)
            .await?
            .into_iter()
            .map(|e| e.target)
            .collect();
        rebuild(&tx, Vec::new(), touched).await?;
        tx.done().await?;
        Ok(())
    }

    /// Stores (or with `None`, forgets) this device's token and account after signing in
    /// or out.
    pub async fn set_token(
        &self,
        token: Option<String>,
        principal: Option<Principal>,
    ) -> Result<(), DbError> {
        let tx = self
            .rexie
            .transaction(&[META], TransactionMode::ReadWrite)?;
        let store = tx.store(META)?;
        let mut meta = must_meta(&store).await?;
        // A new sign-in registers the key again (for its account); signing out forgets it.
        meta.device_key_registered = false;
        meta.paper_key = None;
        meta.token = token;
        meta.account_name = principal.as_ref().map(|p| p.name.clone());
        meta.principal = principal;
        meta.last_error = None;
        write_meta(&store, &meta).await?;
        tx.done().await?;
        Ok(())
    }

    /// This device's signing key, made on first use (`crate::seal`): the private
    /// `CryptoKey` and the public key as hex SPKI.
    pub async fn device_key(&self) -> Result<(web_sys::CryptoKey, String), DbError> {
        if let Some(found) = self.read_device_key().await? {
            return Ok(found);
        }
        let (private, public) = crate::seal::new_device_key().await.map_err(DbError)?;
        let entry = js_sys::Object::new();
        let set = |k: &str, v: &JsValue| {
            js_sys::Reflect::set(&entry, &k.into(), v).map_err(|e| js_error("device key", &e))
        };
        set("private", &private)?;
        set("public", &JsValue::from_str(&public))?;
        let tx = self
            .rexie
            .transaction(&[META], TransactionMode::ReadWrite)?;
        // `add`, not `put`: if another tab made a key meanwhile, keep that one.
        let added = tx
            .store(META)?
            .add(&entry, Some(&JsValue::from_str(DEVICE_KEY)))
            .await;
        let done = tx.done().await;
        if added.is_ok() && done.is_ok() {
            return Ok((private, public));
        }
        self.read_device_key()
            .await?
            .ok_or_else(|| DbError("the device key could not be stored".into()))
    }

    async fn read_device_key(&self) -> Result<Option<(web_sys::CryptoKey, String)>, DbError> {
        use wasm_bindgen::JsCast;
        let tx = self.rexie.transaction(&[META], TransactionMode::ReadOnly)?;
        let v = tx.store(META)?.get(JsValue::from_str(DEVICE_KEY)).await?;
        tx.done().await?;
        let Some(v) = v.filter(|v| v.is_object()) else {
            return Ok(None);
        };
        let get = |k: &str| js_sys::Reflect::get(&v, &k.into()).ok();
        match (get("private"), get("public").and_then(|p| p.as_string())) {
            (Some(private), Some(public)) if private.is_object() => {
                Ok(Some((private.unchecked_into(), public)))
            }
            _ => Ok(None),
        }
    }

    /// Changes the sync state by `f` (what the server has told this device).
    pub async fn edit_meta(&self, f: impl FnOnce(&mut SyncMeta)) -> Result<(), DbError> {
        let tx = self
            .rexie
            .transaction(&[META], TransactionMode::ReadWrite)?;
        let store = tx.store(META)?;
        let mut meta = must_meta(&store).await?;
        f(&mut meta);
        write_meta(&store, &meta).await?;
        tx.done().await?;
        Ok(())
    }

    /// Remembers why the last sync failed; returns that as a change for the UI's copy.
    pub async fn set_error(&self, message: &str) -> Result<Synced, DbError> {
        let tx = self
            .rexie
            .transaction(&[META], TransactionMode::ReadWrite)?;
        let store = tx.store(META)?;
        let mut meta = must_meta(&store).await?;
        meta.last_error = Some(message.to_owned());
        write_meta(&store, &meta).await?;
        tx.done().await?;
        Ok(Synced {
            records: Vec::new(),
            gone: Vec::new(),
            rekeyed: Vec::new(),
            rejected: Vec::new(),
            meta,
        })
    }

    /// Deletes a rejected mutation the user has read.
    pub async fn discard_rejected(&self, mutation_id: Uuid) -> Result<(), DbError> {
        let tx = self
            .rexie
            .transaction(&[REJECTED], TransactionMode::ReadWrite)?;
        tx.store(REJECTED)?.delete(key(mutation_id)).await?;
        tx.done().await?;
        Ok(())
    }

    /// Forgets everything on this device (records, outbox, account) and starts as a new
    /// device; the caller warns first when changes are unsynced.
    pub async fn reset(&self) -> Result<(), DbError> {
        let tx = self.rexie.transaction(
            &[BASE, RECORDS, OUTBOX, REJECTED, META],
            TransactionMode::ReadWrite,
        )?;
        for s in [BASE, RECORDS, OUTBOX, REJECTED, META] {
            tx.store(s)?.clear().await?;
        }
        tx.done().await?;
        self.ensure_meta().await?;
        Ok(())
    }
}
