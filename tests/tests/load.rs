//! The load run, short: 20 devices for 3 s (the full 200 × 60 s is `cargo run -p
//! thidua-tests --bin load`, in the reliability report).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_devices_for_three_seconds_lose_nothing() {
    let report = thidua_tests::load::run(20, 3).await;
    println!("{report}");
    assert!(report.syncs > 100, "{report}");
    assert_eq!(report.errors, 0, "{report}");
    assert_eq!(report.lost, 0, "{report}");
    assert_eq!(report.duplicated, 0, "{report}");
    assert!(report.acknowledged > 100, "{report}");
}
