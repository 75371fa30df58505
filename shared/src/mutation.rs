//! Mutations: the only way a record changes, on a device and on the server alike.
//!
//! A mutation has a client-generated id (the server applies it at most once), the author's
//! hybrid-logical-clock stamp and one operation. Fields merge last-writer-wins: a field takes
//! a mutation's value only when its stamp is newer than the one that last wrote that field.
//! An older stamp still "applies" (it is acknowledged and audited) but leaves the newer value
//! in place, so every replica that applies the same set of mutations, in any order, ends with
//! the same record. `apply` here is the per-record merge a device uses; `world::World::apply`
//! adds the rules that need the rest of the block (rights, round state, covenant, ballots).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::ballot::BallotPaper;
use crate::error::DomainError;
use crate::hlc::Hlc;
use crate::model::Record;
use crate::sheet::CellValue;
use crate::tagged;

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
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Op {
    /// Creates a record with a client-generated id. Creating an id that exists, with the same
    /// fixed fields, sets its editable fields instead, so a create replayed from two devices
    /// converges like an update.
    Create {
        /// The whole record.
        record: Record,
    },
    /// Sets some editable fields of a record, last writer wins per field.
    Update {
        /// The record.
        id: Uuid,
        /// Field name to its new value, in the record's wire form.
        fields: BTreeMap<String, serde_json::Value>,
    },
    /// Removes a record (contents, criteria, draft ballots, unsubmitted cells).
    Delete {
        /// The record.
        id: Uuid,
    },
    /// Corrects a score cell after its round was locked; the reason goes to the audit log.
    Correct {
        /// The cell.
        cell_id: Uuid,
        /// The corrected value.
        value: CellValue,
        /// Why, in writing.
        reason: String,
    },
    /// Casts the author's unit's paper in a secret ballot. The server keeps the paper apart
    /// from the voter: the ballot records only that the unit voted.
    CastVote {
        /// The ballot.
        ballot_id: Uuid,
        /// The paper.
        paper: BallotPaper,
    },
}

impl<'de> Deserialize<'de> for Op {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const VARIANTS: &[&str] = &["create", "update", "delete", "correct", "cast_vote"];
        let (tag, body) = tagged::split(d, "type")?;
        Ok(match tag.as_str() {
            "create" => {
                let b: op_body::Create = tagged::body(body)?;
                Op::Create { record: b.record }
            }
            "update" => {
                let b: op_body::Update = tagged::body(body)?;
                Op::Update {
                    id: b.id,
                    fields: b.fields,
                }
            }
            "delete" => {
                let b: op_body::Delete = tagged::body(body)?;
                Op::Delete { id: b.id }
            }
            "correct" => {
                let b: op_body::Correct = tagged::body(body)?;
                Op::Correct {
                    cell_id: b.cell_id,
                    value: b.value,
                    reason: b.reason,
                }
            }
            "cast_vote" => {
                let b: op_body::CastVote = tagged::body(body)?;
                Op::CastVote {
                    ballot_id: b.ballot_id,
                    paper: b.paper,
                }
            }
            other => return Err(tagged::unknown(other, VARIANTS)),
        })
    }
}

/// The variants' fields, for `Op`'s tagged deserialisation; unknown fields are refused.
mod op_body {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Create {
        pub record: Record,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Update {
        pub id: Uuid,
        pub fields: BTreeMap<String, serde_json::Value>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Delete {
        pub id: Uuid,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Correct {
        pub cell_id: Uuid,
        pub value: CellValue,
        pub reason: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct CastVote {
        pub ballot_id: Uuid,
        pub paper: BallotPaper,
    }
}

impl Op {
    /// The id of the record this operation changes.
    pub fn target(&self) -> Uuid {
        match self {
            Op::Create { record } => record.id(),
            Op::Update { id, .. } | Op::Delete { id } => *id,
            Op::Correct { cell_id, .. } => *cell_id,
            Op::CastVote { ballot_id, .. } => *ballot_id,
        }
    }

    /// The operation's name, as on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Create { .. } => "create",
            Op::Update { .. } => "update",
            Op::Delete { .. } => "delete",
            Op::Correct { .. } => "correct",
            Op::CastVote { .. } => "cast_vote",
        }
    }

    /// An update of one field.
    pub fn set(id: Uuid, field: &str, value: serde_json::Value) -> Op {
        Op::Update {
            id,
            fields: BTreeMap::from([(field.to_owned(), value)]),
        }
    }
}

/// For each field of a record, the stamp of the mutation that last wrote it.
pub type FieldClocks = BTreeMap<String, Hlc>;

/// The fields of a record kind that mutations may change; the rest are fixed at creation.
pub fn editable_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "unit" => &["name", "short_name"],
        "block" => &[
            "name", "kind", "level", "province", "members", "head", "deputy", "rules", "meeting",
        ],
        "covenant" => &[
            "title",
            "total_points",
            "bonus_cap",
            "status",
            "amendment_reason",
        ],
        "content" => &["position", "code", "title"],
        "criterion" => &[
            "parent_id",
            "position",
            "code",
            "title",
            "guidance",
            "kind",
            "max_points",
        ],
        "round" => &["state", "assignment"],
        "score_sheet" => &["submitted"],
        "score_cell" => &["value", "note", "evidence"],
        "ballot" => &[
            "title",
            "options",
            "max_choices",
            "eligible",
            "present",
            "state",
        ],
        // Signatures are created and never edited.
        _ => &[],
    }
}

