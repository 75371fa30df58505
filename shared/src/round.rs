//! Scoring rounds: their stage, their life cycle and who scores whom.
//!
//! A round is open (sheets are written), locked (no writes except audited corrections) or
//! published (results visible to all). Locked may go back to open; published is final.
//! Cross-scoring is all-score-all, or pairs drawn by lot: the members, sorted by id, are
//! shuffled with the recorded seed (see `lot`), and the unit at position `i` scores the
//! `per_unit` units after it, wrapping around. Every unit then scores and is scored exactly
//! `per_unit` times, never itself, and anyone holding the seed can redo the draw.

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::error::DomainError;
use crate::lot::Lot;
use crate::model::{Block, Round};
use crate::tagged;

/// A round's stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Điểm tự chấm: each unit scores itself.
    #[serde(rename = "self")]
    SelfScoring,
    /// Chấm chéo: units score each other.
    #[serde(rename = "cross")]
    CrossScoring,
    /// Điểm thẩm định: a supervision team checks the scores.
    Verification,
    /// Điểm khối thống nhất: the score the meeting agrees.
    Agreed,
}

impl Stage {
    /// The stage as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::SelfScoring => "self",
            Stage::CrossScoring => "cross",
            Stage::Verification => "verification",
            Stage::Agreed => "agreed",
        }
    }
}

/// A round's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundState {
    /// Sheets may be written.
    Open,
    /// No writes but audited corrections.
    Locked,
    /// Results are visible to everyone; final.
    Published,
}

impl RoundState {
    /// The state as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            RoundState::Open => "open",
            RoundState::Locked => "locked",
            RoundState::Published => "published",
        }
    }

    /// The state after moving to `to`, if the life cycle allows it.
    pub fn move_to(self, to: RoundState) -> Result<RoundState, DomainError> {
        use RoundState::*;
        match (self, to) {
            (Open, Locked) | (Locked, Open) | (Locked, Published) => Ok(to),
            _ => Err(DomainError::InvalidTransition {
                from: self.as_str(),
                to: to.as_str(),
            }),
        }
    }

    /// Whether sheets and cells may be written (corrections aside).
    pub fn check_writable(self) -> Result<(), DomainError> {
        match self {
            RoundState::Open => Ok(()),
            other => Err(DomainError::RoundLocked {
                state: other.as_str(),
            }),
        }
    }
}

/// One scorer assigned to one subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pair {
    /// The scoring unit.
    pub scorer: Uuid,
    /// The unit it scores.
    pub subject: Uuid,
}

/// Who scores whom in a round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Assignment {
    /// Every member scores every other member.
    AllScoreAll,
    /// Pairs drawn by lot (bốc thăm).
    PairsByLot {
        /// The seed, recorded so the draw can be re-checked (a string on the wire: it does
        /// not fit a JavaScript number).
        #[serde(with = "u64_string")]
        seed: u64,
        /// How many units each unit scores.
        per_unit: u32,
        /// The drawn pairs, sorted.
        pairs: Vec<Pair>,
    },
}

impl<'de> Deserialize<'de> for Assignment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const VARIANTS: &[&str] = &["all_score_all", "pairs_by_lot"];
        let (tag, body) = tagged::split(d, "type")?;
        Ok(match tag.as_str() {
            "all_score_all" => Assignment::AllScoreAll,
            "pairs_by_lot" => {
                let b: PairsByLotBody = tagged::body(body)?;
                Assignment::PairsByLot {
                    seed: b.seed,
                    per_unit: b.per_unit,
                    pairs: b.pairs,
                }
            }
            other => return Err(tagged::unknown(other, VARIANTS)),
        })
    }
}

/// `Assignment::PairsByLot`'s fields, for its tagged deserialisation.
#[derive(Deserialize)]
struct PairsByLotBody {
    #[serde(with = "u64_string")]
    seed: u64,
    per_unit: u32,
    pairs: Vec<Pair>,
}

impl Assignment {
    /// Draws pairs by lot: each member scores `per_unit` others and is scored by as many.
    pub fn draw(members: &[Uuid], per_unit: u32, seed: u64) -> Result<Assignment, DomainError> {
        Ok(Assignment::PairsByLot {
            seed,
            per_unit,
            pairs: draw_pairs(members, per_unit, seed)?,
        })
    }

    /// Whether `scorer` is assigned to score `subject` (never itself).
    pub fn allows(&self, scorer: Uuid, subject: Uuid) -> bool {
        match self {
            Assignment::AllScoreAll => scorer != subject,
            Assignment::PairsByLot { pairs, .. } => {
                pairs.binary_search(&Pair { scorer, subject }).is_ok()
            }
        }
    }

    /// Re-does a recorded draw from its seed and checks that it gives the recorded pairs.
    pub fn check(&self, members: &[Uuid]) -> Result<(), DomainError> {
        match self {
            Assignment::AllScoreAll => Ok(()),
            Assignment::PairsByLot {
                seed,
                per_unit,
                pairs,
            } => {
                if draw_pairs(members, *per_unit, *seed)? == *pairs {
                    Ok(())
                } else {
                    Err(DomainError::InvalidDraw {
                        reason: "the pairs do not match the seed",
                    })
                }
            }
        }
    }
}

