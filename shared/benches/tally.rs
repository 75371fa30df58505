//! The full tally of 60 units × 60 scorers × 100 criteria (every unit scores itself and the
//! 59 others: 3,600 sheets, 360,000 cells), natively.
//! Run: `cargo bench -p thidua-shared --bench tally` (or `scripts/bench`).

use std::time::Instant;

fn main() {
    let c = shared::casebook::synthetic(60, 10, 10, 2026);
    println!(
        "tally bench: {} units, {} sheets, {} cells, {} criteria",
        c.block.members.len(),
        c.sheets.len(),
        c.cells.len(),
        c.table.criteria.len()
    );
    // Warm up, then time single runs: report the median and the slowest.
    let first = c.tally().expect("tally");
    assert_eq!(first.units.len(), 60);
    let mut micros: Vec<u128> = (0..30)
        .map(|_| {
            let t = Instant::now();
            let r = c.tally().expect("tally");
            let elapsed = t.elapsed().as_micros();
            assert_eq!(r, first, "the same input gives the same tally");
            elapsed
        })
        .collect();
    micros.sort_unstable();
    let ms = |us: u128| format!("{}.{:02} ms", us / 1000, us % 1000 / 10);
    println!(
        "tally native: median {}, min {}, max {} over {} runs (target < 20 ms)",
        ms(micros[micros.len() / 2]),
        ms(micros[0]),
        ms(micros[micros.len() - 1]),
        micros.len()
    );
}
