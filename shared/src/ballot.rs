//! Secret ballots (bỏ phiếu kín): the ballot, casting a vote, and counting (kiểm phiếu) under
//! the block's majority rule.
//!
//! Secrecy is in the types: a `Vote` carries a paper and no voter, a `VoteReceipt` carries a
//! voter and no paper, and nothing links the two, so a store can keep them apart.
//!
//! No national rule exists, so the rule is a setting: more than half, at least two thirds or
//! at least a custom fraction, counted over all member units or over those present. Every
//! comparison is on integers (`approvals × den` against `num × base`), so a threshold holds
//! or fails at its exact edge, never by float rounding. Ballots carry no voter: counting
//! needs none.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::error::DomainError;
use crate::model::{Ballot, Block};
use crate::rules::AwardKind;
use crate::tagged;

/// Longest ballot title or option label, in characters.
pub const MAX_LABEL_CHARS: usize = 300;

/// What a ballot decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BallotPurpose {
    /// Suy tôn next year's block head.
    ElectHead,
    /// Suy tôn next year's deputy.
    ElectDeputy,
    /// Whether to propose units for an award.
    Award {
        /// The award.
        award: AwardKind,
    },
    /// Separates units the tie-breaks left equal.
    TieBreak,
}

impl<'de> Deserialize<'de> for BallotPurpose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const VARIANTS: &[&str] = &["elect_head", "elect_deputy", "award", "tie_break"];
        let (tag, body) = tagged::split(d, "type")?;
        Ok(match tag.as_str() {
            "elect_head" => BallotPurpose::ElectHead,
            "elect_deputy" => BallotPurpose::ElectDeputy,
            "award" => BallotPurpose::Award {
                award: tagged::body::<AwardBody, _>(body)?.award,
            },
            "tie_break" => BallotPurpose::TieBreak,
            other => return Err(tagged::unknown(other, VARIANTS)),
        })
    }
}

/// `BallotPurpose::Award`'s fields.
#[derive(Deserialize)]
struct AwardBody {
    award: AwardKind,
}

/// A ballot's state: draft → open → closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BallotState {
    /// Being prepared.
    Draft,
    /// Votes are accepted.
    Open,
    /// Counted; results visible.
    Closed,
}

impl BallotState {
    /// The state as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            BallotState::Draft => "draft",
            BallotState::Open => "open",
            BallotState::Closed => "closed",
        }
    }

    /// The state after moving to `to`, if allowed.
    pub fn move_to(self, to: BallotState) -> Result<BallotState, DomainError> {
        match (self, to) {
            (BallotState::Draft, BallotState::Open) | (BallotState::Open, BallotState::Closed) => {
                Ok(to)
            }
            _ => Err(DomainError::InvalidTransition {
                from: self.as_str(),
                to: to.as_str(),
            }),
        }
    }
}

/// One option on a ballot paper.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BallotOption {
    /// Id.
    pub id: Uuid,
    /// What the paper shows.
    pub label: String,
    /// The member unit it stands for, if any.
    pub unit: Option<Uuid>,
}

/// A cast paper: no voter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The ballot.
    pub ballot_id: Uuid,
    /// The paper.
    pub paper: BallotPaper,
}

/// Proof that a voter voted: no paper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteReceipt {
    /// The ballot.
    pub ballot_id: Uuid,
    /// The voter.
    pub voter: Uuid,
}

