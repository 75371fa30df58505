//! Bounds on every text a device sends, checked on the tablet and on the server alike.
//!
//! Each field with a meaning has its own maximum where it is checked (titles, names, notes,
//! labels); `check_strings` is the catch-all every mutation passes first, so no string of
//! any field, present or future, can be larger than `MAX_ANY_TEXT_CHARS` or carry an
//! invisible format character. Those (bidirectional overrides such as U+202E, zero-width
//! characters, the BOM, soft hyphens) make "CBA" display as "ABC" or two equal-looking names
//! differ; Vietnamese needs none of them, so they are refused, not stripped, and the
//! message names the field. Control characters other than tab and newline are refused too.
//! NFC normalisation happens where text is typed (the app) and on the server's way in.

use crate::error::DomainError;

/// Longest text of any field: the longest field with a meaning (a criterion's guidance).
pub const MAX_ANY_TEXT_CHARS: usize = 5000;
/// Longest sign-in name.
pub const MAX_USERNAME_CHARS: usize = 64;
/// Longest password, in bytes (argon2 hashes any length; this bounds the work).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Longest device name ("Máy tính bảng 3").
pub const MAX_DEVICE_NAME_CHARS: usize = 80;

/// Whether `c` is an invisible format or control character refused in any text.
pub fn is_refused_char(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{ad}' | '\u{61c}' | '\u{180e}'
        | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}'
        | '\u{1d173}'..='\u{1d17a}' | '\u{e0001}' | '\u{e0020}'..='\u{e007f}')
}

/// Checks one text: at most `max` characters, none of them refused.
pub fn check_text(field: &'static str, text: &str, max: usize) -> Result<(), DomainError> {
    if text.chars().count() > max {
        return Err(DomainError::TextTooLong { field, max });
    }
    if let Some(c) = text.chars().find(|c| is_refused_char(*c)) {
        return Err(DomainError::InvalidField {
            reason: format!(
                "{field}: the invisible character U+{:04X} is not allowed",
                u32::from(c)
            ),
        });
    }
    Ok(())
}

/// Checks every string (keys included) inside a JSON value with `check_text`, as `field`.
pub fn check_strings(field: &'static str, value: &serde_json::Value) -> Result<(), DomainError> {
    match value {
        serde_json::Value::String(s) => check_text(field, s, MAX_ANY_TEXT_CHARS),
        serde_json::Value::Array(items) => items.iter().try_for_each(|v| check_strings(field, v)),
        serde_json::Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            check_text(field, k, MAX_ANY_TEXT_CHARS)?;
            check_strings(field, v)
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_overrides_and_zero_width_characters_are_refused() {
        for bad in [
            "\u{202e}CBA",
            "Đoàn\u{200b}Thanh niên",
            "a\u{2066}b",
            "\u{feff}x",
            "a\u{0}",
        ] {
            assert!(check_text("name", bad, 100).is_err(), "{bad:?}");
        }
        assert!(check_text("name", "Hội Liên hiệp Phụ nữ Việt Nam\nHà Nội\t1", 100).is_ok());
    }

    #[test]
    fn every_nested_string_is_bounded() {
        let long = "ê".repeat(MAX_ANY_TEXT_CHARS + 1);
        let v = serde_json::json!({"options": [{"label": long}]});
        assert!(matches!(
            check_strings("op", &v),
            Err(DomainError::TextTooLong { .. })
        ));
        let v = serde_json::json!({"options": [{"label": "Đồng ý"}], "n": 3});
        assert!(check_strings("op", &v).is_ok());
    }
}
