//! Sync benchmark (a figure printer, never a test): 50 delegates each cross-score 30 units on
//! 40 criteria, 60,000 score cells pushed by 50 concurrent devices over HTTP to a real
//! server, then pulled in full by a new device with gzip on. Runs on SQLite and on a
//! throwaway PostgreSQL, there with 1, 2 and 3 servers on one database (the devices spread
//! over them; `BENCH_SERVERS`, e.g. `1,3`); with `BENCH_SERVER_BIN` also through that
//! release binary on SQLite, reporting its memory. `scripts/bench` runs it in release mode.

// Timings and averages for a human to read; no points are computed here.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]
use std::time::Instant;

use shared::access::{Grant, Principal, Role};
use shared::mutation::Op;
use shared::protocol::{OutcomeStatus, PROTOCOL, SyncRequest, SyncResponse};
use shared::sheet::CellValue;
use shared::{Points, Record};
use thidua_server::{PgStore, SqliteStore, Store};
use thidua_tests::script::{self, m};
use thidua_tests::{PgInstance, TestServer, conference};
use uuid::Uuid;

const UNITS: usize = 50;
const PER_UNIT: u32 = 30;
const CRITERIA: usize = 40;
const BATCH: usize = 1000;

/// A script op moved to the benchmark's block.
fn with_block(mut op: Op, block: Uuid) -> Op {
    match &mut op {
        Op::Create {
            record: Record::ScoreSheet(x),
        } => x.block_id = block,
        Op::Create {
            record: Record::ScoreCell(x),
        } => x.block_id = block,
        _ => {}
    }
    op
}

async fn run<S: Store>(name: &str, stores: Vec<S>) {
    let store = stores[0].clone();
    let s = conference::setup(&store, UNITS, PER_UNIT, CRITERIA).await;
    let mut servers = Vec::new();
    for st in &stores {
        servers.push(TestServer::start(st.clone()).await);
    }
    let bases: Vec<String> = servers.iter().map(|s| s.url("")).collect();
    let line = exercise(&store, &s, &bases).await;
    for server in servers {
        server.stop().await;
    }
    println!("sync {name}: {line}");
}