/// Checks a ballot against its block: a title, options that are members when they name one,
/// a sensible number of choices, voters who are members, and present voters who are eligible.
pub fn validate_ballot(ballot: &Ballot, block: &Block) -> Result<(), DomainError> {
    let title = ballot.title.trim();
    if title.is_empty() {
        return Err(DomainError::EmptyText {
            field: "ballot title",
        });
    }
    if title.chars().count() > MAX_LABEL_CHARS {
        return Err(DomainError::TextTooLong {
            field: "ballot title",
            max: MAX_LABEL_CHARS,
        });
    }
    if ballot.options.is_empty()
        || ballot.max_choices == 0
        || ballot.max_choices as usize > ballot.options.len()
    {
        return Err(DomainError::InvalidRule {
            reason: "a ballot needs at least one option and one choice",
        });
    }
    let mut ids = BTreeSet::new();
    for o in &ballot.options {
        if o.label.trim().is_empty() {
            return Err(DomainError::EmptyText { field: "option" });
        }
        if !ids.insert(o.id) {
            return Err(DomainError::DuplicateCode {
                code: o.label.clone(),
            });
        }
        if let Some(u) = o.unit
            && !block.is_member(u)
        {
            return Err(DomainError::UnitNotInBlock { unit: u });
        }
    }
    if let Some(u) = ballot.eligible.iter().find(|u| !block.is_member(**u)) {
        return Err(DomainError::UnitNotInBlock { unit: *u });
    }
    if let Some(u) = ballot.present.iter().find(|u| !ballot.eligible.contains(u)) {
        return Err(DomainError::PresentNotEligible { voter: *u });
    }
    Ok(())
}

/// Checks one vote: the ballot is open, the voter eligible and present, has not voted, and
/// the paper names known options within the limit (a deliberately spoiled paper is allowed).
pub fn validate_vote(
    ballot: &Ballot,
    voter: Uuid,
    already_voted: bool,
    paper: &BallotPaper,
) -> Result<(), DomainError> {
    if ballot.state != BallotState::Open {
        return Err(DomainError::BallotNotOpen);
    }
    if !ballot.eligible.contains(&voter) || !ballot.present.contains(&voter) {
        return Err(DomainError::NotEligible { voter });
    }
    if already_voted {
        return Err(DomainError::AlreadyVoted { voter });
    }
    if let BallotPaper::Choices { options } = paper {
        let known = options
            .iter()
            .all(|o| ballot.options.iter().any(|b| b.id == *o));
        if !known || options.len() > ballot.max_choices as usize {
            return Err(DomainError::InvalidChoice {
                max: ballot.max_choices,
            });
        }
    }
    Ok(())
}

/// Counts a closed ballot's papers under its own rule.
pub fn count_ballot(ballot: &Ballot, papers: &[BallotPaper]) -> Result<Count, DomainError> {
    if ballot.state != BallotState::Closed {
        return Err(DomainError::BallotNotClosed);
    }
    let options: Vec<Uuid> = ballot.options.iter().map(|o| o.id).collect();
    let n = |v: &[Uuid]| u32::try_from(v.iter().collect::<BTreeSet<_>>().len()).unwrap_or(u32::MAX);
    let mut c = count(
        ballot.rule,
        &options,
        ballot.max_choices,
        n(&ballot.eligible),
        n(&ballot.present),
        papers,
    )?;
    if c.cast > 0 && c.cast < MIN_SECRET_PAPERS {
        c = Count {
            valid: 0,
            invalid: 0,
            abstain: 0,
            results: Vec::new(),
            withheld: true,
            ..c
        };
    }
    Ok(c)
}

/// The share of approvals an option needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Threshold {
    /// Strictly more than 1/2 (quá bán).
    MoreThanHalf,
    /// At least 2/3.
    AtLeastTwoThirds,
    /// At least `num / den`.
    AtLeast {
        /// Numerator.
        num: u32,
        /// Denominator, at least 1.
        den: u32,
    },
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const VARIANTS: &[&str] = &["more_than_half", "at_least_two_thirds", "at_least"];
        let (tag, body) = tagged::split(d, "type")?;
        Ok(match tag.as_str() {
            "more_than_half" => Threshold::MoreThanHalf,
            "at_least_two_thirds" => Threshold::AtLeastTwoThirds,
            "at_least" => {
                let b: AtLeastBody = tagged::body(body)?;
                Threshold::AtLeast {
                    num: b.num,
                    den: b.den,
                }
            }
            other => return Err(tagged::unknown(other, VARIANTS)),
        })
    }
}

/// `Threshold::AtLeast`'s fields.
#[derive(Deserialize)]
struct AtLeastBody {
    num: u32,
    den: u32,
}

/// What the share is counted over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountBase {
    /// Every eligible voter of the block, present or not.
    AllEligible,
    /// The eligible voters present at the meeting.
    Present,
}

