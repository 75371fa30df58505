//! A bounded load run: many simulated devices syncing through a real server over loopback
//! for a fixed time, then stopping by themselves. Each device loops: queue one to five
//! edits (new contents of its own and title edits on shared criteria, so devices contend
//! for the same fields), push them with a pull of what changed, think for 20–200 ms.
//! Afterwards every acknowledged mutation must be in the audit log exactly once, and no
//! request may have failed. `load` (a binary) runs the full 200 devices × 60 s; the test
//! suite runs a short version.

// Latency figures for a human to read; no points are computed here.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use shared::lot::Lot;
use shared::model::Content;
use shared::mutation::{Mutation, Op};
use shared::protocol::{OutcomeStatus, PROTOCOL, SyncRequest, SyncResponse};
use shared::{Hlc, Record, demo};
use thidua_server::Store;
use uuid::Uuid;

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
            "load: {} devices for {} s on SQLite over loopback: {} syncs ({:.0}/s), {} mutations acknowledged, {} errors, {} lost, {} duplicated; sync latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
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

async fn device(
    n: usize,
    base: String,
    token: String,
    id: Uuid,
    until: Instant,
    http: reqwest::Client,
) -> DeviceRun {
    let mut lot = Lot::new(n as u64 + 1);
    let mut hlc = Hlc::zero(id);
    let mut cursor = 0u64;
    let mut mine: Vec<Uuid> = Vec::new();
    let mut run = DeviceRun {
        latencies_us: Vec::new(),
        acknowledged: Vec::new(),
        errors: 0,
    };
    let shared_criteria = [
        demo::id(1000),
        demo::id(1001),
        demo::id(1003),
        demo::id(1004),
    ];
    let mut outbox: Vec<Mutation> = Vec::new();
    let mut k = 0u32;
    while Instant::now() < until {
        for _ in 0..1 + lot.below(5) {
            k += 1;
            let now = u64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or(0),
            )
            .unwrap_or(0);
            hlc = hlc.tick(now);
            let op = match lot.below(3) {
                0 => {
                    let cid = Uuid::now_v7();
                    mine.push(cid);
                    Op::Create {
                        record: Record::Content(Content {
                            id: cid,
                            block_id: demo::BLOCK_ID,
                            covenant_id: demo::COVENANT_ID,
                            position: 100 + k,
                            code: format!("T{n}.{k}"),
                            title: format!("Nội dung thử {n}.{k}"),
                        }),
                    }
                }
                1 if !mine.is_empty() => Op::set(
                    mine[lot.below(mine.len() as u64) as usize],
                    "title",
                    serde_json::json!(format!("Sửa {n}.{k}")),
                ),
                _ => Op::set(
                    shared_criteria[lot.below(4) as usize],
                    "guidance",
                    serde_json::json!(format!("Hướng dẫn {n}.{k}")),
                ),
            };
            outbox.push(Mutation {
                id: Uuid::now_v7(),
                hlc,
                op,
            });
        }
        let req = SyncRequest {
            protocol: PROTOCOL,
            device_id: id,
            cursor,
            limit: Some(500),
            mutations: std::mem::take(&mut outbox),
        };
        let start = Instant::now();
        let res = http
            .post(format!("{base}/api/v1/sync"))
            .bearer_auth(&token)
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

/// Runs `devices` devices for `seconds` against a fresh server on SQLite.
pub async fn run(devices: usize, seconds: u64) -> Report {
    let (_dir, store) = crate::demo_sqlite().await;
    let server = TestServer::start(store.clone()).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(devices)
        .build()
        .expect("client");
    let mut tokens = Vec::with_capacity(devices);
    for _ in 0..devices {
        tokens.push(script::token(&store, &script::secretary()).await);
    }
    let until = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(n, (token, id))| {
            tokio::spawn(device(n, server.url(""), token, id, until, http.clone()))
        })
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
        let rows = store
            .audit(demo::BLOCK_ID, after, 10_000)
            .await
            .expect("audit");
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
