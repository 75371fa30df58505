//! A block's rules for the year: every choice DOMAIN.md leaves to the block.
//!
//! No national formula exists, so the step of points, the aggregation of cross scores, the
//! cross-scoring design, the tie-break order, the classification thresholds, the award quotas
//! and the majority rule are all settings agreed by the members and stored with the block.

use serde::{Deserialize, Deserializer, Serialize};

use crate::aggregate::{Aggregation, Score};
use crate::ballot::{CountBase, MajorityRule, Threshold};
use crate::error::DomainError;
use crate::points::Points;
use crate::tagged;

/// How cross-scoring is organised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CrossScoring {
    /// Every member scores every other member.
    AllScoreAll,
    /// Each member scores `per_unit` others drawn by lot.
    PairsByLot {
        /// How many units each unit scores.
        per_unit: u32,
    },
}

impl<'de> Deserialize<'de> for CrossScoring {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const VARIANTS: &[&str] = &["all_score_all", "pairs_by_lot"];
        let (tag, body) = tagged::split(d, "type")?;
        Ok(match tag.as_str() {
            "all_score_all" => CrossScoring::AllScoreAll,
            "pairs_by_lot" => CrossScoring::PairsByLot {
                per_unit: tagged::body::<PerUnit, _>(body)?.per_unit,
            },
            other => return Err(tagged::unknown(other, VARIANTS)),
        })
    }
}

/// `CrossScoring::PairsByLot`'s fields.
#[derive(Deserialize)]
struct PerUnit {
    per_unit: u32,
}

/// One step of the order that separates units with equal block scores.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TieBreak {
    /// Higher score on the content with the largest maximum (the first such, if several).
    HeaviestContent,
    /// Higher score on the content with this code.
    Content {
        /// The content's code.
        code: String,
    },
    /// Fewer deduction points.
    FewerDeductions,
    /// More approvals in the block's tie-break ballot.
    Ballot,
}

impl<'de> Deserialize<'de> for TieBreak {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const VARIANTS: &[&str] = &["heaviest_content", "content", "fewer_deductions", "ballot"];
        let (tag, body) = tagged::split(d, "type")?;
        Ok(match tag.as_str() {
            "heaviest_content" => TieBreak::HeaviestContent,
            "content" => TieBreak::Content {
                code: tagged::body::<ContentCode, _>(body)?.code,
            },
            "fewer_deductions" => TieBreak::FewerDeductions,
            "ballot" => TieBreak::Ballot,
            other => return Err(tagged::unknown(other, VARIANTS)),
        })
    }
}

/// `TieBreak::Content`'s fields.
#[derive(Deserialize)]
struct ContentCode {
    code: String,
}

impl TieBreak {
    /// A stable key for the tie-break, as on the wire.
    pub fn key(&self) -> &'static str {
        match self {
            TieBreak::HeaviestContent => "heaviest_content",
            TieBreak::Content { .. } => "content",
            TieBreak::FewerDeductions => "fewer_deductions",
            TieBreak::Ballot => "ballot",
        }
    }
}

/// The four classification levels of Quy định 124-QĐ/TW, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    /// Hoàn thành xuất sắc nhiệm vụ.
    Excellent,
    /// Hoàn thành tốt nhiệm vụ.
    Good,
    /// Hoàn thành nhiệm vụ.
    Completed,
    /// Không hoàn thành nhiệm vụ.
    NotCompleted,
}

impl Classification {
    /// The Vietnamese name.
    pub fn label_vi(self) -> &'static str {
        match self {
            Classification::Excellent => "Hoàn thành xuất sắc nhiệm vụ",
            Classification::Good => "Hoàn thành tốt nhiệm vụ",
            Classification::Completed => "Hoàn thành nhiệm vụ",
            Classification::NotCompleted => "Không hoàn thành nhiệm vụ",
        }
    }

    /// The English name.
    pub fn label_en(self) -> &'static str {
        match self {
            Classification::Excellent => "Excellently completed",
            Classification::Good => "Well completed",
            Classification::Completed => "Completed",
            Classification::NotCompleted => "Not completed",
        }
    }

    /// Whether this level is at least `other` (Excellent is the highest).
    pub fn at_least(self, other: Classification) -> bool {
        self <= other
    }
}