/// A block's majority rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MajorityRule {
    /// The share needed.
    pub threshold: Threshold,
    /// Over whom.
    pub base: CountBase,
}

impl MajorityRule {
    /// Whether `approvals` out of `base` meets the threshold; a base of 0 never does.
    pub fn passes(self, approvals: u32, base: u32) -> bool {
        if base == 0 {
            return false;
        }
        let (a, b) = (u64::from(approvals), u64::from(base));
        match self.threshold {
            Threshold::MoreThanHalf => 2 * a > b,
            Threshold::AtLeastTwoThirds => 3 * a >= 2 * b,
            Threshold::AtLeast { num, den } => den > 0 && a * u64::from(den) >= u64::from(num) * b,
        }
    }
}

/// One ballot paper as cast.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BallotPaper {
    /// The options approved.
    Choices {
        /// Approved options.
        options: BTreeSet<Uuid>,
    },
    /// Blank: counted as cast, approving nothing (phiếu trắng).
    Abstain,
    /// Spoiled by the voter (phiếu không hợp lệ).
    Spoiled,
}

impl<'de> Deserialize<'de> for BallotPaper {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const VARIANTS: &[&str] = &["choices", "abstain", "spoiled"];
        let (tag, body) = tagged::split(d, "type")?;
        Ok(match tag.as_str() {
            "choices" => BallotPaper::Choices {
                options: tagged::body::<ChoicesBody, _>(body)?.options,
            },
            "abstain" => BallotPaper::Abstain,
            "spoiled" => BallotPaper::Spoiled,
            other => return Err(tagged::unknown(other, VARIANTS)),
        })
    }
}

/// `BallotPaper::Choices`'s fields.
#[derive(Deserialize)]
struct ChoicesBody {
    options: BTreeSet<Uuid>,
}

/// One option's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionResult {
    /// The option.
    pub option: Uuid,
    /// Valid papers approving it.
    pub approvals: u32,
    /// Approval rate over the rule's base, in hundredths of a percent, rounded half up
    /// (6667 = 66.67 %).
    pub rate_bp: u32,
    /// Whether it meets the rule.
    pub passes: bool,
}

/// The count of one ballot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    /// Papers cast.
    pub cast: u32,
    /// Valid papers (choices within the limit, and blanks).
    pub valid: u32,
    /// Invalid papers: spoiled, unknown options or too many choices.
    pub invalid: u32,
    /// Blank papers.
    pub abstain: u32,
    /// The base the rates are counted over.
    pub base: u32,
    /// Per option, in the order given (none when `withheld`).
    pub results: Vec<OptionResult>,
    /// Fewer than `MIN_SECRET_PAPERS` papers were cast: only their number is told, since a
    /// count of one or two papers tells how those units voted; the ballot decides nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
}

/// Fewest papers whose count is shown: below it, a count would reveal how units voted.
pub const MIN_SECRET_PAPERS: u32 = 3;

/// Counts `papers` for `options`, allowing at most `max_choices` approvals per paper.
pub fn count(
    rule: MajorityRule,
    options: &[Uuid],
    max_choices: u32,
    eligible: u32,
    present: u32,
    papers: &[BallotPaper],
) -> Result<Count, DomainError> {
    let present = present.min(eligible);
    let cast = u32::try_from(papers.len()).unwrap_or(u32::MAX);
    if cast > present {
        return Err(DomainError::TooManyBallots { cast, present });
    }
    let known: BTreeSet<Uuid> = options.iter().copied().collect();
    let mut approvals: BTreeMap<Uuid, u32> = BTreeMap::new();
    let (mut valid, mut invalid, mut abstain) = (0u32, 0u32, 0u32);
    for paper in papers {
        match paper {
            BallotPaper::Choices { options: chosen }
                if chosen.len() <= max_choices as usize && chosen.is_subset(&known) =>
            {
                valid += 1;
                if chosen.is_empty() {
                    abstain += 1;
                }
                for o in chosen {
                    *approvals.entry(*o).or_default() += 1;
                }
            }
            BallotPaper::Abstain => {
                valid += 1;
                abstain += 1;
            }
            BallotPaper::Choices { .. } | BallotPaper::Spoiled => invalid += 1,
        }
    }
    let base = match rule.base {
        CountBase::AllEligible => eligible,
        CountBase::Present => present,
    };
    let results = options
        .iter()
        .map(|o| {
            let a = approvals.get(o).copied().unwrap_or(0);
            OptionResult {
                option: *o,
                approvals: a,
                rate_bp: rate_bp(a, base),
                passes: rule.passes(a, base),
            }
        })
        .collect();
    Ok(Count {
        cast,
        valid,
        invalid,
        abstain,
        base,
        results,
        withheld: false,
    })
}

