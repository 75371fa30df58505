//! Secret ballots on a tablet: the secretary creates (head, deputy, award proposals), opens
//! and closes them; a delegate casts the unit's paper, online or not.
//!
//! A paper lives only in the outbox until the server acknowledges it, then is gone from the
//! device: the local ballot keeps just the receipt (the unit is in `voted`), as the server's
//! does. The count arrives with the pulled ballot once the server has closed and counted it.
//!
//! Built as one escaped HTML string with one delegated click handler rather than `view!`:
//! every distinct Leptos view compiles its own render code, and the shell's budget is
//! 300 KB. Ticks survive a sync landing mid-vote: they are read back before the panel is
//! rebuilt.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use leptos::html;
use leptos::prelude::*;
use shared::ballot::{BallotOption, BallotPaper, BallotPurpose, BallotState};
use shared::model::{Ballot, Block, Record};
use shared::mutation::Op;
use shared::report::esc;
use shared::rules::AwardKind;
use uuid::Uuid;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlInputElement};

use super::{Ctx, data};
use crate::db::Snapshot;
use crate::i18n::Lang;
use crate::ids;

/// The block's ballots, with the secretary's controls and the delegate's paper.
#[component]
pub fn Ballots(
    /// The block.
    block: Uuid,
) -> impl IntoView {
    let ctx = Ctx::get();
    let error = RwSignal::new(None::<String>);
    let root: NodeRef<html::Div> = NodeRef::new();
    // A render closure rather than an `Effect`: the view's own effects are compiled in
    // already. The node ref is set before the element's children are built.
    let draw = move || {
        let lang = ctx.lang.get();
        let Some(root) = root.get() else { return };
        ctx.snap.with(|s| {
            if let Some((s, b)) = s.as_ref().and_then(|s| Some((s, data::block(s, block)?))) {
                render(&root, s, &b, lang);
            }
        });
    };
    let on_click = move |ev: web_sys::MouseEvent| {
        let Some(target) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        if let Ok(Some(button)) = target.closest("[data-act]") {
            act(ctx, block, &button, error);
        } else if target.has_attribute("data-option") {
            limit_ticks(&target);
        }
    };
    view! {
        <div node_ref=root on:click=on_click>{draw}</div>
        {move || error.get().map(|e| view! { <p class="error card" role="alert">{e}</p> })}
    }
}

/// What a new ballot may decide: head, deputy, then each award of the block's rules.
fn purposes(b: &Block) -> Vec<(BallotPurpose, u32)> {
    let mut out = vec![
        (BallotPurpose::ElectHead, 1),
        (BallotPurpose::ElectDeputy, 1),
    ];
    out.extend(
        b.rules
            .awards
            .iter()
            .map(|a| (BallotPurpose::Award { award: a.award }, a.quota.max(1))),
    );
    out
}

/// A purpose's (Vietnamese, English) name, as a button and a ballot's title say it.
fn purpose_labels(p: &BallotPurpose) -> (&'static str, &'static str) {
    match p {
        BallotPurpose::ElectHead => ("Suy tôn Khối trưởng", "Elect the block head"),
        BallotPurpose::ElectDeputy => ("Suy tôn Khối phó", "Elect the deputy"),
        BallotPurpose::Award { award } => match award {
            AwardKind::GovernmentFlag => (
                "Đề nghị Cờ thi đua của Chính phủ",
                "Propose for the Government flag",
            ),
            AwardKind::EmulationFlag => ("Đề nghị Cờ thi đua", "Propose for the emulation flag"),
            AwardKind::CertificateOfMerit => {
                ("Đề nghị Bằng khen", "Propose for a certificate of merit")
            }
        },
        BallotPurpose::TieBreak => ("Phân định thứ hạng", "Break a tie"),
    }
}

/// A button that the delegated handler runs as `act` on `id`.
fn action(h: &mut String, class: &str, label: &str, act: &str, id: &str, testid: &str) {
    super::ui::html_button(h, class, label, act, id, testid, None);
}

