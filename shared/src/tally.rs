//! The tally: from a block's rounds, sheets, cells and counted ballots to totals per stage,
//! the block score, the ranking, the classification and the award proposals.
//!
//! Rules, all of them the block's settings (see `rules`):
//! - Only submitted sheets of this covenant's rounds count. A sheet's total is standard points
//!   plus bonus capped by the covenant minus deductions (see `sheet`). If two cells of one
//!   sheet name the same criterion (two offline tablets of one delegate), the one with the
//!   greater id counts, so every replica picks the same.
//! - Stages: the self score, every cross score (raw), the verified score (mean of the
//!   verification sheets), the agreed score. The block score is the agreed score or the
//!   (trimmed) mean of cross scores excluding the unit's own, kept as an exact fraction.
//! - A unit is disqualified when its agreed, verification or self sheet marks a disqualifier,
//!   or more than half of the cross sheets counted for it do.
//! - Ranking: block score, then each tie-break in order (each computed with the block's
//!   method on that part of the sheets), highest first; units equal on all of them share a
//!   rank (1, 2, 2, 4) and are flagged as an unresolved tie. Units without a block score are
//!   unranked and listed last.
//! - Awards, highest first: candidates are ranked units of at least the minimum class, within
//!   the maximum rank, not disqualified when that excludes, not proposed for a higher award;
//!   when the award needs a ballot, only those whose option passed the last closed ballot on
//!   it. They are taken in rank order up to the quota; units tied across the quota's edge are
//!   all held back as `tied_at_quota` for the meeting to decide.
//!
//! No step depends on the order of the input slices: everything is grouped by id.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::{Score, aggregate_hundredths};
use crate::ballot::{BallotPurpose, Count};
use crate::covenant::ScoringTable;
use crate::error::DomainError;
use crate::idmap::IdMap;
use crate::model::{Ballot, Block, Round, ScoreCell, ScoreSheet};
use crate::points::Points;
use crate::round::Stage;
use crate::rules::{AwardKind, Classification, TieBreak};
use crate::sheet::{SheetTotals, check_value, validate_cell};

/// Everything the tally reads.
#[derive(Clone, Copy, Debug)]
pub struct TallyInput<'a> {
    /// The block, with its rules and members.
    pub block: &'a Block,
    /// The covenant scored against.
    pub table: &'a ScoringTable,
    /// The block's rounds (others' are ignored).
    pub rounds: &'a [Round],
    /// Score sheets.
    pub sheets: &'a [ScoreSheet],
    /// Score cells.
    pub cells: &'a [ScoreCell],
    /// Closed ballots with their counts (award and tie-break ballots are used).
    pub ballots: &'a [(Ballot, Count)],
}

/// One cross score as given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrossScore {
    /// The scoring unit.
    pub scorer: Uuid,
    /// Its total for the subject.
    pub total: Points,
}

/// One unit's results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitResult {
    /// The unit.
    pub unit: Uuid,
    /// Its self score.
    pub self_total: Option<Points>,
    /// The cross scores it received, by scorer id (its own included if one was given; it
    /// never counts).
    pub cross: Vec<CrossScore>,
    /// The verified score: mean of the verification sheets.
    pub verified: Option<Score>,
    /// The agreed block score.
    pub agreed: Option<Points>,
    /// The block score under the block's method.
    pub block_score: Option<Score>,
    /// Per content (in covenant order), the block score of that content alone.
    pub content_scores: Vec<Option<Score>>,
    /// The block score of the deductions alone.
    pub deductions: Option<Score>,
    /// Whether a disqualifier applies.
    pub disqualified: bool,
    /// Rank, shared by units equal on every tie-break; `None` without a block score.
    pub rank: Option<u32>,
    /// Tie-breaks that decided this unit's order against a unit with the same block score.
    pub decided_by: Vec<TieBreak>,
    /// Whether the unit is still tied with another after every tie-break.
    pub unresolved_tie: bool,
    /// Classification.
    pub classification: Option<Classification>,
    /// The award it is proposed for.
    pub award: Option<AwardKind>,
}

/// The proposal list for one award.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// The award.
    pub award: AwardKind,
    /// Eligible units in rank order, before any ballot: the ballot's options.
    pub candidates: Vec<Uuid>,
    /// Units proposed, in rank order.
    pub proposed: Vec<Uuid>,
    /// Units tied across the quota's edge, held back for the meeting to decide.
    pub tied_at_quota: Vec<Uuid>,
    /// Whether the award needs a ballot that has not been closed yet.
    pub awaiting_ballot: bool,
}

