//! The covenant editor: contents and criteria as a tree (add, edit, reorder, delete), kinds
//! and maximum points, live totals against the stated total, the shared validator's
//! messages next to the row they are about, the version history, circulation and
//! agreement, and each member unit's signature.
//!
//! An edit is checked twice before it is stored: by `covenant::validate` on the covenant as
//! it would be (a problem it adds on the edited row refuses it), then by the shared world's
//! rules (rights, status), the same the server runs.

#[cfg(feature = "editor")]
use std::collections::BTreeMap;
use std::collections::HashMap;

use leptos::prelude::*;
#[cfg(feature = "editor")]
use leptos::task::spawn_local;
use shared::covenant::{self, content_points, document_order};
use shared::model::{Content, Covenant, CovenantStatus, Criterion, CriterionKind, Signature};
use shared::mutation::Op;
use shared::{Points, Record};
use std::fmt::Write as _;

use shared::report::esc;
use uuid::Uuid;
#[cfg(feature = "editor")]
use wasm_bindgen::JsCast;

use super::format::{covenant_status, criterion_kind, points_text};
#[cfg(feature = "editor")]
use super::format::{kind_code, kind_from, parse_points};
#[cfg(feature = "editor")]
use super::label;
use super::ui::html_button;
#[cfg(feature = "editor")]
use super::ui::text_button;
use super::{Ctx, Route, data, tr};
use crate::db::Snapshot;
use crate::i18n::Lang;
use crate::ids;

#[cfg(feature = "editor")]
/// What the edit form is working on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Criterion(Uuid),
    NewCriterion { content: Uuid, parent: Option<Uuid> },
    Content(Uuid),
    NewContent,
}

#[cfg(feature = "editor")]
/// The edit form's fields, kept outside the card's HTML so a sync never wipes what is typed.
#[derive(Clone, Copy)]
struct Form {
    target: RwSignal<Option<Target>>,
    code: RwSignal<String>,
    title: RwSignal<String>,
    guidance: RwSignal<String>,
    kind: RwSignal<CriterionKind>,
    max: RwSignal<String>,
    error: RwSignal<Option<String>>,
}

/// The covenant's parts as on the device.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Parts {
    covenant: Covenant,
    contents: Vec<Content>,
    criteria: Vec<Criterion>,
    signatures: Vec<Signature>,
    step: Points,
}

fn parts(s: &Snapshot, covenant_id: Uuid) -> Option<Parts> {
    let Some(Record::Covenant(covenant)) = s.records.get(&covenant_id).cloned() else {
        return None;
    };
    let step = data::block(s, covenant.block_id).map(|b| b.rules.point_step)?;
    let contents: Vec<Content> = s
        .others()
        .filter_map(|r| match r {
            Record::Content(c) if c.covenant_id == covenant_id => Some(c.clone()),
            _ => None,
        })
        .collect();
    let ids: std::collections::HashSet<Uuid> = contents.iter().map(|c| c.id).collect();
    let criteria = s
        .others()
        .filter_map(|r| match r {
            Record::Criterion(c) if ids.contains(&c.content_id) => Some(c.clone()),
            _ => None,
        })
        .collect();
    Some(Parts {
        signatures: data::signatures(s, covenant_id),
        covenant,
        contents,
        criteria,
        step,
    })
}

