//! The scoring sheet, built for a tablet: one subject unit at a time, each criterion with
//! its maximum and guidance, a large stepper and a number field per cell, a note per cell,
//! running totals per content and overall, and a submit step with a summary. What is typed
//! is checked at once by the shared rules and committed to IndexedDB on Enter, Tab or
//! leaving the field; a refused value stays visible, marked, and blocks submitting, so the
//! screen never shows a value other than the one counted without saying so. Moving between
//! units, reloading or losing the network never loses a committed value.
//!
//! A score field holding typed text not yet committed, and a focused note, are not bound
//! to the snapshot: a sync landing mid-typing updates the others, never the one under the
//! user's finger.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::covenant::{CovenantDoc, Leaf, ScoringTable};
use shared::model::{CriterionKind, Round, ScoreCell, ScoreSheet};
use shared::mutation::Op;
use shared::round::RoundState;
use shared::sheet::{CellValue, SheetTotals, check_leaf};
use shared::{Points, Record};
use uuid::Uuid;

use super::format::{kind_code, parse_points, points_text, round_state, stage};
use super::ui::{button, text_button};
use super::{Ctx, Route, data, label, pts, text, tr};
use crate::db::Snapshot;
use crate::ids;

/// The scoring table of a covenant as the device holds it, and the block's point step.
pub(crate) fn table_for(s: &Snapshot, covenant_id: Uuid) -> Option<(Arc<ScoringTable>, Points)> {
    let Some(Record::Covenant(covenant)) = s.records.get(&covenant_id).cloned() else {
        return None;
    };
    let step = data::block(s, covenant.block_id)?.rules.point_step;
    let mut doc = CovenantDoc {
        covenant,
        contents: Vec::new(),
        criteria: Vec::new(),
        signatures: Vec::new(),
    };
    for r in s.others() {
        match r {
            Record::Content(c) if c.covenant_id == covenant_id => doc.contents.push(c.clone()),
            Record::Criterion(c) if c.block_id == doc.covenant.block_id => {
                doc.criteria.push(c.clone())
            }
            _ => {}
        }
    }
    let contents: std::collections::HashSet<Uuid> = doc.contents.iter().map(|c| c.id).collect();
    doc.criteria.retain(|c| contents.contains(&c.content_id));
    ScoringTable::build(&doc, step)
        .ok()
        .map(|t| (Arc::new(t), step))
}

/// How a cell changes: from its stored value (if any) to the new one (`None` removes it).
type Change = Box<dyn FnOnce(Option<CellValue>) -> Option<CellValue>>;

/// Records a cell's change; resolves once it is in IndexedDB. The change is computed from
/// the value as the edits queued before it left it, so a tap on "+" right after typing
/// steps from the typed value.
type SetValue = Rc<dyn Fn(Uuid, Change) -> Pin<Box<dyn Future<Output = Result<(), String>>>>>;

/// The fixed fields of the sheet being scored.
#[derive(Clone, Copy)]
struct SheetKey {
    block_id: Uuid,
    round_id: Uuid,
    scorer: Uuid,
    subject: Uuid,
}

/// The sheet's id; when there is no sheet yet, one is created first, in the same edit.
fn sheet_or_new(sheet: Option<ScoreSheet>, ops: &mut Vec<Op>, k: SheetKey) -> Uuid {
    if let Some(x) = sheet {
        return x.id;
    }
    let id = ids::new_v7();
    ops.push(Op::Create {
        record: Record::ScoreSheet(ScoreSheet {
            id,
            block_id: k.block_id,
            round_id: k.round_id,
            scorer: k.scorer,
            subject: k.subject,
            submitted: false,
        }),
    });
    id
}

fn find_sheet(s: &Snapshot, round: Uuid, scorer: Uuid, subject: Uuid) -> Option<ScoreSheet> {
    s.others().find_map(|r| match r {
        Record::ScoreSheet(x)
            if x.round_id == round && x.scorer == scorer && x.subject == subject =>
        {
            Some(x.clone())
        }
        _ => None,
    })
}

