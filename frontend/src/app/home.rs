//! The list of blocks and a block's home: year, members, head and deputy, the covenant's
//! status, the rounds with who has submitted, and the secretary's round controls.

use leptos::prelude::*;
use shared::model::{Block, BlockKind, CovenantStatus, Record, Round};
use shared::mutation::Op;
use shared::round::{Assignment, RoundState, Stage};
use shared::rules::CrossScoring;
use uuid::Uuid;

use super::ballots::Ballots;
use super::format::{covenant_status, round_state, stage};
use super::ui::text_button;
use super::{Ctx, Route, data, label, tr};
use crate::db::Snapshot;
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

fn kind_text(k: BlockKind, ctx: Ctx) -> &'static str {
    match k {
        BlockKind::Khoi => ctx.t("Khối thi đua", "Emulation block"),
        BlockKind::Cum => ctx.t("Cụm thi đua", "Emulation cluster"),
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
        ctx.snap.with(|s| {
            let Some(s) = s.as_ref() else {
                return ().into_any();
            };
            let Some(b) = data::block(s, block) else {
                return view! { <p class="muted card">{tr("Không tìm thấy khối này trên máy.", "This block is not on this device.")}</p> }.into_any();
            };
            block_view(ctx, s, &b, error).into_any()
        })
    };
    // Outside the snapshot's closure: a sync landing keeps a paper's ticks.
    view! { {home} <Ballots block=block /> }
}

