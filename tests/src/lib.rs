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

    /// Creates the empty database `name` in this cluster; returns its URL.
    pub fn database(&self, name: &str) -> String {
        run_pg(
            &self.bin,
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "thidua",
                name,
            ],
        );
        format!("postgres://thidua@127.0.0.1:{}/{name}", self.port)
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

pub mod load;

/// A synthetic conference for benchmarks and load runs.
pub mod conference {
    use shared::access::Principal;
    use shared::model::{
        Block, BlockKind, BlockLevel, Content, Covenant, Criterion, CriterionKind, Unit,
    };
    use shared::mutation::{Mutation, Op};
    use shared::protocol::OutcomeStatus;
    use shared::round::{Assignment, Stage};
    use shared::rules::BlockRules;
    use shared::{Points, Record};
    use thidua_server::Store;
    use uuid::Uuid;

    use crate::script::m;

    /// A block set up for scoring: its units, criteria and an open cross-scoring round.
    pub struct Conference {
        /// The block.
        pub block: Uuid,
        /// The open cross-scoring round.
        pub round: Uuid,
        /// Its criteria (all standard, 2.5 points each).
        pub criteria: Vec<Uuid>,
        /// Its member units.
        pub units: Vec<Uuid>,
        /// Who scores whom.
        pub assignment: Assignment,
    }

    /// Creates, as an administrator, a block of `units` members, an agreed covenant of
    /// `criteria` standard criteria in 8 contents and an open cross-scoring round where each
    /// unit scores `per_unit` others drawn by lot.
    pub async fn setup<S: Store>(
        store: &S,
        units: usize,
        per_unit: u32,
        criteria: usize,
    ) -> Conference {
        let admin = Principal {
            account_id: Uuid::now_v7(),
            name: "bench".into(),
            admin: true,
            grants: vec![],
        };
        let dev = Uuid::now_v7();
        let units: Vec<Uuid> = (0..units).map(|_| Uuid::now_v7()).collect();
        let block = Uuid::now_v7();
        let covenant = Uuid::now_v7();
        let round = Uuid::now_v7();
        let mut ops: Vec<Op> = units
            .iter()
            .enumerate()
            .map(|(i, id)| Op::Create {
                record: Record::Unit(Unit {
                    id: *id,
                    name: format!("Đơn vị thành viên số {i}"),
                    short_name: format!("ĐV {i}"),
                }),
            })
            .collect();
        ops.push(Op::Create {
            record: Record::Block(Block {
                id: block,
                name: "Khối thi đua thử tải".into(),
                year: 2026,
                kind: BlockKind::Khoi,
                level: BlockLevel::Provincial,
                province: "Thử".into(),
                members: units.clone(),
                head: Some(units[0]),
                deputy: Some(units[1]),
                rules: BlockRules::default(),
                meeting: Default::default(),
            }),
        });
        ops.push(Op::Create {
            record: Record::Covenant(Covenant::draft(covenant, block, "Giao ước thử tải".into())),
        });
        let per_content = (criteria / 8).max(1) as u32;
        let mut criteria = Vec::new();
        for c in 0..8u32 {
            let content = Uuid::now_v7();
            ops.push(Op::Create {
                record: Record::Content(Content {
                    id: content,
                    block_id: block,
                    covenant_id: covenant,
                    position: c,
                    code: format!("{}", c + 1),
                    title: format!("Nội dung {}", c + 1),
                }),
            });
            for k in 0..per_content {
                let id = Uuid::now_v7();
                criteria.push(id);
                ops.push(Op::Create {
                    record: Record::Criterion(Criterion {
                        id,
                        block_id: block,
                        content_id: content,
                        parent_id: None,
                        position: k,
                        code: format!("{}.{}", c + 1, k + 1),
                        title: format!("Tiêu chí {}.{}", c + 1, k + 1),
                        guidance: String::new(),
                        kind: CriterionKind::Standard,
                        max_points: Points::from_hundredths(250),
                    }),
                });
            }
        }
        ops.push(Op::set(covenant, "status", serde_json::json!("agreed")));
        let assignment = Assignment::draw(&units, per_unit, 20_261_121).expect("draw");
        ops.push(Op::Create {
            record: Record::Round(shared::model::Round {
                id: round,
                block_id: block,
                covenant_id: covenant,
                stage: Stage::CrossScoring,
                state: shared::round::RoundState::Open,
                assignment: assignment.clone(),
            }),
        });
        let muts: Vec<Mutation> = ops
            .into_iter()
            .enumerate()
            .map(|(i, op)| m(dev, 1_000 + i as u64, op))
            .collect();
        for o in store.push(&admin, dev, &muts).await.expect("setup push") {
            assert!(
                matches!(o.status, OutcomeStatus::Applied { .. }),
                "setup: {o:?}"
            );
        }
        Conference {
            block,
            round,
            criteria,
            units,
            assignment,
        }
    }
}

/// A fresh SQLite store in a temporary folder (kept while the folder lives), seeded with
/// the demo block.
pub async fn demo_sqlite() -> (tempfile::TempDir, thidua_server::SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        thidua_server::SqliteStore::connect(&format!("sqlite://{}/t.db", dir.path().display()))
            .await
            .expect("store");
    store
        .seed_if_empty(&shared::demo::records())
        .await
        .expect("seed");
    (dir, store)
}

/// Principals, tokens and mutations for the demo block: what a conference's devices send.
pub mod script {
    use std::sync::atomic::{AtomicU32, Ordering};

    use shared::access::{Grant, Principal, Role};
    use shared::ballot::{BallotOption, BallotPurpose, BallotState};
    use shared::model::{Ballot, Round, ScoreCell, ScoreSheet};
    use shared::mutation::{Mutation, Op};
    use shared::round::{Assignment, RoundState, Stage};
    use shared::sheet::CellValue;
    use shared::{Hlc, Record, demo};
    use thidua_server::Store;
    use thidua_server::store::AccountRow;
    use uuid::Uuid;

