//! The full tally of 60 units × 60 scorers × 100 criteria in headless Chromium: a benchmark,
//! ignored by the test run. Run it with `scripts/bench` (release build, `--include-ignored`).

use shared::casebook::synthetic;
use wasm_bindgen_test::*;

mod common;

use common::{now_micros, summary};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
#[ignore = "a benchmark: run by scripts/bench"]
fn tally_60_units_60_scorers_100_criteria() {
    let c = synthetic(60, 10, 10, 2026);
    let first = c.tally().expect("tally");
    assert_eq!(first.units.len(), 60);
    let mut micros: Vec<u64> = (0..15)
        .map(|_| {
            let t = now_micros();
            let r = c.tally().expect("tally");
            let elapsed = now_micros() - t;
            assert_eq!(r, first);
            elapsed
        })
        .collect();
    // Shown by the runner with --nocapture.
    console_log!(
        "{}",
        format!(
            "tally wasm32 (headless Chromium): {} over {} runs on {} cells (target < 100 ms)",
            summary(&mut micros),
            micros.len(),
            c.cells.len()
        )
    );
}
