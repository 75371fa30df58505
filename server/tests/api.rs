//! The HTTP API without a network: `app().oneshot(..)` over a fresh SQLite file.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use shared::access::{Grant, Role};
use shared::demo;
use thidua_server::store::AccountRow;
use thidua_server::{Limits, SqliteStore, Store, app, auth};
use tower::ServiceExt;
use uuid::Uuid;

struct Fixture {
    app: Router,
    store: SqliteStore,
    /// The secretary's account (token `SECRETARY_TOKEN`, device 9).
    secretary: Uuid,
    _dir: tempfile::TempDir,
}

async fn fixture(limits: Limits) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let store = SqliteStore::connect(&url).await.expect("connect");
    assert!(store.seed_if_empty(&demo::records()).await.expect("seed"));
    let secretary = Grant {
        block_id: demo::BLOCK_ID,
        role: Role::Secretary,
        unit: None,
    };
    let secretary = add_token(
        &store,
        SECRETARY_TOKEN,
        Some(secretary),
        false,
        i64::MAX / 2,
    )
    .await;
    Fixture {
        app: app(store.clone(), limits, None),
        store,
        secretary,
        _dir: dir,
    }
}

/// The fixture's secretary of the demo block, on device 9.
const SECRETARY_TOKEN: &str = "fixture-secretary-token";

/// An account with `grant` (or admin) and a known token on device 9.
async fn add_token(
    store: &SqliteStore,
    token: &str,
    grant: Option<Grant>,
    admin: bool,
    expires_ms: i64,
) -> Uuid {
    let id = Uuid::now_v7();
    store
        .create_account(&AccountRow {
            id,
            username: format!("u-{id}"),
            name: "Người thử".into(),
            password_hash: None,
            admin,
        })
        .await
        .expect("account");
    if let Some(g) = grant {
        store.set_grant(id, &g).await.expect("grant");
    }
    store
        .insert_token(
            &auth::hash_secret(token),
            id,
            Uuid::from_u128(9),
            "thử",
            expires_ms,
        )
        .await
        .expect("token");
    id
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
    post_as(SECRETARY_TOKEN, "/api/v1/sync", body)
}

fn post_as(token: &str, path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
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
        "op": {"type": "update", "id": criterion, "fields": {"title": title}}
    })
}

