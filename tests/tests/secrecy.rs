//! The secret ballot stays secret, on SQLite and on PostgreSQL: five delegates vote, and
//! nothing a client can pull, nothing in the audit log and no row of any table in the
//! database ties a voter (unit, account or device) to what they chose.
//!
//! The papers live in one box per ballot, sorted: the test casts them in an order that is
//! not the sorted one and checks the box does not keep it, and that no other table holds a
//! paper at all. (PostgreSQL's per-row transaction id, `xmin`, would tie a paper row to the
//! receipt written in the same transaction: one box per ballot leaves no such row.)

use shared::access::Principal;
use shared::ballot::BallotPaper;
use shared::mutation::{Mutation, Op};
use shared::protocol::OutcomeStatus;
use shared::{Record, demo};
use thidua_server::{PgStore, Store};
use thidua_tests::PgInstance;
use thidua_tests::script::{self, m, unit};
use uuid::Uuid;

const B1: Uuid = Uuid::from_u128(0xB1);
const B2: Uuid = Uuid::from_u128(0xB2);

/// What each of units 1–5 casts, in this order (not the papers' sorted order).
fn papers() -> Vec<BallotPaper> {
    let choose = |o: Uuid| BallotPaper::Choices {
        options: [o].into(),
    };
    vec![
        choose(B2),
        choose(B1),
        BallotPaper::Spoiled,
        choose(B2),
        BallotPaper::Abstain,
    ]
}

/// Whether a text holds a paper (its tag, as the wire writes it), also inside a quoted or
/// escaped string (PostgreSQL's row text doubles quotes).
fn holds_paper(text: &str) -> bool {
    let squeezed: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\\')
        .collect::<String>()
        .replace("\"\"", "\"");
    ["\"choices\"", "\"abstain\"", "\"spoiled\""]
        .iter()
        .any(|tag| squeezed.contains(&format!("\"type\":{tag}")))
}

/// Runs the ballot; returns the ids that identify the voters.
async fn vote<S: Store>(store: &S, ballot: Uuid) -> Vec<String> {
    let device = |n: u16| Uuid::from_u128(0xD000 + u128::from(n));
    let sec = script::secretary();
    let opened = store
        .push(
            &sec,
            device(0),
            &[m(device(0), 1_000, script::ballot(ballot))],
        )
        .await
        .expect("ballot");
    assert!(matches!(opened[0].status, OutcomeStatus::Applied { .. }));
    let mut identities = Vec::new();
    for (n, paper) in (1..=5u16).zip(papers()) {
        let delegate: Principal = script::delegate(n);
        let cast: Mutation = m(
            device(n),
            2_000 + u64::from(n),
            Op::CastVote {
                ballot_id: ballot,
                paper,
            },
        );
        let out = store
            .push(&delegate, device(n), &[cast])
            .await
            .expect("vote");
        assert!(
            matches!(out[0].status, OutcomeStatus::Applied { .. }),
            "{:?}",
            out[0]
        );
        identities.extend([
            unit(n).to_string(),
            delegate.account_id.to_string(),
            device(n).to_string(),
        ]);
    }
    identities
}

/// Everything a client can see and the audit log holds: no paper anywhere.
async fn nothing_visible<S: Store>(store: &S, ballot: Uuid) {
    let page = store.pull(None, 0, 100_000).await.expect("pull");
    assert!(page.count > 10);
    assert!(
        !holds_paper(page.changes.get()),
        "a pulled record holds a paper"
    );
    match store.record(ballot).await.expect("ballot").0 {
        Record::Ballot(b) => assert_eq!(b.voted.len(), 5, "the receipts, and only them"),
        other => panic!("{other:?}"),
    }
    let audit = store
        .audit(demo::BLOCK_ID, 0, 1_000_000)
        .await
        .expect("audit");
    let votes: Vec<_> = audit.iter().filter(|a| a.op == "cast_vote").collect();
    assert_eq!(votes.len(), 5, "each vote is audited (that it was cast)");
    for row in votes {
        let text = serde_json::to_string(row).expect("json");
        assert!(!holds_paper(&text), "an audit row holds a paper: {text}");
        for option in [B1, B2] {
            assert!(
                !text.contains(&option.to_string()),
                "an audit row names a choice: {text}"
            );
        }
    }
}

/// The stored papers: all five, in sorted order rather than the order cast.
async fn box_is_sorted<S: Store>(store: &S, ballot: Uuid) {
    let stored = store.papers(ballot).await.expect("papers");
    // Sorted by the canonical JSON text (object keys in order), whoever cast first.
    let mut want = papers();
    want.sort_by_key(|p| serde_json::to_value(p).expect("json").to_string());
    assert_eq!(stored, want);
    assert_ne!(stored, papers(), "the casting order is not kept");
}

