//! Seeds a SQLite database for the browser benchmark (`scripts/node/browser-bench.mjs`):
//! a block of `UNITS` units each cross-scoring `PER_UNIT` others on `CRITERIA` criteria,
//! every cell pushed through the real push path, and a delegate account of the first unit
//! (username `bench`, password `bench-password-2026`) that the browser signs in with.
//!
//! With `--queue N` the other units' cells are left out and, instead, N mutations of the
//! bench delegate's own sheets (its cells created, then changed) are written as outbox
//! entries to the file named by `--queue-file`: the browser benchmark puts them in the app's
//! outbox and times the app pushing them. Their stamps carry the nil node; the benchmark
//! sets the browser's device id.
//!
//! Usage: bench_seed DB_URL UNITS PER_UNIT CRITERIA [--queue N --queue-file FILE]

use shared::access::{Grant, Principal, Role};
use shared::mutation::{Mutation, Op};
use shared::protocol::OutcomeStatus;
use shared::sheet::CellValue;
use shared::{Hlc, Points, Record};
use thidua_server::{SqliteStore, Store};
use thidua_tests::conference;
use thidua_tests::script::{self, m};
use uuid::Uuid;

/// The bench delegate's credentials.
const USERNAME: &str = "bench";
const PASSWORD: &str = "bench-password-2026";

fn arg(args: &[String], i: usize) -> usize {
    args.get(i).and_then(|a| a.parse().ok()).unwrap_or_else(|| {
        panic!("usage: bench_seed DB_URL UNITS PER_UNIT CRITERIA [--queue N --queue-file FILE]")
    })
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// A cell create in the benchmark's block.
fn cell(sheet: Uuid, criterion: Uuid, block: Uuid, value: CellValue) -> Op {
    let mut op = script::cell(Uuid::now_v7(), sheet, criterion, value);
    if let Op::Create {
        record: Record::ScoreCell(c),
    } = &mut op
    {
        c.block_id = block;
    }
    op
}

fn sheet(round: Uuid, scorer: Uuid, subject: Uuid, block: Uuid) -> (Uuid, Op) {
    let id = Uuid::now_v7();
    let mut op = script::sheet(id, round, scorer, subject);
    if let Op::Create {
        record: Record::ScoreSheet(s),
    } = &mut op
    {
        s.block_id = block;
    }
    (id, op)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).expect("DB_URL").clone();
    let (units, per_unit, criteria) = (arg(&args, 2), arg(&args, 3), arg(&args, 4));
    let queue: Option<usize> = flag(&args, "--queue").and_then(|n| n.parse().ok());
    let store = SqliteStore::connect(&url).await.expect("sqlite");
    let s = conference::setup(
        &store,
        units,
        u32::try_from(per_unit).expect("per unit"),
        criteria,
    )
    .await;
    let mut cells = 0usize;
    let mut own_sheets = Vec::new();
    for (n, u) in s.units.iter().enumerate() {
        let p = Principal {
            account_id: Uuid::now_v7(),
            name: "seed".into(),
            admin: false,
            grants: vec![Grant {
                block_id: s.block,
                role: Role::Delegate,
                unit: Some(*u),
            }],
        };
        let device = Uuid::now_v7();
        let mut ops = Vec::new();
        for subject in s.units.iter().filter(|x| s.assignment.allows(*u, **x)) {
            let (id, op) = sheet(s.round, *u, *subject, s.block);
            ops.push(op);
            if n == 0 {
                own_sheets.push(id);
            }
            if queue.is_some() {
                continue;
            }
            for (i, c) in s.criteria.iter().enumerate() {
                let v = CellValue::Points(Points::from_hundredths(50 * (i as i64 % 6)));
                ops.push(cell(id, *c, s.block, v));
                cells += 1;
            }
        }
        let muts: Vec<Mutation> = ops
            .into_iter()
            .enumerate()
            .map(|(i, op)| m(device, 2_000 + i as u64, op))
            .collect();
        for chunk in muts.chunks(1000) {
            for o in store.push(&p, device, chunk).await.expect("push") {
                assert!(
                    matches!(o.status, OutcomeStatus::Applied { .. }),
                    "seed: {o:?}"
                );
            }
        }
    }
    let account =
        thidua_server::cli::create_account(&store, USERNAME, "Đại biểu thử tải", PASSWORD, false)
            .await
            .expect("account");
    store
        .set_grant(
            account,
            &Grant {
                block_id: s.block,
                role: Role::Delegate,
                unit: Some(s.units[0]),
            },
        )
        .await
        .expect("grant");
    if let (Some(n), Some(file)) = (queue, flag(&args, "--queue-file")) {
        // The delegate's cells created once, then changed again and again, up to n.
        let ms = u64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_millis(),
        )
        .expect("ms")
            - 60_000;
        let mut cell_ids = Vec::new();
        let mut entries = Vec::with_capacity(n);
        let mut i = 0usize;
        while entries.len() < n {
            let op = if cell_ids.len() < own_sheets.len() * s.criteria.len() {
                let k = cell_ids.len();
                let sheet = own_sheets[k / s.criteria.len()];
                let op = cell(
                    sheet,
                    s.criteria[k % s.criteria.len()],
                    s.block,
                    CellValue::Points(Points::ZERO),
                );
                cell_ids.push(op.target());
                op
            } else {
                let v = CellValue::Points(Points::from_hundredths(50 * (i as i64 % 6)));
                Op::set(
                    cell_ids[i % cell_ids.len()],
                    "value",
                    serde_json::to_value(v).expect("json"),
                )
            };
            i += 1;
            let id = Uuid::now_v7();
            let target = op.target();
            let counter = u32::try_from(entries.len()).expect("counter");
            let mutation = Mutation {
                id,
                hlc: Hlc {
                    ms,
                    counter,
                    node: Uuid::nil(),
                },
                op,
            };
            entries.push(serde_json::json!({
                "id": id,
                "target": target,
                "mutation": mutation,
                "status": "pending",
                "rejection": null,
            }));
        }
        std::fs::write(&file, serde_json::to_vec(&entries).expect("json")).expect("write queue");
    }
    // Every record a device of the block receives (the block's and its units).
    let (mut records, mut cursor) = (0usize, 0u64);
    loop {
        let page = store.pull(None, cursor, 5000).await.expect("pull");
        records += page.count;
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    println!(
        "{}",
        serde_json::json!({
            "records": records,
            "username": USERNAME,
            "password": PASSWORD,
            "block": s.block,
            "round": s.round,
            "cells": cells,
            "sheets": own_sheets,
        })
    );
}