/// The whole result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Units in rank order (ties by id), unranked last.
    pub units: Vec<UnitResult>,
    /// One proposal list per award rule, in the rules' order.
    pub proposals: Vec<Proposal>,
}

struct Counted<'a> {
    sheet: &'a ScoreSheet,
    stage: Stage,
    totals: SheetTotals,
}

/// Computes the tally.
pub fn tally(input: &TallyInput<'_>) -> Result<Tally, DomainError> {
    let TallyInput {
        block,
        table,
        rounds,
        sheets,
        cells,
        ballots,
    } = *input;
    let rules = &block.rules;
    let cap = table.covenant.bonus_cap;
    let stage_of: IdMap<Uuid, Stage> = rounds
        .iter()
        .filter(|r| r.block_id == block.id && r.covenant_id == table.covenant.id)
        .map(|r| (r.id, r.stage))
        .collect();

    // Sheets that count, checked for membership and duplicates.
    let mut counted: Vec<Counted<'_>> = Vec::new();
    let mut slot_of: IdMap<Uuid, usize> = IdMap::default();
    let mut seen: IdMap<(Stage, Uuid, Uuid), Uuid> = IdMap::default();
    for sheet in sheets {
        let Some(stage) = stage_of.get(&sheet.round_id).copied() else {
            continue;
        };
        if !sheet.submitted || sheet.block_id != block.id {
            continue;
        }
        if !block.is_member(sheet.subject) {
            return Err(DomainError::UnitNotInBlock {
                unit: sheet.subject,
            });
        }
        // One agreed sheet per subject whoever writes it; otherwise one per scorer.
        let scorer_key = if stage == Stage::Agreed {
            Uuid::nil()
        } else {
            sheet.scorer
        };
        if let Some(other) = seen.insert((stage, scorer_key, sheet.subject), sheet.id)
            && other != sheet.id
        {
            return Err(DomainError::DuplicateSheet {
                scorer: sheet.scorer,
                subject: sheet.subject,
            });
        }
        if slot_of.insert(sheet.id, counted.len()).is_none() {
            counted.push(Counted {
                sheet,
                stage,
                totals: SheetTotals::new(table),
            });
        }
    }

    // Cells: checked, and the greater id wins where one criterion is scored twice. One
    // dense slot per (sheet, criterion) holds the winning cell's index; a cell is summed as
    // it is read and taken back out if a greater id replaces it, so the cells are read once.
    // Cells of one sheet usually come together and in covenant order, so the last sheet and
    // the next criterion are tried before any hashing.
    let width = table.criteria.len();
    let mut winners: Vec<u32> = vec![u32::MAX; counted.len() * width];
    let mut last: Option<(Uuid, Option<usize>)> = None;
    let mut next_leaf = 0usize;
    for (ci, cell) in cells.iter().enumerate() {
        let slot = match last {
            Some((id, slot)) if id == cell.sheet_id => slot,
            _ => {
                let slot = slot_of.get(&cell.sheet_id).copied();
                last = Some((cell.sheet_id, slot));
                slot
            }
        };
        let Some(slot) = slot else {
            continue;
        };
        let leaf = match table.leaf_at(next_leaf) {
            Some(l) if table.criteria[next_leaf].id == cell.criterion_id => {
                check_value(table, &l, cell.value)?;
                l
            }
            _ => validate_cell(table, cell.criterion_id, cell.value)?,
        };
        next_leaf = leaf.index + 1;
        let w = &mut winners[slot * width + leaf.index];
        let totals = &mut counted[slot].totals;
        if *w == u32::MAX {
            totals.apply(&leaf, cell.value, 1);
        } else if cell.id > cells[*w as usize].id {
            totals.apply(&leaf, cells[*w as usize].value, -1);
            totals.apply(&leaf, cell.value, 1);
        } else {
            continue;
        }
        *w = u32::try_from(ci).unwrap_or(u32::MAX);
    }

    // Per unit, its sheets by stage.
    let member_index: IdMap<Uuid, usize> = block
        .members
        .iter()
        .enumerate()
        .map(|(i, u)| (*u, i))
        .collect();
    let mut by_subject: Vec<Vec<usize>> = vec![Vec::new(); block.members.len()];
    for (slot, c) in counted.iter().enumerate() {
        by_subject[member_index[&c.sheet.subject]].push(slot);
    }

    let heaviest = table.heaviest_content();
    let tie_ballot = last_ballot(ballots, |p| p == BallotPurpose::TieBreak);
    let mut units: Vec<(UnitResult, Vec<Option<Score>>)> = Vec::new();
    for (i, unit) in block.members.iter().copied().enumerate() {
        let mut slots = by_subject[i].clone();
        slots.sort_by_key(|s| counted[*s].sheet.scorer);
        let of = |stage: Stage| {
            slots
                .iter()
                .map(|s| &counted[*s])
                .filter(move |c| c.stage == stage)
        };
        let self_sheet = of(Stage::SelfScoring).find(|c| c.sheet.scorer == unit);
        let cross: Vec<&Counted<'_>> = of(Stage::CrossScoring).collect();
        let verification: Vec<&Counted<'_>> = of(Stage::Verification).collect();
        let agreed = of(Stage::Agreed).next();

        let part = |f: &dyn Fn(&SheetTotals) -> i64| {
            aggregate_hundredths(
                rules.aggregation,
                unit,
                cross.iter().map(|c| (c.sheet.scorer, f(&c.totals))),
                agreed.map(|c| f(&c.totals)),
            )
        };
        let total = |t: &SheetTotals| t.total(cap).hundredths();
        let block_score = part(&total);
        let content_scores: Vec<Option<Score>> = (0..table.contents.len())
            .map(|k| part(&|t: &SheetTotals| t.contents[k]))
            .collect();
        let deductions = part(&|t: &SheetTotals| t.deductions);
        let verified = (!verification.is_empty()).then(|| Score {
            hundredths: verification.iter().map(|c| total(&c.totals)).sum(),
            den: u32::try_from(verification.len()).unwrap_or(u32::MAX),
        });
        let others: Vec<&&Counted<'_>> = cross.iter().filter(|c| c.sheet.scorer != unit).collect();
        let cross_flags = others.iter().filter(|c| c.totals.disqualified()).count();
        let disqualified = agreed.is_some_and(|c| c.totals.disqualified())
            || verification.iter().any(|c| c.totals.disqualified())
            || self_sheet.is_some_and(|c| c.totals.disqualified())
            || 2 * cross_flags > others.len();

        let keys: Vec<Option<Score>> = rules
            .tie_breaks
            .iter()
            .map(|t| -> Result<Option<Score>, DomainError> {
                Ok(match t {
                    TieBreak::HeaviestContent => heaviest.and_then(|k| content_scores[k]),
                    TieBreak::Content { code } => content_scores[table.content_by_code(code)?],
                    // Fewer is better: negate so that higher still wins.
                    TieBreak::FewerDeductions => deductions.map(|s| Score {
                        hundredths: -s.hundredths,
                        den: s.den,
                    }),
                    TieBreak::Ballot => tie_ballot.map(|(b, c)| approvals(b, c, unit)),
                })
            })
            .collect::<Result<_, _>>()?;

        units.push((
            UnitResult {
                unit,
                self_total: self_sheet.map(|c| c.totals.total(cap)),
                cross: cross
                    .iter()
                    .map(|c| CrossScore {
                        scorer: c.sheet.scorer,
                        total: c.totals.total(cap),
                    })
                    .collect(),
                verified,
                agreed: agreed.map(|c| c.totals.total(cap)),
                block_score,
                content_scores,
                deductions,
                disqualified,
                rank: None,
                decided_by: Vec::new(),
                unresolved_tie: false,
                classification: block_score.map(|s| rules.classification.classify(s)),
                award: None,
            },
            keys,
        ));
    }

    rank(&mut units, &rules.tie_breaks);
    let mut units: Vec<UnitResult> = units.into_iter().map(|(u, _)| u).collect();
    let proposals = propose(&mut units, block, ballots);
    Ok(Tally { units, proposals })
}

