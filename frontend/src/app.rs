//! The screens. The UI reads a `Snapshot` of IndexedDB and refreshes it after every local
//! edit and every sync attempt; it never holds data the database does not have.

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::covenant::{content_points, document_order};
use shared::model::{Block, Content, Covenant, CovenantStatus, Criterion, CriterionKind};
use shared::mutation::Op;
use shared::{Points, Record, collation};
use uuid::Uuid;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::db::{EditError, LocalDb, OutboxStatus, Snapshot};
use crate::i18n::Lang;
use crate::sync::{self, Poke};

/// The IndexedDB database name.
pub const DB_NAME: &str = "thidua";

/// What the components need once the database is open.
#[derive(Clone)]
struct Services {
    db: Rc<LocalDb>,
    poke: Poke,
    refresh: Rc<dyn Fn()>,
}

/// The criterion being edited, kept above the views that a refresh rebuilds, so a
/// background sync never throws away what the user is typing.
#[derive(Clone, Copy)]
struct EditState {
    editing: RwSignal<Option<Uuid>>,
    draft: RwSignal<String>,
    error: RwSignal<Option<String>>,
}

/// One row of the covenant table: a content heading or a criterion.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Row {
    Content {
        id: Uuid,
        code: String,
        title: String,
        points: Points,
    },
    Criterion {
        id: Uuid,
        code: String,
        title: String,
        kind: CriterionKind,
        max: Points,
        pending: bool,
    },
}

fn vi_points(p: Points) -> String {
    p.to_string().replace('.', ",")
}

fn server_origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

fn navigator_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

