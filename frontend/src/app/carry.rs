//! Moving unsynced changes without a network (`shared::changes_file`): export this device's
//! outbox to a sealed file. The file is imported where there is a network, on the server's
//! import page (`/api/v1/import.html`, linked from the block's documents). Exporting keeps
//! the outbox as it is: the device still sends its changes when it reconnects, and the server
//! answers `duplicate` for those already imported from the file.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::changes_file::{ChangesFile, SealedPaper};
use shared::mutation::Op;
use wasm_bindgen::JsCast;

use super::ui::text_button;
use super::{Ctx, tr};
use crate::{ids, seal};

/// The export, folded away under "no network?".
#[component]
pub fn Carry() -> impl IntoView {
    let ctx = Ctx::get();
    let note = RwSignal::new(None::<String>);
    let export = move || spawn_local(async move { note.set(Some(export_file(ctx).await)) });
    view! {
        <details class="carry">
            <summary>{tr("Không có mạng? Chuyển thay đổi bằng tệp", "No network? Move changes by file")}</summary>
            <div class="actions">
                {text_button("secondary", Some("export-changes"), tr("Xuất tệp thay đổi", "Export changes to a file"), export)}
            </div>
            {move || note.get().map(|n| view! { <p role="status" data-testid="carry-note">{n}</p> })}
        </details>
    }
}

/// Writes the outbox to a sealed file and hands it to the browser as a download.
async fn export_file(ctx: Ctx) -> String {
    let found = ctx.snap.with_untracked(|s| {
        let s = s.as_ref()?;
        let meta = s.meta.as_ref()?;
        let mutations: Vec<_> = s.outbox.iter().map(|e| e.mutation.clone()).collect();
        Some((
            meta.device_id,
            meta.token.is_some(),
            mutations,
            meta.paper_key.clone(),
        ))
    });
    let Some((device, true, mutations, paper_key)) = found else {
        return ctx
            .t(
                "Cần đăng nhập trên máy này để xuất tệp.",
                "Sign in on this device to export.",
            )
            .into();
    };
    if mutations.is_empty() {
        return ctx
            .t(
                "Không có thay đổi nào chờ gửi.",
                "No changes are waiting to be sent.",
            )
            .into();
    }
    let n = mutations.len();
    // Ballot papers travel sealed to the server: the carrier cannot read a unit's vote.
    // Without the server's key (no sync since signing in) they stay on the device.
    let (votes, rest): (Vec<_>, Vec<_>) = mutations
        .into_iter()
        .partition(|m| matches!(m.op, Op::CastVote { .. }));
    let mut papers = Vec::new();
    if let Some(k) = &paper_key {
        for v in &votes {
            let plain = crate::json::to_string(v).unwrap_or_default();
            match seal::seal_paper(k, plain.as_bytes()).await {
                Ok((key, data)) => papers.push(SealedPaper { key, data }),
                Err(e) => return e,
            }
        }
    }
    let kept = votes.len() - papers.len();
    let mut file = ChangesFile::new(device, ids::now_ms(), rest);
    file.papers = papers;
    // Signed with this device's own key, whose public half the server registered.
    let Some(db) = ctx.db() else {
        return String::new();
    };
    let signed = async {
        let (key, _) = db.device_key().await.map_err(|e| e.to_string())?;
        seal::sign_hex(&key, &file.sealed_bytes()).await
    };
    file.signature = match signed.await {
        Ok(sig) => sig,
        Err(e) => return e,
    };
    let text = crate::json::to_string(&file).unwrap_or_default();
    let name = format!(
        "thidua-thay-doi-{}-{}.json",
        &device.to_string()[..8],
        file.created_ms
    );
    let left = if kept > 0 {
        ctx.t(
            " · Phiếu bầu ở lại máy: chưa có khóa của máy chủ (đồng bộ một lần khi có mạng).",
            " · Ballot papers stay on the device: no server key yet (sync once online).",
        )
    } else {
        ""
    };
    match download(&name, &text) {
        Ok(()) => format!(
            "{} {} {} {name}{left}",
            ctx.t("Đã xuất", "Exported"),
            n - kept,
            ctx.t("thay đổi ra tệp", "changes to")
        ),
        Err(()) => ctx
            .t(
                "Trình duyệt không cho tải tệp.",
                "The browser refused the download.",
            )
            .into(),
    }
}

/// Offers `text` as a download through a `data:` link (no Blob or object URL to bind).
fn download(name: &str, text: &str) -> Result<(), ()> {
    let a: web_sys::HtmlAnchorElement = leptos::prelude::document()
        .create_element("a")
        .map_err(|_| ())?
        .unchecked_into();
    let body = String::from(js_sys::encode_uri_component(text));
    a.set_href(&format!("data:application/json;charset=utf-8,{body}"));
    a.set_download(name);
    a.click();
    Ok(())
}