#[cfg(feature = "editor")]
/// The fields of `after` that differ from `before`, as one update.
fn update_op(id: Uuid, before: &Record, after: &Record) -> Option<Op> {
    let (b, a) = (
        serde_json::to_value(before).ok()?,
        serde_json::to_value(after).ok()?,
    );
    let fields: BTreeMap<String, serde_json::Value> = a
        .as_object()?
        .iter()
        .filter(|(k, v)| b.get(k.as_str()) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (!fields.is_empty()).then_some(Op::Update { id, fields })
}

#[cfg(feature = "editor")]
/// Moves sibling `at` one place up (`dir` −1) or down (1): new positions 0, 1, 2… for the
/// siblings in their new order, as updates where they change; none at either end.
fn moved<T: Clone>(
    siblings: &[T],
    at: usize,
    dir: i64,
    id: impl Fn(&T) -> Uuid,
    position: impl Fn(&T) -> u32,
) -> Vec<Op> {
    let Some(to) = at
        .checked_add_signed(dir as isize)
        .filter(|&to| to < siblings.len())
    else {
        return Vec::new();
    };
    let mut order = siblings.to_vec();
    order.swap(at, to);
    order
        .iter()
        .enumerate()
        .filter(|(i, c)| position(c) != *i as u32)
        .map(|(i, c)| Op::set(id(c), "position", serde_json::json!(i)))
        .collect()
}

/// The covenant editor for one block.
#[component]
pub fn CovenantEditor(
    /// The block.
    block: Uuid,
    /// The version shown; the newest when `None`.
    version: Option<Uuid>,
) -> impl IntoView {
    let ctx = Ctx::get();
    #[cfg(feature = "editor")]
    let form = Form {
        target: RwSignal::new(None),
        code: RwSignal::new(String::new()),
        title: RwSignal::new(String::new()),
        guidance: RwSignal::new(String::new()),
        kind: RwSignal::new(CriterionKind::Standard),
        max: RwSignal::new(String::new()),
        error: RwSignal::new(None),
    };
    let action_error = RwSignal::new(None::<String>);
    let versions = Memo::new(move |_| {
        ctx.snap.with(|s| {
            s.as_ref()
                .map(|s| data::covenants(s, block))
                .unwrap_or_default()
        })
    });
    let chosen = Memo::new(move |_| {
        let v = versions.get();
        version
            .filter(|id| v.iter().any(|c| c.id == *id))
            .or_else(|| v.last().map(|c| c.id))
    });
    let parts_memo = Memo::new(move |_| {
        let id = chosen.get()?;
        ctx.snap.with(|s| s.as_ref().and_then(|s| parts(s, id)))
    });
    let principal = Memo::new(move |_| ctx.principal().unwrap_or_default());

    // Saves the form: a new or changed criterion or content.
    #[cfg(feature = "editor")]
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(p) = parts_memo.get_untracked() else {
            return;
        };
        let Some(target) = form.target.get_untracked() else {
            return;
        };
        let l = ctx.lang.get_untracked();
        let code = form.code.get_untracked().trim().to_owned();
        let title = form.title.get_untracked();
        let ops = match target {
            Target::Criterion(_) | Target::NewCriterion { .. } => {
                let Some(max) = parse_points(&form.max.get_untracked()) else {
                    form.error.set(Some(
                        l.t(
                            "Điểm chuẩn phải là một số, ví dụ 2,5",
                            "Maximum points must be a number, e.g. 2.5",
                        )
                        .to_owned(),
                    ));
                    return;
                };
                let (before, mut c) = match target {
                    Target::Criterion(id) => match p.criteria.iter().find(|c| c.id == id) {
                        Some(c) => (Some(c.clone()), c.clone()),
                        None => return,
                    },
                    Target::NewCriterion { content, parent } => {
                        let siblings = p
                            .criteria
                            .iter()
                            .filter(|c| c.content_id == content && c.parent_id == parent)
                            .count();
                        (
                            None,
                            Criterion {
                                id: ids::new_v7(),
                                block_id: p.covenant.block_id,
                                content_id: content,
                                parent_id: parent,
                                position: siblings as u32,
                                code: String::new(),
                                title: String::new(),
                                guidance: String::new(),
                                kind: CriterionKind::Standard,
                                max_points: Points::ZERO,
                            },
                        )
                    }
                    _ => return,
                };
                c.code = code;
                c.title = title;
                c.guidance = form.guidance.get_untracked();
                c.kind = form.kind.get_untracked();
                c.max_points = max;
                // The shared validator on the covenant as it would be: refuse what it
                // finds wrong with this criterion.
                let mut criteria: Vec<Criterion> = p
                    .criteria
                    .iter()
                    .filter(|x| x.id != c.id)
                    .cloned()
                    .collect();
                criteria.push(c.clone());
                let problems = covenant::validate(&p.covenant, &p.contents, &criteria, p.step);
                if let Some(problem) = problems.iter().find(|x| x.record == c.id) {
                    form.error.set(Some(ctx.domain_message(&problem.error)));
                    return;
                }
                match before {
                    None => vec![Op::Create {
                        record: Record::Criterion(c),
                    }],
                    Some(b) => update_op(c.id, &Record::Criterion(b), &Record::Criterion(c))
                        .into_iter()
                        .collect(),
                }
            }
            Target::Content(id) => {
                let Some(before) = p.contents.iter().find(|c| c.id == id).cloned() else {
                    return;
                };
                let mut after = before.clone();
                after.code = code;
                after.title = title;
                update_op(id, &Record::Content(before), &Record::Content(after))
                    .into_iter()
                    .collect()
            }
            Target::NewContent => vec![Op::Create {
                record: Record::Content(Content {
                    id: ids::new_v7(),
                    block_id: p.covenant.block_id,
                    covenant_id: p.covenant.id,
                    position: p.contents.len() as u32,
                    code,
                    title,
                }),
            }],
        };
        spawn_local(async move {
            match ctx.edit(ops).await {
                Ok(()) => {
                    form.error.set(None);
                    form.target.set(None);
                }
                Err(e) => form.error.set(Some(e)),
            }
        });
    };

    #[cfg(feature = "editor")]
    let start = move |target: Target, p: &Parts| {
        form.error.set(None);
        match target {
            Target::Criterion(id) => {
                if let Some(c) = p.criteria.iter().find(|c| c.id == id) {
                    form.code.set(c.code.clone());
                    form.title.set(c.title.clone());
                    form.guidance.set(c.guidance.clone());
                    form.kind.set(c.kind);
                    form.max
                        .set(points_text(c.max_points, ctx.lang.get_untracked()));
                }
            }
            Target::NewCriterion { content, parent } => {
                let prefix = match parent {
                    Some(pid) => p
                        .criteria
                        .iter()
                        .find(|c| c.id == pid)
                        .map(|c| c.code.clone()),
                    None => p
                        .contents
                        .iter()
                        .find(|c| c.id == content)
                        .map(|c| c.code.clone()),
                }
                .unwrap_or_default();
                let n = p
                    .criteria
                    .iter()
                    .filter(|c| c.content_id == content && c.parent_id == parent)
                    .count()
                    + 1;
                form.code.set(format!("{prefix}.{n}"));
                form.title.set(String::new());
                form.guidance.set(String::new());
                form.kind.set(CriterionKind::Standard);
                form.max.set(String::new());
            }
            Target::Content(id) => {
                if let Some(c) = p.contents.iter().find(|c| c.id == id) {
                    form.code.set(c.code.clone());
                    form.title.set(c.title.clone());
                }
            }
            Target::NewContent => {
                form.code.set((p.contents.len() + 1).to_string());
                form.title.set(String::new());
            }
        }
        form.target.set(Some(target));
    };

    let run = move |ops: Vec<Op>| {
        ctx.run(ops, action_error);
    };

    // One handler for every button of the card (see `card_html`).
    let on_click = move |ev: web_sys::MouseEvent| {
        let Some((act, arg)) = super::ui::clicked(&ev) else {
            return;
        };
        let Some(p) = parts_memo.get_untracked() else {
            return;
        };
        match act.as_str() {
            "status"
                if cfg!(feature = "editor")
                    && matches!(arg.as_str(), "draft" | "circulated" | "agreed")
                    && (arg != "agreed"
                        || super::confirm(ctx.t(
                            "Thông qua giao ước? Sau khi thông qua, nội dung chỉ đổi được bằng một bản sửa đổi.",
                            "Agree the covenant? Once agreed, its text changes only by an amendment.",
                        ))) =>
            {
                run(vec![Op::set(
                    p.covenant.id,
                    "status",
                    serde_json::json!(arg),
                )]);
            }
            #[cfg(feature = "editor")]
            "new-content" => start(Target::NewContent, &p),
            // Editing the covenant's text lives in the editor module only.
            #[cfg(feature = "editor")]
            _ => edit_clicked(act.as_str(), &arg, &p, run, start, ctx.lang.get_untracked()),
            #[cfg(not(feature = "editor"))]
            _ => {}
        }
    };
    // The edit sheet stays outside what a sync redraws: a sync landing while the secretary
    // types never replaces the form under the cursor.
    #[cfg(feature = "editor")]
    let sheet = view! { <EditSheet form=form save=save parts=parts_memo /> };
    #[cfg(not(feature = "editor"))]
    let sheet = ();
    let screen = move || {
        let Some(p) = parts_memo.get() else {
            return view! { <p class="muted card">{tr("Khối này chưa có giao ước trên máy.", "This block has no covenant on this device.")}</p> }.into_any();
        };
        let who = principal.get();
        let pending = ctx
            .snap
            .with(|s| s.as_ref().map(|s| s.pending_targets()).unwrap_or_default());
        let l = ctx.lang.get();
        // The shell shows the covenant; the editor module edits it.
        let card = card_html(&p, block, super::runs_block(&who, block), &pending, l);
        let current = chosen.get_untracked();
        let mut history = format!(
            "<section class=\"card\"><h3>{}</h3><ul>",
            l.t("Lịch sử phiên bản", "Version history")
        );
        for v in versions.get() {
            let _ = write!(
                history,
                "<li><a href=\"{}\" aria-current=\"{}\">{} {}</a> · {}{}</li>",
                esc(&Route::Covenant(block, Some(v.id)).hash()),
                if Some(v.id) == current {
                    "page"
                } else {
                    "false"
                },
                l.t("Phiên bản", "Version"),
                v.version,
                covenant_status(v.status, l),
                if v.amendment_reason.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", esc(&v.amendment_reason))
                },
            );
        }
        history.push_str("</ul></section>");
        let signing = signatures_view(ctx, &p, &who, block);
        view! {
            <div on:click=on_click inner_html=card></div>
            {move || action_error.get().map(|e| view! { <p class="error card" role="alert" data-testid="action-error">{e}</p> })}
            {signing}
            <div inner_html=history></div>
        }
        .into_any()
    };
    view! { {screen} {sheet} }
}

