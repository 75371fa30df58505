//! The local store in a real browser: IndexedDB through rexie, in headless Chromium.

use shared::demo;
use shared::mutation::Op;
use shared::protocol::{Change, Outcome, OutcomeStatus, PROTOCOL, Rejection, SyncResponse};
use shared::{Points, Record};
use thidua_frontend::db::{EditError, LocalDb, OutboxStatus};
use thidua_frontend::ids;
use uuid::Uuid;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const CRITERION: Uuid = demo::id(1000);

fn all_demo() -> SyncResponse {
    let changes: Vec<Change> = demo::records()
        .into_iter()
        .enumerate()
        .map(|(i, record)| Change {
            seq: i as u64 + 1,
            record,
            clocks: Default::default(),
            deleted: false,
        })
        .collect();
    SyncResponse {
        protocol: PROTOCOL,
        outcomes: vec![],
        cursor: changes.len() as u64,
        changes,
        more: false,
        paper_key: None,
    }
}

async fn fresh() -> LocalDb {
    let name = format!("test-{}", ids::new_v7());
    let db = LocalDb::open(&name).await.expect("open");
    db.apply_sync(&all_demo()).await.expect("seed");
    db
}

fn title(db_snapshot: &thidua_frontend::db::Snapshot) -> String {
    match db_snapshot.records.get(&CRITERION) {
        Some(Record::Criterion(c)) => c.title.clone(),
        other => panic!("no criterion: {other:?}"),
    }
}

fn rename(t: &str) -> Op {
    Op::set(CRITERION, "title", serde_json::json!(t))
}

#[wasm_bindgen_test]
async fn pulled_records_and_cursor_are_stored() {
    let db = fresh().await;
    let s = db.snapshot().await.expect("snapshot");
    assert_eq!(s.records.len(), demo::records().len());
    let meta = s.meta.expect("meta");
    assert_eq!(meta.cursor, demo::records().len() as u64);
    assert!(meta.last_ok_ms.is_some());
    assert_eq!(meta.device_id.get_version_num(), 7);
}

#[wasm_bindgen_test]
async fn an_edit_writes_the_record_and_the_outbox_together() {
    let db = fresh().await;
    let m = db
        .edit(rename("  Tên mới có dấu: Đảng, Nhà nước  "))
        .await
        .expect("edit");
    let s = db.snapshot().await.expect("snapshot");
    assert_eq!(title(&s), "Tên mới có dấu: Đảng, Nhà nước");
    assert_eq!(s.pending_count(), 1);
    assert_eq!(s.outbox[0].id, m.id);
    assert!(s.pending_targets().contains(&CRITERION));
    // The device id stamps the clock.
    assert_eq!(m.hlc.node, s.meta.expect("meta").device_id);
}

#[wasm_bindgen_test]
async fn a_clock_running_ahead_is_restamped_from_the_servers_time() {
    let db = fresh().await;
    db.edit(rename("Một")).await.expect("edit");
    db.edit(rename("Hai")).await.expect("edit");
    // The server says it is an hour earlier than this device thinks.
    let server_ms = ids::now_ms() - 3_600_000;
    db.restamp(server_ms).await.expect("restamp");
    let s = db.snapshot().await.expect("snapshot");
    let stamps: Vec<_> = s.outbox.iter().map(|e| e.mutation.hlc).collect();
    assert_eq!(stamps.len(), 2);
    assert!(stamps.iter().all(|h| h.ms == server_ms), "{stamps:?}");
    assert!(stamps[0] < stamps[1], "the edits keep their order");
    assert_eq!(title(&s), "Hai", "the view still shows the last edit");
    let meta = s.meta.expect("meta");
    assert!(
        (meta.clock_offset_ms + 3_600_000).abs() < 5_000,
        "{}",
        meta.clock_offset_ms
    );
    // Later edits are stamped from the corrected clock, after the re-stamped ones.
    let later = db.edit(rename("Ba")).await.expect("edit");
    assert!(later.hlc > stamps[1]);
    assert!(
        later.hlc.ms < server_ms + 60_000,
        "{} vs {server_ms}",
        later.hlc.ms
    );
}

