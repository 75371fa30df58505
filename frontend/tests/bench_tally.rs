//! The full tally of 60 units × 60 scorers × 100 criteria in headless Chromium: a benchmark,
//! ignored by the test run. Run it with `scripts/bench` (release build, `--include-ignored`).

use shared::casebook::synthetic;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn now_micros() -> u64 {
    let performance = web_sys::window()
        .and_then(|w| w.performance())
        .expect("window.performance");
    // Milliseconds with a fractional part; whole microseconds are enough here.
    let ms = performance.now();
    #[allow(clippy::float_arithmetic, clippy::cast_possible_truncation)]
    let us = (ms * 1000.0) as u64;
    us
}

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
    micros.sort_unstable();
    let ms = |us: u64| format!("{}.{:02} ms", us / 1000, us % 1000 / 10);
    // Shown by the runner with --nocapture.
    console_log!(
        "{}",
        format!(
            "tally wasm32 (headless Chromium): median {}, min {}, max {} over {} runs on {} cells (target < 100 ms)",
            ms(micros[micros.len() / 2]),
            ms(micros[0]),
            ms(micros[micros.len() - 1]),
            micros.len(),
            c.cells.len()
        )
    );
}