fn block_view(
    ctx: Ctx,
    s: &Snapshot,
    b: &Block,
    error: RwSignal<Option<String>>,
) -> impl IntoView + use<> {
    let principal = s
        .meta
        .as_ref()
        .and_then(|m| m.principal.clone())
        .unwrap_or_default();
    let manages = principal.manages(b.id);
    let mine = principal.unit_in(b.id);
    let members = data::members(s, b);
    let covenants = data::covenants(s, b.id);
    let latest = covenants.last().cloned();
    let rounds = data::rounds(s, b.id);
    let (head, deputy, block_id) = (b.head, b.deputy, b.id);
    let year = b.year;
    let kind = b.kind;
    let place = if b.province.is_empty() {
        String::new()
    } else {
        format!(" · {}", b.province)
    };

    let covenant_card = latest.clone().map(|c| {
        let signed = data::signatures(s, c.id).len();
        let total = b.members.len();
        view! {
            <section class="card" data-testid="covenant-card">
                <h3>{tr("Giao ước thi đua", "Emulation covenant")}</h3>
                <p><strong>{c.title.clone()}</strong> " · " {tr("phiên bản", "version")} " " {c.version}</p>
                <p>
                    <span class="badge" data-testid="covenant-status">{label(move || covenant_status(c.status, ctx.lang.get()))}</span>
                    " " {tr("Đã ký:", "Signed:")} " " {signed} "/" {total}
                </p>
                <a class="button" href=Route::Covenant(block_id, None).hash() data-testid="open-covenant">
                    {tr("Mở giao ước", "Open the covenant")}
                </a>
            </section>
        }
    });

    // The secretary opens the rounds once the covenant is agreed.
    let can_open = latest
        .as_ref()
        .filter(|c| matches!(c.status, CovenantStatus::Agreed | CovenantStatus::Signed))
        .map(|c| c.id);
    let open_buttons = (manages && can_open.is_some()).then(|| {
        let covenant_id = can_open.unwrap_or_default();
        let missing: Vec<Stage> = [Stage::SelfScoring, Stage::CrossScoring]
            .into_iter()
            .filter(|st| {
                !rounds
                    .iter()
                    .any(|r| r.stage == *st && r.covenant_id == covenant_id)
            })
            .collect();
        let cross_rule = b.rules.cross_scoring;
        missing
            .into_iter()
            .map(|st| {
                let members_ids = b.members.clone();
                let rule = cross_rule;
                let open = move |_| {
                    // Pairs by lot when the block's rules say so, with a fresh random seed
                    // that the round records and shows, so anyone can redo the draw.
                    let assignment = match (st, rule) {
                        (Stage::CrossScoring, CrossScoring::PairsByLot { per_unit }) => {
                            let seed = ids::new_v7().as_u128() as u64;
                            match Assignment::draw(&members_ids, per_unit, seed) {
                                Ok(a) => a,
                                Err(e) => return error.set(Some(ctx.domain_message(&e))),
                            }
                        }
                        _ => Assignment::AllScoreAll,
                    };
                    let r = Round {
                        id: ids::new_v7(),
                        block_id,
                        covenant_id,
                        stage: st,
                        state: RoundState::Open,
                        assignment,
                    };
                    ctx.run(
                        vec![Op::Create {
                            record: Record::Round(r),
                        }],
                        error,
                    );
                };
                view! {
                    <button on:click=open data-testid=format!("open-round-{}", st.as_str())>
                        {tr("Mở vòng", "Open round:")} " " {label(move || stage(st, ctx.lang.get()))}
                    </button>
                }
            })
            .collect_view()
    });

    // The documents are server pages (they need the network; the app does not), opened in
    // a new tab: a page of links there costs the app's shell nothing.
    let documents = s.meta.as_ref().and_then(|m| m.token.clone()).map(|t| {
        view! {
            <a class="button secondary" target="_blank" data-testid="documents"
                href=format!("/api/v1/blocks/{block_id}/documents.html?access_token={t}")>
                {tr("Tài liệu, trình chiếu", "Documents, projector")}
            </a>
        }
    });

    let round_rows = rounds
        .iter()
        .map(|r| round_row(ctx, s, b, r, manages, mine, error))
        .collect_view();

    view! {
        <section class="card block" data-testid="block">
            <h2>{b.name.clone()}</h2>
            <p class="muted">{label(move || kind_text(kind, ctx))} " · " {tr("Năm", "Year")} " " {year} {place}</p>
            <h3>{tr("Đơn vị thành viên", "Member units")} " (" {members.len()} ")"</h3>
            <ul class="members">
                {members.into_iter().map(|u| {
                    let id = u.id;
                    view! {
                        <li>
                            {u.name}
                            {(Some(id) == head).then(|| view! { <span class="badge">{tr("Khối trưởng", "Block head")}</span> })}
                            {(Some(id) == deputy).then(|| view! { <span class="badge">{tr("Khối phó", "Deputy")}</span> })}
                            {(Some(id) == mine).then(|| view! { <span class="badge mine">{tr("Đơn vị của tôi", "My unit")}</span> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
        {covenant_card}
        <section class="card" data-testid="rounds">
            <h3>{tr("Các vòng chấm điểm", "Scoring rounds")}</h3>
            {rounds.is_empty().then(|| view! { <p class="muted">{tr("Chưa mở vòng chấm điểm nào.", "No scoring round yet.")}</p> })}
            <ul class="rounds">{round_rows}</ul>
            <div class="actions">{open_buttons}</div>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {documents}
        </section>
    }
}

fn round_row(
    ctx: Ctx,
    s: &Snapshot,
    b: &Block,
    r: &Round,
    manages: bool,
    mine: Option<Uuid>,
    error: RwSignal<Option<String>>,
) -> impl IntoView + use<> {
    let sheets = data::sheets(s, r.id);
    let submitted = sheets.iter().filter(|x| x.submitted).count();
    let expected = data::expected_sheets(b, r);
    let (st, state, round_id, block_id) = (r.stage, r.state, r.id, b.id);
    // Who has submitted: per scoring unit, its submitted sheets out of those it owes.
    let chips = data::members(s, b)
        .into_iter()
        .map(|u| {
            let owed = data::subjects_of(b, r, u.id).len();
            let done = sheets
                .iter()
                .filter(|x| x.scorer == u.id && x.submitted)
                .count();
            let class = if owed > 0 && done >= owed {
                "chip done"
            } else {
                "chip"
            };
            view! { <li class=class>{u.short_name} " " {done} "/" {owed}</li> }
        })
        .collect_view();
    let set_state = move |to: RoundState| {
        move || {
            ctx.run(
                vec![Op::set(round_id, "state", serde_json::json!(to.as_str()))],
                error,
            )
        }
    };
    let controls = manages.then(|| match state {
        RoundState::Open => text_button("secondary", None, tr("Khóa vòng", "Lock"), set_state(RoundState::Locked)),
        RoundState::Locked => view! {
            {text_button("secondary", None, tr("Mở lại", "Reopen"), set_state(RoundState::Open))}
            {text_button("secondary", None, tr("Công bố", "Publish"), set_state(RoundState::Published))}
        }.into_any(),
        RoundState::Published => ().into_any(),
    });
    let can_score = mine.is_some_and(|u| !data::subjects_of(b, r, u).is_empty());
    let draw = match &r.assignment {
        Assignment::PairsByLot { seed, per_unit, .. } => Some(format!(
            "{} {per_unit} · {} {seed}",
            ctx.t(
                "Bốc thăm: mỗi đơn vị chấm",
                "Drawn by lot: each unit scores"
            ),
            ctx.t("hạt giống", "seed")
        )),
        Assignment::AllScoreAll => None,
    };
    view! {
        <li class="round" data-testid=format!("round-{}", st.as_str())>
            <div class="round-head">
                <strong>{label(move || stage(st, ctx.lang.get()))}</strong>
                <span class="badge" data-testid="round-state">{label(move || round_state(state, ctx.lang.get()))}</span>
                <span data-testid="round-progress">{submitted} "/" {expected} " " {tr("phiếu đã nộp", "sheets submitted")}</span>
            </div>
            {draw.map(|d| view! { <p class="muted" data-testid="draw-seed">{d}</p> })}
            <ul class="chips" aria-label=tr("Đơn vị đã nộp phiếu", "Units that submitted")>{chips}</ul>
            <div class="actions">
                <a class="button" href=Route::Round { block: block_id, round: round_id, subject: None, scorer: None }.hash() data-testid="open-round">
                    {move || if can_score && state == RoundState::Open { ctx.t("Chấm điểm", "Score") } else { ctx.t("Xem phiếu", "View sheets") }}
                </a>
                {controls}
            </div>
        </li>
    }
}
