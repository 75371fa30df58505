//! `thidua-server`: the command line. `serve` picks the storage backend from the database URL
//! and runs the same generic server on it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use thidua_server::store::Backend;
use thidua_server::{Limits, PgStore, SqliteStore, Store, app, app_with_hall, cli, launch};
use tokio::net::TcpListener;

/// ThiĐua sync server: emulation covenants, scoring and ballots for emulation blocks.
#[derive(Parser, Debug)]
#[command(name = "thidua-server", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the API and the built app.
    Serve(ServeArgs),
    /// Create an account (the first administrator, say); the password is read from
    /// THIDUA_PASSWORD or, if unset, from the first line of standard input.
    CreateAccount(AccountArgs),
    /// Load member units, blocks and accounts from a JSON file (see README).
    Import(ImportArgs),
    /// Copy the SQLite database to a file, consistently, while the server runs.
    Backup(BackupArgs),
    /// Put a backup in place of a database that does not exist yet (the server stopped).
    Restore(RestoreArgs),
}

#[derive(Args, Debug)]
struct BackupArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The backup file to write (must not exist).
    #[arg(long)]
    to: PathBuf,
}

#[derive(Args, Debug)]
struct RestoreArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The backup file to restore.
    #[arg(long)]
    from: PathBuf,
}

#[derive(Args, Debug)]
struct DbArgs {
    /// Database: sqlite://data/thidua.db (embedded) or postgres://user@host/db.
    #[arg(
        long,
        env = "THIDUA_DATABASE_URL",
        default_value = "sqlite://data/thidua.db",
        hide_env_values = true
    )]
    database_url: String,
}

#[derive(Args, Debug)]
struct AccountArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Sign-in name.
    #[arg(long)]
    username: String,
    /// Display name.
    #[arg(long, default_value = "")]
    name: String,
    /// Make it a central office administrator.
    #[arg(long)]
    admin: bool,
}

#[derive(Args, Debug)]
struct ImportArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The JSON file: {"records": [units and blocks], "accounts": [...]}.
    #[arg(long)]
    file: PathBuf,
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080; 0.0.0.0:8443 with --hall].
    #[arg(long, env = "THIDUA_LISTEN")]
    listen: Option<SocketAddr>,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key); reloaded on SIGHUP or
    /// when the file changes.
    #[arg(
        long,
        env = "THIDUA_TLS_CERT",
        requires = "tls_key",
        conflicts_with = "hall"
    )]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "THIDUA_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// With HTTPS, also listen here on plain HTTP and redirect to HTTPS (the hall's setup
    /// page stays reachable on it) [default with --hall: 0.0.0.0:8080].
    #[arg(long, env = "THIDUA_REDIRECT_HTTP")]
    redirect_http: Option<SocketAddr>,
    /// Hall mode: HTTPS with the server's own certificate authority, made on first start,
    /// and a setup page for tablets at /hall.
    #[arg(long, env = "THIDUA_HALL")]
    hall: bool,
    /// Folder of the hall's authority and certificates.
    #[arg(long, env = "THIDUA_HALL_DIR", default_value = "data/hall")]
    hall_dir: PathBuf,
    /// Another name tablets use for this machine (e.g. hoitruong.lan); repeatable.
    #[arg(long = "hall-name", env = "THIDUA_HALL_NAMES", value_delimiter = ',')]
    hall_names: Vec<String>,
    #[command(flatten)]
    db: DbArgs,
    /// Folder of the built app (trunk's dist/), served at /.
    #[arg(long, env = "THIDUA_STATIC_DIR", default_value = "dist")]
    static_dir: PathBuf,
    /// Fill an empty database with the demo block and covenant.
    #[arg(long, env = "THIDUA_SEED_DEMO")]
    seed_demo: bool,
    /// Largest request body in bytes.
    #[arg(long, env = "THIDUA_MAX_BODY_BYTES", default_value_t = Limits::default().max_body_bytes as u64,
          value_parser = clap::value_parser!(u64).range(1024..=1 << 30))]
    max_body_bytes: u64,
    /// Most mutations accepted in one push.
    #[arg(long, env = "THIDUA_MAX_BATCH", default_value_t = Limits::default().max_batch as u64,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    max_batch: u64,
    /// How far ahead of this server's clock a device's stamp may be, in seconds; a device
    /// further ahead is told the server's time, re-stamps its edits and pushes again.
    #[arg(long, env = "THIDUA_MAX_CLOCK_SKEW_SECS", default_value_t = shared::hlc::DEFAULT_MAX_SKEW_MS / 1000,
          value_parser = clap::value_parser!(u64).range(5..=86_400))]
    max_clock_skew_secs: u64,
    /// Behind a reverse proxy (Caddy, nginx): read the client's address from the last
    /// X-Forwarded-For entry, for the sign-in throttle.
    #[arg(long, env = "THIDUA_TRUST_PROXY")]
    trust_proxy: bool,
    /// Syncs decoded and applied at once (default: twice the cores, at least 4); more
    /// wait their turn, so memory stays bounded however many devices push together.
    #[arg(long, env = "THIDUA_MAX_CONCURRENT_SYNCS",
          value_parser = clap::value_parser!(u64).range(1..=1024))]
    max_concurrent_syncs: Option<u64>,
}