fn sync_body(cursor: u64, mutations: Vec<Value>) -> String {
    json!({
        "protocol": {"major": 2, "minor": 0},
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
    assert_eq!(body["protocol"]["major"], 2);
}

#[tokio::test]
async fn pull_pages_through_the_demo_data() {
    let f = fixture(Limits::default()).await;
    let total = demo::records().len();
    let mut cursor = 0;
    let mut seen = 0;
    loop {
        let body = json!({
            "protocol": {"major": 2, "minor": 0}, "device_id": Uuid::from_u128(9),
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
        json!({"protocol": {"major": 2, "minor": 0}, "device_id": "nope", "cursor": 0}).to_string(),
        json!({"protocol": {"major": 2, "minor": 0}, "device_id": Uuid::nil(), "cursor": 0, "extra": 1}).to_string(),
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
        .header(header::AUTHORIZATION, format!("Bearer {SECRETARY_TOKEN}"))
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
        "protocol": {"major": 3, "minor": 0}, "device_id": Uuid::from_u128(9), "cursor": 0,
        "mutations": [rename(Uuid::from_u128(1), first_criterion(), "Không được ghi", 1)],
        "new_field_of_v3": true
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
        ..Limits::default()
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
        ..Limits::default()
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
async fn a_rejected_mutation_writes_nothing_and_the_rest_applies() {
    let f = fixture(Limits::default()).await;
    let good = Uuid::from_u128(0x1);
    let bad = Uuid::from_u128(0x2);
    let ghost = Uuid::from_u128(0xdead);
    let body = sync_body(
        0,
        vec![
            rename(bad, ghost, "Không tồn tại", 1),
            rename(good, first_criterion(), "Hợp lệ", 2),
        ],
    );
    let (status, res) = send(&f.app, post_json(body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let o = &res["outcomes"];
    assert_eq!(o[0]["status"], "rejected");
    assert_eq!(o[0]["code"], "unknown_entity");
    assert!(!o[0]["message_vi"].as_str().expect("vi").is_empty());
    assert_eq!(o[1]["status"], "applied");
    assert_eq!(title_and_seq(&f.store, first_criterion()).await.0, "Hợp lệ");
    // Pushed again: the refusal stands, the applied one is a duplicate.
    let (_, res) = send(&f.app, post_json(body)).await;
    assert_eq!(res["outcomes"][0]["code"], "unknown_entity");
    assert_eq!(res["outcomes"][1]["status"], "duplicate");
}

#[tokio::test]
async fn invalid_values_and_wrong_kinds_are_rejected() {
    let f = fixture(Limits::default()).await;
    let before = title_and_seq(&f.store, first_criterion()).await;
    let cases = [
        (first_criterion(), json!({"title": "   "}), "empty_text"),
        (demo::BLOCK_ID, json!({"title": "Khối"}), "read_only_field"),
        (
            first_criterion(),
            json!({"max_points": "mười"}),
            "invalid_field",
        ),
        (
            first_criterion(),
            json!({"max_points": "-5"}),
            "invalid_max_points",
        ),
        (first_criterion(), json!({"kind": 7}), "invalid_field"),
        (
            first_criterion(),
            json!({"content_id": Uuid::nil()}),
            "read_only_field",
        ),
    ];
    for (i, (target, fields, code)) in cases.into_iter().enumerate() {
        let m = json!({
            "id": Uuid::from_u128(0x70 + i as u128),
            "hlc": {"ms": 1, "counter": 0, "node": Uuid::from_u128(9)},
            "op": {"type": "update", "id": target, "fields": fields}
        });
        let (status, res) = send(&f.app, post_json(sync_body(0, vec![m]))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(res["outcomes"][0]["code"], code, "{fields}: {res}");
    }
    assert_eq!(title_and_seq(&f.store, first_criterion()).await, before);
}

#[tokio::test]
async fn tokens_are_required_and_checked() {
    let f = fixture(Limits::default()).await;
    let body = sync_body(0, vec![]);
    let bare = Request::post("/api/v1/sync")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.clone()))
        .expect("req");
    let (status, res) = send(&f.app, bare).await;
    assert_eq!(
        (status, res["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    for token in ["wrong", "", &"x".repeat(500)] {
        let (status, _) = send(&f.app, post_as(token, "/api/v1/sync", body.clone())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}");
    }
    // Expired.
    add_token(&f.store, "expired-token", None, false, 1).await;
    let (status, res) = send(
        &f.app,
        post_as("expired-token", "/api/v1/sync", body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(res["message"].as_str().expect("msg").contains("expired"));
    // Revoked by signing out.
    add_token(&f.store, "soon-revoked", None, false, i64::MAX / 2).await;
    let (status, _) = send(
        &f.app,
        post_as("soon-revoked", "/api/v1/sync", body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let out = f
        .app
        .clone()
        .oneshot(post_as(
            "soon-revoked",
            "/api/v1/auth/logout",
            Body::empty(),
        ))
        .await
        .expect("logout");
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let (status, res) = send(
        &f.app,
        post_as("soon-revoked", "/api/v1/sync", body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(res["message"].as_str().expect("msg").contains("revoked"));
    // A token used from another device id is refused.
    let other_device = json!({"protocol": {"major": 2, "minor": 0}, "device_id": Uuid::from_u128(10), "cursor": 0});
    let (status, res) = send(&f.app, post_json(other_device.to_string())).await;
    assert_eq!(
        (status, res["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_request"))
    );
}

#[tokio::test]
async fn password_login_join_codes_and_rights() {
    let f = fixture(Limits::default()).await;
    thidua_server::cli::create_account(&f.store, "thuky2", "Thư ký", "mật-khẩu-đủ-dài", false)
        .await
        .expect("account");
    let login = |password: &str| {
        json!({"username": "thuky2", "password": password, "device_id": Uuid::from_u128(42)})
            .to_string()
    };
    let (status, res) = send(
        &f.app,
        post_as("", "/api/v1/auth/login", login("sai mật khẩu")),
    )
    .await;
    assert_eq!(
        (status, res["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    // A wrong password is named as such, not as an expired session.
    assert_eq!(
        res["message_vi"].as_str(),
        Some("Sai tên đăng nhập hoặc mật khẩu")
    );
    // The name as people type it: spaces around it and any case.
    let typed = json!({"username": "  ThuKy2 ", "password": "mật-khẩu-đủ-dài", "device_id": Uuid::from_u128(43)});
    let (status, res) = send(&f.app, post_as("", "/api/v1/auth/login", typed.to_string())).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let (status, res) = send(
        &f.app,
        post_as("", "/api/v1/auth/login", login("mật-khẩu-đủ-dài")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let token = res["token"].as_str().expect("token").to_owned();
    let me = Request::get("/api/v1/auth/me")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("req");
    let (status, me) = send(&f.app, me).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["grants"], json!([]), "no role yet");
    // No role: the account pulls units only, and may not issue codes.
    let pull = json!({"protocol": {"major": 2, "minor": 0}, "device_id": Uuid::from_u128(42), "cursor": 0});
    let (_, page) = send(&f.app, post_as(&token, "/api/v1/sync", pull.to_string())).await;
    let changes = page["changes"].as_array().expect("changes");
    assert!(
        changes.iter().all(|c| c["record"]["type"] == "unit"),
        "{page}"
    );
    let code_req = |unit: Value| {
        json!({"block_id": demo::BLOCK_ID, "role": "delegate", "unit": unit}).to_string()
    };
    let (status, _) = send(
        &f.app,
        post_as(&token, "/api/v1/join-codes", code_req(json!(demo::id(3)))),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The secretary issues a code for unit 3; a non-member unit is refused.
    let (status, _) = send(
        &f.app,
        post_as(
            SECRETARY_TOKEN,
            "/api/v1/join-codes",
            code_req(json!(Uuid::nil())),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, res) = send(
        &f.app,
        post_as(
            SECRETARY_TOKEN,
            "/api/v1/join-codes",
            code_req(json!(demo::id(3))),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    let code = res["code"].as_str().expect("code").to_owned();
    let join = |code: &str| {
        json!({"code": code, "device_id": Uuid::from_u128(77), "device_name": "Máy tính bảng 3"})
            .to_string()
    };
    // Typed in lower case with a space: still the code.
    let typed = code.to_lowercase().replace('-', " ");
    let (status, res) = send(&f.app, post_as("", "/api/v1/auth/join", join(&typed))).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["principal"]["grants"][0]["role"], "delegate");
    assert_eq!(res["principal"]["grants"][0]["unit"], json!(demo::id(3)));
    let (status, res) = send(&f.app, post_as("", "/api/v1/auth/join", join(&code))).await;
    assert_eq!(
        (status, res["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_code")),
        "single use"
    );
}

#[tokio::test]
async fn audit_log_is_for_the_secretary_and_exports_csv() {
    let f = fixture(Limits::default()).await;
    let body = sync_body(
        0,
        vec![rename(
            Uuid::from_u128(5),
            first_criterion(),
            "Tiêu chí, có dấu phẩy",
            3,
        )],
    );
    let (status, _) = send(&f.app, post_json(body)).await;
    assert_eq!(status, StatusCode::OK);
    let path = format!("/api/v1/blocks/{}/audit.csv", demo::BLOCK_ID);
    let get = |token: &str| {
        Request::get(path.as_str())
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .expect("req")
    };
    let res = f
        .app
        .clone()
        .oneshot(get(SECRETARY_TOKEN))
        .await
        .expect("csv");
    assert_eq!(res.status(), StatusCode::OK);
    let text = String::from_utf8(
        res.into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec(),
    )
    .expect("utf8");
    assert!(text.starts_with('\u{feff}'));
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[1].contains("update") && lines[1].contains("Tiêu chí, có dấu phẩy"),
        "{}",
        lines[1]
    );
    let delegate = Grant {
        block_id: demo::BLOCK_ID,
        role: Role::Delegate,
        unit: Some(demo::id(1)),
    };
    add_token(
        &f.store,
        "delegate-token",
        Some(delegate),
        false,
        i64::MAX / 2,
    )
    .await;
    let res = f
        .app
        .clone()
        .oneshot(get("delegate-token"))
        .await
        .expect("csv");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn ballot_papers_are_stored_without_voters() {
    let f = fixture(Limits::default()).await;
    let url = format!("sqlite://{}/t.db", f._dir.path().display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("pool");
    let cols: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pragma_table_info('ballot_boxes') ORDER BY cid")
            .fetch_all(&pool)
            .await
            .expect("columns");
    assert_eq!(
        cols,
        ["ballot_id", "papers"],
        "one box per ballot, no voter"
    );
    let cols: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pragma_table_info('receipts') ORDER BY cid")
            .fetch_all(&pool)
            .await
            .expect("columns");
    assert_eq!(cols, ["ballot_id", "voter"]);
    let votes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'votes'")
        .fetch_one(&pool)
        .await
        .expect("schema");
    assert_eq!(votes, 0, "no table of one row per paper");
}

#[tokio::test]
async fn every_documented_operation_exists() {
    let f = fixture(Limits::default()).await;
    let spec = thidua_server::openapi();
    let (status, served) = send(
        &f.app,
        Request::get("/api/v1/openapi.json")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(served, spec);
    let paths = spec["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), 26);
    for (path, ops) in paths {
        for (method, _) in ops.as_object().expect("ops") {
            let uri = format!(
                "/api/v1{}",
                path.replace("{block_id}", &demo::BLOCK_ID.to_string())
            );
            let req = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&uri)
                .header(header::AUTHORIZATION, "Bearer nobody")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .expect("req");
            let res = f.app.clone().oneshot(req).await.expect("res");
            assert_ne!(
                res.status(),
                StatusCode::NOT_FOUND,
                "{method} {path} is not routed"
            );
            assert_ne!(
                res.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
        }
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
        .header(header::AUTHORIZATION, format!("Bearer {SECRETARY_TOKEN}"))
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

#[tokio::test]
async fn import_loads_records_and_accounts_through_the_rules() {
    let f = fixture(Limits::default()).await;
    let unit = Uuid::now_v7();
    let file = json!({
        "records": [{"type": "unit", "id": unit, "name": "Hội Luật gia Việt Nam", "short_name": "Hội Luật gia"}],
        "accounts": [{"username": "vanphong", "name": "Văn phòng", "password": "mật-khẩu-dài-đủ", "admin": true}]
    });
    let done = thidua_server::cli::import(&f.store, &file.to_string())
        .await
        .expect("import");
    assert_eq!((done.records, done.accounts), (1, 1));
    assert!(matches!(
        f.store.record(unit).await.expect("unit").0,
        shared::Record::Unit(_)
    ));
    let admin = f
        .store
        .account_by_username("vanphong")
        .await
        .expect("q")
        .expect("account");
    assert!(
        admin.admin
            && admin
                .password_hash
                .is_some_and(|h| h.starts_with("$argon2id$"))
    );
    // A record that breaks a rule stops the import with its reason; a taken name too.
    let bad = json!({"records": [{"type": "unit", "id": Uuid::now_v7(), "name": " ", "short_name": "x"}]});
    let err = thidua_server::cli::import(&f.store, &bad.to_string())
        .await
        .expect_err("empty name");
    assert!(err.to_string().contains("name"), "{err}");
    let again =
        json!({"accounts": [{"username": "vanphong", "name": "x", "password": "mật-khẩu-dài-đủ"}]});
    let err = thidua_server::cli::import(&f.store, &again.to_string())
        .await
        .expect_err("taken");
    assert!(err.to_string().contains("taken"), "{err}");
    let err = thidua_server::cli::import(&f.store, "{not json")
        .await
        .expect_err("bad file");
    assert!(err.to_string().contains("import file"), "{err}");
}

#[tokio::test]
async fn a_malformed_path_or_query_is_a_json_400() {
    let f = fixture(Limits::default()).await;
    for path in [
        "/api/v1/blocks/null,null/audit.csv".to_owned(),
        "/api/v1/blocks/not-a-block/audit".to_owned(),
        format!("/api/v1/blocks/{}/audit?after=soon", demo::BLOCK_ID),
    ] {
        let req = Request::get(path.as_str())
            .header(header::AUTHORIZATION, format!("Bearer {SECRETARY_TOKEN}"))
            .body(Body::empty())
            .expect("req");
        let (status, body) = send(&f.app, req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(body["code"], "malformed_request", "{path}: {body}");
        assert!(body["message_vi"].is_string(), "{path}: {body}");
    }
}

/// GET `path` as `token`: status, content type and body text.
async fn get_text(app: &Router, token: &str, path: &str) -> (StatusCode, String, String) {
    let req = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("req");
    let res = app.clone().oneshot(req).await.expect("res");
    let status = res.status();
    let kind = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("").to_owned())
        .unwrap_or_default();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        kind,
        String::from_utf8(bytes.to_vec()).expect("utf8"),
    )
}

/// GET `path` as `token`, expecting 200: the body.
async fn get_bytes(app: &Router, token: &str, path: &str) -> Vec<u8> {
    let req = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("req");
    let res = app.clone().oneshot(req).await.expect("res");
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec()
}

#[tokio::test]
async fn results_and_minutes_are_for_the_blocks_readers() {
    // The casebook's conference, stored: its hand-computed ranking comes back as CSV.
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::connect(&format!("sqlite://{}/t.db", dir.path().display()))
        .await
        .expect("connect");
    let records = shared::casebook::central_block_records();
    store.seed_if_empty(&records).await.expect("seed");
    let delegate = Grant {
        block_id: demo::BLOCK_ID,
        role: Role::Delegate,
        unit: Some(demo::id(1)),
    };
    add_token(&store, "member", Some(delegate), false, i64::MAX / 2).await;
    let elsewhere = Grant {
        block_id: Uuid::from_u128(0xE15E),
        role: Role::Secretary,
        unit: None,
    };
    add_token(&store, "outsider", Some(elsewhere), false, i64::MAX / 2).await;
    let secretary = Grant {
        block_id: demo::BLOCK_ID,
        role: Role::Secretary,
        unit: None,
    };
    add_token(&store, "secretary", Some(secretary), false, i64::MAX / 2).await;
    let app = app(store, Limits::default(), None);
    let base = format!("/api/v1/blocks/{}", demo::BLOCK_ID);
    let put_meeting = |token: &'static str, body: Value| {
        let app = app.clone();
        let path = format!("{base}/meeting");
        async move {
            let req = Request::put(path)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .expect("req");
            send(&app, req).await
        }
    };

    // Before publication the ranking is the secretary's (the projector's rule).
    let (status, _, body) = get_text(&app, "member", &format!("{base}/results.csv")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, kind, csv) = get_text(&app, "secretary", &format!("{base}/results.csv")).await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert!(kind.starts_with("text/csv"), "{kind}");
    let first = csv.split("\r\n").nth(1).expect("a first unit");
    assert!(
        first.starts_with("1,") && first.contains("\"107,00\""),
        "{first}"
    );
    assert_eq!(csv.trim_end().split("\r\n").count(), 10);

    // The meeting's details are the secretary's to record, on the block, for every printing.
    let meeting = json!({
        "place": "Hà Nội", "date": "ngày 20 tháng 12 năm 2026", "chair": "Nguyễn Văn An",
        "absent": [demo::id(9)],
    });
    let (status, body) = put_meeting("member", meeting.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = put_meeting("secretary", meeting.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["place"], "Hà Nội");
    let (status, kind, html) = get_text(&app, "secretary", &format!("{base}/minutes.html")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(
        html.contains("Hà Nội, ngày 20 tháng 12 năm 2026"),
        "the place and date"
    );
    assert!(
        html.contains("Nguyễn Văn An") && html.contains("Thư ký: ……………………"),
        "chair given, secretary blank"
    );
    assert!(
        html.contains("đại diện 8/9 đơn vị thành viên"),
        "one unit absent"
    );
    assert!(html.contains("<p>Vắng mặt: "), "the absent unit is named");
    let (_, _, again) = get_text(&app, "secretary", &format!("{base}/minutes.html")).await;
    assert_eq!(again, html, "two printings say the same");

    // The workbook, read back with calamine: results, every counted sheet, the ballots.
    let bytes = get_bytes(&app, "secretary", &format!("{base}/results.xlsx")).await;
    {
        use calamine::{Data, Reader, Xlsx};
        let mut book = Xlsx::new(std::io::Cursor::new(bytes)).expect("an xlsx file");
        assert_eq!(
            book.sheet_names(),
            ["Kết quả", "Phiếu chấm", "Bỏ phiếu", "Đính chính"]
        );
        let results = book.worksheet_range("Kết quả").expect("results");
        assert_eq!(results.height(), 10, "a header and nine units");
        assert_eq!(results.get((0, 5)), Some(&Data::String("Điểm khối".into())));
        let scores: Vec<f64> = (1..10)
            .map(|r| match results.get((r, 5)) {
                Some(Data::Float(f)) => *f,
                other => panic!("row {r}: {other:?}"),
            })
            .collect();
        // The casebook's hand-computed block scores, as numbers.
        let want: Vec<f64> = ["107", "95", "90", "90", "86", "86", "85", "85", "50"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(scores, want);
        let sheets = book.worksheet_range("Phiếu chấm").expect("sheets");
        assert_eq!(
            sheets.height(),
            1 + 9 + 9 * 8,
            "nine self and 72 cross sheets"
        );
        let ballots = book.worksheet_range("Bỏ phiếu").expect("ballots");
        assert_eq!(ballots.height(), 1 + 3, "three options in two ballots");
        assert_eq!(ballots.get((1, 5)), Some(&Data::Float(7.0)));
    }

    let (status, kind, html) = get_text(&app, "member", &format!("{base}/covenant.html")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/html"));
    assert!(html.contains("GIAO ƯỚC THI ĐUA NĂM 2026") && html.contains("<b>100,00</b>"));
    assert_eq!(
        html.matches("class=\"sign\"").count(),
        9,
        "a block per member"
    );

    // The projector screen: progress of the locked rounds, no ranking before publication.
    let (status, kind, html) = get_text(&app, "member", &format!("{base}/board.html")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/html"));
    assert!(html.contains("72/72 phiếu đã nộp") && html.contains("khi thư ký công bố"));
    assert!(html.contains("new EventSource"), "it listens for changes");

    // The documents page: the projector, the minutes' form, the downloads, the import page.
    let (status, _, html) = get_text(&app, "member", &format!("{base}/documents.html")).await;
    assert_eq!(status, StatusCode::OK);
    for link in [
        "board.html",
        "href=\"minutes.html\"",
        "name=\"chair\"",
        // The stored details fill the form; the absent unit is not ticked present.
        "value=\"Hà Nội\"",
        "results.xlsx",
        "../../import.html",
    ] {
        assert!(html.contains(link), "{link}");
    }
    assert!(
        html.contains(&format!("value=\"{}\"> ", demo::id(9))),
        "unit 9 absent"
    );
    assert!(
        html.contains(&format!("value=\"{}\" checked>", demo::id(1))),
        "unit 1 present"
    );
    let (status, _, html) = get_text(&app, "outsider", "/api/v1/import.html").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "any signed-in account may carry a file in"
    );
    assert!(html.contains("type=\"file\""));

    for doc in ["results.csv", "board.html", "documents.html"] {
        let (status, _, body) = get_text(&app, "outsider", &format!("{base}/{doc}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{doc}: {body}");
    }
    let (status, body) = put_meeting("secretary", json!({ "place": "x".repeat(201) })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "refused", "{body}");
    let (status, body) =
        put_meeting("secretary", json!({ "absent": [Uuid::from_u128(0xE15E)] })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = put_meeting("secretary", json!({ "venue": "?" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = put_meeting("outsider", json!({ "place": "?" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, body) = get_text(&app, "member", &format!("{base}/minutes.html?place=x")).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the details are no longer in the query: {body}"
    );
}

#[tokio::test]
async fn a_block_without_rounds_has_no_results_yet() {
    let f = fixture(Limits::default()).await;
    let path = format!("/api/v1/blocks/{}/results.csv", demo::BLOCK_ID);
    let (status, _, body) = get_text(&f.app, SECRETARY_TOKEN, &path).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let body: shared::protocol::ErrorBody = serde_json::from_str(&body).expect("an ErrorBody");
    assert!(
        body.message_vi
            .starts_with("Khối chưa có dữ liệu để lập tài liệu này: Khối chưa có vòng chấm nào"),
        "{}",
        body.message_vi
    );
    assert!(
        body.message.ends_with("has no scoring round yet"),
        "{}",
        body.message
    );
}

#[tokio::test]
async fn the_central_office_overview_filters_and_exports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::connect(&format!("sqlite://{}/t.db", dir.path().display()))
        .await
        .expect("connect");
    let mut records = shared::casebook::central_block_records();
    // A provincial cluster of next year, with no round yet.
    let mut cluster = records
        .iter()
        .find_map(|r| match r {
            shared::Record::Block(b) => Some(b.clone()),
            _ => None,
        })
        .expect("the demo block");
    cluster.id = Uuid::from_u128(0xC1A5);
    cluster.year = 2027;
    cluster.level = shared::model::BlockLevel::Provincial;
    cluster.province = "Nghệ An".into();
    cluster.name = "Cụm thi đua các huyện miền núi".into();
    records.push(shared::Record::Block(cluster));
    store.seed_if_empty(&records).await.expect("seed");
    add_token(&store, "admin", None, true, i64::MAX / 2).await;
    let delegate = Grant {
        block_id: demo::BLOCK_ID,
        role: Role::Delegate,
        unit: Some(demo::id(1)),
    };
    add_token(&store, "member", Some(delegate), false, i64::MAX / 2).await;
    let app = app(store, Limits::default(), None);

    let (status, kind, html) = get_text(&app, "admin", "/api/v1/overview.html").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(kind.starts_with("text/html"));
    assert!(html.contains("2 khối, cụm."), "both blocks");
    assert!(html.contains("Cụm thi đua các huyện miền núi") && html.contains("chưa mở vòng chấm"));
    assert!(
        html.contains("Chấm chéo: ") && html.contains("72/72 phiếu"),
        "cross-scoring progress"
    );
    assert!(html.contains("(107,00)"), "the leader's block score");
    assert!(html.contains("Cờ thi đua của Chính phủ: "), "the proposals");
    assert!(html.contains(&format!("blocks/{}/minutes.html", demo::BLOCK_ID)));

    let (_, _, html) = get_text(&app, "admin", "/api/v1/overview.html?year=2027").await;
    assert!(
        html.contains("1 khối, cụm.") && html.contains("miền núi"),
        "year filter"
    );
    let (_, _, html) = get_text(
        &app,
        "admin",
        "/api/v1/overview.html?level=provincial&province=ngh%E1%BB%87%20an",
    )
    .await;
    assert!(
        html.contains("1 khối, cụm.") && html.contains("miền núi"),
        "level and province"
    );
    let (status, _, _) = get_text(&app, "admin", "/api/v1/overview.html?year=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = get_text(&app, "member", "/api/v1/overview.html").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let bytes = get_bytes(&app, "admin", "/api/v1/overview.xlsx?year=2026").await;
    use calamine::{Data, Reader, Xlsx};
    let mut book = Xlsx::new(std::io::Cursor::new(bytes)).expect("an xlsx file");
    assert_eq!(book.sheet_names(), ["Khối, cụm", "Kết quả các đơn vị"]);
    let blocks = book.worksheet_range("Khối, cụm").expect("blocks");
    assert_eq!(blocks.height(), 2, "a header and the one block of 2026");
    assert_eq!(blocks.get((1, 8)), Some(&Data::Float(107.0)));
    let units = book.worksheet_range("Kết quả các đơn vị").expect("units");
    assert_eq!(units.height(), 10, "a header and nine units");
}

/// The device key with this seed, as a device would make it: (signing key, public hex SPKI).
fn device_key(seed: u8) -> (p256::ecdsa::SigningKey, String) {
    let sk = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).expect("a key");
    let point = sk.verifying_key().to_encoded_point(false);
    let hex: String = point
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (
        sk,
        format!("{}{hex}", thidua_server::device_key::SPKI_P256_HEADER),
    )
}

/// A changes file of `mutations` from device 9, signed with the device key of `seed` as the
/// app signs it.
fn changes_file(seed: u8, mutations: Vec<Value>) -> shared::changes_file::ChangesFile {
    use p256::ecdsa::signature::Signer;
    let mutations = mutations
        .into_iter()
        .map(|m| serde_json::from_value(m).expect("a mutation"))
        .collect();
    let mut file =
        shared::changes_file::ChangesFile::new(Uuid::from_u128(9), 1_700_000_000_000, mutations);
    let sig: p256::ecdsa::Signature = device_key(seed).0.sign(&file.sealed_bytes());
    file.signature = sig.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
    file
}

#[tokio::test]
async fn a_changes_file_imports_once_and_an_altered_one_is_refused() {
    let f = fixture(Limits::default()).await;
    // A carrier with a token of its own on another device.
    let carrier = add_token(&f.store, "carrier", None, true, i64::MAX / 2).await;
    // Device 9 registered its public key when it signed in.
    f.store
        .register_device_key(Uuid::from_u128(9), f.secretary, &device_key(1).1)
        .await
        .expect("key");
    let before = title_and_seq(&f.store, first_criterion()).await;
    let file = changes_file(
        1,
        vec![
            rename(
                Uuid::from_u128(0xf1),
                first_criterion(),
                "Sửa khi mất mạng",
                10,
            ),
            rename(
                Uuid::from_u128(0xf2),
                demo::id(1001),
                "Tiêu chí thứ hai",
                11,
            ),
        ],
    );

    // Altered after export: a title changed, the seal kept. Refused whole.
    let mut altered = serde_json::to_value(&file).expect("json");
    altered["mutations"][0]["op"]["fields"]["title"] = json!("Sửa lén");
    for body in [altered.to_string(), {
        // Signed with a key that is not device 9's.
        changes_file(
            2,
            vec![rename(Uuid::from_u128(0xf3), first_criterion(), "x", 12)],
        )
        .pipe_json()
    }] {
        let (status, res) = send(&f.app, post_as("carrier", "/api/v1/changes-file", body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
        assert_eq!(res["code"], "tampered");
        assert!(
            res["message_vi"]
                .as_str()
                .expect("vi")
                .contains("đã bị sửa")
        );
    }
    assert_eq!(
        title_and_seq(&f.store, first_criterion()).await,
        before,
        "nothing applied"
    );

    // Not a changes file at all, or another version.
    for body in ["{}".to_owned(), "[1,2]".to_owned(), {
        // A version 1 file, sealed with an HMAC of the token's hash (which the database
        // holds, so a copy of it could forge one): no longer read.
        let mut v = serde_json::to_value(&file).expect("json");
        v["version"] = json!(1);
        v["mac"] = json!(v["signature"].clone());
        v.as_object_mut().expect("object").remove("signature");
        v.to_string()
    }] {
        let (status, res) = send(&f.app, post_as("carrier", "/api/v1/changes-file", body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
        assert_eq!(res["code"], "malformed_request");
    }
    let (status, _) = send(
        &f.app,
        post_as("nobody", "/api/v1/changes-file", file.pipe_json()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The real file: applied as the secretary's device, then a second import changes nothing.
    let (status, res) = send(
        &f.app,
        post_as("carrier", "/api/v1/changes-file", file.pipe_json()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(
        (res["applied"].clone(), res["duplicate"].clone()),
        (json!(2), json!(0))
    );
    let (title, seq) = title_and_seq(&f.store, first_criterion()).await;
    assert_eq!(title, "Sửa khi mất mạng");
    let (status, res) = send(
        &f.app,
        post_as("carrier", "/api/v1/changes-file", file.pipe_json()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(
        (res["applied"].clone(), res["duplicate"].clone()),
        (json!(0), json!(2))
    );
    assert_eq!(
        title_and_seq(&f.store, first_criterion()).await.1,
        seq,
        "nothing re-applied"
    );
    // The device's own later sync of the same outbox answers duplicate too.
    let (status, res) = send(
        &f.app,
        post_json(sync_body(
            0,
            vec![rename(
                Uuid::from_u128(0xf1),
                first_criterion(),
                "Sửa khi mất mạng",
                10,
            )],
        )),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(res["outcomes"][0]["status"], "duplicate");
    // The audit log names the device's account, not the carrier.
    let audit = f.store.audit(demo::BLOCK_ID, 0, 100).await.expect("audit");
    let row = audit
        .iter()
        .find(|r| r.mutation_id == Uuid::from_u128(0xf1).to_string())
        .expect("the imported change is in the audit log");
    assert_eq!(row.device_id, Uuid::from_u128(9).to_string());
    assert!(
        row.account_id
            .as_ref()
            .is_some_and(|a| *a != carrier.to_string())
    );
    // Once the device signed out (its token revoked), its key signs nothing more.
    f.store
        .revoke_token(&auth::hash_secret(SECRETARY_TOKEN), 1)
        .await
        .expect("revoke");
    let late = changes_file(
        1,
        vec![rename(Uuid::from_u128(0xf4), first_criterion(), "muộn", 13)],
    );
    let (status, res) = send(
        &f.app,
        post_as("carrier", "/api/v1/changes-file", late.pipe_json()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(res["code"], "tampered");
}

trait PipeJson {
    fn pipe_json(&self) -> String;
}

impl PipeJson for shared::changes_file::ChangesFile {
    fn pipe_json(&self) -> String {
        serde_json::to_string(self).expect("json")
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
}

#[tokio::test]
async fn a_stamp_beyond_javascript_integers_is_refused_and_writes_nothing() {
    let f = fixture(Limits::default()).await;
    let before = title_and_seq(&f.store, first_criterion()).await;
    let body = sync_body(
        0,
        vec![rename(Uuid::from_u128(1), first_criterion(), "x", u64::MAX)],
    );
    let (status, res) = send(&f.app, post_json(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(res["code"], "malformed_request");
    assert_eq!(title_and_seq(&f.store, first_criterion()).await, before);
}

#[tokio::test]
async fn a_stamp_ahead_of_the_server_is_refused_with_its_time_and_a_restamp_goes_through() {
    let f = fixture(Limits::default()).await;
    let before = title_and_seq(&f.store, first_criterion()).await;
    // A tablet whose clock says the year 9999.
    let future = 253_402_300_799_000;
    let body = sync_body(
        0,
        vec![rename(
            Uuid::from_u128(1),
            first_criterion(),
            "từ tương lai",
            future,
        )],
    );
    let (status, res) = send(&f.app, post_json(body)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{res}");
    assert_eq!(res["code"], "clock_ahead");
    let server_ms = res["server_ms"].as_u64().expect("server_ms");
    assert!(server_ms.abs_diff(now_ms()) < 60_000);
    assert_eq!(title_and_seq(&f.store, first_criterion()).await, before);
    // Re-stamped from the server's time (what the app does), the same edit applies.
    let body = sync_body(
        0,
        vec![rename(
            Uuid::from_u128(1),
            first_criterion(),
            "đúng giờ",
            server_ms,
        )],
    );
    let (status, res) = send(&f.app, post_json(body)).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["outcomes"][0]["status"], "applied");
    // A later honest edit still wins: nothing stored runs ahead of the clock.
    let body = sync_body(
        0,
        vec![rename(
            Uuid::from_u128(2),
            first_criterion(),
            "sau đó",
            now_ms() + 1000,
        )],
    );
    let (_, res) = send(&f.app, post_json(body)).await;
    assert_eq!(res["outcomes"][0]["status"], "applied");
    assert_eq!(title_and_seq(&f.store, first_criterion()).await.0, "sau đó");
}

#[tokio::test]
async fn a_stamp_of_another_device_is_rejected_alone() {
    let f = fixture(Limits::default()).await;
    let mut foreign = rename(Uuid::from_u128(1), first_criterion(), "giả mạo", 5);
    foreign["hlc"]["node"] = json!("ffffffff-ffff-ffff-ffff-ffffffffffff");
    let own = rename(Uuid::from_u128(2), first_criterion(), "của mình", 6);
    let (status, res) = send(&f.app, post_json(sync_body(0, vec![foreign, own]))).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["outcomes"][0]["status"], "rejected");
    assert_eq!(res["outcomes"][0]["code"], "foreign_stamp");
    assert_eq!(res["outcomes"][1]["status"], "applied");
    assert_eq!(
        title_and_seq(&f.store, first_criterion()).await.0,
        "của mình"
    );
}

#[tokio::test]
async fn the_migration_clamps_stamps_stored_in_the_far_future() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pool =
        sqlx::SqlitePool::connect(&format!("sqlite://{}/m.db?mode=rwc", dir.path().display()))
            .await
            .expect("pool");
    sqlx::query("CREATE TABLE records (id TEXT PRIMARY KEY, clocks TEXT NOT NULL)")
        .execute(&pool)
        .await
        .expect("table");
    let far = r#"{"title":{"ms":18446744073709551615,"counter":7,"node":"ffffffff-ffff-ffff-ffff-ffffffffffff"},"kind":{"ms":5,"counter":0,"node":"00000000-0000-0000-0000-000000000009"}}"#;
    sqlx::query("INSERT INTO records VALUES ('a', ?), ('b', '{}')")
        .bind(far)
        .execute(&pool)
        .await
        .expect("row");
    sqlx::raw_sql(include_str!(
        "../migrations/sqlite/0005_clamp_future_stamps.sql"
    ))
    .execute(&pool)
    .await
    .expect("migration");
    let (clocks,): (String,) = sqlx::query_as("SELECT clocks FROM records WHERE id = 'a'")
        .fetch_one(&pool)
        .await
        .expect("read");
    let clocks: shared::mutation::FieldClocks = serde_json::from_str(&clocks).expect("clocks");
    let title = clocks["title"];
    assert!(
        title.ms.abs_diff(now_ms()) < 60_000,
        "clamped to now: {title:?}"
    );
    assert_eq!((title.counter, clocks["kind"].ms), (7, 5));
}

#[tokio::test]
async fn a_taken_mutation_id_is_a_conflict_never_a_duplicate() {
    let f = fixture(Limits::default()).await;
    // A second device of another secretary account.
    let other = Uuid::from_u128(77);
    let id = add_token(
        &f.store,
        "other-device-token",
        Some(Grant {
            block_id: demo::BLOCK_ID,
            role: Role::Secretary,
            unit: None,
        }),
        false,
        i64::MAX / 2,
    )
    .await;
    f.store
        .insert_token(
            &auth::hash_secret("other-device-token-2"),
            id,
            other,
            "khác",
            i64::MAX / 2,
        )
        .await
        .expect("token");
    let taken = Uuid::from_u128(4242);
    // The other device gets the id in first (a forger who read it from a changes file).
    let mut forged = rename(taken, first_criterion(), "giả", 5);
    forged["hlc"]["node"] = json!(other);
    let body = json!({
        "protocol": {"major": 2, "minor": 1}, "device_id": other, "cursor": 0,
        "mutations": [forged],
    })
    .to_string();
    let (status, res) = send(
        &f.app,
        post_as("other-device-token-2", "/api/v1/sync", body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["outcomes"][0]["status"], "applied");
    // The real device's change under that id: refused as taken, not `duplicate`.
    let real = rename(taken, first_criterion(), "thật", 6);
    let (_, res) = send(&f.app, post_json(sync_body(0, vec![real.clone()]))).await;
    assert_eq!(res["outcomes"][0]["status"], "rejected", "{res}");
    assert_eq!(res["outcomes"][0]["code"], "mutation_id_taken");
    // Under a new id (what the app does) it applies.
    let (_, res) = send(
        &f.app,
        post_json(sync_body(
            0,
            vec![rename(Uuid::from_u128(4243), first_criterion(), "thật", 6)],
        )),
    )
    .await;
    assert_eq!(res["outcomes"][0]["status"], "applied", "{res}");
    // A true retry is a duplicate; the same id with other content is taken.
    let (_, res) = send(
        &f.app,
        post_json(sync_body(
            0,
            vec![rename(Uuid::from_u128(4243), first_criterion(), "thật", 6)],
        )),
    )
    .await;
    assert_eq!(res["outcomes"][0]["status"], "duplicate");
    let (_, res) = send(
        &f.app,
        post_json(sync_body(
            0,
            vec![rename(Uuid::from_u128(4243), first_criterion(), "sửa", 6)],
        )),
    )
    .await;
    assert_eq!(res["outcomes"][0]["code"], "mutation_id_taken");
}

#[tokio::test]
async fn text_typed_with_combining_marks_is_stored_precomposed() {
    let f = fixture(Limits::default()).await;
    let decomposed = "Tie\u{302}u chi\u{301} mo\u{31b}\u{301}i";
    let body = sync_body(
        0,
        vec![rename(Uuid::from_u128(1), first_criterion(), decomposed, 5)],
    );
    let (status, res) = send(&f.app, post_json(body)).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["outcomes"][0]["status"], "applied");
    assert_eq!(
        title_and_seq(&f.store, first_criterion()).await.0,
        "Tiêu chí mới"
    );
}

#[tokio::test]
async fn a_device_keeps_only_its_newest_keys() {
    let f = fixture(Limits::default()).await;
    for seed in 1..=12u8 {
        let req = post_as(
            SECRETARY_TOKEN,
            "/api/v1/auth/device-key",
            json!({ "device_key": device_key(seed).1 }).to_string(),
        );
        let res = f.app.clone().oneshot(req).await.expect("response");
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    let keys = f
        .store
        .device_keys(Uuid::from_u128(9), 0)
        .await
        .expect("keys");
    assert_eq!(keys.len(), 8, "bounded");
}

/// A request carrying only the page session's cookie.
fn with_cookie(method: &str, path: &str, cookie: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, format!("other=1; {cookie}"))
}

#[tokio::test]
async fn a_page_session_opens_pages_never_a_sync_and_ends_with_its_token() {
    let f = fixture(Limits::default()).await;
    let audit = format!("/api/v1/blocks/{}/audit", demo::BLOCK_ID);
    // A token in the address is refused, and the refusal says why.
    let (status, res) = send(
        &f.app,
        Request::get(format!("{audit}?access_token={SECRETARY_TOKEN}"))
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        res["message"].as_str().expect("msg").contains("address"),
        "{res}"
    );
    let start = |token: &'static str| {
        let app = f.app.clone();
        async move {
            let res = app
                .oneshot(post_as(token, "/api/v1/auth/page-session", Body::empty()))
                .await
                .expect("page session");
            assert_eq!(res.status(), StatusCode::NO_CONTENT);
            let set = res.headers()[header::SET_COOKIE]
                .to_str()
                .expect("ascii")
                .to_owned();
            for part in ["HttpOnly", "SameSite=Strict", "Path=/api/v1"] {
                assert!(set.contains(part), "{set}");
            }
            assert!(
                !set.contains(SECRETARY_TOKEN),
                "the cookie is not the token"
            );
            set.split(';').next().expect("pair").to_owned()
        }
    };
    let cookie = start(SECRETARY_TOKEN).await;
    // The cookie opens the secretary's pages and documents.
    let (status, rows) = send(
        &f.app,
        with_cookie("GET", &audit, &cookie)
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(rows.is_array());
    let docs = format!("/api/v1/blocks/{}/documents.html", demo::BLOCK_ID);
    let res = f
        .app
        .clone()
        .oneshot(
            with_cookie("GET", &docs, &cookie)
                .body(Body::empty())
                .expect("req"),
        )
        .await
        .expect("docs");
    assert_eq!(res.status(), StatusCode::OK);
    // Never a sync, nor any other API call that is not a page.
    let body = sync_body(0, vec![]);
    let (status, _) = send(
        &f.app,
        with_cookie("POST", "/api/v1/sync", &cookie)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .expect("req"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A write by cookie needs the page's own header (another site cannot send it).
    let meeting = format!("/api/v1/blocks/{}/meeting", demo::BLOCK_ID);
    let details = json!({"place": "Hà Nội", "date": "2026-12-20", "chair": "", "secretary": "", "absent": []}).to_string();
    let (status, res) = send(
        &f.app,
        with_cookie("PUT", &meeting, &cookie)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(details.clone()))
            .expect("req"),
    )
    .await;
    assert_eq!(
        (status, res["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let res = f
        .app
        .clone()
        .oneshot(
            with_cookie("PUT", &meeting, &cookie)
                .header(header::CONTENT_TYPE, "application/json")
                .header("x-thidua-page", "1")
                .body(Body::from(details))
                .expect("req"),
        )
        .await
        .expect("meeting");
    assert!(res.status().is_success(), "{}", res.status());
    // A new page session replaces the device's earlier one.
    let newer = start(SECRETARY_TOKEN).await;
    assert_ne!(newer, cookie);
    for (c, want) in [
        (&cookie, StatusCode::UNAUTHORIZED),
        (&newer, StatusCode::OK),
    ] {
        let (status, _) = send(
            &f.app,
            with_cookie("GET", &audit, c)
                .body(Body::empty())
                .expect("req"),
        )
        .await;
        assert_eq!(status, want, "{c}");
    }
    // An expired page session opens nothing.
    f.store
        .insert_page_session(
            &auth::hash_secret("old-page-session"),
            &auth::hash_secret(SECRETARY_TOKEN),
            1,
        )
        .await
        .expect("insert");
    let (status, res) = send(
        &f.app,
        with_cookie("GET", &audit, "thidua_page=old-page-session")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        res["message"]
            .as_str()
            .expect("msg")
            .contains("page session"),
        "{res}"
    );
    // Signing out ends the page session with the token, and clears the cookie.
    add_token(&f.store, "page-token", None, true, i64::MAX / 2).await;
    let admin = start("page-token").await;
    let res = f
        .app
        .clone()
        .oneshot(post_as("page-token", "/api/v1/auth/logout", Body::empty()))
        .await
        .expect("logout");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(
        res.headers()[header::SET_COOKIE]
            .to_str()
            .expect("ascii")
            .contains("Max-Age=0")
    );
    let (status, _) = send(
        &f.app,
        with_cookie("GET", &audit, &admin)
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_unit_has_one_delegate_and_its_issuer_cannot_take_the_seat() {
    let f = fixture(Limits::default()).await;
    let code_for = |unit: Uuid| {
        let app = f.app.clone();
        async move {
            let req =
                json!({"block_id": demo::BLOCK_ID, "role": "delegate", "unit": unit}).to_string();
            send(&app, post_as(SECRETARY_TOKEN, "/api/v1/join-codes", req)).await
        }
    };
    let join = |code: String, device: u128| {
        let app = f.app.clone();
        async move {
            let req = json!({"code": code, "device_id": Uuid::from_u128(device), "device_name": "Máy bảng"});
            send(&app, post_as("", "/api/v1/auth/join", req.to_string())).await
        }
    };
    let unit = demo::id(3);
    // The secretary's own tablet (device 9) cannot use the code it issued.
    let (status, res) = code_for(unit).await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    let code = res["code"].as_str().expect("code").to_owned();
    let (status, res) = join(code.clone(), 9).await;
    assert_eq!(
        (status, res["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden")),
        "{res}"
    );
    // The refusal left the code unused: the unit's delegate joins with it.
    let (status, res) = join(code, 300).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let delegate = res["token"].as_str().expect("token").to_owned();
    // A second device for the unit: no new code, and a code issued before is refused.
    let (status, res) = code_for(unit).await;
    assert_eq!(
        (status, res["code"].as_str()),
        (StatusCode::CONFLICT, Some("unit_taken")),
        "{res}"
    );
    assert!(
        res["message_vi"]
            .as_str()
            .expect("vi")
            .contains("đã có đại biểu")
    );
    // A unit whose delegate has an administrator-made account is taken from the start.
    let other = demo::id(4);
    let (status, res) = code_for(other).await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    let early = res["code"].as_str().expect("code").to_owned();
    thidua_server::cli::create_account(&f.store, "donvi4", "Đại biểu 4", "mật-khẩu-đủ-dài", false)
        .await
        .expect("account");
    let account = f
        .store
        .account_by_username("donvi4")
        .await
        .expect("q")
        .expect("row")
        .id;
    f.store
        .set_grant(
            account,
            &Grant {
                block_id: demo::BLOCK_ID,
                role: Role::Delegate,
                unit: Some(other),
            },
        )
        .await
        .expect("grant");
    let (status, res) = join(early, 301).await;
    assert_eq!(
        (status, res["code"].as_str()),
        (StatusCode::CONFLICT, Some("unit_taken")),
        "{res}"
    );
    // Only an administrator revokes a device; that frees the seat, and the audit shows both.
    let revoke = json!({"device_id": Uuid::from_u128(300)}).to_string();
    let (status, _) = send(
        &f.app,
        post_as(
            SECRETARY_TOKEN,
            "/api/v1/auth/revoke-device",
            revoke.clone(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    add_token(&f.store, "admin-token", None, true, i64::MAX / 2).await;
    let (status, res) = send(
        &f.app,
        post_as("admin-token", "/api/v1/auth/revoke-device", revoke),
    )
    .await;
    assert_eq!(
        (status, res["revoked"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{res}"
    );
    let (status, _) = send(
        &f.app,
        post_as(&delegate, "/api/v1/sync", sync_body(0, vec![])),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the revoked device is signed out"
    );
    let (status, res) = code_for(unit).await;
    assert_eq!(status, StatusCode::CREATED, "the seat is free again: {res}");
    let (status, rows) = send(
        &f.app,
        Request::get(format!("/api/v1/blocks/{}/audit", demo::BLOCK_ID))
            .header(header::AUTHORIZATION, format!("Bearer {SECRETARY_TOKEN}"))
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let ops: Vec<&str> = rows
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["op"].as_str())
        .collect();
    assert_eq!(ops, ["join", "revoke_device"], "{rows}");
    let joined = &rows[0];
    assert_eq!(joined["device_id"], json!(Uuid::from_u128(300)));
    assert_eq!(joined["record_id"], json!(unit));
    assert!(
        joined["new_value"]
            .as_str()
            .expect("json")
            .contains(&f.secretary.to_string())
    );
}

#[tokio::test]
async fn ballot_papers_travel_sealed_to_the_server_and_only_papers_may() {
    use p256::ecdsa::signature::Signer;
    let f = fixture(Limits::default()).await;
    add_token(&f.store, "carrier", None, true, i64::MAX / 2).await;
    f.store
        .register_device_key(Uuid::from_u128(9), f.secretary, &device_key(1).1)
        .await
        .expect("key");
    // The key is public, made once and the same on every call.
    let key = || async {
        let res = f
            .app
            .clone()
            .oneshot(
                Request::get("/api/v1/paper-key")
                    .body(Body::empty())
                    .expect("req"),
            )
            .await
            .expect("res");
        assert_eq!(res.status(), StatusCode::OK);
        let b = res.into_body().collect().await.expect("body").to_bytes();
        String::from_utf8(b.to_vec()).expect("utf8")
    };
    let public = key().await;
    assert!(
        public.starts_with(thidua_server::device_key::SPKI_P256_HEADER),
        "{public}"
    );
    assert_eq!(key().await, public);
    let signed = |papers: Vec<shared::changes_file::SealedPaper>| {
        let mut file =
            shared::changes_file::ChangesFile::new(Uuid::from_u128(9), 1_700_000_000_000, vec![]);
        file.papers = papers;
        let sig: p256::ecdsa::Signature = device_key(1).0.sign(&file.sealed_bytes());
        file.signature = sig.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        serde_json::to_string(&file).expect("json")
    };
    let before = title_and_seq(&f.store, first_criterion()).await;
    // A sealed "paper" that is not a ballot paper is refused whole, after it opened.
    let not_a_paper = rename(Uuid::from_u128(0xe1), first_criterion(), "Lén", now_ms());
    let sealed =
        thidua_server::paper_key::seal(&public, not_a_paper.to_string().as_bytes(), &[3; 32])
            .expect("seal");
    let (status, res) = send(
        &f.app,
        post_as("carrier", "/api/v1/changes-file", signed(vec![sealed])),
    )
    .await;
    assert_eq!(
        (status, res["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_request")),
        "{res}"
    );
    assert!(
        res["message"]
            .as_str()
            .expect("msg")
            .contains("ballot paper only"),
        "{res}"
    );
    // One sealed to another key does not open.
    let other = thidua_server::paper_key::fresh().expect("key").1;
    let sealed = thidua_server::paper_key::seal(&other, b"{}", &[4; 32]).expect("seal");
    let (status, res) = send(
        &f.app,
        post_as("carrier", "/api/v1/changes-file", signed(vec![sealed])),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert!(
        res["message"]
            .as_str()
            .expect("msg")
            .contains("does not open"),
        "{res}"
    );
    assert_eq!(
        title_and_seq(&f.store, first_criterion()).await,
        before,
        "nothing applied"
    );
}
