//! The server as deployed in the field, run as the real binary: HTTPS from certificate files
//! (the certificate served is the file's, a reload swaps it, bad files stop the server with
//! a message naming the flag), and a backup taken while devices push, restored into a new
//! folder, holding every mutation acknowledged before the backup began.

mod common;

use common::{free_port, rename, secretary_login};

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName};
use shared::mutation::Mutation;
use shared::protocol::{OutcomeStatus, PROTOCOL, SyncRequest, SyncResponse, TokenResponse};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_thidua-server");

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A certificate for `localhost` from a fresh authority; returns (chain PEM, key PEM, CA DER).
fn make_cert(cn: &str) -> (String, String, Vec<u8>) {
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, format!("{cn} CA"));
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    let key = rcgen::KeyPair::generate().expect("key");
    let mut p = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    p.distinguished_name.push(rcgen::DnType::CommonName, cn);
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let cert = p.signed_by(&key, &issuer).expect("cert");
    (cert.pem(), key.serialize_pem(), ca_cert.der().to_vec())
}

fn static_dir(dir: &Path) -> std::path::PathBuf {
    let d = dir.join("dist");
    std::fs::create_dir_all(&d).expect("dist");
    std::fs::write(d.join("index.html"), "<!doctype html><title>t</title>").expect("index");
    d
}

/// The certificate the server at `port` presents, trusting `ca`.
async fn served_cert(port: u16, ca: &[u8]) -> Result<Vec<u8>, String> {
    thidua_server::tls::install_crypto();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca.to_vec()))
        .map_err(|e| e.to_string())?;
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (_, session) = tls.get_ref();
    session
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .ok_or_else(|| "no certificate".into())
}

fn pem_der(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("base64")
}