#[wasm_bindgen_test]
async fn the_device_key_is_made_once_and_signs() {
    let db = fresh().await;
    let (private, public) = db.device_key().await.expect("a key");
    let (_, again) = db.device_key().await.expect("the same key");
    assert_eq!(public, again, "made once, then kept");
    // A P-256 SubjectPublicKeyInfo: 91 bytes, the fixed header first.
    assert_eq!(public.len(), 182);
    assert!(public.starts_with("3059301306072a8648ce3d020106082a8648ce3d030107034200"));
    let sig = thidua_frontend::seal::sign_hex(&private, b"the file")
        .await
        .expect("signs");
    assert_eq!(sig.len(), 128, "r and s, 32 bytes each");
    // Signing out and in again keeps the key; a reset (new device) makes a new one.
    db.set_token(None, None).await.expect("sign out");
    assert_eq!(db.device_key().await.expect("key").1, public);
    db.reset().await.expect("reset");
    assert_ne!(db.device_key().await.expect("key").1, public);
}

#[wasm_bindgen_test]
async fn an_invalid_edit_writes_nothing() {
    let db = fresh().await;
    let before = db.snapshot().await.expect("snapshot");
    let err = db.edit(rename("   ")).await.expect_err("empty title");
    assert!(matches!(err, EditError::Invalid(ref e) if e.code() == "empty_text"));
    let unknown = db
        .edit(Op::set(Uuid::from_u128(1), "title", serde_json::json!("x")))
        .await
        .expect_err("unknown");
    assert!(matches!(unknown, EditError::Invalid(ref e) if e.code() == "unknown_entity"));
    let after = db.snapshot().await.expect("snapshot");
    assert_eq!(before.records, after.records);
    assert!(after.outbox.is_empty());
}

#[wasm_bindgen_test]
async fn acknowledged_mutations_leave_the_outbox_and_pending_ones_survive_a_pull() {
    let db = fresh().await;
    let first = db.edit(rename("Lần một")).await.expect("edit");
    let second = db.edit(rename("Lần hai")).await.expect("edit");
    // Another device's stamp, a day ahead of this device's clock.
    let far_future = shared::Hlc {
        ms: ids::now_ms() + 86_400_000,
        counter: 3,
        node: Uuid::from_u128(0xFA),
    };
    // The server acknowledges the first only, and sends back the record as of the first.
    let mut rec = match demo::records().into_iter().find(|r| r.id() == CRITERION) {
        Some(Record::Criterion(c)) => c,
        _ => panic!("demo criterion"),
    };
    rec.title = "Lần một".into();
    let res = SyncResponse {
        protocol: PROTOCOL,
        outcomes: vec![Outcome {
            mutation_id: first.id,
            status: OutcomeStatus::Applied { seq: 100 },
        }],
        changes: vec![Change {
            seq: 100,
            record: Record::Criterion(rec),
            clocks: [("title".to_owned(), far_future)].into(),
            deleted: false,
        }],
        cursor: 100,
        more: false,
        paper_key: None,
    };
    db.apply_sync(&res).await.expect("apply");
    let s = db.snapshot().await.expect("snapshot");
    assert_eq!(s.outbox.len(), 1);
    assert_eq!(s.outbox[0].id, second.id);
    // The pending second edit is replayed over the pulled record.
    assert_eq!(title(&s), "Lần hai");
    let meta = s.meta.expect("meta");
    assert_eq!(meta.cursor, 100);
    // The device folded the stamp it saw into its clock: its next edit orders after it.
    let third = db.edit(rename("Lần ba")).await.expect("edit");
    assert!(third.hlc > far_future, "{:?} <= {far_future:?}", third.hlc);
    assert_eq!(third.hlc.node, meta.device_id);
}

