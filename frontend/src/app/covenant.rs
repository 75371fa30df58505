//! The covenant editor: contents and criteria as a tree (add, edit, reorder, delete), kinds
//! and maximum points, live totals against the stated total, the shared validator's
//! messages next to the row they are about, the version history, circulation and
//! agreement, and each member unit's signature.
//!
//! An edit is checked twice before it is stored: by `covenant::validate` on the covenant as
//! it would be (a problem it adds on the edited row refuses it), then by the shared world's
//! rules (rights, status), the same the server runs.

use std::collections::{BTreeMap, HashMap};

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::covenant::{self, content_points, document_order};
use shared::model::{Content, Covenant, CovenantStatus, Criterion, CriterionKind, Signature};
use shared::mutation::Op;
use shared::{Points, Record};
use uuid::Uuid;

use super::format::{
    covenant_status, criterion_kind, kind_code, kind_from, parse_points, points_text,
};
use super::ui::{button, text_button};
use super::{Ctx, Route, data, label, tr};
use crate::db::Snapshot;
use crate::i18n::Lang;
use crate::ids;

/// What the edit form is working on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Criterion(Uuid),
    NewCriterion { content: Uuid, parent: Option<Uuid> },
    Content(Uuid),
    NewContent,
}

impl Target {
    /// A name for the form's field ids, unique per target.
    fn key(self) -> String {
        match self {
            Target::Criterion(id) => format!("c{}", id.simple()),
            Target::NewCriterion { content, parent } => format!(
                "n{}{}",
                content.simple(),
                parent.map(|p| p.simple().to_string()).unwrap_or_default()
            ),
            Target::Content(id) => format!("k{}", id.simple()),
            Target::NewContent => "new".into(),
        }
    }
}

