//! `GET /api/v1/blocks/{id}/results.csv`, `/results.xlsx`, `/minutes.html` and `/board.html`: the block's
//! results table, a workbook of its results, sheets and ballots, and the minutes of its review
//! meeting (`shared::report`), computed from the stored records for anyone who may read the
//! block. The minutes take the meeting's place, date, chair and
//! secretary from the query, as the secretary fills them in before printing.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde::Deserialize;
use shared::model::Record;
use shared::protocol::{Change, MAX_PULL_LIMIT};
use shared::report::{Cell, Report, Table};
use uuid::Uuid;

use crate::auth::{Auth, PageAuth};
use crate::error::ApiError;
use crate::{AppState, Store};
use shared::correction::Correction;

/// The minutes' query: empty (the meeting's details are on the block, saved through
/// `PUT …/meeting`, so every printing says the same).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MinutesQuery {}

/// Every live (not deleted) record of `blocks` and the units; all blocks when `None`.
pub(crate) async fn live_records<S: Store>(
    state: &AppState<S>,
    blocks: Option<&[Uuid]>,
) -> Result<Vec<Record>, ApiError> {
    let mut records: Vec<Record> = Vec::new();
    let mut cursor = 0;
    loop {
        let page = state.store.pull(blocks, cursor, MAX_PULL_LIMIT).await?;
        let changes: Vec<Change> = serde_json::from_str(page.changes.get())
            .map_err(|e| ApiError::Internal(crate::StoreError::Other(Box::new(e))))?;
        records.extend(changes.into_iter().filter(|c| !c.deleted).map(|c| c.record));
        cursor = page.cursor;
        if !page.more {
            return Ok(records);
        }
    }
}

/// The block in the path, if the account may read it.
fn readable_block(auth: &Auth, path: Result<Path<Uuid>, PathRejection>) -> Result<Uuid, ApiError> {
    let Path(block) = path.map_err(|r| ApiError::Malformed(r.body_text()))?;
    if auth.principal.can_read(Some(block)) {
        Ok(block)
    } else {
        Err(ApiError::Forbidden(
            "the block's documents are for its members",
        ))
    }
}

/// The block's report from its live records, for a reader of the block.
async fn report<S: Store>(
    state: &AppState<S>,
    auth: &Auth,
    path: Result<Path<Uuid>, PathRejection>,
) -> Result<(Report, Vec<Correction>), ApiError> {
    let block = readable_block(auth, path)?;
    let records = live_records(state, Some(&[block])).await?;
    if !auth.principal.manages(block) {
        // The projector's rule (`shared::round::results_published`): delegates and observers
        // see the ranking once the secretary publishes it, not before.
        let rounds: Vec<shared::model::Round> = records
            .iter()
            .filter_map(|r| match r {
                Record::Round(r) if r.block_id == block => Some(r.clone()),
                _ => None,
            })
            .collect();
        if !shared::round::results_published(&rounds) {
            return Err(ApiError::Forbidden(
                "the results are for the secretary until they are published",
            ));
        }
    }
    let report = Report::from_records(block, &records).map_err(|e| ApiError::no_results(&e))?;
    let lines = state.store.corrections(block).await?;
    let corrections = shared::correction::Correction::resolve(&report, &records, &lines);
    Ok((report, corrections))
}

/// The results table as CSV (UTF-8 with BOM, CRLF).
pub(crate) async fn results_csv<S: Store>(
    State(state): State<AppState<S>>,
    PageAuth(auth): PageAuth,
    path: Result<Path<Uuid>, PathRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let (report, _) = report(&state, &auth, path).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"ket-qua-{}-{}.csv\"",
                    report.block.year, report.block.id
                ),
            ),
        ],
        report.csv(),
    ))
}

/// The minutes as one printable HTML page.
pub(crate) async fn minutes_html<S: Store>(
    State(state): State<AppState<S>>,
    PageAuth(auth): PageAuth,
    path: Result<Path<Uuid>, PathRejection>,
    query: Result<Query<MinutesQuery>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(MinutesQuery {}) = query.map_err(|r| ApiError::Malformed(r.body_text()))?;
    let (report, corrections) = report(&state, &auth, path).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        report.minutes_html(&corrections),
    ))
}

/// The workbook: results, every counted sheet, the ballots; points as numbers with two
/// decimals, so the central office can sum and sort them.
pub(crate) async fn results_xlsx<S: Store>(
    State(state): State<AppState<S>>,
    PageAuth(auth): PageAuth,
    path: Result<Path<Uuid>, PathRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let (report, corrections) = report(&state, &auth, path).await?;
    let bytes = workbook(&report, &corrections)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"ket-qua-{}-{}.xlsx\"",
                    report.block.year, report.block.id
                ),
            ),
        ],
        bytes,
    ))
}

