//! The list of blocks and a block's home: year, members, head and deputy, the covenant's
//! status, the rounds with who has submitted, and the secretary's round controls.

use leptos::prelude::*;
use shared::model::{Block, BlockKind, CovenantStatus, Record, Round};
use shared::mutation::Op;
use shared::round::{Assignment, RoundState, Stage};
use shared::rules::CrossScoring;
use uuid::Uuid;

use std::fmt::Write as _;

use shared::report::esc;

use super::ballots::Ballots;
use super::format::{covenant_status, round_state, stage};
use super::ui::html_button;
use super::{Ctx, Route, data, tr};
use crate::db::Snapshot;
use crate::i18n::Lang;
use crate::ids;

/// The blocks on this device; with only one, its home.
#[component]
pub fn Home() -> impl IntoView {
    let ctx = Ctx::get();
    let blocks = Memo::new(move |_| {
        ctx.snap
            .with(|s| s.as_ref().map(data::blocks).unwrap_or_default())
    });
    move || {
        let blocks = blocks.get();
        if let [only] = blocks.as_slice() {
            return view! { <BlockHome block=only.id /> }.into_any();
        }
        if blocks.is_empty() {
            return view! {
                <p class="muted card" data-testid="empty">{tr("Chưa có dữ liệu khối thi đua trên máy này. Dữ liệu sẽ tải về khi có mạng.", "No block data on this device yet. It downloads when a network is available.")}</p>
            }
            .into_any();
        }
        view! {
            <section class="card">
                <h2>{tr("Khối, Cụm thi đua", "Emulation blocks")}</h2>
                <ul class="block-list">
                    {blocks.into_iter().map(|b| view! {
                        <li><a class="big-link" href=Route::Block(b.id).hash()>{b.name.clone()} " · " {b.year}</a></li>
                    }).collect_view()}
                </ul>
            </section>
        }
        .into_any()
    }
}

/// A block's home.
#[component]
pub fn BlockHome(
    /// The block.
    block: Uuid,
) -> impl IntoView {
    let ctx = Ctx::get();
    let error = RwSignal::new(None::<String>);
    let home = move || {
        let lang = ctx.lang.get();
        ctx.snap.with(|s| {
            let s = s.as_ref()?;
            Some(match data::block(s, block) {
                Some(b) => block_html(s, &b, lang),
                None => format!(
                    "<p class=\"muted card\">{}</p>",
                    lang.t(
                        "Không tìm thấy khối này trên máy.",
                        "This block is not on this device."
                    )
                ),
            })
        })
    };
    let on_click = move |ev: web_sys::MouseEvent| {
        let Some((act, arg)) = super::ui::clicked(&ev) else {
            return;
        };
        let ops = ctx.snap.with_untracked(|s| {
            let s = s.as_ref()?;
            let b = data::block(s, block)?;
            match act.as_str() {
                // The shell has no such buttons (`runs_block`): leave their code out.
                _ if !cfg!(feature = "editor") => None,
                "open-round"
                    if !super::confirm(ctx.t(
                        "Mở vòng chấm này? Các đại biểu sẽ chấm theo giao ước đã thông qua.",
                        "Open this round? Delegates score against the agreed covenant.",
                    )) =>
                {
                    None
                }
                "open-round" => open_round(s, &b, &arg).map(|r| {
                    r.map(|r| Op::Create {
                        record: Record::Round(r),
                    })
                }),
                "lock" | "reopen" | "publish" => {
                    let to = match act.as_str() {
                        "lock" => RoundState::Locked,
                        "reopen" => RoundState::Open,
                        _ => RoundState::Published,
                    };
                    let id = Uuid::parse_str(&arg).ok()?;
                    if to != RoundState::Open && !confirm_round(ctx, s, &b, id, to) {
                        return None;
                    }
                    Some(Ok(Op::set(id, "state", serde_json::json!(to.as_str()))))
                }
                _ => None,
            }
        });
        match ops {
            Some(Ok(op)) => ctx.run(vec![op], error),
            Some(Err(e)) => error.set(Some(ctx.domain_message(&e))),
            None => {}
        }
    };
    // Outside the snapshot's closure: a sync landing keeps a paper's ticks.
    view! {
        <div on:click=on_click inner_html=home></div>
        {move || error.get().map(|e| view! { <p class="error card" role="alert">{e}</p> })}
        <Ballots block=block />
    }
}

