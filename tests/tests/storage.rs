//! The same storage story on SQLite and on PostgreSQL, through the store's push and pull as
//! the server runs them: seeding, filtered paging, idempotent pushes, last-writer-wins,
//! rights, a covenant agreed, a round scored, locked and corrected, and a secret ballot with
//! concurrent double votes.

use shared::access::Role;
use shared::ballot::BallotPaper;
use shared::mutation::{Mutation, Op};
use shared::protocol::{Outcome, OutcomeStatus};
use shared::round::{Assignment, Stage};
use shared::sheet::CellValue;
use shared::{Points, Record, demo};
use thidua_server::{PgStore, SqliteStore, Store};
use thidua_tests::PgInstance;
use thidua_tests::script::{self, BLOCK, m, unit};
use uuid::Uuid;

const CRITERION: Uuid = demo::id(1001);

async fn title<S: Store>(store: &S) -> (String, u64) {
    match store.record(CRITERION).await.expect("record") {
        (Record::Criterion(c), seq) => (c.title, seq),
        other => panic!("not a criterion: {other:?}"),
    }
}

fn code(o: &Outcome) -> &str {
    match &o.status {
        OutcomeStatus::Rejected { code, .. } => code,
        OutcomeStatus::Applied { .. } => "applied",
        OutcomeStatus::Duplicate => "duplicate",
    }
}

fn rename(device: Uuid, ms: u64, title: &str) -> Mutation {
    m(
        device,
        ms,
        Op::set(CRITERION, "title", serde_json::json!(title)),
    )
}

