//! The database refusing writes, for real: the server's SQLite file lives on a small tmpfs
//! that fills up (ENOSPC, SQLite's "database or disk is full"). A device pushes a batch: the
//! answer is a 503 `unavailable` that the app retries, nothing of the batch is written, and
//! once the disk is freed the same batch applies exactly once (its retry again is all
//! `duplicate`). A read-only remount is not tried: Linux refuses it while the server holds
//! the file open for writing.
//!
//! Mounting needs root (CI runs as root); as another user the test says so and passes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::StatusCode;
use shared::demo;
use shared::mutation::{Mutation, Op};
use shared::protocol::{ErrorBody, ErrorCode, OutcomeStatus, SyncResponse};
use shared::{Hlc, Record};
use thidua_server::{SqliteStore, Store};
use thidua_tests::{TestServer, script};
use uuid::Uuid;

/// A tmpfs of `kib` KiB mounted on a fresh directory; unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(kib: u32) -> Option<Tmpfs> {
        let uid = Command::new("id").arg("-u").output().expect("id -u");
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            eprintln!("disk: not root, so no tmpfs can be mounted; the test does not run");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let size = format!("size={kib}k");
        mount(&["-t", "tmpfs", "-o", &size, "tmpfs"], dir.path());
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

fn mount(args: &[&str], at: &Path) {
    let status = Command::new("mount")
        .args(args)
        .arg(at)
        .status()
        .expect("mount runs");
    assert!(status.success(), "mount {args:?} {}", at.display());
}

/// Fills the file system: writes `path` until the disk refuses.
fn fill(path: &Path) -> PathBuf {
    let file = path.join("filler");
    let mut f = std::fs::File::create(&file).expect("filler");
    let chunk = vec![0x55u8; 16 * 1024];
    while f.write_all(&chunk).and_then(|_| f.sync_data()).is_ok() {}
    // Small writes may still fit in the last block.
    while f
        .write_all(&chunk[..512])
        .and_then(|_| f.sync_data())
        .is_ok()
    {}
    file
}

struct Device {
    id: Uuid,
    token: String,
    hlc: Hlc,
}

impl Device {
    fn batch(&mut self, start_ms: u64, n: u64, label: &str) -> Vec<Mutation> {
        (0..n)
            .map(|i| {
                self.hlc = self.hlc.tick(start_ms + i);
                let criterion = [demo::id(1000), demo::id(1001), demo::id(1003)][i as usize % 3];
                Mutation {
                    id: Uuid::now_v7(),
                    hlc: self.hlc,
                    op: Op::set(
                        criterion,
                        "guidance",
                        serde_json::json!(format!(
                            "{label} {i}: {}",
                            "hướng dẫn chi tiết ".repeat(40)
                        )),
                    ),
                }
            })
            .collect()
    }

    /// Pushes `mutations`: the answer, or the refusal's status and body.
    async fn push(
        &self,
        server: &TestServer,
        mutations: &[Mutation],
    ) -> Result<SyncResponse, (StatusCode, ErrorBody)> {
        let req = script::push_request(self.id, mutations);
        let res = reqwest::Client::new()
            .post(server.url("/api/v1/sync"))
            .bearer_auth(&self.token)
            .json(&req)
            .send()
            .await
            .expect("the server answers");
        let status = res.status();
        if status.is_success() {
            Ok(res.json().await.expect("a sync response"))
        } else {
            Err((status, res.json().await.expect("an ErrorBody")))
        }
    }
}

fn all(res: &SyncResponse, want: &str) -> bool {
    res.outcomes.iter().all(|o| match o.status {
        OutcomeStatus::Applied { .. } => want == "applied",
        OutcomeStatus::Duplicate => want == "duplicate",
        OutcomeStatus::Rejected { .. } => false,
    })
}

async fn audited(store: &SqliteStore, batch: &[Mutation]) -> usize {
    let rows = store
        .audit(demo::BLOCK_ID, 0, 1_000_000)
        .await
        .expect("audit");
    batch
        .iter()
        .map(|m| {
            rows.iter()
                .filter(|r| r.mutation_id == m.id.to_string())
                .count()
        })
        .sum()
}

async fn guidance(store: &SqliteStore, id: Uuid) -> String {
    match store.record(id).await.expect("record").0 {
        Record::Criterion(c) => c.guidance,
        other => panic!("not a criterion: {other:?}"),
    }
}

/// Moves SQLite's write-ahead log back into the database and truncates it, so that the next
/// write needs fresh disk blocks (a WAL file reuses its own space otherwise).
async fn checkpoint(db: &Path) {
    use sqlx::Connection;
    let url = format!("sqlite://{}", db.display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("connect");
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await
        .expect("checkpoint");
    conn.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_and_the_retry_applies_once() {
    let Some(disk) = Tmpfs::mount(8 * 1024) else {
        return;
    };
    let db = disk.path().join("t.db");
    let store = SqliteStore::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("store");
    store.seed_if_empty(&demo::records()).await.expect("seed");
    let server = TestServer::start(store.clone()).await;
    let (token, id) = script::token(&store, &script::secretary()).await;
    let mut dev = Device {
        id,
        token,
        hlc: Hlc::zero(id),
    };
    let before = dev.batch(1_000, 3, "trước");
    assert!(all(
        &dev.push(&server, &before).await.expect("push"),
        "applied"
    ));

    // Twice: the server must come back to normal after the first time, pool and all.
    for fault in ["full", "full again"] {
        checkpoint(&db).await;
        let kept = guidance(&store, demo::id(1000)).await;
        let filler = fill(disk.path());
        let batch = dev.batch(10_000, 60, fault);
        let (status, body) = dev
            .push(&server, &batch)
            .await
            .expect_err("a full disk refuses the push");
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{fault}: {body:?}");
        assert_eq!(body.code, ErrorCode::Unavailable, "{fault}: {body:?}");

        // The disk is freed.
        std::fs::remove_file(filler).expect("free the disk");
        assert_eq!(
            audited(&store, &batch).await,
            0,
            "{fault}: nothing half-written"
        );
        assert_eq!(
            guidance(&store, demo::id(1000)).await,
            kept,
            "{fault}: unchanged"
        );
        let retry = dev
            .push(&server, &batch)
            .await
            .expect("the retry goes through");
        assert!(all(&retry, "applied"), "{fault}: {:?}", retry.outcomes);
        let again = dev.push(&server, &batch).await.expect("and again");
        assert!(all(&again, "duplicate"), "{fault}: {:?}", again.outcomes);
        assert_eq!(
            audited(&store, &batch).await,
            batch.len(),
            "{fault}: once each"
        );
        assert_eq!(audited(&store, &before).await, before.len());
        let last = guidance(&store, demo::id(1000)).await;
        assert!(last.starts_with(&format!("{fault} 57")), "{fault}: {last}");
    }
}