#[wasm_bindgen_test]
async fn a_rejected_mutation_is_kept_with_its_reason_and_leaves_the_view() {
    let db = fresh().await;
    let m = db.edit(rename("Bị từ chối")).await.expect("edit");
    db.mark_rejected(&[Rejection {
        mutation_id: m.id,
        code: "round_locked".into(),
        message: "the round is locked".into(),
        message_vi: "Vòng chấm đã khóa".into(),
    }])
    .await
    .expect("reject");
    let s = db.snapshot().await.expect("snapshot");
    assert_eq!(s.pending_count(), 0);
    assert!(s.outbox.is_empty());
    assert_eq!(s.rejected.len(), 1);
    assert_eq!(s.rejected[0].status, OutboxStatus::Rejected);
    assert_eq!(
        s.rejected[0]
            .rejection
            .as_ref()
            .map(|r| r.message_vi.as_str()),
        Some("Vòng chấm đã khóa")
    );
    assert_eq!(
        title(&s),
        "Quán triệt, triển khai nghị quyết, chỉ thị của Đảng"
    );
    db.discard_rejected(m.id).await.expect("discard");
    let s = db.snapshot().await.expect("snapshot");
    assert!(s.outbox.is_empty() && s.rejected.is_empty());
}

#[wasm_bindgen_test]
async fn a_batch_refused_half_way_writes_nothing() {
    let db = fresh().await;
    let before = db.snapshot().await.expect("snapshot");
    let mut seen = 0;
    let err = db
        .edit_all(
            vec![rename("Một"), rename("Hai"), rename("Ba")],
            &mut |_, current| {
                seen += 1;
                // The second op sees the first one's result, inside the same transaction.
                if seen == 2 {
                    assert!(matches!(current, Some(Record::Criterion(c)) if c.title == "Một"));
                    return Err(shared::DomainError::CorrectionNeedsReason);
                }
                Ok(())
            },
        )
        .await
        .expect_err("refused");
    assert!(matches!(err, EditError::Invalid(_)));
    let after = db.snapshot().await.expect("snapshot");
    assert_eq!(before, after, "a refused batch must leave no trace");
    // And a batch that passes lands whole, with one outbox entry per op.
    let ok = db
        .edit_all(vec![rename("Một"), rename("Hai")], &mut |_, _| Ok(()))
        .await
        .expect("batch");
    let s = db.snapshot().await.expect("snapshot");
    assert_eq!(title(&s), "Hai");
    assert_eq!(s.outbox.len(), 2);
    assert_eq!(ok.records.len(), 1);
    assert_eq!(ok.hlc, s.meta.expect("meta").hlc);
}

#[wasm_bindgen_test]
async fn a_local_delete_hides_the_record_until_the_server_answers() {
    let db = fresh().await;
    let edited = db
        .edit_all(vec![Op::Delete { id: CRITERION }], &mut |_, _| Ok(()))
        .await
        .expect("delete");
    assert_eq!(edited.removed, vec![CRITERION]);
    let s = db.snapshot().await.expect("snapshot");
    assert!(!s.records.contains_key(&CRITERION));
    assert_eq!(s.pending_count(), 1);
    // Refused: the record comes back from the server's copy.
    db.mark_rejected(&[Rejection {
        mutation_id: edited.entries[0].id,
        code: "forbidden".into(),
        message: "no".into(),
        message_vi: "không".into(),
    }])
    .await
    .expect("reject");
    let s = db.snapshot().await.expect("snapshot");
    assert!(s.records.contains_key(&CRITERION));
}

