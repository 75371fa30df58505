//! The records that sync: member units, blocks, covenants with their contents, criteria and
//! signatures, scoring rounds, score sheets and cells, and ballots.
//!
//! Every record has a client- or server-generated UUIDv7 and belongs to at most one block
//! (`scope`), which is what pull filtering and live events key on. A record is stored and
//! sent whole; mutations change single fields (see `mutation`).

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::ballot::{BallotOption, BallotPurpose, BallotState, Count, MajorityRule};
use crate::points::Points;
use crate::round::{Assignment, RoundState, Stage};
use crate::rules::BlockRules;
use crate::sheet::CellValue;
use crate::tagged;

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

/// The level a block is organised at, for the central office's filters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockLevel {
    /// Trung ương: guided by the central council.
    #[default]
    Central,
    /// Tỉnh, thành phố: guided by a provincial council.
    Provincial,
    /// Cơ sở: a commune-level or agency block.
    Local,
}

/// An emulation block (khối / cụm thi đua) in one year.
///
/// Members, head, deputy and rules are per year: a block next year is a new record.
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
    /// The level it is organised at.
    #[serde(default)]
    pub level: BlockLevel,
    /// The province for a provincial or local block; empty for a central one.
    #[serde(default)]
    pub province: String,
    /// Member units this year.
    pub members: Vec<Uuid>,
    /// Block head (Khối trưởng) this year.
    pub head: Option<Uuid>,
    /// Deputy (Khối phó) this year.
    pub deputy: Option<Uuid>,
    /// The rules the members agreed for this year.
    #[serde(default)]
    pub rules: BlockRules,
    /// The year-end meeting as its minutes say; absent from the wire until set. Boxed: most
    /// blocks carry none, and a record's size is every record's size.
    #[serde(default, skip_serializing_if = "MeetingDetails::is_unset")]
    pub meeting: Box<MeetingDetails>,
}

/// The year-end review meeting (hội nghị bình xét) as its minutes print it. Kept on the
/// block, which is one year's, so that every printing of the minutes says the same.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingDetails {
    /// Where it was held.
    #[serde(default)]
    pub place: String,
    /// When, as printed ("ngày 20 tháng 12 năm 2026").
    #[serde(default)]
    pub date: String,
    /// Who chaired it.
    #[serde(default)]
    pub chair: String,
    /// Who took the minutes.
    #[serde(default)]
    pub secretary: String,
    /// Member units not represented; the rest attended.
    #[serde(default)]
    pub absent: Vec<Uuid>,
}

impl MeetingDetails {
    /// Longest text of each field, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Whether nothing has been recorded yet.
    pub fn is_unset(&self) -> bool {
        *self == MeetingDetails::default()
    }

    /// Checks the texts' lengths and that every absent unit is a member of `block`.
    pub fn validate(&self, block: &Block) -> Result<(), crate::DomainError> {
        for (field, text) in [
            ("place", &self.place),
            ("date", &self.date),
            ("chair", &self.chair),
            ("secretary", &self.secretary),
        ] {
            if text.chars().count() > Self::MAX_CHARS {
                return Err(crate::DomainError::TextTooLong {
                    field,
                    max: Self::MAX_CHARS,
                });
            }
        }
        match self.absent.iter().find(|u| !block.is_member(**u)) {
            Some(u) => Err(crate::DomainError::UnitNotInBlock { unit: *u }),
            None => Ok(()),
        }
    }
}

impl Block {
    /// Whether `unit` is a member this year.
    pub fn is_member(&self, unit: Uuid) -> bool {
        self.members.contains(&unit)
    }

    /// Whether `unit` was represented at the year-end meeting: a member the meeting's
    /// details do not mark absent.
    pub fn attended(&self, unit: Uuid) -> bool {
        self.is_member(unit) && !self.meeting.absent.contains(&unit)
    }
}

/// Where a covenant stands: draft → circulated → agreed → signed (once every member signed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CovenantStatus {
    /// Bản nháp.
    Draft,
    /// Sent to the members for comment.
    Circulated,
    /// Agreed at the conference.
    Agreed,
    /// Signed by every member.
    Signed,
}

impl CovenantStatus {
    /// The status as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            CovenantStatus::Draft => "draft",
            CovenantStatus::Circulated => "circulated",
            CovenantStatus::Agreed => "agreed",
            CovenantStatus::Signed => "signed",
        }
    }
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
    /// The version this one amends.
    #[serde(default)]
    pub amends: Option<Uuid>,
    /// Why it was amended; required from version 2 on.
    #[serde(default)]
    pub amendment_reason: String,
}

impl Covenant {
    /// A block's first draft: 100 points, a bonus cap of 10, version 1.
    pub fn draft(id: Uuid, block_id: Uuid, title: String) -> Covenant {
        Covenant {
            id,
            block_id,
            title,
            total_points: Points::whole(100),
            bonus_cap: Points::whole(10),
            status: CovenantStatus::Draft,
            version: 1,
            amends: None,
            amendment_reason: String::new(),
        }
    }
}

