//! Test helpers shared by the modules' tests.

/// Shuffles `v` deterministically from `seed` (Fisher–Yates over xorshift), so a failing
/// proptest case replays the same order.
pub(crate) fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut s = seed | 1;
    for i in (1..v.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v.swap(i, (s % (i as u64 + 1)) as usize);
    }
}
