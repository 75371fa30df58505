//! Signing in with a password or joining a block with a one-time code, and signing out.
//! The token and the account's rights are kept in IndexedDB; edits made while signed out
//! wait in the outbox.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::protocol::{JoinRequest, LoginRequest, TokenResponse};

use super::ui::text_button;
use super::{Ctx, confirm, server_origin, tr};
use crate::api::{self, ApiError};

const DEVICE_NAME: &str = "ThiĐua web";

async fn keep(ctx: Ctx, answer: Result<TokenResponse, ApiError>) -> Option<String> {
    match answer {
        Ok(t) => {
            let db = ctx.db()?;
            if let Err(e) = db.set_token(Some(t.token), Some(t.principal)).await {
                return Some(e.to_string());
            }
            ctx.refresh();
            ctx.sync_now();
            None
        }
        Err(e) => Some(e.user_message(ctx.lang.get_untracked())),
    }
}

async fn device_id(ctx: Ctx) -> Option<uuid::Uuid> {
    // The device id never changes once made: the UI's copy has it, no read needed.
    ctx.snap
        .with_untracked(|s| s.as_ref()?.meta.as_ref().map(|m| m.device_id))
}

/// This device's public key, sent with a sign-in (none without SubtleCrypto).
async fn device_key(ctx: Ctx) -> Option<String> {
    ctx.db()?.device_key().await.ok().map(|(_, public)| public)
}

/// The sign-in and join forms.
#[component]
pub fn SignIn() -> impl IntoView {
    let ctx = Ctx::get();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let join_error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let sign_in = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        spawn_local(async move {
            if let Some(device_id) = device_id(ctx).await {
                let req = LoginRequest {
                    username: username.get_untracked(),
                    password: password.get_untracked(),
                    device_id,
                    device_name: DEVICE_NAME.into(),
                    device_key: device_key(ctx).await,
                };
                let e = keep(ctx, api::login(&server_origin(), &req).await).await;
                if e.is_none() {
                    password.set(String::new());
                }
                error.set(e);
            }
            busy.set(false);
        });
    };
    let join = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        spawn_local(async move {
            if let Some(device_id) = device_id(ctx).await {
                let req = JoinRequest {
                    code: code.get_untracked(),
                    device_id,
                    device_name: DEVICE_NAME.into(),
                    device_key: device_key(ctx).await,
                };
                join_error.set(keep(ctx, api::join(&server_origin(), &req).await).await);
            }
            busy.set(false);
        });
    };
    view! {
        <div class="signin-page">
            <form class="card signin" on:submit=sign_in aria-labelledby="signin-title">
                <h2 id="signin-title">{tr("Đăng nhập", "Sign in")}</h2>
                <label for="username">{tr("Tên đăng nhập", "Username")}</label>
                <input id="username" type="text" autocomplete="username" required autocapitalize="off"
                    prop:value=username on:input=move |e| username.set(event_target_value(&e)) />
                <label for="password">{tr("Mật khẩu", "Password")}</label>
                <input id="password" type="password" autocomplete="current-password" required
                    prop:value=password on:input=move |e| password.set(event_target_value(&e)) />
                <button type="submit" disabled=move || busy.get()>{tr("Đăng nhập", "Sign in")}</button>
                {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="signin-error">{e}</p> })}
            </form>
            <form class="card signin" on:submit=join aria-labelledby="join-title">
                <h2 id="join-title">{tr("Tham gia bằng mã", "Join with a code")}</h2>
                <p class="muted">{tr("Thư ký khối cấp cho mỗi máy tính bảng một mã dùng một lần.", "The block's secretary gives each tablet a one-time code.")}</p>
                <label for="join-code">{tr("Mã tham gia", "Join code")}</label>
                <input id="join-code" type="text" required autocapitalize="characters" autocomplete="one-time-code"
                    placeholder="K7QM-2XWD"
                    prop:value=code on:input=move |e| code.set(event_target_value(&e)) />
                <button type="submit" disabled=move || busy.get()>{tr("Tham gia", "Join")}</button>
                {move || join_error.get().map(|e| view! { <p class="error" role="alert" data-testid="join-error">{e}</p> })}
            </form>
        </div>
    }
}

/// Signing out, and wiping the device; both warn first while changes are unsynced.
#[component]
pub fn SignOut() -> impl IntoView {
    let ctx = Ctx::get();
    let pending = move || {
        ctx.snap
            .with_untracked(|s| s.as_ref().map_or(0, |s| s.pending_count()))
    };
    let warn = move |what_vi: &str, what_en: &str| {
        let n = pending();
        if n == 0 {
            return true;
        }
        let text = match ctx.lang.get_untracked() {
            crate::i18n::Lang::Vi => {
                format!("Còn {n} thay đổi chưa gửi lên máy chủ. {what_vi} Vẫn tiếp tục?")
            }
            crate::i18n::Lang::En => {
                format!("{n} changes have not reached the server yet. {what_en} Continue anyway?")
            }
        };
        confirm(&text)
    };
    let sign_out = move || {
        if !warn(
            "Chúng được giữ trên máy và gửi đi sau khi đăng nhập lại.",
            "They stay on this device and are sent after the next sign-in.",
        ) {
            return;
        }
        let token = ctx.snap.with_untracked(|s| {
            s.as_ref()
                .and_then(|s| s.meta.as_ref())
                .and_then(|m| m.token.clone())
        });
        spawn_local(async move {
            if let Some(t) = token {
                // Best effort: offline, the token simply expires on the server.
                let _ = api::logout(&server_origin(), &t).await;
            }
            if let Some(db) = ctx.db() {
                let _ = db.set_token(None, None).await;
            }
            ctx.refresh();
        });
    };
    let reset = move || {
        if !warn(
            "Xóa dữ liệu sẽ làm mất chúng vĩnh viễn.",
            "Wiping the device loses them for good.",
        ) || !confirm(ctx.lang.get_untracked().t(
            "Xóa toàn bộ dữ liệu của ThiĐua trên máy này?",
            "Wipe all of ThiĐua's data from this device?",
        )) {
            return;
        }
        spawn_local(async move {
            if let Some(db) = ctx.db() {
                let _ = db.reset().await;
            }
            ctx.go(super::Route::Home);
            ctx.refresh();
        });
    };
    view! {
        {text_button("secondary", Some("sign-out"), tr("Đăng xuất", "Sign out"), sign_out)}
        {text_button("secondary", Some("reset"), tr("Xóa dữ liệu máy", "Wipe device"), reset)}
    }
}