async fn story<S: Store>(store: S) {
    let demo = demo::records();
    assert!(store.seed_if_empty(&demo).await.expect("seed"));
    assert!(
        !store.seed_if_empty(&demo).await.expect("again"),
        "seeds once"
    );
    let sec = script::secretary();
    let dev = Uuid::from_u128(0xA);

    // Paging through everything as an admin; an account of another block sees units only.
    let (mut cursor, mut seen) = (0, 0);
    loop {
        let page = store.pull(None, cursor, 7).await.expect("pull");
        let changes = page.decode().expect("decode");
        assert_eq!(changes.len(), page.count);
        assert!(changes.len() <= 7);
        assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq));
        assert!(changes.iter().all(|c| c.seq <= page.cursor));
        seen += changes.len();
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    assert_eq!(seen, demo.len());
    let other = [Uuid::from_u128(0xB10C)];
    let page = store.pull(Some(&other), 0, 1000).await.expect("pull");
    let changes = page.decode().expect("decode");
    assert!(changes.iter().all(|c| c.record.scope().is_none()));
    assert_eq!(changes.len(), 9, "the nine units");
    assert_eq!(page.cursor, cursor, "a filtered pull still reaches the end");
    // The same in pages of four: 4 + 4 + 1 units, then the end.
    let (mut at, mut units) = (0, 0);
    loop {
        let page = store.pull(Some(&other), at, 4).await.expect("pull");
        units += page.decode().expect("decode").len();
        at = page.cursor;
        if !page.more {
            break;
        }
    }
    assert_eq!((units, at), (9, cursor));

    // Applied once; a retry is a duplicate; an older stamp does not overwrite.
    let a = rename(dev, 1_000, "Tiêu chí do thư ký sửa");
    let out = store
        .push(&sec, dev, std::slice::from_ref(&a))
        .await
        .expect("push");
    let OutcomeStatus::Applied { seq } = out[0].status else {
        panic!("expected applied: {out:?}")
    };
    assert_eq!(title(&store).await, ("Tiêu chí do thư ký sửa".into(), seq));
    let again = store
        .push(&sec, dev, std::slice::from_ref(&a))
        .await
        .expect("retry");
    assert_eq!(again[0].status, OutcomeStatus::Duplicate);
    store
        .push(&sec, dev, &[rename(dev, 500, "Cũ hơn")])
        .await
        .expect("older");
    assert_eq!(title(&store).await.0, "Tiêu chí do thư ký sửa");
    let page = store.pull(None, cursor, 100).await.expect("pull");
    let changes = page.decode().expect("decode");
    assert!(changes.iter().any(|c| c.record.id() == CRITERION));

    // Rights and unknown ids: each refused alone, the rest of the batch applies.
    let d1 = script::delegate(1);
    let out = store
        .push(
            &d1,
            dev,
            &[
                rename(dev, 2_000, "Đại biểu không được sửa"),
                m(
                    dev,
                    2_001,
                    Op::set(Uuid::from_u128(0xdead), "title", "x".into()),
                ),
            ],
        )
        .await
        .expect("push");
    assert_eq!(code(&out[0]), "forbidden");
    assert_eq!(code(&out[1]), "unknown_entity");
    let out = store
        .push(
            &sec,
            dev,
            &[
                m(
                    dev,
                    2_002,
                    Op::set(Uuid::from_u128(0xdead), "title", "x".into()),
                ),
                rename(dev, 2_003, "Mới nhất"),
            ],
        )
        .await
        .expect("push");
    assert_eq!(code(&out[0]), "unknown_entity");
    assert_eq!(code(&out[1]), "applied");
    assert_eq!(title(&store).await.0, "Mới nhất");

    // The covenant is agreed; a round opens; delegates score.
    let round = Uuid::now_v7();
    let out = store
        .push(
            &sec,
            dev,
            &[
                m(dev, 3_000, script::covenant_status("agreed")),
                m(
                    dev,
                    3_001,
                    script::round(round, Stage::SelfScoring, Assignment::AllScoreAll),
                ),
                // Agreed: the covenant can no longer be edited.
                rename(dev, 3_002, "Quá muộn"),
            ],
        )
        .await
        .expect("push");
    assert_eq!(code(&out[0]), "applied", "{out:?}");
    assert_eq!(code(&out[1]), "applied", "{out:?}");
    assert_eq!(code(&out[2]), "covenant_not_editable");
    let (leaf, max) = script::standard_leaves()[0];
    let sheet = Uuid::now_v7();
    let (cell, bad) = (Uuid::now_v7(), Uuid::now_v7());
    let d2 = script::delegate(2);
    let out = store
        .push(
            &d1,
            dev,
            &[
                m(dev, 4_000, script::sheet(sheet, round, unit(1), unit(1))),
                m(
                    dev,
                    4_001,
                    script::cell(cell, sheet, leaf, CellValue::Points(Points::whole(max))),
                ),
                m(
                    dev,
                    4_002,
                    script::cell(bad, sheet, leaf, CellValue::Points(Points::whole(max + 1))),
                ),
                // A self round: unit 1 may not score unit 2.
                m(
                    dev,
                    4_003,
                    script::sheet(Uuid::now_v7(), round, unit(1), unit(2)),
                ),
            ],
        )
        .await
        .expect("push");
    let codes: Vec<&str> = out.iter().map(code).collect();
    assert_eq!(
        codes,
        ["applied", "applied", "points_out_of_range", "wrong_scorer"]
    );
    let out = store
        .push(
            &d2,
            dev,
            &[m(
                dev,
                4_100,
                Op::set(cell, "value", serde_json::json!({"points": "0"})),
            )],
        )
        .await
        .expect("push");
    assert_eq!(code(&out[0]), "forbidden", "someone else's sheet");

    // The same mutation retried on many connections at once is applied exactly once.
    let fix = m(
        dev,
        4_200,
        Op::set(cell, "note", "Có minh chứng số 12".into()),
    );
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (s, p, fix) = (store.clone(), d1.clone(), fix.clone());
        tasks.push(tokio::spawn(async move { s.push(&p, dev, &[fix]).await }));
    }
    let mut applied = 0;
    for t in tasks {
        match t.await.expect("join").expect("push")[0].status {
            OutcomeStatus::Applied { .. } => applied += 1,
            OutcomeStatus::Duplicate => {}
            ref other => panic!("{other:?}"),
        }
    }
    assert_eq!(applied, 1);

    // Lock: late writes refused; a correction needs the secretary and a reason.
    let out = store
        .push(
            &sec,
            dev,
            &[m(dev, 5_000, Op::set(round, "state", "locked".into()))],
        )
        .await
        .expect("lock");
    assert_eq!(code(&out[0]), "applied");
    let late = m(dev, 5_001, Op::set(cell, "note", "muộn".into()));
    assert_eq!(
        code(&store.push(&d1, dev, &[late]).await.expect("late")[0]),
        "round_locked"
    );
    let correct = |reason: &str, ms| {
        m(
            dev,
            ms,
            Op::Correct {
                cell_id: cell,
                value: CellValue::Points(Points::whole(max - 1)),
                reason: reason.into(),
            },
        )
    };
    assert_eq!(
        code(
            &store
                .push(&d1, dev, &[correct("x", 5_002)])
                .await
                .expect("c")[0]
        ),
        "forbidden"
    );
    assert_eq!(
        code(
            &store
                .push(&sec, dev, &[correct("  ", 5_003)])
                .await
                .expect("c")[0]
        ),
        "correction_needs_reason"
    );
    let reason = "Biên bản thẩm định số 7: thiếu minh chứng";
    assert_eq!(
        code(
            &store
                .push(&sec, dev, &[correct(reason, 5_004)])
                .await
                .expect("c")[0]
        ),
        "applied"
    );
    match store.record(cell).await.expect("cell").0 {
        Record::ScoreCell(c) => assert_eq!(c.value, CellValue::Points(Points::whole(max - 1))),
        other => panic!("{other:?}"),
    }
    let audit = store.audit(BLOCK, 0, 10_000).await.expect("audit");
    assert!(
        audit
            .iter()
            .any(|a| a.op == "correct" && a.reason.as_deref() == Some(reason))
    );

    // A secret ballot: votes counted once, concurrent double votes refused, papers apart.
    let ballot = Uuid::now_v7();
    assert_eq!(
        code(
            &store
                .push(&sec, dev, &[m(dev, 6_000, script::ballot(ballot))])
                .await
                .expect("b")[0]
        ),
        "applied"
    );
    let vote = |ms, option: u128| {
        m(
            dev,
            ms,
            Op::CastVote {
                ballot_id: ballot,
                paper: BallotPaper::Choices {
                    options: [Uuid::from_u128(option)].into(),
                },
            },
        )
    };
    assert_eq!(
        code(&store.push(&d1, dev, &[vote(6_001, 0xB1)]).await.expect("v")[0]),
        "applied"
    );
    assert_eq!(
        code(&store.push(&d1, dev, &[vote(6_002, 0xB2)]).await.expect("v")[0]),
        "already_voted"
    );
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (s, p, v) = (store.clone(), d2.clone(), vote(6_010 + i, 0xB1));
        tasks.push(tokio::spawn(async move { s.push(&p, dev, &[v]).await }));
    }
    let mut applied = 0;
    for t in tasks {
        let out = t.await.expect("join").expect("push");
        match code(&out[0]) {
            "applied" => applied += 1,
            "already_voted" => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(applied, 1, "one vote per delegate whatever the race");
    let observer = script::principal(Some(Role::Observer), None, false);
    assert_eq!(
        code(
            &store
                .push(&observer, dev, &[vote(6_100, 0xB1)])
                .await
                .expect("v")[0]
        ),
        "forbidden"
    );
    match store.record(ballot).await.expect("ballot").0 {
        Record::Ballot(b) => {
            assert_eq!(b.voted, vec![unit(1), unit(2)]);
            assert!(b.result.is_none(), "no result before closing");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.papers(ballot).await.expect("papers").len(), 2);
    let close = m(dev, 6_200, Op::set(ballot, "state", "closed".into()));
    assert_eq!(
        code(&store.push(&sec, dev, &[close]).await.expect("close")[0]),
        "applied"
    );
    match store.record(ballot).await.expect("ballot").0 {
        Record::Ballot(b) => {
            let r = b.result.expect("counted at closing");
            // Two papers: the count would show how both units voted, so only the number
            // cast is kept and the ballot decides nothing (`ballot::MIN_SECRET_PAPERS`).
            assert!(r.withheld);
            assert_eq!((r.cast, r.valid, r.results.len()), (2, 0, 0));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        code(&store.push(&d2, dev, &[vote(6_300, 0xB1)]).await.expect("v")[0]),
        "ballot_not_open"
    );
    // The audit log knows who voted, never what.
    let audit = store.audit(BLOCK, 0, 10_000).await.expect("audit");
    let votes: Vec<_> = audit.iter().filter(|a| a.op == "cast_vote").collect();
    assert_eq!(votes.len(), 2);
    assert!(votes.iter().all(|a| !a.new_value.contains("0000000000b1") && !a.old_value.contains("0000000000b1")));

    // Usernames are found as people type them, in any case; an exact match wins over
    // an account that differs only by case.
    let lower =
        thidua_server::cli::create_account(&store, "daibieu", "A", "mật-khẩu-đủ-dài", false)
            .await
            .expect("account");
    let upper =
        thidua_server::cli::create_account(&store, "DaiBieu", "B", "mật-khẩu-đủ-dài", false)
            .await
            .expect("account");
    let found = |name: &'static str| {
        let store = store.clone();
        async move {
            store
                .account_by_username(name)
                .await
                .expect("lookup")
                .map(|a| a.id)
        }
    };
    assert_eq!(
        found("DAIBIEU").await.map(|id| id == lower || id == upper),
        Some(true)
    );
    assert_eq!(found("daibieu").await, Some(lower));
    assert_eq!(found("DaiBieu").await, Some(upper));
    assert_eq!(found("khongco").await, None);

    // One delegate per unit: a join writes the audit, a second join for the unit is refused
    // (the code stays unused), the issuer's device cannot join, and revoking the device
    // frees the seat; page sessions die with their token. The same SQL on both backends.
    use thidua_server::store::{AccountRow, JoinCodeRow, Redeemed};
    let now = 2_000_000_000_000_i64;
    let seat_unit = unit(5);
    let issuer = lower;
    let (_, issuer_token) = thidua_server::auth::new_token().expect("token");
    store
        .insert_token(
            &issuer_token,
            issuer,
            Uuid::from_u128(0x15),
            "thư ký",
            i64::MAX / 2,
        )
        .await
        .expect("token");
    let grant = shared::access::Grant {
        block_id: BLOCK,
        role: Role::Delegate,
        unit: Some(seat_unit),
    };
    for c in ["code-a", "code-b"] {
        store
            .insert_join_code(
                c,
                &JoinCodeRow {
                    grant,
                    created_by: issuer,
                    expires_ms: i64::MAX / 2,
                },
            )
            .await
            .expect("code");
    }
    let joiner = |n: u128| AccountRow {
        id: Uuid::from_u128(0x7000 + n),
        username: format!("joined-{n}"),
        name: "Đại biểu".into(),
        password_hash: None,
        admin: false,
    };
    let redeem = |code: &'static str, n: u128, device: u128| {
        let store = store.clone();
        let account = joiner(n);
        async move {
            store
                .redeem_join_code(
                    code,
                    now,
                    &account,
                    &format!("tok-{n}"),
                    Uuid::from_u128(device),
                    "máy",
                    i64::MAX / 2,
                )
                .await
                .expect("redeem")
        }
    };
    assert!(!store.seat_taken(BLOCK, seat_unit, now).await.expect("seat"));
    assert_eq!(redeem("code-a", 1, 0x15).await, Redeemed::IssuersDevice);
    assert_eq!(redeem("code-a", 1, 0x16).await, Redeemed::Joined(grant));
    assert!(store.seat_taken(BLOCK, seat_unit, now).await.expect("seat"));
    assert_eq!(redeem("code-b", 2, 0x17).await, Redeemed::SeatTaken);
    assert_eq!(
        redeem("code-a", 3, 0x18).await,
        Redeemed::Invalid,
        "used once"
    );
    store
        .insert_page_session("page-1", "tok-1", i64::MAX / 2)
        .await
        .expect("page");
    assert_eq!(
        store.page_session("page-1").await.expect("page"),
        Some(("tok-1".to_owned(), i64::MAX / 2))
    );
    assert_eq!(
        store
            .revoke_device(Uuid::from_u128(0x16), issuer, now)
            .await
            .expect("revoke"),
        1
    );
    assert_eq!(store.page_session("page-1").await.expect("page"), None);
    assert!(!store.seat_taken(BLOCK, seat_unit, now).await.expect("seat"));
    assert_eq!(redeem("code-b", 2, 0x17).await, Redeemed::Joined(grant));
    let audit = store.audit(BLOCK, 0, 10_000).await.expect("audit");
    let acts: Vec<(&str, &str)> = audit
        .iter()
        .filter(|a| a.op == "join" || a.op == "revoke_device")
        .map(|a| (a.op.as_str(), a.device_id.as_str()))
        .collect();
    let (d16, d17) = (
        Uuid::from_u128(0x16).to_string(),
        Uuid::from_u128(0x17).to_string(),
    );
    assert_eq!(
        acts,
        [
            ("join", d16.as_str()),
            ("revoke_device", d16.as_str()),
            ("join", d17.as_str())
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn story_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/nested/thidua.db", dir.path().display());
    story(SqliteStore::connect(&url).await.expect("sqlite")).await;
    let reopened = SqliteStore::connect(&url).await.expect("reopen");
    assert_eq!(title(&reopened).await.0, "Mới nhất");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn story_on_postgres() {
    let pg = PgInstance::start();
    story(PgStore::connect(&pg.url()).await.expect("postgres")).await;
    let reopened = PgStore::connect(&pg.url()).await.expect("reconnect");
    assert_eq!(title(&reopened).await.0, "Mới nhất");
}

/// Seeds the demo block, agrees its covenant and opens a self-scoring round; returns the
/// secretary, their device and the round.
async fn open_round<S: Store>(a: &S) -> (shared::access::Principal, Uuid, Uuid) {
    assert!(a.seed_if_empty(&demo::records()).await.expect("seed"));
    let (sec, dev) = (script::secretary(), Uuid::now_v7());
    let round = Uuid::now_v7();
    let out = a
        .push(
            &sec,
            dev,
            &[
                m(dev, 1_000, script::covenant_status("agreed")),
                m(
                    dev,
                    1_001,
                    script::round(round, Stage::SelfScoring, Assignment::AllScoreAll),
                ),
            ],
        )
        .await
        .expect("round");
    assert!(out.iter().all(|o| code(o) == "applied"), "{out:?}");
    (sec, dev, round)
}

/// Two servers on one database (or a server and the CLI): each keeps decoded block contexts
/// between pushes, and neither may check a push against a context the other has changed.
async fn two_writers<S: Store>(a: S, b: S) {
    let (_, dev, round) = open_round(&a).await;
    let sheet = |n: u16, ms| {
        m(
            dev,
            ms,
            script::sheet(Uuid::now_v7(), round, unit(n), unit(n)),
        )
    };
    let (d1, d2) = (script::delegate(1), script::delegate(2));
    // b learns the block as it stands after unit 1's sheet.
    let out = b.push(&d1, dev, &[sheet(1, 2_000)]).await.expect("b");
    assert_eq!(code(&out[0]), "applied");
    // a adds unit 2's sheet; b's copy of the block is now behind.
    let out = a.push(&d2, dev, &[sheet(2, 2_001)]).await.expect("a");
    assert_eq!(code(&out[0]), "applied");
    let out = b.push(&d2, dev, &[sheet(2, 2_002)]).await.expect("b again");
    assert_eq!(
        code(&out[0]),
        "duplicate_sheet",
        "b must see the sheet a wrote"
    );
    // Many pushes at once through one store (grouped into shared commits on SQLite): each
    // outcome stands alone and every applied one is there afterwards.
    let mut tasks = Vec::new();
    for n in 3..=9 {
        let (s, p) = (b.clone(), script::delegate(n));
        let muts = vec![sheet(n, 3_000), sheet(n, 3_001)];
        tasks.push(tokio::spawn(async move { s.push(&p, dev, &muts).await }));
    }
    for t in tasks {
        let out = t.await.expect("join").expect("push");
        let codes: Vec<&str> = out.iter().map(code).collect();
        assert_eq!(codes, ["applied", "duplicate_sheet"]);
    }
    let page = a.pull(None, 0, 1_000).await.expect("pull");
    let sheets = page
        .decode()
        .expect("decode")
        .iter()
        .filter(|c| matches!(c.record, Record::ScoreSheet(ref s) if s.round_id == round))
        .count();
    assert_eq!(sheets, 9, "one sheet per unit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_writers_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/thidua.db", dir.path().display());
    let a = SqliteStore::connect(&url).await.expect("a");
    let b = SqliteStore::connect(&url).await.expect("b");
    two_writers(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_writers_on_postgres() {
    let pg = PgInstance::start();
    let a = PgStore::connect(&pg.url()).await.expect("a");
    let b = PgStore::connect(&pg.url()).await.expect("b");
    two_writers(a, b).await;
}

/// Several servers on one database: nine delegates push their sheets, cells and many value
/// changes at once, each batch through the next server, while a device pulls small pages
/// the whole time. When the pushes end, the device's last pull has every record at its
/// final sequence: no committed change was skipped, however the commits interleaved. A
/// secretary's structural change in the middle (a ballot) and a sheet submitted while its
/// cells are written test the locks between kinds.
async fn pulls_never_skip<S: Store>(servers: Vec<S>) {
    let a = servers[0].clone();
    let (sec, dev, round) = open_round(&a).await;
    let leaves = script::standard_leaves();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // The puller: small pages, as fast as it can, until the pushers are done, then drains.
    let puller = {
        let (store, done) = (servers[servers.len() - 1].clone(), done.clone());
        tokio::spawn(async move {
            let mut seen: std::collections::HashMap<Uuid, u64> = Default::default();
            let mut cursor = 0;
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let page = store.pull(None, cursor, 37).await.expect("pull");
                for c in page.decode().expect("decode") {
                    assert!(c.seq > cursor, "a change at or below the cursor");
                    seen.insert(c.record.id(), c.seq);
                }
                cursor = page.cursor;
                if !page.more && finished {
                    return (seen, cursor);
                }
            }
        })
    };
    let mut tasks = Vec::new();
    for n in 1..=9u16 {
        let (mine, leaves) = (servers.clone(), leaves.clone());
        tasks.push(tokio::spawn(async move {
            let (p, dev) = (script::delegate(n), Uuid::now_v7());
            let sheet = Uuid::now_v7();
            let cells: Vec<Uuid> = leaves.iter().map(|_| Uuid::now_v7()).collect();
            let mut ms = 10_000;
            let mut next = || {
                ms += 1;
                ms
            };
            let mut batch = vec![m(
                dev,
                next(),
                script::sheet(sheet, round, unit(n), unit(n)),
            )];
            for (cell, (criterion, _)) in cells.iter().zip(&leaves) {
                let value = CellValue::Points(shared::Points::from_hundredths(0));
                batch.push(m(
                    dev,
                    next(),
                    script::cell(*cell, sheet, *criterion, value),
                ));
            }
            let mut batches = vec![batch];
            for round_no in 1..=12i64 {
                batches.push(
                    cells
                        .iter()
                        .zip(&leaves)
                        .map(|(cell, (_, max))| {
                            let v = CellValue::Points(shared::Points::from_hundredths(
                                (round_no * 50 + i64::from(n) * 50) % (max * 100 + 50),
                            ));
                            m(
                                dev,
                                next(),
                                Op::set(*cell, "value", serde_json::to_value(v).expect("v")),
                            )
                        })
                        .collect(),
                );
            }
            for (i, batch) in batches.iter().enumerate() {
                let out = mine[(i + usize::from(n)) % mine.len()]
                    .push(&p, dev, batch)
                    .await
                    .expect("push");
                assert!(out.iter().all(|o| code(o) == "applied"), "{n}/{i}: {out:?}");
            }
            sheet
        }));
        if n == 5 {
            // A structural change while the cells stream in.
            let out = servers[1 % servers.len()]
                .push(&sec, dev, &[m(dev, 5_000, script::ballot(Uuid::now_v7()))])
                .await
                .expect("ballot");
            assert_eq!(code(&out[0]), "applied", "{out:?}");
        }
    }
    let mut sheets = Vec::new();
    for t in tasks {
        sheets.push(t.await.expect("join"));
    }
    // Unit 1 submits; a cell written to its sheet afterwards, on another server, is refused.
    let p1 = script::delegate(1);
    let dev1 = Uuid::now_v7();
    let out = a
        .push(
            &p1,
            dev1,
            &[m(
                dev1,
                90_000,
                Op::set(sheets[0], "submitted", serde_json::json!(true)),
            )],
        )
        .await
        .expect("submit");
    assert_eq!(code(&out[0]), "applied");
    let late = script::cell(
        Uuid::now_v7(),
        sheets[0],
        leaves[0].0,
        CellValue::Points(shared::Points::from_hundredths(0)),
    );
    let out = servers[servers.len() - 1]
        .push(&p1, dev1, &[m(dev1, 90_001, late)])
        .await
        .expect("late");
    assert_eq!(code(&out[0]), "sheet_submitted");
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (seen, _) = puller.await.expect("puller");
    // The truth: everything, pulled in one go from the start.
    let all = a.pull(None, 0, 100_000).await.expect("all");
    assert!(!all.more);
    let truth: std::collections::HashMap<Uuid, u64> = all
        .decode()
        .expect("decode")
        .into_iter()
        .map(|c| (c.record.id(), c.seq))
        .collect();
    assert!(truth.len() > 9 * leaves.len(), "{} records", truth.len());
    for (id, seq) in &truth {
        assert_eq!(seen.get(id), Some(seq), "record {id} skipped or stale");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pulls_never_skip_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/thidua.db", dir.path().display());
    let a = SqliteStore::connect(&url).await.expect("a");
    pulls_never_skip(vec![a.clone(), a]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pulls_never_skip_across_three_servers_on_postgres() {
    let pg = PgInstance::start();
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(PgStore::connect(&pg.url()).await.expect("server"));
    }
    pulls_never_skip(servers).await;
}
