//! Covenant import and export: JSON of the shared types, and a spreadsheet-friendly CSV of the
//! criteria table that a secretary can prepare in Excel.
//!
//! CSV layout (RFC 4180): a header row naming the columns in Vietnamese or English, in any
//! order — `Mã`/`code`, `Nội dung, tiêu chí`/`title`, `Loại`/`kind`, `Điểm chuẩn`/`max_points`,
//! `Hướng dẫn`/`guidance` — then one row per content or criterion. The code gives the tree:
//! "2" is a content, "2.3" a criterion of content 2, "2.3.1" a sub-criterion of 2.3; a parent
//! comes before its children. Kinds: chuẩn/standard (the default), thưởng/bonus, trừ/deduction,
//! loại trừ/disqualifier. Points take a decimal point or comma ("7.5", "7,5"). The delimiter is
//! read from the header (comma, semicolon as Excel writes it in a Vietnamese locale, or tab);
//! UTF-8 with or without BOM. Import is all or nothing: every bad row is reported with its line
//! number and reason, and nothing is returned to store. Export writes a BOM and CRLF so Excel
//! opens it as UTF-8.

use std::collections::HashMap;

use uuid::Uuid;

use crate::covenant::{CovenantDoc, content_points, document_order};
use crate::error::DomainError;
use crate::model::{Content, Covenant, Criterion, CriterionKind};
use crate::points::Points;

/// Most rows one file may hold.
pub const MAX_ROWS: usize = 2000;

/// The covenant as pretty JSON.
pub fn to_json(doc: &CovenantDoc) -> String {
    serde_json::to_string_pretty(doc).unwrap_or_else(|e| unreachable!("plain data: {e}"))
}

/// A covenant from JSON, checked; every problem when it is unsound.
pub fn from_json(text: &str, step: Points) -> Result<CovenantDoc, Vec<DomainError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let doc: CovenantDoc = serde_json::from_str(text).map_err(|e| {
        vec![
            DomainError::BadFile {
                reason: e.to_string(),
            }
            .at_line(e.line()),
        ]
    })?;
    let problems = doc.problems(step);
    if problems.is_empty() {
        Ok(doc)
    } else {
        Err(problems.into_iter().map(|p| p.error).collect())
    }
}

const HEADER_VI: [&str; 5] = [
    "Mã",
    "Nội dung, tiêu chí",
    "Loại",
    "Điểm chuẩn",
    "Hướng dẫn",
];

/// The criteria table as CSV: BOM, comma-separated, CRLF, Vietnamese header.
pub fn to_csv(doc: &CovenantDoc) -> String {
    let mut out = String::from("\u{feff}");
    write_row(&mut out, HEADER_VI.iter().copied());
    let (contents, criteria) = document_order(&doc.contents, &doc.criteria);
    for content in contents {
        let max = content_points(&doc.criteria, content.id).to_string();
        write_row(
            &mut out,
            [content.code.as_str(), &content.title, "", &max, ""],
        );
        for c in criteria.iter().filter(|c| c.content_id == content.id) {
            criterion_row(&mut out, c);
        }
    }
    out
}

fn criterion_row(out: &mut String, c: &Criterion) {
    let max = c.max_points.to_string();
    write_row(
        out,
        [
            c.code.as_str(),
            &c.title,
            kind_vi(c.kind),
            &max,
            &c.guidance,
        ],
    );
}

fn kind_vi(kind: CriterionKind) -> &'static str {
    match kind {
        CriterionKind::Standard => "chuẩn",
        CriterionKind::Bonus => "thưởng",
        CriterionKind::Deduction => "trừ",
        CriterionKind::Disqualifier => "loại trừ",
    }
}

/// Writes one CSV row: a field holding a separator a reader might use (`,` `;` tab), a quote
/// or a line break is quoted, so a reader with either list separator (Excel uses `;` under
/// Vietnamese regional settings) sees one cell. Text fields go through `defuse` first.
pub fn write_row<'a>(out: &mut String, fields: impl IntoIterator<Item = &'a str>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if f.contains([',', ';', '"', '\n', '\r', '\t']) || f.starts_with(' ') {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push_str("\r\n");
}

/// A text cell a spreadsheet must not run as a formula: `'` goes before a formula start
/// (`=`, `+`, `-`, `@`, tab, CR) at the start and after every separator a reader might split
/// on, in case a reader ignores the quotes. Only for text: points and counts keep their sign.
pub fn defuse(s: &str) -> String {
    let risky = |c: char| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r');
    let mut out = String::with_capacity(s.len() + 2);
    let mut at_start = true;
    for c in s.chars() {
        if at_start && risky(c) {
            out.push('\'');
        }
        out.push(c);
        at_start = matches!(c, ',' | ';' | '\t') || (at_start && c == ' ');
    }
    out
}

