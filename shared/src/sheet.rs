//! Score sheets and cells: what a cell may hold, who may write a sheet, and a sheet's totals.
//!
//! A cell holds points for a standard or bonus criterion (0 to its maximum, on the block's
//! step), a count of occurrences for a deduction, or yes/no for a disqualifier. A sheet's
//! total is its standard points plus its bonus (never above the covenant's cap) minus its
//! deductions; a disqualifier leaves the total alone and marks the unit ineligible for flags.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::covenant::{Leaf, ScoringTable};
use crate::error::DomainError;
use crate::model::{Block, CriterionKind, Round, ScoreCell, ScoreSheet};
use crate::points::Points;
use crate::round::Stage;

/// Most occurrences one deduction cell may count.
pub const MAX_OCCURRENCES: u32 = 1000;
/// Longest note or evidence reference, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// What one cell holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellValue {
    /// Points, for standard and bonus criteria.
    Points(Points),
    /// Occurrences, for deductions.
    Count(u32),
    /// Whether it applies, for disqualifiers.
    Flag(bool),
}

/// Checks one value against its criterion; returns the criterion's leaf.
pub fn validate_cell(
    table: &ScoringTable,
    criterion: Uuid,
    value: CellValue,
) -> Result<Leaf, DomainError> {
    let leaf = table.leaf(criterion)?;
    check_value(table, &leaf, value)?;
    Ok(leaf)
}

/// Checks one value against an already looked-up leaf.
pub fn check_value(table: &ScoringTable, leaf: &Leaf, value: CellValue) -> Result<(), DomainError> {
    check_leaf(leaf, &table.criteria[leaf.index].code, table.step(), value)
}

/// Checks one value against a leaf whose code and the block's point step the caller
/// already has: the app checks what is typed with this before anything is stored.
pub fn check_leaf(
    leaf: &Leaf,
    code: &str,
    step: Points,
    value: CellValue,
) -> Result<(), DomainError> {
    let code = || code.to_owned();
    match (leaf.kind, value) {
        (CriterionKind::Standard | CriterionKind::Bonus, CellValue::Points(p)) => {
            if p < Points::ZERO || p > leaf.max {
                return Err(DomainError::PointsOutOfRange {
                    code: code(),
                    value: p,
                    max: leaf.max,
                });
            }
            if p.hundredths() % step.hundredths().max(1) != 0 {
                return Err(DomainError::PointsOffStep {
                    code: code(),
                    value: p,
                    step,
                });
            }
            Ok(())
        }
        (CriterionKind::Deduction, CellValue::Count(n)) => {
            if n > MAX_OCCURRENCES {
                return Err(DomainError::PointsOutOfRange {
                    code: code(),
                    value: Points::whole(i64::from(n)),
                    max: Points::whole(i64::from(MAX_OCCURRENCES)),
                });
            }
            Ok(())
        }
        (CriterionKind::Disqualifier, CellValue::Flag(_)) => Ok(()),
        (kind, _) => Err(DomainError::WrongValueKind {
            code: code(),
            expected: match kind {
                CriterionKind::Standard | CriterionKind::Bonus => "points",
                CriterionKind::Deduction => "a count",
                CriterionKind::Disqualifier => "yes or no",
            },
        }),
    }
}

/// Checks a cell's note and evidence reference.
pub fn validate_note(cell: &ScoreCell) -> Result<(), DomainError> {
    for (field, text) in [("note", &cell.note), ("evidence", &cell.evidence)] {
        if text.chars().count() > MAX_NOTE_CHARS {
            return Err(DomainError::TextTooLong {
                field,
                max: MAX_NOTE_CHARS,
            });
        }
    }
    Ok(())
}