/// A member unit's signature on a covenant (ký kết), a record of its own so that members
/// signing at the same time never overwrite each other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// Id.
    pub id: Uuid,
    /// The block, for scoping.
    pub block_id: Uuid,
    /// The covenant version signed.
    pub covenant_id: Uuid,
    /// The signing member unit.
    pub unit: Uuid,
    /// Name and title of the person who signed for it.
    pub signer: String,
    /// When, in milliseconds since the Unix epoch (client time).
    pub signed_at_ms: u64,
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
    /// The criterion it is a sub-criterion of (one level at most).
    #[serde(default)]
    pub parent_id: Option<Uuid>,
    /// Sort position within the content (or the parent).
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
    /// A member's signature on a covenant.
    Signature(Signature),
    /// A scoring round.
    Round(Round),
    /// A score sheet.
    ScoreSheet(ScoreSheet),
    /// A score cell.
    ScoreCell(ScoreCell),
    /// A secret ballot (its papers never sync; see `ballot`).
    Ballot(Ballot),
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const VARIANTS: &[&str] = &[
            "unit",
            "block",
            "covenant",
            "content",
            "criterion",
            "signature",
            "round",
            "score_sheet",
            "score_cell",
            "ballot",
        ];
        let (tag, body) = tagged::split(d, "type")?;
        Ok(match tag.as_str() {
            "unit" => Record::Unit(tagged::body(body)?),
            "block" => Record::Block(tagged::body(body)?),
            "covenant" => Record::Covenant(tagged::body(body)?),
            "content" => Record::Content(tagged::body(body)?),
            "criterion" => Record::Criterion(tagged::body(body)?),
            "signature" => Record::Signature(tagged::body(body)?),
            "round" => Record::Round(tagged::body(body)?),
            "score_sheet" => Record::ScoreSheet(tagged::body(body)?),
            "score_cell" => Record::ScoreCell(tagged::body(body)?),
            "ballot" => Record::Ballot(tagged::body(body)?),
            other => return Err(tagged::unknown(other, VARIANTS)),
        })
    }
}

/// A scoring round of one stage (self, cross, verification, agreed) on one covenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Round {
    /// Id.
    pub id: Uuid,
    /// The block.
    pub block_id: Uuid,
    /// The covenant version scored against.
    pub covenant_id: Uuid,
    /// Which stage.
    pub stage: Stage,
    /// Open, locked or published.
    pub state: RoundState,
    /// Who scores whom (cross-scoring only; all-score-all otherwise).
    pub assignment: Assignment,
}

/// One scorer's sheet for one subject unit in one round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreSheet {
    /// Id.
    pub id: Uuid,
    /// The block.
    pub block_id: Uuid,
    /// The round.
    pub round_id: Uuid,
    /// The scoring unit (for verification and agreed rounds: the block head's unit).
    pub scorer: Uuid,
    /// The unit scored.
    pub subject: Uuid,
    /// Whether the scorer submitted it; only submitted sheets count.
    pub submitted: bool,
}

/// One criterion's score on one sheet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreCell {
    /// Id.
    pub id: Uuid,
    /// The block.
    pub block_id: Uuid,
    /// The sheet.
    pub sheet_id: Uuid,
    /// The criterion (a leaf).
    pub criterion_id: Uuid,
    /// The value.
    pub value: CellValue,
    /// The scorer's note.
    #[serde(default)]
    pub note: String,
    /// Reference to the evidence (minh chứng): a document number, file name or link.
    #[serde(default)]
    pub evidence: String,
}

/// A secret ballot: suy tôn of next year's head or deputy, an award proposal, or a tie-break.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ballot {
    /// Id.
    pub id: Uuid,
    /// The block.
    pub block_id: Uuid,
    /// Question shown on the paper.
    pub title: String,
    /// What it decides.
    pub purpose: BallotPurpose,
    /// The options, each usually a member unit.
    pub options: Vec<BallotOption>,
    /// Most options one paper may approve.
    pub max_choices: u32,
    /// Majority rule (copied from the block's rules when created, so later rule edits do not
    /// change a count).
    pub rule: MajorityRule,
    /// Voters who may vote (member units, one delegate each).
    pub eligible: Vec<Uuid>,
    /// Voters present at the meeting.
    pub present: Vec<Uuid>,
    /// Draft, open or closed.
    pub state: BallotState,
    /// Voters who have cast a paper (a receipt: never what they chose).
    #[serde(default)]
    pub voted: Vec<Uuid>,
    /// The count, written by the server when the ballot closes; absent before.
    #[serde(default)]
    pub result: Option<Count>,
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
            Record::Signature(r) => r.id,
            Record::Round(r) => r.id,
            Record::ScoreSheet(r) => r.id,
            Record::ScoreCell(r) => r.id,
            Record::Ballot(r) => r.id,
        }
    }

    /// Trims every top-level text field (names, titles, notes): what a device typed with a
    /// stray space is stored as if it had not.
    pub fn trim_text(&mut self) {
        fn trim(s: &mut String) {
            let t = s.trim();
            if t.len() != s.len() {
                *s = t.to_owned();
            }
        }
        match self {
            Record::Unit(r) => {
                trim(&mut r.name);
                trim(&mut r.short_name);
            }
            Record::Block(r) => {
                trim(&mut r.name);
                trim(&mut r.province);
            }
            Record::Covenant(r) => {
                trim(&mut r.title);
                trim(&mut r.amendment_reason);
            }
            Record::Content(r) => {
                trim(&mut r.code);
                trim(&mut r.title);
            }
            Record::Criterion(r) => {
                trim(&mut r.code);
                trim(&mut r.title);
                trim(&mut r.guidance);
            }
            Record::Signature(r) => trim(&mut r.signer),
            Record::ScoreCell(r) => {
                trim(&mut r.note);
                trim(&mut r.evidence);
            }
            Record::Ballot(r) => trim(&mut r.title),
            Record::Round(_) | Record::ScoreSheet(_) => {}
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
            Record::Signature(_) => "signature",
            Record::Round(_) => "round",
            Record::ScoreSheet(_) => "score_sheet",
            Record::ScoreCell(_) => "score_cell",
            Record::Ballot(_) => "ballot",
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
            Record::Signature(r) => Some(r.block_id),
            Record::Round(r) => Some(r.block_id),
            Record::ScoreSheet(r) => Some(r.block_id),
            Record::ScoreCell(r) => Some(r.block_id),
            Record::Ballot(r) => Some(r.block_id),
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