/// The lowest block score for each level; below `completed` is "not completed".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Lowest score for Hoàn thành xuất sắc.
    pub excellent: Points,
    /// Lowest score for Hoàn thành tốt.
    pub good: Points,
    /// Lowest score for Hoàn thành.
    pub completed: Points,
}

impl Thresholds {
    /// The level an exact block score reaches (at a threshold counts as reaching it).
    pub fn classify(&self, score: Score) -> Classification {
        if score >= Score::exact(self.excellent) {
            Classification::Excellent
        } else if score >= Score::exact(self.good) {
            Classification::Good
        } else if score >= Score::exact(self.completed) {
            Classification::Completed
        } else {
            Classification::NotCompleted
        }
    }
}

/// The kinds of award a block proposes, highest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AwardKind {
    /// Cờ thi đua của Chính phủ.
    GovernmentFlag,
    /// Cờ thi đua of the ministry, province or Fatherland Front.
    EmulationFlag,
    /// Bằng khen.
    CertificateOfMerit,
}

impl AwardKind {
    /// The Vietnamese name.
    pub fn label_vi(self) -> &'static str {
        match self {
            AwardKind::GovernmentFlag => "Cờ thi đua của Chính phủ",
            AwardKind::EmulationFlag => "Cờ thi đua",
            AwardKind::CertificateOfMerit => "Bằng khen",
        }
    }

    /// The English name.
    pub fn label_en(self) -> &'static str {
        match self {
            AwardKind::GovernmentFlag => "Government emulation flag",
            AwardKind::EmulationFlag => "Emulation flag",
            AwardKind::CertificateOfMerit => "Certificate of merit",
        }
    }
}

/// Who may be proposed for an award, and how many.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwardRule {
    /// The award.
    pub award: AwardKind,
    /// Most units the block may propose.
    pub quota: u32,
    /// Lowest classification eligible.
    pub min_class: Classification,
    /// Only units ranked this high or better (1 = the leading unit).
    pub max_rank: Option<u32>,
    /// Whether a disqualifier (loại trừ) makes a unit ineligible.
    pub exclude_disqualified: bool,
    /// Whether the unit must also pass the block's secret ballot on this award.
    pub needs_ballot: bool,
}

/// Everything a block decides about scoring and awards for one year.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockRules {
    /// Points are entered in multiples of this (whole or half points usually).
    pub point_step: Points,
    /// How cross scores make one block score.
    pub aggregation: Aggregation,
    /// How cross-scoring is organised.
    pub cross_scoring: CrossScoring,
    /// The order of tie-breaks after the block score.
    pub tie_breaks: Vec<TieBreak>,
    /// Classification thresholds.
    pub classification: Thresholds,
    /// Award rules, highest award first; a unit is proposed for one award at most.
    pub awards: Vec<AwardRule>,
    /// The majority rule for ballots.
    pub majority: MajorityRule,
}

impl Default for BlockRules {
    /// The demo's rules: half points, trimmed mean, all score all, 90/70/50, one Government
    /// flag, two emulation flags, three certificates, more than half of all members.
    fn default() -> Self {
        BlockRules {
            point_step: Points::from_hundredths(50),
            aggregation: Aggregation::TrimmedMean,
            cross_scoring: CrossScoring::AllScoreAll,
            tie_breaks: vec![
                TieBreak::HeaviestContent,
                TieBreak::FewerDeductions,
                TieBreak::Ballot,
            ],
            classification: Thresholds {
                excellent: Points::whole(90),
                good: Points::whole(70),
                completed: Points::whole(50),
            },
            awards: vec![
                AwardRule {
                    award: AwardKind::GovernmentFlag,
                    quota: 1,
                    min_class: Classification::Excellent,
                    max_rank: Some(1),
                    exclude_disqualified: true,
                    needs_ballot: true,
                },
                AwardRule {
                    award: AwardKind::EmulationFlag,
                    quota: 2,
                    min_class: Classification::Excellent,
                    max_rank: None,
                    exclude_disqualified: true,
                    needs_ballot: true,
                },
                AwardRule {
                    award: AwardKind::CertificateOfMerit,
                    quota: 3,
                    min_class: Classification::Good,
                    max_rank: None,
                    exclude_disqualified: false,
                    needs_ballot: false,
                },
            ],
            majority: MajorityRule {
                threshold: Threshold::MoreThanHalf,
                base: CountBase::AllEligible,
            },
        }
    }
}

