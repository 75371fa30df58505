//! Hybrid logical clock: orders edits from devices whose wall clocks disagree.
//!
//! A stamp is (wall milliseconds, counter, device id), compared in that order, so two stamps
//! are never equal across devices and the device id breaks ties. A device ticks its clock for
//! every local edit and folds in every stamp it receives, so an edit made after seeing
//! another always orders after it, whatever the wall clocks say.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One hybrid-logical-clock stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hlc {
    /// Wall-clock milliseconds since the Unix epoch (the larger of local time and any seen).
    pub ms: u64,
    /// Logical counter within one millisecond.
    pub counter: u32,
    /// The device that made the stamp; breaks ties.
    pub node: Uuid,
}

impl Hlc {
    /// The zero stamp of a device, older than any real edit.
    pub const fn zero(node: Uuid) -> Self {
        Hlc {
            ms: 0,
            counter: 0,
            node,
        }
    }

    /// The next stamp for a local edit at wall time `now_ms`.
    pub fn tick(self, now_ms: u64) -> Hlc {
        if now_ms > self.ms {
            Hlc {
                ms: now_ms,
                counter: 0,
                node: self.node,
            }
        } else {
            Hlc {
                ms: self.ms,
                counter: self.counter.saturating_add(1),
                node: self.node,
            }
        }
    }

    /// This device's clock after seeing `remote`, so later local stamps order after it.
    pub fn observe(self, remote: Hlc) -> Hlc {
        match remote.ms.cmp(&self.ms) {
            std::cmp::Ordering::Greater => Hlc {
                ms: remote.ms,
                counter: remote.counter,
                node: self.node,
            },
            std::cmp::Ordering::Equal => Hlc {
                ms: self.ms,
                counter: self.counter.max(remote.counter),
                node: self.node,
            },
            std::cmp::Ordering::Less => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn tick_is_monotonic_even_when_the_wall_clock_goes_back() {
        let a = Hlc::zero(node(1)).tick(1000);
        let b = a.tick(900);
        let c = b.tick(1000);
        assert!(a < b && b < c);
        assert_eq!((b.ms, b.counter), (1000, 1));
    }

    #[test]
    fn an_edit_after_seeing_a_remote_one_orders_after_it() {
        // The remote device's clock runs a day ahead.
        let remote = Hlc::zero(node(2)).tick(86_400_000 + 5);
        let local = Hlc::zero(node(1)).tick(10).observe(remote).tick(11);
        assert!(local > remote);
    }

    #[test]
    fn device_breaks_ties() {
        let a = Hlc::zero(node(1)).tick(5);
        let b = Hlc::zero(node(2)).tick(5);
        assert!(a < b);
    }
}
