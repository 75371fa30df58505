//! Seeds a SQLite database with the demo block after its meeting (the casebook's central
//! block conference: rounds, submitted sheets, closed ballots) and the demo's accounts, for
//! the browser test that prints the minutes. Usage: report_fixture DATABASE_URL

use thidua_server::{SqliteStore, cli};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let url = std::env::args()
        .nth(1)
        .ok_or("usage: report_fixture DATABASE_URL")?;
    let store = SqliteStore::connect(&url)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    cli::seed_demo(&store, &shared::casebook::central_block_records()).await
}
