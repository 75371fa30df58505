//! Covenants: structure validation, the compiled scoring table, and the life cycle.
//!
//! A covenant is drafted, circulated, agreed, then signed by each member unit; once every
//! member has signed its status is `signed`. Only drafts and circulated covenants may be
//! edited. An amendment after signing is a new version (`amends` the old one, with a reason),
//! so scores already given against the old version keep their meaning.
//!
//! Structure: contents hold criteria; a criterion may hold one level of sub-criteria of its
//! own kind, whose maxima add up to its maximum, and then only the sub-criteria are scored.
//! The standard leaves add up to the covenant's stated total; bonus criteria never exceed the
//! bonus cap; a deduction's maximum is its points per occurrence; a disqualifier has none.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::DomainError;
use crate::idmap::IdMap;
use crate::model::{Block, Content, Covenant, CovenantStatus, Criterion, CriterionKind, Signature};
use crate::points::Points;

/// Longest code ("2.3.1"), in characters.
pub const MAX_CODE_CHARS: usize = 20;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 500;
/// Longest guidance text, in characters.
pub const MAX_GUIDANCE_CHARS: usize = 5000;

/// A covenant with everything it holds: the unit of JSON import and export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CovenantDoc {
    /// The covenant.
    pub covenant: Covenant,
    /// Its contents.
    pub contents: Vec<Content>,
    /// Its criteria and sub-criteria.
    pub criteria: Vec<Criterion>,
    /// The members' signatures.
    #[serde(default)]
    pub signatures: Vec<Signature>,
}

/// One problem in a covenant, attached to the record it is about (for display next to it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The content or criterion (or the covenant) at fault.
    pub record: Uuid,
    /// What is wrong.
    pub error: DomainError,
}

/// A scorable leaf criterion, as the tally needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// Index into `ScoringTable::criteria`.
    pub index: usize,
    /// Index into `ScoringTable::contents`.
    pub content: usize,
    /// Its kind.
    pub kind: CriterionKind,
    /// Its maximum (points per occurrence for a deduction).
    pub max: Points,
}

impl Leaf {
    /// Whether a sheet owes this criterion a value. A disqualifier applies only when marked,
    /// so leaving it unmarked is an answer, not a gap.
    pub fn needs_value(&self) -> bool {
        self.kind != CriterionKind::Disqualifier
    }
}

/// A validated covenant, ordered and indexed for scoring.
#[derive(Clone, Debug)]
pub struct ScoringTable {
    /// The covenant.
    pub covenant: Covenant,
    /// Contents by position.
    pub contents: Vec<Content>,
    /// Criteria by content, then position; each parent directly before its sub-criteria.
    pub criteria: Vec<Criterion>,
    leaves: IdMap<Uuid, Leaf>,
    by_index: Vec<Option<Leaf>>,
    step: Points,
}

impl CovenantDoc {
    /// Every structural problem, in document order; empty when the covenant is sound.
    pub fn problems(&self, step: Points) -> Vec<Problem> {
        validate(&self.covenant, &self.contents, &self.criteria, step)
    }
}

