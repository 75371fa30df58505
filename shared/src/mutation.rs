//! Mutations: the only way a record changes, on a device and on the server alike.
//!
//! A mutation has a client-generated id (the server applies it at most once), the author's
//! hybrid-logical-clock stamp and one operation. `apply` is the whole rule: it validates the
//! operation against the record and merges it last-writer-wins per field, comparing the
//! stamp with the one that last wrote that field. An older stamp still "applies" (it is
//! acknowledged and audited) but leaves the newer value in place, so every replica that
//! applies the same set of mutations, in any order, ends with the same record.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::DomainError;
use crate::hlc::Hlc;
use crate::model::Record;

pub use crate::covenant::MAX_TITLE_CHARS;

/// One change made by one device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    /// Client-generated UUIDv7; the server's idempotency key.
    pub id: Uuid,
    /// The author's clock stamp; its node is the device.
    pub hlc: Hlc,
    /// What to change.
    pub op: Op,
}

/// An operation on one record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// Rename a criterion.
    SetCriterionTitle {
        /// The criterion.
        criterion_id: Uuid,
        /// The new title.
        title: String,
    },
}

impl Op {
    /// The id of the record this operation changes.
    pub fn target(&self) -> Uuid {
        match self {
            Op::SetCriterionTitle { criterion_id, .. } => *criterion_id,
        }
    }

    /// The kind of record this operation changes.
    pub fn target_kind(&self) -> &'static str {
        match self {
            Op::SetCriterionTitle { .. } => "criterion",
        }
    }
}

/// For each field of a record, the stamp of the mutation that last wrote it.
pub type FieldClocks = BTreeMap<String, Hlc>;

/// The result of applying a mutation to a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The record after the merge.
    pub record: Record,
    /// The field clocks after the merge.
    pub clocks: FieldClocks,
    /// The field the operation addressed.
    pub field: &'static str,
    /// Its value before.
    pub old: serde_json::Value,
    /// Its value after (the old one when a newer write already won).
    pub new: serde_json::Value,
    /// Whether this mutation's value is now the record's.
    pub won: bool,
}

/// Validates `mutation` against `record` and merges it last-writer-wins per field.
///
/// `record` is `None` when the target does not exist; that is an error, never a creation.
pub fn apply(
    mutation: &Mutation,
    record: Option<&Record>,
    clocks: &FieldClocks,
) -> Result<Applied, DomainError> {
    let op = &mutation.op;
    let record = record.ok_or(DomainError::UnknownEntity {
        kind: op.target_kind(),
        id: op.target(),
    })?;
    if record.id() != op.target() {
        return Err(DomainError::UnknownEntity {
            kind: op.target_kind(),
            id: op.target(),
        });
    }
    match op {
        Op::SetCriterionTitle { title, .. } => {
            let Record::Criterion(criterion) = record else {
                return Err(DomainError::WrongKind {
                    id: op.target(),
                    expected: op.target_kind(),
                    found: record.record_type(),
                });
            };
            let title = validate_title(title)?;
            let field = "title";
            let old = serde_json::Value::String(criterion.title.clone());
            let won = clocks.get(field).is_none_or(|c| mutation.hlc > *c);
            let mut next = criterion.clone();
            let mut clocks = clocks.clone();
            if won {
                next.title = title;
                clocks.insert(field.to_owned(), mutation.hlc);
            }
            let new = serde_json::Value::String(next.title.clone());
            Ok(Applied {
                record: Record::Criterion(next),
                clocks,
                field,
                old,
                new,
                won,
            })
        }
    }
}

