//! A unit's block score from the cross scores it received, computed exactly.
//!
//! The block chooses the method: the agreed score set by the chair; the mean of the cross
//! scores excluding the unit's own; or the trimmed mean, dropping one highest and one lowest
//! when at least five scorers remain (otherwise the plain mean). A mean is kept as an exact
//! fraction of hundredths, so two units are ranked by their true values; it is rounded to
//! two decimals (half up) only for display.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::points::Points;

/// Fewest scorers for the trimmed mean to drop the extremes.
pub const TRIM_MIN_SCORERS: usize = 5;

/// How a block turns cross scores into one score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// The chair's agreed score after discussion.
    Agreed,
    /// Mean of the other units' scores.
    MeanExcludingOwn,
    /// Mean after dropping one highest and one lowest (with at least five scorers).
    TrimmedMean,
}

/// An exact score: `hundredths / den`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Score {
    /// Sum of hundredths.
    pub hundredths: i64,
    /// How many scores were summed (at least 1).
    pub den: u32,
}

impl Score {
    /// A single exact value.
    pub fn exact(p: Points) -> Score {
        Score {
            hundredths: p.hundredths(),
            den: 1,
        }
    }

    /// Rounded half up (away from zero) to hundredths, for display and export.
    pub fn rounded(self) -> Points {
        let (n, d) = (i128::from(self.hundredths), i128::from(self.den.max(1)));
        let r = if n >= 0 {
            (2 * n + d) / (2 * d)
        } else {
            -((-2 * n + d) / (2 * d))
        };
        Points::from_hundredths(i64::try_from(r).unwrap_or(i64::MAX))
    }
}

impl PartialEq for Score {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    /// Compares the true values by cross-multiplication: no rounding, no floats.
    fn cmp(&self, other: &Self) -> Ordering {
        let a = i128::from(self.hundredths) * i128::from(other.den.max(1));
        let b = i128::from(other.hundredths) * i128::from(self.den.max(1));
        a.cmp(&b)
    }
}

/// The block score of `unit` from `(scorer, total)` pairs, or `None` when there is nothing
/// to aggregate (no other scorer, or no agreed score yet).
pub fn aggregate(
    method: Aggregation,
    unit: Uuid,
    cross: &[(Uuid, Points)],
    agreed: Option<Points>,
) -> Option<Score> {
    aggregate_hundredths(
        method,
        unit,
        cross.iter().map(|(s, p)| (*s, p.hundredths())),
        agreed.map(Points::hundredths),
    )
}