/// Sorts by block score then the tie-break keys, highest first, and assigns shared ranks.
fn rank(units: &mut [(UnitResult, Vec<Option<Score>>)], tie_breaks: &[TieBreak]) {
    units.sort_by(|(a, ka), (b, kb)| {
        let rank_key = |u: &UnitResult, k: &Vec<Option<Score>>| {
            (
                u.block_score.is_none(),
                std::cmp::Reverse((u.block_score, k.clone())),
            )
        };
        rank_key(a, ka)
            .cmp(&rank_key(b, kb))
            .then(a.unit.cmp(&b.unit))
    });
    for i in 0..units.len() {
        if units[i].0.block_score.is_none() {
            break;
        }
        let rank = if i > 0
            && units[i - 1].0.block_score == units[i].0.block_score
            && units[i - 1].1 == units[i].1
        {
            units[i - 1].0.rank
        } else {
            Some(i as u32 + 1)
        };
        units[i].0.rank = rank;
        if i > 0 && units[i - 1].0.block_score == units[i].0.block_score {
            match units[i - 1]
                .1
                .iter()
                .zip(&units[i].1)
                .position(|(a, b)| a != b)
            {
                Some(k) => {
                    for j in [i - 1, i] {
                        if !units[j].0.decided_by.contains(&tie_breaks[k]) {
                            units[j].0.decided_by.push(tie_breaks[k].clone());
                        }
                    }
                }
                None => {
                    units[i - 1].0.unresolved_tie = true;
                    units[i].0.unresolved_tie = true;
                }
            }
        }
    }
}

