//! Time and identifiers on the device: wall-clock milliseconds and UUIDv7 from the browser's
//! cryptographic random source, so devices create records offline without collisions.

use uuid::{Builder, Uuid};

/// Milliseconds since the Unix epoch, from the browser's clock.
pub fn now_ms() -> u64 {
    // `Date.now()` is an integral number of milliseconds well inside u64.
    let ms = js_sys::Date::now();
    if ms.is_finite() && ms > 0.0 {
        ms as u64
    } else {
        0
    }
}

/// A new UUIDv7: the current time, then random bits.
#[allow(clippy::float_arithmetic)] // Random bytes, not points.
pub fn new_v7() -> Uuid {
    let mut random = [0u8; 10];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.get_random_values_with_u8_array(&mut random).is_ok())
        .unwrap_or(false);
    if !filled {
        // No Web Crypto (very old browser): fall back to Math.random, still unique enough
        // for one device's own ids together with the millisecond prefix.
        for b in &mut random {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    Builder::from_unix_timestamp_millis(now_ms(), &random).into_uuid()
}