/// The card's editing buttons: edit, add, delete and move a content or criterion.
#[cfg(feature = "editor")]
fn edit_clicked(
    act: &str,
    arg: &str,
    p: &Parts,
    run: impl Fn(Vec<Op>),
    start: impl Fn(Target, &Parts),
    lang: crate::i18n::Lang,
) {
    let Ok(id) = Uuid::parse_str(arg) else {
        return;
    };
    let (contents, ordered) = document_order(&p.contents, &p.criteria);
    let criterion = ordered.iter().find(|c| c.id == id);
    match (act, criterion) {
        ("edit", Some(_)) => start(Target::Criterion(id), p),
        ("edit", None) => start(Target::Content(id), p),
        ("add", Some(c)) => start(
            Target::NewCriterion {
                content: c.content_id,
                parent: Some(id),
            },
            p,
        ),
        ("add", None) => start(
            Target::NewCriterion {
                content: id,
                parent: None,
            },
            p,
        ),
        ("delete", c) => {
            let name = match c {
                Some(c) => format!("{} {}", c.code, c.title),
                None => contents
                    .iter()
                    .find(|x| x.id == id)
                    .map(|x| format!("{} {}", x.code, x.title))
                    .unwrap_or_default(),
            };
            let question = match lang {
                crate::i18n::Lang::Vi => format!("Xóa «{name}» khỏi bản dự thảo?"),
                crate::i18n::Lang::En => format!("Delete «{name}» from the draft?"),
            };
            if super::confirm(&question) {
                run(vec![Op::Delete { id }]);
            }
        }
        ("up" | "down", _) => {
            let dir = if act == "up" { -1 } else { 1 };
            let ops = match criterion {
                Some(c) => {
                    let sibs: Vec<&Criterion> = ordered
                        .iter()
                        .copied()
                        .filter(|x| x.content_id == c.content_id && x.parent_id == c.parent_id)
                        .collect();
                    let at = sibs.iter().position(|x| x.id == id).unwrap_or(0);
                    moved(&sibs, at, dir, |c| c.id, |c| c.position)
                }
                None => {
                    let at = contents.iter().position(|x| x.id == id).unwrap_or(0);
                    moved(&contents, at, dir, |c| c.id, |c| c.position)
                }
            };
            run(ops);
        }
        _ => {}
    }
}