/// Asks the secretary to confirm locking or publishing a round, saying what it does:
/// locking counts the sheets not yet submitted, publishing says results then show to all.
fn confirm_round(ctx: Ctx, s: &Snapshot, b: &Block, id: Uuid, to: RoundState) -> bool {
    let l = ctx.lang.get_untracked();
    let Some(r) = data::round(s, id) else {
        return false;
    };
    let submitted = data::sheets(s, id).iter().filter(|x| x.submitted).count();
    let owed = data::expected_sheets(b, &r);
    let q = if to == RoundState::Locked {
        format!(
            "{} {}/{} {}\n{}",
            l.t("Khóa vòng chấm? Đã nộp", "Lock the round? Submitted:"),
            submitted,
            owed,
            l.t("phiếu.", "sheets."),
            if submitted < owed {
                l.t(
                    "Phiếu chưa nộp sẽ không được tính; đại biểu không chấm tiếp được.",
                    "Sheets not submitted will not count; delegates can no longer score.",
                )
            } else {
                l.t(
                    "Đại biểu không sửa phiếu được nữa.",
                    "Delegates can no longer change their sheets.",
                )
            },
        )
    } else {
        l.t(
            "Công bố kết quả? Mọi đại biểu sẽ thấy kết quả, và quy tắc, thành viên của khối không sửa được nữa.",
            "Publish the results? Every delegate will see them, and the block's rules and members are frozen.",
        )
        .to_owned()
    };
    super::confirm(&q)
}

/// The round of `stage` (wire name) for the block's agreed covenant: pairs by lot when the
/// block's rules say so, with a fresh random seed that the round records and shows, so
/// anyone can redo the draw. `None` when there is no agreed covenant or no such stage.
fn open_round(
    s: &Snapshot,
    b: &Block,
    stage_name: &str,
) -> Option<Result<Round, shared::DomainError>> {
    let st = [Stage::SelfScoring, Stage::CrossScoring]
        .into_iter()
        .find(|st| st.as_str() == stage_name)?;
    let covenant = data::covenants(s, b.id)
        .last()
        .filter(|c| matches!(c.status, CovenantStatus::Agreed | CovenantStatus::Signed))
        .map(|c| c.id)?;
    let assignment = match (st, b.rules.cross_scoring) {
        (Stage::CrossScoring, CrossScoring::PairsByLot { per_unit }) => {
            let seed = ids::new_v7().as_u128() as u64;
            match Assignment::draw(&b.members, per_unit, seed) {
                Ok(a) => a,
                Err(e) => return Some(Err(e)),
            }
        }
        _ => Assignment::AllScoreAll,
    };
    Some(Ok(Round {
        id: ids::new_v7(),
        block_id: b.id,
        covenant_id: covenant,
        stage: st,
        state: RoundState::Open,
        assignment,
    }))
}

