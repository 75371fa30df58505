//! The same storage story on SQLite and on PostgreSQL: seeding, paging, idempotent pushes,
//! last-writer-wins, all-or-nothing batches and concurrent retries.

use shared::demo;
use shared::mutation::{Mutation, Op};
use shared::protocol::OutcomeStatus;
use shared::{Hlc, Record};
use thidua_server::store::PushError;
use thidua_server::{PgStore, SqliteStore, Store};
use thidua_tests::PgInstance;
use uuid::Uuid;

const CRITERION: Uuid = demo::id(1001);

fn rename(id: u128, device: u128, ms: u64, title: &str) -> Mutation {
    Mutation {
        id: Uuid::from_u128(id),
        hlc: Hlc {
            ms,
            counter: 0,
            node: Uuid::from_u128(device),
        },
        op: Op::SetCriterionTitle {
            criterion_id: CRITERION,
            title: title.into(),
        },
    }
}

async fn title<S: Store>(store: &S) -> (String, u64) {
    match store.record(CRITERION).await.expect("record") {
        (Record::Criterion(c), seq) => (c.title, seq),
        other => panic!("not a criterion: {other:?}"),
    }
}

async fn story<S: Store>(store: S) {
    let demo = demo::records();
    assert!(store.seed_if_empty(&demo).await.expect("seed"));
    assert!(
        !store.seed_if_empty(&demo).await.expect("seed again"),
        "seeds once"
    );

    // Paging through everything.
    let (mut cursor, mut seen) = (0, 0);
    loop {
        let page = store.pull(cursor, 7).await.expect("pull");
        assert!(page.changes.len() <= 7);
        assert!(page.changes.windows(2).all(|w| w[0].seq < w[1].seq));
        seen += page.changes.len();
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    assert_eq!(seen, demo.len());

    // Applied once; a retry is a duplicate and changes nothing.
    let a = rename(1, 0xA, 1_000, "Tiêu chí do thiết bị A sửa");
    let out = store
        .push(Uuid::from_u128(0xA), std::slice::from_ref(&a))
        .await
        .expect("push");
    let OutcomeStatus::Applied { seq } = out[0].status else {
        panic!("expected applied: {out:?}")
    };
    assert!(seq > cursor);
    assert_eq!(
        title(&store).await,
        ("Tiêu chí do thiết bị A sửa".into(), seq)
    );
    let again = store
        .push(Uuid::from_u128(0xA), std::slice::from_ref(&a))
        .await
        .expect("retry");
    assert_eq!(again[0].status, OutcomeStatus::Duplicate);
    assert_eq!(title(&store).await.1, seq);

    // A pull from the old cursor returns just the changed record.
    let page = store.pull(cursor, 100).await.expect("pull");
    assert_eq!(page.changes.len(), 1);
    assert_eq!(page.changes[0].record.id(), CRITERION);

    // An older stamp is acknowledged but does not overwrite; a newer one does.
    let older = rename(2, 0xB, 500, "Cũ hơn");
    store
        .push(Uuid::from_u128(0xB), &[older])
        .await
        .expect("older");
    assert_eq!(title(&store).await.0, "Tiêu chí do thiết bị A sửa");
    let newer = rename(3, 0xC, 2_000, "Mới nhất");
    store
        .push(Uuid::from_u128(0xC), &[newer])
        .await
        .expect("newer");
    let (t, before_seq) = title(&store).await;
    assert_eq!(t, "Mới nhất");

    // A batch with one bad mutation writes nothing at all.
    let good = rename(4, 0xD, 3_000, "Không được ghi");
    let mut ghost = rename(5, 0xD, 3_001, "Ma");
    ghost.op = Op::SetCriterionTitle {
        criterion_id: Uuid::from_u128(0xdead),
        title: "Ma".into(),
    };
    match store
        .push(Uuid::from_u128(0xD), &[good.clone(), ghost])
        .await
    {
        Err(PushError::Rejected(r)) => {
            assert_eq!(r.len(), 1);
            assert_eq!(r[0].mutation_id, Uuid::from_u128(5));
            assert_eq!(r[0].code, "unknown_entity");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(title(&store).await, ("Mới nhất".into(), before_seq));
    // The good one was not marked as seen: pushed alone it applies.
    let out = store
        .push(Uuid::from_u128(0xD), &[good])
        .await
        .expect("good alone");
    assert!(matches!(out[0].status, OutcomeStatus::Applied { .. }));

    // The same mutation retried on many connections at once is applied exactly once.
    let m = rename(6, 0xE, 4_000, "Gửi lại nhiều lần");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (s, m) = (store.clone(), m.clone());
        tasks.push(tokio::spawn(async move {
            s.push(Uuid::from_u128(0xE), &[m]).await
        }));
    }
    let mut applied = 0;
    for t in tasks {
        match t.await.expect("join").expect("push")[0].status {
            OutcomeStatus::Applied { .. } => applied += 1,
            OutcomeStatus::Duplicate => {}
        }
    }
    assert_eq!(applied, 1);
    assert_eq!(title(&store).await.0, "Gửi lại nhiều lần");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn story_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/nested/thidua.db", dir.path().display());
    story(SqliteStore::connect(&url).await.expect("sqlite")).await;
    // The file survives a reopen with its data.
    let reopened = SqliteStore::connect(&url).await.expect("reopen");
    assert_eq!(title(&reopened).await.0, "Gửi lại nhiều lần");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn story_on_postgres() {
    let pg = PgInstance::start();
    story(PgStore::connect(&pg.url()).await.expect("postgres")).await;
    let reopened = PgStore::connect(&pg.url()).await.expect("reconnect");
    assert_eq!(title(&reopened).await.0, "Gửi lại nhiều lần");
}
