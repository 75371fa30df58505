//! Type-erased building blocks. In Leptos every distinct view has its own type and its own
//! render code; a button built here has one type wherever it is used, so the WebAssembly
//! holds one copy of a button's code instead of one per button (the shell's budget is
//! 300 KB compressed).

use std::fmt::Write as _;

use leptos::prelude::*;
use shared::report::esc;

/// A button running `on` when pressed.
pub fn button(
    class: &'static str,
    testid: Option<&'static str>,
    label: Signal<&'static str>,
    aria_label: Option<Signal<&'static str>>,
    disabled: Option<Signal<bool>>,
    on: impl Fn() + 'static,
) -> AnyView {
    let on: Box<dyn Fn()> = Box::new(on);
    view! {
        <button type="button" class=class data-testid=testid aria-label=aria_label
            disabled=move || disabled.is_some_and(|d| d.get()) on:click=move |_| on()>
            {label}
        </button>
    }
    .into_any()
}

/// A plain button with a label.
pub fn text_button(
    class: &'static str,
    testid: Option<&'static str>,
    label: Signal<&'static str>,
    on: impl Fn() + 'static,
) -> AnyView {
    button(class, testid, label, None, None, on)
}

/// A button written into an HTML string, which a delegated click handler runs as `act` on
/// `id`; `aria` names it when its label is a symbol.
pub fn html_button(
    h: &mut String,
    class: &str,
    label: &str,
    act: &str,
    id: &str,
    testid: &str,
    aria: Option<&str>,
) {
    let _ = write!(
        h,
        "<button type=\"button\" class=\"{class}\" data-act=\"{act}\" data-id=\"{id}\"",
    );
    if !testid.is_empty() {
        let _ = write!(h, " data-testid=\"{testid}\"");
    }
    if let Some(a) = aria {
        let _ = write!(h, " aria-label=\"{}\"", esc(a));
    }
    let _ = write!(h, ">{}</button>", esc(label));
}

/// The `data-act` and `data-id` of the `html_button` a click landed in, if any.
pub fn clicked(ev: &web_sys::MouseEvent) -> Option<(String, String)> {
    use wasm_bindgen::JsCast;
    let button = ev
        .target()?
        .dyn_into::<web_sys::Element>()
        .ok()?
        .closest("[data-act]")
        .ok()??;
    Some((
        button.get_attribute("data-act").unwrap_or_default(),
        button.get_attribute("data-id").unwrap_or_default(),
    ))
}