/// One parsed record with the line it starts on.
struct Row {
    line: usize,
    fields: Vec<String>,
}

/// Splits CSV text into records (quoted fields may span lines), from the given delimiter.
fn parse_rows(text: &str, delimiter: char) -> Result<Vec<Row>, DomainError> {
    let mut rows = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut line = 1;
    let mut start = 1;
    let mut chars = text.chars().peekable();
    let mut quoted_field = false;
    while let Some(ch) = chars.next() {
        if in_quotes {
            match ch {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                '\r' => {}
                c => field.push(c),
            }
            continue;
        }
        match ch {
            '"' if field.trim().is_empty() && !quoted_field => {
                field.clear();
                in_quotes = true;
                quoted_field = true;
            }
            '"' => {
                return Err(DomainError::BadFile {
                    reason: "a quote inside an unquoted field".into(),
                }
                .at_line(line));
            }
            c if c == delimiter => {
                fields.push(std::mem::take(&mut field));
                quoted_field = false;
            }
            '\r' => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                quoted_field = false;
                rows.push(Row {
                    line: start,
                    fields: std::mem::take(&mut fields),
                });
                line += 1;
                start = line;
            }
            c => {
                if quoted_field && !c.is_whitespace() {
                    return Err(DomainError::BadFile {
                        reason: "text after a closing quote".into(),
                    }
                    .at_line(line));
                }
                field.push(c);
            }
        }
    }
    if in_quotes {
        return Err(DomainError::BadFile {
            reason: "a quoted field is never closed".into(),
        }
        .at_line(start));
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        rows.push(Row {
            line: start,
            fields,
        });
    }
    // Rows of nothing but empty cells (Excel leaves them) are skipped.
    rows.retain(|r| r.fields.iter().any(|f| !f.trim().is_empty()));
    Ok(rows)
}

#[derive(Clone, Copy)]
enum Column {
    Code,
    Title,
    Kind,
    Max,
    Guidance,
}

fn column(name: &str) -> Option<Column> {
    let n = name.trim().to_lowercase();
    Some(match n.as_str() {
        "mã" | "ma" | "mã số" | "stt" | "code" => Column::Code,
        "nội dung, tiêu chí"
        | "nội dung / tiêu chí"
        | "tiêu chí"
        | "nội dung"
        | "tên"
        | "title" => Column::Title,
        "loại" | "loai" | "kind" | "type" => Column::Kind,
        "điểm chuẩn" | "điểm tối đa" | "điểm" | "max_points" | "max points" | "points" => {
            Column::Max
        }
        "hướng dẫn" | "hướng dẫn chấm" | "ghi chú" | "guidance" => Column::Guidance,
        _ => return None,
    })
}

fn parse_kind(text: &str) -> Result<CriterionKind, DomainError> {
    let t = text.trim().to_lowercase();
    Ok(match t.as_str() {
        "" | "chuẩn" | "tiêu chuẩn" | "điểm chuẩn" | "standard" => {
            CriterionKind::Standard
        }
        "thưởng" | "điểm thưởng" | "cộng" | "điểm cộng" | "bonus" => {
            CriterionKind::Bonus
        }
        "trừ" | "điểm trừ" | "deduction" => CriterionKind::Deduction,
        "loại trừ" | "loại" | "disqualifier" => CriterionKind::Disqualifier,
        _ => {
            return Err(DomainError::UnknownCriterionKind {
                input: text.chars().take(40).collect(),
            });
        }
    })
}

