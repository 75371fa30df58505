//! Scores corrected after their round was locked, as the documents print them: read from
//! the audit log's `correct` lines and resolved to units and criteria through the records.
//! Only the server's documents use this; the app's shell never links it.

use std::collections::HashMap;

use uuid::Uuid;

use crate::model::Record;
use crate::report::{Cell, Report, Table};

/// A score corrected after its round was locked, as the audit log kept it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correction {
    /// The unit scored.
    pub unit: Uuid,
    /// The unit that scored (the sheet's scorer).
    pub scorer: Uuid,
    /// The criterion's code.
    pub criterion: String,
    /// The value before, as printed.
    pub before: String,
    /// The value after, as printed.
    pub after: String,
    /// Why, in writing.
    pub reason: String,
}

/// One `correct` line of the audit log: the cell, its fields before and after (JSON, as
/// the log keeps them) and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorrectionLine {
    /// The cell.
    pub cell: Uuid,
    /// Its changed fields before.
    pub old: String,
    /// Its changed fields after.
    pub new: String,
    /// The reason.
    pub reason: String,
}

/// A cell's value as the documents print it.
fn value_vi(fields: &str) -> String {
    let value = serde_json::from_str::<serde_json::Value>(fields)
        .ok()
        .and_then(|v| v.get("value").cloned())
        .and_then(|v| serde_json::from_value::<crate::sheet::CellValue>(v).ok());
    match value {
        Some(crate::sheet::CellValue::Points(p)) => p.to_vi_string(),
        Some(crate::sheet::CellValue::Count(n)) => format!("{n} lần"),
        Some(crate::sheet::CellValue::Flag(true)) => "có".to_owned(),
        Some(crate::sheet::CellValue::Flag(false)) => "không".to_owned(),
        None => "(chưa chấm)".to_owned(),
    }
}

impl Correction {
    /// The corrections the audit log kept (`lines`, oldest first), resolving each cell
    /// to its sheet's units and criterion through `records`; a line whose cell is not in
    /// this block is left out.
    pub fn resolve(
        report: &Report,
        records: &[Record],
        lines: &[CorrectionLine],
    ) -> Vec<Correction> {
        let mut cells = HashMap::new();
        let mut sheets = HashMap::new();
        let mut codes = HashMap::new();
        for r in records {
            match r {
                Record::ScoreCell(c) if c.block_id == report.block.id => {
                    cells.insert(c.id, (c.sheet_id, c.criterion_id));
                }
                Record::ScoreSheet(s) if s.block_id == report.block.id => {
                    sheets.insert(s.id, (s.subject, s.scorer));
                }
                Record::Criterion(c) if c.block_id == report.block.id => {
                    codes.insert(c.id, c.code.clone());
                }
                _ => {}
            }
        }
        lines
            .iter()
            .filter_map(|l| {
                let (sheet, criterion) = cells.get(&l.cell)?;
                let (unit, scorer) = sheets.get(sheet)?;
                Some(Correction {
                    unit: *unit,
                    scorer: *scorer,
                    criterion: codes.get(criterion).cloned().unwrap_or_default(),
                    before: value_vi(&l.old),
                    after: value_vi(&l.new),
                    reason: l.reason.clone(),
                })
            })
            .collect()
    }

    /// The corrections as a table (an empty table when there are none).
    pub fn table(report: &Report, corrections: &[Correction]) -> Table {
        let header = [
            "Đơn vị được chấm",
            "Đơn vị chấm",
            "Tiêu chí",
            "Trước",
            "Sau",
            "Lý do",
        ]
        .map(String::from)
        .to_vec();
        let rows = corrections
            .iter()
            .map(|c| {
                [
                    report.name(c.unit),
                    report.name(c.scorer),
                    c.criterion.clone(),
                    c.before.clone(),
                    c.after.clone(),
                    c.reason.clone(),
                ]
                .map(Cell::Text)
                .to_vec()
            })
            .collect();
        (header, rows)
    }
}

#[cfg(test)]
mod correction_tests {
    use super::*;

    #[test]
    fn a_correction_prints_its_values_as_the_documents_do() {
        assert_eq!(value_vi(r#"{"value":{"points":"7.5"}}"#), "7,50");
        assert_eq!(value_vi(r#"{"value":{"count":2}}"#), "2 lần");
        assert_eq!(value_vi(r#"{"value":{"flag":true}}"#), "có");
        assert_eq!(value_vi("{}"), "(chưa chấm)");
        assert_eq!(value_vi("not json"), "(chưa chấm)");
    }
}
