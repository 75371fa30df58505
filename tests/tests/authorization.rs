//! The authorization matrix: every role against every mutation kind, on its own block and with
//! the same role on another block, each case from a state where the mutation is otherwise
//! valid, so a refusal can only come from rights. The checks run in `shared::world::World`,
//! the code the server runs for every push; reads go through a real store's filtered pull.

use std::collections::BTreeSet;

use shared::access::{Grant, Principal, Role};
use shared::ballot::BallotPaper;
use shared::model::{Signature, Unit};
use shared::mutation::{FieldClocks, Op};
use shared::round::{Assignment, Stage};
use shared::sheet::CellValue;
use shared::world::{Entry, World};
use shared::{Points, Record, demo};
use thidua_server::{SqliteStore, Store};
use thidua_tests::script::{self, BLOCK, m, unit};
use uuid::Uuid;

/// Another block: a role there gives no right here.
const OTHER: Uuid = Uuid::from_u128(0x07e4);

const ROUND: Uuid = Uuid::from_u128(0xA001);
const SHEET: Uuid = Uuid::from_u128(0xA002);
const CELL: Uuid = Uuid::from_u128(0xA003);
const BALLOT: Uuid = Uuid::from_u128(0xA004);

/// Who tries: a name for the table and the account.
fn people() -> Vec<(&'static str, Principal)> {
    let on = |block, role, unit: Option<u16>| Principal {
        account_id: Uuid::now_v7(),
        name: "matrix".into(),
        admin: false,
        grants: vec![Grant {
            block_id: block,
            role,
            unit: unit.map(script::unit),
        }],
    };
    vec![
        (
            "admin",
            Principal {
                account_id: Uuid::now_v7(),
                name: "admin".into(),
                admin: true,
                grants: vec![],
            },
        ),
        ("secretary", on(BLOCK, Role::Secretary, None)),
        ("delegate 1", on(BLOCK, Role::Delegate, Some(1))),
        ("delegate 2", on(BLOCK, Role::Delegate, Some(2))),
        ("observer", on(BLOCK, Role::Observer, None)),
        ("other secretary", on(OTHER, Role::Secretary, None)),
        ("other delegate 1", on(OTHER, Role::Delegate, Some(1))),
        ("other observer", on(OTHER, Role::Observer, None)),
        (
            "no role",
            Principal {
                account_id: Uuid::now_v7(),
                name: "nobody".into(),
                admin: false,
                grants: vec![],
            },
        ),
    ]
}

/// The states the cases start from.
struct States {
    draft: World,
    open: World,
    locked: World,
}

fn states() -> States {
    let dev = Uuid::now_v7();
    let mut draft = World::new();
    for record in demo::records() {
        draft.insert(Entry {
            record,
            clocks: FieldClocks::new(),
            deleted: false,
        });
    }
    let people = people();
    let (admin, d1) = (&people[0].1, &people[2].1);
    let mut open = draft.clone();
    let (leaf, _) = script::standard_leaves()[0];
    for (who, op) in [
        (admin, script::covenant_status("agreed")),
        (
            admin,
            script::round(ROUND, Stage::SelfScoring, Assignment::AllScoreAll),
        ),
        (d1, script::sheet(SHEET, ROUND, unit(1), unit(1))),
        (
            d1,
            script::cell(CELL, SHEET, leaf, CellValue::Points(Points::whole(1))),
        ),
        (admin, script::ballot(BALLOT)),
    ] {
        open.apply(&m(dev, 1_000, op), who).expect("open state");
    }
    let mut locked = open.clone();
    locked
        .apply(
            &m(dev, 2_000, Op::set(ROUND, "state", "locked".into())),
            admin,
        )
        .expect("locked state");
    States {
        draft,
        open,
        locked,
    }
}

/// Which state a case starts from.
#[derive(Clone, Copy)]
enum From {
    Draft,
    Open,
    Locked,
}

