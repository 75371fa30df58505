//! The covenant as printed for signing (bản giao ước thi đua): the official header, the
//! contents and criteria with their maximum points and guidance, the totals, and one
//! signature block per member unit, filled with the signer and date where the unit signed in
//! the app and left blank for a pen otherwise.

use std::collections::HashMap;
use std::fmt::Write as _;

use uuid::Uuid;

use crate::collation;
use crate::covenant::{CovenantDoc, content_points, document_order};
use crate::error::DomainError;
use crate::model::{Block, CriterionKind, Record};
use crate::report::esc;
use crate::world::World;

/// The latest version of `block_id`'s covenant, printed, from the block's records and the
/// units.
pub fn latest_covenant_html(block_id: Uuid, records: &[Record]) -> Result<String, DomainError> {
    let world = World::of_records(records);
    let mut names = HashMap::new();
    let mut block = None;
    let mut latest: Option<(u32, Uuid)> = None;
    for record in records {
        match record {
            Record::Unit(u) => {
                names.insert(u.id, u.name.clone());
            }
            Record::Block(b) if b.id == block_id => block = Some(b.clone()),
            Record::Covenant(c) if c.block_id == block_id => {
                latest = latest.max(Some((c.version, c.id)));
            }
            _ => {}
        }
    }
    let unknown = |kind| DomainError::UnknownEntity { kind, id: block_id };
    let block = block.ok_or(unknown("block"))?;
    let (_, covenant_id) = latest.ok_or(unknown("covenant"))?;
    Ok(covenant_html(
        &world.covenant_doc(covenant_id)?,
        &block,
        &names,
    ))
}

/// The covenant `doc` of `block` as one printable HTML page; `names` gives unit names.
pub fn covenant_html(doc: &CovenantDoc, block: &Block, names: &HashMap<Uuid, String>) -> String {
    let name = |u: Uuid| names.get(&u).cloned().unwrap_or_else(|| u.to_string());
    let c = &doc.covenant;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>{title}</title><style>{CSS}</style></head><body>\
         <header><div class=\"org\">{block}</div><div class=\"nation\">CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM<br><u>Độc lập - Tự do - Hạnh phúc</u></div></header>\
         <h1>GIAO ƯỚC THI ĐUA NĂM {year}</h1><p class=\"subtitle\">{title} (phiên bản {version})</p>\
         <p>Tổng điểm chuẩn: <b>{total}</b> điểm; điểm thưởng tối đa {cap} điểm.</p>\
         <table><thead><tr><th>Mã</th><th>Nội dung, tiêu chí</th><th>Điểm chuẩn</th><th>Hướng dẫn chấm</th></tr></thead><tbody>",
        title = esc(&c.title),
        block = esc(&block.name).to_uppercase(),
        year = block.year,
        version = c.version,
        total = c.total_points.to_vi_string(),
        cap = c.bonus_cap.to_vi_string(),
    );
    let (contents, criteria) = document_order(&doc.contents, &doc.criteria);
    for content in contents {
        let _ = write!(
            h,
            "<tr class=\"content\"><td>{}</td><td>{}</td><td class=\"n\">{}</td><td></td></tr>",
            esc(&content.code),
            esc(&content.title),
            content_points(&doc.criteria, content.id).to_vi_string(),
        );
        for cr in criteria.iter().filter(|cr| cr.content_id == content.id) {
            let (points, note) = match cr.kind {
                CriterionKind::Standard => (cr.max_points.to_vi_string(), ""),
                CriterionKind::Bonus => (cr.max_points.to_vi_string(), " (điểm thưởng)"),
                CriterionKind::Deduction => (
                    format!("−{}", cr.max_points.to_vi_string()),
                    " (trừ mỗi lần)",
                ),
                CriterionKind::Disqualifier => (String::new(), " (điều kiện loại trừ)"),
            };
            let _ = write!(
                h,
                "<tr class=\"{cls}\"><td>{code}</td><td>{title}<i>{note}</i></td><td class=\"n\">{points}</td><td>{guidance}</td></tr>",
                cls = if cr.parent_id.is_some() {
                    "sub"
                } else {
                    "criterion"
                },
                code = esc(&cr.code),
                title = esc(&cr.title),
                guidance = esc(&cr.guidance),
            );
        }
    }
    h.push_str("</tbody></table><h2>Đại diện các đơn vị thành viên ký giao ước</h2><div class=\"signatures\">");
    let mut members: Vec<(String, Uuid)> = block.members.iter().map(|u| (name(*u), *u)).collect();
    members.sort_by(|a, b| collation::compare(&a.0, &b.0));
    for (unit_name, unit) in members {
        let signed = doc.signatures.iter().find(|s| s.unit == unit);
        let _ = write!(
            h,
            "<div class=\"sign\"><b>{}</b><br><i>(Ký, ghi rõ họ tên, đóng dấu)</i><div class=\"signer\">{}</div></div>",
            esc(&unit_name),
            match signed {
                Some(s) => format!(
                    "{}<br><small>đã ký trên ThiĐua ngày {}</small>",
                    esc(&s.signer),
                    vi_date(s.signed_at_ms)
                ),
                None => String::new(),
            },
        );
    }
    h.push_str("</div></body></html>");
    h
}

