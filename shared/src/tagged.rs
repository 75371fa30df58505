//! Deserialisation of internally tagged enums (`{"type": "x", ...fields}`) through a
//! `serde_json::Value`.
//!
//! serde's derive buffers such an enum in its private `Content` type and compiles every
//! variant's body a second time against that buffer. The app already deserialises every type
//! from `Value` (see the frontend's `json` module), so buffering in a `Value` instead drops that
//! second copy and the whole `Content` machinery from the WebAssembly. The wire format is the
//! same: serialisation stays derived, and the impls here accept exactly what the derive did.

use serde::de::{self, DeserializeOwned, Deserializer};
use serde_json::{Map, Value};

/// The tag and the remaining fields of an internally tagged object.
pub(crate) fn split<'de, D: Deserializer<'de>>(
    d: D,
    tag: &'static str,
) -> Result<(String, Value), D::Error> {
    let mut fields = match <Value as de::Deserialize>::deserialize(d)? {
        Value::Object(fields) => fields,
        other => {
            return Err(de::Error::invalid_type(
                unexpected(&other),
                &"an object with a tag",
            ));
        }
    };
    match fields.remove(tag) {
        Some(Value::String(name)) => Ok((name, Value::Object(fields))),
        Some(other) => Err(de::Error::invalid_type(unexpected(&other), &"a string tag")),
        None => Err(de::Error::missing_field(tag)),
    }
}

/// A variant's body from the fields left after the tag.
pub(crate) fn body<T: DeserializeOwned, E: de::Error>(fields: Value) -> Result<T, E> {
    crate::tree::from_value(fields).map_err(E::custom)
}

/// The error for a tag that names no variant.
pub(crate) fn unknown<E: de::Error>(name: &str, variants: &'static [&'static str]) -> E {
    E::unknown_variant(name, variants)
}

/// The fields of a `Value` known to be an object (as `split` returns it).
pub(crate) fn fields(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(fields) => fields,
        _ => Map::new(),
    }
}