fn cases() -> Vec<(&'static str, From, Op, &'static [&'static str])> {
    const RUNS: &[&str] = &["admin", "secretary"];
    let cases: Vec<(&str, From, Op, &[&str])> = vec![
        (
            "create a member unit",
            From::Draft,
            Op::Create {
                record: Record::Unit(Unit {
                    id: Uuid::from_u128(0xB001),
                    name: "Đơn vị mới".into(),
                    short_name: "ĐV mới".into(),
                }),
            },
            &["admin"],
        ),
        (
            "rename the block",
            From::Draft,
            Op::set(BLOCK, "name", "Khối thi đua đổi tên".into()),
            RUNS,
        ),
        (
            "edit a criterion",
            From::Draft,
            Op::set(demo::id(1001), "title", "Tiêu chí sửa".into()),
            RUNS,
        ),
        (
            "circulate the covenant",
            From::Draft,
            script::covenant_status("circulated"),
            RUNS,
        ),
        (
            "sign the covenant for unit 1",
            From::Open,
            Op::Create {
                record: Record::Signature(Signature {
                    id: Uuid::from_u128(0xB002),
                    block_id: BLOCK,
                    covenant_id: demo::COVENANT_ID,
                    unit: unit(1),
                    signer: "Nguyễn Văn An, Phó Chủ tịch".into(),
                    signed_at_ms: 1_800_000_000_000,
                }),
            },
            &["admin", "secretary", "delegate 1"],
        ),
        (
            "open a cross-scoring round",
            From::Open,
            script::round(
                Uuid::from_u128(0xB003),
                Stage::CrossScoring,
                Assignment::AllScoreAll,
            ),
            RUNS,
        ),
        (
            "lock the round",
            From::Open,
            Op::set(ROUND, "state", "locked".into()),
            RUNS,
        ),
        (
            "create unit 2's self sheet",
            From::Open,
            script::sheet(Uuid::from_u128(0xB004), ROUND, unit(2), unit(2)),
            &["delegate 2"],
        ),
        (
            "score a cell of unit 1's sheet",
            From::Open,
            Op::set(CELL, "value", serde_json::json!({"points": "2"})),
            &["delegate 1"],
        ),
        (
            "add a cell to unit 1's sheet",
            From::Open,
            script::cell(
                Uuid::from_u128(0xB005),
                SHEET,
                script::standard_leaves()[1].0,
                CellValue::Points(Points::whole(1)),
            ),
            &["delegate 1"],
        ),
        (
            "delete a cell of unit 1's sheet",
            From::Open,
            Op::Delete { id: CELL },
            &["delegate 1"],
        ),
        (
            "submit unit 1's sheet",
            From::Open,
            Op::set(SHEET, "submitted", true.into()),
            &["delegate 1"],
        ),
        (
            "correct a score after lock",
            From::Locked,
            Op::Correct {
                cell_id: CELL,
                value: CellValue::Points(Points::whole(2)),
                reason: "Biên bản thẩm định số 3".into(),
            },
            RUNS,
        ),
        (
            "create a ballot",
            From::Open,
            script::ballot(Uuid::from_u128(0xB006)),
            RUNS,
        ),
        (
            "cast a vote",
            From::Open,
            Op::CastVote {
                ballot_id: BALLOT,
                paper: BallotPaper::Choices {
                    options: [Uuid::from_u128(0xB1)].into(),
                },
            },
            &["delegate 1", "delegate 2"],
        ),
        (
            "close the ballot",
            From::Open,
            Op::set(BALLOT, "state", "closed".into()),
            RUNS,
        ),
    ];
    cases
}

#[test]
fn every_role_against_every_mutation() {
    let states = states();
    let people = people();
    let dev = Uuid::now_v7();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (what, from, op, allowed) in cases() {
        let allowed: BTreeSet<&str> = allowed.iter().copied().collect();
        for (name, who) in &people {
            let mut world = match from {
                From::Draft => states.draft.clone(),
                From::Open => states.open.clone(),
                From::Locked => states.locked.clone(),
            };
            let got = world.apply(&m(dev, 1_800_000_000_000, op.clone()), who);
            checked += 1;
            match (allowed.contains(name), got) {
                (true, Ok(_)) => {}
                (false, Err(e)) if e.code() == "forbidden" => {}
                (want, got) => failures.push(format!(
                    "{what} by {name}: want {}, got {}",
                    if want { "allowed" } else { "forbidden" },
                    match got {
                        Ok(_) => "applied".to_owned(),
                        Err(e) => format!("{} ({e})", e.code()),
                    }
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, 16 * 9);
}

/// Reads: each account pulls through a real store and sees the block only with a role in
/// it (units, which belong to no block, are public).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_against_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/thidua.db", dir.path().display());
    let store = SqliteStore::connect(&url).await.expect("sqlite");
    store.seed_if_empty(&demo::records()).await.expect("seed");
    let block_records = demo::records()
        .iter()
        .filter(|r| r.scope() == Some(BLOCK))
        .count();
    for (name, who) in people() {
        let sees = !matches!(
            name,
            "other secretary" | "other delegate 1" | "other observer" | "no role"
        );
        let blocks = who.readable_blocks();
        let page = store.pull(blocks.as_deref(), 0, 5_000).await.expect("pull");
        let changes = page.decode().expect("decode");
        let of_block = changes
            .iter()
            .filter(|c| c.record.scope() == Some(BLOCK))
            .count();
        let units = changes.len() - of_block;
        assert_eq!(units, 9, "{name} sees the units");
        assert_eq!(
            of_block,
            if sees { block_records } else { 0 },
            "{name} reading the block"
        );
        assert_eq!(who.can_read(Some(BLOCK)), sees, "{name}");
    }
}

/// Once a round is locked, the rules and members its results depend on stay as they are;
/// reopened, they may change again (a published round is final, so they never do).
#[test]
fn a_locked_rounds_rules_and_members_are_frozen() {
    let s = states();
    let admin = &people()[0].1;
    let dev = Uuid::now_v7();
    let block = match s.locked.get(BLOCK).map(|e| &e.record) {
        Some(Record::Block(b)) => b.clone(),
        other => panic!("no block: {other:?}"),
    };
    let mut rules = block.rules.clone();
    rules.point_step = Points::whole(1);
    let rules = serde_json::to_value(&rules).expect("json");
    let members: Vec<Uuid> = block.members[..block.members.len() - 1].to_vec();
    for (field, value) in [
        ("rules", rules.clone()),
        ("members", serde_json::json!(members)),
    ] {
        let mut locked = s.locked.clone();
        let e = locked
            .apply(&m(dev, 3_000, Op::set(BLOCK, field, value.clone())), admin)
            .expect_err("frozen");
        assert_eq!(e.code(), "results_frozen", "{field}: {e}");
        assert!(
            e.message_vi().contains("vòng chấm đã khóa"),
            "{}",
            e.message_vi()
        );
    }
    // Reopened, the round's results are not final: the rules may change again.
    let mut reopened = s.locked.clone();
    reopened
        .apply(
            &m(dev, 3_000, Op::set(ROUND, "state", "open".into())),
            admin,
        )
        .expect("reopen");
    reopened
        .apply(&m(dev, 3_001, Op::set(BLOCK, "rules", rules)), admin)
        .expect("open rounds do not freeze the rules");
}

/// A unit withdraws its signature while others have not signed; nobody withdraws another
/// unit's; once every member has signed, the covenant is complete and no signature goes.
#[test]
fn a_signature_can_be_withdrawn_until_the_covenant_is_complete() {
    let s = states();
    let people = people();
    let (admin, d1) = (&people[0].1, &people[2].1);
    let dev = Uuid::now_v7();
    let sign = |id: u128, n: u16| Op::Create {
        record: Record::Signature(Signature {
            id: Uuid::from_u128(id),
            block_id: BLOCK,
            covenant_id: demo::COVENANT_ID,
            unit: unit(n),
            signer: "Người ký".into(),
            signed_at_ms: 1_800_000_000_000,
        }),
    };
    let mut w = s.open.clone();
    w.apply(&m(dev, 1_800_000_000_000, sign(0x51, 1)), d1)
        .expect("unit 1 signs");
    let delete = |id: u128| Op::Delete {
        id: Uuid::from_u128(id),
    };
    w.apply(&m(dev, 1_800_000_000_001, sign(0x52, 2)), admin)
        .expect("unit 2 signs (through the secretary)");
    let e = w
        .apply(&m(dev, 1_800_000_000_002, delete(0x52)), d1)
        .expect_err("not its own");
    assert_eq!(e.code(), "forbidden");
    w.apply(&m(dev, 1_800_000_000_003, delete(0x51)), d1)
        .expect("unit 1 withdraws its own");
    // Every member signs: complete, then nothing is withdrawn.
    let members = match w.get(BLOCK).map(|e| &e.record) {
        Some(Record::Block(b)) => b.members.len() as u16,
        _ => panic!("block"),
    };
    for n in 1..=members {
        if n != 2 {
            w.apply(
                &m(
                    dev,
                    1_800_000_000_010 + u64::from(n),
                    sign(0x60 + u128::from(n), n),
                ),
                admin,
            )
            .expect("signs");
        }
    }
    let e = w
        .apply(&m(dev, 1_800_000_001_000, delete(0x61)), admin)
        .expect_err("complete");
    assert_eq!(e.code(), "invalid_transition");
}