/// Checks that `sheet` may exist in `round` of `block`: members only, self rounds score
/// oneself, cross rounds never do and follow the draw, one sheet per scorer and subject.
pub fn validate_sheet(
    block: &Block,
    round: &Round,
    sheet: &ScoreSheet,
    others: &[ScoreSheet],
) -> Result<(), DomainError> {
    if sheet.round_id != round.id {
        return Err(DomainError::UnknownEntity {
            kind: "round",
            id: sheet.round_id,
        });
    }
    for unit in [sheet.subject, sheet.scorer] {
        if !block.is_member(unit) {
            return Err(DomainError::UnitNotInBlock { unit });
        }
    }
    match round.stage {
        Stage::SelfScoring if sheet.scorer != sheet.subject => {
            return Err(DomainError::WrongScorer {
                stage: "self",
                rule: "scores only itself",
            });
        }
        Stage::CrossScoring if sheet.scorer == sheet.subject => {
            return Err(DomainError::WrongScorer {
                stage: "cross",
                rule: "does not score itself",
            });
        }
        Stage::CrossScoring if !round.assignment.allows(sheet.scorer, sheet.subject) => {
            return Err(DomainError::PairNotDrawn {
                scorer: sheet.scorer,
                subject: sheet.subject,
            });
        }
        _ => {}
    }
    let duplicate = others.iter().any(|o| {
        o.id != sheet.id
            && o.round_id == sheet.round_id
            && o.scorer == sheet.scorer
            && o.subject == sheet.subject
    });
    if duplicate {
        return Err(DomainError::DuplicateSheet {
            scorer: sheet.scorer,
            subject: sheet.subject,
        });
    }
    Ok(())
}

/// One sheet's sums, in hundredths of a point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SheetTotals {
    /// Standard points per content (indexed like `ScoringTable::contents`).
    pub contents: Vec<i64>,
    /// Bonus points before the cap.
    pub bonus: i64,
    /// Deduction points (positive).
    pub deductions: i64,
    /// How many disqualifiers are marked.
    pub disqualifiers: u32,
}

impl SheetTotals {
    /// Empty totals for `table`.
    pub fn new(table: &ScoringTable) -> SheetTotals {
        SheetTotals {
            contents: vec![0; table.contents.len()],
            bonus: 0,
            deductions: 0,
            disqualifiers: 0,
        }
    }

    /// Adds one checked value.
    pub fn add(&mut self, leaf: &Leaf, value: CellValue) {
        self.apply(leaf, value, 1);
    }

    /// Adds (`sign` 1) or takes back (`sign` -1) one checked value.
    pub fn apply(&mut self, leaf: &Leaf, value: CellValue, sign: i64) {
        match value {
            CellValue::Points(p) if leaf.kind == CriterionKind::Bonus => {
                self.bonus += sign * p.hundredths()
            }
            CellValue::Points(p) => self.contents[leaf.content] += sign * p.hundredths(),
            CellValue::Count(n) => self.deductions += sign * i64::from(n) * leaf.max.hundredths(),
            CellValue::Flag(true) if sign > 0 => self.disqualifiers += 1,
            CellValue::Flag(true) => self.disqualifiers = self.disqualifiers.saturating_sub(1),
            CellValue::Flag(false) => {}
        }
    }

    /// Whether a disqualifier is marked.
    pub fn disqualified(&self) -> bool {
        self.disqualifiers > 0
    }

    /// The sheet's total: standard + capped bonus − deductions.
    pub fn total(&self, bonus_cap: Points) -> Points {
        let standard: i64 = self.contents.iter().sum();
        Points::from_hundredths(standard + self.bonus.min(bonus_cap.hundredths()) - self.deductions)
    }
}

/// Checks every cell of one sheet and sums it; a bonus over the cap or a criterion scored
/// twice is an error.
pub fn sheet_totals<'a>(
    table: &ScoringTable,
    cells: impl IntoIterator<Item = &'a ScoreCell>,
) -> Result<SheetTotals, DomainError> {
    let mut totals = SheetTotals::new(table);
    let mut seen = vec![false; table.criteria.len()];
    for cell in cells {
        let leaf = validate_cell(table, cell.criterion_id, cell.value)?;
        if std::mem::replace(&mut seen[leaf.index], true) {
            return Err(DomainError::DuplicateCell {
                code: table.criteria[leaf.index].code.clone(),
            });
        }
        totals.add(&leaf, cell.value);
    }
    let cap = table.covenant.bonus_cap;
    if totals.bonus > cap.hundredths() {
        return Err(DomainError::BonusOverCap {
            total: Points::from_hundredths(totals.bonus),
            cap,
        });
    }
    Ok(totals)
}
