//! The HTTP API without a network: `app().oneshot(..)` over a fresh SQLite file.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use shared::demo;
use thidua_server::{Limits, SqliteStore, Store, app};
use tower::ServiceExt;
use uuid::Uuid;

struct Fixture {
    app: Router,
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

async fn fixture(limits: Limits) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let store = SqliteStore::connect(&url).await.expect("connect");
    assert!(store.seed_if_empty(&demo::records()).await.expect("seed"));
    Fixture {
        app: app(store.clone(), limits, None),
        store,
        _dir: dir,
    }
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = app.clone().oneshot(req).await.expect("response");
    let status = res.status();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("not JSON ({status}): {}", String::from_utf8_lossy(&bytes)));
    (status, value)
}

fn post_json(body: impl Into<Body>) -> Request<Body> {
    Request::post("/api/v1/sync")
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .expect("request")
}

fn first_criterion() -> Uuid {
    demo::id(1000)
}

fn rename(mutation: Uuid, criterion: Uuid, title: &str, ms: u64) -> Value {
    json!({
        "id": mutation,
        "hlc": {"ms": ms, "counter": 0, "node": Uuid::from_u128(9)},
        "op": {"type": "set_criterion_title", "criterion_id": criterion, "title": title}
    })
}

fn sync_body(cursor: u64, mutations: Vec<Value>) -> String {
    json!({
        "protocol": {"major": 1, "minor": 0},
        "device_id": Uuid::from_u128(9),
        "cursor": cursor,
        "mutations": mutations,
    })
    .to_string()
}

async fn title_and_seq(store: &SqliteStore, id: Uuid) -> (String, u64) {
    match store.record(id).await.expect("record") {
        (shared::Record::Criterion(c), seq) => (c.title, seq),
        other => panic!("not a criterion: {other:?}"),
    }
}

#[tokio::test]
async fn health_reports_the_protocol_version() {
    let f = fixture(Limits::default()).await;
    let req = Request::get("/api/v1/health")
        .body(Body::empty())
        .expect("req");
    let (status, body) = send(&f.app, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["protocol"]["major"], 1);
}

#[tokio::test]
async fn pull_pages_through_the_demo_data() {
    let f = fixture(Limits::default()).await;
    let total = demo::records().len();
    let mut cursor = 0;
    let mut seen = 0;
    loop {
        let body = json!({
            "protocol": {"major": 1, "minor": 0}, "device_id": Uuid::nil(),
            "cursor": cursor, "limit": 10
        });
        let (status, page) = send(&f.app, post_json(body.to_string())).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let changes = page["changes"].as_array().expect("changes");
        assert!(changes.len() <= 10);
        seen += changes.len();
        cursor = page["cursor"].as_u64().expect("cursor");
        if !page["more"].as_bool().expect("more") {
            break;
        }
    }
    assert_eq!(seen, total);
    assert_eq!(cursor, total as u64);
}

