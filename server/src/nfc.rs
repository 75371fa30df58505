//! Text arrives in Unicode normal form C. The same Vietnamese word can be typed precomposed
//! ("ệ", one code point) or decomposed ("e" + two combining marks, as some keyboards send),
//! and the two look identical but compare, sort and search differently: two units named
//! alike would be different names. Every string of every pushed mutation is normalised here,
//! on the server's way in, before the rules see it (the shared rules already refuse
//! invisible and bidirectional characters, `shared::limits`); devices receive the normalised
//! record with their next pull.

use shared::mutation::Mutation;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::is_nfc;

/// `m` with every string (field names too) in NFC; `m` itself when already so.
pub fn mutation(m: Mutation) -> Mutation {
    let Ok(mut v) = serde_json::to_value(&m) else {
        return m;
    };
    if !normalise(&mut v) {
        return m;
    }
    serde_json::from_value(v).unwrap_or(m)
}

/// Normalises the strings of `v` in place; whether any changed.
fn normalise(v: &mut serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) if !is_nfc(s) => {
            *s = s.nfc().collect();
            true
        }
        serde_json::Value::Array(items) => items.iter_mut().fold(false, |c, i| normalise(i) | c),
        serde_json::Value::Object(map) => {
            let keys_ok = map.keys().all(|k| is_nfc(k));
            let mut changed = false;
            if !keys_ok {
                let old = std::mem::take(map);
                for (k, val) in old {
                    map.insert(k.nfc().collect(), val);
                }
                changed = true;
            }
            map.values_mut().fold(changed, |c, i| normalise(i) | c)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::Hlc;
    use shared::mutation::Op;
    use uuid::Uuid;

    fn rename(title: &str) -> Mutation {
        Mutation {
            id: Uuid::from_u128(1),
            hlc: Hlc::zero(Uuid::from_u128(9)).tick(5),
            op: Op::set(Uuid::from_u128(2), "title", serde_json::json!(title)),
        }
    }

    #[test]
    fn decomposed_vietnamese_becomes_precomposed() {
        // "Nguyễn Văn Thiệp", typed with combining marks.
        let decomposed = "Nguye\u{302}\u{303}n Va\u{306}n Thie\u{323}\u{302}p";
        let precomposed = "Nguyễn Văn Thiệp";
        assert_ne!(decomposed, precomposed);
        assert_eq!(mutation(rename(decomposed)), rename(precomposed));
        assert_eq!(mutation(rename(precomposed)), rename(precomposed));
    }
}
