//! The sync bar, always visible: network, changes waiting, last successful sync, the last
//! error in words, and the changes the server refused, each with its reason.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::carry::Carry;
use super::format::date_time;
use super::ui::{clicked, html_button, text_button};
use super::{Ctx, text, tr};
use crate::i18n::Lang;
use shared::mutation::Op;
use shared::report::esc;

/// The sync state and a sync button.
#[component]
pub fn SyncBar() -> impl IntoView {
    let ctx = Ctx::get();
    let pending = Memo::new(move |_| {
        ctx.snap
            .with(|s| s.as_ref().map_or(0, |s| s.pending_count()))
    });
    let rejected = Memo::new(move |_| {
        ctx.snap
            .with(|s| s.as_ref().map_or(0, |s| s.rejected.len()))
    });
    let last_ok = Memo::new(move |_| {
        ctx.snap.with(|s| {
            s.as_ref()
                .and_then(|s| s.meta.as_ref())
                .and_then(|m| m.last_ok_ms)
        })
    });
    let last_error = Memo::new(move |_| {
        ctx.snap.with(|s| {
            s.as_ref()
                .and_then(|s| s.meta.as_ref())
                .and_then(|m| m.last_error.clone())
        })
    });
    let unreadable = Memo::new(move |_| ctx.snap.with(|s| s.as_ref().map_or(0, |s| s.unreadable)));
    // Open by default: a refused change (a late ballot paper, say) is said plainly.
    let show_rejected = RwSignal::new(true);
    let secure = is_secure_context();
    let offline_ready = RwSignal::new(false);
    if secure {
        // The worker is active once it has cached the shell: the app now opens with no network.
        spawn_local(async move {
            if let Some(ready) = web_sys::window()
                .map(|w| w.navigator().service_worker())
                .filter(|sw| !sw.is_undefined())
                .and_then(|sw| sw.ready().ok())
                && wasm_bindgen_futures::JsFuture::from(ready).await.is_ok()
            {
                offline_ready.set(true);
            }
        });
    }
    view! {
        <section class="syncbar" aria-live="polite" aria-label=tr("Trạng thái đồng bộ", "Sync status")>
            <span class=move || { if ctx.online.get() { "net online" } else { "net offline" } } data-testid="network">
                {move || if ctx.online.get() { ctx.t("Trực tuyến", "Online") } else { ctx.t("Ngoại tuyến", "Offline") }}
            </span>
            <span class=move || { if pending.get() > 0 { "sync pending" } else { "sync done" } } data-testid="sync-state">
                {move || match (pending.get(), rejected.get()) {
                    (0, 0) => ctx.t("Đã đồng bộ", "All changes synced").to_owned(),
                    (0, _) => ctx.t("Đã đồng bộ · có thay đổi không được nhận", "Synced · some changes were refused").to_owned(),
                    (n, _) => format!("{} {n}", ctx.t("Chờ đồng bộ:", "Pending:")),
                }}
            </span>
            <span data-testid="pending-count" hidden>{move || pending.get()}</span>
            <span class="muted" data-testid="last-sync">
                {move || match last_ok.get() {
                    Some(ms) => format!("{} {}", ctx.t("Đồng bộ lần cuối:", "Last sync:"), date_time(ms, ctx.lang.get())),
                    None => ctx.t("Chưa đồng bộ lần nào", "Never synced").to_owned(),
                }}
            </span>
            {move || last_error.get().map(|e| view! { <span class="error" data-testid="sync-error">{in_lang(&e, ctx.lang.get())}</span> })}
            {move || (rejected.get() >= 1).then(|| view! {
                <button class="warn" data-testid="rejected-toggle" aria-expanded=move || show_rejected.get().to_string()
                    on:click=move |_| show_rejected.update(|v| *v = !*v)>
                    {text(move || format!("{} {}", ctx.t("Bị từ chối:", "Refused:"), rejected.get()))}
                </button>
            })}
            // One span for both notes: each `view!` costs the shell bytes.
            <span class="muted" data-testid="device-note">{move || {
                let mut note = String::new();
                if offline_ready.get() {
                    note.push_str(ctx.t("Sẵn sàng làm việc không có mạng", "Ready to work offline"));
                }
                match unreadable.get() {
                    0 => {}
                    n => note.push_str(&format!(" · {} {n}", ctx.t("Dữ liệu không đọc được, đã để riêng:", "Unreadable records set aside:"))),
                }
                note
            }}</span>
            {text_button("", None, tr("Đồng bộ ngay", "Sync now"), move || ctx.sync_now())}
            <Carry />
        </section>
        {(!secure).then(|| view! {
            <section class="banner error" role="alert" data-testid="insecure-banner" inner_html=tr(INSECURE_VI, INSECURE_EN)></section>
        })}
        {move || (show_rejected.get() && rejected.get() >= 1).then(|| view! { <Rejected /> })}
    }
}

