//! Exact points: an integer count of hundredths of a point.
//!
//! Covenants use whole and half points and results are shown to two decimals, so hundredths
//! hold every value exactly; floats never touch a score or a ranking. On the wire a value is
//! a decimal string ("15", "7.5", "92.25") so no client rounds it through a float either.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::DomainError;

/// A number of points, held exactly as hundredths.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Points(i64);

impl Points {
    /// Zero points.
    pub const ZERO: Points = Points(0);

    /// Points from a count of hundredths.
    pub const fn from_hundredths(h: i64) -> Self {
        Points(h)
    }

    /// Points from a whole number of points.
    pub const fn whole(p: i64) -> Self {
        Points(p * 100)
    }

    /// The count of hundredths.
    pub const fn hundredths(self) -> i64 {
        self.0
    }

    /// Sum, or `None` on overflow.
    pub fn checked_add(self, other: Points) -> Option<Points> {
        self.0.checked_add(other.0).map(Points)
    }

    /// Vietnamese display: decimal comma, two decimals ("92,25").
    pub fn to_vi_string(self) -> String {
        self.fixed2().replace('.', ",")
    }

    /// Two-decimal display with a decimal point ("92.25").
    pub fn fixed2(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", a / 100, a % 100)
    }
}

impl fmt::Display for Points {
    /// Shortest exact decimal: "15", "7.5", "92.25".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        let (int, frac) = (a / 100, a % 100);
        match frac {
            0 => write!(f, "{sign}{int}"),
            f10 if f10 % 10 == 0 => write!(f, "{sign}{int}.{}", f10 / 10),
            _ => write!(f, "{sign}{int}.{frac:02}"),
        }
    }
}

impl FromStr for Points {
    type Err = DomainError;

    /// Accepts "15", "7.5", "7,5" (Vietnamese decimal comma), "-2", at most two decimals.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || DomainError::InvalidPoints {
            input: s.chars().take(40).collect(),
        };
        let t = s.trim();
        let (neg, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (int, frac) = match t.split_once(['.', ',']) {
            Some((i, f)) => (i, f),
            None => (t, ""),
        };
        if int.is_empty() || int.len() > 12 || frac.len() > 2 {
            return Err(bad());
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let int: i64 = int.parse().map_err(|_| bad())?;
        let frac: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| bad())? * 10,
            _ => frac.parse().map_err(|_| bad())?,
        };
        let h = int * 100 + frac;
        Ok(Points(if neg { -h } else { h }))
    }
}

impl Serialize for Points {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_exactly() {
        for (input, hundredths, shown) in [
            ("15", 1500, "15"),
            ("7.5", 750, "7.5"),
            ("7,5", 750, "7.5"),
            ("92.25", 9225, "92.25"),
            ("-2", -200, "-2"),
            (" 0.05 ", 5, "0.05"),
        ] {
            let p: Points = input.parse().expect(input);
            assert_eq!(p.hundredths(), hundredths, "{input}");
            assert_eq!(p.to_string(), shown);
        }
        assert_eq!(Points::from_hundredths(9225).to_vi_string(), "92,25");
        assert_eq!(Points::from_hundredths(-5).fixed2(), "-0.05");
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "abc", "1.234", "1e3", "--1", "1.2.3", ".5", "١٢"] {
            assert!(bad.parse::<Points>().is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn serde_round_trip_is_a_string() {
        let json = serde_json::to_string(&Points::from_hundredths(1050)).expect("json");
        assert_eq!(json, "\"10.5\"");
        let back: Points = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, Points::from_hundredths(1050));
    }
}
