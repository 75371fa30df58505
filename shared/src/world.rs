//! The rules a mutation must pass, checked against the records around it.
//!
//! `World` holds the records a batch of mutations touches (the targets and the non-cell
//! records of their blocks) and applies mutations one after another, each seeing the ones
//! before it. For every mutation it checks, in this order: the target exists (or is new), the
//! author's rights (`access`), the shape of the merged record, then the domain rule of its
//! kind: covenants editable only as drafts and moving draft → circulated → agreed, and signed
//! by signatures; rounds open → locked → published; sheets and cells written only while their
//! round is open and by their scorer; values checked against the covenant's scoring table;
//! corrections only after lock and with a reason; ballots counted by the server when they
//! close, papers kept apart from voters. On success the world holds the new state; on error
//! it is unchanged.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use uuid::Uuid;

use crate::access::Principal;
use crate::ballot::{self, BallotPaper, BallotState};
use crate::covenant::{self, CovenantDoc, ScoringTable};
use crate::error::DomainError;
use crate::hlc::Hlc;
use crate::model::{Ballot, Block, Covenant, CovenantStatus, Record, Round, ScoreSheet};
use crate::mutation::{self, FieldClocks, Merged, Mutation, Op};
use crate::round::{RoundState, Stage};
use crate::sheet;

/// Longest unit, block or covenant name.
pub const MAX_NAME_CHARS: usize = 300;

/// A stored record with its field clocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The record.
    pub record: Record,
    /// The stamp that last wrote each field.
    pub clocks: FieldClocks,
    /// Whether it was deleted (kept as a tombstone so deletes sync).
    pub deleted: bool,
}

/// One record written by a mutation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    /// The record after the mutation.
    pub record: Record,
    /// Its field clocks.
    pub clocks: FieldClocks,
    /// Whether it is now deleted.
    pub deleted: bool,
    /// The changed fields before (JSON; `null` for a creation).
    pub old: serde_json::Value,
    /// The changed fields after (JSON; `null` for a deletion, and for a creation, whose new
    /// value is the whole record).
    pub new: serde_json::Value,
}

/// What one applied mutation changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The records written: the target first, then any record it changed as a consequence
    /// (a covenant becoming signed with its last signature).
    pub writes: Vec<Write>,
    /// Whether the mutation's values are now the record's (false when newer edits won).
    pub won: bool,
    /// A correction's reason, for the audit log.
    pub reason: Option<String>,
    /// A cast paper, to be stored with no voter.
    pub paper: Option<(Uuid, BallotPaper)>,
}

/// The records a batch of mutations is checked against.
#[derive(Clone, Default, Debug)]
pub struct World {
    entries: HashMap<Uuid, Entry>,
    /// Non-cell records per block, for sheets, signatures and covenant documents.
    by_block: HashMap<Uuid, Vec<Uuid>>,
    /// Scoring tables per covenant, built on first use and dropped when the covenant changes.
    tables: HashMap<Uuid, Arc<ScoringTable>>,
    /// Papers cast per ballot (the server's, for the count at closing; never synced).
    papers: HashMap<Uuid, Vec<BallotPaper>>,
}

fn forbidden(action: &'static str) -> DomainError {
    DomainError::Forbidden { action }
}

fn unknown(kind: &'static str, id: Uuid) -> DomainError {
    DomainError::UnknownEntity { kind, id }
}

fn check_name(field: &'static str, text: &str) -> Result<(), DomainError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(DomainError::EmptyText { field });
    }
    if t.chars().count() > MAX_NAME_CHARS {
        return Err(DomainError::TextTooLong {
            field,
            max: MAX_NAME_CHARS,
        });
    }
    Ok(())
}

/// Earliest signing time accepted: 1 January 2020 (UTC).
pub const EARLIEST_SIGNING_MS: u64 = 1_577_836_800_000;