/// glibc gives each thread that allocates its own heap ("arena"), up to 8 per core, and
/// keeps what was freed in each: with 50 devices pushing at once (sqlx runs every SQLite
/// connection on its own thread) the server stayed at 150–210 MB. One arena, whose
/// per-thread caches still serve small allocations, holds it under 100 MB at the same
/// speed (README, "Memory"). glibc reads the setting only when a process starts, so the
/// server starts itself again once with it, unless the operator set it or a tunable.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_malloc_arena() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("MALLOC_ARENA_MAX").is_some()
        || std::env::var_os("GLIBC_TUNABLES").is_some()
    {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    // `exec` returns only if it failed; the server then runs as it is.
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("MALLOC_ARENA_MAX", "1")
        .exec();
    eprintln!("thidua-server: running with glibc's default arenas ({err})");
}

fn main() -> ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    one_malloc_arena();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(serve_main()),
        Err(e) => {
            eprintln!("thidua-server: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve_main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::CreateAccount(args) => create_account(args).await,
        Command::Import(args) => import(args).await,
        Command::Backup(args) => cli::backup(&args.db.database_url, &args.to)
            .await
            .map(|n| println!("backed up {n} bytes to {}", args.to.display())),
        Command::Restore(args) => cli::restore(&args.from, &args.db.database_url)
            .await
            .map(|n| println!("restored {n} records from {}", args.from.display())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("thidua-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `f` on the store the URL names.
macro_rules! with_store {
    ($url:expr, |$store:ident| $body:expr) => {
        match Backend::from_url($url) {
            Some(Backend::Sqlite) => {
                let $store = SqliteStore::connect($url)
                    .await
                    .map_err(|e| format!("opening the SQLite database: {e}"))?;
                $body
            }
            Some(Backend::Postgres) => {
                let $store = PgStore::connect($url)
                    .await
                    .map_err(|e| format!("connecting to PostgreSQL: {e}"))?;
                $body
            }
            None => Err(
                "--database-url must start with sqlite:// or postgres:// (THIDUA_DATABASE_URL)"
                    .to_owned(),
            ),
        }
    };
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    if !args.static_dir.join("index.html").is_file() {
        return Err(format!(
            "--static-dir {}: no index.html there; build the app first (trunk build --release)",
            args.static_dir.display()
        ));
    }
    let url = args.db.database_url.clone();
    with_store!(&url, |store| run(store, args).await)
}

async fn create_account(args: AccountArgs) -> Result<(), String> {
    let password = match std::env::var("THIDUA_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| format!("reading the password from standard input: {e}"))?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    with_store!(&args.db.database_url, |store| {
        let id = cli::create_account(&store, &args.username, &args.name, &password, args.admin)
            .await
            .map_err(|e| e.to_string())?;
        println!("created account {} ({id})", args.username);
        Ok(())
    })
}

async fn import(args: ImportArgs) -> Result<(), String> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("reading {}: {e}", args.file.display()))?;
    with_store!(&args.db.database_url, |store| {
        let done = cli::import(&store, &text)
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "imported {} record(s) and {} account(s)",
            done.records, done.accounts
        );
        Ok(())
    })
}

