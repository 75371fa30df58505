//! Reading typed values out of a `serde_json::Value` tree, with structs read from objects only.
//!
//! `serde_json::from_value` accepts a struct written as an object or as a positional array, so
//! every derived struct carries two bodies (`visit_map` and `visit_seq`). Nothing in ThiĐua
//! writes structs as arrays. This deserializer hands objects to `visit_map` and refuses arrays
//! where a struct is expected, so the positional body is never compiled: in the WebAssembly
//! app, where every document passes through a `Value`, that is a measurable part of the module.
//! Every other shape reads as `serde_json::from_value` reads it.

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde_json::{Error, Map, Value};

/// A `T` from `value`; structs must be objects.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    T::deserialize(Tree(value))
}

/// A `Value` as a deserializer (see the module comment).
struct Tree(Value);

fn unexpected(v: &Value) -> de::Unexpected<'_> {
    match v {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => de::Unexpected::Unsigned(u),
            (None, Some(i)) => de::Unexpected::Signed(i),
            _ => de::Unexpected::Other("a number"),
        },
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

impl<'de> Deserializer<'de> for Tree {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => visitor.visit_u64(u),
                (None, Some(i), _) => visitor.visit_i64(i),
                (_, _, Some(f)) => visitor.visit_f64(f),
                _ => Err(de::Error::custom("a number out of range")),
            },
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => visit_items(items, visitor),
            Value::Object(fields) => visit_fields(fields, visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Tree(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(fields) => visit_fields(fields, visitor),
            other => Err(de::Error::invalid_type(unexpected(&other), &visitor)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            // A unit variant: "name".
            Value::String(name) => visitor.visit_enum(Variant { name, body: None }),
            // Any other variant: {"name": body}.
            Value::Object(fields) if fields.len() == 1 => {
                let Some((name, body)) = fields.into_iter().next() else {
                    unreachable!("one field")
                };
                visitor.visit_enum(Variant {
                    name,
                    body: Some(body),
                })
            }
            other => Err(de::Error::invalid_type(
                unexpected(&other),
                &"a variant name or an object with one key",
            )),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct identifier
    }
}

fn visit_items<'de, V: Visitor<'de>>(items: Vec<Value>, visitor: V) -> Result<V::Value, Error> {
    let len = items.len();
    let mut seq = Items(items.into_iter());
    let value = visitor.visit_seq(&mut seq)?;
    if seq.0.len() == 0 {
        Ok(value)
    } else {
        Err(de::Error::invalid_length(
            len,
            &"fewer elements in the array",
        ))
    }
}

fn visit_fields<'de, V: Visitor<'de>>(
    fields: Map<String, Value>,
    visitor: V,
) -> Result<V::Value, Error> {
    let mut map = Fields {
        iter: fields.into_iter(),
        value: None,
    };
    visitor.visit_map(&mut map)
}

struct Items(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for Items {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0.next().map(|v| seed.deserialize(Tree(v))).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Fields {
    iter: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for Fields {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(Tree(Value::String(key))).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(Tree(value)),
            None => Err(de::Error::custom("a value asked for before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct Variant {
    name: String,
    body: Option<Value>,
}

impl<'de> EnumAccess<'de> for Variant {
    type Error = Error;
    type Variant = Body;

    fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, Body), Error> {
        let tag = seed.deserialize(Tree(Value::String(self.name)))?;
        Ok((tag, Body(self.body)))
    }
}

struct Body(Option<Value>);

impl<'de> VariantAccess<'de> for Body {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.0 {
            None | Some(Value::Null) => Ok(()),
            Some(other) => Err(de::Error::invalid_type(
                unexpected(&other),
                &"a unit variant",
            )),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        match self.0 {
            Some(value) => seed.deserialize(Tree(value)),
            None => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"a newtype variant",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Some(Value::Array(items)) => visit_items(items, visitor),
            _ => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"a tuple variant",
            )),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Some(Value::Object(fields)) => visit_fields(fields, visitor),
            _ => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"a struct variant",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::from_value;
    use crate::model::Record;
    use crate::rules::BlockRules;
    use crate::sheet::CellValue;

    #[test]
    fn every_demo_and_casebook_record_reads_back_as_serde_json_reads_it() {
        let all = crate::casebook::central_block_records();
        assert!(all.len() > 100, "a real sample: {}", all.len());
        for record in all {
            let tree = serde_json::to_value(&record).expect("json");
            let ours: Record = from_value(tree.clone()).expect("tree reads it");
            let theirs: Record = serde_json::from_value(tree).expect("serde_json reads it");
            assert_eq!(ours, record);
            assert_eq!(theirs, record);
        }
        let rules = BlockRules::default();
        let back: BlockRules = from_value(serde_json::to_value(&rules).unwrap()).unwrap();
        assert_eq!(back, rules);
    }

    #[test]
    fn enums_options_and_numbers_read_as_written() {
        assert_eq!(
            from_value::<CellValue>(json!({"count": 3})).unwrap(),
            CellValue::Count(3)
        );
        assert_eq!(
            from_value::<CellValue>(json!({"flag": true})).unwrap(),
            CellValue::Flag(true)
        );
        assert_eq!(from_value::<Option<u32>>(json!(null)).unwrap(), None);
        assert_eq!(from_value::<Option<u32>>(json!(7)).unwrap(), Some(7));
        assert_eq!(from_value::<i64>(json!(-7)).unwrap(), -7);
        assert_eq!(from_value::<Vec<u8>>(json!([1, 2])).unwrap(), vec![1, 2]);
        assert_eq!(
            from_value::<(u8, String)>(json!([1, "a"])).unwrap(),
            (1, "a".to_owned())
        );
        assert_eq!(
            from_value::<serde_json::Value>(json!({"a": [1, null, "x"]})).unwrap(),
            json!({"a": [1, null, "x"]})
        );
        assert_eq!(
            from_value::<crate::rules::Classification>(json!("excellent")).unwrap(),
            crate::rules::Classification::Excellent
        );
    }

    #[test]
    fn wrong_shapes_are_refused_with_a_reason() {
        let err = |v: serde_json::Value| from_value::<CellValue>(v).unwrap_err().to_string();
        assert!(err(json!({"count": 1, "flag": true})).contains("one key"));
        assert!(err(json!({"percent": 1})).contains("unknown variant `percent`"));
        assert!(err(json!({"count": -1})).contains("invalid value"));
        assert!(err(json!("count")).contains("newtype variant"));
        // A struct written as an array is refused: structs are objects.
        let unit = from_value::<crate::model::Unit>(json!([
            "00000000-0000-0000-0000-000000000001",
            "A",
            "A"
        ]));
        assert!(
            unit.unwrap_err()
                .to_string()
                .contains("invalid type: sequence")
        );
        let long = from_value::<(u8,)>(json!([1, 2])).unwrap_err().to_string();
        assert!(long.contains("fewer elements"), "{long}");
        let missing =
            from_value::<crate::model::Unit>(json!({"id": "00000000-0000-0000-0000-000000000001"}));
        assert!(
            missing
                .unwrap_err()
                .to_string()
                .contains("missing field `name`")
        );
    }
}