/// A record after a merge, and what changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    /// The record after the merge.
    pub record: Record,
    /// The field clocks after the merge.
    pub clocks: FieldClocks,
    /// The fields this mutation's values now hold, with their values before and after.
    pub old: serde_json::Value,
    /// See `old`.
    pub new: serde_json::Value,
    /// Whether any of this mutation's values is now the record's.
    pub won: bool,
}

/// Merges `fields` into `record` last-writer-wins per field: a field takes the value when
/// `hlc` is newer than the stamp that last wrote it. Only the shape is checked here
/// (editable field, decodable value); the domain rules live in `world`.
pub fn merge_fields(
    record: &Record,
    clocks: &FieldClocks,
    hlc: Hlc,
    fields: &BTreeMap<String, serde_json::Value>,
) -> Result<Merged, DomainError> {
    if fields.is_empty() {
        return Err(DomainError::InvalidField {
            reason: "an update names no field".into(),
        });
    }
    let editable = editable_fields(record.record_type());
    if let Some(f) = fields.keys().find(|f| !editable.contains(&f.as_str())) {
        return Err(DomainError::ReadOnlyField { field: f.clone() });
    }
    let mut obj = match serde_json::to_value(record) {
        Ok(serde_json::Value::Object(o)) => o,
        _ => {
            return Err(DomainError::InvalidField {
                reason: "record is not an object".into(),
            });
        }
    };
    let mut clocks = clocks.clone();
    let mut old = serde_json::Map::new();
    let mut new = serde_json::Map::new();
    for (field, value) in fields {
        if clocks.get(field).is_some_and(|c| hlc <= *c) {
            continue;
        }
        let value = &trimmed(value);
        let before = obj
            .insert(field.clone(), value.clone())
            .unwrap_or(serde_json::Value::Null);
        old.insert(field.clone(), before);
        new.insert(field.clone(), value.clone());
        clocks.insert(field.clone(), hlc);
    }
    let won = !new.is_empty();
    let merged: Record = crate::tree::from_value(serde_json::Value::Object(obj)).map_err(|e| {
        DomainError::InvalidField {
            reason: e.to_string(),
        }
    })?;
    Ok(Merged {
        record: merged,
        clocks,
        old: serde_json::Value::Object(old),
        new: serde_json::Value::Object(new),
        won,
    })
}

/// Applies `mutation` to one record as a device does for its own edits and to replay pending
/// edits over pulled records: the merge and the shape checks, without the rules that need the
/// rest of the block (the server applies those through `world::World`).
///
/// `record` is `None` when the target is not stored; only a create may then proceed.
pub fn apply(
    mutation: &Mutation,
    record: Option<&Record>,
    clocks: &FieldClocks,
) -> Result<Merged, DomainError> {
    let unknown = || DomainError::UnknownEntity {
        kind: "record",
        id: mutation.op.target(),
    };
    match (&mutation.op, record) {
        (Op::Create { record: new }, None) => Ok(Merged {
            record: new.clone(),
            clocks: created_clocks(new, mutation.hlc),
            old: serde_json::Value::Null,
            new: serde_json::to_value(new).unwrap_or_default(),
            won: true,
        }),
        (Op::Create { record: new }, Some(current)) => {
            let fields = fixed_fields_match(current, new)?;
            merge_fields(current, clocks, mutation.hlc, &fields)
        }
        (Op::Update { id, fields }, Some(current)) if current.id() == *id => {
            let merged = merge_fields(current, clocks, mutation.hlc, fields)?;
            if let Record::Criterion(c) = &merged.record
                && fields.contains_key("title")
            {
                validate_title(&c.title)?;
            }
            Ok(merged)
        }
        (Op::Correct { value, .. }, Some(current)) => {
            let v = serde_json::to_value(value).unwrap_or_default();
            merge_fields(
                current,
                clocks,
                mutation.hlc,
                &BTreeMap::from([("value".to_owned(), v)]),
            )
        }
        (Op::Delete { .. } | Op::CastVote { .. }, Some(current)) => Ok(Merged {
            record: current.clone(),
            clocks: clocks.clone(),
            old: serde_json::Value::Null,
            new: serde_json::Value::Null,
            won: true,
        }),
        _ => Err(unknown()),
    }
}

/// What a device shows for one record: the server's copy (`base`) with the device's own
/// pending mutations on it replayed in order. A pending delete hides the record; a pending
/// edit that no longer applies (its record changed under it) is skipped, and left for the
/// server to judge. Pending edits win locally whatever their stamps: once the server has
/// them, the pulled record carries the merged result, so every device converges on it.
pub fn replay<'a>(
    base: Option<&Record>,
    pending: impl IntoIterator<Item = &'a Mutation>,
) -> Option<Record> {
    let mut record = base.cloned();
    let mut clocks = FieldClocks::new();
    for m in pending {
        if matches!(m.op, Op::Delete { .. }) {
            record = None;
            continue;
        }
        if let Ok(merged) = apply(m, record.as_ref(), &clocks) {
            record = Some(merged.record);
            clocks = merged.clocks;
        }
    }
    record
}

