//! A bounded load run: a conference of many units, one delegate's tablet per unit, syncing
//! through a real server over loopback for a fixed time, then stopping by themselves. Each
//! device loops: score one to five cells of one of its five assigned units (creating the
//! sheet and cells the first time, then changing values and notes), push them with a pull of
//! what the block changed, think for 20–200 ms.
//! Afterwards every acknowledged mutation must be in the audit log exactly once, and no
//! request may have failed. `load` (a binary) runs the full 200 devices × 60 s; the test
//! suite runs a short version.

// Latency figures for a human to read; no points are computed here.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use shared::access::{Grant, Principal, Role};
use shared::lot::Lot;
use shared::model::{ScoreCell, ScoreSheet};
use shared::mutation::{Mutation, Op};
use shared::protocol::{OutcomeStatus, PROTOCOL, SyncRequest, SyncResponse};
use shared::round::Assignment;
use shared::sheet::CellValue;
use shared::{Hlc, Points, Record};
use thidua_server::Store;
use uuid::Uuid;

use crate::conference::{self, Conference};
use crate::{TestServer, script};

/// What a load run saw.
#[derive(Debug)]
pub struct Report {
    /// Devices.
    pub devices: usize,
    /// How long they ran.
    pub seconds: u64,
    /// Sync requests answered.
    pub syncs: usize,
    /// Mutations acknowledged.
    pub acknowledged: usize,
    /// Requests that failed (transport or non-200) or mutations refused.
    pub errors: usize,
    /// Acknowledged mutations missing from the audit log.
    pub lost: usize,
    /// Mutations in the audit log more than once.
    pub duplicated: usize,
    /// Median sync latency, ms.
    pub p50_ms: f64,
    /// 99th percentile sync latency, ms.
    pub p99_ms: f64,
    /// Slowest sync, ms.
    pub max_ms: f64,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "load: {} delegates' tablets scoring for {} s on SQLite over loopback: {} syncs ({:.0}/s), {} mutations acknowledged, {} errors, {} lost, {} duplicated; sync latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            self.devices,
            self.seconds,
            self.syncs,
            self.syncs as f64 / self.seconds.max(1) as f64,
            self.acknowledged,
            self.errors,
            self.lost,
            self.duplicated,
            self.p50_ms,
            self.p99_ms,
            self.max_ms
        )
    }
}

struct DeviceRun {
    latencies_us: Vec<u64>,
    acknowledged: Vec<Uuid>,
    errors: usize,
}

/// One delegate's tablet.
struct Tablet {
    n: usize,
    base: String,
    token: String,
    id: Uuid,
    unit: Uuid,
    subjects: Vec<Uuid>,
}

async fn device(
    t: Tablet,
    conf: std::sync::Arc<Conference>,
    until: Instant,
    http: reqwest::Client,
) -> DeviceRun {
    let mut lot = Lot::new(t.n as u64 + 1);
    let mut hlc = Hlc::zero(t.id);
    let mut cursor = 0u64;
    let mut sheets: HashMap<Uuid, Uuid> = HashMap::new();
    let mut cells: HashMap<(Uuid, Uuid), Uuid> = HashMap::new();
    let mut run = DeviceRun {
        latencies_us: Vec::new(),
        acknowledged: Vec::new(),
        errors: 0,
    };
    let mut outbox: Vec<Mutation> = Vec::new();
    while Instant::now() < until {
        let subject = t.subjects[lot.below(t.subjects.len() as u64) as usize];
        let mut ops = Vec::new();
        let sheet = *sheets.entry(subject).or_insert_with(|| {
            let id = Uuid::now_v7();
            ops.push(Op::Create {
                record: Record::ScoreSheet(ScoreSheet {
                    id,
                    block_id: conf.block,
                    round_id: conf.round,
                    scorer: t.unit,
                    subject,
                    submitted: false,
                }),
            });
            id
        });
        for _ in 0..1 + lot.below(5) {
            let criterion = conf.criteria[lot.below(conf.criteria.len() as u64) as usize];
            let value = CellValue::Points(Points::from_hundredths(50 * lot.below(6) as i64));
            match cells.get(&(sheet, criterion)) {
                Some(&cell) if lot.below(4) == 0 => ops.push(Op::set(
                    cell,
                    "note",
                    serde_json::json!(format!("Ghi chú {}", lot.below(1000))),
                )),
                Some(&cell) => ops.push(Op::set(
                    cell,
                    "value",
                    serde_json::to_value(value).unwrap_or_default(),
                )),
                None => {
                    let id = Uuid::now_v7();
                    cells.insert((sheet, criterion), id);
                    ops.push(Op::Create {
                        record: Record::ScoreCell(ScoreCell {
                            id,
                            block_id: conf.block,
                            sheet_id: sheet,
                            criterion_id: criterion,
                            value,
                            note: String::new(),
                            evidence: String::new(),
                        }),
                    });
                }
            }
        }
        let now = u64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0),
        )
        .unwrap_or(0);
        for op in ops {
            hlc = hlc.tick(now);
            outbox.push(Mutation {
                id: Uuid::now_v7(),
                hlc,
                op,
            });
        }
        let req = SyncRequest {
            protocol: PROTOCOL,
            device_id: t.id,
            cursor,
            limit: Some(500),
            mutations: std::mem::take(&mut outbox),
        };
        let start = Instant::now();
        let res = http
            .post(format!("{}/api/v1/sync", t.base))
            .bearer_auth(&t.token)
            .json(&req)
            .send()
            .await;
        let answer = match res {
            Ok(r) if r.status() == 200 => r.json::<SyncResponse>().await.ok(),
            _ => None,
        };
        run.latencies_us
            .push(u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX));
        match answer {
            Some(a) => {
                for o in &a.outcomes {
                    match o.status {
                        OutcomeStatus::Applied { .. } | OutcomeStatus::Duplicate => {
                            run.acknowledged.push(o.mutation_id)
                        }
                        _ => run.errors += 1,
                    }
                }
                for c in &a.changes {
                    if let Some(s) = c.latest_stamp() {
                        hlc = hlc.observe(s);
                    }
                }
                cursor = a.cursor;
            }
            None => {
                // Kept and sent again, as the app does.
                run.errors += 1;
                outbox = req.mutations;
            }
        }
        tokio::time::sleep(Duration::from_millis(20 + lot.below(180))).await;
    }
    run
}