/// A database as version 1 of the app left it: four stores, refused mutations kept in the
/// outbox with a status.
#[wasm_bindgen_test]
async fn upgrading_from_schema_1_keeps_everything() {
    use rexie::{ObjectStore, Rexie, TransactionMode};
    use thidua_frontend::db::{OutboxEntry, SyncMeta, to_js};
    let name = format!("upgrade-{}", ids::new_v7());
    let v1 = Rexie::builder(&name)
        .version(1)
        .add_object_store(ObjectStore::new("base").key_path("id"))
        .add_object_store(ObjectStore::new("records").key_path("id"))
        .add_object_store(ObjectStore::new("outbox").key_path("id"))
        .add_object_store(ObjectStore::new("meta"))
        .build()
        .await
        .expect("v1");
    let device = ids::new_v7();
    let record = demo::records()
        .into_iter()
        .find(|r| r.id() == CRITERION)
        .expect("criterion");
    let entry = |title: &str, status: OutboxStatus| {
        let m = shared::mutation::Mutation {
            id: ids::new_v7(),
            hlc: shared::Hlc {
                ms: ids::now_ms(),
                counter: 0,
                node: device,
            },
            op: rename(title),
        };
        OutboxEntry {
            id: m.id,
            target: CRITERION,
            mutation: m,
            status,
            rejection: (status == OutboxStatus::Rejected).then(|| Rejection {
                mutation_id: Uuid::nil(),
                code: "forbidden".into(),
                message: "no".into(),
                message_vi: "không được phép".into(),
            }),
        }
    };
    let pending = entry("Đang chờ", OutboxStatus::Pending);
    let refused = entry("Bị từ chối", OutboxStatus::Rejected);
    let meta = SyncMeta {
        device_id: device,
        hlc: shared::Hlc::zero(device),
        cursor: 42,
        last_ok_ms: Some(1),
        last_error: None,
        token: Some("tok".into()),
        account_name: Some("Thư ký".into()),
        principal: None,
        device_key_registered: false,
        clock_offset_ms: 0,
        paper_key: None,
    };
    let tx = v1
        .transaction(
            &["base", "records", "outbox", "meta"],
            TransactionMode::ReadWrite,
        )
        .expect("tx");
    tx.store("base")
        .expect("base")
        .put(&to_js(&record).expect("js"), None)
        .await
        .expect("put");
    let mut shown = record.clone();
    if let Record::Criterion(c) = &mut shown {
        c.title = "Đang chờ".into();
    }
    tx.store("records")
        .expect("records")
        .put(&to_js(&shown).expect("js"), None)
        .await
        .expect("put");
    let outbox = tx.store("outbox").expect("outbox");
    outbox
        .put(&to_js(&pending).expect("js"), None)
        .await
        .expect("put");
    outbox
        .put(&to_js(&refused).expect("js"), None)
        .await
        .expect("put");
    // Version 1 wrote meta without the principal field.
    let mut old_meta = serde_json::to_value(&meta).expect("json");
    old_meta
        .as_object_mut()
        .expect("object")
        .remove("principal");
    tx.store("meta")
        .expect("meta")
        .put(&to_js(&old_meta).expect("js"), Some(&"state".into()))
        .await
        .expect("put");
    tx.done().await.expect("commit");
    v1.close();

    let db = LocalDb::open(&name).await.expect("upgrade");
    let s = db.snapshot().await.expect("snapshot");
    assert_eq!(title(&s), "Đang chờ");
    assert_eq!(s.outbox.len(), 1);
    assert_eq!(s.outbox[0].id, pending.id);
    assert_eq!(s.rejected.len(), 1);
    assert_eq!(s.rejected[0].id, refused.id);
    let m = s.meta.expect("meta");
    assert_eq!(
        (m.device_id, m.cursor, m.token.as_deref()),
        (device, 42, Some("tok"))
    );
    // The pending edit still goes out.
    let (_, out) = db.outgoing(10).await.expect("outgoing");
    assert_eq!(out.len(), 1);
    // Opening again changes nothing.
    let before = db.snapshot().await.expect("snapshot");
    let again = LocalDb::open(&name).await.expect("reopen");
    assert_eq!(again.snapshot().await.expect("snapshot"), before);
}

#[wasm_bindgen_test]
fn shared_rules_run_in_the_browser() {
    assert_eq!(
        "7,5".parse::<Points>().expect("points"),
        Points::from_hundredths(750)
    );
    assert_eq!(ids::new_v7().get_version_num(), 7);
    assert!(ids::new_v7() != ids::new_v7());
}