/// Every row of every table, as text: only one row holds papers (the ballot's box) and it
/// names no voter.
fn check_rows(rows: &[(String, String)], identities: &[String]) {
    assert!(rows.len() > 50, "a real dump: {} rows", rows.len());
    let with_papers: Vec<&(String, String)> = rows.iter().filter(|(_, r)| holds_paper(r)).collect();
    assert_eq!(
        with_papers.len(),
        1,
        "one ballot box and no other paper: {with_papers:?}"
    );
    let (table, row) = with_papers[0];
    assert_eq!(table, "ballot_boxes");
    for id in identities {
        assert!(!row.contains(id.as_str()), "the box names voter {id}");
    }
    let receipts = rows.iter().filter(|(t, _)| t == "receipts").count();
    assert_eq!(receipts, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ballot_is_secret_on_sqlite() {
    use sqlx::Connection;
    let (dir, store) = thidua_tests::demo_sqlite().await;
    let ballot = Uuid::now_v7();
    let identities = vote(&store, ballot).await;
    nothing_visible(&store, ballot).await;
    box_is_sorted(&store, ballot).await;

    let url = format!("sqlite://{}/t.db", dir.path().display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.expect("db");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&mut db)
    .await
    .expect("tables");
    let mut rows = Vec::new();
    for table in tables {
        let cols: Vec<String> =
            sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .fetch_all(&mut db)
                .await
                .expect("columns");
        let row = cols
            .iter()
            .map(|c| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || ',' || ");
        let texts: Vec<String> = sqlx::query_scalar(&format!("SELECT {row} FROM \"{table}\""))
            .fetch_all(&mut db)
            .await
            .expect("rows");
        rows.extend(texts.into_iter().map(|r| (table.clone(), r)));
    }
    check_rows(&rows, &identities);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ballot_is_secret_on_postgres() {
    use sqlx::Connection;
    let pg = PgInstance::start();
    let store = PgStore::connect(&pg.url()).await.expect("postgres");
    store.seed_if_empty(&demo::records()).await.expect("seed");
    let ballot = Uuid::now_v7();
    let identities = vote(&store, ballot).await;
    nothing_visible(&store, ballot).await;
    box_is_sorted(&store, ballot).await;

    let mut db = sqlx::PgConnection::connect(&pg.url()).await.expect("db");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_all(&mut db)
    .await
    .expect("tables");
    let mut rows = Vec::new();
    for table in tables {
        // The row as text, with its transaction id.
        let texts: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT t.xmin::text || ' ' || t::text FROM \"{table}\" t"
        ))
        .fetch_all(&mut db)
        .await
        .expect("rows");
        rows.extend(texts.into_iter().map(|r| (table.clone(), r)));
    }
    check_rows(&rows, &identities);
}

/// Runs the migration files up to `upto` (inclusive) of `backend` as plain SQL.
fn migration_sql(backend: &str, upto: u32) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../server/migrations")
        .join(backend);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("migrations")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name[..4].parse::<u32>().is_ok_and(|n| n <= upto)
        })
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("sql"))
        .collect()
}

/// Papers of two ballots as the per-paper table held them before the upgrade.
const OLD_VOTES: [(&str, &str); 3] = [
    ("b1", r#"{"type":"spoiled"}"#),
    (
        "b1",
        r#"{"type":"choices","options":["00000000-0000-0000-0000-0000000000b1"]}"#,
    ),
    ("b2", r#"{"type":"abstain"}"#),
];

fn boxes_after_upgrade(rows: Vec<(String, String)>) {
    let mut rows = rows;
    rows.sort();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let b1: Vec<BallotPaper> = serde_json::from_str(&rows[0].1).expect("a box");
    assert_eq!(
        b1,
        vec![
            BallotPaper::Choices {
                options: [B1].into()
            },
            BallotPaper::Spoiled
        ],
        "both papers, sorted"
    );
    let b2: Vec<BallotPaper> = serde_json::from_str(&rows[1].1).expect("a box");
    assert_eq!(b2, vec![BallotPaper::Abstain]);
}

/// On an open connection to `backend`: the schema before 0004, the old votes, the upgrade;
/// then the boxes it left.
macro_rules! upgrade {
    ($db:expr, $backend:literal, $insert:literal) => {{
        let db = $db;
        for sql in migration_sql($backend, 3) {
            sqlx::raw_sql(&sql)
                .execute(&mut *db)
                .await
                .expect("old schema");
        }
        for (i, (ballot, paper)) in OLD_VOTES.iter().enumerate() {
            sqlx::query($insert)
                .bind(format!("v{i}"))
                .bind(ballot)
                .bind(paper)
                .execute(&mut *db)
                .await
                .expect("old vote");
        }
        let upgrade = migration_sql($backend, 4).pop().expect("0004");
        sqlx::raw_sql(&upgrade)
            .execute(&mut *db)
            .await
            .expect("upgrade");
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT ballot_id, papers FROM ballot_boxes")
                .fetch_all(&mut *db)
                .await
                .expect("boxes");
        rows
    }};
}

#[tokio::test]
async fn the_upgrade_moves_each_ballots_papers_into_one_box() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/old.db?mode=rwc", dir.path().display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.expect("db");
    boxes_after_upgrade(upgrade!(
        &mut db,
        "sqlite",
        "INSERT INTO votes (id, ballot_id, paper) VALUES (?1, ?2, ?3)"
    ));

    let pg = PgInstance::start();
    let mut db = sqlx::PgConnection::connect(&pg.url()).await.expect("db");
    boxes_after_upgrade(upgrade!(
        &mut db,
        "postgres",
        "INSERT INTO votes (id, ballot_id, paper) VALUES ($1, $2, $3)"
    ));
}
