//! Helpers for the integration tests: a throwaway PostgreSQL server and a real ThiĐua server
//! on port 0, each stopped when dropped. Nothing depends on a service already running.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use thidua_server::{Limits, Store, app, launch};
use tokio::sync::oneshot;

/// A PostgreSQL server of our own in a temporary folder, on a free port.
pub struct PgInstance {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

fn pg_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("THIDUA_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.pop().expect(
        "PostgreSQL binaries not found under /usr/lib/postgresql (run scripts/setup, or set THIDUA_PG_BIN)",
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root (PostgreSQL refuses root).
fn run_pg(bin: &Path, tool: &str, args: &[&str]) {
    let exe = bin.join(tool);
    let status = if is_root() {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(&exe)
            .args(args)
            .stdout(Stdio::null())
            .status()
    } else {
        Command::new(&exe).args(args).stdout(Stdio::null()).status()
    }
    .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
    assert!(status.success(), "{tool} {args:?} failed: {status}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl PgInstance {
    /// Initialises and starts a new cluster; `url` connects to its `thidua` database.
    pub fn start() -> PgInstance {
        let bin = pg_bin();
        let dir = tempfile::Builder::new()
            .prefix("thidua-pg-")
            .tempdir()
            .expect("tempdir");
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success());
        }
        let data = dir.path().join("data");
        let data_s = data.to_string_lossy().into_owned();
        let sock = dir.path().to_string_lossy().into_owned();
        run_pg(
            &bin,
            "initdb",
            &[
                "-D",
                &data_s,
                "-A",
                "trust",
                "-U",
                "thidua",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        let port = free_port();
        let opts = format!(
            "-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        );
        let log = dir.path().join("pg.log").to_string_lossy().into_owned();
        run_pg(
            &bin,
            "pg_ctl",
            &["-D", &data_s, "-o", &opts, "-l", &log, "-w", "start"],
        );
        run_pg(
            &bin,
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "thidua",
                "thidua",
            ],
        );
        PgInstance { dir, bin, port }
    }

    /// The connection URL.
    pub fn url(&self) -> String {
        format!("postgres://thidua@127.0.0.1:{}/thidua", self.port)
    }
}

impl Drop for PgInstance {
    fn drop(&mut self) {
        let data = self.dir.path().join("data").to_string_lossy().into_owned();
        let exe = self.bin.join("pg_ctl");
        let args = ["-D", data.as_str(), "-m", "immediate", "stop"];
        let _ = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&exe)
                .args(args)
                .status()
        } else {
            Command::new(&exe).args(args).status()
        };
    }
}

/// A real ThiĐua server on 127.0.0.1:0, shut down gracefully when dropped.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Starts serving `store` (no static files).
    pub async fn start<S: Store>(store: S) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(launch(
            listener,
            app(store, Limits::default(), None),
            async move {
                let _ = rx.await;
            },
        ));
        TestServer {
            addr,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// The API base URL.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops the server and waits for requests in flight.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
