//! A stopped server loses no acknowledged write: the real binary on SQLite takes pushes from
//! eight devices at once and gets SIGTERM (graceful) or SIGKILL in the middle. After a
//! restart every mutation it answered `applied` is known to it (a retry answers
//! `duplicate`), and the batches that got no answer apply exactly once when retried.

mod common;

use common::{free_port, rename, secretary_login};

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use shared::mutation::Mutation;
use shared::protocol::{OutcomeStatus, PROTOCOL, SyncRequest, SyncResponse, TokenResponse};
use uuid::Uuid;

struct Server {
    child: Child,
    /// The server's log, shown when a call fails.
    log: std::path::PathBuf,
    base: String,
}

impl Server {
    async fn start(db: &str, static_dir: &std::path::Path) -> Server {
        let port = free_port();
        let log = static_dir.join(format!("server-{port}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_thidua-server"))
            .args(["serve", "--seed-demo", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--database-url")
            .arg(db)
            .arg("--static-dir")
            .arg(static_dir)
            .env("RUST_LOG", "warn")
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("spawn thidua-server");
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while reqwest::get(format!("{base}/api/v1/health")).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Server { child, log, base }
    }

    async fn login(&self, http: &reqwest::Client, device: Uuid) -> String {
        let res = http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&secretary_login(device))
            .send()
            .await
            .expect("login");
        let status = res.status();
        let body = res.text().await.expect("login body");
        assert!(
            status.is_success(),
            "login: {status} {body}\nserver log:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
        serde_json::from_str::<TokenResponse>(&body)
            .expect("token")
            .token
    }

    /// Sends `signal` and waits for the process to end.
    fn signal(&mut self, signal: &str) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no exit after {signal}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn push(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    device: Uuid,
    mutations: Vec<Mutation>,
) -> Result<SyncResponse, reqwest::Error> {
    http.post(format!("{base}/api/v1/sync"))
        .bearer_auth(token)
        .json(&SyncRequest {
            protocol: PROTOCOL,
            device_id: device,
            cursor: u64::MAX / 2,
            limit: Some(1),
            mutations,
        })
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
}

/// What a device knows after the stop: answered mutations, and the batch left unanswered.
struct Outcome {
    device: Uuid,
    acknowledged: Vec<Mutation>,
    unanswered: Vec<Mutation>,
}

async fn stop_during_pushes(signal: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("index.html"), "<!doctype html>").expect("index");
    let db = format!("sqlite://{}/thidua.db", dir.path().display());
    let http = reqwest::Client::new();
    let mut server = Server::start(&db, dir.path()).await;

    // Eight devices push batches of 10 until the server stops answering.
    let mut tasks = Vec::new();
    for d in 0..8u32 {
        let device = Uuid::now_v7();
        let token = server.login(&http, device).await;
        let (http, base) = (http.clone(), server.base.clone());
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut unanswered = Vec::new();
            for batch in 0..100_000u32 {
                let muts: Vec<Mutation> = (0..10)
                    .map(|i| rename(device, d * 1_000_000 + batch * 10 + i))
                    .collect();
                match push(&http, &base, &token, device, muts.clone()).await {
                    Ok(res) => {
                        for (m, o) in muts.into_iter().zip(res.outcomes) {
                            assert!(matches!(o.status, OutcomeStatus::Applied { .. }), "{o:?}");
                            acknowledged.push(m);
                        }
                    }
                    Err(_) => {
                        unanswered = muts;
                        break;
                    }
                }
            }
            Outcome {
                device,
                acknowledged,
                unanswered,
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = server.signal(signal);
    if signal == "-TERM" {
        assert!(status.success(), "graceful exit, got {status}");
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.expect("join"));
    }
    let total: usize = outcomes.iter().map(|o| o.acknowledged.len()).sum();
    assert!(total > 0, "some pushes were answered before the stop");

    // Restarted on the same file, the server knows every acknowledged mutation; an
    // unanswered batch applies now or was applied before, and a second retry is a duplicate.
    let server = Server::start(&db, dir.path()).await;
    for o in outcomes {
        let token = server.login(&http, o.device).await;
        for chunk in o.acknowledged.chunks(1_000) {
            let res = push(&http, &server.base, &token, o.device, chunk.to_vec())
                .await
                .expect("retry");
            for r in &res.outcomes {
                assert_eq!(
                    r.status,
                    OutcomeStatus::Duplicate,
                    "an acknowledged push was lost"
                );
            }
        }
        if o.unanswered.is_empty() {
            continue;
        }
        for round in 0..2 {
            let res = push(&http, &server.base, &token, o.device, o.unanswered.clone())
                .await
                .expect("retry unanswered");
            for r in &res.outcomes {
                match (round, &r.status) {
                    (0, OutcomeStatus::Applied { .. } | OutcomeStatus::Duplicate)
                    | (1, OutcomeStatus::Duplicate) => {}
                    (_, other) => panic!("retry {round} of an unanswered push: {other:?}"),
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_loses_no_acknowledged_push() {
    stop_during_pushes("-TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_loses_no_acknowledged_push() {
    stop_during_pushes("-KILL").await;
}
