//! The sync bar, always visible: network, changes waiting, last successful sync, the last
//! error in words, and the changes the server refused, each with its reason.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::carry::Carry;
use super::format::date_time;
use super::ui::text_button;
use super::{Ctx, text, tr};
use crate::i18n::Lang;

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
    let show_rejected = RwSignal::new(false);
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
                {move || match pending.get() {
                    0 => ctx.t("Đã đồng bộ", "All changes synced").to_owned(),
                    n => format!("{} {n}", ctx.t("Chờ đồng bộ:", "Pending:")),
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
            {move || offline_ready.get().then(|| view! {
                <span class="muted" data-testid="offline-ready">{tr("Sẵn sàng làm việc không có mạng", "Ready to work offline")}</span>
            })}
            {text_button("", None, tr("Đồng bộ ngay", "Sync now"), move || ctx.sync_now())}
            <Carry />
        </section>
        {(!secure).then(|| view! {
            <section class="banner error" role="alert" data-testid="insecure-banner">
                <strong>{tr("Ứng dụng chưa làm việc được khi mất mạng.", "The app cannot work offline yet.")}</strong>
                " "
                {tr(
                    "Trang đang mở bằng địa chỉ http:// không bảo mật, nên trình duyệt không lưu được ứng dụng trên máy: mất Wi-Fi rồi tải lại trang là không mở được. Hãy mở địa chỉ https:// của máy chủ (ở hội trường: cài chứng chỉ theo trang /hall của máy chủ, rồi mở địa chỉ https).",
                    "This page was opened over plain http://, so the browser cannot keep the app on this device: after a Wi-Fi cut, reloading the page fails. Open the server's https:// address instead (in a hall: install the certificate from the server's /hall page, then open the https address).",
                )}
                " "
                <a href="/hall">{tr("Hướng dẫn cài đặt", "Setup steps")}</a>
            </section>
        })}
        {move || (show_rejected.get() && rejected.get() >= 1).then(|| view! { <Rejected /> })}
    }
}

/// Changes the server refused, with the reason, until the user discards them.
#[component]
fn Rejected() -> impl IntoView {
    let ctx = Ctx::get();
    let entries = Memo::new(move |_| {
        ctx.snap
            .with(|s| s.as_ref().map(|s| s.rejected.clone()).unwrap_or_default())
    });
    view! {
        <section class="rejected" role="region" data-testid="rejected" aria-label=tr("Thay đổi bị từ chối", "Refused changes")>
            <h2>{tr("Thay đổi bị máy chủ từ chối", "Changes refused by the server")}</h2>
            <p class="muted">{tr("Các thay đổi này không được lưu trên máy chủ. Đọc lý do, sửa lại nếu cần, rồi bỏ chúng đi.", "These changes were not stored on the server. Read the reason, redo them if needed, then discard them.")}</p>
            <ul>
                {move || entries.get().into_iter().map(|e| {
                        let id = e.id;
                        let what = e.mutation.op.name();
                        let (vi, en) = e.rejection.map(|r| (r.message_vi, r.message)).unwrap_or_default();
                        let discard = move || {
                            if let Some(db) = ctx.db() {
                                spawn_local(async move {
                                    let _ = db.discard_rejected(id).await;
                                    ctx.refresh();
                                });
                            }
                        };
                        view! {
                            <li>
                                <span><code>{what}</code> " · " {move || if ctx.lang.get() == Lang::Vi { vi.clone() } else { en.clone() }}</span>
                                {text_button("secondary", None, tr("Bỏ thay đổi này", "Discard this change"), discard)}
                            </li>
                        }
                    }).collect_view()}
            </ul>
        </section>
    }
}

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
