//! Several simulated devices editing offline and syncing through a real server on port 0,
//! with retried and reordered pushes: every device ends with the same state as the server.

use std::collections::BTreeMap;

use shared::demo;
use shared::mutation::{self, FieldClocks, Mutation, Op};
use shared::protocol::{PROTOCOL, SyncRequest, SyncResponse};
use shared::{Hlc, Record};
use thidua_server::SqliteStore;
use thidua_server::Store;
use thidua_tests::TestServer;
use thidua_tests::script;
use uuid::Uuid;

/// A device as the app is one: local records, an outbox, a cursor and a clock.
struct Device {
    id: Uuid,
    token: String,
    hlc: Hlc,
    cursor: u64,
    records: BTreeMap<Uuid, Record>,
    outbox: Vec<Mutation>,
}

impl Device {
    async fn new<S: Store>(store: &S) -> Device {
        let (token, id) = script::token(store, &script::secretary()).await;
        Device {
            id,
            token,
            hlc: Hlc::zero(id),
            cursor: 0,
            records: BTreeMap::new(),
            outbox: Vec::new(),
        }
    }

    fn edit(&mut self, now_ms: u64, criterion: Uuid, title: &str) {
        self.hlc = self.hlc.tick(now_ms);
        let m = Mutation {
            id: Uuid::now_v7(),
            hlc: self.hlc,
            op: Op::set(criterion, "title", serde_json::json!(title)),
        };
        let applied = mutation::apply(&m, self.records.get(&criterion), &FieldClocks::new())
            .expect("valid edit");
        self.records.insert(criterion, applied.record);
        self.outbox.push(m);
    }

    async fn sync(&mut self, http: &reqwest::Client, server: &TestServer, retry: bool) {
        loop {
            let req = SyncRequest {
                protocol: PROTOCOL,
                device_id: self.id,
                cursor: self.cursor,
                limit: Some(10),
                mutations: self.outbox.clone(),
            };
            let times = if retry { 2 } else { 1 };
            let mut res = None;
            for _ in 0..times {
                let r = http
                    .post(server.url("/api/v1/sync"))
                    .bearer_auth(&self.token)
                    .json(&req)
                    .send()
                    .await
                    .expect("send");
                assert_eq!(r.status(), 200);
                res = Some(r.json::<SyncResponse>().await.expect("json"));
            }
            let res = res.expect("one response");
            assert_eq!(res.outcomes.len(), self.outbox.len());
            self.outbox.clear();
            for c in res.changes {
                if let Some(stamp) = c.latest_stamp() {
                    self.hlc = self.hlc.observe(stamp);
                }
                self.records.insert(c.record.id(), c.record);
            }
            self.cursor = res.cursor;
            if !res.more {
                return;
            }
        }
    }
}

