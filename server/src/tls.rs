//! TLS with rustls (no OpenSSL): certificates from PEM files, reloaded in place.
//!
//! A page is a secure context (service worker, SubtleCrypto, persistent storage) only over
//! HTTPS or on localhost, so a server that tablets reach by address or name must speak TLS.
//! The certificate and key are read at start (a bad file stops the server with a message
//! naming the flag) and read again on SIGHUP or when either file changes (checked every
//! 10 s): connections already open keep their session, new ones get the new certificate, and
//! a bad new file is logged and the old certificate kept.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use axum_server::tls_rustls::RustlsConfig;

/// Where the certificate chain and key come from.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM certificate chain (the server's first).
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// Makes rustls use ring, once per process (several servers in one test process share it).
pub fn install_crypto() {
    // ring's provider without post-quantum key exchange: aws-lc-rs, which has it, needs
    // cmake and a C toolchain this project does not otherwise require.
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Checks the files the way rustls will read them, naming the flag at fault.
fn check(files: &TlsFiles) -> Result<(Vec<u8>, Vec<u8>), String> {
    let cert = std::fs::read(&files.cert)
        .map_err(|e| format!("--tls-cert {}: {e}", files.cert.display()))?;
    let key =
        std::fs::read(&files.key).map_err(|e| format!("--tls-key {}: {e}", files.key.display()))?;
    let text = String::from_utf8_lossy(&cert);
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(format!(
            "--tls-cert {}: no PEM certificate in the file",
            files.cert.display()
        ));
    }
    if !String::from_utf8_lossy(&key).contains("PRIVATE KEY-----") {
        return Err(format!(
            "--tls-key {}: no PEM private key in the file",
            files.key.display()
        ));
    }
    Ok((cert, key))
}

/// The rustls configuration from `files`, or why not (naming the flag).
pub async fn load(files: &TlsFiles) -> Result<RustlsConfig, String> {
    install_crypto();
    let (cert, key) = check(files)?;
    RustlsConfig::from_pem(cert, key).await.map_err(|e| {
        format!(
            "--tls-cert {} / --tls-key {}: {e}",
            files.cert.display(),
            files.key.display()
        )
    })
}

/// Reads the files again into `config`; keeps the old certificate if they are bad.
pub async fn reload(config: &RustlsConfig, files: &TlsFiles) -> Result<(), String> {
    let (cert, key) = check(files)?;
    config
        .reload_from_pem(cert, key)
        .await
        .map_err(|e| format!("reloading the certificate: {e}"))
}

fn modified(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Reloads `config` on SIGHUP and whenever a file changes, for as long as the server runs.
pub fn watch(config: RustlsConfig, files: TlsFiles) {
    tokio::spawn(async move {
        let mut seen = (modified(&files.cert), modified(&files.key));
        #[cfg(unix)]
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let signalled = async {
                match hup.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let signalled = std::future::pending::<()>();
            let by_signal = tokio::select! {
                () = signalled => true,
                () = tokio::time::sleep(Duration::from_secs(10)) => false,
            };
            let now = (modified(&files.cert), modified(&files.key));
            if !by_signal && now == seen {
                continue;
            }
            seen = now;
            match reload(&config, &files).await {
                Ok(()) => tracing::info!(cert = %files.cert.display(), "certificate reloaded"),
                Err(e) => tracing::error!("{e}; the previous certificate stays in use"),
            }
        }
    });
}