/// A criterion title, trimmed; empty or over-long titles are refused.
pub fn validate_title(title: &str) -> Result<String, DomainError> {
    let t = title.trim();
    if t.is_empty() {
        return Err(DomainError::EmptyText { field: "title" });
    }
    if t.chars().count() > MAX_TITLE_CHARS {
        return Err(DomainError::TextTooLong {
            field: "title",
            max: MAX_TITLE_CHARS,
        });
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;
    use proptest::prelude::*;

    fn criterion() -> Record {
        demo::records()
            .into_iter()
            .find(|r| matches!(r, Record::Criterion(_)))
            .expect("demo has criteria")
    }

    fn rename(id: Uuid, title: &str, ms: u64, node: u128) -> Mutation {
        Mutation {
            id: Uuid::from_u128(ms as u128 * 1000 + node),
            hlc: Hlc {
                ms,
                counter: 0,
                node: Uuid::from_u128(node),
            },
            op: Op::SetCriterionTitle {
                criterion_id: id,
                title: title.into(),
            },
        }
    }

    fn title_of(r: &Record) -> &str {
        match r {
            Record::Criterion(c) => &c.title,
            _ => panic!("not a criterion"),
        }
    }

    #[test]
    fn newer_write_wins_and_older_leaves_it() {
        let rec = criterion();
        let newer = rename(rec.id(), "Mới hơn", 20, 1);
        let older = rename(rec.id(), "Cũ hơn", 10, 2);
        let a = apply(&newer, Some(&rec), &FieldClocks::new()).expect("apply");
        assert!(a.won);
        let b = apply(&older, Some(&a.record), &a.clocks).expect("apply");
        assert!(!b.won);
        assert_eq!(title_of(&b.record), "Mới hơn");
        assert_eq!(b.old, b.new);
    }

    #[test]
    fn refuses_unknown_wrong_kind_and_bad_titles() {
        let rec = criterion();
        let none = apply(&rename(rec.id(), "x", 1, 1), None, &FieldClocks::new());
        assert_eq!(none.expect_err("unknown").code(), "unknown_entity");
        let block = demo::records()
            .into_iter()
            .find(|r| matches!(r, Record::Block(_)))
            .expect("block");
        let wrong = apply(
            &rename(block.id(), "x", 1, 1),
            Some(&block),
            &FieldClocks::new(),
        );
        assert_eq!(wrong.expect_err("wrong kind").code(), "wrong_entity_kind");
        let empty = apply(
            &rename(rec.id(), "   ", 1, 1),
            Some(&rec),
            &FieldClocks::new(),
        );
        assert_eq!(empty.expect_err("empty").code(), "empty_text");
        let long = "ô".repeat(MAX_TITLE_CHARS + 1);
        let long = apply(
            &rename(rec.id(), &long, 1, 1),
            Some(&rec),
            &FieldClocks::new(),
        );
        assert_eq!(long.expect_err("long").code(), "text_too_long");
    }

    proptest! {
        /// Any order of the same writes ends with the same title: the one with the newest stamp.
        #[test]
        fn merge_is_order_independent(
            writes in proptest::collection::vec((0u64..50, 0u128..4, "[a-zđ ]{1,8}"), 1..12),
            seed in any::<u64>(),
        ) {
            let rec = criterion();
            // One device never stamps two edits alike, so keep one write per stamp.
            let unique: BTreeMap<(u64, u128), &String> = writes
                .iter()
                .filter(|(_, _, t)| !t.trim().is_empty())
                .map(|(ms, node, t)| ((*ms, *node), t))
                .collect();
            let muts: Vec<Mutation> = unique
                .iter()
                .map(|((ms, node), t)| rename(rec.id(), t, *ms, *node))
                .collect();
            let fold = |order: &[Mutation]| {
                let (mut r, mut c) = (rec.clone(), FieldClocks::new());
                for m in order {
                    let a = apply(m, Some(&r), &c).expect("valid");
                    r = a.record;
                    c = a.clocks;
                }
                r
            };
            let mut shuffled = muts.clone();
            crate::testing::shuffle(&mut shuffled, seed);
            prop_assert_eq!(fold(&muts), fold(&shuffled));
        }
    }
}
