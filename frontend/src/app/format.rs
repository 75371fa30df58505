//! Numbers, dates and labels in the user's language: Vietnamese writes 7,5 and 21/11/2026.

use shared::Points;
use shared::model::{CovenantStatus, CriterionKind};
use shared::round::{RoundState, Stage};

use crate::i18n::Lang;

/// Points with the language's decimal mark, without trailing zeros ("7,5" / "7.5").
pub fn points_text(p: Points, l: Lang) -> String {
    let s = p.to_string();
    match l {
        Lang::Vi => s.replace('.', ","),
        Lang::En => s,
    }
}

/// Reads points typed with a comma or a point.
pub fn parse_points(s: &str) -> Option<Points> {
    s.trim().replace(',', ".").parse().ok()
}

/// A local date and time in the language's format.
pub fn date_time(ms: u64, l: Lang) -> String {
    // Milliseconds since the epoch fit a JS number exactly.
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    let locale = match l {
        Lang::Vi => "vi-VN",
        Lang::En => "en-GB",
    };
    date.to_locale_string(locale, &wasm_bindgen::JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_default()
}

/// A covenant status.
pub fn covenant_status(s: CovenantStatus, l: Lang) -> &'static str {
    match s {
        CovenantStatus::Draft => l.t("Bản nháp", "Draft"),
        CovenantStatus::Circulated => l.t("Đã gửi xin ý kiến", "Circulated"),
        CovenantStatus::Agreed => l.t("Đã thống nhất", "Agreed"),
        CovenantStatus::Signed => l.t("Đã ký kết", "Signed"),
    }
}

/// A criterion kind.
pub fn criterion_kind(k: CriterionKind, l: Lang) -> &'static str {
    match k {
        CriterionKind::Standard => l.t("Thông thường", "Standard"),
        CriterionKind::Bonus => l.t("Điểm thưởng", "Bonus"),
        CriterionKind::Deduction => l.t("Điểm trừ mỗi lần", "Deduction per occurrence"),
        CriterionKind::Disqualifier => l.t("Loại trừ", "Disqualifier"),
    }
}

/// A scoring stage.
pub fn stage(s: Stage, l: Lang) -> &'static str {
    match s {
        Stage::SelfScoring => l.t("Tự chấm điểm", "Self-scoring"),
        Stage::CrossScoring => l.t("Chấm chéo", "Cross-scoring"),
        Stage::Verification => l.t("Thẩm định", "Verification"),
        Stage::Agreed => l.t("Thống nhất điểm", "Agreed scores"),
    }
}

/// A round state.
pub fn round_state(s: RoundState, l: Lang) -> &'static str {
    match s {
        RoundState::Open => l.t("Đang mở", "Open"),
        RoundState::Locked => l.t("Đã khóa", "Locked"),
        RoundState::Published => l.t("Đã công bố", "Published"),
    }
}

/// A criterion kind as on the wire.
pub fn kind_code(k: CriterionKind) -> &'static str {
    match k {
        CriterionKind::Standard => "standard",
        CriterionKind::Bonus => "bonus",
        CriterionKind::Deduction => "deduction",
        CriterionKind::Disqualifier => "disqualifier",
    }
}

/// The criterion kind named `s` (standard when unknown).
#[cfg(feature = "editor")]
pub fn kind_from(s: &str) -> CriterionKind {
    match s {
        "bonus" => CriterionKind::Bonus,
        "deduction" => CriterionKind::Deduction,
        "disqualifier" => CriterionKind::Disqualifier,
        _ => CriterionKind::Standard,
    }
}