/// Rebuilds the panel as one HTML string (every text escaped), keeping the ticks of a
/// paper being filled in.
fn render(root: &Element, s: &Snapshot, b: &Block, lang: Lang) {
    let t = |vi, en| lang.t(vi, en);
    let ticked: BTreeSet<String> = ticked(root).into_iter().collect();
    let principal = s
        .meta
        .as_ref()
        .and_then(|m| m.principal.clone())
        .unwrap_or_default();
    let manages = super::runs_block(&principal, b.id);
    let mine = principal.unit_in(b.id);
    // Papers cast here and not yet acknowledged: the local ballot learns of a vote only
    // from the server's receipt, so the outbox says "voted, waiting to send".
    let queued: BTreeSet<Uuid> = s
        .outbox
        .iter()
        .filter_map(|e| match e.mutation.op {
            Op::CastVote { ballot_id, .. } => Some(ballot_id),
            _ => None,
        })
        .collect();
    let mut ballots: Vec<&Ballot> = s
        .others()
        .filter_map(|r| match r {
            Record::Ballot(x) if x.block_id == b.id => Some(x),
            _ => None,
        })
        .collect();
    ballots.sort_by_key(|x| x.id);
    let mut h = String::new();
    if !ballots.is_empty() || manages {
        let _ = write!(
            h,
            "<section class=\"card\" data-testid=\"ballots\"><h3>{}</h3><ul class=\"rounds\">",
            t("Bỏ phiếu kín", "Secret ballots")
        );
    }
    for x in &ballots {
        let id = x.id.to_string();
        let waiting = queued.contains(&x.id);
        let voted = waiting || mine.is_some_and(|u| x.voted.contains(&u));
        let status = match (x.state, voted, waiting) {
            (BallotState::Draft, ..) => t("Chưa mở", "Not open yet"),
            (BallotState::Open, true, true) => {
                t("Đã bỏ phiếu, đang chờ gửi", "Voted, waiting to send")
            }
            (BallotState::Open, true, false) => t("Đơn vị đã bỏ phiếu", "Your unit has voted"),
            (BallotState::Open, false, _) => t("Đang bỏ phiếu", "Voting open"),
            (BallotState::Closed, ..) => t("Đã kiểm phiếu", "Counted"),
        };
        let _ = write!(
            h,
            "<li class=\"round\" data-testid=\"ballot\"><div class=\"round-head\"><strong>{}</strong><span class=\"badge\" data-testid=\"ballot-status\">{status}</span><span data-testid=\"ballot-turnout\">{}/{} {}</span></div>",
            esc(&x.title),
            x.voted.len(),
            x.present.len(),
            t("đã bỏ phiếu", "voted"),
        );
        let name = |o: &BallotOption| {
            esc(&o
                .unit
                .map_or_else(|| o.label.clone(), |u| data::short_name(s, u)))
        };
        if x.state == BallotState::Open && !voted && mine.is_some_and(|u| x.present.contains(&u)) {
            let _ = write!(
                h,
                "<fieldset class=\"paper\" data-testid=\"paper\" data-most=\"{most}\"><legend>{} {most}</legend>",
                t("Phiếu bầu: chọn tối đa", "Your paper: choose at most"),
                most = x.max_choices,
            );
            let full = x
                .options
                .iter()
                .filter(|o| ticked.contains(&o.id.to_string()))
                .count()
                >= x.max_choices as usize;
            for o in &x.options {
                let oid = o.id.to_string();
                let on = ticked.contains(&oid);
                let _ = write!(
                    h,
                    "<label class=\"check\"><input type=\"checkbox\" data-option=\"{oid}\"{}{}>{}</label>",
                    if on { " checked" } else { "" },
                    if full && !on { " disabled" } else { "" },
                    name(o),
                );
            }
            h.push_str("<div class=\"actions\">");
            action(&mut h, "", t("Gửi phiếu", "Cast"), "cast", &id, "cast");
            action(
                &mut h,
                "secondary",
                t("Phiếu trắng", "Blank paper"),
                "blank",
                &id,
                "cast-blank",
            );
            h.push_str("</div></fieldset>");
        }
        if let Some(c) = &x.result {
            let _ = write!(
                h,
                "<table class=\"count\" data-testid=\"count\"><caption>{} {} · {} {} · {} {}</caption>",
                t("Thu về", "Cast"),
                c.cast,
                t("hợp lệ", "valid"),
                c.valid,
                t("phiếu trắng", "blank"),
                c.abstain
            );
            for r in &c.results {
                let label = x
                    .options
                    .iter()
                    .find(|o| o.id == r.option)
                    .map(name)
                    .unwrap_or_default();
                let _ = write!(
                    h,
                    "<tr><td>{label}</td><td class=\"num\">{}</td><td class=\"num\">{},{:02} %</td><td>{}</td></tr>",
                    r.approvals,
                    r.rate_bp / 100,
                    r.rate_bp % 100,
                    if r.passes {
                        t("Đạt", "Passes")
                    } else {
                        t("Không đạt", "Fails")
                    },
                );
            }
            h.push_str("</table>");
        }
        if manages {
            h.push_str("<div class=\"actions\">");
            match x.state {
                BallotState::Draft => {
                    action(
                        &mut h,
                        "",
                        t("Mở bỏ phiếu", "Open voting"),
                        "open",
                        &id,
                        "open-ballot",
                    );
                    action(
                        &mut h,
                        "secondary",
                        t("Xóa", "Delete"),
                        "delete",
                        &id,
                        "delete-ballot",
                    );
                }
                BallotState::Open => action(
                    &mut h,
                    "secondary",
                    t("Kết thúc, kiểm phiếu", "Close and count"),
                    "close",
                    &id,
                    "close-ballot",
                ),
                BallotState::Closed => {}
            }
            h.push_str("</div>");
        }
        h.push_str("</li>");
    }
    if !ballots.is_empty() || manages {
        h.push_str("</ul>");
    }
    if manages {
        let _ = write!(
            h,
            "<div class=\"actions\" aria-label=\"{}\">",
            t("Tạo phiếu bầu", "Create a ballot")
        );
        for (i, (p, _)) in purposes(b).iter().enumerate() {
            let (vi, en) = purpose_labels(p);
            action(
                &mut h,
                "secondary",
                t(vi, en),
                "create",
                &i.to_string(),
                "create-ballot",
            );
        }
        h.push_str("</div>");
    }
    if !ballots.is_empty() || manages {
        h.push_str("</section>");
    }
    // Our own child: whatever marker Leptos keeps in `root` stays untouched.
    let panel = match root
        .query_selector(":scope > .ballots-panel")
        .ok()
        .flatten()
    {
        Some(panel) => panel,
        None => {
            let Ok(panel) = leptos::prelude::document().create_element("div") else {
                return;
            };
            let _ = panel.set_attribute("class", "ballots-panel");
            let _ = root.append_child(&panel);
            panel
        }
    };
    panel.set_inner_html(&h);
}