/// Changes the server refused, with the reason, until the user discards them.
#[component]
fn Rejected() -> impl IntoView {
    let ctx = Ctx::get();
    // One HTML string and one delegated click handler (`ui::html_button`): a Leptos view per
    // row would cost the shell bytes.
    let rows = move || {
        let lang = ctx.lang.get();
        let mut h = String::from("<ul>");
        ctx.snap.with(|s| {
            for e in s.as_ref().map_or(&[][..], |s| s.rejected.as_slice()) {
                let why = e.rejection.as_ref().map_or("", |r| {
                    if lang == Lang::Vi {
                        r.message_vi.as_str()
                    } else {
                        r.message.as_str()
                    }
                });
                // In words, not the operation's wire name.
                let what = match &e.mutation.op {
                    Op::CastVote { .. } => {
                        lang.t("Phiếu bầu không được tính", "Ballot paper not counted")
                    }
                    Op::Create { .. } => lang.t("Thêm mới", "New record"),
                    Op::Update { .. } => lang.t("Sửa", "Change"),
                    Op::Delete { .. } => lang.t("Xóa", "Deletion"),
                    Op::Correct { .. } => lang.t("Đính chính", "Correction"),
                };
                h.push_str("<li><span><strong>");
                h.push_str(what);
                h.push_str("</strong> · ");
                h.push_str(&esc(why));
                h.push_str("</span>");
                html_button(
                    &mut h,
                    "secondary",
                    lang.t("Bỏ thay đổi này", "Discard this change"),
                    "discard",
                    &e.id.to_string(),
                    "",
                    None,
                );
                h.push_str("</li>");
            }
        });
        h.push_str("</ul>");
        h
    };
    let on_click = move |ev: web_sys::MouseEvent| {
        if let Some((_, id)) = clicked(&ev)
            && let Ok(id) = id.parse::<uuid::Uuid>()
            && let Some(db) = ctx.db()
        {
            spawn_local(async move {
                let _ = db.discard_rejected(id).await;
                ctx.refresh();
            });
        }
    };
    view! {
        <section class="rejected" role="region" data-testid="rejected" aria-label=tr("Thay đổi bị từ chối", "Refused changes")>
            <h2>{tr("Thay đổi bị máy chủ từ chối", "Changes refused by the server")}</h2>
            <p class="muted">{tr("Các thay đổi này không được lưu trên máy chủ. Đọc lý do, sửa lại nếu cần, rồi bỏ chúng đi.", "These changes were not stored on the server. Read the reason, redo them if needed, then discard them.")}</p>
            <div on:click=on_click inner_html=rows></div>
        </section>
    }
}

/// Why the app cannot work offline here, and what to do (static HTML, no user text).
const INSECURE_VI: &str = "<strong>Chưa làm việc được khi mất mạng:</strong> trang mở bằng http:// nên trình duyệt không giữ được ứng dụng trên máy. Hãy mở địa chỉ https:// của máy chủ (ở hội trường: cài chứng chỉ theo trang <a href=\"/hall\">/hall</a>).";
const INSECURE_EN: &str = "<strong>Cannot work offline:</strong> opened over http://, so the browser cannot keep the app on this device. Open the server's https:// address (in a hall: install the certificate from <a href=\"/hall\">/hall</a>).";

/// Whether the page may use a service worker, SubtleCrypto and persistent storage: only
/// over HTTPS or on localhost.
fn is_secure_context() -> bool {
    web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w, &"isSecureContext".into()).ok())
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// A stored "tiếng Việt / English" message in the current language.
fn in_lang(message: &str, lang: Lang) -> String {
    match (message.split_once(" / "), lang) {
        (Some((vi, _)), Lang::Vi) => vi.to_owned(),
        (Some((_, en)), Lang::En) => en.to_owned(),
        (None, _) => message.to_owned(),
    }
}