/// A sheet's totals from its cells (cells that do not check are left out), and how many
/// criteria that owe a value have one.
fn totals(table: &ScoringTable, cells: &[ScoreCell]) -> (SheetTotals, usize) {
    let mut t = SheetTotals::new(table);
    let mut scored = 0;
    for c in cells {
        if let Ok(leaf) = table.leaf(c.criterion_id) {
            t.add(&leaf, c.value);
            scored += usize::from(leaf.needs_value());
        }
    }
    (t, scored)
}

/// A round: the subjects to score, the sheet of the chosen one, and the submitted sheets.
#[component]
pub fn RoundView(
    /// The block.
    block: Uuid,
    /// The round.
    round: Uuid,
    /// The subject chosen in the URL.
    subject: Option<Uuid>,
    /// Another scorer's sheet, for the secretary (ignored for anyone else).
    scorer_param: Option<Uuid>,
) -> impl IntoView {
    let ctx = Ctx::get();
    let round_rec = Memo::new(move |_| {
        ctx.snap
            .with(|s| s.as_ref().and_then(|s| data::round(s, round)))
    });
    let scorer = Memo::new(move |_| {
        ctx.principal().and_then(|p| {
            scorer_param
                .filter(|_| p.manages(block))
                .or_else(|| p.unit_in(block))
        })
    });
    let subjects = Memo::new(move |_| {
        ctx.snap
            .with(|s| {
                let s = s.as_ref()?;
                let b = data::block(s, block)?;
                let r = data::round(s, round)?;
                Some(data::subjects_of(&b, &r, scorer.get()?))
            })
            .unwrap_or_default()
    });
    let chosen = Memo::new(move |_| {
        let list = subjects.get();
        subject
            .filter(|s| list.contains(s))
            .or_else(|| list.first().copied())
    });
    let has_table = Memo::new(move |_| {
        let cov = round_rec.get().map(|r| r.covenant_id);
        ctx.snap.with(|s| {
            s.as_ref()
                .zip(cov)
                .is_some_and(|(s, c)| table_for(s, c).is_some())
        })
    });
    let header = move || {
        round_rec.get().map(|r| {
            let (st, state) = (r.stage, r.state);
            view! {
                <h2>{label(move || stage(st, ctx.lang.get()))} " "
                    <span class="badge" data-testid="round-state">{label(move || round_state(state, ctx.lang.get()))}</span>
                </h2>
            }
        })
    };
    let tabs = move || {
        let Some(r) = round_rec.get() else {
            return ().into_any();
        };
        let Some(me) = scorer.get() else {
            return ().into_any();
        };
        let list = subjects.get();
        let current = chosen.get();
        ctx.snap.with(|s| {
            let Some(s) = s.as_ref() else { return ().into_any() };
            view! {
                <nav class="subjects" aria-label=tr("Đơn vị được chấm", "Units to score")>
                    {list.into_iter().map(|u| {
                        let sheet = find_sheet(s, r.id, me, u);
                        let done = sheet.as_ref().is_some_and(|x| x.submitted);
                        let class = match (current == Some(u), done) {
                            (true, true) => "tab current done",
                            (true, false) => "tab current",
                            (false, true) => "tab done",
                            (false, false) => "tab",
                        };
                        view! {
                            <a class=class href=Route::Round { block, round, subject: Some(u), scorer: scorer_param }.hash()
                               aria-current={ if current == Some(u) { "page" } else { "false" } } data-testid="subject-tab">
                                {data::short_name(s, u)}
                                {done.then_some(" ✓")}
                            </a>
                        }
                    }).collect_view()}
                </nav>
            }
            .into_any()
        })
    };
    let sheet = move || {
        let (Some(r), Some(me), Some(subject)) =
            (round_rec.get_untracked(), scorer.get(), chosen.get())
        else {
            return ().into_any();
        };
        if !has_table.get() {
            return view! { <p class="muted">{tr("Giao ước chưa tải về đủ.", "The covenant is not fully downloaded yet.")}</p> }.into_any();
        }
        let Some((table, step)) = ctx
            .snap
            .with_untracked(|s| s.as_ref().and_then(|s| table_for(s, r.covenant_id)))
        else {
            return ().into_any();
        };
        view! { <SheetEditor round=r scorer=me subject=subject table=table step=step /> }.into_any()
    };
    view! {
        <p><a href=Route::Block(block).hash()>{tr("← Về trang khối", "← Back to the block")}</a></p>
        <section class="card">
            {header}
            {tabs}
        </section>
        {sheet}
        <Results round=round />
    }
}

