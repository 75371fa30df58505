//! Faults on the wire between a device and the real server (the HTTP API on 127.0.0.1):
//! - the connection cut after the server applied a push but before the device read the
//!   answer (a proxy lets the answer arrive, then drops it and the connection);
//! - the same push delivered twice at once;
//! - pushes delivered out of order.
//!
//! For each, the device retries as the app does, and every change is on the server exactly
//! once (one audit entry per mutation id) with the newest stamp winning each field.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use shared::demo;
use shared::mutation::{Mutation, Op};
use shared::protocol::{OutcomeStatus, SyncResponse};
use shared::{Hlc, Record};
use thidua_server::{SqliteStore, Store};
use thidua_tests::{TestServer, script};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

/// A TCP proxy to `target`. While `cut` is set, the next answer is read from the server in
/// full and then dropped with the connection, so the client sees the connection fail.
async fn proxy(target: SocketAddr, cut: Arc<AtomicBool>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let cut = cut.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(target).await else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                });
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match sr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if cut.swap(false, Ordering::SeqCst) {
                        // The answer has started: the push is committed. Let the rest of it
                        // arrive, then drop it all.
                        while let Ok(Ok(m)) =
                            tokio::time::timeout(Duration::from_millis(200), sr.read(&mut buf))
                                .await
                        {
                            if m == 0 {
                                break;
                            }
                        }
                        up.abort();
                        return;
                    }
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                up.abort();
            });
        }
    });
    addr
}

struct Device {
    id: Uuid,
    token: String,
    hlc: Hlc,
}

impl Device {
    fn edit(&mut self, ms: u64, criterion: Uuid, title: &str) -> Mutation {
        self.hlc = self.hlc.tick(ms);
        Mutation {
            id: Uuid::now_v7(),
            hlc: self.hlc,
            op: Op::set(criterion, "title", serde_json::json!(title)),
        }
    }

    async fn push(
        &self,
        http: &reqwest::Client,
        base: &str,
        mutations: &[Mutation],
    ) -> Result<SyncResponse, reqwest::Error> {
        let req = script::push_request(self.id, mutations);
        http.post(format!("{base}/api/v1/sync"))
            .bearer_auth(&self.token)
            .json(&req)
            .send()
            .await?
            .error_for_status()?
            .json::<SyncResponse>()
            .await
    }
}

fn statuses(res: &SyncResponse) -> Vec<&'static str> {
    res.outcomes
        .iter()
        .map(|o| match o.status {
            OutcomeStatus::Applied { .. } => "applied",
            OutcomeStatus::Duplicate => "duplicate",
            _ => "rejected",
        })
        .collect()
}

async fn audit_count(store: &SqliteStore, id: Uuid) -> usize {
    store
        .audit(demo::BLOCK_ID, 0, 100_000)
        .await
        .expect("audit")
        .iter()
        .filter(|r| r.mutation_id == id.to_string())
        .count()
}

async fn title(store: &SqliteStore, id: Uuid) -> String {
    match store.record(id).await.expect("record").0 {
        Record::Criterion(c) => c.title,
        other => panic!("not a criterion: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_duplicates_and_reordering_apply_each_change_once() {
    let (_dir, store) = thidua_tests::demo_sqlite().await;
    let server = TestServer::start(store.clone()).await;
    let cut = Arc::new(AtomicBool::new(false));
    let via = proxy(server.addr, cut.clone()).await;
    let base = format!("http://{via}");
    // A fresh connection per request, as after a cut.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let (token, id) = script::token(&store, &script::secretary()).await;
    let mut dev = Device {
        id,
        token,
        hlc: Hlc::zero(id),
    };
    let (c1, c2, c3) = (demo::id(1000), demo::id(1001), demo::id(1003));

    // 1. The answer is lost after the server applied the push.
    let batch: Vec<Mutation> = (0..20)
        .map(|i| dev.edit(1_000 + i, [c1, c2, c3][i as usize % 3], &format!("Lần {i}")))
        .collect();
    cut.store(true, Ordering::SeqCst);
    let lost = dev.push(&http, &base, &batch).await;
    assert!(
        lost.is_err(),
        "the device must not see the answer: {lost:?}"
    );
    for m in &batch {
        assert_eq!(audit_count(&store, m.id).await, 1, "applied before the cut");
    }
    // The device retries the same batch: every mutation is a duplicate, applied once.
    let retry = dev.push(&http, &base, &batch).await.expect("retry");
    assert_eq!(statuses(&retry), vec!["duplicate"; 20]);
    for m in &batch {
        assert_eq!(audit_count(&store, m.id).await, 1, "once after the retry");
    }
    assert_eq!(title(&store, c3).await, "Lần 17");

    // 2. The same push delivered twice at once.
    let twice = vec![
        dev.edit(2_000, c1, "Hai lần"),
        dev.edit(2_001, c2, "Hai lần"),
    ];
    let (a, b) = tokio::join!(
        dev.push(&http, &base, &twice),
        dev.push(&http, &base, &twice)
    );
    let (a, b) = (a.expect("first"), b.expect("second"));
    for (i, m) in twice.iter().enumerate() {
        let pair = [statuses(&a)[i], statuses(&b)[i]];
        assert!(
            pair == ["applied", "duplicate"] || pair == ["duplicate", "applied"],
            "one delivery applies, the other is a duplicate: {pair:?}"
        );
        assert_eq!(audit_count(&store, m.id).await, 1);
    }

    // 3. Out of order: the newer edit arrives first, the older one after; the newer stamp
    //    keeps the field, and both are recorded once.
    let older = dev.edit(3_000, c1, "Cũ hơn");
    let newer = dev.edit(3_001, c1, "Mới hơn");
    let first = dev
        .push(&http, &base, std::slice::from_ref(&newer))
        .await
        .expect("newer");
    let second = dev
        .push(&http, &base, std::slice::from_ref(&older))
        .await
        .expect("older");
    assert_eq!(statuses(&first), ["applied"]);
    assert_eq!(statuses(&second), ["applied"]);
    assert_eq!(title(&store, c1).await, "Mới hơn");
    assert_eq!(audit_count(&store, older.id).await, 1);
    assert_eq!(audit_count(&store, newer.id).await, 1);

    server.stop().await;
}