#[tokio::test]
async fn https_serves_the_files_certificate_and_a_reload_swaps_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert_a, key_a, ca_a) = make_cert("first");
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, &cert_a).expect("cert");
    std::fs::write(&key_file, &key_a).expect("key");
    let port = free_port();
    let child = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--database-url")
        .arg(format!("sqlite://{}/t.db", dir.path().display()))
        .arg("--static-dir")
        .arg(static_dir(dir.path()))
        .arg("--tls-cert")
        .arg(&cert_file)
        .arg("--tls-key")
        .arg(&key_file)
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("spawn");
    let server = Proc(child);
    let started = Instant::now();
    let first = loop {
        match served_cert(port, &ca_a).await {
            Ok(c) => break c,
            Err(e) => {
                assert!(started.elapsed() < Duration::from_secs(30), "no TLS: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert_eq!(
        first,
        pem_der(&cert_a),
        "the certificate served is the file's"
    );

    // New files and SIGHUP: new connections get the new certificate, no restart.
    let (cert_b, key_b, ca_b) = make_cert("second");
    std::fs::write(&cert_file, &cert_b).expect("cert");
    std::fs::write(&key_file, &key_b).expect("key");
    let status = Command::new("kill")
        .args(["-HUP", &server.0.id().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(status.success());
    let started = Instant::now();
    loop {
        if let Ok(c) = served_cert(port, &ca_b).await
            && c == pem_der(&cert_b)
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the reload did not swap the certificate"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn bad_certificate_files_stop_the_server_naming_the_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, key, _) = make_cert("x");
    let bad = dir.path().join("not-a-cert.pem");
    std::fs::write(&bad, "hello").expect("bad");
    let key_file = dir.path().join("key.pem");
    std::fs::write(&key_file, key).expect("key");
    for (cert, key, flag) in [
        (bad.clone(), key_file.clone(), "--tls-cert"),
        (
            dir.path().join("missing.pem"),
            key_file.clone(),
            "--tls-cert",
        ),
        (key_file.clone(), bad.clone(), "--tls-"),
    ] {
        let out = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
            .arg("--database-url")
            .arg(format!("sqlite://{}/t.db", dir.path().display()))
            .arg("--static-dir")
            .arg(static_dir(dir.path()))
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .stdout(Stdio::null())
            .output()
            .expect("run");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{flag}: {err}");
    }
}

async fn login(http: &reqwest::Client, base: &str, device: Uuid) -> String {
    let res: TokenResponse = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&secretary_login(device))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("token");
    res.token
}

#[tokio::test]
async fn a_backup_under_load_restores_every_acknowledged_mutation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}/live/thidua.db", dir.path().display());
    let port = free_port();
    let child = Command::new(BIN)
        .args([
            "serve",
            "--seed-demo",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("--database-url")
        .arg(&db)
        .arg("--static-dir")
        .arg(static_dir(dir.path()))
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("spawn");
    let _server = Proc(child);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while http
        .get(format!("{base}/api/v1/health"))
        .send()
        .await
        .is_err()
    {
        assert!(started.elapsed() < Duration::from_secs(30), "no server");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Four devices push batches of 20 without pause while the backup runs.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut pushers = Vec::new();
    for d in 0..4u32 {
        let (http, base, stop) = (http.clone(), base.clone(), Arc::clone(&stop));
        pushers.push(tokio::spawn(async move {
            let device = Uuid::now_v7();
            let token = login(&http, &base, device).await;
            let mut acked: Vec<(Instant, Uuid)> = Vec::new();
            let mut n = d * 1_000_000;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let batch: Vec<Mutation> = (0..20)
                    .map(|_| {
                        n += 1;
                        rename(device, n)
                    })
                    .collect();
                let res: SyncResponse = http
                    .post(format!("{base}/api/v1/sync"))
                    .bearer_auth(&token)
                    .json(&SyncRequest {
                        protocol: PROTOCOL,
                        device_id: device,
                        cursor: 0,
                        limit: Some(1),
                        mutations: batch,
                    })
                    .send()
                    .await
                    .expect("push")
                    .json()
                    .await
                    .expect("answer");
                let at = Instant::now();
                for o in res.outcomes {
                    assert!(matches!(o.status, OutcomeStatus::Applied { .. }), "{o:?}");
                    acked.push((at, o.mutation_id));
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let backup = dir.path().join("backup.db");
    let began = Instant::now();
    let out = tokio::process::Command::new(BIN)
        .args(["backup", "--database-url", &db, "--to"])
        .arg(&backup)
        .output()
        .await
        .expect("backup");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut before = Vec::new();
    let mut total = 0;
    for p in pushers {
        let acked = p.await.expect("pusher");
        total += acked.len();
        before.extend(
            acked
                .into_iter()
                .filter(|(at, _)| *at < began)
                .map(|(_, id)| id),
        );
    }
    assert!(
        !before.is_empty() && total > before.len(),
        "load before and during the backup"
    );

    // A second backup to the same name is refused; a restore over a live database too.
    let again = Command::new(BIN)
        .args(["backup", "--database-url", &db, "--to"])
        .arg(&backup)
        .output()
        .expect("backup again");
    assert!(!again.status.success());
    let over = Command::new(BIN)
        .args(["restore", "--database-url", &db, "--from"])
        .arg(&backup)
        .output()
        .expect("restore over");
    assert!(!over.status.success());
    assert!(String::from_utf8_lossy(&over.stderr).contains("exists"));

    // Restored into a new folder, it opens and holds every acknowledged mutation.
    let restored = format!("sqlite://{}/restored/thidua.db", dir.path().display());
    let out = Command::new(BIN)
        .args(["restore", "--database-url", &restored, "--from"])
        .arg(&backup)
        .output()
        .expect("restore");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pool = sqlx::SqlitePool::connect(&restored)
        .await
        .expect("open restored");
    let ids: std::collections::HashSet<String> = sqlx::query_scalar("SELECT id FROM mutations")
        .fetch_all(&pool)
        .await
        .expect("mutations")
        .into_iter()
        .collect();
    let missing = before
        .iter()
        .filter(|id| !ids.contains(&id.to_string()))
        .count();
    assert_eq!(
        missing,
        0,
        "of {} acknowledged before the backup",
        before.len()
    );
    println!(
        "backup under load: {} mutations acknowledged before it began, {} in all, {} in the backup",
        before.len(),
        total,
        ids.len()
    );
}