/// One sheet being scored.
#[component]
fn SheetEditor(
    round: Round,
    scorer: Uuid,
    subject: Uuid,
    table: Arc<ScoringTable>,
    step: Points,
) -> impl IntoView {
    let ctx = Ctx::get();
    let round_id = round.id;
    let block_id = round.block_id;
    let key = SheetKey {
        block_id,
        round_id,
        scorer,
        subject,
    };
    let sheet = Memo::new(move |_| {
        ctx.snap.with(|s| {
            s.as_ref()
                .and_then(|s| find_sheet(s, round_id, scorer, subject))
        })
    });
    let round_open = Memo::new(move |_| {
        ctx.snap
            .with(|s| s.as_ref().and_then(|s| data::round(s, round_id)))
            .is_some_and(|r| r.state == RoundState::Open)
    });
    // After the lock, the secretary corrects a cell with a written reason (audited).
    let correctable = Memo::new(move |_| {
        ctx.snap.with(|s| {
            s.as_ref().is_some_and(|s| {
                data::round(s, round_id).is_some_and(|r| r.state == RoundState::Locked)
                    && s.meta
                        .as_ref()
                        .and_then(|m| m.principal.as_ref())
                        .is_some_and(|p| super::runs_block(p, block_id))
            })
        })
    });
    let cells = Memo::new(move |_| {
        let Some(sh) = sheet.get() else {
            return BTreeMap::new();
        };
        ctx.snap.with(|s| {
            s.as_ref()
                .map(|s| {
                    data::cells(s, sh.id)
                        .into_iter()
                        .map(|c| (c.criterion_id, c))
                        .collect::<BTreeMap<_, _>>()
                })
                .unwrap_or_default()
        })
    });
    let writable =
        Memo::new(move |_| round_open.get() && !sheet.get().is_some_and(|s| s.submitted));
    let subject_name = ctx.snap.with_untracked(|s| {
        s.as_ref()
            .map(|s| data::short_name(s, subject))
            .unwrap_or_default()
    });
    let bonus_cap = table.covenant.bonus_cap;
    let t2 = table.clone();
    let sums = Memo::new(move |_| {
        let list: Vec<ScoreCell> = cells.get().into_values().collect();
        let (t, scored) = totals(&t2, &list);
        (
            t.contents.clone(),
            t.total(bonus_cap),
            t.bonus,
            t.deductions,
            t.disqualified(),
            scored,
        )
    });
    let leaf_count = table.to_score();
    let confirming = RwSignal::new(false);
    let invalid = RwSignal::new(BTreeSet::<Uuid>::new());
    let submit_error = RwSignal::new(None::<String>);
    // Opens the summary and brings it into view, on a phone as on a tablet.
    let open_summary = move || {
        confirming.set(true);
        request_animation_frame(|| {
            if let Some(el) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id("submit-summary"))
            {
                el.scroll_into_view();
            }
        });
    };

    // Records a value (or, with `None`, removes the cell); creates the sheet on first use.
    let set_value: SetValue = Rc::new(move |criterion: Uuid, change: Change| {
        Box::pin(ctx.edit_with(Box::new(move |s| {
            let mut ops = Vec::new();
            let sheet = find_sheet(s, round_id, scorer, subject);
            let existing = sheet.as_ref().and_then(|x| {
                data::cells(s, x.id)
                    .into_iter()
                    .find(|c| c.criterion_id == criterion)
            });
            let value = change(existing.as_ref().map(|c| c.value));
            if sheet.is_none() && value.is_none() {
                return ops;
            }
            let sheet_id = sheet_or_new(sheet, &mut ops, key);
            match (existing, value) {
                (Some(c), Some(v)) if c.value != v => ops.push(Op::set(
                    c.id,
                    "value",
                    serde_json::to_value(v).unwrap_or_default(),
                )),
                (Some(_), Some(_)) => {}
                (Some(c), None) => ops.push(Op::Delete { id: c.id }),
                (None, Some(v)) => ops.push(Op::Create {
                    record: Record::ScoreCell(ScoreCell {
                        id: ids::new_v7(),
                        block_id,
                        sheet_id,
                        criterion_id: criterion,
                        value: v,
                        note: String::new(),
                        evidence: String::new(),
                    }),
                }),
                (None, None) => {}
            }
            ops
        })))
    });

    let submit = move || {
        spawn_local(async move {
            let r = ctx
                .edit_with(Box::new(move |s| {
                    let mut ops = Vec::new();
                    let id = sheet_or_new(find_sheet(s, round_id, scorer, subject), &mut ops, key);
                    ops.push(Op::set(id, "submitted", serde_json::json!(true)));
                    ops
                }))
                .await;
            if r.is_ok() {
                confirming.set(false);
            }
            submit_error.set(r.err());
        });
    };

    // Contents with their criteria, parents as headings before their sub-criteria.
    let sections = table
        .contents
        .iter()
        .enumerate()
        .map(|(ci, content)| {
            let rows = table
                .criteria
                .iter()
                .filter(|c| c.content_id == content.id)
                .map(|c| {
                    let leaf = table.leaf(c.id).ok();
                    match leaf {
                        Some(leaf) => view! {
                            <CellRow criterion=c.clone() leaf=leaf step=step cells=cells writable=writable correctable=correctable set_value=set_value.clone() invalid=invalid />
                        }
                        .into_any(),
                        None => {
                            let max = c.max_points;
                            view! {
                                <div class="crit-parent">
                                    <span class="code">{c.code.clone()}</span> " " {c.title.clone()}
                                    <span class="muted"> " · " {tr("tối đa", "max")} " " {pts(max)}</span>
                                </div>
                            }
                            .into_any()
                        }
                    }
                })
                .collect_view();
            let max = table.content_max().get(ci).copied().unwrap_or(Points::ZERO);
            let code = content.code.clone();
            let title = content.title.clone();
            view! {
                <section class="content-block">
                    <h3 class="content-head">
                        <span>{code} ". " {title}</span>
                        <span class="content-total" data-testid="content-total">
                            {move || points_text(Points::from_hundredths(sums.get().0.get(ci).copied().unwrap_or(0)), ctx.lang.get())}
                            " / " {pts(max)}
                        </span>
                    </h3>
                    {rows}
                </section>
            }
        })
        .collect_view();

    let summary = move || {
        let (contents, total, bonus, deductions, disq, scored) = sums.get();
        let names: Vec<(String, String, Points)> = table
            .contents
            .iter()
            .zip(table.content_max())
            .map(|(c, m)| (c.code.clone(), c.title.clone(), m))
            .collect();
        view! {
            <div class="summary" id="submit-summary" role="dialog" aria-modal="false" aria-labelledby="summary-title" data-testid="submit-summary">
                <h3 id="summary-title">{tr("Kiểm tra trước khi nộp", "Check before submitting")}</h3>
                <table>
                    <tbody>
                        {names.into_iter().enumerate().map(|(i, (code, title, max))| {
                            let got = Points::from_hundredths(contents.get(i).copied().unwrap_or(0));
                            view! { <tr><td>{code}". "{title}</td><td class="num">{pts(got)} " / " {pts(max)}</td></tr> }
                        }).collect_view()}
                        <tr><td>{tr("Điểm thưởng", "Bonus")}</td><td class="num">{text(move || points_text(Points::from_hundredths(bonus), ctx.lang.get()))}</td></tr>
                        <tr><td>{tr("Điểm trừ", "Deductions")}</td><td class="num">{text(move || points_text(Points::from_hundredths(-deductions), ctx.lang.get()))}</td></tr>
                        <tr class="total"><th scope="row">{tr("Tổng điểm", "Total")}</th><td class="num" data-testid="summary-total">{pts(total)}</td></tr>
                    </tbody>
                </table>
                {disq.then(|| view! { <p class="error">{tr("Có tiêu chí loại trừ được đánh dấu.", "A disqualifier is marked.")}</p> })}
                {(scored < leaf_count).then(|| {
                    // Named, so submitting an incomplete sheet is a choice, not a slip.
                    let have = cells.get();
                    let missing: Vec<String> = table
                        .criteria
                        .iter()
                        .filter(|c| table.leaf(c.id).is_ok_and(|l| l.needs_value()) && !have.contains_key(&c.id))
                        .map(|c| c.code.clone())
                        .collect();
                    view! {
                        <p class="warning" data-testid="missing">{text(move || format!("{} {}/{} · {} {}", ctx.t("Chưa chấm đủ tiêu chí:", "Criteria scored:"), scored, leaf_count, ctx.t("còn thiếu", "missing"), missing.join(", ")))}</p>
                    }
                })}
                <p>{tr("Sau khi nộp, phiếu không sửa được nữa (trừ khi thư ký mở lại).", "Once submitted, the sheet cannot be changed (unless the secretary reopens it).")}</p>
                <div class="actions">
                    {text_button("", Some("confirm-submit"), if scored < leaf_count { tr("Vẫn nộp phiếu còn thiếu", "Submit it incomplete") } else { tr("Xác nhận nộp phiếu", "Submit the sheet") }, submit)}
                    {text_button("secondary", None, tr("Quay lại chấm tiếp", "Back to scoring"), move || confirming.set(false))}
                </div>
                {move || submit_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            </div>
        }
    };

    view! {
        <section class="card sheet" data-testid="sheet" aria-label=subject_name.clone()>
            <div class="sheet-head">
                <h2>{tr("Phiếu chấm:", "Sheet for:")} " " {subject_name.clone()}</h2>
                {move || sheet.get().is_some_and(|s| s.submitted).then(|| view! {
                    <span class="badge done" data-testid="submitted-badge">{tr("Đã nộp", "Submitted")}</span>
                })}
            </div>
            {sections}
        </section>
        <div class="sheet-footer" data-testid="sheet-footer">
            <span class="grand-total">
                {tr("Tổng điểm:", "Total:")} " "
                <strong data-testid="sheet-total">{text(move || points_text(sums.get().1, ctx.lang.get()))}</strong>
                <span class="muted">" · " {text(move || format!("{} {}/{}", ctx.t("đã chấm", "scored"), sums.get().5, leaf_count))}</span>
            </span>
            {move || match (writable.get() && !confirming.get(), invalid.with(|i| i.len())) {
                (false, _) => None,
                (true, 0) => Some(text_button("", Some("submit"), tr("Nộp phiếu…", "Submit…"), open_summary).into_any()),
                (true, _) => Some(view! { <p class="error" data-testid="sheet-invalid">{tr("Có ô giữ giá trị không được nhận: sửa lại hoặc dùng lại giá trị đã lưu rồi mới nộp được.", "A field holds a refused value: fix it or go back to the stored value to submit.")}</p> }.into_any()),
            }}
        </div>
        {move || (confirming.get() && writable.get() && invalid.with(|i| i.is_empty())).then(summary.clone())}
    }
}