/// The release binary itself on SQLite, to read its memory: resident at rest after start,
/// and its peak (`VmHWM`) over the same push and pull.
async fn run_binary(bin: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    let store = SqliteStore::connect(&url).await.expect("sqlite");
    let s = conference::setup(&store, UNITS, PER_UNIT, CRITERIA).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    // The API is what is measured; the app's files are not needed for it.
    std::fs::write(dir.path().join("index.html"), "<!doctype html>").expect("index");
    let mut child = std::process::Command::new(bin)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", &url])
        .arg("--static-dir")
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("spawn the server");
    let base = format!("http://127.0.0.1:{port}");
    while reqwest::get(format!("{base}/api/v1/health")).await.is_err() {
        if let Ok(Some(exit)) = child.try_wait() {
            panic!("the server stopped: {exit}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let status =
        || std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let kib = |text: &str, field: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let idle = kib(&status(), "VmRSS:");
    let line = exercise(&store, &s, &[base]).await;
    let after = status();
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "sync SQLite, release binary: {line}; server resident {:.1} MB at rest, peak {:.1} MB, {:.1} MB after",
        idle / 1024.0,
        kib(&after, "VmHWM:") / 1024.0,
        kib(&after, "VmRSS:") / 1024.0,
    );
}

/// 50 devices push at once through the servers at `bases` (spread over them), then a new
/// device pulls everything from the first; returns the figures as a line.
async fn exercise<S: Store>(store: &S, s: &conference::Conference, bases: &[String]) -> String {
    let http = reqwest::Client::new();
    // One device per delegate, each with its token.
    let mut devices = Vec::new();
    for u in &s.units {
        let p = Principal {
            account_id: Uuid::now_v7(),
            name: "bench".into(),
            admin: false,
            grants: vec![Grant {
                block_id: s.block,
                role: Role::Delegate,
                unit: Some(*u),
            }],
        };
        let (token, device) = script::token(store, &p).await;
        let mut muts = Vec::new();
        for subject in s.units.iter().filter(|x| s.assignment.allows(*u, **x)) {
            let sheet = Uuid::now_v7();
            muts.push(m(
                device,
                2_000,
                with_block(script::sheet(sheet, s.round, *u, *subject), s.block),
            ));
            for (i, c) in s.criteria.iter().enumerate() {
                let value = CellValue::Points(Points::from_hundredths(50 * (i as i64 % 6)));
                let mut op = script::cell(Uuid::now_v7(), sheet, *c, value);
                if let Op::Create {
                    record: Record::ScoreCell(cell),
                } = &mut op
                {
                    cell.block_id = s.block;
                }
                muts.push(m(device, 2_001, op));
            }
        }
        devices.push((token, device, muts));
    }
    let cells: usize = devices.iter().map(|d| d.2.len()).sum::<usize>() - UNITS * PER_UNIT as usize;
    let total: usize = devices.iter().map(|d| d.2.len()).sum();
    // Each device's requests are encoded before the clock starts: on real tablets that work
    // is the devices', not the server's, and here it would take the server's two cores.
    let requests: Vec<(String, Vec<Vec<u8>>)> = devices
        .into_iter()
        .map(|(token, device, muts)| {
            let bodies = muts
                .chunks(BATCH)
                .map(|chunk| {
                    serde_json::to_vec(&SyncRequest {
                        protocol: PROTOCOL,
                        device_id: device,
                        cursor: u64::MAX / 2,
                        limit: Some(1),
                        mutations: chunk.to_vec(),
                    })
                    .expect("encode")
                })
                .collect();
            (token, bodies)
        })
        .collect();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, (token, bodies)) in requests.into_iter().enumerate() {
        let (http, url) = (
            http.clone(),
            format!("{}/api/v1/sync", bases[i % bases.len()]),
        );
        tasks.push(tokio::spawn(async move {
            let mut applied = 0;
            for body in bodies {
                let res: SyncResponse = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("push")
                    .error_for_status()
                    .expect("status")
                    .json()
                    .await
                    .expect("json");
                for o in &res.outcomes {
                    match &o.status {
                        OutcomeStatus::Applied { .. } => applied += 1,
                        other => panic!("not applied: {other:?}"),
                    }
                }
            }
            applied
        }));
    }
    let mut applied = 0;
    for t in tasks {
        applied += t.await.expect("join");
    }
    let push_s = started.elapsed().as_secs_f64();
    assert_eq!(applied, total, "every mutation applied");

    // A new device pulls everything, gzip on; bytes counted as they come off the wire.
    let admin = Principal {
        account_id: Uuid::now_v7(),
        name: "pull".into(),
        admin: true,
        grants: vec![],
    };
    let (token, device) = script::token(store, &admin).await;
    let started = Instant::now();
    let (mut cursor, mut changes, mut wire, mut raw) = (0u64, 0usize, 0usize, 0usize);
    loop {
        let req = SyncRequest {
            protocol: PROTOCOL,
            device_id: device,
            cursor,
            limit: None,
            mutations: vec![],
        };
        let res = http
            .post(format!("{}/api/v1/sync", bases[0]))
            .bearer_auth(&token)
            .header("accept-encoding", "gzip")
            .json(&req)
            .send()
            .await
            .expect("pull");
        assert_eq!(
            res.headers().get("content-encoding").map(|v| v.as_bytes()),
            Some(&b"gzip"[..])
        );
        let bytes = res.bytes().await.expect("body");
        wire += bytes.len();
        let mut json = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut json)
            .expect("gunzip");
        raw += json.len();
        let page: SyncResponse = serde_json::from_slice(&json).expect("page");
        changes += page.changes.len();
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    let pull_s = started.elapsed().as_secs_f64();
    format!(
        "pushed {total} mutations ({cells} score cells) from {UNITS} devices in {push_s:.2} s = {:.0} mutations/s; \
         full pull of {changes} records in {pull_s:.2} s; {:.1} bytes/record on the wire gzipped ({:.1} raw JSON)",
        total as f64 / push_s,
        wire as f64 / changes as f64,
        raw as f64 / changes as f64,
    )
}

/// Runs both backends, or the one named by `BENCH_BACKEND` (`sqlite` or `postgres`).
#[tokio::main]
async fn main() {
    let only = std::env::var("BENCH_BACKEND").unwrap_or_default();
    if only.is_empty() || only == "sqlite" {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}/bench.db", dir.path().display());
        let store = SqliteStore::connect(&url).await.expect("sqlite");
        run("SQLite", vec![store]).await;
        if let Ok(bin) = std::env::var("BENCH_SERVER_BIN") {
            run_binary(&bin).await;
        }
    }
    if only.is_empty() || only == "postgres" {
        let pg = PgInstance::start();
        let counts = std::env::var("BENCH_SERVERS").unwrap_or_else(|_| "1,2,3".into());
        for n in counts
            .split(',')
            .filter_map(|n| n.trim().parse::<usize>().ok())
        {
            // Each count on a new database of the same cluster; each server its own pool
            // and block-context cache, as separate processes would have.
            let url = pg.database(&format!("bench_{n}"));
            let mut stores = Vec::new();
            for _ in 0..n {
                stores.push(PgStore::connect(&url).await.expect("postgres"));
            }
            run(&format!("PostgreSQL, {n} server(s)"), stores).await;
        }
    }
}
