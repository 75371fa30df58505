//! Lookups over the snapshot that several screens need.

use shared::model::{Block, Covenant, Round, ScoreCell, ScoreSheet, Signature, Unit};
pub use shared::round::{expected_sheets, subjects_of};
use shared::{Record, collation};
use uuid::Uuid;

use crate::db::Snapshot;

/// Every block on the device: newest year first, then by name in Vietnamese order.
pub fn blocks(s: &Snapshot) -> Vec<Block> {
    let mut out: Vec<Block> = s
        .others()
        .filter_map(|r| match r {
            Record::Block(b) => Some(b.clone()),
            _ => None,
        })
        .collect();
    out.sort_by(|a, b| {
        b.year
            .cmp(&a.year)
            .then_with(|| collation::compare(&a.name, &b.name))
    });
    out
}

/// One block.
pub fn block(s: &Snapshot, id: Uuid) -> Option<Block> {
    match s.records.get(&id) {
        Some(Record::Block(b)) => Some(b.clone()),
        _ => None,
    }
}

/// One unit.
pub fn unit(s: &Snapshot, id: Uuid) -> Option<&Unit> {
    match s.records.get(&id) {
        Some(Record::Unit(u)) => Some(u),
        _ => None,
    }
}

/// A unit's short name, or its id when the unit is not on the device.
pub fn short_name(s: &Snapshot, id: Uuid) -> String {
    unit(s, id).map_or_else(|| id.to_string(), |u| u.short_name.clone())
}

/// A block's members in Vietnamese alphabetical order of their names.
pub fn members(s: &Snapshot, block: &Block) -> Vec<Unit> {
    let mut out: Vec<Unit> = block
        .members
        .iter()
        .filter_map(|id| unit(s, *id).cloned())
        .collect();
    out.sort_by(|a, b| collation::compare(&a.name, &b.name));
    out
}

/// A block's covenant versions, oldest first.
pub fn covenants(s: &Snapshot, block: Uuid) -> Vec<Covenant> {
    let mut out: Vec<Covenant> = s
        .others()
        .filter_map(|r| match r {
            Record::Covenant(c) if c.block_id == block => Some(c.clone()),
            _ => None,
        })
        .collect();
    out.sort_by_key(|c| (c.version, c.id));
    out
}

/// The covenant's signatures.
pub fn signatures(s: &Snapshot, covenant: Uuid) -> Vec<Signature> {
    s.others()
        .filter_map(|r| match r {
            Record::Signature(g) if g.covenant_id == covenant => Some(g.clone()),
            _ => None,
        })
        .collect()
}

/// A block's rounds, in the order of their stages.
pub fn rounds(s: &Snapshot, block: Uuid) -> Vec<Round> {
    let mut out: Vec<Round> = s
        .others()
        .filter_map(|r| match r {
            Record::Round(x) if x.block_id == block => Some(x.clone()),
            _ => None,
        })
        .collect();
    out.sort_by_key(|r| (r.stage, r.id));
    out
}

/// One round.
pub fn round(s: &Snapshot, id: Uuid) -> Option<Round> {
    match s.records.get(&id) {
        Some(Record::Round(r)) => Some(r.clone()),
        _ => None,
    }
}

/// A round's sheets.
pub fn sheets(s: &Snapshot, round: Uuid) -> Vec<ScoreSheet> {
    s.others()
        .filter_map(|r| match r {
            Record::ScoreSheet(x) if x.round_id == round => Some(x.clone()),
            _ => None,
        })
        .collect()
}

/// A sheet's cells.
pub fn cells(s: &Snapshot, sheet: Uuid) -> Vec<ScoreCell> {
    s.cells_of(sheet).cloned().collect()
}

/// The cells of every sheet in `sheets`, by sheet (a round's results read them on every
/// edit): through the snapshot's index, never a pass over every record.
pub fn cells_by_sheet(
    s: &Snapshot,
    sheets: &std::collections::HashSet<Uuid>,
) -> std::collections::HashMap<Uuid, Vec<ScoreCell>> {
    sheets
        .iter()
        .map(|id| (*id, cells(s, *id)))
        .filter(|(_, c)| !c.is_empty())
        .collect()
}
