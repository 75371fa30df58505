//! Hybrid logical clock: orders edits from devices whose wall clocks disagree.
//!
//! A stamp is (wall milliseconds, counter, device id), compared in that order, so two stamps
//! are never equal across devices and the device id breaks ties. A device ticks its clock for
//! every local edit and folds in every stamp it receives, so an edit made after seeing
//! another always orders after it, whatever the wall clocks say.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Largest `ms` a stamp may carry: 2^53 − 1, JavaScript's largest safe integer.
pub const MAX_MS: u64 = (1 << 53) - 1;

/// How far ahead of the server's clock a stamp may be, by default: 5 minutes.
pub const DEFAULT_MAX_SKEW_MS: u64 = 5 * 60 * 1000;

/// One hybrid-logical-clock stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hlc {
    /// Wall-clock milliseconds since the Unix epoch (the larger of local time and any seen);
    /// at most `MAX_MS`.
    #[serde(deserialize_with = "safe_ms")]
    pub ms: u64,
    /// Logical counter within one millisecond.
    pub counter: u32,
    /// The device that made the stamp; breaks ties.
    pub node: Uuid,
}

/// Reads `ms`, refusing values JavaScript cannot hold exactly.
fn safe_ms<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let ms = u64::deserialize(d)?;
    if ms > MAX_MS {
        return Err(serde::de::Error::custom(format!(
            "stamp ms {ms} is above {MAX_MS} (2^53 - 1)"
        )));
    }
    Ok(ms)
}

/// Why a server refuses a stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StampError {
    /// The stamp is further ahead of the server's clock than the skew allows.
    #[error(
        "the stamp is {ahead_ms} ms ahead of the server's clock (at most {max_skew_ms} allowed)"
    )]
    Ahead {
        /// How far ahead.
        ahead_ms: u64,
        /// The allowed skew.
        max_skew_ms: u64,
    },
    /// The stamp names another device than the one pushing it.
    #[error("the stamp's device {node} is not the device {device} sending it")]
    ForeignNode {
        /// The stamp's device.
        node: Uuid,
        /// The pushing device.
        device: Uuid,
    },
}

impl Hlc {
    /// Checks a pushed stamp: made by `device`, not beyond `now_ms + max_skew_ms`.
    pub fn check(&self, device: Uuid, now_ms: u64, max_skew_ms: u64) -> Result<(), StampError> {
        if self.node != device {
            return Err(StampError::ForeignNode {
                node: self.node,
                device,
            });
        }
        let limit = now_ms.saturating_add(max_skew_ms);
        if self.ms > limit {
            return Err(StampError::Ahead {
                ahead_ms: self.ms - now_ms,
                max_skew_ms,
            });
        }
        Ok(())
    }

    /// New stamps for `n` pending edits, in their order, from a clock reset to the server's
    /// time `server_ms`: what a device does when the server says its clock runs ahead.
    pub fn restamped(node: Uuid, server_ms: u64, n: usize) -> (Vec<Hlc>, Hlc) {
        let mut clock = Hlc::zero(node).tick(server_ms.min(MAX_MS));
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(clock);
            clock = clock.tick(server_ms);
        }
        (out, clock)
    }

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
        let now_ms = now_ms.min(MAX_MS);
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
    fn stamps_beyond_javascript_safe_integers_are_refused_on_read() {
        let bad = format!(r#"{{"ms":{},"counter":0,"node":"{}"}}"#, u64::MAX, node(1));
        assert!(serde_json::from_str::<Hlc>(&bad).is_err());
        let edge = format!(r#"{{"ms":{MAX_MS},"counter":0,"node":"{}"}}"#, node(1));
        assert_eq!(
            serde_json::from_str::<Hlc>(&edge).map(|h| h.ms).ok(),
            Some(MAX_MS)
        );
        assert_eq!(Hlc::zero(node(1)).tick(u64::MAX).ms, MAX_MS);
    }

    #[test]
    fn check_bounds_skew_and_device() {
        let now = 1_800_000_000_000;
        let ok = Hlc::zero(node(1)).tick(now + DEFAULT_MAX_SKEW_MS);
        assert_eq!(ok.check(node(1), now, DEFAULT_MAX_SKEW_MS), Ok(()));
        let ahead = Hlc::zero(node(1)).tick(now + DEFAULT_MAX_SKEW_MS + 1);
        assert!(matches!(
            ahead.check(node(1), now, DEFAULT_MAX_SKEW_MS),
            Err(StampError::Ahead { .. })
        ));
        assert!(matches!(
            ok.check(node(2), now, DEFAULT_MAX_SKEW_MS),
            Err(StampError::ForeignNode { .. })
        ));
    }

    #[test]
    fn restamped_edits_keep_their_order_and_pass_the_check() {
        let now = 1_800_000_000_000;
        let (stamps, clock) = Hlc::restamped(node(1), now, 3);
        assert!(stamps.windows(2).all(|w| w[0] < w[1]));
        assert!(stamps.iter().all(|s| s.check(node(1), now, 0).is_ok()));
        assert!(clock > stamps[2]);
    }

    #[test]
    fn device_breaks_ties() {
        let a = Hlc::zero(node(1)).tick(5);
        let b = Hlc::zero(node(2)).tick(5);
        assert!(a < b);
    }
}