fn workbook(report: &Report, corrections: &[Correction]) -> Result<Vec<u8>, ApiError> {
    write_tables([
        ("Kết quả", report.results_table()),
        ("Phiếu chấm", report.sheets_table()),
        ("Bỏ phiếu", report.ballots_table()),
        ("Đính chính", Correction::table(report, corrections)),
    ])
}

/// A workbook of named tables; points as numbers with two decimals.
pub(crate) fn write_tables<const N: usize>(
    tables: [(&str, Table); N],
) -> Result<Vec<u8>, ApiError> {
    let fail = |e: XlsxError| {
        ApiError::Internal(crate::StoreError::Other(
            format!("writing the workbook: {e}").into(),
        ))
    };
    let mut book = Workbook::new();
    let bold = Format::new().set_bold().set_text_wrap();
    let points = Format::new().set_num_format("0.00");
    for (name, (header, rows)) in tables {
        let sheet = book.add_worksheet();
        sheet.set_name(name).map_err(fail)?;
        for (c, title) in header.iter().enumerate() {
            let col = u16::try_from(c).unwrap_or(u16::MAX);
            sheet.write_string(0, col, title, &bold).map_err(fail)?;
            let width = if title.starts_with("Tên") || title.starts_with("Đơn vị") {
                36
            } else {
                14
            };
            sheet.set_column_width(col, width).map_err(fail)?;
        }
        for (r, row) in rows.iter().enumerate() {
            let at = u32::try_from(r + 1).unwrap_or(u32::MAX);
            for (c, cell) in row.iter().enumerate() {
                let col = u16::try_from(c).unwrap_or(u16::MAX);
                match cell {
                    Cell::Empty => {}
                    Cell::Text(s) => {
                        sheet.write_string_only(at, col, s).map_err(fail)?;
                    }
                    Cell::Count(n) => {
                        sheet
                            .write_number_only(at, col, u32::try_from(*n).unwrap_or(u32::MAX))
                            .map_err(fail)?;
                    }
                    // Hundredths to a float for display only: the exact value is its
                    // two-decimal rendering, which f64 holds for any score.
                    Cell::Points(p) => {
                        sheet
                            .write_number(at, col, hundredths_f64(p.hundredths()), &points)
                            .map_err(fail)?;
                    }
                }
            }
        }
    }
    book.save_to_buffer().map_err(fail)
}

/// `h / 100` as a float (an exact decimal string parsed, never a float division).
fn hundredths_f64(h: i64) -> f64 {
    let sign = if h < 0 { "-" } else { "" };
    let a = h.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
        .parse()
        .unwrap_or_default()
}

/// The block's covenant (its latest version) as printed for signing, with each member's
/// signature block.
pub(crate) async fn covenant_html<S: Store>(
    State(state): State<AppState<S>>,
    PageAuth(auth): PageAuth,
    path: Result<Path<Uuid>, PathRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let block = readable_block(&auth, path)?;
    let records = live_records(&state, Some(&[block])).await?;
    let html = shared::printout::latest_covenant_html(block, &records)
        .map_err(|e| ApiError::no_results(&e))?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html))
}

/// The projector screen and results view (`shared::board`), for anyone who may read the
/// block; the page refreshes itself from the live events.
pub(crate) async fn board_html<S: Store>(
    State(state): State<AppState<S>>,
    PageAuth(auth): PageAuth,
    path: Result<Path<Uuid>, PathRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let block = readable_block(&auth, path)?;
    let records = live_records(&state, Some(&[block])).await?;
    let html = shared::board::board_html(block, &records).ok_or(ApiError::NotFound)?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html))
}

/// The block's documents page (`shared::documents`), for anyone who may read the block.
pub(crate) async fn documents_html<S: Store>(
    State(state): State<AppState<S>>,
    PageAuth(auth): PageAuth,
    path: Result<Path<Uuid>, PathRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let block = readable_block(&auth, path)?;
    let records = live_records(&state, Some(&[block])).await?;
    let block = records
        .iter()
        .find_map(|r| match r {
            Record::Block(b) if b.id == block => Some(b),
            _ => None,
        })
        .ok_or(ApiError::NotFound)?;
    let names: Vec<(Uuid, String)> = block
        .members
        .iter()
        .map(|u| {
            let name = records.iter().find_map(|r| match r {
                Record::Unit(x) if x.id == *u => Some(x.name.clone()),
                _ => None,
            });
            (*u, name.unwrap_or_else(|| u.to_string()))
        })
        .collect();
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        shared::documents::documents_html(block, &names),
    ))
}

/// The page that imports a changes file, for any signed-in account.
pub(crate) async fn import_html(_auth: PageAuth) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        shared::documents::import_html(),
    )
}