/// A real server on a fresh SQLite file seeded with the demo block.
async fn demo_server() -> (tempfile::TempDir, SqliteStore, TestServer) {
    let (dir, store) = thidua_tests::demo_sqlite().await;
    let server = TestServer::start(store.clone()).await;
    (dir, store, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_converge_through_a_real_server() {
    let (_dir, store, server) = demo_server().await;
    let http = reqwest::Client::new();
    let mut devices = Vec::new();
    for _ in 0..4 {
        devices.push(Device::new(&store).await);
    }
    for d in &mut devices {
        d.sync(&http, &server, false).await;
        assert_eq!(d.records.len(), demo::records().len());
    }

    // Offline edits on overlapping criteria; device 3's clock runs a day ahead.
    let (c1, c2) = (demo::id(1000), demo::id(1002));
    devices[0].edit(1_000, c1, "A sửa 1.1");
    devices[1].edit(1_005, c1, "B sửa 1.1");
    devices[1].edit(1_006, c2, "B sửa 2.1");
    devices[2].edit(900, c2, "C sửa 2.1");
    devices[3].edit(86_400_000 + 10, c1, "D sửa 1.1 (đồng hồ nhanh)");

    // Sync in a scrambled order, with retried pushes, then once more all round.
    for (i, retry) in [(2, true), (0, false), (3, true), (1, false)] {
        devices[i].sync(&http, &server, retry).await;
    }
    for d in &mut devices {
        d.sync(&http, &server, false).await;
    }

    // Newest stamp wins per field: D's day-ahead clock on 1.1, B's 1_006 on 2.1.
    assert_all_hold(&store, &devices, c1, "D sửa 1.1 (đồng hồ nhanh)").await;
    assert_all_hold(&store, &devices, c2, "B sửa 2.1").await;
    for d in &devices {
        assert_eq!(d.records, devices[0].records);
    }

    // Device 2's wall clock is far behind device 3's stamp, but it has seen that stamp:
    // its later edit wins everywhere.
    devices[2].edit(1_100, c1, "C sửa 1.1 sau cùng");
    devices[2].sync(&http, &server, false).await;
    for d in &mut devices {
        d.sync(&http, &server, false).await;
    }
    assert_all_hold(&store, &devices, c1, "C sửa 1.1 sau cùng").await;
    server.stop().await;
}

fn title_of(r: Option<&Record>) -> String {
    match r {
        Some(Record::Criterion(c)) => c.title.clone(),
        other => panic!("criterion missing: {other:?}"),
    }
}

/// The server and every device hold `title` for `criterion`.
async fn assert_all_hold(store: &SqliteStore, devices: &[Device], criterion: Uuid, title: &str) {
    let on_server = title_of(Some(&store.record(criterion).await.expect("record").0));
    assert_eq!(on_server, title);
    for d in devices {
        assert_eq!(
            title_of(d.records.get(&criterion)),
            title,
            "device {}",
            d.id
        );
    }
}

/// The next `change` event of a stream, which must come within 2 seconds.
async fn next_change(stream: &mut reqwest::Response) -> String {
    tokio::time::timeout(std::time::Duration::from_secs(2), async {
        loop {
            let c = stream.chunk().await.expect("chunk").expect("open");
            let text = String::from_utf8_lossy(&c).into_owned();
            if text.contains("event: change") {
                return text;
            }
        }
    })
    .await
    .expect("a change event within 2 s")
}

/// A projector's event stream hears of a push within 2 seconds; an account without a role
/// in the block hears nothing of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_events_announce_a_sync_within_two_seconds() {
    use std::time::{Duration, Instant};

    let (_dir, store, server) = demo_server().await;
    let http = reqwest::Client::new();
    let observer = script::principal(Some(shared::access::Role::Observer), None, false);
    let (projector, _) = script::token(&store, &observer).await;
    let outsider = script::principal(None, None, false);
    let (outsider, _) = script::token(&store, &outsider).await;
    let open = |token: String| {
        let http = http.clone();
        let url = server.url("/api/v1/events");
        async move {
            let res = http
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("events");
            assert_eq!(res.status(), 200);
            res
        }
    };
    let mut watching = open(projector).await;
    let mut other = open(outsider).await;
    // Both streams start with `ready`.
    for res in [&mut watching, &mut other] {
        let first = res.chunk().await.expect("chunk").expect("ready");
        assert!(String::from_utf8_lossy(&first).contains("event: ready"));
    }
    let mut d = Device::new(&store).await;
    d.sync(&http, &server, false).await;
    d.edit(1_000, demo::id(1000), "Tiêu chí sửa khi máy chiếu đang xem");
    let pushed = Instant::now();
    d.sync(&http, &server, false).await;
    let chunk = next_change(&mut watching).await;
    assert!(chunk.contains(&demo::BLOCK_ID.to_string()), "{chunk}");
    println!("live event after {:?}", pushed.elapsed());
    let quiet = tokio::time::timeout(Duration::from_millis(1500), other.chunk()).await;
    match quiet {
        Err(_) => {}
        Ok(Ok(Some(c))) => assert!(
            !String::from_utf8_lossy(&c).contains("event: change"),
            "an outsider heard of the block"
        ),
        Ok(other) => panic!("{other:?}"),
    }
    server.stop().await;
}

/// Two servers on one PostgreSQL database: a projector following server A hears of a push
/// served by server B within 2 seconds, through LISTEN/NOTIFY (the streams' own look at the
/// database comes only every 30 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_events_cross_servers_through_postgres_notify() {
    use std::time::Instant;

    let pg = thidua_tests::PgInstance::start();
    let a = thidua_server::PgStore::connect(&pg.url()).await.expect("a");
    let b = thidua_server::PgStore::connect(&pg.url()).await.expect("b");
    a.seed_if_empty(&demo::records()).await.expect("seed");
    let (server_a, server_b) = (
        TestServer::start(a.clone()).await,
        TestServer::start(b.clone()).await,
    );
    let http = reqwest::Client::new();
    let observer = script::principal(Some(shared::access::Role::Observer), None, false);
    let (projector, _) = script::token(&a, &observer).await;
    let mut watching = http
        .get(server_a.url("/api/v1/events"))
        .bearer_auth(projector)
        .send()
        .await
        .expect("events");
    assert_eq!(watching.status(), 200);
    let first = watching.chunk().await.expect("chunk").expect("ready");
    assert!(String::from_utf8_lossy(&first).contains("event: ready"));
    let mut d = Device::new(&b).await;
    d.sync(&http, &server_b, false).await;
    for round in 0..2u64 {
        d.edit(
            1_000 + round,
            demo::id(1000),
            &format!("Sửa qua máy chủ B, lần {round}"),
        );
        let pushed = Instant::now();
        d.sync(&http, &server_b, false).await;
        let chunk = next_change(&mut watching).await;
        assert!(chunk.contains(&demo::BLOCK_ID.to_string()), "{chunk}");
        println!("event across servers after {:?}", pushed.elapsed());
    }
    server_a.stop().await;
    server_b.stop().await;
}

/// A stream opened by a page session ends when its device signs out, and one token holds
/// at most a few streams at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stream_ends_with_its_sign_in_and_streams_per_token_are_bounded() {
    use std::time::Duration;

    let (_dir, store, server) = demo_server().await;
    let http = reqwest::Client::new();
    let observer = script::principal(Some(shared::access::Role::Observer), None, false);
    let (token, _) = script::token(&store, &observer).await;
    let started = http
        .post(server.url("/api/v1/auth/page-session"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("page session");
    assert_eq!(started.status(), 204);
    let cookie = started.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let open = || {
        http.get(server.url("/api/v1/events"))
            .header("cookie", cookie.clone())
            .send()
    };
    let mut streams = Vec::new();
    for _ in 0..4 {
        let res = open().await.expect("events");
        assert_eq!(res.status(), 200);
        streams.push(res);
    }
    let fifth = open().await.expect("events");
    assert_eq!(fifth.status(), 429, "a fifth stream for one token");
    assert!(fifth.headers().contains_key("retry-after"));
    // Closing one frees its place.
    drop(streams.pop());
    let mut again = None;
    for _ in 0..20 {
        let res = open().await.expect("events");
        if res.status() == 200 {
            again = Some(res);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut stream = again.expect("a closed stream frees its place");
    drop(streams);
    let out = http
        .post(server.url("/api/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 204);
    // The stream ends within its check period (10 s) after the sign-out.
    let ended = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match stream.chunk().await {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream outlived its sign-in");
    let res = open().await.expect("events");
    assert_eq!(res.status(), 401);
    server.stop().await;
}