async fn run<S: Store>(store: S, args: ServeArgs) -> Result<(), String> {
    if args.seed_demo {
        cli::seed_demo(&store, &shared::demo::records()).await?;
    }
    let tls_on = args.hall || args.tls_cert.is_some();
    let limits = Limits {
        // Both ranges are checked by clap and fit any usize.
        max_body_bytes: usize::try_from(args.max_body_bytes).unwrap_or(usize::MAX),
        max_batch: usize::try_from(args.max_batch).unwrap_or(usize::MAX),
        max_clock_skew_ms: args.max_clock_skew_secs * 1000,
        trust_proxy: args.trust_proxy,
        tls: tls_on,
        max_concurrent_syncs: args
            .max_concurrent_syncs
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or_else(thidua_server::config::default_concurrent_syncs),
    };
    let default_listen = if args.hall {
        "0.0.0.0:8443"
    } else {
        "127.0.0.1:8080"
    };
    let listen = args.listen.unwrap_or_else(|| {
        default_listen
            .parse()
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080)))
    });
    if !tls_on {
        if args.redirect_http.is_some() {
            return Err("--redirect-http needs HTTPS (--tls-cert and --tls-key, or --hall)".into());
        }
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| format!("--listen {listen}: {e}"))?;
        if !listen.ip().is_loopback() {
            tracing::warn!(
                "serving plain HTTP on {listen}: tablets reaching it by address get no offline \
                 mode (no service worker outside HTTPS or localhost); use --hall or --tls-cert"
            );
        }
        tracing::info!(
            "ThiĐua serving on http://{listen} (static files from {})",
            args.static_dir.display()
        );
        return launch(
            listener,
            app(store, limits, Some(args.static_dir)),
            shutdown(),
        )
        .await
        .map_err(|e| format!("serving: {e}"));
    }
    thidua_server::tls::install_crypto();
    let (files, hall_page) = if args.hall {
        let dir = thidua_server::hall::HallDir(args.hall_dir.clone());
        let (certs, _) = dir
            .ensure(&thidua_server::hall::local_names(&args.hall_names))
            .map_err(|e| format!("--hall-dir {}: {e}", args.hall_dir.display()))?;
        let files = thidua_server::tls::TlsFiles {
            cert: certs.cert_file.clone(),
            key: certs.key_file.clone(),
        };
        let page: thidua_server::SharedHall =
            std::sync::Arc::new(std::sync::RwLock::new(thidua_server::HallPage {
                certs,
                port: listen.port(),
            }));
        (files, Some(page))
    } else {
        let (Some(cert), Some(key)) = (args.tls_cert.clone(), args.tls_key.clone()) else {
            return Err("--tls-cert and --tls-key go together".into());
        };
        (thidua_server::tls::TlsFiles { cert, key }, None)
    };
    let config = thidua_server::tls::load(&files).await?;
    thidua_server::tls::watch(config.clone(), files);
    if let (Some(page), true) = (&hall_page, args.hall) {
        watch_addresses(
            thidua_server::hall::HallDir(args.hall_dir.clone()),
            args.hall_names.clone(),
            page.clone(),
            config.clone(),
        );
    }
    let listener =
        std::net::TcpListener::bind(listen).map_err(|e| format!("--listen {listen}: {e}"))?;
    let redirect = args
        .redirect_http
        .or_else(|| args.hall.then(|| SocketAddr::from(([0, 0, 0, 0], 8080))));
    if let Some(addr) = redirect {
        let l = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("--redirect-http {addr}: {e}"))?;
        let router = thidua_server::redirect_router(listen.port(), hall_page.clone());
        tracing::info!("redirecting http://{addr} to HTTPS");
        tokio::spawn(async move {
            let _ = launch(l, router, std::future::pending()).await;
        });
    }
    match &hall_page {
        Some(p) => {
            let p = p.read().unwrap_or_else(|e| e.into_inner()).clone();
            for url in p.urls() {
                // A tablet opens the setup page over plain HTTP first: it does not trust
                // the hall's authority yet.
                let setup = match redirect {
                    Some(r) => {
                        let host = url
                            .trim_start_matches("https://")
                            .rsplit_once(':')
                            .map_or("", |(h, _)| h);
                        format!("http://{host}:{}/hall", r.port())
                    }
                    None => format!("{url}hall"),
                };
                tracing::info!("ThiĐua hall server on {url} (tablet setup: {setup})");
            }
        }
        None => tracing::info!("ThiĐua serving on https://{listen}"),
    }
    thidua_server::launch_tls(
        listener,
        app_with_hall(store, limits, Some(args.static_dir), hall_page),
        config,
        shutdown(),
    )
    .await
    .map_err(|e| format!("serving: {e}"))
}

/// Re-issues the hall's server certificate when this machine's addresses change (another
/// hall's Wi-Fi), checked every 30 s, and swaps it in without dropping connections.
fn watch_addresses(
    dir: thidua_server::hall::HallDir,
    extra: Vec<String>,
    page: thidua_server::SharedHall,
    config: axum_server::tls_rustls::RustlsConfig,
) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            let names = thidua_server::hall::local_names(&extra);
            match dir.ensure(&names) {
                Ok((certs, true)) => {
                    let files = thidua_server::tls::TlsFiles {
                        cert: certs.cert_file.clone(),
                        key: certs.key_file.clone(),
                    };
                    if let Err(e) = thidua_server::tls::reload(&config, &files).await {
                        tracing::error!("{e}");
                    }
                    page.write().unwrap_or_else(|e| e.into_inner()).certs = certs;
                }
                Ok((_, false)) => {}
                Err(e) => tracing::error!("hall certificate: {e}"),
            }
        }
    });
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