/// Reads a criteria table into `covenant`, with fresh ids from `new_id`; every problem, each
/// with its line, when anything is wrong.
pub fn from_csv(
    text: &str,
    covenant: &Covenant,
    step: Points,
    mut new_id: impl FnMut() -> Uuid,
) -> Result<CovenantDoc, Vec<DomainError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().next().unwrap_or("");
    let delimiter = [',', ';', '\t']
        .into_iter()
        .max_by_key(|d| first.matches(*d).count())
        .unwrap_or(',');
    let rows = parse_rows(text, delimiter).map_err(|e| vec![e])?;
    let Some((header, body)) = rows.split_first() else {
        return Err(vec![DomainError::BadFile {
            reason: "the file is empty".into(),
        }]);
    };
    if body.len() > MAX_ROWS {
        return Err(vec![DomainError::BadFile {
            reason: format!("more than {MAX_ROWS} rows"),
        }]);
    }
    let mut at: HashMap<u8, usize> = HashMap::new();
    for (i, name) in header.fields.iter().enumerate() {
        if let Some(c) = column(name) {
            at.entry(c as u8).or_insert(i);
        }
    }
    for (c, name) in [
        (Column::Code, "Mã"),
        (Column::Title, "Nội dung, tiêu chí"),
        (Column::Max, "Điểm chuẩn"),
    ] {
        if !at.contains_key(&(c as u8)) {
            return Err(vec![
                DomainError::MissingColumn { column: name }.at_line(header.line),
            ]);
        }
    }
    let get = |row: &Row, c: Column| -> String {
        at.get(&(c as u8))
            .and_then(|i| row.fields.get(*i))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };

    let mut errors = Vec::new();
    let mut doc = CovenantDoc {
        covenant: covenant.clone(),
        contents: Vec::new(),
        criteria: Vec::new(),
        signatures: Vec::new(),
    };
    // Code → (id, line, is content, stated content total).
    let mut by_code: HashMap<String, (Uuid, usize)> = HashMap::new();
    let mut line_of: HashMap<Uuid, usize> = HashMap::new();
    let mut content_totals: Vec<(Uuid, String, Points, usize)> = Vec::new();
    let mut positions: HashMap<Uuid, u32> = HashMap::new();
    for row in body {
        let line = row.line;
        let code = get(row, Column::Code);
        let title = get(row, Column::Title);
        let max_text = get(row, Column::Max);
        let kind_text = get(row, Column::Kind);
        if code.is_empty() {
            errors.push(DomainError::EmptyText { field: "code" }.at_line(line));
            continue;
        }
        if by_code.contains_key(&code) {
            errors.push(DomainError::DuplicateCode { code }.at_line(line));
            continue;
        }
        let max = if max_text.is_empty() {
            None
        } else {
            match max_text.parse::<Points>() {
                Ok(p) => Some(p),
                Err(e) => {
                    errors.push(e.at_line(line));
                    continue;
                }
            }
        };
        let id = new_id();
        match code.rsplit_once('.') {
            None => {
                let k = doc.contents.len() as u32;
                doc.contents.push(Content {
                    id,
                    block_id: covenant.block_id,
                    covenant_id: covenant.id,
                    position: k,
                    code: code.clone(),
                    title,
                });
                if let Some(max) = max {
                    content_totals.push((id, code.clone(), max, line));
                }
            }
            Some((parent_code, _)) => {
                let kind = match parse_kind(&kind_text) {
                    Ok(k) => k,
                    Err(e) => {
                        errors.push(e.at_line(line));
                        continue;
                    }
                };
                let Some((parent, _)) = by_code.get(parent_code).copied() else {
                    errors.push(DomainError::OrphanCode { code }.at_line(line));
                    continue;
                };
                let (content_id, parent_id) = match doc.contents.iter().find(|c| c.id == parent) {
                    Some(c) => (c.id, None),
                    None => match doc.criteria.iter().find(|c| c.id == parent) {
                        Some(p) => (p.content_id, Some(p.id)),
                        None => unreachable!("every code maps to a stored row"),
                    },
                };
                let position = positions.entry(parent).or_insert(0);
                doc.criteria.push(Criterion {
                    id,
                    block_id: covenant.block_id,
                    content_id,
                    parent_id,
                    position: *position,
                    code: code.clone(),
                    title,
                    guidance: get(row, Column::Guidance),
                    kind,
                    max_points: max.unwrap_or(Points::ZERO),
                });
                *position += 1;
            }
        }
        by_code.insert(code, (id, line));
        line_of.insert(id, line);
    }
    // A content's stated points, when given, must match its standard criteria.
    for (id, code, stated, line) in content_totals {
        let sum = content_points(&doc.criteria, id);
        if sum != stated {
            errors.push(DomainError::SubcriteriaTotalMismatch { code, sum, stated }.at_line(line));
        }
    }
    if errors.is_empty() {
        for p in doc.problems(step) {
            errors.push(match line_of.get(&p.record) {
                Some(line) => p.error.at_line(*line),
                None => p.error,
            });
        }
    }
    if errors.is_empty() {
        Ok(doc)
    } else {
        errors.sort_by_key(|e| match e {
            DomainError::AtLine { line, .. } => *line,
            _ => usize::MAX,
        });
        Err(errors)
    }
}