/// The covenant's card as one escaped HTML string: title, status and totals, the
/// validator's problems, the secretary's status buttons, and the table of contents and
/// criteria. Built as text rather than `view!` because each distinct view compiles its own
/// render code (the shell's budget is 300 KB); the buttons carry `data-act` and `data-id`
/// for the card's one click handler.
fn card_html(
    p: &Parts,
    block: Uuid,
    manages: bool,
    pending: &std::collections::BTreeSet<Uuid>,
    l: Lang,
) -> String {
    let editable = manages && covenant::check_editable(&p.covenant).is_ok();
    let problems: HashMap<Uuid, Vec<String>> =
        covenant::validate(&p.covenant, &p.contents, &p.criteria, p.step)
            .into_iter()
            .fold(HashMap::new(), |mut m, x| {
                m.entry(x.record).or_default().push(match l {
                    Lang::Vi => x.error.message_vi(),
                    Lang::En => x.error.to_string(),
                });
                m
            });
    let (contents, _) = document_order(&p.contents, &p.criteria);
    let standard_total = contents.iter().fold(Points::ZERO, |a, c| {
        a.checked_add(content_points(&p.criteria, c.id))
            .unwrap_or(a)
    });
    let cov = &p.covenant;
    let mut h = format!(
        "<p><a href=\"{}\">{}</a></p><section class=\"card covenant\" data-testid=\"covenant\"><h2>{}</h2>\
         <p class=\"muted\">{} {} · <span class=\"badge\" data-testid=\"covenant-status\">{}</span> · {} \
         <span class=\"{}\" data-testid=\"covenant-total\">{} / {}</span> · {} {}</p>",
        esc(&Route::Block(block).hash()),
        l.t("← Về trang khối", "← Back to the block"),
        esc(&cov.title),
        l.t("Phiên bản", "Version"),
        cov.version,
        covenant_status(cov.status, l),
        l.t("Tổng điểm chuẩn:", "Standard total:"),
        if standard_total == cov.total_points {
            "ok"
        } else {
            "error"
        },
        points_text(standard_total, l),
        points_text(cov.total_points, l),
        l.t("Điểm thưởng tối đa:", "Bonus cap:"),
        points_text(cov.bonus_cap, l),
    );
    for m in problems.get(&cov.id).into_iter().flatten() {
        let _ = write!(
            h,
            "<p class=\"error problem\" data-testid=\"covenant-problem\">{}</p>",
            esc(m)
        );
    }
    if manages {
        h.push_str("<div class=\"actions\">");
        let st = cov.status;
        let draft_or_circulated = matches!(st, CovenantStatus::Draft | CovenantStatus::Circulated);
        for (show, class, vi, en, to, testid) in [
            (
                st == CovenantStatus::Draft,
                "",
                "Gửi xin ý kiến các đơn vị",
                "Circulate to the members",
                "circulated",
                "circulate",
            ),
            (
                st == CovenantStatus::Circulated,
                "secondary",
                "Trở lại bản nháp",
                "Back to draft",
                "draft",
                "",
            ),
            (
                draft_or_circulated,
                "",
                "Thống nhất giao ước",
                "Mark as agreed",
                "agreed",
                "agree",
            ),
        ] {
            if show {
                html_button(&mut h, class, l.t(vi, en), "status", to, testid, None);
            }
        }
        h.push_str("</div>");
    }
    let _ = write!(
        h,
        "<table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\" class=\"num\">{}</th>\
         <th scope=\"col\"><span class=\"sr-only\">{}</span></th></tr></thead><tbody>{}</tbody></table>",
        l.t("Mã", "Code"),
        l.t("Nội dung, tiêu chí", "Content, criterion"),
        l.t("Điểm chuẩn", "Max points"),
        l.t("Thao tác", "Actions"),
        rows_html(p, &problems, pending, editable, l),
    );
    if editable {
        h.push_str("<div class=\"actions\">");
        html_button(
            &mut h,
            "secondary",
            l.t("+ Nội dung thi đua", "+ Content"),
            "new-content",
            "",
            "",
            None,
        );
        h.push_str("</div>");
    }
    h.push_str("</section>");
    h
}