/// Every structural problem of a covenant, in document order; empty when it is sound.
pub fn validate(
    covenant: &Covenant,
    contents: &[Content],
    criteria: &[Criterion],
    step: Points,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut push = |record: Uuid, error: DomainError| out.push(Problem { record, error });
    if let Err(e) = check_text("covenant title", &covenant.title, MAX_TITLE_CHARS) {
        push(covenant.id, e);
    }
    if covenant.version > 1 && covenant.amendment_reason.trim().is_empty() {
        push(covenant.id, DomainError::AmendmentNeedsReason);
    }
    let on_step = |p: Points| p.hundredths() % step.hundredths().max(1) == 0;
    let mut codes = HashSet::new();
    let by_id: HashMap<Uuid, &Criterion> = criteria.iter().map(|c| (c.id, c)).collect();
    let content_ids: HashSet<Uuid> = contents.iter().map(|c| c.id).collect();
    let mut children: HashMap<Uuid, i64> = HashMap::new();
    let mut has_children = HashSet::new();
    for c in criteria {
        if let Some(p) = c.parent_id {
            *children.entry(p).or_default() += c.max_points.hundredths();
            has_children.insert(p);
        }
    }
    for content in contents {
        if let Err(e) = check_code(&content.code) {
            push(content.id, e);
        } else if !codes.insert(content.code.trim().to_owned()) {
            push(
                content.id,
                DomainError::DuplicateCode {
                    code: content.code.clone(),
                },
            );
        }
        if let Err(e) = check_text("content title", &content.title, MAX_TITLE_CHARS) {
            push(content.id, e);
        }
        if content.covenant_id != covenant.id {
            push(
                content.id,
                DomainError::UnknownEntity {
                    kind: "covenant",
                    id: content.covenant_id,
                },
            );
        }
        if !criteria.iter().any(|c| c.content_id == content.id) {
            push(
                content.id,
                DomainError::EmptyContent {
                    code: content.code.clone(),
                },
            );
        }
    }
    let mut standard = 0i64;
    for c in criteria {
        let code = c.code.clone();
        if let Err(e) = check_code(&c.code) {
            push(c.id, e);
        } else if !codes.insert(c.code.trim().to_owned()) {
            push(c.id, DomainError::DuplicateCode { code: code.clone() });
        }
        if let Err(e) = check_text("title", &c.title, MAX_TITLE_CHARS) {
            push(c.id, e);
        }
        if c.guidance.chars().count() > MAX_GUIDANCE_CHARS {
            push(
                c.id,
                DomainError::TextTooLong {
                    field: "guidance",
                    max: MAX_GUIDANCE_CHARS,
                },
            );
        }
        if !content_ids.contains(&c.content_id) {
            push(
                c.id,
                DomainError::UnknownEntity {
                    kind: "content",
                    id: c.content_id,
                },
            );
        }
        let max = c.max_points;
        let max_ok = match c.kind {
            CriterionKind::Disqualifier => max == Points::ZERO,
            _ => max > Points::ZERO,
        };
        if !max_ok {
            push(
                c.id,
                DomainError::InvalidMaxPoints {
                    code: code.clone(),
                    max,
                },
            );
        } else if !on_step(max) {
            push(
                c.id,
                DomainError::PointsOffStep {
                    code: code.clone(),
                    value: max,
                    step,
                },
            );
        }
        if c.kind == CriterionKind::Bonus && max > covenant.bonus_cap {
            push(
                c.id,
                DomainError::BonusCriterionOverCap {
                    code: code.clone(),
                    max,
                    cap: covenant.bonus_cap,
                },
            );
        }
        if let Some(pid) = c.parent_id {
            match by_id.get(&pid) {
                None => push(
                    c.id,
                    DomainError::UnknownEntity {
                        kind: "criterion",
                        id: pid,
                    },
                ),
                Some(parent) if parent.parent_id.is_some() => {
                    push(c.id, DomainError::NestingTooDeep { code: code.clone() })
                }
                Some(parent) if parent.kind != c.kind || parent.content_id != c.content_id => {
                    push(c.id, DomainError::ParentMismatch { code: code.clone() })
                }
                Some(_) => {}
            }
        }
        if let Some(sum) = children.get(&c.id)
            && c.kind != CriterionKind::Disqualifier
            && *sum != max.hundredths()
        {
            push(
                c.id,
                DomainError::SubcriteriaTotalMismatch {
                    code: code.clone(),
                    sum: Points::from_hundredths(*sum),
                    stated: max,
                },
            );
        }
        if c.kind == CriterionKind::Standard && !has_children.contains(&c.id) {
            standard += max.hundredths();
        }
    }
    if standard != covenant.total_points.hundredths() {
        push(
            covenant.id,
            DomainError::CovenantTotalMismatch {
                sum: Points::from_hundredths(standard),
                stated: covenant.total_points,
            },
        );
    }
    out
}

fn check_text(field: &'static str, text: &str, max: usize) -> Result<(), DomainError> {
    if text.trim().is_empty() {
        return Err(DomainError::EmptyText { field });
    }
    if text.chars().count() > max {
        return Err(DomainError::TextTooLong { field, max });
    }
    Ok(())
}

fn check_code(code: &str) -> Result<(), DomainError> {
    check_text("code", code, MAX_CODE_CHARS)
}