/// Whether a block's results are published: every round of its latest covenant (that of
/// its last round) is. One rule for the projector, the documents and the downloads: before
/// that, only the block's secretary and the central office see the ranking.
pub fn results_published(rounds: &[Round]) -> bool {
    let order = |s: Stage| match s {
        Stage::SelfScoring => 0u8,
        Stage::CrossScoring => 1,
        Stage::Verification => 2,
        Stage::Agreed => 3,
    };
    let latest = rounds
        .iter()
        .max_by_key(|r| (order(r.stage), r.id))
        .map(|l| l.covenant_id);
    !rounds.is_empty()
        && rounds
            .iter()
            .filter(|r| Some(r.covenant_id) == latest)
            .all(|r| r.state == RoundState::Published)
}

/// The pairs for `members`, `per_unit` and `seed`, sorted by scorer then subject.
pub fn draw_pairs(members: &[Uuid], per_unit: u32, seed: u64) -> Result<Vec<Pair>, DomainError> {
    let mut order = members.to_vec();
    order.sort_unstable();
    order.dedup();
    let n = order.len();
    let k = per_unit as usize;
    if k == 0 || k >= n {
        return Err(DomainError::InvalidDraw {
            reason: "each unit must score between 1 and all other members",
        });
    }
    Lot::new(seed).shuffle(&mut order);
    let mut pairs: Vec<Pair> = (0..n)
        .flat_map(|i| {
            let order = &order;
            (1..=k).map(move |d| Pair {
                scorer: order[i],
                subject: order[(i + d) % n],
            })
        })
        .collect();
    pairs.sort_unstable();
    Ok(pairs)
}

/// Serde for a `u64` as a decimal string.
mod u64_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The units `scorer` scores in `round`, in the block's member order.
pub fn subjects_of(block: &Block, round: &Round, scorer: Uuid) -> Vec<Uuid> {
    block
        .members
        .iter()
        .copied()
        .filter(|&subject| match round.stage {
            Stage::SelfScoring => subject == scorer,
            Stage::CrossScoring => subject != scorer && round.assignment.allows(scorer, subject),
            Stage::Verification | Stage::Agreed => block.head == Some(scorer),
        })
        .collect()
}

/// How many sheets a round expects in all.
pub fn expected_sheets(block: &Block, round: &Round) -> usize {
    let n = block.members.len();
    match (round.stage, &round.assignment) {
        (Stage::SelfScoring, _) | (Stage::Verification | Stage::Agreed, _) => n,
        (Stage::CrossScoring, Assignment::AllScoreAll) => n * n.saturating_sub(1),
        (Stage::CrossScoring, Assignment::PairsByLot { pairs, .. }) => pairs.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn members(n: u128) -> Vec<Uuid> {
        (1..=n).map(Uuid::from_u128).collect()
    }

    #[test]
    fn life_cycle() {
        use RoundState::*;
        assert_eq!(Open.move_to(Locked), Ok(Locked));
        assert_eq!(Locked.move_to(Open), Ok(Open));
        assert_eq!(Locked.move_to(Published), Ok(Published));
        let e = Published.move_to(Open).expect_err("final");
        assert_eq!(e.code(), "invalid_transition");
        assert_eq!(
            e.message_vi(),
            "Không thể chuyển từ trạng thái 'đã công bố' sang 'đang mở'"
        );
        assert!(Open.move_to(Published).is_err(), "lock before publishing");
        assert_eq!(
            Locked.check_writable().expect_err("locked").code(),
            "round_locked"
        );
    }

    #[test]
    fn a_recorded_draw_is_rechecked_from_its_seed() {
        let m = members(9);
        let a = Assignment::draw(&m, 2, 20_261_121).expect("draw");
        let json = serde_json::to_value(&a).expect("json");
        assert_eq!(json["seed"], "20261121");
        let back: Assignment = serde_json::from_value(json).expect("back");
        back.check(&m).expect("same draw");
        // The member list's order does not matter.
        let mut reversed = m.clone();
        reversed.reverse();
        back.check(&reversed).expect("same draw");
        // Tampering with one pair is caught.
        let Assignment::PairsByLot {
            seed,
            per_unit,
            mut pairs,
        } = back
        else {
            unreachable!()
        };
        pairs[0].subject = pairs[1].subject;
        let forged = Assignment::PairsByLot {
            seed,
            per_unit,
            pairs,
        };
        assert_eq!(forged.check(&m).expect_err("forged").code(), "invalid_draw");
        assert!(draw_pairs(&m, 9, 1).is_err());
        assert!(draw_pairs(&m, 0, 1).is_err());
    }

    proptest! {
        /// Every unit scores and is scored exactly `k` times, never itself.
        #[test]
        fn draws_are_balanced(n in 2u128..20, k in 1u32..19, seed in any::<u64>()) {
            prop_assume!((k as u128) < n);
            let m = members(n);
            let pairs = draw_pairs(&m, k, seed).expect("draw");
            let a = Assignment::PairsByLot { seed, per_unit: k, pairs: pairs.clone() };
            let (mut scores, mut scored) = (BTreeMap::new(), BTreeMap::new());
            for p in &pairs {
                prop_assert_ne!(p.scorer, p.subject);
                prop_assert!(a.allows(p.scorer, p.subject));
                *scores.entry(p.scorer).or_insert(0u32) += 1;
                *scored.entry(p.subject).or_insert(0u32) += 1;
            }
            prop_assert!(scores.values().all(|c| *c == k) && scores.len() as u128 == n);
            prop_assert!(scored.values().all(|c| *c == k) && scored.len() as u128 == n);
            let mut dedup = pairs.clone();
            dedup.dedup();
            prop_assert_eq!(dedup.len(), pairs.len());
        }
    }
}
