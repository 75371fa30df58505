//! The convergence model test: random schedules of devices editing offline and syncing in
//! random orders through the server's real push and pull (the SQLite store, and three
//! servers on one PostgreSQL database, each device pushing through one and pulling through
//! the next; the shared rules), with requests lost, answers lost after the server applied them, deliveries
//! duplicated, pages of random sizes and device clocks a day ahead or behind. Devices keep
//! what the app keeps: the server's copy of each record, an outbox, and the view of the two
//! (`shared::mutation::replay`, the function the app uses).
//!
//! Every schedule must end, after a last round of clean syncs, with every device showing
//! exactly the server's records, every outbox empty, and every mutation applied once (one
//! audit entry per mutation id, whatever the duplicates). Schedules are drawn from a seed;
//! a failure names it. `THIDUA_CONVERGENCE_CASES` sets how many (default 60; the
//! reliability report runs thousands).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use shared::access::Principal;
use shared::demo;
use shared::lot::Lot;
use shared::mutation::{self, Mutation, Op};
use shared::protocol::OutcomeStatus;
use shared::{Hlc, Record};
use thidua_server::{PgStore, Store};
use thidua_tests::script;
use uuid::Uuid;

const DAY_MS: i64 = 86_400_000;

/// A device as the app is one.
struct Device {
    id: Uuid,
    skew_ms: i64,
    hlc: Hlc,
    cursor: u64,
    base: BTreeMap<Uuid, Record>,
    outbox: Vec<Mutation>,
}

impl Device {
    fn view(&self, id: Uuid) -> Option<Record> {
        mutation::replay(
            self.base.get(&id),
            self.outbox.iter().filter(|m| m.op.target() == id),
        )
    }

    fn views(&self) -> BTreeMap<Uuid, Record> {
        let ids: BTreeSet<Uuid> = self
            .base
            .keys()
            .copied()
            .chain(self.outbox.iter().map(|m| m.op.target()))
            .collect();
        ids.into_iter()
            .filter_map(|id| self.view(id).map(|r| (id, r)))
            .collect()
    }
}

/// How one sync attempt goes wrong, if it does.
#[derive(Clone, Copy, Debug)]
enum Fault {
    None,
    /// The request never reaches the server.
    RequestLost,
    /// The server applies the push, and the answer never reaches the device.
    AnswerLost,
    /// The request arrives twice; the device reads the second answer.
    Duplicated,
}

struct World<S: Store> {
    /// The servers: device `d` pushes through `d % n` and pulls through `(d + 1) % n`.
    stores: Vec<S>,
    who: Principal,
    devices: Vec<Device>,
    /// Every mutation a device queued.
    created: BTreeSet<Uuid>,
    /// Mutations some device saw acknowledged (applied or duplicate).
    acknowledged: BTreeSet<Uuid>,
    /// Mutations the server answered `applied` for, with how many times.
    applied: HashMap<Uuid, u32>,
}

impl<S: Store> World<S> {
    async fn sync(&mut self, d: usize, fault: Fault, limit: u32) {
        let mut rounds = 0;
        loop {
            rounds += 1;
            assert!(rounds < 1000, "a sync must end");
            let dev = &self.devices[d];
            let batch: Vec<Mutation> = dev.outbox.iter().take(20).cloned().collect();
            let (device_id, cursor) = (dev.id, dev.cursor);
            if matches!(fault, Fault::RequestLost) {
                return;
            }
            let times = if matches!(fault, Fault::Duplicated) {
                2
            } else {
                1
            };
            let mut answer = None;
            for _ in 0..times {
                let outcomes = self.stores[d % self.stores.len()]
                    .push(&self.who, device_id, &batch)
                    .await
                    .expect("push");
                for o in &outcomes {
                    if matches!(o.status, OutcomeStatus::Applied { .. }) {
                        *self.applied.entry(o.mutation_id).or_default() += 1;
                    }
                }
                let page = self.stores[(d + 1) % self.stores.len()]
                    .pull(None, cursor, limit)
                    .await
                    .expect("pull");
                answer = Some((outcomes, page));
            }
            if matches!(fault, Fault::AnswerLost) {
                return;
            }
            let (outcomes, page) = answer.expect("an answer");
            let dev = &mut self.devices[d];
            for o in &outcomes {
                assert!(
                    o.rejection().is_none(),
                    "a valid edit was refused: {:?}",
                    o.status
                );
                self.acknowledged.insert(o.mutation_id);
            }
            let done: BTreeSet<Uuid> = outcomes.iter().map(|o| o.mutation_id).collect();
            dev.outbox.retain(|m| !done.contains(&m.id));
            for c in page.decode().expect("page") {
                if let Some(stamp) = c.latest_stamp() {
                    dev.hlc = dev.hlc.observe(stamp);
                }
                if c.deleted {
                    dev.base.remove(&c.record.id());
                } else {
                    dev.base.insert(c.record.id(), c.record);
                }
            }
            dev.cursor = page.cursor;
            if !page.more && dev.outbox.is_empty() {
                return;
            }
        }
    }
}

