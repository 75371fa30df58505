//! Vietnamese collation for sorting names: a, ă, â, b, c, d, đ, e, ê, …, o, ô, ơ, …, u, ư, …,
//! with tones (none, grave, hook, tilde, acute, dot below) deciding only between names that are
//! otherwise equal. Byte order would put "Đoàn" after "Ủy ban" and "Ă" after "Z".

use std::cmp::Ordering;

/// Base letters in Vietnamese alphabetical order; the index is the primary weight.
const ALPHABET: &str = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz";

/// Splits a lower-case character into (base letter, tone 0–5).
fn decompose(c: char) -> (char, u8) {
    const TONED: [(&str, char); 12] = [
        ("àảãáạ", 'a'),
        ("ằẳẵắặ", 'ă'),
        ("ầẩẫấậ", 'â'),
        ("èẻẽéẹ", 'e'),
        ("ềểễếệ", 'ê'),
        ("ìỉĩíị", 'i'),
        ("òỏõóọ", 'o'),
        ("ồổỗốộ", 'ô'),
        ("ờởỡớợ", 'ơ'),
        ("ùủũúụ", 'u'),
        ("ừửữứự", 'ư'),
        ("ỳỷỹýỵ", 'y'),
    ];
    for (marks, base) in TONED {
        if let Some(pos) = marks.chars().position(|m| m == c) {
            return (base, pos as u8 + 1);
        }
    }
    (c, 0)
}

/// A sort key: compare keys to order names the Vietnamese way (case-insensitive).
pub fn sort_key(name: &str) -> (Vec<u32>, Vec<u8>) {
    let mut primary = Vec::with_capacity(name.len());
    let mut tones = Vec::new();
    for ch in name.chars().flat_map(char::to_lowercase) {
        let (base, tone) = decompose(ch);
        let weight = match ALPHABET.chars().position(|a| a == base) {
            // Letters after digits and spaces, in alphabet order.
            Some(i) => 0x1_0000 + i as u32,
            None if base.is_whitespace() => 0x20,
            None => 0x2_0000 + base as u32,
        };
        primary.push(weight);
        tones.push(tone);
    }
    (primary, tones)
}

/// Compares two names the Vietnamese way.
pub fn compare(a: &str, b: &str) -> Ordering {
    sort_key(a).cmp(&sort_key(b)).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_a_vietnamese_dictionary() {
        let mut names = vec![
            "Ủy ban Trung ương MTTQ Việt Nam",
            "Đoàn TNCS Hồ Chí Minh",
            "Tổng Liên đoàn Lao động Việt Nam",
            "Hội Nông dân",
            "Ăn uống",
            "Âm nhạc",
            "Anh",
            "Dân vận",
            "Zeta",
        ];
        names.sort_by(|a, b| compare(a, b));
        assert_eq!(
            names,
            vec![
                "Anh",
                "Ăn uống",
                "Âm nhạc",
                "Dân vận",
                "Đoàn TNCS Hồ Chí Minh",
                "Hội Nông dân",
                "Tổng Liên đoàn Lao động Việt Nam",
                "Ủy ban Trung ương MTTQ Việt Nam",
                "Zeta",
            ]
        );
    }

    #[test]
    fn tone_decides_only_between_otherwise_equal_names() {
        let mut names = vec!["má", "ma", "mà", "mạ", "mả", "mã", "mb"];
        names.sort_by(|a, b| compare(a, b));
        assert_eq!(names, vec!["ma", "mà", "mả", "mã", "má", "mạ", "mb"]);
    }
}