/// The option ids ticked on the papers under `root`.
fn ticked(root: &Element) -> Vec<String> {
    let Ok(list) = root.query_selector_all("input[data-option]:checked") else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| {
            list.item(i)?
                .dyn_into::<Element>()
                .ok()?
                .get_attribute("data-option")
        })
        .collect()
}

/// Disables the unticked boxes of a paper once it holds as many ticks as it may.
fn limit_ticks(inside: &Element) {
    let Some(paper) = inside.closest("fieldset").ok().flatten() else {
        return;
    };
    let most: usize = paper
        .get_attribute("data-most")
        .and_then(|m| m.parse().ok())
        .unwrap_or(1);
    let full = ticked(&paper).len() >= most;
    if let Ok(list) = paper.query_selector_all("input[data-option]") {
        for i in 0..list.length() {
            if let Some(input) = list
                .item(i)
                .and_then(|n| n.dyn_into::<HtmlInputElement>().ok())
            {
                input.set_disabled(full && !input.checked());
            }
        }
    }
}

/// Runs a pressed button's action.
fn act(ctx: Ctx, block: Uuid, button: &Element, error: RwSignal<Option<String>>) {
    let what = button.get_attribute("data-act").unwrap_or_default();
    let arg = button.get_attribute("data-id").unwrap_or_default();
    let id = Uuid::parse_str(&arg).unwrap_or_default();
    let state = |to: BallotState| vec![Op::set(id, "state", serde_json::json!(to.as_str()))];
    let ops = match what.as_str() {
        // The shell has no secretary's buttons (`runs_block`): leave their code out.
        "open" | "close" | "delete" | "create" if !cfg!(feature = "editor") => return,
        "open" | "close" | "delete" if !confirm_ballot(ctx, id, &what) => return,
        "open" => state(BallotState::Open),
        "close" => state(BallotState::Closed),
        "delete" => vec![Op::Delete { id }],
        "create" => {
            if !super::confirm(ctx.t(
                "Tạo cuộc bỏ phiếu này? Danh sách đơn vị có mặt lấy theo thông tin cuộc họp.",
                "Create this ballot? Who is present comes from the meeting's details.",
            )) {
                return;
            }
            let Some(op) = ctx.snap.with_untracked(|s| {
                let s = s.as_ref()?;
                let b = data::block(s, block)?;
                let (purpose, most) = purposes(&b).get(arg.parse::<usize>().ok()?).copied()?;
                Some(create(s, &b, purpose, most))
            }) else {
                return;
            };
            vec![op]
        }
        "cast" | "blank" => {
            let paper = if what == "blank" {
                BallotPaper::Abstain
            } else {
                let root = button.closest("fieldset").ok().flatten();
                let options = root
                    .map(|r| ticked(&r))
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|o| Uuid::parse_str(o).ok())
                    .collect();
                BallotPaper::Choices { options }
            };
            let question = ctx.t(
                "Gửi phiếu? Phiếu đã gửi không sửa được.",
                "Cast this paper? A cast paper cannot be changed.",
            );
            if !super::confirm(question) {
                return;
            }
            vec![Op::CastVote {
                ballot_id: id,
                paper,
            }]
        }
        _ => return,
    };
    ctx.run(ops, error);
}