/// The table's rows as one escaped HTML string: contents, then their criteria in document
/// order with sub-criteria under their parent. Built as text rather than `view!` because
/// each distinct view compiles its own render code (the shell's budget is 300 KB); the
/// buttons carry `data-act` and `data-id` for the table's one click handler.
fn rows_html(
    p: &Parts,
    problems: &HashMap<Uuid, Vec<String>>,
    pending: &std::collections::BTreeSet<Uuid>,
    editable: bool,
    l: Lang,
) -> String {
    let (contents, ordered) = document_order(&p.contents, &p.criteria);
    let mut h = String::new();
    let msgs = |h: &mut String, id: Uuid, testid: &str| {
        for m in problems.get(&id).into_iter().flatten() {
            let _ = write!(h, "<p class=\"error problem\"{testid}>{}</p>", esc(m));
        }
    };
    let actions =
        |h: &mut String, id: &str, edit: &str, delete: &str, add: Option<(&str, &str)>| {
            h.push_str("<td class=\"row-actions\">");
            if editable {
                html_button(
                    h,
                    "secondary small",
                    l.t("Sửa", "Edit"),
                    "edit",
                    id,
                    edit,
                    None,
                );
                html_button(
                    h,
                    "secondary small",
                    "↑",
                    "up",
                    id,
                    "",
                    Some(l.t("Chuyển lên", "Move up")),
                );
                html_button(
                    h,
                    "secondary small",
                    "↓",
                    "down",
                    id,
                    "",
                    Some(l.t("Chuyển xuống", "Move down")),
                );
                html_button(
                    h,
                    "secondary small",
                    l.t("Xóa", "Delete"),
                    "delete",
                    id,
                    delete,
                    None,
                );
                if let Some((label, testid)) = add {
                    html_button(h, "small", label, "add", id, testid, None);
                }
            }
            h.push_str("</td></tr>");
        };
    for content in &contents {
        let id = content.id.to_string();
        let _ = write!(
            h,
            "<tr class=\"content\" data-id=\"{id}\"><th scope=\"row\">{}</th><th scope=\"row\">{}",
            esc(&content.code),
            esc(&content.title)
        );
        msgs(&mut h, content.id, "");
        let _ = write!(
            h,
            "</th><td class=\"num\">{}</td>",
            points_text(content_points(&p.criteria, content.id), l)
        );
        let add = (l.t("+ Tiêu chí", "+ Criterion"), "add-criterion");
        actions(&mut h, &id, "", "", Some(add));
        for c in ordered.iter().filter(|c| c.content_id == content.id) {
            let id = c.id.to_string();
            let top = c.parent_id.is_none();
            let _ = write!(
                h,
                "<tr class=\"criterion{}\" data-testid=\"criterion\" data-id=\"{id}\"><td>{}</td><td><span class=\"title\" data-testid=\"criterion-title\">{}</span>",
                if top { "" } else { " sub" },
                esc(&c.code),
                esc(&c.title)
            );
            if c.kind != CriterionKind::Standard {
                let _ = write!(
                    h,
                    " <span class=\"badge\">{}</span>",
                    esc(criterion_kind(c.kind, l))
                );
            }
            if pending.contains(&c.id) {
                let _ = write!(
                    h,
                    " <span class=\"badge pending\" data-testid=\"pending-badge\">{}</span>",
                    l.t("Chờ đồng bộ", "Pending")
                );
            }
            if !c.guidance.is_empty() {
                let _ = write!(h, "<p class=\"guidance\">{}</p>", esc(&c.guidance));
            }
            msgs(&mut h, c.id, " data-testid=\"problem\"");
            let _ = write!(
                h,
                "</td><td class=\"num\">{}</td>",
                points_text(c.max_points, l)
            );
            let add = top.then(|| (l.t("+ Tiêu chí con", "+ Sub-criterion"), ""));
            actions(&mut h, &id, "edit-criterion", "delete-criterion", add);
        }
    }
    h
}