/// The block's home as one escaped HTML string: the block and its members, the covenant,
/// the rounds with who has submitted, and the secretary's controls. Text rather than
/// `view!` for the shell's budget (see `covenant::card_html`); the buttons carry
/// `data-act` and `data-id` for the home's one click handler.
fn block_html(s: &Snapshot, b: &Block, l: Lang) -> String {
    let principal = s
        .meta
        .as_ref()
        .and_then(|m| m.principal.clone())
        .unwrap_or_default();
    let manages = super::runs_block(&principal, b.id);
    let mine = principal.unit_in(b.id);
    let members = data::members(s, b);
    let latest = data::covenants(s, b.id).last().cloned();
    let rounds = data::rounds(s, b.id);
    let kind = match b.kind {
        BlockKind::Khoi => l.t("Khối thi đua", "Emulation block"),
        BlockKind::Cum => l.t("Cụm thi đua", "Emulation cluster"),
    };
    let mut h = format!(
        "<section class=\"card block\" data-testid=\"block\"><h2>{}</h2><p class=\"muted\">{kind} · {} {}{}</p>\
         <h3>{} ({})</h3><ul class=\"members\">",
        esc(&b.name),
        l.t("Năm", "Year"),
        b.year,
        if b.province.is_empty() {
            String::new()
        } else {
            format!(" · {}", esc(&b.province))
        },
        l.t("Đơn vị thành viên", "Member units"),
        members.len(),
    );
    for u in &members {
        let _ = write!(h, "<li>{}", esc(&u.name));
        for (is, class, text) in [
            (
                Some(u.id) == b.head,
                "badge",
                l.t("Khối trưởng", "Block head"),
            ),
            (Some(u.id) == b.deputy, "badge", l.t("Khối phó", "Deputy")),
            (
                Some(u.id) == mine,
                "badge mine",
                l.t("Đơn vị của tôi", "My unit"),
            ),
        ] {
            if is {
                let _ = write!(h, " <span class=\"{class}\">{text}</span>");
            }
        }
        h.push_str("</li>");
    }
    h.push_str("</ul></section>");

    if let Some(c) = &latest {
        let _ = write!(
            h,
            "<section class=\"card\" data-testid=\"covenant-card\"><h3>{}</h3><p><strong>{}</strong> · {} {}</p>\
             <p><span class=\"badge\" data-testid=\"covenant-status\">{}</span> {} {}/{}</p>\
             <a class=\"button\" href=\"{}\" data-testid=\"open-covenant\">{}</a></section>",
            l.t("Giao ước thi đua", "Emulation covenant"),
            esc(&c.title),
            l.t("phiên bản", "version"),
            c.version,
            covenant_status(c.status, l),
            l.t("Đã ký:", "Signed:"),
            data::signatures(s, c.id).len(),
            b.members.len(),
            esc(&Route::Covenant(b.id, None).hash()),
            l.t("Mở giao ước", "Open the covenant"),
        );
    }

    let _ = write!(
        h,
        "<section class=\"card\" data-testid=\"rounds\"><h3>{}</h3>",
        l.t("Các vòng chấm điểm", "Scoring rounds")
    );
    if rounds.is_empty() {
        let _ = write!(
            h,
            "<p class=\"muted\">{}</p>",
            l.t("Chưa mở vòng chấm điểm nào.", "No scoring round yet.")
        );
    }
    h.push_str("<ul class=\"rounds\">");
    for r in &rounds {
        round_html(&mut h, s, b, r, manages, mine, l);
    }
    h.push_str("</ul><div class=\"actions\">");
    // The secretary opens the rounds once the covenant is agreed.
    if let Some(c) = latest
        .as_ref()
        .filter(|c| manages && matches!(c.status, CovenantStatus::Agreed | CovenantStatus::Signed))
    {
        for st in [Stage::SelfScoring, Stage::CrossScoring] {
            if !rounds
                .iter()
                .any(|r| r.stage == st && r.covenant_id == c.id)
            {
                let label = format!("{} {}", l.t("Mở vòng", "Open round:"), stage(st, l));
                html_button(
                    &mut h,
                    "",
                    &label,
                    "open-round",
                    st.as_str(),
                    &format!("open-round-{}", st.as_str()),
                    None,
                );
            }
        }
    }
    h.push_str("</div>");
    // The documents are server pages (they need the network; the app does not), opened in
    // a new tab: a page of links there costs the app's shell nothing.
    // They open by the page session's cookie, which the sync engine starts with the live
    // stream: no token in the address.
    if s.meta.as_ref().is_some_and(|m| m.token.is_some()) {
        let _ = write!(
            h,
            "<a class=\"button secondary\" target=\"_blank\" data-testid=\"documents\" href=\"/api/v1/blocks/{}/documents.html\">{}</a>",
            b.id,
            l.t("Tài liệu, trình chiếu", "Documents, projector"),
        );
    }
    h.push_str("</section>");
    h
}

/// The submitted sheets of a round that leave a criterion needing a value unscored, as
/// (scorer, subject).
fn partial_sheets(
    s: &Snapshot,
    r: &Round,
    sheets: &[shared::model::ScoreSheet],
) -> Vec<(Uuid, Uuid)> {
    let Some((table, _)) = super::scoring::table_for(s, r.covenant_id) else {
        return Vec::new();
    };
    let owed = table.to_score();
    sheets
        .iter()
        .filter(|x| x.submitted)
        .filter(|x| {
            s.cells_of(x.id)
                .filter(|c| table.leaf(c.criterion_id).is_ok_and(|l| l.needs_value()))
                .count()
                < owed
        })
        .map(|x| (x.scorer, x.subject))
        .collect()
}

