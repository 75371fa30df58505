//! Type-erased building blocks. In Leptos every distinct view has its own type and its own
//! render code; a button built here has one type wherever it is used, so the WebAssembly
//! holds one copy of a button's code instead of one per button (the shell's budget is
//! 300 KB compressed).

use leptos::prelude::*;

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
