//! `GET /api/v1/blocks/{id}/results.csv` and `/minutes.html`: the block's results table and
//! the minutes of its review meeting (`shared::report`), computed from the stored records for
//! anyone who may read the block. The minutes take the meeting's place, date, chair and
//! secretary from the query, as the secretary fills them in before printing.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;
use shared::model::Record;
use shared::protocol::{Change, MAX_PULL_LIMIT};
use shared::report::{Meeting, Report};
use uuid::Uuid;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::{AppState, Store};

/// Longest text accepted for each meeting field.
const MAX_FIELD_CHARS: usize = 200;

/// The minutes' meeting fields; all optional (blank lines to fill by hand).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MinutesQuery {
    #[serde(default)]
    place: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    chair: String,
    #[serde(default)]
    secretary: String,
    #[serde(default)]
    access_token: Option<String>,
}

/// The block's report from its live records, for a reader of the block.
async fn report<S: Store>(
    state: &AppState<S>,
    auth: &Auth,
    path: Result<Path<Uuid>, PathRejection>,
) -> Result<Report, ApiError> {
    let Path(block) = path.map_err(|r| ApiError::Malformed(r.body_text()))?;
    if !auth.principal.can_read(Some(block)) {
        return Err(ApiError::Forbidden(
            "the results are for the block's members",
        ));
    }
    let mut records: Vec<Record> = Vec::new();
    let mut cursor = 0;
    loop {
        let page = state
            .store
            .pull(Some(&[block]), cursor, MAX_PULL_LIMIT)
            .await?;
        let changes: Vec<Change> = serde_json::from_str(page.changes.get())
            .map_err(|e| ApiError::Internal(crate::StoreError::Other(Box::new(e))))?;
        records.extend(changes.into_iter().filter(|c| !c.deleted).map(|c| c.record));
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    Report::from_records(block, &records).map_err(|e| ApiError::NoResults(e.message_vi()))
}

/// The results table as CSV (UTF-8 with BOM, CRLF).
pub(crate) async fn results_csv<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    path: Result<Path<Uuid>, PathRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let report = report(&state, &auth, path).await?;
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
    auth: Auth,
    path: Result<Path<Uuid>, PathRejection>,
    query: Result<Query<MinutesQuery>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = query.map_err(|r| ApiError::Malformed(r.body_text()))?;
    for (name, value) in [
        ("place", &q.place),
        ("date", &q.date),
        ("chair", &q.chair),
        ("secretary", &q.secretary),
    ] {
        if value.chars().count() > MAX_FIELD_CHARS {
            return Err(ApiError::Malformed(format!(
                "{name} is longer than {MAX_FIELD_CHARS} characters"
            )));
        }
    }
    let _ = q.access_token;
    let report = report(&state, &auth, path).await?;
    let blank = |s: &str| {
        if s.trim().is_empty() {
            "……………………".to_owned()
        } else {
            s.trim().to_owned()
        }
    };
    let meeting = Meeting {
        place: blank(&q.place),
        date: blank(&q.date),
        chair: blank(&q.chair),
        secretary: blank(&q.secretary),
    };
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        report.minutes_html(&meeting),
    ))
}