/// A date as printed in Viet Nam (UTC+7): "20/12/2026".
pub fn vi_date(ms: u64) -> String {
    let days = (ms / 1000 + 7 * 3600) / 86_400;
    let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(0));
    format!("{d:02}/{m:02}/{y}")
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

const CSS: &str = "@page{size:A4;margin:18mm 18mm 15mm}body{font-family:'Times New Roman',serif;font-size:12.5pt;line-height:1.3;color:#000}header{display:flex;justify-content:space-between;text-align:center;font-weight:bold;font-size:12pt}header .org{width:45%}header .nation{width:55%}h1{text-align:center;font-size:15pt;margin:16pt 0 2pt}.subtitle{text-align:center;margin-top:0}h2{font-size:13pt;margin:14pt 0 6pt;page-break-after:avoid}table{border-collapse:collapse;width:100%;font-size:11pt}th,td{border:1px solid #000;padding:3pt 5pt;vertical-align:top}th{background:#eee}td.n{text-align:right;white-space:nowrap}tr{page-break-inside:avoid}tr.content td{font-weight:bold;background:#f6f6f6}tr.sub td:nth-child(2){padding-left:18pt}.signatures{display:grid;grid-template-columns:1fr 1fr 1fr;gap:10pt;text-align:center}.sign{page-break-inside:avoid;min-height:110pt;font-size:11pt}.signer{margin-top:40pt;font-weight:bold}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_covenant_prints_every_criterion_and_a_block_per_member() {
        let mut records = crate::demo::records();
        let signed_by = crate::demo::id(3);
        records.push(Record::Signature(crate::model::Signature {
            id: crate::demo::id(7777),
            block_id: crate::demo::BLOCK_ID,
            covenant_id: crate::demo::COVENANT_ID,
            unit: signed_by,
            signer: "Lê Văn <Cường>".into(),
            signed_at_ms: 1_797_796_800_000,
        }));
        let html = latest_covenant_html(crate::demo::BLOCK_ID, &records).expect("printed");
        let criteria = records
            .iter()
            .filter(|r| matches!(r, Record::Criterion(_)))
            .count();
        assert_eq!(
            html.matches("<tr class=\"criterion\">").count()
                + html.matches("<tr class=\"sub\">").count(),
            criteria
        );
        assert_eq!(html.matches("class=\"sign\"").count(), 9);
        assert!(html.contains("Lê Văn &lt;Cường&gt;<br><small>đã ký trên ThiĐua ngày 21/12/2026"));
        assert!(html.contains("Tổng điểm chuẩn: <b>100,00</b>"));
        assert!(latest_covenant_html(Uuid::nil(), &records).is_err());
    }

    #[test]
    fn dates_print_in_vietnam_time() {
        assert_eq!(vi_date(0), "01/01/1970");
        // 2026-12-20 20:00 UTC is already the 21st in Hà Nội.
        assert_eq!(vi_date(1_797_796_800_000), "21/12/2026");
        assert_eq!(vi_date(951_782_400_000), "29/02/2000");
    }
}