/// Fills each award's proposal list and marks the units proposed.
fn propose(units: &mut [UnitResult], block: &Block, ballots: &[(Ballot, Count)]) -> Vec<Proposal> {
    let mut out = Vec::new();
    let mut held: Vec<Uuid> = Vec::new();
    for rule in &block.rules.awards {
        let candidates: Vec<usize> = (0..units.len())
            .filter(|i| {
                let u = &units[*i];
                u.rank.is_some_and(|r| rule.max_rank.is_none_or(|m| r <= m))
                    && u.classification.is_some_and(|c| c.at_least(rule.min_class))
                    && !(rule.exclude_disqualified && u.disqualified)
                    && u.award.is_none()
                    && !held.contains(&u.unit)
            })
            .collect();
        let ballot = last_ballot(ballots, |p| p == BallotPurpose::Award { award: rule.award });
        let awaiting_ballot = rule.needs_ballot && ballot.is_none();
        let passing: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|i| {
                !rule.needs_ballot || ballot.is_some_and(|(b, c)| passes(b, c, units[*i].unit))
            })
            .collect();
        let (mut proposed, mut tied) = (Vec::new(), Vec::new());
        let mut k = 0;
        while k < passing.len() {
            let r = units[passing[k]].rank;
            let group: Vec<usize> = passing[k..]
                .iter()
                .copied()
                .take_while(|i| units[*i].rank == r)
                .collect();
            k += group.len();
            let room = (rule.quota as usize).saturating_sub(proposed.len());
            if group.len() <= room {
                proposed.extend(group);
            } else {
                if room > 0 {
                    tied = group;
                }
                break;
            }
        }
        for i in &proposed {
            units[*i].award = Some(rule.award);
        }
        held.extend(tied.iter().map(|i| units[*i].unit));
        out.push(Proposal {
            award: rule.award,
            candidates: candidates.iter().map(|i| units[*i].unit).collect(),
            proposed: proposed.iter().map(|i| units[*i].unit).collect(),
            tied_at_quota: tied.iter().map(|i| units[*i].unit).collect(),
            awaiting_ballot,
        });
    }
    out
}

/// The closed ballot for `purpose` with the greatest id (UUIDv7: the latest).
fn last_ballot(
    ballots: &[(Ballot, Count)],
    purpose: impl Fn(BallotPurpose) -> bool,
) -> Option<(&Ballot, &Count)> {
    ballots
        .iter()
        .filter(|(b, _)| purpose(b.purpose) && b.state == crate::ballot::BallotState::Closed)
        .max_by_key(|(b, _)| b.id)
        .map(|(b, c)| (b, c))
}

fn option_result<'a>(
    ballot: &Ballot,
    count: &'a Count,
    unit: Uuid,
) -> Option<&'a crate::ballot::OptionResult> {
    let option = ballot.options.iter().find(|o| o.unit == Some(unit))?;
    count.results.iter().find(|r| r.option == option.id)
}

fn approvals(ballot: &Ballot, count: &Count, unit: Uuid) -> Score {
    let a = option_result(ballot, count, unit).map_or(0, |r| r.approvals);
    Score {
        hundredths: i64::from(a),
        den: 1,
    }
}

fn passes(ballot: &Ballot, count: &Count, unit: Uuid) -> bool {
    option_result(ballot, count, unit).is_some_and(|r| r.passes)
}