/// `aggregate` over raw hundredths, for totals and for any part of a sheet (a content's
/// subtotal, the deductions) alike.
pub fn aggregate_hundredths(
    method: Aggregation,
    unit: Uuid,
    cross: impl IntoIterator<Item = (Uuid, i64)>,
    agreed: Option<i64>,
) -> Option<Score> {
    if method == Aggregation::Agreed {
        return agreed.map(|hundredths| Score { hundredths, den: 1 });
    }
    let mut others: Vec<i64> = cross
        .into_iter()
        .filter(|(scorer, _)| *scorer != unit)
        .map(|(_, h)| h)
        .collect();
    if others.is_empty() {
        return None;
    }
    if method == Aggregation::TrimmedMean && others.len() >= TRIM_MIN_SCORERS {
        // Dropping one minimum and one maximum; which equal copy goes does not matter.
        let (lo, _) = others.iter().enumerate().min_by_key(|(_, v)| **v)?;
        others.swap_remove(lo);
        let (hi, _) = others.iter().enumerate().max_by_key(|(_, v)| **v)?;
        others.swap_remove(hi);
    }
    Some(Score {
        hundredths: others.iter().sum(),
        den: u32::try_from(others.len()).unwrap_or(u32::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Points {
        s.parse().expect("points")
    }

    fn u(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn mean_excludes_the_units_own_score() {
        let cross = [(u(1), p("100")), (u(2), p("90")), (u(3), p("91"))];
        let s = aggregate(Aggregation::MeanExcludingOwn, u(1), &cross, None).expect("score");
        assert_eq!(s.rounded(), p("90.5"));
    }

    #[test]
    fn trimmed_mean_drops_one_highest_and_one_lowest_from_five() {
        // Own 99 ignored; others 95, 92.5, 90, 88, 70: drop 95 and 70 → (92.5+90+88)/3 = 90.1666…
        let cross = [
            (u(1), p("99")),
            (u(2), p("95")),
            (u(3), p("92.5")),
            (u(4), p("90")),
            (u(5), p("88")),
            (u(6), p("70")),
        ];
        let s = aggregate(Aggregation::TrimmedMean, u(1), &cross, None).expect("score");
        assert_eq!((s.hundredths, s.den), (27050, 3));
        assert_eq!(s.rounded(), p("90.17"));
        // With four scorers it is the plain mean.
        let s = aggregate(Aggregation::TrimmedMean, u(1), &cross[..5], None).expect("score");
        assert_eq!(s.rounded(), p("91.38"));
    }

    #[test]
    fn exact_comparison_separates_what_rounding_would_tie() {
        // 90.165 and 90.1666…: both show 90.17, but they are not equal.
        let a = Score {
            hundredths: 18_033,
            den: 2,
        };
        let b = Score {
            hundredths: 27_050,
            den: 3,
        };
        assert_eq!(a.rounded(), b.rounded());
        assert!(a < b);
    }

    #[test]
    fn agreed_score_needs_a_value() {
        assert_eq!(aggregate(Aggregation::Agreed, u(1), &[], None), None);
        let s = aggregate(Aggregation::Agreed, u(1), &[], Some(p("97.5"))).expect("agreed");
        assert_eq!(s.rounded(), p("97.5"));
        assert_eq!(
            aggregate(Aggregation::MeanExcludingOwn, u(1), &[(u(1), p("9"))], None),
            None
        );
    }

    proptest! {
        /// From five scorers on, the trimmed mean is (sum − one max − one min) / (n − 2),
        /// even when several scorers share the extreme value.
        #[test]
        fn trimmed_mean_drops_exactly_one_highest_and_one_lowest(
            scores in proptest::collection::vec(0i64..20, 1..15),
        ) {
            let cross: Vec<(Uuid, i64)> = scores.iter().enumerate().map(|(i, h)| (u(i as u128 + 10), *h)).collect();
            let s = aggregate_hundredths(Aggregation::TrimmedMean, u(1), cross, None).expect("score");
            let n = scores.len() as i64;
            let sum: i64 = scores.iter().sum();
            let (lo, hi) = (*scores.iter().min().expect("min"), *scores.iter().max().expect("max"));
            if scores.len() >= TRIM_MIN_SCORERS {
                prop_assert_eq!((s.hundredths, i64::from(s.den)), (sum - lo - hi, n - 2));
            } else {
                prop_assert_eq!((s.hundredths, i64::from(s.den)), (sum, n));
            }
        }

        /// Order of the scores never matters, and the unit's own score never counts.
        #[test]
        fn order_independent_and_own_score_ignored(
            scores in proptest::collection::vec(0i64..10_000, 1..12),
            own in 0i64..10_000,
            seed in any::<u64>(),
        ) {
            let mut cross: Vec<(Uuid, Points)> = scores.iter().enumerate()
                .map(|(i, h)| (u(i as u128 + 10), Points::from_hundredths(*h))).collect();
            let with_own = |cross: &[(Uuid, Points)], own: i64| {
                let mut v = cross.to_vec();
                v.push((u(1), Points::from_hundredths(own)));
                v
            };
            for m in [Aggregation::MeanExcludingOwn, Aggregation::TrimmedMean] {
                let base = aggregate(m, u(1), &with_own(&cross, own), None);
                prop_assert_eq!(base, aggregate(m, u(1), &with_own(&cross, 0), None));
                crate::testing::shuffle(&mut cross, seed);
                let again = aggregate(m, u(1), &with_own(&cross, own), None);
                prop_assert_eq!(base.map(|s| (s.hundredths, s.den)), again.map(|s| (s.hundredths, s.den)));
                // The result stays within the scores' bounds.
                let sc = base.expect("some");
                let (lo, hi) = (*scores.iter().min().expect("min"), *scores.iter().max().expect("max"));
                let (lo, hi) = (Score { hundredths: lo, den: 1 }, Score { hundredths: hi, den: 1 });
                prop_assert!(lo <= sc && sc <= hi, "{:?} outside {:?}..{:?}", sc, lo, hi);
            }
        }
    }
}
