//! `GET /api/v1/overview.html` and `/overview.xlsx`: the central office's view of every block
//! (`shared::overview`), filtered by year, level and province, as a page with links to each
//! block's minutes and workbook, and as one workbook of everything selected. Administrators
//! only.

use std::fmt::Write as _;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;
use shared::model::BlockLevel;
use shared::overview::{self, BlockLine, Filter};
use shared::report::esc;

use crate::auth::{Auth, PageAuth};
use crate::error::ApiError;
use crate::routes::report::{live_records, write_tables};
use crate::{AppState, Store};

/// The filters, as the page's form sends them (blank means all).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OverviewQuery {
    #[serde(default)]
    year: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    province: String,
}

impl OverviewQuery {
    fn filter(&self) -> Result<Filter, ApiError> {
        let year = match self.year.trim() {
            "" => None,
            y => Some(
                y.parse::<u16>()
                    .map_err(|_| ApiError::Malformed(format!("year {y:?} is not a year")))?,
            ),
        };
        let level = match self.level.trim() {
            "" => None,
            "central" => Some(BlockLevel::Central),
            "provincial" => Some(BlockLevel::Provincial),
            "local" => Some(BlockLevel::Local),
            other => {
                return Err(ApiError::Malformed(format!(
                    "level {other:?} is not central, provincial or local"
                )));
            }
        };
        let province = Some(self.province.trim().to_owned()).filter(|p| !p.is_empty());
        Ok(Filter {
            year,
            level,
            province,
        })
    }
}

/// Every block the filter admits, for an administrator.
async fn lines<S: Store>(
    state: &AppState<S>,
    auth: &Auth,
    query: Result<Query<OverviewQuery>, QueryRejection>,
) -> Result<(Vec<BlockLine>, OverviewQuery), ApiError> {
    let Query(q) = query.map_err(|r| ApiError::Malformed(r.body_text()))?;
    if !auth.principal.admin {
        return Err(ApiError::Forbidden(
            "the overview is for the central office",
        ));
    }
    let filter = q.filter()?;
    let records = live_records(state, None).await?;
    Ok((overview::overview(&records, &filter), q))
}

/// The page: the filter form, one row per block, links to its documents.
pub(crate) async fn overview_html<S: Store>(
    State(state): State<AppState<S>>,
    PageAuth(auth): PageAuth,
    query: Result<Query<OverviewQuery>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let (lines, q) = lines(&state, &auth, query).await?;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Tổng hợp thi đua – Văn phòng</title><style>{CSS}</style></head><body><h1>Tổng hợp các khối, cụm thi đua</h1>\
         <form method=\"get\">\
         <label>Năm <input name=\"year\" inputmode=\"numeric\" value=\"{year}\"></label>\
         <label>Cấp <select name=\"level\">{levels}</select></label>\
         <label>Tỉnh, thành phố <input name=\"province\" value=\"{province}\"></label>\
         <button>Lọc</button> <a class=\"button\" href=\"overview.xlsx?{qs}\">Tải Excel</a></form>",
        year = esc(&q.year),
        province = esc(&q.province),
        levels = [
            ("", "Tất cả"),
            ("central", "Trung ương"),
            ("provincial", "Tỉnh, thành phố"),
            ("local", "Cơ sở")
        ]
        .iter()
        .map(|(v, l)| format!(
            "<option value=\"{v}\"{}>{l}</option>",
            if q.level == *v { " selected" } else { "" }
        ))
        .collect::<String>(),
        qs = esc(&query_string(&q)),
    );
    let _ = write!(
        h,
        "<p>{n} khối, cụm.</p><table><thead><tr><th>Năm</th><th>Cấp</th><th>Tỉnh, thành phố</th><th>Khối, cụm</th><th>Tiến độ</th><th>Dẫn đầu</th><th>Đề nghị khen thưởng</th><th>Tài liệu</th></tr></thead><tbody>",
        n = lines.len()
    );
    for l in &lines {
        let b = &l.block;
        let progress: Vec<String> = l
            .rounds
            .iter()
            .map(|r| esc(&overview::round_phrase(r)))
            .collect();
        let (leader, proposals) = match &l.report {
            Some(r) => (
                r.tally
                    .units
                    .first()
                    .map(|u| {
                        format!(
                            "{} ({})",
                            esc(&r.name(u.unit)),
                            u.block_score
                                .map(|s| s.rounded().to_vi_string())
                                .unwrap_or_default()
                        )
                    })
                    .unwrap_or_default(),
                esc(&overview::proposals_phrase(r)).replace("; ", "<br>"),
            ),
            None => (String::new(), esc(l.problem.as_deref().unwrap_or(""))),
        };
        let docs = if l.report.is_some() {
            format!(
                "<a href=\"blocks/{id}/minutes.html\">Biên bản</a> · <a href=\"blocks/{id}/results.xlsx\">Excel</a>",
                id = b.id
            )
        } else {
            String::new()
        };
        let _ = write!(
            h,
            "<tr><td>{year}</td><td>{level}<br><small>{kind}</small></td><td>{province}</td><td>{name}<br><small>{members} thành viên</small></td><td>{progress}</td><td>{leader}</td><td>{proposals}</td><td>{docs}</td></tr>",
            year = b.year,
            level = overview::level_vi(b.level),
            province = esc(&b.province),
            kind = overview::kind_vi(b.kind),
            name = esc(&b.name),
            members = b.members.len(),
            progress = if progress.is_empty() {
                "chưa mở vòng chấm".to_owned()
            } else {
                progress.join("<br>")
            },
        );
    }
    h.push_str("</tbody></table></body></html>");
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], h))
}

/// One workbook of everything selected: the blocks, and every unit's results.
pub(crate) async fn overview_xlsx<S: Store>(
    State(state): State<AppState<S>>,
    PageAuth(auth): PageAuth,
    query: Result<Query<OverviewQuery>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let (lines, _) = lines(&state, &auth, query).await?;
    let bytes = write_tables([
        ("Khối, cụm", overview::blocks_table(&lines)),
        ("Kết quả các đơn vị", overview::units_table(&lines)),
    ])?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"tong-hop-thi-dua.xlsx\"",
            ),
        ],
        bytes,
    ))
}

/// The filters as a query string, for the workbook link.
fn query_string(q: &OverviewQuery) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("year", q.year.as_str()),
        ("level", q.level.as_str()),
        ("province", q.province.as_str()),
    ] {
        if !v.is_empty() {
            parts.push(format!("{k}={}", percent(v)));
        }
    }
    parts.join("&")
}

fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:16px;color:#222}h1{font-size:22px}form{display:flex;flex-wrap:wrap;gap:12px;align-items:end;margin-bottom:12px}label{display:flex;flex-direction:column;font-size:14px}input,select,button,.button{min-height:44px;font-size:16px;padding:0 10px}.button{display:inline-flex;align-items:center;border:1px solid #b71c1c;color:#b71c1c;text-decoration:none;border-radius:4px}button{background:#b71c1c;color:#fff;border:0;border-radius:4px}table{border-collapse:collapse;width:100%;font-size:14px}th,td{border:1px solid #ccc;padding:6px;vertical-align:top;text-align:left}th{background:#f3f3f3}td a{display:inline-block;padding:10px 4px;min-width:44px}";