fn value_text(v: Option<CellValue>, ctx: Ctx) -> String {
    match v {
        Some(CellValue::Points(p)) => points_text(p, ctx.lang.get_untracked()),
        Some(CellValue::Count(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// One criterion's cell: stepper, number field, note.
#[component]
fn CellRow(
    criterion: shared::model::Criterion,
    leaf: Leaf,
    step: Points,
    cells: Memo<BTreeMap<Uuid, ScoreCell>>,
    writable: Memo<bool>,
    correctable: Memo<bool>,
    set_value: SetValue,
    /// Criteria whose field holds a refused value: the sheet cannot be submitted.
    invalid: RwSignal<BTreeSet<Uuid>>,
) -> impl IntoView {
    let ctx = Ctx::get();
    let id = criterion.id;
    let cell = Memo::new(move |_| cells.with(|m| m.get(&id).cloned()));
    let value = Memo::new(move |_| cell.get().map(|c| c.value));
    let error = RwSignal::new(None::<String>);
    let input: NodeRef<html::Input> = NodeRef::new();
    let note_input: NodeRef<html::Input> = NodeRef::new();
    let focused = |el: &web_sys::HtmlInputElement| {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())
            .is_some_and(|a| a == ***el)
    };
    // Shows the stored value, except while the field holds typed text not yet committed.
    let typing = RwSignal::new(false);
    Effect::new(move |_| {
        let v = value.get();
        if let Some(el) = input.get()
            && !typing.get_untracked()
        {
            el.set_value(&value_text(v, ctx));
        }
    });
    Effect::new(move |_| {
        let note = cell.get().map(|c| c.note).unwrap_or_default();
        if let Some(el) = note_input.get()
            && !focused(&el)
        {
            el.set_value(&note);
        }
    });
    let change = {
        let set_value = set_value.clone();
        move |c: Change| {
            let f = set_value(id, c);
            spawn_local(async move { error.set(f.await.err()) });
        }
    };
    let run = {
        let change = change.clone();
        move |v: Option<CellValue>| change(Box::new(move |_| v))
    };
    // What is typed is checked at once and stored only when it is committed (Enter, Tab, or
    // leaving the field): a refused value stays in the field, marked, with the value that
    // counts one tap away, and the sheet cannot be submitted meanwhile.
    let code_for_check = criterion.code.clone();
    let parse = move |text: &str| -> Result<Option<CellValue>, String> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        let v = match leaf.kind {
            CriterionKind::Deduction => text.trim().parse::<u32>().ok().map(CellValue::Count),
            _ => parse_points(text).map(CellValue::Points),
        }
        .ok_or_else(|| {
            ctx.lang
                .get_untracked()
                .t("Không phải là số hợp lệ", "Not a valid number")
                .to_owned()
        })?;
        check_leaf(&leaf, &code_for_check, step, v).map_err(|e| ctx.domain_message(&e))?;
        Ok(Some(v))
    };
    let flag = move |bad: bool| {
        invalid.update(|set| {
            if bad {
                set.insert(id);
            } else {
                set.remove(&id);
            }
        })
    };
    let on_input = {
        let parse = parse.clone();
        move |ev: leptos::ev::Event| {
            typing.set(true);
            let e = parse(&event_target_value(&ev)).err();
            flag(e.is_some());
            error.set(e);
        }
    };
    let on_commit = {
        let run = run.clone();
        move |ev: leptos::ev::Event| {
            if let Ok(v) = parse(&event_target_value(&ev)) {
                typing.set(false);
                // "9,0" reads back as "9": the field shows the value as stored.
                if let Some(el) = input.get_untracked() {
                    el.set_value(&value_text(v, ctx));
                }
                if v != value.get_untracked() {
                    run(v);
                }
            }
        }
    };
    // Puts the value that counts back in the field.
    let restore = move || {
        if let Some(el) = input.get_untracked() {
            el.set_value(&value_text(value.get_untracked(), ctx));
        }
        typing.set(false);
        flag(false);
        error.set(None);
    };
    let bump = {
        let change = change.clone();
        move |dir: i64| {
            restore();
            change(Box::new(move |current| match (leaf.kind, current) {
                (CriterionKind::Deduction, v) => {
                    let n = match v {
                        Some(CellValue::Count(n)) => i64::from(n),
                        _ => 0,
                    };
                    let n = (n + dir).max(0);
                    Some(CellValue::Count(u32::try_from(n).unwrap_or(0)))
                }
                (_, v) => {
                    // "−" on an empty cell leaves it empty; dir 0 is "the maximum".
                    let p = match (v, dir) {
                        (_, 0) => leaf.max.hundredths(),
                        (Some(CellValue::Points(p)), _) => p.hundredths() + dir * step.hundredths(),
                        (v, d) if d < 0 => return v,
                        _ => step.hundredths(),
                    };
                    Some(CellValue::Points(Points::from_hundredths(
                        p.clamp(0, leaf.max.hundredths()),
                    )))
                }
            }))
        }
    };
    let on_note = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        let Some(c) = cell.get_untracked() else {
            return;
        };
        ctx.run(vec![Op::set(c.id, "note", serde_json::json!(text))], error);
    };
    let correct = move || {
        let (Some(c), Some(w)) = (cell.get_untracked(), web_sys::window()) else {
            return;
        };
        let asked = w.prompt_with_message_and_default(
            ctx.t("Giá trị đính chính:", "Corrected value:"),
            &value_text(Some(c.value), ctx),
        );
        let Ok(Some(text)) = asked else { return };
        let value = match leaf.kind {
            CriterionKind::Deduction => text.trim().parse::<u32>().ok().map(CellValue::Count),
            CriterionKind::Disqualifier => Some(CellValue::Flag(text.trim() == "1")),
            _ => parse_points(&text).map(CellValue::Points),
        };
        let Some(value) = value else {
            return error.set(Some(
                ctx.t("Không phải là số hợp lệ", "Not a valid number")
                    .into(),
            ));
        };
        let reason = w.prompt_with_message(ctx.t(
            "Lý do đính chính (bắt buộc, ghi vào nhật ký):",
            "Reason for the correction (required, kept in the audit log):",
        ));
        match reason {
            Ok(Some(reason)) if !reason.trim().is_empty() => ctx.run(
                vec![Op::Correct {
                    cell_id: c.id,
                    value,
                    reason: reason.trim().to_owned(),
                }],
                error,
            ),
            _ => error.set(Some(
                ctx.t("Cần ghi lý do đính chính.", "A correction needs a reason.")
                    .into(),
            )),
        }
    };
    let field_id = format!("cell-{id}");
    let note_id = format!("note-{id}");
    let code = criterion.code.clone();
    let title = criterion.title.clone();
    let guidance = criterion.guidance.clone();
    let kind = leaf.kind;
    let max = leaf.max;
    let (minus, plus, keys, top) = (bump.clone(), bump.clone(), bump.clone(), bump);
    let toggle = run.clone();
    let locked = Signal::derive(move || !writable.get());
    let input_area = match kind {
        CriterionKind::Disqualifier => view! {
            <label class="check">
                <input type="checkbox" id=field_id.clone()
                    prop:checked=move || matches!(value.get(), Some(CellValue::Flag(true)))
                    disabled=move || !writable.get()
                    on:change=move |ev| toggle(Some(CellValue::Flag(event_target_checked(&ev)))) />
                {tr("Vi phạm (loại trừ)", "Applies (disqualifies)")}
            </label>
        }
        .into_any(),
        _ => view! {
            <div class="stepper">
                {button("step", None, Signal::stored("−"), Some(tr("Bớt", "Less")), Some(locked), move || minus(-1))}
                <input id=field_id.clone() node_ref=input type="text" inputmode="decimal" autocomplete="off"
                    class="score" data-testid="score-input" disabled=move || !writable.get()
                    aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                    on:input=on_input on:change=on_commit
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        let dir = match ev.key().as_str() { "ArrowUp" => 1, "ArrowDown" => -1, _ => return };
                        ev.prevent_default();
                        keys(dir);
                    } />
                {button("step", None, Signal::stored("+"), Some(tr("Thêm", "More")), Some(locked), move || plus(1))}
                {(kind != CriterionKind::Deduction).then(|| button("step max", Some("max"), tr("Tối đa", "Max"), Some(tr("Cho điểm tối đa", "Give the maximum")), Some(locked), move || top(0)))}
            </div>
        }
        .into_any(),
    };
    view! {
        <div class="crit" data-testid="criterion-row" data-code=code.clone() data-kind=kind_code(kind) data-max=points_text(max, crate::i18n::Lang::Vi)>
            <div class="crit-text">
                <label for=field_id.clone()><span class="code">{code.clone()}</span> " " {title}</label>
                <span class="muted max">
                    {move || match kind {
                        CriterionKind::Deduction => format!("{} {}", ctx.t("trừ mỗi lần", "per occurrence"), points_text(max, ctx.lang.get())),
                        CriterionKind::Disqualifier => ctx.t("loại trừ", "disqualifier").to_owned(),
                        CriterionKind::Bonus => format!("{} {}", ctx.t("thưởng tối đa", "bonus up to"), points_text(max, ctx.lang.get())),
                        CriterionKind::Standard => format!("{} {}", ctx.t("tối đa", "max"), points_text(max, ctx.lang.get())),
                    }}
                </span>
                {(!guidance.is_empty()).then(|| view! { <p class="guidance">{guidance.clone()}</p> })}
            </div>
            <div class="crit-input">
                {input_area}
                {move || (cfg!(feature = "editor") && correctable.get() && cell.get().is_some()).then(|| button("secondary", Some("correct"), tr("Đính chính…", "Correct…"), None, None, correct))}
                <label class="sr-only" for=note_id.clone()>{tr("Ghi chú", "Note")}</label>
                <input id=note_id node_ref=note_input type="text" class="note" data-testid="note-input"
                    placeholder=move || { if cell.get().is_some() { ctx.t("Ghi chú, minh chứng…", "Note, evidence…") } else { ctx.t("Chấm điểm trước khi ghi chú", "Score first, then add a note") } }
                    disabled=move || !writable.get() || cell.get().is_none() on:input=on_note />
                {move || error.get().map(|e| view! {
                    <p class="error" role="alert" data-testid="cell-error">{e} " "
                        {text(move || format!("{} {}", ctx.t("Chưa lưu; giá trị đang tính:", "Not saved; the value counted:"), match value.get() { None => "—".to_owned(), v => value_text(v, ctx) }))} " "
                        {button("link", Some("restore"), tr("Dùng lại giá trị này", "Use that value"), None, None, restore)}
                    </p>
                })}
            </div>
        </div>
    }
}