impl BlockRules {
    /// Checks that the rules make sense for a block of `members` units.
    pub fn validate(&self, members: usize) -> Result<(), DomainError> {
        let rule = |reason| Err(DomainError::InvalidRule { reason });
        let step = self.point_step.hundredths();
        if !(1..=10_000).contains(&step) {
            return rule("the step must be between 0.01 and 100 points");
        }
        let t = self.classification;
        if !(t.excellent >= t.good && t.good >= t.completed && t.completed >= Points::ZERO) {
            return rule("classification thresholds must not increase from excellent to completed");
        }
        if let Threshold::AtLeast { num, den } = self.majority.threshold
            && (den == 0 || num == 0 || num > den)
        {
            return rule("a majority fraction must be between 0 and 1");
        }
        if let CrossScoring::PairsByLot { per_unit } = self.cross_scoring
            && (per_unit == 0 || per_unit as usize >= members.max(1))
        {
            return Err(DomainError::InvalidDraw {
                reason: "each unit must score between 1 and all other members",
            });
        }
        for (i, t) in self.tie_breaks.iter().enumerate() {
            if self.tie_breaks[..i].contains(t) {
                return rule("a tie-break is listed twice");
            }
        }
        for (i, a) in self.awards.iter().enumerate() {
            if self.awards[..i].iter().any(|b| b.award == a.award) {
                return rule("an award is listed twice");
            }
        }
        Ok(())
    }

    /// Whether `value` is a whole number of steps.
    pub fn on_step(&self, value: Points) -> bool {
        let step = self.point_step.hundredths().max(1);
        value.hundredths() % step == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_include_their_edge() {
        let t = BlockRules::default().classification;
        assert_eq!(
            t.classify(Score::exact(Points::whole(90))),
            Classification::Excellent
        );
        // 89.999… (269999/3 hundredths) is below 90 even though it shows as 90.00.
        let just_below = Score {
            hundredths: 26_999,
            den: 3,
        };
        assert_eq!(just_below.rounded(), Points::whole(90));
        assert_eq!(t.classify(just_below), Classification::Good);
        assert_eq!(
            t.classify(Score::exact(Points::whole(50))),
            Classification::Completed
        );
        assert_eq!(
            t.classify(Score::exact(Points::from_hundredths(4999))),
            Classification::NotCompleted
        );
        assert!(Classification::Excellent.at_least(Classification::Good));
        assert!(!Classification::Completed.at_least(Classification::Good));
    }

    #[test]
    fn nonsense_rules_are_refused() {
        let ok = BlockRules::default();
        ok.validate(9).expect("defaults are valid");
        let mut r = ok.clone();
        r.point_step = Points::ZERO;
        assert_eq!(r.validate(9).expect_err("step").code(), "invalid_rule");
        let mut r = ok.clone();
        r.classification.good = Points::whole(95);
        let e = r.validate(9).expect_err("order");
        assert!(
            e.message_vi().contains("ngưỡng xếp loại"),
            "{}",
            e.message_vi()
        );
        let mut r = ok.clone();
        r.majority.threshold = Threshold::AtLeast { num: 3, den: 2 };
        assert!(r.validate(9).is_err());
        let mut r = ok.clone();
        r.cross_scoring = CrossScoring::PairsByLot { per_unit: 9 };
        assert_eq!(r.validate(9).expect_err("pairs").code(), "invalid_draw");
        let mut r = ok.clone();
        r.tie_breaks.push(TieBreak::Ballot);
        assert!(r.validate(9).is_err());
        let mut r = ok;
        r.awards.push(r.awards[0]);
        assert!(
            r.validate(9)
                .expect_err("award")
                .message_vi()
                .contains("khen thưởng")
        );
    }

    #[test]
    fn steps() {
        let r = BlockRules::default();
        assert!(r.on_step(Points::from_hundredths(750)));
        assert!(!r.on_step(Points::from_hundredths(730)));
    }
}
