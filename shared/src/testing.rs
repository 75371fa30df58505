//! Test helpers shared by the modules' tests.

/// Shuffles `v` deterministically from `seed`, so a failing proptest case replays the same
/// order.
pub(crate) fn shuffle<T>(v: &mut [T], seed: u64) {
    crate::lot::Lot::new(seed).shuffle(v);
}