/// Edits a device may make offline: texts of three criteria and a content.
fn edit(lot: &mut Lot, dev: &mut Device, now_ms: i64, n: usize) -> Uuid {
    let targets = [
        (demo::id(1000), "title"),
        (demo::id(1000), "guidance"),
        (demo::id(1001), "title"),
        (demo::id(1003), "guidance"),
        (demo::id(300), "title"),
    ];
    let (id, field) = targets[lot.below(targets.len() as u64) as usize];
    let wall = u64::try_from(now_ms + dev.skew_ms).unwrap_or(0);
    dev.hlc = dev.hlc.tick(wall);
    let m = Mutation {
        id: Uuid::now_v7(),
        hlc: dev.hlc,
        op: Op::set(
            id,
            field,
            serde_json::json!(format!("Sửa {n} của {}", dev.id.simple())),
        ),
    };
    // The app checks an edit against what it shows before queueing it.
    mutation::apply(&m, dev.view(id).as_ref(), &Default::default()).expect("a valid edit");
    let mid = m.id;
    dev.outbox.push(m);
    mid
}

async fn schedule<S: Store>(seed: u64, stores: Vec<S>) {
    let store = stores[0].clone();
    let who = script::secretary();
    script::token(&store, &who).await;
    let mut lot = Lot::new(seed);
    let n_devices = 2 + lot.below(3) as usize;
    let skews = [0, DAY_MS, -DAY_MS, 300_000, -90_000];
    let devices = (0..n_devices)
        .map(|_| {
            let id = Uuid::now_v7();
            Device {
                id,
                skew_ms: skews[lot.below(skews.len() as u64) as usize],
                hlc: Hlc::zero(id),
                cursor: 0,
                base: BTreeMap::new(),
                outbox: Vec::new(),
            }
        })
        .collect();
    let mut w = World {
        stores,
        who,
        devices,
        created: BTreeSet::new(),
        acknowledged: BTreeSet::new(),
        applied: HashMap::new(),
    };
    for d in 0..n_devices {
        w.sync(d, Fault::None, 1000).await;
    }
    let mut now_ms: i64 = 1_800_000_000_000;
    let steps = 10 + lot.below(40);
    for n in 0..steps {
        now_ms += 1 + lot.below(5_000) as i64;
        let d = lot.below(n_devices as u64) as usize;
        if lot.below(3) < 2 {
            let id = edit(&mut lot, &mut w.devices[d], now_ms, n as usize);
            w.created.insert(id);
        } else {
            let fault = match lot.below(6) {
                0 => Fault::RequestLost,
                1 => Fault::AnswerLost,
                2 => Fault::Duplicated,
                _ => Fault::None,
            };
            let limit = [1, 3, 7, 1000][lot.below(4) as usize];
            w.sync(d, fault, limit).await;
        }
    }
    // The network comes back for good: two clean rounds.
    for _ in 0..2 {
        for d in 0..n_devices {
            w.sync(d, Fault::None, 1000).await;
        }
    }

    let server: BTreeMap<Uuid, Record> = store
        .pull(None, 0, 5000)
        .await
        .expect("pull")
        .decode()
        .expect("decode")
        .into_iter()
        .filter(|c| !c.deleted)
        .map(|c| (c.record.id(), c.record))
        .collect();
    for (i, dev) in w.devices.iter().enumerate() {
        assert!(
            dev.outbox.is_empty(),
            "seed {seed}: device {i} still has changes waiting"
        );
        assert!(
            dev.views() == server,
            "seed {seed}: device {i} does not show the server's records"
        );
    }
    assert_eq!(
        w.created, w.acknowledged,
        "seed {seed}: every queued change is acknowledged"
    );
    for (id, times) in &w.applied {
        assert_eq!(
            *times, 1,
            "seed {seed}: mutation {id} applied {times} times"
        );
    }
    // Exactly one audit entry per acknowledged mutation: nothing lost, nothing twice.
    let audit = store
        .audit(demo::BLOCK_ID, 0, 100_000)
        .await
        .expect("audit");
    let mut per_mutation: HashMap<String, u32> = HashMap::new();
    for row in &audit {
        *per_mutation.entry(row.mutation_id.clone()).or_default() += 1;
    }
    for id in &w.acknowledged {
        assert_eq!(
            per_mutation.get(&id.to_string()).copied(),
            Some(1),
            "seed {seed}: acknowledged mutation {id} in the audit log"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_schedules_converge() {
    let cases: u64 = std::env::var("THIDUA_CONVERGENCE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let first: u64 = std::env::var("THIDUA_CONVERGENCE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    for seed in first..first + cases {
        let (_dir, store) = thidua_tests::demo_sqlite().await;
        schedule(seed, vec![store]).await;
    }
    println!("convergence: {cases} schedules from seed {first} converged");
}

/// The same schedules through three servers on one PostgreSQL database (a third as many:
/// each needs a new database).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_schedules_converge_across_three_servers_on_postgres() {
    let cases: u64 = std::env::var("THIDUA_CONVERGENCE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(20, |n: u64| n.div_ceil(3));
    let pg = thidua_tests::PgInstance::start();
    for seed in 1..=cases {
        let url = pg.database(&format!("schedule_{seed}"));
        let mut stores = Vec::new();
        for _ in 0..3 {
            stores.push(PgStore::connect(&url).await.expect("server"));
        }
        stores[0]
            .seed_if_empty(&shared::demo::records())
            .await
            .expect("seed");
        schedule(seed, stores).await;
    }
    println!("convergence: {cases} schedules across three PostgreSQL servers converged");
}