/// Contents by position, and criteria in document order: by content, then position, each
/// parent directly before its sub-criteria. Criteria of unknown contents are left out.
pub fn document_order<'a>(
    contents: &'a [Content],
    criteria: &'a [Criterion],
) -> (Vec<&'a Content>, Vec<&'a Criterion>) {
    let mut contents: Vec<&Content> = contents.iter().collect();
    contents.sort_by(|a, b| (a.position, &a.code).cmp(&(b.position, &b.code)));
    let by_position = |v: &mut Vec<&Criterion>| {
        v.sort_by(|a, b| (a.position, &a.code).cmp(&(b.position, &b.code)));
    };
    let mut out = Vec::with_capacity(criteria.len());
    for content in &contents {
        let mut tops: Vec<&Criterion> = criteria
            .iter()
            .filter(|c| c.content_id == content.id && c.parent_id.is_none())
            .collect();
        by_position(&mut tops);
        for top in tops {
            out.push(top);
            let mut subs: Vec<&Criterion> = criteria
                .iter()
                .filter(|c| c.parent_id == Some(top.id))
                .collect();
            by_position(&mut subs);
            out.extend(subs);
        }
    }
    (contents, out)
}

/// A content's points: the sum of its top-level standard criteria (sub-criteria add up to
/// their parent).
pub fn content_points(criteria: &[Criterion], content: Uuid) -> Points {
    Points::from_hundredths(
        criteria
            .iter()
            .filter(|c| {
                c.content_id == content
                    && c.parent_id.is_none()
                    && c.kind == CriterionKind::Standard
            })
            .map(|c| c.max_points.hundredths())
            .sum(),
    )
}

impl ScoringTable {
    /// Validates the covenant and orders it for scoring; all problems when it is unsound.
    pub fn build(doc: &CovenantDoc, step: Points) -> Result<ScoringTable, Vec<Problem>> {
        let problems = doc.problems(step);
        if !problems.is_empty() {
            return Err(problems);
        }
        let (contents, criteria) = document_order(&doc.contents, &doc.criteria);
        let contents: Vec<Content> = contents.into_iter().cloned().collect();
        let criteria: Vec<Criterion> = criteria.into_iter().cloned().collect();
        let content_index: HashMap<Uuid, usize> = contents
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i))
            .collect();
        let parents: HashSet<Uuid> = criteria.iter().filter_map(|c| c.parent_id).collect();
        let leaves: IdMap<Uuid, Leaf> = criteria
            .iter()
            .enumerate()
            .filter(|(_, c)| !parents.contains(&c.id))
            .map(|(index, c)| {
                (
                    c.id,
                    Leaf {
                        index,
                        content: content_index[&c.content_id],
                        kind: c.kind,
                        max: c.max_points,
                    },
                )
            })
            .collect();
        Ok(ScoringTable {
            covenant: doc.covenant.clone(),
            contents,
            by_index: {
                let mut v = vec![None; criteria.len()];
                for l in leaves.values() {
                    v[l.index] = Some(*l);
                }
                v
            },
            criteria,
            leaves,
            step,
        })
    }

    /// The scorable leaf for `criterion`, or why it cannot be scored.
    pub fn leaf(&self, criterion: Uuid) -> Result<Leaf, DomainError> {
        if let Some(l) = self.leaves.get(&criterion) {
            return Ok(*l);
        }
        match self.criteria.iter().find(|c| c.id == criterion) {
            Some(c) => Err(DomainError::NotALeaf {
                code: c.code.clone(),
            }),
            None => Err(DomainError::UnknownCriterion { id: criterion }),
        }
    }

    /// The leaf at `index` in `criteria`, if that criterion is a leaf.
    pub fn leaf_at(&self, index: usize) -> Option<Leaf> {
        self.by_index.get(index).copied().flatten()
    }

    /// How many scorable leaves the covenant has.
    pub fn leaf_count(&self) -> usize {
        self.leaves.len()
    }

    /// How many criteria a sheet owes a value (`Leaf::needs_value`): what "scored n/m"
    /// counts against.
    pub fn to_score(&self) -> usize {
        self.leaves.values().filter(|l| l.needs_value()).count()
    }

    /// The step points are entered in.
    pub fn step(&self) -> Points {
        self.step
    }

    /// Each content's maximum: the sum of its standard leaves.
    pub fn content_max(&self) -> Vec<Points> {
        let mut out = vec![0i64; self.contents.len()];
        for l in self.leaves.values() {
            if l.kind == CriterionKind::Standard {
                out[l.content] += l.max.hundredths();
            }
        }
        out.into_iter().map(Points::from_hundredths).collect()
    }

    /// The index of the content with the largest maximum (the first such).
    pub fn heaviest_content(&self) -> Option<usize> {
        let max = self.content_max();
        (0..max.len()).rev().max_by_key(|i| max[*i])
    }

    /// The index of the content with `code`.
    pub fn content_by_code(&self, code: &str) -> Result<usize, DomainError> {
        self.contents
            .iter()
            .position(|c| c.code.trim() == code.trim())
            .ok_or_else(|| DomainError::UnknownCode {
                code: code.to_owned(),
            })
    }
}

