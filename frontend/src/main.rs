//! Entry point: mount the app on the page.

fn main() {
    leptos::mount::mount_to_body(thidua_frontend::app::App);
}