/// The edit form, in a sheet over the bottom of the screen (the table is plain HTML, see
/// `rows_html`); it opens with the cursor in its first field, and Escape closes it.
#[cfg(feature = "editor")]
#[component]
fn EditSheet(
    form: Form,
    save: impl Fn(leptos::ev::SubmitEvent) + Copy + Send + Sync + 'static,
    parts: Memo<Option<Parts>>,
) -> impl IntoView {
    let ctx = Ctx::get();
    // Each time the form opens on another row: that row goes to the top of the screen,
    // above the sheet, and the cursor into the form.
    Effect::new(move |_| {
        let Some(target) = form.target.get() else {
            return;
        };
        let row = match target {
            Target::Criterion(id) | Target::Content(id) => Some(id),
            Target::NewCriterion { content, parent } => Some(parent.unwrap_or(content)),
            Target::NewContent => None,
        };
        request_animation_frame(move || {
            let Some(d) = web_sys::window().and_then(|w| w.document()) else {
                return;
            };
            if let Some(el) = row.and_then(|id| {
                d.query_selector(&format!("tr[data-id=\"{id}\"]"))
                    .ok()
                    .flatten()
            }) {
                el.scroll_into_view();
            }
            // Never take the focus from a field the user already went to: a tap on the
            // maximum before this frame would otherwise type into the code.
            let inside = d
                .active_element()
                .and_then(|a| a.closest("[data-testid=criterion-form]").ok().flatten())
                .is_some();
            if let Some(el) = d
                .get_element_by_id("cf-code")
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                .filter(|_| !inside)
            {
                let _ = el.focus_with_options(&{
                    let o = web_sys::FocusOptions::new();
                    o.set_prevent_scroll(true);
                    o
                });
            }
        });
    });
    let heading = move |target: Target| {
        let code_of = |id: Uuid| {
            parts
                .with_untracked(|p| {
                    p.as_ref().and_then(|p| {
                        p.criteria
                            .iter()
                            .find(|c| c.id == id)
                            .map(|c| c.code.clone())
                            .or_else(|| {
                                p.contents
                                    .iter()
                                    .find(|c| c.id == id)
                                    .map(|c| c.code.clone())
                            })
                    })
                })
                .unwrap_or_default()
        };
        match target {
            Target::Criterion(id) => format!(
                "{} {}",
                ctx.t("Sửa tiêu chí", "Edit criterion"),
                code_of(id)
            ),
            Target::NewCriterion { content, parent } => format!(
                "{} {}",
                ctx.t("Thêm tiêu chí vào", "New criterion in"),
                code_of(parent.unwrap_or(content))
            ),
            Target::Content(id) => {
                format!("{} {}", ctx.t("Sửa nội dung", "Edit content"), code_of(id))
            }
            Target::NewContent => ctx.t("Thêm nội dung thi đua", "New content").to_owned(),
        }
    };
    move || {
        let target = form.target.get()?;
        let is_criterion = !matches!(target, Target::Content(_) | Target::NewContent);
        Some(view! {
            <section class="edit-sheet card" role="dialog" aria-labelledby="cf-heading"
                on:keydown=move |e| if e.key() == "Escape" { form.target.set(None) }>
                <h3 id="cf-heading">{heading(target)}</h3>
                <form class="edit-form" on:submit=save data-testid="criterion-form">
                    <div class="grid">
                        <div>
                            <label for="cf-code">{tr("Mã", "Code")}</label>
                            <input id="cf-code" type="text" required prop:value=move || form.code.get() on:input=move |e| form.code.set(event_target_value(&e)) />
                        </div>
                        <div class="wide">
                            <label for="cf-title">{move || if is_criterion { ctx.t("Tên tiêu chí", "Criterion title") } else { ctx.t("Tên nội dung", "Content title") }}</label>
                            <input id="cf-title" type="text" data-testid="form-title" prop:value=move || form.title.get() on:input=move |e| form.title.set(event_target_value(&e)) />
                        </div>
                        {is_criterion.then(|| view! {
                            <div>
                                <label for="cf-kind">{tr("Loại", "Kind")}</label>
                                <select id="cf-kind" on:change=move |e| form.kind.set(kind_from(&event_target_value(&e)))>
                                    {[CriterionKind::Standard, CriterionKind::Bonus, CriterionKind::Deduction, CriterionKind::Disqualifier].into_iter().map(|k| view! {
                                        <option value=kind_code(k) selected=move || form.kind.get() == k>{label(move || criterion_kind(k, ctx.lang.get()))}</option>
                                    }).collect_view()}
                                </select>
                            </div>
                            <div>
                                <label for="cf-max">{tr("Điểm chuẩn", "Max points")}</label>
                                <input id="cf-max" type="text" inputmode="decimal" data-testid="form-max" prop:value=move || form.max.get() on:input=move |e| form.max.set(event_target_value(&e)) />
                            </div>
                            <div class="wide">
                                <label for="cf-guidance">{tr("Hướng dẫn chấm", "Scoring guidance")}</label>
                                <input id="cf-guidance" type="text" prop:value=move || form.guidance.get() on:input=move |e| form.guidance.set(event_target_value(&e)) />
                            </div>
                        })}
                    </div>
                    {move || form.error.get().map(|e| view! { <p class="error" role="alert" data-testid="form-error">{e}</p> })}
                    <div class="actions">
                        <button type="submit" data-testid="form-save">{tr("Lưu", "Save")}</button>
                        {text_button("secondary", None, tr("Hủy", "Cancel"), move || form.target.set(None))}
                    </div>
                </form>
            </section>
        })
    }
}