fn unexpected(v: &Value) -> de::Unexpected<'_> {
    match v {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(_) => de::Unexpected::Other("a number"),
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use uuid::Uuid;

    use crate::ballot::{BallotPaper, BallotPurpose, Threshold};
    use crate::model::{Record, Unit};
    use crate::mutation::Op;
    use crate::protocol::{Outcome, OutcomeStatus};
    use crate::round::{Assignment, Pair};
    use crate::rules::{AwardKind, CrossScoring, TieBreak};
    use crate::sheet::CellValue;

    /// `value` written as `wire`, read back from that text, and from a `Value`.
    fn pinned<T>(value: T, wire: &str)
    where
        T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        assert_eq!(serde_json::to_string(&value).expect("write"), wire);
        assert_eq!(serde_json::from_str::<T>(wire).expect("read text"), value);
        let tree: serde_json::Value = serde_json::from_str(wire).expect("tree");
        assert_eq!(
            serde_json::from_value::<T>(tree.clone()).expect("read value"),
            value
        );
        assert_eq!(
            crate::tree::from_value::<T>(tree).expect("read tree"),
            value
        );
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn every_variant_keeps_its_wire_form() {
        pinned(
            Record::Unit(Unit {
                id: id(1),
                name: "Hội Nông dân".into(),
                short_name: "HND".into(),
            }),
            r#"{"type":"unit","id":"00000000-0000-0000-0000-000000000001","name":"Hội Nông dân","short_name":"HND"}"#,
        );
        pinned(
            Op::Delete { id: id(2) },
            r#"{"type":"delete","id":"00000000-0000-0000-0000-000000000002"}"#,
        );
        pinned(
            Op::Update {
                id: id(2),
                fields: BTreeMap::from([("title".to_owned(), serde_json::json!("Mới"))]),
            },
            r#"{"type":"update","id":"00000000-0000-0000-0000-000000000002","fields":{"title":"Mới"}}"#,
        );
        pinned(
            Op::Correct {
                cell_id: id(3),
                value: CellValue::Count(2),
                reason: "Nhầm".into(),
            },
            r#"{"type":"correct","cell_id":"00000000-0000-0000-0000-000000000003","value":{"count":2},"reason":"Nhầm"}"#,
        );
        pinned(
            Op::CastVote {
                ballot_id: id(4),
                paper: BallotPaper::Abstain,
            },
            r#"{"type":"cast_vote","ballot_id":"00000000-0000-0000-0000-000000000004","paper":{"type":"abstain"}}"#,
        );
        pinned(
            BallotPaper::Choices {
                options: [id(5)].into(),
            },
            r#"{"type":"choices","options":["00000000-0000-0000-0000-000000000005"]}"#,
        );
        pinned(BallotPaper::Spoiled, r#"{"type":"spoiled"}"#);
        pinned(
            BallotPurpose::Award {
                award: AwardKind::EmulationFlag,
            },
            r#"{"type":"award","award":"emulation_flag"}"#,
        );
        pinned(BallotPurpose::ElectDeputy, r#"{"type":"elect_deputy"}"#);
        pinned(
            Threshold::AtLeast { num: 3, den: 4 },
            r#"{"type":"at_least","num":3,"den":4}"#,
        );
        pinned(Threshold::MoreThanHalf, r#"{"type":"more_than_half"}"#);
        pinned(
            Assignment::PairsByLot {
                seed: u64::MAX,
                per_unit: 1,
                pairs: vec![Pair {
                    scorer: id(6),
                    subject: id(7),
                }],
            },
            r#"{"type":"pairs_by_lot","seed":"18446744073709551615","per_unit":1,"pairs":[{"scorer":"00000000-0000-0000-0000-000000000006","subject":"00000000-0000-0000-0000-000000000007"}]}"#,
        );
        pinned(Assignment::AllScoreAll, r#"{"type":"all_score_all"}"#);
        pinned(
            CrossScoring::PairsByLot { per_unit: 2 },
            r#"{"type":"pairs_by_lot","per_unit":2}"#,
        );
        pinned(
            TieBreak::Content { code: "II".into() },
            r#"{"type":"content","code":"II"}"#,
        );
        pinned(TieBreak::FewerDeductions, r#"{"type":"fewer_deductions"}"#);
        pinned(
            Outcome {
                mutation_id: id(8),
                status: OutcomeStatus::Applied { seq: 9 },
            },
            r#"{"mutation_id":"00000000-0000-0000-0000-000000000008","status":"applied","seq":9}"#,
        );
        pinned(
            Outcome {
                mutation_id: id(8),
                status: OutcomeStatus::Rejected {
                    code: "round_locked".into(),
                    message: "locked".into(),
                    message_vi: "đã khóa".into(),
                },
            },
            r#"{"mutation_id":"00000000-0000-0000-0000-000000000008","status":"rejected","code":"round_locked","message":"locked","message_vi":"đã khóa"}"#,
        );
    }

    #[test]
    fn the_tag_may_come_anywhere_in_the_object() {
        let op: Op = serde_json::from_str(
            r#"{"id":"00000000-0000-0000-0000-000000000002","type":"delete"}"#,
        )
        .expect("tag last");
        assert_eq!(op, Op::Delete { id: id(2) });
    }

    #[test]
    fn bad_shapes_are_refused_with_a_reason() {
        let err = |text: &str| {
            serde_json::from_str::<Op>(text)
                .expect_err(text)
                .to_string()
        };
        assert!(err(r#"{"type":"rename","id":"x"}"#).contains("unknown variant `rename`"));
        assert!(
            err(r#"{"id":"00000000-0000-0000-0000-000000000002"}"#)
                .contains("missing field `type`")
        );
        assert!(err(r#"{"type":7}"#).contains("a string tag"));
        assert!(err(r#"["delete"]"#).contains("an object with a tag"));
        // Op refuses unknown fields, as its derive did.
        assert!(
            err(r#"{"type":"delete","id":"00000000-0000-0000-0000-000000000002","x":1}"#)
                .contains("unknown field `x`")
        );
        assert!(err(r#"{"type":"delete"}"#).contains("missing field `id`"));
        let outcome = serde_json::from_str::<Outcome>(r#"{"status":"duplicate"}"#);
        assert!(
            outcome
                .expect_err("no id")
                .to_string()
                .contains("mutation_id")
        );
    }
}