/// The round's submitted sheets and their totals, for everyone in the block.
#[component]
fn Results(round: Uuid) -> impl IntoView {
    let ctx = Ctx::get();
    let rows = Memo::new(move |_| {
        ctx.snap
            .with(|s| {
                let s = s.as_ref()?;
                let r = data::round(s, round)?;
                let (table, _) = table_for(s, r.covenant_id)?;
                // After the lock the secretary opens a sheet from here to correct it.
                let corrects = r.state == RoundState::Locked
                    && s.meta
                        .as_ref()
                        .and_then(|m| m.principal.as_ref())
                        .is_some_and(|p| super::runs_block(p, r.block_id));
                let submitted: Vec<ScoreSheet> = data::sheets(s, round)
                    .into_iter()
                    .filter(|x| x.submitted)
                    .collect();
                let mut cells = data::cells_by_sheet(s, &submitted.iter().map(|x| x.id).collect());
                let mut rows: Vec<(String, String, Points, Option<String>)> = submitted
                    .into_iter()
                    .map(|x| {
                        let (t, _) = totals(&table, &cells.remove(&x.id).unwrap_or_default());
                        let link = corrects.then(|| {
                            Route::Round {
                                block: r.block_id,
                                round,
                                subject: Some(x.subject),
                                scorer: Some(x.scorer),
                            }
                            .hash()
                        });
                        (
                            data::short_name(s, x.subject),
                            data::short_name(s, x.scorer),
                            t.total(table.covenant.bonus_cap),
                            link,
                        )
                    })
                    .collect();
                rows.sort_by(|a, b| {
                    shared::collation::compare(&a.0, &b.0)
                        .then_with(|| shared::collation::compare(&a.1, &b.1))
                });
                Some(rows)
            })
            .unwrap_or_default()
    });
    view! {
        <section class="card" data-testid="results">
            <h3>{tr("Phiếu đã nộp", "Submitted sheets")} " (" {move || rows.get().len()} ")"</h3>
            {move || if rows.with(Vec::is_empty) {
                view! { <p class="muted">{tr("Chưa có phiếu nào được nộp.", "No sheet submitted yet.")}</p> }.into_any()
            } else { view! {
                <table>
                    <thead><tr>
                        <th scope="col">{tr("Đơn vị được chấm", "Unit scored")}</th>
                        <th scope="col">{tr("Đơn vị chấm", "Scored by")}</th>
                        <th scope="col" class="num">{tr("Tổng điểm", "Total")}</th>
                    </tr></thead>
                    <tbody>
                        {move || rows.get().into_iter().map(|(subject, scorer, total, link)| view! {
                            <tr data-testid="result-row"><td><a href=link>{subject}</a></td><td>{scorer}</td><td class="num">{pts(total)}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any() }}
        </section>
    }
}