/// Asks the secretary to confirm opening, closing or deleting a ballot, saying what it
/// does: closing names the present units that have not voted yet.
fn confirm_ballot(ctx: Ctx, id: Uuid, what: &str) -> bool {
    let l = ctx.lang.get_untracked();
    let question = ctx.snap.with_untracked(|s| {
        let s = s.as_ref()?;
        let Some(Record::Ballot(b)) = s.records.get(&id) else {
            return None;
        };
        Some(match what {
            "close" => {
                let missing: Vec<String> = b
                    .present
                    .iter()
                    .filter(|u| !b.voted.contains(u))
                    .map(|u| data::short_name(s, *u))
                    .collect();
                let mut q = format!(
                    "{} {}/{} {}",
                    l.t("Kết thúc bỏ phiếu khi mới", "Close the ballot with"),
                    b.voted.len(),
                    b.present.len(),
                    l.t("đơn vị có mặt đã bỏ phiếu?", "present units voted?"),
                );
                if !missing.is_empty() {
                    q.push_str(&format!(
                        "\n{} {}",
                        l.t("Chưa bỏ phiếu:", "Not voted yet:"),
                        missing.join(", ")
                    ));
                }
                q.push_str(l.t(
                    "\nSau khi kết thúc, phiếu gửi muộn không được tính.",
                    "\nOnce closed, a late paper is not counted.",
                ));
                q
            }
            "open" => l
                .t(
                    "Mở bỏ phiếu? Sau khi mở, danh sách đơn vị có mặt không đổi được.",
                    "Open the ballot? Once open, who is present cannot change.",
                )
                .to_owned(),
            _ => l
                .t("Xóa cuộc bỏ phiếu nháp này?", "Delete this draft ballot?")
                .to_owned(),
        })
    });
    question.is_some_and(|q| super::confirm(&q))
}

/// A draft ballot on every member; those the meeting's details mark absent do not vote.
fn create(s: &Snapshot, b: &Block, purpose: BallotPurpose, most: u32) -> Op {
    let options: Vec<BallotOption> = data::members(s, b)
        .into_iter()
        .map(|u| BallotOption {
            id: ids::new_v7(),
            label: u.name,
            unit: Some(u.id),
        })
        .collect();
    let (vi, _) = purpose_labels(&purpose);
    Op::Create {
        record: Record::Ballot(Ballot {
            id: ids::new_v7(),
            block_id: b.id,
            title: format!("{vi} năm {}", b.year + 1),
            purpose,
            max_choices: most.min(options.len() as u32),
            options,
            rule: b.rules.majority,
            eligible: b.members.clone(),
            present: b
                .members
                .iter()
                .copied()
                .filter(|u| b.attended(*u))
                .collect(),
            state: BallotState::Draft,
            voted: Vec::new(),
            result: None,
        }),
    }
}
