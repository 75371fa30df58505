//! The full load run (a figure printer): 200 devices syncing through a real server for 60 s,
//! then stopping by themselves. `THIDUA_LOAD_DEVICES` and `THIDUA_LOAD_SECONDS` change it.
//! Exits non-zero when a request failed or a change was lost or applied twice.

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let devices = usize::try_from(env("THIDUA_LOAD_DEVICES", 200)).unwrap_or(200);
    let seconds = env("THIDUA_LOAD_SECONDS", 60);
    let report = thidua_tests::load::run(devices, seconds).await;
    println!("{report}");
    if report.errors > 0 || report.lost > 0 || report.duplicated > 0 {
        std::process::exit(1);
    }
}
