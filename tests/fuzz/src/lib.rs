//! Fuzz harnesses: what each fuzz target does with one input, apart from libFuzzer, so that
//! the saved corpus (the seeds, and every input that once crashed) replays as plain tests in
//! the normal test command (`tests/corpus.rs`), and `scripts/fuzz` runs the same code under
//! cargo fuzz for a bounded time.
//!
//! A harness panics only on a bug. Bad input must come back as an error value, and what is
//! accepted must survive a round trip unchanged.

use std::sync::OnceLock;

use shared::access::{Grant, Principal, Role};
use shared::model::{Covenant, Record};
use shared::points::Points;
use shared::protocol::{RequestError, decode_request};
use shared::world::World;
use shared::{demo, transfer};
use uuid::Uuid;

/// A sync request body through the server's decoder (`shared::protocol::decode_request`);
/// when it decodes, it must encode and decode to itself, and every mutation in it goes
/// through the shared rules on the demo block with an open conference, as the secretary
/// and as a delegate. Refusals are fine; a panic is a bug.
pub fn sync_request(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let request = match decode_request(text) {
        Ok(request) => request,
        Err(RequestError::Malformed(reason)) => {
            assert!(!reason.is_empty(), "a refusal says why");
            return;
        }
        Err(RequestError::Unsupported { got, ours }) => {
            assert_ne!(got.major, ours.major);
            return;
        }
    };
    let again = serde_json::to_string(&request).expect("a decoded request encodes");
    assert_eq!(
        decode_request(&again).as_ref(),
        Ok(&request),
        "the request reads back as itself"
    );
    for who in [secretary(), delegate()] {
        let mut world = conference().clone();
        for m in &request.mutations {
            // Refused or applied; the rules must not panic, and a refusal has a message.
            if let Err(e) = world.apply(m, &who) {
                assert!(!e.to_string().is_empty());
                assert!(!e.message_vi().is_empty());
            }
        }
    }
}

/// A covenant CSV file through `shared::transfer::from_csv`. A file it accepts must export
/// (`to_csv`) to a file that imports to the same table; a file it refuses must get at
/// least one reason.
pub fn covenant_csv(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let covenant = Covenant::draft(demo::COVENANT_ID, demo::BLOCK_ID, "Giao ước".into());
    let step = Points::from_hundredths(50);
    match transfer::from_csv(text, &covenant, step, ids()) {
        Ok(doc) => {
            let exported = transfer::to_csv(&doc);
            let again = transfer::from_csv(&exported, &covenant, step, ids())
                .expect("an accepted table exports to a file that imports");
            assert_eq!(
                transfer::to_csv(&again),
                exported,
                "export, import, export is stable"
            );
        }
        Err(problems) => {
            assert!(!problems.is_empty(), "a refusal gives its reasons");
            for p in &problems {
                assert!(!p.to_string().is_empty());
            }
        }
    }
}

/// Fresh ids, the same sequence for each import.
fn ids() -> impl FnMut() -> Uuid {
    let mut n = 0u128;
    move || {
        n += 1;
        Uuid::from_u128(0xF0F0_0000_0000_0000_0000_0000_0000_0000 | n)
    }
}

/// The demo block with the casebook's conference in it: rounds, sheets, cells and ballots,
/// so that mutations naming their ids reach deep into the rules. Built once.
fn conference() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let mut world = World::of_records(&shared::casebook::central_block_records());
        for (ballot, papers) in shared::casebook::central_block_conference().ballots {
            world.insert_papers(ballot.id, papers);
        }
        world
    })
}

fn account(role: Role, unit: Option<Uuid>) -> Principal {
    Principal {
        account_id: Uuid::from_u128(0xACC0 + u128::from(unit.is_some())),
        name: "fuzz".into(),
        admin: false,
        grants: vec![Grant {
            block_id: demo::BLOCK_ID,
            role,
            unit,
        }],
    }
}

fn secretary() -> Principal {
    account(Role::Secretary, None)
}

fn delegate() -> Principal {
    account(Role::Delegate, Some(demo::id(1)))
}

/// The seed inputs of each target, by file name: realistic requests and files that reach the
/// rules, a few near misses, and a few refusals. `tests/corpus.rs` checks that the committed
/// `corpus/` holds exactly these; `scripts/fuzz` starts from them.
pub fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    match target {
        "sync_request" => sync_seeds(),
        "covenant_csv" => csv_seeds(),
        other => panic!("no fuzz target {other}"),
    }
}

