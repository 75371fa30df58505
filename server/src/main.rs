//! `thidua-server`: the command line. `serve` picks the storage backend from the database URL
//! and runs the same generic server on it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use thidua_server::store::Backend;
use thidua_server::{Limits, PgStore, SqliteStore, Store, app, cli, launch};
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
    /// Address to listen on.
    #[arg(long, env = "THIDUA_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
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
}

#[tokio::main]
async fn main() -> ExitCode {
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
    let limits = Limits {
        // Both ranges are checked by clap and fit any usize.
        max_body_bytes: usize::try_from(args.max_body_bytes).unwrap_or(usize::MAX),
        max_batch: usize::try_from(args.max_batch).unwrap_or(usize::MAX),
    };
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("listening on {}: {e}", args.listen))?;
    tracing::info!(
        "ThiĐua serving on http://{} (static files from {})",
        args.listen,
        args.static_dir.display()
    );
    launch(
        listener,
        app(store, limits, Some(args.static_dir)),
        shutdown(),
    )
    .await
    .map_err(|e| format!("serving: {e}"))
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
