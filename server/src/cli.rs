//! What the command line does besides serving: create the first administrator, and load
//! units, blocks and accounts from a JSON file. Records go through the same push path as a
//! device's, as an administrator, so they pass the same rules and land in the audit log.

use serde::Deserialize;
use shared::Record;
use shared::access::{Grant, Principal, Role};
use shared::hlc::Hlc;
use shared::mutation::{Mutation, Op};
use shared::protocol::OutcomeStatus;
use uuid::Uuid;

use crate::auth;
use crate::store::{AccountRow, Store, StoreError};

/// A failure of a command, in words for the operator.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The file cannot be read or parsed.
    #[error("{0}")]
    File(String),
    /// A rule or a name refused something; nothing of that item was written.
    #[error("{0}")]
    Refused(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An account in an import file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub name: String,
    /// Initial password (at least 10 characters).
    pub password: String,
    /// Central office administrator.
    #[serde(default)]
    pub admin: bool,
    /// Roles per block.
    #[serde(default)]
    pub grants: Vec<Grant>,
}

/// An import file: `{"units": [...], "blocks": [...], "accounts": [...]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportFile {
    /// Member units (records as on the wire, with `"type": "unit"`).
    #[serde(default)]
    pub records: Vec<Record>,
    /// Accounts.
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// Records created or updated.
    pub records: usize,
    /// Accounts created.
    pub accounts: usize,
}