#[tokio::test]
async fn push_applies_once_and_a_retry_is_a_duplicate() {
    let f = fixture(Limits::default()).await;
    let m = Uuid::from_u128(0xabc);
    let body = sync_body(
        0,
        vec![rename(m, first_criterion(), "  Tiêu chí đã sửa  ", 5)],
    );
    let (status, res) = send(&f.app, post_json(body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["outcomes"][0]["status"], "applied");
    let seq = res["outcomes"][0]["seq"].as_u64().expect("seq");
    assert_eq!(
        title_and_seq(&f.store, first_criterion()).await,
        ("Tiêu chí đã sửa".into(), seq)
    );

    let (status, res) = send(&f.app, post_json(body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(res["outcomes"][0]["status"], "duplicate");
    assert_eq!(
        title_and_seq(&f.store, first_criterion()).await.1,
        seq,
        "nothing re-applied"
    );
    // The pulled change carries the new title.
    let changed = res["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["record"]["id"] == json!(first_criterion()))
        .expect("criterion pulled");
    assert_eq!(changed["record"]["title"], "Tiêu chí đã sửa");
}

#[tokio::test]
async fn malformed_json_is_400_and_writes_nothing() {
    let f = fixture(Limits::default()).await;
    let before = title_and_seq(&f.store, first_criterion()).await;
    for body in [
        "{not json".to_owned(),
        sync_body(0, vec![rename(Uuid::from_u128(1), first_criterion(), "x", 1)])[..60].to_owned(),
        json!({"protocol": {"major": 1, "minor": 0}, "device_id": "nope", "cursor": 0}).to_string(),
        json!({"protocol": {"major": 1, "minor": 0}, "device_id": Uuid::nil(), "cursor": 0, "extra": 1}).to_string(),
        json!({"device_id": Uuid::nil(), "cursor": 0}).to_string(),
    ] {
        let (status, res) = send(&f.app, post_json(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {res}");
        assert_eq!(res["code"], "malformed_request");
        assert!(!res["message"].as_str().expect("message").is_empty());
        assert!(!res["message_vi"].as_str().expect("message_vi").is_empty());
    }
    assert_eq!(title_and_seq(&f.store, first_criterion()).await, before);
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let f = fixture(Limits::default()).await;
    let req = Request::post("/api/v1/sync")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(sync_body(0, vec![])))
        .expect("req");
    let (status, res) = send(&f.app, req).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(res["code"], "unsupported_media_type");
}

#[tokio::test]
async fn unknown_protocol_major_is_refused() {
    let f = fixture(Limits::default()).await;
    let body = json!({
        "protocol": {"major": 2, "minor": 0}, "device_id": Uuid::nil(), "cursor": 0,
        "mutations": [rename(Uuid::from_u128(1), first_criterion(), "Không được ghi", 1)],
        "new_field_of_v2": true
    });
    let before = title_and_seq(&f.store, first_criterion()).await;
    let (status, res) = send(&f.app, post_json(body.to_string())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(res["code"], "unsupported_protocol");
    assert_eq!(title_and_seq(&f.store, first_criterion()).await, before);
}

#[tokio::test]
async fn oversized_body_is_413_and_writes_nothing() {
    let f = fixture(Limits {
        max_body_bytes: 4096,
        max_batch: 1000,
    })
    .await;
    let before = title_and_seq(&f.store, first_criterion()).await;
    let body = sync_body(
        0,
        vec![rename(
            Uuid::from_u128(1),
            first_criterion(),
            &"ê".repeat(3000),
            1,
        )],
    );
    let (status, res) = send(&f.app, post_json(body)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res["code"], "payload_too_large");
    assert_eq!(title_and_seq(&f.store, first_criterion()).await, before);
}

#[tokio::test]
async fn too_many_mutations_is_413() {
    let f = fixture(Limits {
        max_body_bytes: 1 << 20,
        max_batch: 2,
    })
    .await;
    let muts = (1..=3)
        .map(|i| rename(Uuid::from_u128(i), first_criterion(), "x", i as u64))
        .collect();
    let (status, res) = send(&f.app, post_json(sync_body(0, muts))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res["code"], "batch_too_large");
}

#[tokio::test]
async fn unknown_entity_rejects_the_batch_and_writes_nothing() {
    let f = fixture(Limits::default()).await;
    let before = title_and_seq(&f.store, first_criterion()).await;
    let good = Uuid::from_u128(0x1);
    let bad = Uuid::from_u128(0x2);
    let ghost = Uuid::from_u128(0xdead);
    let body = sync_body(
        0,
        vec![
            rename(good, first_criterion(), "Hợp lệ", 1),
            rename(bad, ghost, "Không tồn tại", 2),
        ],
    );
    let (status, res) = send(&f.app, post_json(body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{res}");
    assert_eq!(res["code"], "mutation_rejected");
    let rejected = res["rejected"].as_array().expect("rejected");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["mutation_id"], json!(bad));
    assert_eq!(rejected[0]["code"], "unknown_entity");
    assert!(
        rejected[0]["message_vi"]
            .as_str()
            .expect("vi")
            .contains("tiêu chí")
    );
    // The valid mutation of the same batch was rolled back too, and can be pushed again.
    assert_eq!(title_and_seq(&f.store, first_criterion()).await, before);
    let (status, res) = send(
        &f.app,
        post_json(sync_body(
            0,
            vec![rename(good, first_criterion(), "Hợp lệ", 1)],
        )),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(res["outcomes"][0]["status"], "applied");
}

#[tokio::test]
async fn invalid_values_and_wrong_kinds_are_rejected() {
    let f = fixture(Limits::default()).await;
    let cases = [
        (first_criterion(), "   ", "empty_text"),
        (demo::BLOCK_ID, "Khối", "wrong_entity_kind"),
    ];
    for (target, title, code) in cases {
        let body = sync_body(0, vec![rename(Uuid::from_u128(0x77), target, title, 1)]);
        let (status, res) = send(&f.app, post_json(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(res["rejected"][0]["code"], code);
    }
}

#[tokio::test]
async fn unknown_api_path_is_a_json_404() {
    let f = fixture(Limits::default()).await;
    let req = Request::get("/api/v1/nope")
        .body(Body::empty())
        .expect("req");
    let (status, res) = send(&f.app, req).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(res["code"], "not_found");
}

#[tokio::test]
async fn a_full_pull_is_gzipped_when_the_client_accepts_it() {
    let f = fixture(Limits::default()).await;
    let req = Request::post("/api/v1/sync")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::from(sync_body(0, vec![])))
        .expect("req");
    let res = f.app.clone().oneshot(req).await.expect("response");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn the_app_is_served_with_page_fallback_and_file_404s() {
    let f = fixture(Limits::default()).await;
    let dist = tempfile::tempdir().expect("dist");
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><title>ThiĐua</title>",
    )
    .expect("index");
    std::fs::write(dist.path().join("app-0123456789abcdef.js"), "export {}").expect("js");
    let app = app(
        f.store.clone(),
        Limits::default(),
        Some(dist.path().to_path_buf()),
    );
    let get = |path: &str| Request::get(path).body(Body::empty()).expect("req");

    let res = app.clone().oneshot(get("/")).await.expect("res");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache");
    let res = app
        .clone()
        .oneshot(get("/khoi/2026/giao-uoc"))
        .await
        .expect("res");
    assert_eq!(res.status(), StatusCode::OK, "an app route gets index.html");
    let res = app
        .clone()
        .oneshot(get("/app-0123456789abcdef.js"))
        .await
        .expect("res");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let res = app
        .clone()
        .oneshot(get("/app-fedcba9876543210.js"))
        .await
        .expect("res");
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "a missing script is not index.html"
    );
    let res = app
        .clone()
        .oneshot(get("/api/v1/health"))
        .await
        .expect("res");
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
}