/// A record this build cannot read (a stamp beyond JavaScript's integers, a field of the
/// wrong type) is left out and counted; the rest of the block still opens.
#[wasm_bindgen_test]
async fn an_unreadable_record_is_set_aside_not_fatal() {
    use rexie::{ObjectStore, Rexie, TransactionMode};
    let name = format!("unreadable-{}", ids::new_v7());
    let db = LocalDb::open(&name).await.expect("open");
    db.apply_sync(&all_demo()).await.expect("seed");
    let bad_id = Uuid::from_u128(0xBAD);
    {
        // Written behind the app's back, as a faulty build might have.
        let raw = Rexie::builder(&name)
            .version(thidua_frontend::db::SCHEMA_VERSION)
            .add_object_store(ObjectStore::new("base").key_path("id"))
            .add_object_store(ObjectStore::new("records").key_path("id"))
            .add_object_store(ObjectStore::new("outbox").key_path("id"))
            .add_object_store(ObjectStore::new("rejected").key_path("id"))
            .add_object_store(ObjectStore::new("meta"))
            .build()
            .await
            .expect("raw");
        let tx = raw
            .transaction(&["records", "base"], TransactionMode::ReadWrite)
            .expect("tx");
        let bad = js_sys::JSON::parse(&format!(
            r#"{{"type":"criterion","id":"{bad_id}","title":1.8446744073709552e19}}"#
        ))
        .expect("json");
        for store in ["records", "base"] {
            tx.store(store)
                .expect("store")
                .put(&bad, None)
                .await
                .expect("put");
        }
        tx.done().await.expect("done");
        raw.close();
    }
    let s = db.snapshot().await.expect("the app still opens");
    assert_eq!(s.unreadable, 1);
    assert!(!s.records.contains_key(&bad_id));
    assert_eq!(
        s.records.len(),
        demo::records().len(),
        "every readable record"
    );
    // Edits and a wipe still work.
    db.edit(rename("Vẫn sửa được")).await.expect("edit");
    db.reset().await.expect("wipe");
    assert_eq!(db.snapshot().await.expect("snapshot").unreadable, 0);
}

/// The UI's copy, kept by taking in each edit and each sync answer (`absorb`,
/// `absorb_sync`), equals a fresh read of the store after every step: acknowledged, refused,
/// re-keyed and still pending mutations, pulled records with and without pending edits on
/// them, and a pulled deletion.
#[wasm_bindgen_test]
async fn the_ui_copy_follows_each_sync_without_reading_everything() {
    let db = fresh().await;
    let mut copy = db.snapshot().await.expect("snapshot");
    let step =
        |copy: &thidua_frontend::db::Snapshot, fresh: thidua_frontend::db::Snapshot, what: &str| {
            assert_eq!(copy.records, fresh.records, "{what}: records");
            assert_eq!(copy.outbox, fresh.outbox, "{what}: outbox");
            assert_eq!(copy.rejected, fresh.rejected, "{what}: rejected");
            assert_eq!(copy, &fresh, "{what}: indexes and meta");
        };
    let mut edits = Vec::new();
    for t in ["Một", "Hai", "Ba", "Bốn"] {
        let e = db
            .edit_all(vec![rename(t)], &mut |_, _| Ok(()))
            .await
            .expect("edit");
        copy.absorb(&e);
        edits.push(e.entries[0].id);
    }
    step(&copy, db.snapshot().await.expect("snapshot"), "edits");
    let other = demo::id(1001);
    let mut pulled = match demo::records().into_iter().find(|r| r.id() == CRITERION) {
        Some(Record::Criterion(c)) => c,
        _ => panic!("demo criterion"),
    };
    pulled.title = "Một".into();
    let res = SyncResponse {
        protocol: PROTOCOL,
        outcomes: vec![
            Outcome {
                mutation_id: edits[0],
                status: OutcomeStatus::Applied { seq: 200 },
            },
            Outcome {
                mutation_id: edits[1],
                status: OutcomeStatus::Rejected {
                    code: "forbidden".into(),
                    message: "no".into(),
                    message_vi: "không".into(),
                },
            },
            Outcome {
                mutation_id: edits[2],
                status: OutcomeStatus::Rejected {
                    code: "mutation_id_taken".into(),
                    message: "taken".into(),
                    message_vi: "trùng".into(),
                },
            },
        ],
        changes: vec![
            Change {
                seq: 200,
                record: Record::Criterion(pulled),
                clocks: Default::default(),
                deleted: false,
            },
            Change {
                seq: 201,
                record: demo::records()
                    .into_iter()
                    .find(|r| r.id() == other)
                    .expect("another criterion"),
                clocks: Default::default(),
                deleted: true,
            },
        ],
        cursor: 201,
        more: false,
        paper_key: None,
    };
    let synced = db.apply_sync(&res).await.expect("apply");
    copy.absorb_sync(&synced);
    let fresh_read = db.snapshot().await.expect("snapshot");
    // Two still pending on the criterion (the re-keyed third and the fourth), replayed
    // over the pulled base; the deleted one gone.
    assert_eq!(fresh_read.outbox.len(), 2);
    assert_eq!(fresh_read.rejected.len(), 1);
    assert_eq!(title(&fresh_read), "Bốn");
    assert!(!fresh_read.records.contains_key(&other));
    step(&copy, fresh_read, "sync");
}