/// The edit form's fields, kept above the tree so a sync never wipes what is typed.
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
        .records
        .values()
        .filter_map(|r| match r {
            Record::Content(c) if c.covenant_id == covenant_id => Some(c.clone()),
            _ => None,
        })
        .collect();
    let ids: std::collections::HashSet<Uuid> = contents.iter().map(|c| c.id).collect();
    let criteria = s
        .records
        .values()
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

    move || {
        let Some(p) = parts_memo.get() else {
            return view! { <p class="muted card">{tr("Khối này chưa có giao ước trên máy.", "This block has no covenant on this device.")}</p> }.into_any();
        };
        let who = principal.get();
        let pending = ctx
            .snap
            .with(|s| s.as_ref().map(|s| s.pending_targets()).unwrap_or_default());
        let manages = who.manages(block);
        let editable = manages && covenant::check_editable(&p.covenant).is_ok();
        let l = ctx.lang.get();
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
        let (contents, ordered) = document_order(&p.contents, &p.criteria);
        let standard_total = contents.iter().fold(Points::ZERO, |a, c| {
            a.checked_add(content_points(&p.criteria, c.id))
                .unwrap_or(a)
        });
        let balanced = standard_total == p.covenant.total_points;
        let cov = p.covenant.clone();
        let status = cov.status;
        let cov_problems = problems.get(&cov.id).cloned().unwrap_or_default();

        let status_actions = manages.then(|| {
            let to = |st: CovenantStatus| {
                let id = cov.id;
                move || run(vec![Op::set(id, "status", serde_json::json!(st.as_str()))])
            };
            view! {
                <div class="actions">
                    {(status == CovenantStatus::Draft).then(|| text_button("", Some("circulate"), tr("Gửi xin ý kiến các đơn vị", "Circulate to the members"), to(CovenantStatus::Circulated)))}
                    {(status == CovenantStatus::Circulated).then(|| text_button("secondary", None, tr("Trở lại bản nháp", "Back to draft"), to(CovenantStatus::Draft)))}
                    {matches!(status, CovenantStatus::Draft | CovenantStatus::Circulated).then(|| text_button("", Some("agree"), tr("Thống nhất giao ước", "Mark as agreed"), to(CovenantStatus::Agreed)))}
                </div>
            }
        });

        let history = versions.get().into_iter().map(|v| {
            let current = Some(v.id) == chosen.get_untracked();
            view! {
                <li>
                    <a href=Route::Covenant(block, Some(v.id)).hash() aria-current={ if current { "page" } else { "false" } }>
                        {tr("Phiên bản", "Version")} " " {v.version}
                    </a>
                    " · " {label(move || covenant_status(v.status, ctx.lang.get()))}
                    {(!v.amendment_reason.is_empty()).then(|| format!(" · {}", v.amendment_reason))}
                </li>
            }
        }).collect_view();

        let mut rows = Vec::new();
        for content in &contents {
            let cid = content.id;
            let siblings: Vec<Content> = contents.iter().map(|c| (*c).clone()).collect();
            let idx = siblings.iter().position(|c| c.id == cid).unwrap_or(0);
            let move_content =
                move |dir: i64| run(moved(&siblings, idx, dir, |c| c.id, |c| c.position));
            let (up, down) = (move_content.clone(), move_content);
            let p_start = p.clone();
            let p_add = p.clone();
            let msgs = problems.get(&cid).cloned().unwrap_or_default();
            rows.push(view! {
                <tr class="content" data-id=cid.to_string()>
                    <th scope="row">{content.code.clone()}</th>
                    <th scope="row">{content.title.clone()}
                        {msgs.into_iter().map(|m| view! { <p class="error problem">{m}</p> }).collect_view()}
                    </th>
                    <td class="num">{points_text(content_points(&p.criteria, cid), l)}</td>
                    <td class="row-actions">
                        {editable.then(|| view! {
                            {text_button("secondary small", None, tr("Sửa", "Edit"), move || start(Target::Content(cid), &p_start))}
                            {button("secondary small", None, Signal::stored("↑"), Some(tr("Chuyển lên", "Move up")), None, move || up(-1))}
                            {button("secondary small", None, Signal::stored("↓"), Some(tr("Chuyển xuống", "Move down")), None, move || down(1))}
                            {text_button("secondary small", None, tr("Xóa", "Delete"), move || run(vec![Op::Delete { id: cid }]))}
                            {text_button("small", Some("add-criterion"), tr("+ Tiêu chí", "+ Criterion"), move || start(Target::NewCriterion { content: cid, parent: None }, &p_add))}
                        })}
                    </td>
                </tr>
            }.into_any());
            rows.push(view! { <FormRow form=form save=save target_is=Target::NewCriterion { content: cid, parent: None } /> }.into_any());
            for c in ordered.iter().filter(|c| c.content_id == cid) {
                let id = c.id;
                let sibs: Vec<Criterion> = ordered
                    .iter()
                    .filter(|x| x.content_id == cid && x.parent_id == c.parent_id)
                    .map(|x| (*x).clone())
                    .collect();
                let i = sibs.iter().position(|x| x.id == id).unwrap_or(0);
                let move_crit = move |dir: i64| run(moved(&sibs, i, dir, |c| c.id, |c| c.position));
                let (up, down) = (move_crit.clone(), move_crit);
                let p_start = p.clone();
                let p_sub = p.clone();
                let top = c.parent_id.is_none();
                let kind = c.kind;
                let msgs = problems.get(&id).cloned().unwrap_or_default();
                rows.push(view! {
                    <tr class={ if top { "criterion" } else { "criterion sub" } } data-testid="criterion" data-id=id.to_string()>
                        <td>{c.code.clone()}</td>
                        <td>
                            <span class="title" data-testid="criterion-title">{c.title.clone()}</span>
                            {(kind != CriterionKind::Standard).then(|| view! { <span class="badge">{label(move || criterion_kind(kind, ctx.lang.get()))}</span> })}
                            {pending.contains(&id).then(|| view! { <span class="badge pending" data-testid="pending-badge">{tr("Chờ đồng bộ", "Pending")}</span> })}
                            {(!c.guidance.is_empty()).then(|| view! { <p class="guidance">{c.guidance.clone()}</p> })}
                            {msgs.into_iter().map(|m| view! { <p class="error problem" data-testid="problem">{m}</p> }).collect_view()}
                        </td>
                        <td class="num">{points_text(c.max_points, l)}</td>
                        <td class="row-actions">
                            {editable.then(|| view! {
                                {text_button("secondary small", Some("edit-criterion"), tr("Sửa", "Edit"), move || start(Target::Criterion(id), &p_start))}
                                {button("secondary small", None, Signal::stored("↑"), Some(tr("Chuyển lên", "Move up")), None, move || up(-1))}
                                {button("secondary small", None, Signal::stored("↓"), Some(tr("Chuyển xuống", "Move down")), None, move || down(1))}
                                {text_button("secondary small", Some("delete-criterion"), tr("Xóa", "Delete"), move || run(vec![Op::Delete { id }]))}
                                {top.then(|| text_button("secondary small", None, tr("+ Tiêu chí con", "+ Sub-criterion"), move || start(Target::NewCriterion { content: cid, parent: Some(id) }, &p_sub)))}
                            })}
                        </td>
                    </tr>
                    <FormRow form=form save=save target_is=Target::Criterion(id) />
                    <FormRow form=form save=save target_is=Target::NewCriterion { content: cid, parent: Some(id) } />
                }.into_any());
            }
        }
        let p_new = p.clone();
        let signing = signatures_view(ctx, &p, &who, block);

        view! {
            <p><a href=Route::Block(block).hash()>{tr("← Về trang khối", "← Back to the block")}</a></p>
            <section class="card covenant" data-testid="covenant">
                <h2>{cov.title.clone()}</h2>
                <p class="muted">
                    {tr("Phiên bản", "Version")} " " {cov.version} " · "
                    <span class="badge" data-testid="covenant-status">{label(move || covenant_status(status, ctx.lang.get()))}</span>
                    " · " {tr("Tổng điểm chuẩn:", "Standard total:")} " "
                    <span class={ if balanced { "ok" } else { "error" } } data-testid="covenant-total">{points_text(standard_total, l)} " / " {points_text(cov.total_points, l)}</span>
                    " · " {tr("Điểm thưởng tối đa:", "Bonus cap:")} " " {points_text(cov.bonus_cap, l)}
                </p>
                {cov_problems.into_iter().map(|m| view! { <p class="error problem" data-testid="covenant-problem">{m}</p> }).collect_view()}
                {status_actions}
                {move || action_error.get().map(|e| view! { <p class="error" role="alert" data-testid="action-error">{e}</p> })}
                <table>
                    <thead>
                        <tr>
                            <th scope="col">{tr("Mã", "Code")}</th>
                            <th scope="col">{tr("Nội dung, tiêu chí", "Content, criterion")}</th>
                            <th scope="col" class="num">{tr("Điểm chuẩn", "Max points")}</th>
                            <th scope="col"><span class="sr-only">{tr("Thao tác", "Actions")}</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows}
                        <FormRow form=form save=save target_is=Target::NewContent />
                    </tbody>
                </table>
                {editable.then(|| view! {
                    <div class="actions">{text_button("secondary", None, tr("+ Nội dung thi đua", "+ Content"), move || start(Target::NewContent, &p_new))}</div>
                })}
            </section>
            {signing}
            <section class="card">
                <h3>{tr("Lịch sử phiên bản", "Version history")}</h3>
                <ul>{history}</ul>
            </section>
        }
        .into_any()
    }
}