fn local_time(ms: u64) -> String {
    // Milliseconds since the epoch fit a JS number exactly.
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    date.to_locale_string("vi-VN", &wasm_bindgen::JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_default()
}

/// Asks the browser to keep IndexedDB through storage pressure, and registers the service
/// worker that lets the app load with no network.
fn harden_storage() {
    let Some(w) = web_sys::window() else { return };
    if let Ok(storage) = js_sys::Reflect::get(&w.navigator(), &"storage".into())
        && !storage.is_undefined()
    {
        let _ = w.navigator().storage().persist();
    }
    let sw = w.navigator().service_worker();
    if !sw.is_undefined() {
        let _ = sw.register("/sw.js");
    }
}

fn on_window(event: &str, f: impl Fn() + 'static) {
    if let Some(w) = web_sys::window() {
        let cb = Closure::<dyn Fn()>::new(f);
        let _ = w.add_event_listener_with_callback(event, cb.as_ref().unchecked_ref());
        // Lives as long as the page.
        cb.forget();
    }
}

/// The app.
#[component]
pub fn App() -> impl IntoView {
    let lang = RwSignal::new(Lang::Vi);
    let snap = RwSignal::new(None::<Snapshot>);
    let fatal = RwSignal::new(None::<String>);
    let online = RwSignal::new(navigator_online());
    let services = StoredValue::new_local(None::<Services>);
    let edit = EditState {
        editing: RwSignal::new(None),
        draft: RwSignal::new(String::new()),
        error: RwSignal::new(None),
    };

    on_window("online", move || online.set(true));
    on_window("offline", move || online.set(false));

    spawn_local(async move {
        harden_storage();
        match LocalDb::open(DB_NAME).await {
            Ok(db) => {
                let db = Rc::new(db);
                let refresh: Rc<dyn Fn()> = {
                    let db = db.clone();
                    Rc::new(move || {
                        let db = db.clone();
                        spawn_local(async move {
                            match db.snapshot().await {
                                // Re-render only on a real change: an idle sync leaves the
                                // page, and the field being typed in, untouched.
                                Ok(s) if snap.with_untracked(|old| old.as_ref() != Some(&s)) => {
                                    snap.set(Some(s))
                                }
                                Ok(_) => {}
                                Err(e) => fatal.set(Some(e.to_string())),
                            }
                        });
                    })
                };
                refresh();
                let r = refresh.clone();
                let poke = sync::run(db.clone(), server_origin(), move || r());
                services.set_value(Some(Services { db, poke, refresh }));
            }
            Err(e) => fatal.set(Some(e.to_string())),
        }
    });

    let sync_now = move |_| {
        services.with_value(|s| {
            if let Some(s) = s {
                s.poke.now();
            }
        });
    };

    view! {
        <div class="app" lang=move || lang.get().code()>
            <header class="topbar">
                <div>
                    <h1>"ThiĐua"</h1>
                    <p class="tagline">
                        {move || lang.get().t("Thi đua – Khen thưởng của Khối, Cụm thi đua", "Emulation and commendation for emulation blocks")}
                    </p>
                </div>
                <button class="secondary" on:click=move |_| lang.update(|l| *l = if *l == Lang::Vi { Lang::En } else { Lang::Vi })>
                    {move || lang.get().t("English", "Tiếng Việt")}
                </button>
            </header>
            <SyncBar snap=snap online=online lang=lang on_sync=sync_now />
            {move || {
                let signed_in = snap.with(|s| s.as_ref().and_then(|s| s.meta.as_ref()).is_some_and(|m| m.token.is_some()));
                let ready = snap.with(Option::is_some);
                (ready && !signed_in).then(|| view! { <SignIn lang=lang services=services /> })
            }}
            {move || fatal.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || match snap.get() {
                None => view! { <p class="muted">{lang.get().t("Đang mở dữ liệu…", "Opening data…")}</p> }.into_any(),
                Some(s) => view! { <Rejected snap=s.clone() lang=lang services=services /> <BlockView snap=s lang=lang services=services edit=edit /> }.into_any(),
            }}
        </div>
    }
}

/// The sync state: pending count, connection, last sync, last error, and a sync button.
#[component]
fn SyncBar(
    /// The local data.
    snap: RwSignal<Option<Snapshot>>,
    /// Whether the browser reports a network.
    online: RwSignal<bool>,
    /// UI language.
    lang: RwSignal<Lang>,
    /// Asks for a sync now.
    on_sync: impl Fn(leptos::ev::MouseEvent) + 'static,
) -> impl IntoView {
    let pending = move || snap.with(|s| s.as_ref().map_or(0, Snapshot::pending_count));
    let meta = move || snap.with(|s| s.as_ref().and_then(|s| s.meta.clone()));
    view! {
        <section class="syncbar" aria-live="polite" aria-label=move || lang.get().t("Trạng thái đồng bộ", "Sync status")>
            <span class=move || { if online.get() { "net online" } else { "net offline" } } data-testid="network">
                {move || if online.get() { lang.get().t("Trực tuyến", "Online") } else { lang.get().t("Ngoại tuyến", "Offline") }}
            </span>
            <span class=move || { if pending() > 0 { "sync pending" } else { "sync done" } } data-testid="sync-state">
                {move || match pending() {
                    0 => lang.get().t("Đã đồng bộ", "All changes synced").to_owned(),
                    n => format!("{} {n}", lang.get().t("Chờ đồng bộ:", "Pending:")),
                }}
            </span>
            <span data-testid="pending-count" hidden>{pending}</span>
            <span class="muted">
                {move || {
                    let l = lang.get();
                    match meta().and_then(|m| m.last_ok_ms) {
                        Some(ms) => format!("{} {}", l.t("Lần đồng bộ cuối:", "Last sync:"), local_time(ms)),
                        None => l.t("Chưa đồng bộ lần nào", "Never synced").to_owned(),
                    }
                }}
            </span>
            {move || meta().and_then(|m| m.last_error).map(|e| view! {
                <span class="error" data-testid="sync-error">{e}</span>
            })}
            <button on:click=on_sync>{move || lang.get().t("Đồng bộ ngay", "Sync now")}</button>
        </section>
    }
}

/// Signing in with a password; the token is kept in IndexedDB and every edit made before
/// signing in waits in the outbox.
#[component]
fn SignIn(
    /// UI language.
    lang: RwSignal<Lang>,
    /// Database and sync engine.
    services: StoredValue<Option<Services>, LocalStorage>,
) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(s) = services.get_value() else {
            return;
        };
        busy.set(true);
        spawn_local(async move {
            let device_id = match s.db.snapshot().await.ok().and_then(|x| x.meta) {
                Some(m) => m.device_id,
                None => return,
            };
            let req = shared::protocol::LoginRequest {
                username: username.get_untracked(),
                password: password.get_untracked(),
                device_id,
                device_name: "ThiĐua web".into(),
            };
            match crate::api::login(&server_origin(), &req).await {
                Ok(t) => {
                    password.set(String::new());
                    error.set(None);
                    if let Err(e) = s.db.set_token(Some(t.token), Some(t.principal.name)).await {
                        error.set(Some(e.to_string()));
                    }
                    (s.refresh)();
                    s.poke.now();
                }
                Err(e) => error.set(Some(e.user_message())),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="signin" on:submit=submit aria-label=move || lang.get().t("Đăng nhập", "Sign in")>
            <h2>{move || lang.get().t("Đăng nhập để đồng bộ", "Sign in to sync")}</h2>
            <label>
                {move || lang.get().t("Tên đăng nhập", "Username")}
                <input type="text" autocomplete="username" required
                    prop:value=username on:input=move |e| username.set(event_target_value(&e)) />
            </label>
            <label>
                {move || lang.get().t("Mật khẩu", "Password")}
                <input type="password" autocomplete="current-password" required
                    prop:value=password on:input=move |e| password.set(event_target_value(&e)) />
            </label>
            <button type="submit" disabled=move || busy.get()>{move || lang.get().t("Đăng nhập", "Sign in")}</button>
            {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="signin-error">{e}</p> })}
        </form>
    }
}