/// A long queue is read in pages, oldest stamp first, never whole: the push takes the
/// batch it sends and the next batch starts where the acknowledged one ended.
#[wasm_bindgen_test]
async fn a_long_outbox_goes_out_in_stamp_order_in_bounded_pages() {
    let db = fresh().await;
    let ops: Vec<Op> = (0..450).map(|i| rename(&format!("Lần {i}"))).collect();
    let edited = db.edit_all(ops, &mut |_, _| Ok(())).await.expect("edits");
    let (_, first) = db.outgoing(200).await.expect("outgoing");
    assert_eq!(first.len(), 200);
    // The sync state alone reads no entry (IndexedDB would read a count of 0 as "all").
    assert!(db.outgoing(0).await.expect("state").1.is_empty());
    let ids: Vec<Uuid> = edited.entries.iter().map(|e| e.id).collect();
    assert_eq!(first.iter().map(|m| m.id).collect::<Vec<_>>(), ids[..200]);
    assert!(first.windows(2).all(|w| w[0].hlc < w[1].hlc));
    let res = SyncResponse {
        protocol: PROTOCOL,
        outcomes: first
            .iter()
            .enumerate()
            .map(|(i, m)| Outcome {
                mutation_id: m.id,
                status: OutcomeStatus::Applied {
                    seq: 300 + i as u64,
                },
            })
            .collect(),
        changes: vec![],
        cursor: 500,
        more: false,
        paper_key: None,
    };
    let synced = db.apply_sync(&res).await.expect("apply");
    assert_eq!(synced.gone.len(), 200);
    // The view still shows the last pending edit.
    assert_eq!(synced.records.len(), 0);
    let (_, second) = db.outgoing(200).await.expect("outgoing");
    assert_eq!(
        second.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[200..400]
    );
    let s = db.snapshot().await.expect("snapshot");
    assert_eq!(s.pending_count(), 250);
    assert_eq!(title(&s), "Lần 449");
}

/// The paths of a JSON value's leaves (strings, numbers), below the record's `type` and `id`.
fn leaves(
    v: &serde_json::Value,
    path: &mut Vec<serde_json::Value>,
    out: &mut Vec<Vec<serde_json::Value>>,
) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                if path.is_empty() && (k == "type" || k == "id") {
                    continue;
                }
                path.push(k.as_str().into());
                leaves(x, path, out);
                path.pop();
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(i.into());
                leaves(x, path, out);
                path.pop();
            }
        }
        serde_json::Value::String(_) | serde_json::Value::Number(_) => out.push(path.clone()),
        _ => {}
    }
}