/// Text values lose surrounding whitespace, so "  Tiêu chí " and "Tiêu chí" are one title.
fn trimmed(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::String(s) if s.trim().len() != s.len() => {
            serde_json::Value::String(s.trim().to_owned())
        }
        other => other.clone(),
    }
}

/// A record with every top-level text field trimmed.
pub fn normalised(record: &Record) -> Record {
    let mut r = record.clone();
    r.trim_text();
    r
}

/// Every editable field of a new record stamped with its creation stamp.
pub fn created_clocks(record: &Record, hlc: Hlc) -> FieldClocks {
    editable_fields(record.record_type())
        .iter()
        .map(|f| ((*f).to_owned(), hlc))
        .collect()
}

/// For a create of an id that exists: the fixed fields must be the same record's, and the
/// editable ones become an update.
pub fn fixed_fields_match(
    current: &Record,
    new: &Record,
) -> Result<BTreeMap<String, serde_json::Value>, DomainError> {
    let exists = || DomainError::AlreadyExists { id: current.id() };
    if current.record_type() != new.record_type() {
        return Err(exists());
    }
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(current), serde_json::to_value(new))
    else {
        return Err(exists());
    };
    let editable = editable_fields(new.record_type());
    let mut fields = BTreeMap::new();
    for (k, v) in b {
        if editable.contains(&k.as_str()) {
            fields.insert(k, v);
        } else if a.get(&k) != Some(&v) {
            return Err(exists());
        }
    }
    if fields.is_empty() {
        // A signature's replay: nothing to set, nothing differs.
        return Err(exists());
    }
    Ok(fields)
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
            op: Op::set(id, "title", serde_json::json!(title)),
        }
    }

    fn title_of(r: &Record) -> &str {
        match r {
            Record::Criterion(c) => &c.title,
            _ => panic!("not a criterion"),
        }
    }

    /// Every record kind the casebook and the demo build, plus a signature.
    fn every_kind() -> Vec<Record> {
        let conf = crate::casebook::central_block_conference();
        let mut all = demo::records();
        all.extend(conf.rounds.into_iter().map(Record::Round));
        all.extend(conf.sheets.into_iter().map(Record::ScoreSheet));
        all.extend(conf.cells.into_iter().map(Record::ScoreCell));
        all.extend(conf.ballots.into_iter().map(|(b, _)| Record::Ballot(b)));
        all.push(Record::Signature(crate::model::Signature {
            id: Uuid::from_u128(5),
            block_id: demo::BLOCK_ID,
            covenant_id: demo::COVENANT_ID,
            unit: demo::id(1),
            signer: "Nguyễn Văn An".into(),
            signed_at_ms: 0,
        }));
        all
    }

    #[test]
    fn trim_text_covers_every_top_level_text_field() {
        // The oracle pads every top-level string of the JSON form, whatever the kind.
        for record in every_kind() {
            let serde_json::Value::Object(mut obj) = serde_json::to_value(&record).unwrap() else {
                panic!("a record is an object");
            };
            let keys: Vec<String> = obj.keys().cloned().collect();
            for k in keys {
                let Some(serde_json::Value::String(s)) = obj.get(&k).cloned() else {
                    continue;
                };
                // Ids, enums and points refuse padding; every text field takes it.
                let mut probe = obj.clone();
                probe.insert(k.clone(), format!(" {s}\t").into());
                if serde_json::from_value::<Record>(serde_json::Value::Object(probe.clone()))
                    .is_ok()
                {
                    obj = probe;
                }
            }
            let padded: Record =
                serde_json::from_value(serde_json::Value::Object(obj)).expect("padded");
            let mut want = serde_json::to_value(&padded).unwrap();
            if let serde_json::Value::Object(o) = &mut want {
                for v in o.values_mut() {
                    if let serde_json::Value::String(s) = v {
                        *s = s.trim().to_owned();
                    }
                }
            }
            assert_eq!(
                serde_json::to_value(normalised(&padded)).unwrap(),
                want,
                "{}",
                record.record_type()
            );
        }
    }

    #[test]
    fn normalised_trims_top_level_text_only_when_needed() {
        let clean = criterion();
        assert_eq!(
            normalised(&clean),
            clean,
            "nothing to trim: the same record"
        );
        let mut padded = clean.clone();
        if let Record::Criterion(c) = &mut padded {
            c.title = format!("  {}\t", c.title);
            c.guidance = " Có minh chứng ".into();
        }
        let Record::Criterion(got) = normalised(&padded) else {
            panic!("not a criterion");
        };
        assert_eq!(got.title, title_of(&clean));
        assert_eq!(got.guidance, "Có minh chứng");
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
        assert_eq!(wrong.expect_err("wrong kind").code(), "read_only_field");
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