/// The edit form, shown in the table under the row it edits.
#[component]
fn FormRow(
    form: Form,
    save: impl Fn(leptos::ev::SubmitEvent) + Copy + Send + Sync + 'static,
    target_is: Target,
) -> impl IntoView {
    let ctx = Ctx::get();
    let is_criterion = !matches!(target_is, Target::Content(_) | Target::NewContent);
    let key = target_is.key();
    let fid = move |name: &str| format!("{name}-{key}");
    let (code_id, title_id, guidance_id, kind_id, max_id) = (
        fid("code"),
        fid("title"),
        fid("guidance"),
        fid("kind"),
        fid("max"),
    );
    move || {
        (form.target.get() == Some(target_is)).then(|| view! {
            <tr class="edit-row"><td colspan="4">
                <form class="edit-form" on:submit=save data-testid="criterion-form">
                    <div class="grid">
                        <div>
                            <label for=code_id.clone()>{tr("Mã", "Code")}</label>
                            <input id=code_id.clone() type="text" required prop:value=move || form.code.get() on:input=move |e| form.code.set(event_target_value(&e)) />
                        </div>
                        <div class="wide">
                            <label for=title_id.clone()>{move || if is_criterion { ctx.t("Tên tiêu chí", "Criterion title") } else { ctx.t("Tên nội dung", "Content title") }}</label>
                            <input id=title_id.clone() type="text" data-testid="form-title" prop:value=move || form.title.get() on:input=move |e| form.title.set(event_target_value(&e)) />
                        </div>
                        {is_criterion.then(|| view! {
                            <div>
                                <label for=kind_id.clone()>{tr("Loại", "Kind")}</label>
                                <select id=kind_id.clone() on:change=move |e| form.kind.set(kind_from(&event_target_value(&e)))>
                                    {[CriterionKind::Standard, CriterionKind::Bonus, CriterionKind::Deduction, CriterionKind::Disqualifier].into_iter().map(|k| view! {
                                        <option value=kind_code(k) selected=move || form.kind.get() == k>{label(move || criterion_kind(k, ctx.lang.get()))}</option>
                                    }).collect_view()}
                                </select>
                            </div>
                            <div>
                                <label for=max_id.clone()>{tr("Điểm chuẩn", "Max points")}</label>
                                <input id=max_id.clone() type="text" inputmode="decimal" data-testid="form-max" prop:value=move || form.max.get() on:input=move |e| form.max.set(event_target_value(&e)) />
                            </div>
                            <div class="wide">
                                <label for=guidance_id.clone()>{tr("Hướng dẫn chấm", "Scoring guidance")}</label>
                                <input id=guidance_id.clone() type="text" prop:value=move || form.guidance.get() on:input=move |e| form.guidance.set(event_target_value(&e)) />
                            </div>
                        })}
                    </div>
                    {move || form.error.get().map(|e| view! { <p class="error" role="alert" data-testid="form-error">{e}</p> })}
                    <div class="actions">
                        <button type="submit" data-testid="form-save">{tr("Lưu", "Save")}</button>
                        {text_button("secondary", None, tr("Hủy", "Cancel"), move || form.target.set(None))}
                    </div>
                </form>
            </td></tr>
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