fn at<'a>(v: &'a mut serde_json::Value, path: &[serde_json::Value]) -> &'a mut serde_json::Value {
    path.iter().fold(v, |v, k| match k {
        serde_json::Value::String(k) => &mut v[k.as_str()],
        k => &mut v[k.as_u64().unwrap_or(0) as usize],
    })
}

/// Every record kind, one field at a time at each boundary the wire allows (strings of the
/// longest text the server takes, with four-byte characters, and empty; integers at
/// JavaScript's largest safe value, at `u32::MAX` and at 0; ids at the largest and the nil
/// UUID; field stamps at the largest
/// stamp the server accepts), is stored from a pull and read back unchanged: no value the
/// server can send makes the app's database unreadable.
#[wasm_bindgen_test]
async fn every_boundary_the_server_accepts_reads_back_from_indexeddb() {
    use serde_json::json;
    let long: String = "Ệ🎉a"
        .chars()
        .cycle()
        .take(shared::limits::MAX_ANY_TEXT_CHARS)
        .collect();
    let candidates = [
        json!(long),
        json!(""),
        json!(shared::hlc::MAX_MS),
        json!(u32::MAX),
        json!(0),
        json!("99999.99"),
        json!(Uuid::max()),
        json!(Uuid::nil()),
    ];
    let mut records = shared::casebook::central_block_records();
    records.extend(demo::records());
    records.push(Record::Signature(shared::model::Signature {
        id: Uuid::from_u128(0x51),
        block_id: demo::BLOCK_ID,
        covenant_id: demo::id(1),
        unit: demo::id(3),
        signer: "Nguyễn Văn An".into(),
        signed_at_ms: 1_765_000_000_000,
    }));
    let mut kinds = std::collections::BTreeMap::new();
    for r in records {
        let v = serde_json::to_value(&r).expect("json");
        kinds
            .entry(v["type"].as_str().unwrap_or("").to_owned())
            .or_insert(v);
    }
    let node = Uuid::from_u128(0xB0);
    let top = shared::Hlc {
        ms: shared::hlc::MAX_MS,
        counter: u32::MAX,
        node,
    };
    let mut changes = Vec::new();
    for base in kinds.values() {
        let mut paths = Vec::new();
        leaves(base, &mut Vec::new(), &mut paths);
        for path in &paths {
            for c in &candidates {
                let mut v = base.clone();
                *at(&mut v, path) = c.clone();
                v["id"] = json!(ids::new_v7());
                if let Ok(record) = serde_json::from_value::<Record>(v) {
                    let field = path[0].as_str().unwrap_or("id").to_owned();
                    changes.push(Change {
                        seq: changes.len() as u64 + 1,
                        record,
                        clocks: [(field, top)].into_iter().collect(),
                        deleted: false,
                    });
                }
            }
        }
    }
    assert_eq!(kinds.len(), 10, "every record kind: {:?}", kinds.keys());
    let covered: std::collections::BTreeSet<String> = changes
        .iter()
        .filter_map(|c| {
            serde_json::to_value(&c.record).ok()?["type"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        covered.len(),
        kinds.len(),
        "every kind at a boundary: {covered:?}"
    );
    assert!(changes.len() >= 60, "{} variants", changes.len());
    let db = fresh().await;
    for page in changes.chunks(500) {
        let res = SyncResponse {
            protocol: PROTOCOL,
            outcomes: vec![],
            cursor: 1_000 + page.last().map_or(0, |c| c.seq),
            changes: page.to_vec(),
            more: false,
            paper_key: None,
        };
        db.apply_sync(&res).await.expect("stored");
    }
    let s = db.snapshot().await.expect("read back");
    for c in &changes {
        assert_eq!(
            s.records.get(&c.record.id()),
            Some(&c.record),
            "{:?}",
            c.record
        );
    }
    let meta = s.meta.expect("meta");
    assert_eq!(
        meta.hlc.ms,
        shared::hlc::MAX_MS,
        "the clock took the largest stamp"
    );
    // And the device still edits afterwards.
    db.edit(rename("Sau giá trị biên")).await.expect("edit");
}
