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
    assert_eq!(s.outbox.len(), 1);
    assert_eq!(s.outbox[0].status, OutboxStatus::Rejected);
    assert_eq!(
        s.outbox[0]
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
    assert!(db.snapshot().await.expect("snapshot").outbox.is_empty());
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