/// Creates an account; with `admin`, a central office administrator.
pub async fn create_account<S: Store>(
    store: &S,
    username: &str,
    name: &str,
    password: &str,
    admin: bool,
) -> Result<Uuid, CliError> {
    let username = username.trim();
    if username.is_empty() || username.len() > 100 {
        return Err(CliError::Refused(
            "a username needs 1 to 100 characters".into(),
        ));
    }
    auth::check_new_password(password).map_err(CliError::Refused)?;
    let hash = auth::hash_password(password).map_err(|e| CliError::Refused(e.to_string()))?;
    let id = Uuid::now_v7();
    let row = AccountRow {
        id,
        username: username.to_owned(),
        name: if name.trim().is_empty() {
            username
        } else {
            name.trim()
        }
        .to_owned(),
        password_hash: Some(hash),
        admin,
    };
    match store.create_account(&row).await {
        Ok(()) => Ok(id),
        Err(StoreError::Conflict) => Err(CliError::Refused(format!(
            "the username '{username}' is taken"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Loads an import file: records first (as an administrator, through the push rules), then
/// accounts and their grants.
pub async fn import<S: Store>(store: &S, text: &str) -> Result<Imported, CliError> {
    let file: ImportFile =
        serde_json::from_str(text).map_err(|e| CliError::File(format!("import file: {e}")))?;
    let system = Principal {
        account_id: Uuid::nil(),
        name: "thidua-server import".into(),
        admin: true,
        grants: Vec::new(),
    };
    let device = Uuid::nil();
    let now = u64::try_from(crate::store::now_ms()).unwrap_or(0);
    let mutations: Vec<Mutation> = file
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| Mutation {
            id: Uuid::now_v7(),
            hlc: Hlc {
                ms: now,
                counter: u32::try_from(i).unwrap_or(u32::MAX),
                node: device,
            },
            op: Op::Create { record: r.clone() },
        })
        .collect();
    let mut done = Imported::default();
    for chunk in mutations.chunks(1000) {
        for (m, o) in chunk.iter().zip(store.push(&system, device, chunk).await?) {
            match o.status {
                OutcomeStatus::Applied { .. } | OutcomeStatus::Duplicate => done.records += 1,
                OutcomeStatus::Rejected { message, .. } => {
                    return Err(CliError::Refused(format!(
                        "record {}: {message}",
                        m.op.target()
                    )));
                }
            }
        }
    }
    for a in &file.accounts {
        let id = create_account(store, &a.username, &a.name, &a.password, a.admin).await?;
        for g in &a.grants {
            store.set_grant(id, g).await?;
        }
        done.accounts += 1;
    }
    Ok(done)
}

/// The demo's accounts, all with this password (printed at start; demo data only).
pub const DEMO_PASSWORD: &str = "thidua-demo-2026";

/// Seeds `records` (the demo block, or more) into an empty database with the demo's
/// accounts; does nothing when the database holds data.
pub async fn seed_demo<S: Store>(store: &S, records: &[shared::Record]) -> Result<(), String> {
    let seeded = store
        .seed_if_empty(records)
        .await
        .map_err(|e| format!("seeding demo data: {e}"))?;
    if !seeded {
        return Ok(());
    }
    let fail = |e: CliError| format!("seeding demo accounts: {e}");
    create_account(store, "admin", "Văn phòng Ban Thi đua", DEMO_PASSWORD, true)
        .await
        .map_err(fail)?;
    let block = shared::demo::BLOCK_ID;
    let grant = |role, unit| Grant {
        block_id: block,
        role,
        unit,
    };
    let id = create_account(store, "thuky", "Thư ký Khối", DEMO_PASSWORD, false)
        .await
        .map_err(fail)?;
    store
        .set_grant(id, &grant(Role::Secretary, None))
        .await
        .map_err(|e| e.to_string())?;
    let id = create_account(
        store,
        "maychieu",
        "Màn hình hội trường",
        DEMO_PASSWORD,
        false,
    )
    .await
    .map_err(fail)?;
    store
        .set_grant(id, &grant(Role::Observer, None))
        .await
        .map_err(|e| e.to_string())?;
    for (i, (_, short)) in shared::demo::UNITS.iter().enumerate() {
        let n = u16::try_from(i + 1).unwrap_or(u16::MAX);
        let id = create_account(
            store,
            &format!("donvi{n}"),
            &format!("Đại biểu {short}"),
            DEMO_PASSWORD,
            false,
        )
        .await
        .map_err(fail)?;
        store
            .set_grant(id, &grant(Role::Delegate, Some(shared::demo::id(n))))
            .await
            .map_err(|e| e.to_string())?;
    }
    tracing::info!(
        "seeded the demo block, covenant and accounts: admin, thuky (secretary), donvi1..donvi9 \
         (delegates), maychieu (observer); password {DEMO_PASSWORD}"
    );
    Ok(())
}

/// The SQLite file a `sqlite://` URL names, or why a backup cannot use the URL.
fn sqlite_path(url: &str) -> Result<std::path::PathBuf, String> {
    use std::str::FromStr;
    if crate::store::Backend::from_url(url) != Some(crate::store::Backend::Sqlite) {
        return Err(
            "backup and restore work on the embedded SQLite database; for PostgreSQL use \
             pg_dump and pg_restore (docs/DEPLOY.md)"
                .into(),
        );
    }
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .map_err(|e| format!("--database-url: {e}"))?;
    Ok(opts.get_filename().to_path_buf())
}

/// Opens a SQLite file without creating it.
async fn open_sqlite(path: &std::path::Path) -> Result<sqlx::SqliteConnection, String> {
    use sqlx::ConnectOptions;
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .busy_timeout(std::time::Duration::from_secs(30))
        .connect()
        .await
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Checks a SQLite file is whole and holds ThiĐua's tables; returns its record count.
async fn check_sqlite(path: &std::path::Path) -> Result<i64, String> {
    let mut conn = open_sqlite(path).await?;
    let (verdict,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if verdict != "ok" {
        return Err(format!("{}: damaged ({verdict})", path.display()));
    }
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM records")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| format!("{}: not a ThiĐua database ({e})", path.display()))?;
    Ok(n)
}

/// `thidua-server backup`: a consistent copy of the SQLite database (`VACUUM INTO`, which
/// reads one snapshot while the server keeps writing), checked before it is kept; returns
/// its size in bytes. The file must not exist: a backup never overwrites another.
pub async fn backup(url: &str, to: &std::path::Path) -> Result<u64, String> {
    let from = sqlite_path(url)?;
    if to.exists() {
        return Err(format!(
            "--to {}: the file exists; choose a new name",
            to.display()
        ));
    }
    let tmp = to.with_extension("partial");
    let _ = std::fs::remove_file(&tmp);
    let mut conn = open_sqlite(&from).await?;
    sqlx::query("VACUUM INTO ?")
        .bind(tmp.to_string_lossy().into_owned())
        .execute(&mut conn)
        .await
        .map_err(|e| format!("--to {}: {e}", to.display()))?;
    check_sqlite(&tmp).await?;
    std::fs::rename(&tmp, to).map_err(|e| format!("--to {}: {e}", to.display()))?;
    std::fs::metadata(to)
        .map(|m| m.len())
        .map_err(|e| format!("--to {}: {e}", to.display()))
}

/// `thidua-server restore`: checks the backup, copies it where the URL points (which must
/// not hold a database yet: move the old one aside with the server stopped), and opens it
/// once, which brings an older backup's schema up to date. Returns its record count.
pub async fn restore(from: &std::path::Path, url: &str) -> Result<i64, String> {
    let to = sqlite_path(url)?;
    if to.exists() {
        return Err(format!(
            "--database-url: {} exists; stop the server and move it aside before restoring",
            to.display()
        ));
    }
    check_sqlite(from)
        .await
        .map_err(|e| format!("--from {e}"))?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let tmp = to.with_extension("restoring");
    std::fs::copy(from, &tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &to).map_err(|e| format!("{}: {e}", to.display()))?;
    crate::store::SqliteStore::connect(url)
        .await
        .map_err(|e| format!("opening the restored database: {e}"))?;
    check_sqlite(&to).await
}
