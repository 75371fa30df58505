//! What the browser benchmarks share.

/// The page's monotonic clock in whole microseconds.
pub fn now_micros() -> u64 {
    let performance = web_sys::window()
        .and_then(|w| w.performance())
        .expect("window.performance");
    // Milliseconds with a fractional part; whole microseconds are enough here.
    let ms = performance.now();
    #[allow(clippy::float_arithmetic, clippy::cast_possible_truncation)]
    let us = (ms * 1000.0) as u64;
    us
}

/// Median, min and max of `micros` (sorted here) as "median X ms, min Y ms, max Z ms".
pub fn summary(micros: &mut [u64]) -> String {
    micros.sort_unstable();
    let ms = |us: u64| format!("{}.{:02} ms", us / 1000, us % 1000 / 10);
    format!(
        "median {}, min {}, max {}",
        ms(micros[micros.len() / 2]),
        ms(micros[0]),
        ms(micros[micros.len() - 1])
    )
}
