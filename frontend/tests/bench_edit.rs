//! A score typed to its IndexedDB commit, in headless Chromium: the app's path for one
//! keystroke (the shared rules check the new value, then the record, its outbox entry and
//! the device clock are written in one transaction and committed). A benchmark, ignored by
//! the test run; `scripts/bench` runs it.

use shared::access::{Grant, Principal, Role};
use shared::model::{CovenantStatus, Round, ScoreCell, ScoreSheet};
use shared::mutation::{FieldClocks, Op};
use shared::protocol::{Change, PROTOCOL, SyncResponse};
use shared::round::{Assignment, RoundState, Stage};
use shared::sheet::CellValue;
use shared::world::{Entry, World};
use shared::{Points, Record, demo};
use thidua_frontend::db::LocalDb;
use thidua_frontend::ids;
use uuid::Uuid;
use wasm_bindgen_test::*;

mod common;

use common::{now_micros, summary};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
#[ignore = "a benchmark: run by scripts/bench"]
async fn a_score_typed_to_its_indexeddb_commit() {
    // The demo block at its conference: covenant agreed, cross-scoring open, every unit's
    // sheet on every other unit filled in (81 sheets), as on a delegate's tablet.
    let mut records = demo::records();
    for r in &mut records {
        if let Record::Covenant(c) = r {
            c.status = CovenantStatus::Agreed;
        }
    }
    let round = Uuid::from_u128(0xB0);
    records.push(Record::Round(Round {
        id: round,
        block_id: demo::BLOCK_ID,
        covenant_id: demo::COVENANT_ID,
        stage: Stage::CrossScoring,
        state: RoundState::Open,
        assignment: Assignment::AllScoreAll,
    }));
    let mut world = World::new();
    for r in &records {
        world.insert(Entry {
            record: r.clone(),
            clocks: FieldClocks::new(),
            deleted: false,
        });
    }
    let table = world.table(demo::COVENANT_ID).expect("table");
    let before = records.len();
    let leaves: Vec<Uuid> = table
        .criteria
        .iter()
        .filter(|c| table.leaf(c.id).is_ok() && c.kind == shared::model::CriterionKind::Standard)
        .map(|c| c.id)
        .collect();
    let units: Vec<Uuid> = (1..=9).map(demo::id).collect();
    let mut mine = None;
    for (i, scorer) in units.iter().enumerate() {
        for (j, subject) in units.iter().enumerate() {
            if i == j {
                continue;
            }
            let sheet = Uuid::from_u128(0x5000 + (i * 16 + j) as u128);
            records.push(Record::ScoreSheet(ScoreSheet {
                id: sheet,
                block_id: demo::BLOCK_ID,
                round_id: round,
                scorer: *scorer,
                subject: *subject,
                submitted: false,
            }));
            if i == 0 && mine.is_none() {
                mine = Some(sheet);
                continue;
            }
            for (k, leaf) in leaves.iter().enumerate() {
                records.push(Record::ScoreCell(ScoreCell {
                    id: Uuid::from_u128(0x10_0000 + ((i * 16 + j) * 256 + k) as u128),
                    block_id: demo::BLOCK_ID,
                    sheet_id: sheet,
                    criterion_id: *leaf,
                    value: CellValue::Points(Points::ZERO),
                    note: String::new(),
                    evidence: String::new(),
                }));
            }
        }
    }
    let mine = mine.expect("a sheet of unit 1");
    // The sheets and cells added since the table was read.
    for r in &records[before..] {
        world.insert(Entry {
            record: r.clone(),
            clocks: FieldClocks::new(),
            deleted: false,
        });
    }
    let changes: Vec<Change> = records
        .iter()
        .enumerate()
        .map(|(i, r)| Change {
            seq: i as u64 + 1,
            record: r.clone(),
            clocks: Default::default(),
            deleted: false,
        })
        .collect();
    let db = LocalDb::open(&format!("bench-{}", ids::new_v7()))
        .await
        .expect("open");
    db.apply_sync(&SyncResponse {
        protocol: PROTOCOL,
        outcomes: vec![],
        cursor: changes.len() as u64,
        changes,
        more: false,
        paper_key: None,
    })
    .await
    .expect("seed");
    let delegate = Principal {
        account_id: Uuid::from_u128(0xD1),
        name: "Đại biểu 1".into(),
        admin: false,
        grants: vec![Grant {
            block_id: demo::BLOCK_ID,
            role: Role::Delegate,
            unit: Some(units[0]),
        }],
    };
    let cell = ids::new_v7();
    let leaf = leaves[0];
    let max = table.leaf(leaf).expect("leaf").max.hundredths();
    let step = 50; // the demo block scores in half points
    let mut micros = Vec::new();
    for i in 0..101i64 {
        let value = CellValue::Points(Points::from_hundredths((i * step) % (max + step)));
        let op = if i == 0 {
            Op::Create {
                record: Record::ScoreCell(ScoreCell {
                    id: cell,
                    block_id: demo::BLOCK_ID,
                    sheet_id: mine,
                    criterion_id: leaf,
                    value,
                    note: String::new(),
                    evidence: String::new(),
                }),
            }
        } else {
            Op::set(cell, "value", serde_json::to_value(value).expect("json"))
        };
        let t = now_micros();
        db.edit_all(vec![op], &mut |m, _| world.apply(m, &delegate).map(|_| ()))
            .await
            .expect("edit");
        if i > 0 {
            micros.push(now_micros() - t);
        }
    }
    console_log!(
        "{}",
        format!(
            "edit wasm32 (headless Chromium, IndexedDB): a score typed to its commit: {} over {} edits, {} records on the device (target < 16 ms)",
            summary(&mut micros),
            micros.len(),
            records.len()
        )
    );
}