/// Whether contents and criteria may still be edited.
pub fn check_editable(covenant: &Covenant) -> Result<(), DomainError> {
    match covenant.status {
        CovenantStatus::Draft | CovenantStatus::Circulated => Ok(()),
        s => Err(DomainError::CovenantNotEditable { status: s.as_str() }),
    }
}

/// The status after moving to `to`: draft ⇄ circulated → agreed, or draft → agreed; `signed`
/// is reached by signatures, never set by hand.
pub fn move_to(covenant: &Covenant, to: CovenantStatus) -> Result<CovenantStatus, DomainError> {
    use CovenantStatus::*;
    match (covenant.status, to) {
        (Draft, Circulated) | (Circulated, Draft) | (Draft | Circulated, Agreed) => Ok(to),
        (from, to) => Err(DomainError::InvalidTransition {
            from: from.as_str(),
            to: to.as_str(),
        }),
    }
}

/// Checks that `unit` may sign `covenant` now; returns the status after its signature.
pub fn check_signature(
    covenant: &Covenant,
    block: &Block,
    existing: &[Signature],
    unit: Uuid,
) -> Result<CovenantStatus, DomainError> {
    if covenant.status != CovenantStatus::Agreed {
        return Err(DomainError::InvalidTransition {
            from: covenant.status.as_str(),
            to: CovenantStatus::Signed.as_str(),
        });
    }
    if !block.is_member(unit) {
        return Err(DomainError::UnitNotInBlock { unit });
    }
    let signed: HashSet<Uuid> = existing
        .iter()
        .filter(|s| s.covenant_id == covenant.id)
        .map(|s| s.unit)
        .collect();
    if signed.contains(&unit) {
        return Err(DomainError::AlreadySigned { unit });
    }
    let all = block
        .members
        .iter()
        .all(|m| *m == unit || signed.contains(m));
    Ok(if all {
        CovenantStatus::Signed
    } else {
        CovenantStatus::Agreed
    })
}

/// A new draft version amending a signed covenant, with fresh ids from `new_id`.
pub fn amend(
    doc: &CovenantDoc,
    reason: &str,
    mut new_id: impl FnMut() -> Uuid,
) -> Result<CovenantDoc, DomainError> {
    if doc.covenant.status != CovenantStatus::Signed {
        return Err(DomainError::InvalidTransition {
            from: doc.covenant.status.as_str(),
            to: "draft",
        });
    }
    if reason.trim().is_empty() {
        return Err(DomainError::AmendmentNeedsReason);
    }
    let covenant = Covenant {
        id: new_id(),
        status: CovenantStatus::Draft,
        version: doc.covenant.version + 1,
        amends: Some(doc.covenant.id),
        amendment_reason: reason.trim().to_owned(),
        ..doc.covenant.clone()
    };
    let mut ids: HashMap<Uuid, Uuid> = HashMap::new();
    let contents = doc
        .contents
        .iter()
        .map(|c| {
            let id = new_id();
            ids.insert(c.id, id);
            Content {
                id,
                covenant_id: covenant.id,
                ..c.clone()
            }
        })
        .collect();
    for c in &doc.criteria {
        ids.insert(c.id, new_id());
    }
    let criteria = doc
        .criteria
        .iter()
        .map(|c| Criterion {
            id: ids[&c.id],
            content_id: ids.get(&c.content_id).copied().unwrap_or(c.content_id),
            parent_id: c.parent_id.map(|p| ids.get(&p).copied().unwrap_or(p)),
            ..c.clone()
        })
        .collect();
    Ok(CovenantDoc {
        covenant,
        contents,
        criteria,
        signatures: Vec::new(),
    })
}