/// One round: state, sheets submitted, per unit its submitted sheets out of those it owes,
/// the link to score or view, and the secretary's lock, reopen and publish.
fn round_html(
    h: &mut String,
    s: &Snapshot,
    b: &Block,
    r: &Round,
    manages: bool,
    mine: Option<Uuid>,
    l: Lang,
) {
    let sheets = data::sheets(s, r.id);
    let submitted = sheets.iter().filter(|x| x.submitted).count();
    let _ = write!(
        h,
        "<li class=\"round\" data-testid=\"round-{}\"><div class=\"round-head\"><strong>{}</strong> \
         <span class=\"badge\" data-testid=\"round-state\">{}</span> \
         <span data-testid=\"round-progress\">{submitted}/{} {}</span></div>",
        r.stage.as_str(),
        stage(r.stage, l),
        round_state(r.state, l),
        data::expected_sheets(b, r),
        l.t("phiếu đã nộp", "sheets submitted"),
    );
    // For the secretary: submitted sheets that leave criteria unscored are not "done".
    let partial = if manages {
        partial_sheets(s, r, &sheets)
    } else {
        Vec::new()
    };
    if !partial.is_empty() {
        let _ = write!(
            h,
            "<p class=\"warning\" data-testid=\"partial-sheets\">{} {}: {}</p>",
            partial.len(),
            l.t(
                "phiếu đã nộp còn thiếu điểm",
                "submitted sheets leave criteria unscored"
            ),
            partial
                .iter()
                .map(|(scorer, subject)| format!(
                    "{} → {}",
                    esc(&data::short_name(s, *scorer)),
                    esc(&data::short_name(s, *subject))
                ))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    if let Assignment::PairsByLot { seed, per_unit, .. } = &r.assignment {
        let _ = write!(
            h,
            "<p class=\"muted\" data-testid=\"draw-seed\">{} {per_unit} · {} {seed}</p>",
            l.t(
                "Bốc thăm: mỗi đơn vị chấm",
                "Drawn by lot: each unit scores"
            ),
            l.t("hạt giống", "seed"),
        );
    }
    let _ = write!(
        h,
        "<ul class=\"chips\" aria-label=\"{}\">",
        l.t("Đơn vị đã nộp phiếu", "Units that submitted")
    );
    for u in data::members(s, b) {
        let owed = data::subjects_of(b, r, u.id).len();
        let done = sheets
            .iter()
            .filter(|x| x.scorer == u.id && x.submitted)
            .count();
        let class = if partial.iter().any(|(scorer, _)| *scorer == u.id) {
            "chip partial"
        } else if owed > 0 && done >= owed {
            "chip done"
        } else {
            "chip"
        };
        let _ = write!(
            h,
            "<li class=\"{class}\">{} {done}/{owed}</li>",
            esc(&u.short_name)
        );
    }
    let can_score = mine.is_some_and(|u| !data::subjects_of(b, r, u).is_empty());
    let _ = write!(
        h,
        "</ul><div class=\"actions\"><a class=\"button\" href=\"{}\" data-testid=\"open-round\">{}</a>",
        esc(&Route::Round {
            block: b.id,
            round: r.id,
            subject: None,
            scorer: None
        }
        .hash()),
        if can_score && r.state == RoundState::Open {
            l.t("Chấm điểm", "Score")
        } else {
            l.t("Xem phiếu", "View sheets")
        },
    );
    if manages {
        let id = r.id.to_string();
        let buttons: &[(&str, &str, &str)] = match r.state {
            RoundState::Open => &[("lock", "Khóa vòng", "Lock")],
            RoundState::Locked => &[
                ("reopen", "Mở lại", "Reopen"),
                ("publish", "Công bố", "Publish"),
            ],
            RoundState::Published => &[],
        };
        for (act, vi, en) in buttons {
            html_button(h, "secondary", l.t(vi, en), act, &id, "", None);
        }
    }
    h.push_str("</div></li>");
}