fn signatures_view(
    ctx: Ctx,
    p: &Parts,
    who: &shared::access::Principal,
    block: Uuid,
) -> impl IntoView + use<> {
    let (members, head) = ctx.snap.with_untracked(|s| {
        let s = s.as_ref();
        let b = s.and_then(|s| data::block(s, block));
        let m = match (s, &b) {
            (Some(s), Some(b)) => data::members(s, b),
            _ => Vec::new(),
        };
        (m, b.and_then(|b| b.head))
    });
    let _ = head;
    let can_sign = matches!(p.covenant.status, CovenantStatus::Agreed);
    let covenant_id = p.covenant.id;
    let rows = members
        .into_iter()
        .map(|u| {
            let signed = p.signatures.iter().find(|s| s.unit == u.id).cloned();
            let mine = who.acts_for(block, u.id);
            let signer = RwSignal::new(String::new());
            let error = RwSignal::new(None::<String>);
            let uid = u.id;
            let sign = move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                let record = Record::Signature(Signature {
                    id: ids::new_v7(),
                    block_id: block,
                    covenant_id,
                    unit: uid,
                    signer: signer.get_untracked(),
                    signed_at_ms: ids::now_ms(),
                });
                ctx.run(vec![Op::Create { record }], error);
            };
            let input_id = format!("signer-{uid}");
            view! {
                <li>
                    <strong>{u.name.clone()}</strong>
                    {match signed {
                        // Until every member has signed, the secretary takes back a unit's
                        // signature at its request (the unit signs again); the server refuses
                        // it once the covenant is complete. Editor module only: the shell's
                        // budget has no room for it, and the rule is the same.
                        #[cfg(feature = "editor")]
                        Some(s) if can_sign && super::runs_block(who, block) => {
                            let id = s.id;
                            let undo = move |_| {
                                if super::confirm(ctx.t(
                                    "Rút chữ ký này? Đơn vị sẽ phải ký lại.",
                                    "Withdraw this signature? The unit will have to sign again.",
                                )) {
                                    ctx.run(vec![Op::Delete { id }], error);
                                }
                            };
                            view! {
                                <span class="ok">" ✓ " {s.signer} " "</span>
                                <button type="button" class="secondary" data-testid="withdraw" on:click=undo>{tr("Rút chữ ký", "Withdraw the signature")}</button>
                                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                            }.into_any()
                        }
                        Some(s) => view! { <span class="ok">" ✓ " {s.signer} " · " {move || super::format::date_time(s.signed_at_ms, ctx.lang.get())}</span> }.into_any(),
                        None if mine && can_sign => view! {
                            <form class="sign-form" on:submit=sign>
                                <label for=input_id.clone()>{tr("Họ tên, chức vụ người ký", "Signer's name and title")}</label>
                                <input id=input_id type="text" required prop:value=move || signer.get() on:input=move |e| signer.set(event_target_value(&e)) />
                                <button type="submit" data-testid="sign">{tr("Ký giao ước", "Sign the covenant")}</button>
                                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                            </form>
                        }.into_any(),
                        None => view! { <span class="muted">" · " {tr("chưa ký", "not signed")}</span> }.into_any(),
                    }}
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="card" data-testid="signatures">
            <h3>{tr("Ký kết giao ước", "Signatures")} " (" {p.signatures.len()} ")"</h3>
            <ul class="signatures">{rows}</ul>
        </section>
    }
}