fn percentile(sorted_us: &[u64], p: usize) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let i = (sorted_us.len() * p / 100).min(sorted_us.len() - 1);
    sorted_us[i] as f64 / 1000.0
}

/// Runs `devices` delegates' tablets for `seconds` against a fresh server on SQLite.
pub async fn run(devices: usize, seconds: u64) -> Report {
    let (_dir, store) = crate::demo_sqlite().await;
    let conf = std::sync::Arc::new(conference::setup(&store, devices, 5, 40).await);
    let server = TestServer::start(store.clone()).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(devices)
        .build()
        .expect("client");
    let mut tablets = Vec::with_capacity(devices);
    for (n, &unit) in conf.units.iter().enumerate() {
        let who = Principal {
            account_id: Uuid::now_v7(),
            name: format!("Đại biểu {n}"),
            admin: false,
            grants: vec![Grant {
                block_id: conf.block,
                role: Role::Delegate,
                unit: Some(unit),
            }],
        };
        let (token, id) = script::token(&store, &who).await;
        let subjects = match &conf.assignment {
            Assignment::PairsByLot { pairs, .. } => pairs
                .iter()
                .filter(|p| p.scorer == unit)
                .map(|p| p.subject)
                .collect(),
            Assignment::AllScoreAll => conf.units.iter().copied().filter(|&u| u != unit).collect(),
        };
        tablets.push(Tablet {
            n,
            base: server.url(""),
            token,
            id,
            unit,
            subjects,
        });
    }
    let until = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = tablets
        .into_iter()
        .map(|t| tokio::spawn(device(t, conf.clone(), until, http.clone())))
        .collect();
    let mut latencies = Vec::new();
    let mut acknowledged = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let r = t.await.expect("device");
        latencies.extend(r.latencies_us);
        acknowledged.extend(r.acknowledged);
        errors += r.errors;
    }
    server.stop().await;
    let mut in_audit: HashMap<String, usize> = HashMap::new();
    let mut after = 0;
    loop {
        let rows = store.audit(conf.block, after, 10_000).await.expect("audit");
        let Some(last) = rows.last() else { break };
        after = last.id;
        for r in &rows {
            *in_audit.entry(r.mutation_id.clone()).or_default() += 1;
        }
    }
    let lost = acknowledged
        .iter()
        .filter(|id| !in_audit.contains_key(&id.to_string()))
        .count();
    let duplicated = in_audit.values().filter(|&&n| n > 1).count();
    latencies.sort_unstable();
    Report {
        devices,
        seconds,
        syncs: latencies.len(),
        acknowledged: acknowledged.len(),
        errors,
        lost,
        duplicated,
        p50_ms: percentile(&latencies, 50),
        p99_ms: percentile(&latencies, 99),
        max_ms: latencies.last().map_or(0.0, |&u| u as f64 / 1000.0),
    }
}