    static COUNTER: AtomicU32 = AtomicU32::new(0);

    /// The demo block.
    pub const BLOCK: Uuid = demo::BLOCK_ID;

    /// Member unit `n` (1..=9) of the demo block.
    pub fn unit(n: u16) -> Uuid {
        demo::id(n)
    }

    /// An account with one role on the demo block.
    pub fn principal(role: Option<Role>, unit: Option<Uuid>, admin: bool) -> Principal {
        Principal {
            account_id: Uuid::now_v7(),
            name: "test".into(),
            admin,
            grants: role
                .map(|role| Grant {
                    block_id: BLOCK,
                    role,
                    unit,
                })
                .into_iter()
                .collect(),
        }
    }

    /// A push of `mutations` from `device` that pulls one change back (the faults' request).
    pub fn push_request(device: Uuid, mutations: &[Mutation]) -> shared::protocol::SyncRequest {
        shared::protocol::SyncRequest {
            protocol: shared::protocol::PROTOCOL,
            device_id: device,
            cursor: 0,
            limit: Some(1),
            mutations: mutations.to_vec(),
        }
    }

    /// The demo block's secretary.
    pub fn secretary() -> Principal {
        principal(Some(Role::Secretary), None, false)
    }

    /// The delegate of unit `n`.
    pub fn delegate(n: u16) -> Principal {
        principal(Some(Role::Delegate), Some(unit(n)), false)
    }

    /// A mutation stamped `ms` by `device`, with a fresh id.
    pub fn m(device: Uuid, ms: u64, op: Op) -> Mutation {
        Mutation {
            id: Uuid::now_v7(),
            hlc: Hlc {
                ms,
                counter: COUNTER.fetch_add(1, Ordering::Relaxed),
                node: device,
            },
            op,
        }
    }

    /// Sets the demo covenant's status.
    pub fn covenant_status(status: &str) -> Op {
        Op::set(demo::COVENANT_ID, "status", serde_json::json!(status))
    }

    /// A new open round of `stage` on the demo covenant.
    pub fn round(id: Uuid, stage: Stage, assignment: Assignment) -> Op {
        Op::Create {
            record: Record::Round(Round {
                id,
                block_id: BLOCK,
                covenant_id: demo::COVENANT_ID,
                stage,
                state: RoundState::Open,
                assignment,
            }),
        }
    }

    /// A new sheet.
    pub fn sheet(id: Uuid, round: Uuid, scorer: Uuid, subject: Uuid) -> Op {
        Op::Create {
            record: Record::ScoreSheet(ScoreSheet {
                id,
                block_id: BLOCK,
                round_id: round,
                scorer,
                subject,
                submitted: false,
            }),
        }
    }

    /// A new cell.
    pub fn cell(id: Uuid, sheet: Uuid, criterion: Uuid, value: CellValue) -> Op {
        Op::Create {
            record: Record::ScoreCell(ScoreCell {
                id,
                block_id: BLOCK,
                sheet_id: sheet,
                criterion_id: criterion,
                value,
                note: String::new(),
                evidence: String::new(),
            }),
        }
    }

    /// An open ballot electing next year's head among units 1 and 2, all nine voting.
    pub fn ballot(id: Uuid) -> Op {
        let members: Vec<Uuid> = (1..=9).map(unit).collect();
        Op::Create {
            record: Record::Ballot(Ballot {
                id,
                block_id: BLOCK,
                title: "Suy tôn Khối trưởng năm 2027".into(),
                purpose: BallotPurpose::ElectHead,
                options: vec![
                    BallotOption {
                        id: Uuid::from_u128(0xB1),
                        label: "MTTQ Việt Nam".into(),
                        unit: Some(unit(1)),
                    },
                    BallotOption {
                        id: Uuid::from_u128(0xB2),
                        label: "Trung ương Đoàn".into(),
                        unit: Some(unit(2)),
                    },
                ],
                max_choices: 1,
                rule: shared::rules::BlockRules::default().majority,
                eligible: members.clone(),
                present: members,
                state: BallotState::Open,
                voted: Vec::new(),
                result: None,
            }),
        }
    }

    /// The demo covenant's scorable leaves: (criterion, its maximum in whole points) for
    /// standard criteria.
    pub fn standard_leaves() -> Vec<(Uuid, i64)> {
        let records = demo::records();
        let parents: Vec<Uuid> = records
            .iter()
            .filter_map(|r| match r {
                Record::Criterion(c) => c.parent_id,
                _ => None,
            })
            .collect();
        records
            .iter()
            .filter_map(|r| match r {
                Record::Criterion(c)
                    if c.kind == shared::model::CriterionKind::Standard
                        && !parents.contains(&c.id) =>
                {
                    Some((c.id, c.max_points.hundredths() / 100))
                }
                _ => None,
            })
            .collect()
    }

    /// Creates an account without a password for `principal` and a device token for it;
    /// returns (token, device id).
    pub async fn token<S: Store>(store: &S, p: &Principal) -> (String, Uuid) {
        store
            .create_account(&AccountRow {
                id: p.account_id,
                username: format!("t-{}", p.account_id),
                name: p.name.clone(),
                password_hash: None,
                admin: p.admin,
            })
            .await
            .expect("account");
        for g in &p.grants {
            store.set_grant(p.account_id, g).await.expect("grant");
        }
        let (token, hash) = thidua_server::auth::new_token().expect("token");
        let device = Uuid::now_v7();
        store
            .insert_token(&hash, p.account_id, device, "test", i64::MAX / 2)
            .await
            .expect("insert token");
        (token, device)
    }
}
