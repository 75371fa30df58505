//! The records that sync: member units, blocks, covenants, their contents and criteria.
//!
//! Every record has a client- or server-generated UUIDv7 and belongs to at most one block
//! (`scope`), which is what pull filtering and live events key on. A record is stored and
//! sent whole; mutations change single fields (see `mutation`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::points::Points;

/// A member unit (đơn vị thành viên) of one or more blocks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    /// Id.
    pub id: Uuid,
    /// Full name, e.g. "Trung ương Hội Nông dân Việt Nam".
    pub name: String,
    /// Short name for tables, e.g. "Hội Nông dân".
    pub short_name: String,
}

/// Whether a group is a block of similar function (khối) or a cluster by area (cụm).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// Khối thi đua.
    Khoi,
    /// Cụm thi đua.
    Cum,
}

/// An emulation block (khối / cụm thi đua) in one year.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// Id.
    pub id: Uuid,
    /// Name, e.g. "Khối các tổ chức chính trị - xã hội Trung ương".
    pub name: String,
    /// The emulation year.
    pub year: u16,
    /// Khối or cụm.
    pub kind: BlockKind,
    /// Member units this year.
    pub members: Vec<Uuid>,
    /// Block head (Khối trưởng) this year.
    pub head: Option<Uuid>,
    /// Deputy (Khối phó) this year.
    pub deputy: Option<Uuid>,
}

/// Where a covenant stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CovenantStatus {
    /// Bản nháp.
    Draft,
    /// Sent to the members for comment.
    Circulated,
    /// Agreed at the conference.
    Agreed,
    /// Signed by the members.
    Signed,
}

/// A block's emulation covenant (giao ước thi đua) for a year.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Covenant {
    /// Id.
    pub id: Uuid,
    /// The block that signs it.
    pub block_id: Uuid,
    /// Title.
    pub title: String,
    /// Stated total of the standard criteria (e.g. 100).
    pub total_points: Points,
    /// Cap on bonus points.
    pub bonus_cap: Points,
    /// Status.
    pub status: CovenantStatus,
    /// Version, 1 for the first; an amendment after signing is a new version.
    pub version: u32,
}

/// An emulation content (nội dung thi đua): a group of criteria.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Content {
    /// Id.
    pub id: Uuid,
    /// The block, for scoping.
    pub block_id: Uuid,
    /// The covenant it belongs to.
    pub covenant_id: Uuid,
    /// Sort position within the covenant.
    pub position: u32,
    /// Code, e.g. "2".
    pub code: String,
    /// Title.
    pub title: String,
}

/// How a criterion's points count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CriterionKind {
    /// Scored from 0 to its maximum.
    Standard,
    /// Bonus points (điểm thưởng), capped by the covenant.
    Bonus,
    /// Points deducted per occurrence (điểm trừ).
    Deduction,
    /// Makes a unit ineligible for flags (loại trừ).
    Disqualifier,
}

/// A criterion (tiêu chí) with its maximum points (điểm chuẩn).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// Id.
    pub id: Uuid,
    /// The block, for scoping.
    pub block_id: Uuid,
    /// The content it belongs to.
    pub content_id: Uuid,
    /// Sort position within the content.
    pub position: u32,
    /// Code, e.g. "2.3".
    pub code: String,
    /// Title.
    pub title: String,
    /// Guidance for scorers.
    pub guidance: String,
    /// Kind.
    pub kind: CriterionKind,
    /// Maximum points (or points per occurrence for a deduction).
    pub max_points: Points,
}

/// Any record that syncs, tagged with its kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// A member unit.
    Unit(Unit),
    /// A block.
    Block(Block),
    /// A covenant.
    Covenant(Covenant),
    /// A content.
    Content(Content),
    /// A criterion.
    Criterion(Criterion),
}

impl Record {
    /// The record's id.
    pub fn id(&self) -> Uuid {
        match self {
            Record::Unit(r) => r.id,
            Record::Block(r) => r.id,
            Record::Covenant(r) => r.id,
            Record::Content(r) => r.id,
            Record::Criterion(r) => r.id,
        }
    }

    /// The record's type, as on the wire (`"type"`).
    pub fn record_type(&self) -> &'static str {
        match self {
            Record::Unit(_) => "unit",
            Record::Block(_) => "block",
            Record::Covenant(_) => "covenant",
            Record::Content(_) => "content",
            Record::Criterion(_) => "criterion",
        }
    }

    /// The block the record belongs to; `None` for units, which can serve several blocks.
    pub fn scope(&self) -> Option<Uuid> {
        match self {
            Record::Unit(_) => None,
            Record::Block(r) => Some(r.id),
            Record::Covenant(r) => Some(r.block_id),
            Record::Content(r) => Some(r.block_id),
            Record::Criterion(r) => Some(r.block_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_carry_their_kind_on_the_wire() {
        let unit = Record::Unit(Unit {
            id: Uuid::from_u128(7),
            name: "Trung ương Hội Nông dân Việt Nam".into(),
            short_name: "Hội Nông dân".into(),
        });
        let json = serde_json::to_value(&unit).expect("json");
        assert_eq!(json["type"], "unit");
        let back: Record = serde_json::from_value(json).expect("back");
        assert_eq!(back, unit);
        assert_eq!(back.scope(), None);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let json = serde_json::json!({
            "type": "unit", "id": Uuid::nil(), "name": "A", "short_name": "A", "extra": 1
        });
        assert!(serde_json::from_value::<Record>(json).is_err());
    }
}