/// A signature's time is the device's clock when it signed, printed on the covenant: it must
/// lie between 2020 and a day after the mutation's stamp (itself bounded by the server's
/// clock), so no covenant prints the year 584,556,019.
fn check_signing_time(signed_at_ms: u64, hlc: Hlc) -> Result<(), DomainError> {
    if signed_at_ms < EARLIEST_SIGNING_MS || signed_at_ms > hlc.ms.saturating_add(86_400_000) {
        return Err(DomainError::InvalidField {
            reason: "signed_at_ms: the signing time must be the time the unit signed".into(),
        });
    }
    Ok(())
}

impl World {
    /// An empty world.
    pub fn new() -> World {
        World::default()
    }

    /// A world holding `records` as they are (no stamps, none deleted): what documents and
    /// checks computed from a device's or a page's records start from.
    pub fn of_records<'a>(records: impl IntoIterator<Item = &'a Record>) -> World {
        let mut world = World::new();
        for record in records {
            world.insert(Entry {
                record: record.clone(),
                clocks: FieldClocks::default(),
                deleted: false,
            });
        }
        world
    }

    /// Adds a stored record (loading).
    pub fn insert(&mut self, entry: Entry) {
        let id = entry.record.id();
        if let Some(b) = entry.record.scope()
            && !matches!(entry.record, Record::ScoreCell(_))
            && !self.entries.contains_key(&id)
        {
            self.by_block.entry(b).or_default().push(id);
        }
        self.entries.insert(id, entry);
    }

    /// Adds the papers already cast in a ballot (loading, server side).
    pub fn insert_papers(&mut self, ballot: Uuid, papers: Vec<BallotPaper>) {
        self.papers.insert(ballot, papers);
    }

    /// A stored record, deleted or not.
    pub fn get(&self, id: Uuid) -> Option<&Entry> {
        self.entries.get(&id)
    }

    fn live(&self, id: Uuid) -> Option<&Record> {
        self.entries
            .get(&id)
            .filter(|e| !e.deleted)
            .map(|e| &e.record)
    }

    fn block(&self, id: Uuid) -> Result<&Block, DomainError> {
        match self.live(id) {
            Some(Record::Block(b)) => Ok(b),
            _ => Err(unknown("block", id)),
        }
    }

    fn covenant(&self, id: Uuid) -> Result<&Covenant, DomainError> {
        match self.live(id) {
            Some(Record::Covenant(c)) => Ok(c),
            _ => Err(unknown("covenant", id)),
        }
    }

    fn round(&self, id: Uuid) -> Result<&Round, DomainError> {
        match self.live(id) {
            Some(Record::Round(r)) => Ok(r),
            _ => Err(unknown("round", id)),
        }
    }

    fn sheet(&self, id: Uuid) -> Result<&ScoreSheet, DomainError> {
        match self.live(id) {
            Some(Record::ScoreSheet(s)) => Ok(s),
            _ => Err(unknown("score sheet", id)),
        }
    }

    /// The live non-cell records of a block.
    pub fn block_records(&self, block: Uuid) -> impl Iterator<Item = &Record> {
        self.by_block
            .get(&block)
            .into_iter()
            .flatten()
            .filter_map(|id| self.live(*id))
    }

    /// Takes out every non-cell entry of a block, tombstones included (a server keeps them
    /// for its next batch).
    pub fn take_block(&mut self, block: Uuid) -> Vec<Entry> {
        self.by_block
            .remove(&block)
            .into_iter()
            .flatten()
            .filter_map(|id| self.entries.remove(&id))
            .collect()
    }

    /// A covenant with its contents, criteria and signatures.
    pub fn covenant_doc(&self, covenant_id: Uuid) -> Result<CovenantDoc, DomainError> {
        let cov = self.covenant(covenant_id)?.clone();
        let mut doc = CovenantDoc {
            covenant: cov.clone(),
            contents: Vec::new(),
            criteria: Vec::new(),
            signatures: Vec::new(),
        };
        for r in self.block_records(cov.block_id) {
            match r {
                Record::Content(c) if c.covenant_id == cov.id => doc.contents.push(c.clone()),
                Record::Signature(s) if s.covenant_id == cov.id => doc.signatures.push(s.clone()),
                _ => {}
            }
        }
        for r in self.block_records(cov.block_id) {
            if let Record::Criterion(c) = r
                && doc.contents.iter().any(|k| k.id == c.content_id)
            {
                doc.criteria.push(c.clone());
            }
        }
        Ok(doc)
    }

    /// The covenant's scoring table, built once per world until the covenant changes.
    pub fn table(&mut self, covenant_id: Uuid) -> Result<Arc<ScoringTable>, DomainError> {
        if let Some(t) = self.tables.get(&covenant_id) {
            return Ok(Arc::clone(t));
        }
        let doc = self.covenant_doc(covenant_id)?;
        let step = self.block(doc.covenant.block_id)?.rules.point_step;
        let table = ScoringTable::build(&doc, step).map_err(first_problem)?;
        let table = Arc::new(table);
        self.tables.insert(covenant_id, Arc::clone(&table));
        Ok(table)
    }

    /// Checks `m` by `who` and, if it passes, applies it to the world.
    pub fn apply(&mut self, m: &Mutation, who: &Principal) -> Result<Applied, DomainError> {
        // Every string of every operation is bounded and visible, whatever its field.
        let op = serde_json::to_value(&m.op).map_err(|e| DomainError::InvalidField {
            reason: e.to_string(),
        })?;
        crate::limits::check_strings(m.op.name(), &op)?;
        let applied = match &m.op {
            Op::Create { record } => self.create(m.hlc, record, who)?,
            Op::Update { id, fields } => self.update(m.hlc, *id, fields, who)?,
            Op::Delete { id } => self.delete(*id, who)?,
            Op::Correct {
                cell_id,
                value,
                reason,
            } => self.correct(m, *cell_id, *value, reason, who)?,
            Op::CastVote { ballot_id, paper } => self.vote(m.hlc, *ballot_id, paper, who)?,
        };
        for w in &applied.writes {
            self.store(w);
        }
        if let Some((ballot, paper)) = &applied.paper {
            self.papers.entry(*ballot).or_default().push(paper.clone());
        }
        Ok(applied)
    }

    /// Sets a record as a device's view now shows it (`None`: gone), so a copy of the view
    /// follows each sync without being built again from every record.
    pub fn set_view(&mut self, id: Uuid, record: Option<&Record>) {
        let (record, deleted) = match (record, self.entries.get(&id)) {
            (Some(r), _) => (r.clone(), false),
            (None, Some(e)) if !e.deleted => (e.record.clone(), true),
            (None, _) => return,
        };
        self.store(&Write {
            record,
            clocks: FieldClocks::default(),
            deleted,
            old: serde_json::Value::Null,
            new: serde_json::Value::Null,
        });
    }

    fn store(&mut self, w: &Write) {
        if let Some(b) = w.record.scope()
            && matches!(
                w.record,
                Record::Covenant(_) | Record::Content(_) | Record::Criterion(_) | Record::Block(_)
            )
        {
            // A covenant's table depends on its block, contents and criteria.
            let stale: Vec<Uuid> = self
                .block_records(b)
                .filter_map(|r| match r {
                    Record::Covenant(c) => Some(c.id),
                    _ => None,
                })
                .collect();
            for c in stale {
                self.tables.remove(&c);
            }
            self.tables.remove(&w.record.id());
        }
        self.insert(Entry {
            record: w.record.clone(),
            clocks: w.clocks.clone(),
            deleted: w.deleted,
        });
    }

    fn create(
        &mut self,
        hlc: Hlc,
        record: &Record,
        who: &Principal,
    ) -> Result<Applied, DomainError> {
        let record = &mutation::normalised(record);
        if let Some(e) = self.get(record.id()) {
            if e.deleted {
                return Err(DomainError::AlreadyExists { id: record.id() });
            }
            // A replayed create: the same record's editable fields become an update.
            let fields = mutation::fixed_fields_match(&e.record, record)?;
            return self.update(hlc, record.id(), &fields, who);
        }
        self.check(None, record, who)?;
        if let Record::Signature(s) = record {
            check_signing_time(s.signed_at_ms, hlc)?;
        }
        let mut writes = vec![Write {
            record: record.clone(),
            clocks: mutation::created_clocks(record, hlc),
            deleted: false,
            old: serde_json::Value::Null,
            new: serde_json::Value::Null,
        }];
        if let Record::Signature(s) = record {
            writes.extend(self.sign(hlc, s.covenant_id, s.unit)?);
        }
        Ok(Applied {
            writes,
            won: true,
            reason: None,
            paper: None,
        })
    }

    fn update(
        &mut self,
        hlc: Hlc,
        id: Uuid,
        fields: &BTreeMap<String, serde_json::Value>,
        who: &Principal,
    ) -> Result<Applied, DomainError> {
        let entry = self
            .get(id)
            .filter(|e| !e.deleted)
            .ok_or(unknown("record", id))?;
        let merged = mutation::merge_fields(&entry.record, &entry.clocks, hlc, fields)?;
        let old = entry.record.clone();
        // Rights are checked on the stored record and on the result, so nobody moves a record
        // out of or into a block they may not write.
        self.check(Some(&old), &merged.record, who)?;
        let mut merged = merged;
        if let (Record::Ballot(before), Record::Ballot(after)) = (&old, &mut merged.record)
            && before.state != BallotState::Closed
            && after.state == BallotState::Closed
        {
            // The count happens here, once, from the papers the server holds.
            let papers = self.papers.get(&after.id).cloned().unwrap_or_default();
            let count = ballot::count_ballot(after, &papers)?;
            merged.new["result"] = serde_json::to_value(&count).unwrap_or_default();
            after.result = Some(count);
        }
        Ok(Applied {
            won: merged.won,
            writes: vec![write(merged)],
            reason: None,
            paper: None,
        })
    }

    fn delete(&mut self, id: Uuid, who: &Principal) -> Result<Applied, DomainError> {
        let entry = self
            .get(id)
            .filter(|e| !e.deleted)
            .ok_or(unknown("record", id))?
            .clone();
        let block = entry.record.scope().ok_or(forbidden("delete a unit"))?;
        match &entry.record {
            Record::Content(c) => {
                self.check_covenant_edit(c.covenant_id, block, who)?;
                let has_criteria = self
                    .block_records(block)
                    .any(|r| matches!(r, Record::Criterion(k) if k.content_id == c.id));
                if has_criteria {
                    return Err(DomainError::InvalidField {
                        reason: "delete the content's criteria first".into(),
                    });
                }
            }
            Record::Criterion(c) => {
                let cov = self.content_covenant(c.content_id)?;
                self.check_covenant_edit(cov, block, who)?;
                let has_subs = self
                    .block_records(block)
                    .any(|r| matches!(r, Record::Criterion(k) if k.parent_id == Some(c.id)));
                if has_subs {
                    return Err(DomainError::InvalidField {
                        reason: "delete the sub-criteria first".into(),
                    });
                }
            }
            Record::Ballot(b) => {
                if !who.manages(block) {
                    return Err(forbidden("delete a ballot"));
                }
                if b.state != BallotState::Draft {
                    return Err(DomainError::InvalidTransition {
                        from: b.state.as_str(),
                        to: "deleted",
                    });
                }
            }
            Record::ScoreCell(c) => {
                let sheet = self.sheet(c.sheet_id)?.clone();
                self.check_sheet_write(&sheet, who)?;
            }
            // A unit may withdraw its signature until every member has signed; then the
            // covenant is complete and a change needs an amendment.
            Record::Signature(s) => {
                if !(who.acts_for(s.block_id, s.unit) || who.manages(s.block_id)) {
                    return Err(forbidden("withdraw another unit's signature"));
                }
                if self.covenant(s.covenant_id)?.status == CovenantStatus::Signed {
                    return Err(DomainError::InvalidTransition {
                        from: "signed",
                        to: "withdrawn",
                    });
                }
            }
            _ => return Err(forbidden("delete this kind of record")),
        }
        let old = serde_json::to_value(&entry.record).unwrap_or_default();
        Ok(Applied {
            writes: vec![Write {
                record: entry.record,
                clocks: entry.clocks,
                deleted: true,
                old,
                new: serde_json::Value::Null,
            }],
            won: true,
            reason: None,
            paper: None,
        })
    }

    fn correct(
        &mut self,
        m: &Mutation,
        cell_id: Uuid,
        value: sheet::CellValue,
        reason: &str,
        who: &Principal,
    ) -> Result<Applied, DomainError> {
        let entry = self
            .get(cell_id)
            .filter(|e| !e.deleted)
            .ok_or(unknown("score cell", cell_id))?
            .clone();
        let Record::ScoreCell(cell) = &entry.record else {
            return Err(DomainError::WrongKind {
                id: cell_id,
                expected: "score_cell",
                found: entry.record.record_type(),
            });
        };
        if !who.manages(cell.block_id) {
            return Err(forbidden("correct a score after lock"));
        }
        let sheet = self.sheet(cell.sheet_id)?.clone();
        let round = self.round(sheet.round_id)?.clone();
        if round.state == RoundState::Open {
            return Err(DomainError::RoundNotLocked);
        }
        if round.state == RoundState::Published {
            return Err(DomainError::RoundLocked {
                state: round.state.as_str(),
            });
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(DomainError::CorrectionNeedsReason);
        }
        let table = self.table(round.covenant_id)?;
        sheet::validate_cell(&table, cell.criterion_id, value)?;
        let merged = mutation::apply(m, Some(&entry.record), &entry.clocks)?;
        Ok(Applied {
            won: merged.won,
            writes: vec![write(merged)],
            reason: Some(reason.to_owned()),
            paper: None,
        })
    }

    fn vote(
        &mut self,
        hlc: Hlc,
        ballot_id: Uuid,
        paper: &BallotPaper,
        who: &Principal,
    ) -> Result<Applied, DomainError> {
        let entry = self
            .get(ballot_id)
            .filter(|e| !e.deleted)
            .ok_or(unknown("ballot", ballot_id))?
            .clone();
        let Record::Ballot(b) = &entry.record else {
            return Err(unknown("ballot", ballot_id));
        };
        let voter = who.unit_in(b.block_id).ok_or(forbidden("vote"))?;
        ballot::validate_vote(b, voter, b.voted.contains(&voter), paper)?;
        let mut next: Ballot = b.clone();
        next.voted.push(voter);
        // Sorted, so the list does not tell the order in which units voted.
        next.voted.sort_unstable();
        let mut clocks = entry.clocks.clone();
        // The list's stamp names no device: who voted last is nobody's business.
        clocks.insert(
            "voted".into(),
            Hlc {
                node: Uuid::nil(),
                ..hlc
            },
        );
        Ok(Applied {
            writes: vec![Write {
                old: serde_json::json!({ "voted": b.voted.len() }),
                new: serde_json::json!({ "voted": next.voted.len() }),
                record: Record::Ballot(next),
                clocks,
                deleted: false,
            }],
            won: true,
            reason: None,
            paper: Some((ballot_id, paper.clone())),
        })
    }

    /// The covenant status after `unit` signs, as a write when it changes.
    fn sign(
        &mut self,
        hlc: Hlc,
        covenant_id: Uuid,
        unit: Uuid,
    ) -> Result<Option<Write>, DomainError> {
        let cov = self.covenant(covenant_id)?.clone();
        let block = self.block(cov.block_id)?.clone();
        let doc = self.covenant_doc(covenant_id)?;
        let status = covenant::check_signature(&cov, &block, &doc.signatures, unit)?;
        if status == cov.status {
            return Ok(None);
        }
        let mut clocks = self
            .get(covenant_id)
            .map(|e| e.clocks.clone())
            .unwrap_or_default();
        clocks.insert("status".into(), hlc);
        Ok(Some(Write {
            old: serde_json::json!({ "status": cov.status }),
            new: serde_json::json!({ "status": status }),
            record: Record::Covenant(Covenant { status, ..cov }),
            clocks,
            deleted: false,
        }))
    }

    fn content_covenant(&self, content: Uuid) -> Result<Uuid, DomainError> {
        match self.live(content) {
            Some(Record::Content(c)) => Ok(c.covenant_id),
            _ => Err(unknown("content", content)),
        }
    }

    fn check_covenant_edit(
        &self,
        covenant_id: Uuid,
        block: Uuid,
        who: &Principal,
    ) -> Result<(), DomainError> {
        if !who.manages(block) {
            return Err(forbidden("edit the covenant"));
        }
        let cov = self.covenant(covenant_id)?;
        if cov.block_id != block {
            return Err(unknown("covenant", covenant_id));
        }
        covenant::check_editable(cov)
    }

    /// Whether `who` may write cells of `sheet` now.
    fn check_sheet_write(&self, sheet: &ScoreSheet, who: &Principal) -> Result<(), DomainError> {
        let round = self.round(sheet.round_id)?;
        let owner = match round.stage {
            Stage::SelfScoring | Stage::CrossScoring => who.acts_for(sheet.block_id, sheet.scorer),
            Stage::Verification | Stage::Agreed => who.manages(sheet.block_id),
        };
        if !owner {
            return Err(forbidden("write another unit's score sheet"));
        }
        round.state.check_writable()?;
        if sheet.submitted {
            return Err(DomainError::SheetSubmitted);
        }
        Ok(())
    }

    /// The rule of `new`'s kind (with `old` for an update), rights included.
    fn check(
        &mut self,
        old: Option<&Record>,
        new: &Record,
        who: &Principal,
    ) -> Result<(), DomainError> {
        if let Some(o) = old
            && o.scope() != new.scope()
        {
            return Err(DomainError::ReadOnlyField {
                field: "block_id".into(),
            });
        }
        match new {
            Record::Unit(u) => {
                if !who.admin {
                    return Err(forbidden("manage member units"));
                }
                check_name("name", &u.name)?;
                check_name("short name", &u.short_name)
            }
            Record::Block(b) => {
                let allowed = match old {
                    None => who.admin,
                    Some(_) => who.manages(b.id),
                };
                if !allowed {
                    return Err(forbidden("manage the block"));
                }
                if let Some(Record::Block(before)) = old {
                    self.check_frozen(before, b)?;
                }
                check_name("name", &b.name)?;
                b.rules.validate(b.members.len())?;
                b.meeting.validate(b)?;
                for u in [b.head, b.deputy].into_iter().flatten() {
                    if !b.is_member(u) {
                        return Err(DomainError::UnitNotInBlock { unit: u });
                    }
                }
                Ok(())
            }
            Record::Covenant(c) => self.check_covenant(old, c, who),
            Record::Content(c) => {
                self.check_covenant_edit(c.covenant_id, c.block_id, who)?;
                mutation::validate_title(&c.title)?;
                if c.code.trim().is_empty() {
                    return Err(DomainError::EmptyText { field: "code" });
                }
                Ok(())
            }
            Record::Criterion(c) => {
                let cov = self.content_covenant(c.content_id)?;
                self.check_covenant_edit(cov, c.block_id, who)?;
                mutation::validate_title(&c.title)?;
                if c.code.trim().is_empty() {
                    return Err(DomainError::EmptyText { field: "code" });
                }
                if c.max_points < crate::Points::ZERO {
                    return Err(DomainError::InvalidMaxPoints {
                        code: c.code.clone(),
                        max: c.max_points,
                    });
                }
                if let Some(p) = c.parent_id {
                    match self.live(p) {
                        Some(Record::Criterion(parent)) => {
                            if parent.parent_id.is_some() {
                                return Err(DomainError::NestingTooDeep {
                                    code: c.code.clone(),
                                });
                            }
                            if parent.content_id != c.content_id || p == c.id {
                                return Err(DomainError::ParentMismatch {
                                    code: c.code.clone(),
                                });
                            }
                        }
                        _ => return Err(unknown("criterion", p)),
                    }
                }
                Ok(())
            }
            Record::Signature(s) => {
                if old.is_some() {
                    return Err(DomainError::ReadOnlyField {
                        field: "signature".into(),
                    });
                }
                if !(who.acts_for(s.block_id, s.unit) || who.manages(s.block_id)) {
                    return Err(forbidden("sign for another unit"));
                }
                check_name("signer", &s.signer)?;
                if self.covenant(s.covenant_id)?.block_id != s.block_id {
                    return Err(unknown("covenant", s.covenant_id));
                }
                Ok(())
            }
            Record::Round(r) => self.check_round(old, r, who),
            Record::ScoreSheet(s) => self.check_score_sheet(old, s, who),
            Record::ScoreCell(c) => {
                let sheet = self.sheet(c.sheet_id)?.clone();
                if sheet.block_id != c.block_id {
                    return Err(unknown("score sheet", c.sheet_id));
                }
                self.check_sheet_write(&sheet, who)?;
                let covenant_id = self.round(sheet.round_id)?.covenant_id;
                if let Some(Record::ScoreCell(o)) = old
                    && o.value == c.value
                {
                    // Only the note or evidence changed.
                    return sheet::validate_note(c);
                }
                let table = self.table(covenant_id)?;
                sheet::validate_cell(&table, c.criterion_id, c.value)?;
                sheet::validate_note(c)
            }
            Record::Ballot(b) => self.check_ballot(old, b, who),
        }
    }

    fn check_covenant(
        &mut self,
        old: Option<&Record>,
        c: &Covenant,
        who: &Principal,
    ) -> Result<(), DomainError> {
        if !who.manages(c.block_id) {
            return Err(forbidden("manage the covenant"));
        }
        self.block(c.block_id)?;
        check_name("title", &c.title)?;
        let Some(Record::Covenant(before)) = old else {
            if c.status != CovenantStatus::Draft {
                return Err(DomainError::InvalidTransition {
                    from: "new",
                    to: c.status.as_str(),
                });
            }
            if c.amends.is_some() && c.amendment_reason.trim().is_empty() {
                return Err(DomainError::AmendmentNeedsReason);
            }
            return Ok(());
        };
        let content_changed = before.title != c.title
            || before.total_points != c.total_points
            || before.bonus_cap != c.bonus_cap
            || before.amendment_reason != c.amendment_reason;
        if content_changed {
            covenant::check_editable(before)?;
        }
        if before.status != c.status {
            covenant::move_to(before, c.status)?;
            if matches!(
                c.status,
                CovenantStatus::Circulated | CovenantStatus::Agreed
            ) {
                // A covenant goes out only when it adds up.
                let mut doc = self.covenant_doc(c.id)?;
                doc.covenant = c.clone();
                let step = self.block(c.block_id)?.rules.point_step;
                ScoringTable::build(&doc, step).map_err(first_problem)?;
            }
        }
        Ok(())
    }

    /// Once a round is locked or published, the rules and members its results were computed
    /// with stay as they are (a locked round may be reopened first; a published one is final).
    fn check_frozen(&self, before: &Block, after: &Block) -> Result<(), DomainError> {
        let field = if before.rules != after.rules {
            "rules"
        } else if before.members != after.members {
            "members"
        } else {
            return Ok(());
        };
        let frozen = self
            .block_records(after.id)
            .filter_map(|r| match r {
                Record::Round(r) if r.state != RoundState::Open => Some(r.state),
                _ => None,
            })
            .max_by_key(|s| *s == RoundState::Published);
        match frozen {
            Some(state) => Err(DomainError::ResultsFrozen {
                field,
                state: state.as_str(),
            }),
            None => Ok(()),
        }
    }

    fn check_round(
        &mut self,
        old: Option<&Record>,
        r: &Round,
        who: &Principal,
    ) -> Result<(), DomainError> {
        if !who.manages(r.block_id) {
            return Err(forbidden("run scoring rounds"));
        }
        let block = self.block(r.block_id)?.clone();
        let cov = self.covenant(r.covenant_id)?;
        if cov.block_id != r.block_id {
            return Err(unknown("covenant", r.covenant_id));
        }
        if !matches!(cov.status, CovenantStatus::Agreed | CovenantStatus::Signed) {
            return Err(DomainError::InvalidTransition {
                from: cov.status.as_str(),
                to: "scoring",
            });
        }
        match old {
            None => {
                if r.state != RoundState::Open {
                    return Err(DomainError::InvalidTransition {
                        from: "new",
                        to: r.state.as_str(),
                    });
                }
            }
            Some(Record::Round(before)) => {
                if before.state != r.state {
                    before.state.move_to(r.state)?;
                }
                if before.assignment != r.assignment {
                    before.state.check_writable()?;
                    let has_sheets = self
                        .block_records(r.block_id)
                        .any(|x| matches!(x, Record::ScoreSheet(s) if s.round_id == r.id));
                    if has_sheets {
                        return Err(DomainError::InvalidDraw {
                            reason: "sheets exist already; the draw cannot change",
                        });
                    }
                }
            }
            Some(_) => return Err(unknown("round", r.id)),
        }
        r.assignment.check(&block.members)
    }

    fn check_score_sheet(
        &mut self,
        old: Option<&Record>,
        s: &ScoreSheet,
        who: &Principal,
    ) -> Result<(), DomainError> {
        let round = self.round(s.round_id)?.clone();
        if round.block_id != s.block_id {
            return Err(unknown("round", s.round_id));
        }
        match old {
            None => {
                let mut probe = s.clone();
                probe.submitted = false;
                self.check_sheet_write(&probe, who)?;
                let block = self.block(s.block_id)?.clone();
                let others: Vec<ScoreSheet> = self
                    .block_records(s.block_id)
                    .filter_map(|r| match r {
                        Record::ScoreSheet(o) if o.round_id == s.round_id => Some(o.clone()),
                        _ => None,
                    })
                    .collect();
                sheet::validate_sheet(&block, &round, s, &others)
            }
            Some(Record::ScoreSheet(before)) => {
                if before.submitted && !s.submitted {
                    // Reopening a submitted sheet is the secretary's decision.
                    if !who.manages(s.block_id) {
                        return Err(forbidden("reopen a submitted sheet"));
                    }
                    return round.state.check_writable();
                }
                self.check_sheet_write(before, who)
            }
            Some(_) => Err(unknown("score sheet", s.id)),
        }
    }

    fn check_ballot(
        &mut self,
        old: Option<&Record>,
        b: &Ballot,
        who: &Principal,
    ) -> Result<(), DomainError> {
        if !who.manages(b.block_id) {
            return Err(forbidden("run ballots"));
        }
        let block = self.block(b.block_id)?.clone();
        ballot::validate_ballot(b, &block)?;
        match old {
            None => {
                if b.state != BallotState::Draft && b.state != BallotState::Open {
                    return Err(DomainError::InvalidTransition {
                        from: "new",
                        to: b.state.as_str(),
                    });
                }
                if !b.voted.is_empty() || b.result.is_some() {
                    return Err(DomainError::ReadOnlyField {
                        field: "voted".into(),
                    });
                }
                Ok(())
            }
            Some(Record::Ballot(before)) => {
                let frozen = before.title != b.title
                    || before.options != b.options
                    || before.max_choices != b.max_choices
                    || before.eligible != b.eligible;
                if frozen && before.state != BallotState::Draft {
                    return Err(DomainError::InvalidTransition {
                        from: before.state.as_str(),
                        to: "edited",
                    });
                }
                // Who is present is the base of the majority: fixed once voting starts, so a
                // count cannot be turned by changing it (75 % of 4 is not 75 % of 9).
                if before.present != b.present && before.state != BallotState::Draft {
                    return Err(DomainError::InvalidTransition {
                        from: before.state.as_str(),
                        to: "edited",
                    });
                }
                if before.state != b.state {
                    before.state.move_to(b.state)?;
                }
                Ok(())
            }
            Some(_) => Err(unknown("ballot", b.id)),
        }
    }
}

fn write(m: Merged) -> Write {
    Write {
        record: m.record,
        clocks: m.clocks,
        deleted: false,
        old: m.old,
        new: m.new,
    }
}

fn first_problem(problems: Vec<covenant::Problem>) -> DomainError {
    problems.into_iter().next().map_or(
        DomainError::InvalidField {
            reason: "the covenant is invalid".into(),
        },
        |p| p.error,
    )
}