/// What the documents say of a withheld count, in Vietnamese.
pub fn withheld_vi(cast: u32) -> String {
    format!(
        "Thu về {cast} phiếu, ít hơn {MIN_SECRET_PAPERS}: để giữ bí mật, kết quả không công bố và cuộc bỏ phiếu không quyết định nội dung nào."
    )
}

/// `a / b` in hundredths of a percent, rounded half up; 0 when `b` is 0.
pub fn rate_bp(a: u32, b: u32) -> u32 {
    if b == 0 {
        return 0;
    }
    let (a, b) = (u64::from(a), u64::from(b));
    u32::try_from((a * 20_000 + b) / (2 * b)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HALF_ALL: MajorityRule = MajorityRule {
        threshold: Threshold::MoreThanHalf,
        base: CountBase::AllEligible,
    };
    const TWO_THIRDS_PRESENT: MajorityRule = MajorityRule {
        threshold: Threshold::AtLeastTwoThirds,
        base: CountBase::Present,
    };

    fn yes(o: Uuid) -> BallotPaper {
        BallotPaper::Choices {
            options: [o].into(),
        }
    }

    #[test]
    fn thresholds_hold_at_their_exact_edges() {
        // 9 units: more than half needs 5; 4.5 is not enough.
        assert!(!HALF_ALL.passes(4, 9));
        assert!(HALF_ALL.passes(5, 9));
        // 8: exactly half fails.
        assert!(!HALF_ALL.passes(4, 8));
        // Two thirds of 9 is 6 exactly; of 7 present it is 4.67, so 5.
        assert!(TWO_THIRDS_PRESENT.passes(6, 9));
        assert!(!TWO_THIRDS_PRESENT.passes(5, 9));
        assert!(!TWO_THIRDS_PRESENT.passes(4, 7));
        assert!(TWO_THIRDS_PRESENT.passes(5, 7));
        // A custom 3/4 of 8 is 6.
        let three_quarters = MajorityRule {
            threshold: Threshold::AtLeast { num: 3, den: 4 },
            base: CountBase::AllEligible,
        };
        assert!(three_quarters.passes(6, 8));
        assert!(!three_quarters.passes(5, 8));
        // Nobody to count over: nothing passes.
        assert!(!HALF_ALL.passes(0, 0));
    }

    #[test]
    fn a_count_of_fewer_than_three_papers_is_withheld() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let units: Vec<Uuid> = (10..19).map(Uuid::from_u128).collect();
        let ballot = Ballot {
            id: Uuid::from_u128(7),
            block_id: Uuid::from_u128(8),
            title: "Suy tôn Khối trưởng".into(),
            purpose: BallotPurpose::ElectHead,
            options: [a, b]
                .iter()
                .map(|&id| BallotOption {
                    id,
                    label: "Đơn vị".into(),
                    unit: None,
                })
                .collect(),
            max_choices: 1,
            rule: HALF_ALL,
            eligible: units.clone(),
            present: units,
            state: BallotState::Closed,
            voted: Vec::new(),
            result: None,
        };
        // Two papers: who chose what would be plain to the two voters' neighbours.
        let c = count_ballot(&ballot, &[yes(a), BallotPaper::Abstain]).expect("count");
        assert!(c.withheld);
        assert_eq!((c.cast, c.valid, c.abstain, c.results.len()), (2, 0, 0, 0));
        assert!(withheld_vi(c.cast).contains("không công bố"));
        // Three papers: counted and shown.
        let c = count_ballot(&ballot, &[yes(a), yes(a), yes(b)]).expect("count");
        assert!(!c.withheld);
        assert_eq!(c.results[0].approvals, 2);
        // None at all: nothing to hide.
        assert!(!count_ballot(&ballot, &[]).expect("count").withheld);
    }

    #[test]
    fn counts_the_central_block_electing_its_head() {
        // 9 members, 8 present; two candidates, one choice per paper.
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut papers = vec![yes(a); 5];
        papers.push(yes(b));
        papers.push(BallotPaper::Abstain);
        papers.push(BallotPaper::Choices {
            options: [a, b].into(),
        }); // two choices: invalid
        let c = count(HALF_ALL, &[a, b], 1, 9, 8, &papers).expect("count");
        assert_eq!(
            (c.cast, c.valid, c.invalid, c.abstain, c.base),
            (8, 7, 1, 1, 9)
        );
        assert_eq!(c.results[0].approvals, 5);
        assert_eq!(c.results[0].rate_bp, 5556); // 5/9 = 55.56 %
        assert!(c.results[0].passes);
        assert_eq!(c.results[1].approvals, 1);
        assert!(!c.results[1].passes);
    }

    #[test]
    fn refuses_impossible_counts() {
        let a = Uuid::from_u128(1);
        let e = count(HALF_ALL, &[a], 1, 9, 3, &vec![yes(a); 4]).expect_err("too many");
        assert_eq!(e.code(), "too_many_ballots");
        assert!(e.message_vi().contains("4 phiếu"));
    }

    #[test]
    fn unknown_options_spoil_the_paper() {
        let a = Uuid::from_u128(1);
        let papers = [yes(Uuid::from_u128(99)), BallotPaper::Spoiled, yes(a)];
        let c = count(TWO_THIRDS_PRESENT, &[a], 1, 9, 3, &papers).expect("count");
        assert_eq!((c.valid, c.invalid), (1, 2));
        assert_eq!(c.results[0].rate_bp, 3333);
    }

    #[test]
    fn smallest_passing_count_for_every_base() {
        // More than half: ⌊b/2⌋ + 1; two thirds: ⌈2b/3⌉; one below never passes.
        for b in 1u32..=200 {
            let half = b / 2 + 1;
            assert!(
                HALF_ALL.passes(half, b) && !HALF_ALL.passes(half - 1, b),
                "half of {b}"
            );
            let two_thirds = (2 * b).div_ceil(3);
            assert!(
                TWO_THIRDS_PRESENT.passes(two_thirds, b)
                    && !TWO_THIRDS_PRESENT.passes(two_thirds - 1, b),
                "two thirds of {b}"
            );
        }
    }

    proptest! {
        /// The integer rule agrees with exact rational arithmetic at every count.
        #[test]
        fn passes_matches_rational_arithmetic(a in 0u32..200, extra in 0u32..200, num in 1u32..10, den in 1u32..10) {
            let b = a + extra;
            let custom = MajorityRule { threshold: Threshold::AtLeast { num, den }, base: CountBase::Present };
            prop_assert_eq!(custom.passes(a, b), b > 0 && u128::from(a) * u128::from(den) >= u128::from(num) * u128::from(b));
            prop_assert_eq!(HALF_ALL.passes(a, b), b > 0 && a * 2 > b);
        }

        /// Order of papers never changes a count.
        #[test]
        fn count_is_order_independent(choices in proptest::collection::vec(0u8..4, 0..30), seed in any::<u64>()) {
            let opts = [Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3)];
            let papers: Vec<BallotPaper> = choices.iter().map(|c| match c {
                3 => BallotPaper::Abstain,
                i => yes(opts[*i as usize]),
            }).collect();
            let mut shuffled = papers.clone();
            crate::testing::shuffle(&mut shuffled, seed);
            let n = papers.len() as u32;
            prop_assert_eq!(
                count(HALF_ALL, &opts, 1, n + 2, n, &papers).expect("count"),
                count(HALF_ALL, &opts, 1, n + 2, n, &shuffled).expect("count")
            );
        }
    }
}