/// Changes the server refused, with the reason, until the user dismisses them.
#[component]
fn Rejected(
    /// The local data.
    snap: Snapshot,
    /// UI language.
    lang: RwSignal<Lang>,
    /// Database access.
    services: StoredValue<Option<Services>, LocalStorage>,
) -> impl IntoView {
    let rejected: Vec<_> = snap
        .outbox
        .into_iter()
        .filter(|e| e.status == OutboxStatus::Rejected)
        .collect();
    if rejected.is_empty() {
        return ().into_any();
    }
    view! {
        <section class="rejected" role="alert">
            <h2>{move || lang.get().t("Thay đổi bị máy chủ từ chối", "Changes refused by the server")}</h2>
            <ul>
                {rejected.into_iter().map(|e| {
                    let id = e.id;
                    let (vi, en) = e.rejection.map(|r| (r.message_vi, r.message)).unwrap_or_default();
                    let dismiss = move |_| {
                        if let Some(s) = services.get_value() {
                            spawn_local(async move {
                                let _ = s.db.discard_rejected(id).await;
                                (s.refresh)();
                            });
                        }
                    };
                    view! {
                        <li>
                            <span>{move || if lang.get() == Lang::Vi { vi.clone() } else { en.clone() }}</span>
                            <button class="secondary" on:click=dismiss>{move || lang.get().t("Đã hiểu, bỏ thay đổi này", "Discard this change")}</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
    .into_any()
}

fn find_block(s: &Snapshot) -> Option<Block> {
    s.records.values().find_map(|r| match r {
        Record::Block(b) => Some(b.clone()),
        _ => None,
    })
}

fn find_covenant(s: &Snapshot, block: Uuid) -> Option<Covenant> {
    s.records.values().find_map(|r| match r {
        Record::Covenant(c) if c.block_id == block => Some(c.clone()),
        _ => None,
    })
}

fn covenant_rows(s: &Snapshot, covenant: Uuid) -> Vec<Row> {
    let pending = s.pending_targets();
    let mut contents: Vec<Content> = Vec::new();
    let mut criteria: Vec<Criterion> = Vec::new();
    for r in s.records.values() {
        match r {
            Record::Content(c) if c.covenant_id == covenant => contents.push(c.clone()),
            Record::Criterion(c) => criteria.push(c.clone()),
            _ => {}
        }
    }
    let (contents, ordered) = document_order(&contents, &criteria);
    let mut rows = Vec::new();
    for content in contents {
        rows.push(Row::Content {
            id: content.id,
            code: content.code.clone(),
            title: content.title.clone(),
            points: content_points(&criteria, content.id),
        });
        rows.extend(
            ordered
                .iter()
                .filter(|c| c.content_id == content.id)
                .map(|c| Row::Criterion {
                    id: c.id,
                    code: c.code.clone(),
                    title: c.title.clone(),
                    kind: c.kind,
                    max: c.max_points,
                    pending: pending.contains(&c.id),
                }),
        );
    }
    rows
}

fn status_label(s: CovenantStatus, l: Lang) -> &'static str {
    match s {
        CovenantStatus::Draft => l.t("Bản nháp", "Draft"),
        CovenantStatus::Circulated => l.t("Đã gửi xin ý kiến", "Circulated"),
        CovenantStatus::Agreed => l.t("Đã thống nhất", "Agreed"),
        CovenantStatus::Signed => l.t("Đã ký kết", "Signed"),
    }
}

fn kind_label(k: CriterionKind, l: Lang) -> &'static str {
    match k {
        CriterionKind::Standard => "",
        CriterionKind::Bonus => l.t("Điểm thưởng", "Bonus"),
        CriterionKind::Deduction => l.t("Điểm trừ mỗi lần", "Deduction per occurrence"),
        CriterionKind::Disqualifier => l.t("Loại trừ", "Disqualifier"),
    }
}

/// The block: its members and its covenant.
#[component]
fn BlockView(
    /// The local data.
    snap: Snapshot,
    /// UI language.
    lang: RwSignal<Lang>,
    /// Database access.
    services: StoredValue<Option<Services>, LocalStorage>,
    /// The edit in progress.
    edit: EditState,
) -> impl IntoView {
    let Some(block) = find_block(&snap) else {
        return view! {
            <p class="muted" data-testid="empty">
                {move || lang.get().t("Chưa có dữ liệu khối thi đua. Dữ liệu sẽ tải về khi có mạng.", "No block data yet. It downloads when a network is available.")}
            </p>
        }
        .into_any();
    };
    let mut members: Vec<(Uuid, String)> = block
        .members
        .iter()
        .filter_map(|id| match snap.records.get(id) {
            Some(Record::Unit(u)) => Some((u.id, u.name.clone())),
            _ => None,
        })
        .collect();
    members.sort_by(|a, b| collation::compare(&a.1, &b.1));
    let covenant = find_covenant(&snap, block.id);
    let rows = covenant
        .as_ref()
        .map(|c| covenant_rows(&snap, c.id))
        .unwrap_or_default();
    let (head, deputy) = (block.head, block.deputy);
    view! {
        <section class="block" data-testid="block">
            <h2>{block.name.clone()} " · " {block.year}</h2>
            <h3>{move || lang.get().t("Đơn vị thành viên", "Member units")} " (" {members.len()} ")"</h3>
            <ul class="members">
                {members.into_iter().map(|(id, name)| view! {
                    <li>
                        {name}
                        {(Some(id) == head).then(|| view! { <span class="badge">{move || lang.get().t("Khối trưởng", "Block head")}</span> })}
                        {(Some(id) == deputy).then(|| view! { <span class="badge">{move || lang.get().t("Khối phó", "Deputy")}</span> })}
                    </li>
                }).collect_view()}
            </ul>
        </section>
        {covenant.map(|c| view! { <CovenantTable covenant=c rows=rows lang=lang services=services edit=edit /> })}
    }
    .into_any()
}

/// The covenant's contents and criteria, each criterion's title editable.
#[component]
fn CovenantTable(
    /// The covenant.
    covenant: Covenant,
    /// Its rows in order.
    rows: Vec<Row>,
    /// UI language.
    lang: RwSignal<Lang>,
    /// Database access.
    services: StoredValue<Option<Services>, LocalStorage>,
    /// The edit in progress.
    edit: EditState,
) -> impl IntoView {
    let standard_total = rows
        .iter()
        .filter_map(|r| match r {
            Row::Content { points, .. } => Some(*points),
            _ => None,
        })
        .fold(Points::ZERO, |a, p| a.checked_add(p).unwrap_or(a));
    let balanced = standard_total == covenant.total_points;
    let status = covenant.status;
    let EditState {
        editing,
        draft,
        error: edit_error,
    } = edit;
    let rows = RwSignal::new(rows);

    let save = move |id: Uuid| {
        let title = draft.get_untracked();
        let Some(s) = services.get_value() else {
            return;
        };
        spawn_local(async move {
            match s
                .db
                .edit(Op::set(id, "title", serde_json::json!(title)))
                .await
            {
                Ok(_) => {
                    editing.set(None);
                    edit_error.set(None);
                    (s.refresh)();
                    s.poke.now();
                }
                Err(EditError::Invalid(e)) => {
                    let l = lang.get_untracked();
                    edit_error.set(Some(if l == Lang::Vi {
                        e.message_vi()
                    } else {
                        e.to_string()
                    }));
                }
                Err(EditError::Db(e)) => edit_error.set(Some(e.to_string())),
            }
        });
    };

    view! {
        <section class="covenant" data-testid="covenant">
            <h2>{covenant.title.clone()}</h2>
            <p class="muted">
                {move || lang.get().t("Trạng thái:", "Status:")} " " {move || status_label(status, lang.get())}
                " · " {move || lang.get().t("Tổng điểm chuẩn:", "Standard total:")} " "
                <span class=if balanced { "ok" } else { "error" }>{vi_points(standard_total)} " / " {vi_points(covenant.total_points)}</span>
                " · " {move || lang.get().t("Điểm thưởng tối đa:", "Bonus cap:")} " " {vi_points(covenant.bonus_cap)}
            </p>
            <table>
                <thead>
                    <tr>
                        <th scope="col">{move || lang.get().t("Mã", "Code")}</th>
                        <th scope="col">{move || lang.get().t("Nội dung, tiêu chí", "Content, criterion")}</th>
                        <th scope="col" class="num">{move || lang.get().t("Điểm chuẩn", "Max points")}</th>
                        <th scope="col"><span class="sr-only">{move || lang.get().t("Thao tác", "Actions")}</span></th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || rows.get() key=|r| r.clone() let:row>
                        {match row {
                            Row::Content { id, code, title, points } => view! {
                                <tr class="content" data-id=id.to_string()>
                                    <th scope="row">{code}</th>
                                    <th scope="row">{title}</th>
                                    <td class="num">{vi_points(points)}</td>
                                    <td></td>
                                </tr>
                            }.into_any(),
                            Row::Criterion { id, code, title, kind, max, pending } => {
                                let input_id = format!("title-{id}");
                                let shown_title = title.clone();
                                let start = move |_| {
                                    draft.set(title.clone());
                                    edit_error.set(None);
                                    editing.set(Some(id));
                                };
                                view! {
                                    <tr class="criterion" data-testid="criterion" data-id=id.to_string()>
                                        <td>{code}</td>
                                        <td>
                                            <Show when=move || editing.get() == Some(id) fallback={
                                                let shown_title = shown_title.clone();
                                                move || view! {
                                                    <span class="title" data-testid="criterion-title">{shown_title.clone()}</span>
                                                    {(kind != CriterionKind::Standard).then(|| view! { <span class="badge">{move || kind_label(kind, lang.get())}</span> })}
                                                    {pending.then(|| view! { <span class="badge pending" data-testid="pending-badge">{move || lang.get().t("Chờ đồng bộ", "Pending")}</span> })}
                                                }
                                            }>
                                                <form class="inline-edit" on:submit=move |ev| { ev.prevent_default(); save(id); }>
                                                    <label for=input_id.clone()>{move || lang.get().t("Tên tiêu chí", "Criterion title")}</label>
                                                    <input id=input_id.clone() type="text" required
                                                        prop:value=move || draft.get()
                                                        on:input=move |ev| draft.set(event_target_value(&ev)) />
                                                    {move || edit_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                                                    <div class="actions">
                                                        <button type="submit">{move || lang.get().t("Lưu", "Save")}</button>
                                                        <button type="button" class="secondary" on:click=move |_| editing.set(None)>{move || lang.get().t("Hủy", "Cancel")}</button>
                                                    </div>
                                                </form>
                                            </Show>
                                        </td>
                                        <td class="num">{vi_points(max)}</td>
                                        <td>
                                            // While the row is being edited its form has the buttons.
                                            <Show when=move || editing.get() != Some(id)>
                                                <button class="secondary" on:click=start.clone()>{move || lang.get().t("Sửa", "Edit")}</button>
                                            </Show>
                                        </td>
                                    </tr>
                                }.into_any()
                            }
                        }}
                    </For>
                </tbody>
            </table>
        </section>
    }
}
