//! `GET /api/v1/blocks/{id}/audit` (JSON) and `/audit.csv`: the block's audit log, for its
//! secretary and the administrators.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;
use shared::transfer::{defuse, write_row};
use uuid::Uuid;

use crate::auth::{Auth, PageAuth};
use crate::error::ApiError;
use crate::store::AuditRow;
use crate::{AppState, Store};

/// Paging of the JSON form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    after: i64,
    #[serde(default)]
    limit: Option<u32>,
}

fn check(auth: &Auth, block: Uuid) -> Result<(), ApiError> {
    if auth.principal.manages(block) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "the audit log is for the block's secretary and admins",
        ))
    }
}

/// The block in the path; a malformed one is an `ErrorBody` like every other error, not
/// axum's plain-text rejection.
fn block_id(path: Result<Path<Uuid>, PathRejection>) -> Result<Uuid, ApiError> {
    path.map(|Path(b)| b)
        .map_err(|r| ApiError::Malformed(r.body_text()))
}

/// The JSON page.
pub(crate) async fn audit_json<S: Store>(
    State(state): State<AppState<S>>,
    PageAuth(auth): PageAuth,
    path: Result<Path<Uuid>, PathRejection>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<AuditRow>>, ApiError> {
    let block = block_id(path)?;
    let Query(q) = query.map_err(|r| ApiError::Malformed(r.body_text()))?;
    check(&auth, block)?;
    let limit = q.limit.unwrap_or(1000).clamp(1, 10_000);
    Ok(Json(state.store.audit(block, q.after, limit).await?))
}

/// The whole log as CSV (UTF-8 with BOM, CRLF, so Excel opens it with the diacritics intact).
pub(crate) async fn audit_csv<S: Store>(
    State(state): State<AppState<S>>,
    PageAuth(auth): PageAuth,
    path: Result<Path<Uuid>, PathRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let block = block_id(path)?;
    check(&auth, block)?;
    let mut out = String::from(
        "\u{feff}id,server_time_ms,account_id,device_id,mutation_id,client_hlc,record_id,op,old_value,new_value,won,reason\r\n",
    );
    let mut after = 0;
    loop {
        let rows = state.store.audit(block, after, 5000).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for r in &rows {
            let fields = [
                r.id.to_string(),
                r.server_ms.to_string(),
                r.account_id.clone().unwrap_or_default(),
                r.device_id.clone(),
                r.mutation_id.clone(),
                r.client_hlc.clone(),
                r.record_id.clone(),
                r.op.clone(),
                r.old_value.clone(),
                r.new_value.clone(),
                r.won.to_string(),
                r.reason.clone().unwrap_or_default(),
            ];
            let line: Vec<String> = fields.iter().map(|f| defuse(f)).collect();
            write_row(&mut out, line.iter().map(String::as_str));
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"audit-{block}.csv\""),
            ),
        ],
        out,
    ))
}

#[cfg(test)]
mod tests {
    use shared::transfer::{defuse, write_row};

    /// Splits a CSV line as a reader with `sep` would, honouring quotes.
    fn cells(line: &str, sep: char) -> Vec<String> {
        let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                '"' => quoted = !quoted,
                c if c == sep && !quoted => out.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        out.push(cur);
        out
    }

    #[test]
    fn no_reader_sees_a_formula_whatever_its_separator() {
        let notes = [
            "a;=1+1;b",
            "=SUM(A1)",
            "x,+1,y",
            "ok; @cmd",
            "-2 điểm",
            "{\"x\":1}",
        ];
        let mut out = String::new();
        let fields: Vec<String> = notes.iter().map(|n| defuse(n)).collect();
        write_row(&mut out, fields.iter().map(String::as_str));
        let line = out.trim_end();
        for sep in [',', ';'] {
            for cell in cells(line, sep) {
                // Each piece a naive reader might also split off, too.
                for piece in cell.split([',', ';']) {
                    let p = piece.trim_start();
                    assert!(
                        !p.starts_with(['=', '+', '-', '@']),
                        "{sep}: {cell:?} → {p:?}"
                    );
                }
            }
        }
        assert_eq!(
            cells(line, ',').len(),
            notes.len(),
            "one cell per field: {line}"
        );
        // A `;` reader sees this comma-separated file as one text cell per line: harmless.
    }
}