fn sync_seeds() -> Vec<(String, Vec<u8>)> {
    use serde_json::json;
    use shared::ballot::BallotPaper;
    use shared::hlc::Hlc;
    use shared::mutation::{Mutation, Op};
    use shared::protocol::{PROTOCOL, SyncRequest};
    use shared::sheet::CellValue;

    let conf = shared::casebook::central_block_conference();
    let device = Uuid::from_u128(0xDE71CE);
    let stamp = |n: u64| Hlc {
        ms: 1_780_000_000_000 + n,
        counter: 0,
        node: device,
    };
    let request = |ops: Vec<Op>| SyncRequest {
        protocol: PROTOCOL,
        device_id: device,
        cursor: 7,
        limit: Some(100),
        mutations: ops
            .into_iter()
            .enumerate()
            .map(|(n, op)| Mutation {
                id: Uuid::from_u128(0x0001_0000 + n as u128),
                hlc: stamp(n as u64),
                op,
            })
            .collect(),
    };
    let sheet = &conf.sheets[0];
    let cell = &conf.cells[0];
    let mut covenant = conf.doc.covenant.clone();
    covenant.id = Uuid::from_u128(0xC0FE);
    covenant.version = 2;
    covenant.amends = Some(demo::COVENANT_ID);
    let ops = [
        (
            "edit_texts",
            vec![
                Op::set(demo::CRITERION_2_1, "title", json!("Tiêu chí mới")),
                Op::set(demo::COVENANT_ID, "title", json!("Giao ước 2026")),
            ],
        ),
        (
            "score_cells",
            vec![
                Op::set(
                    cell.id,
                    "value",
                    serde_json::to_value(CellValue::Points(Points::whole(7))).unwrap(),
                ),
                Op::set(cell.id, "note", json!("Ghi chú")),
                Op::set(sheet.id, "submitted", json!(true)),
            ],
        ),
        (
            "create_and_delete",
            vec![
                Op::Create {
                    record: Record::Covenant(covenant),
                },
                Op::Delete { id: cell.id },
            ],
        ),
        (
            "correct_and_vote",
            vec![
                Op::Correct {
                    cell_id: cell.id,
                    value: CellValue::Count(1),
                    reason: "Nhầm số lần".into(),
                },
                Op::CastVote {
                    ballot_id: conf.ballots.first().map_or(Uuid::nil(), |(b, _)| b.id),
                    paper: BallotPaper::Choices {
                        options: [demo::id(1)].into(),
                    },
                },
            ],
        ),
        ("pull_only", vec![]),
    ];
    let mut seeds: Vec<(String, Vec<u8>)> = ops
        .into_iter()
        .map(|(name, ops)| {
            let body = serde_json::to_vec_pretty(&request(ops)).expect("json");
            (format!("{name}.json"), body)
        })
        .collect();
    seeds.push((
        "other_major.json".into(),
        br#"{"protocol":{"major":9,"minor":0},"device_id":"00000000-0000-0000-0000-000000de71ce","cursor":0}"#.to_vec(),
    ));
    seeds.push((
        "unknown_op.json".into(),
        br#"{"protocol":{"major":2,"minor":0},"device_id":"00000000-0000-0000-0000-000000de71ce","cursor":0,"mutations":[{"id":"00000000-0000-0000-0000-000000000001","hlc":{"ms":1,"counter":0,"node":"00000000-0000-0000-0000-000000de71ce"},"op":{"type":"rename","id":"x"}}]}"#.to_vec(),
    ));
    seeds
}

fn csv_seeds() -> Vec<(String, Vec<u8>)> {
    let demo_doc = shared::casebook::central_block_conference().doc;
    vec![
        ("demo_covenant.csv".into(), transfer::to_csv(&demo_doc).into_bytes()),
        (
            "semicolon_vi.csv".into(),
            "Mã;Nội dung, tiêu chí;Loại;Điểm chuẩn;Hướng dẫn\r\n1;Công tác chuyên môn;;60;\r\n1.1;Hoàn thành kế hoạch;chuẩn;60;\"Đủ, đúng hạn\"\r\n2;Công tác khác;;40;\r\n2.1;Báo cáo;chuẩn;40,0;\r\n2.2;Sáng kiến;thưởng;5;\r\n2.3;Báo cáo muộn;trừ;0,5;mỗi lần\r\n".as_bytes().to_vec(),
        ),
        (
            "tab_en.csv".into(),
            "\u{feff}code\ttitle\tkind\tmax_points\tguidance\n1\tWork\tstandard\t100\t\n1.1\tPlan\tstandard\t100\tdone\n1.1.1\tPart\tstandard\t7.5\t\n".as_bytes().to_vec(),
        ),
        (
            "refused_rows.csv".into(),
            "Mã,Nội dung, tiêu chí,Điểm chuẩn\n3.1,Không có cha,10\n1,,x\n".as_bytes().to_vec(),
        ),
    ]
}
