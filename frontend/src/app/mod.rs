//! The screens. IndexedDB is their source of truth: the UI shows a `Snapshot` read from it,
//! updated in place after each local edit (already committed) and read again after a sync.
//! Every edit is first checked by `shared::world::World`, the same rules the server runs,
//! so a refusal shows at once, next to the field, in the user's language.
//!
//! Screens are chosen by the URL's hash (`#/b/<block>`, `…/covenant`, `…/round/<round>`),
//! so a reload, even offline, lands where the user was.

mod ballots;
mod carry;
mod covenant;
mod data;
mod format;
mod home;
mod scoring;
mod signin;
mod syncbar;
mod ui;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::DomainError;
use shared::access::Principal;
use shared::mutation::Op;
use shared::world::World;
use uuid::Uuid;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::db::{EditError, LocalDb, Snapshot};
use crate::i18n::Lang;
use crate::sync::{self, Poke};

pub use format::points_text;

/// The IndexedDB database name.
pub const DB_NAME: &str = "thidua";
/// Where the editor module is served (`frontend/editor.html`, built with `--features editor`).
pub const EDITOR_PATH: &str = "/editor/";
const LANG_KEY: &str = "thidua.lang";
/// Reads a refresh makes before leaving it to the next sync.
const REFRESH_TRIES: u32 = 5;
/// Wait before reading again while an edit is being stored.
const REFRESH_RETRY_MS: u32 = 30;

/// Builds an edit's ops from the snapshot as the edits queued before it left it.
pub type BuildOps = Box<dyn FnOnce(&Snapshot) -> Vec<Op>>;

/// Which screen is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// The list of blocks (or the only one).
    Home,
    /// A block's home.
    Block(Uuid),
    /// A block's covenant editor, at one version (the newest when `None`).
    Covenant(Uuid, Option<Uuid>),
    /// A round's scoring screen, on one subject unit.
    Round {
        /// The block.
        block: Uuid,
        /// The round.
        round: Uuid,
        /// The unit being scored.
        subject: Option<Uuid>,
        /// Another scorer's sheet, opened by the secretary to correct it after the lock.
        scorer: Option<Uuid>,
    },
}

impl Route {
    /// Reads a route from a location hash such as `#/b/<id>/round/<id>`.
    pub fn parse(hash: &str) -> Route {
        let parts: Vec<&str> = hash
            .trim_start_matches('#')
            .split('/')
            .filter(|p| !p.is_empty())
            .collect();
        let id = |i: usize| parts.get(i).and_then(|p| Uuid::parse_str(p).ok());
        match (parts.first().copied(), id(1), parts.get(2).copied()) {
            (Some("b"), Some(b), None) => Route::Block(b),
            (Some("b"), Some(b), Some("covenant")) => Route::Covenant(b, id(3)),
            (Some("b"), Some(block), Some("round")) => match id(3) {
                Some(round) => Route::Round {
                    block,
                    round,
                    subject: id(4),
                    scorer: id(5),
                },
                None => Route::Block(block),
            },
            _ => Route::Home,
        }
    }

    /// The hash for this route.
    pub fn hash(self) -> String {
        match self {
            Route::Home => "#/".into(),
            Route::Block(b) => format!("#/b/{b}"),
            Route::Covenant(b, None) => format!("#/b/{b}/covenant"),
            Route::Covenant(b, Some(c)) => format!("#/b/{b}/covenant/{c}"),
            Route::Round {
                block,
                round,
                subject,
                scorer,
            } => {
                let mut h = format!("#/b/{block}/round/{round}");
                for id in [subject, scorer].into_iter().flatten() {
                    h.push('/');
                    h.push_str(&id.to_string());
                }
                h
            }
        }
    }
}

/// What the components need once the database is open.
#[derive(Clone)]
struct Services {
    db: Rc<LocalDb>,
    poke: Poke,
    /// The snapshot's records as the shared rules see them, to check edits locally.
    world: Rc<RefCell<World>>,
    /// Edits run one at a time, each built from the snapshot the previous one left, so
    /// two quick keystrokes never both create the same sheet.
    edit_lock: Rc<futures::lock::Mutex<()>>,
    /// Counts finished edits, so a refresh can tell that one landed during its read.
    edits: Rc<Cell<u64>>,
    /// A refresh is reading (`Some`), and another was asked for meanwhile (`Some(true)`):
    /// one read at a time, the asks in between folded into one more.
    refreshing: Rc<Cell<Option<bool>>>,
}

/// The app's state, shared by every screen through Leptos' context.
#[derive(Clone, Copy)]
pub struct Ctx {
    /// UI language.
    pub lang: RwSignal<Lang>,
    /// The local data; `None` while IndexedDB opens.
    pub snap: RwSignal<Option<Snapshot>>,
    /// The screen.
    pub route: RwSignal<Route>,
    /// Whether the browser reports a network.
    pub online: RwSignal<bool>,
    /// A fatal local error (IndexedDB unavailable).
    pub fatal: RwSignal<Option<String>>,
    services: StoredValue<Option<Services>, LocalStorage>,
}

fn world_of(s: &Snapshot) -> World {
    World::of_records(s.records.values())
}

impl Ctx {
    /// The context of the running app.
    pub fn get() -> Ctx {
        expect_context::<Ctx>()
    }

    /// Picks the text for the current language (tracked).
    pub fn t(self, vi: &'static str, en: &'static str) -> &'static str {
        self.lang.get().t(vi, en)
    }

    /// The signed-in account (tracked).
    pub fn principal(self) -> Option<Principal> {
        self.snap.with(|s| {
            s.as_ref()
                .and_then(|s| s.meta.as_ref())
                .filter(|m| m.token.is_some())
                .and_then(|m| m.principal.clone())
        })
    }

    /// A domain error in the current language.
    pub fn domain_message(self, e: &DomainError) -> String {
        match self.lang.get_untracked() {
            Lang::Vi => e.message_vi(),
            Lang::En => e.to_string(),
        }
    }

    /// Goes to `route`, keeping it in the URL.
    pub fn go(self, route: Route) {
        if let Some(w) = web_sys::window() {
            let _ = w.location().set_hash(&route.hash());
        }
        self.route.set(route);
    }

    /// Checks `ops` with the shared rules and records them, in one IndexedDB transaction;
    /// the error, if any, is in the user's language.
    pub async fn edit(self, ops: Vec<Op>) -> Result<(), String> {
        self.edit_with(Box::new(move |_| ops)).await
    }

    /// Like `edit`, with the ops built from the snapshot as the edits before it left it.
    /// (A boxed builder: one copy of the edit path in the WebAssembly, not one per caller.)
    pub async fn edit_with(self, build: BuildOps) -> Result<(), String> {
        let Some(s) = self.services.get_value() else {
            return Err(self.t_untracked("Dữ liệu chưa mở xong", "Data is still opening"));
        };
        let _turn = s.edit_lock.lock().await;
        let ops = self
            .snap
            .with_untracked(|snap| snap.as_ref().map(build))
            .unwrap_or_default();
        if ops.is_empty() {
            return Ok(());
        }
        let principal = self
            .snap
            .with_untracked(|s| s.as_ref().and_then(|s| s.meta.clone()))
            .and_then(|m| m.principal)
            .unwrap_or_default();
        let world = s.world.clone();
        let result =
            s.db.edit_all(ops, &mut |m, _| {
                world.borrow_mut().apply(m, &principal).map(|_| ())
            })
            .await;
        s.edits.set(s.edits.get().wrapping_add(1));
        match result {
            Ok(edited) => {
                self.snap.update(|snap| {
                    if let Some(snap) = snap {
                        snap.absorb(&edited);
                    }
                });
                s.poke.now();
                Ok(())
            }
            Err(e) => {
                // The rules' copy may hold the first half of a refused batch: rebuild it.
                self.snap.with_untracked(|snap| {
                    if let Some(snap) = snap {
                        *s.world.borrow_mut() = world_of(snap);
                    }
                });
                Err(match e {
                    EditError::Invalid(e) => self.domain_message(&e),
                    EditError::Db(e) => e.to_string(),
                })
            }
        }
    }

    /// Records `ops` in the background; `error` shows why they were refused, if they were.
    pub fn run(self, ops: Vec<Op>, error: RwSignal<Option<String>>) {
        spawn_local(async move { error.set(self.edit(ops).await.err()) });
    }

    fn t_untracked(self, vi: &'static str, en: &'static str) -> String {
        self.lang.get_untracked().t(vi, en).to_owned()
    }

    /// Reads IndexedDB again, whole, and shows it.
    pub fn refresh(self) {
        let Some(s) = self.services.get_value() else {
            return;
        };
        if s.refreshing.get().is_some() {
            return s.refreshing.set(Some(true));
        }
        s.refreshing.set(Some(false));
        spawn_local(async move {
            loop {
                self.read_again(&s).await;
                if s.refreshing.get() != Some(true) {
                    break;
                }
                s.refreshing.set(Some(false));
            }
            s.refreshing.set(None);
        });
    }

    /// Reads IndexedDB and shows it. Optimistic: typing never waits behind a full read. A
    /// read that an edit or a sync overlapped would put back the state before it, so it is
    /// thrown away and made again; after a few tries the last read waits for its turn, so
    /// a full read always lands (syncs no longer read everything after it).
    async fn read_again(self, s: &Services) {
        for _ in 0..REFRESH_TRIES {
            let seen = s.edits.get();
            let fresh = match s.db.snapshot().await {
                Ok(fresh) => fresh,
                Err(e) => return self.fatal.set(Some(e.to_string())),
            };
            let Some(_turn) = s.edit_lock.try_lock() else {
                gloo_timers::future::TimeoutFuture::new(REFRESH_RETRY_MS).await;
                continue;
            };
            if s.edits.get() != seen {
                continue;
            }
            return self.show(s, fresh);
        }
        let _turn = s.edit_lock.lock().await;
        match s.db.snapshot().await {
            Ok(fresh) => self.show(s, fresh),
            Err(e) => self.fatal.set(Some(e.to_string())),
        }
    }

    /// Shows a full read, and makes the rules' copy from it.
    fn show(self, s: &Services, fresh: Snapshot) {
        *s.world.borrow_mut() = world_of(&fresh);
        self.snap.set(Some(fresh));
    }

    /// Asks for a sync now.
    pub fn sync_now(self) {
        self.services.with_value(|s| {
            if let Some(s) = s {
                s.poke.now();
            }
        });
    }

    /// The local database, once open.
    fn db(self) -> Option<Rc<LocalDb>> {
        self.services.get_value().map(|s| s.db)
    }
}

fn server_origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

fn navigator_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

/// The language the user chose on this device (Vietnamese unless English was chosen).
pub(crate) fn stored_lang() -> Lang {
    let stored = web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(LANG_KEY).ok().flatten());
    match stored.as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Vi,
    }
}

fn store_lang(l: Lang) {
    if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = s.set_item(LANG_KEY, l.code());
    }
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = el.set_attribute("lang", l.code());
    }
}

fn current_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
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

/// Whether this module shows `p` the controls that run `block` (rounds, ballots,
/// corrections): only the editor module does; in the shell the answer is a constant
/// `false`, so that code is left out of the delegate's download.
pub fn runs_block(p: &Principal, block: uuid::Uuid) -> bool {
    cfg!(feature = "editor") && p.manages(block)
}

/// Asks the user to confirm; `true` when there is no window to ask in.
pub fn confirm(message: &str) -> bool {
    web_sys::window().is_none_or(|w| w.confirm_with_message(message).unwrap_or(false))
}

/// The app.
#[component]
pub fn App() -> impl IntoView {
    let ctx = Ctx {
        lang: RwSignal::new(stored_lang()),
        snap: RwSignal::new(None),
        route: RwSignal::new(Route::parse(&current_hash())),
        online: RwSignal::new(navigator_online()),
        fatal: RwSignal::new(None),
        services: StoredValue::new_local(None),
    };
    provide_context(ctx);
    store_lang(ctx.lang.get_untracked());

    on_window("online", move || ctx.online.set(true));
    on_window("offline", move || ctx.online.set(false));
    on_window("hashchange", move || {
        ctx.route.set(Route::parse(&current_hash()))
    });

    spawn_local(async move {
        harden_storage();
        match LocalDb::open(DB_NAME).await {
            Ok(db) => {
                let db = Rc::new(db);
                let world = Rc::new(RefCell::new(World::new()));
                let edit_lock = Rc::new(futures::lock::Mutex::new(()));
                let edits = Rc::new(Cell::new(0u64));
                let dirty = Rc::new(Cell::new(false));
                let sink = sync::Sink {
                    lock: edit_lock.clone(),
                    synced: Box::new({
                        let (world, edits, dirty) = (world.clone(), edits.clone(), dirty.clone());
                        let drawn = Cell::new(0u64);
                        move |synced| {
                            // A full read overlapping this is thrown away and made again.
                            edits.set(edits.get().wrapping_add(1));
                            let Some(d) = synced else {
                                return ctx.refresh();
                            };
                            ctx.snap.update_untracked(|s| {
                                if let Some(s) = s {
                                    s.absorb_sync(d);
                                }
                            });
                            {
                                let mut w = world.borrow_mut();
                                for (id, r) in &d.records {
                                    w.set_view(*id, r.as_ref());
                                }
                            }
                            // A long pull shows its first pages at once (the block's own
                            // records come first), then redraws at most once a second.
                            let now = crate::ids::now_ms();
                            if now.saturating_sub(drawn.get()) >= 1_000 {
                                drawn.set(now);
                                dirty.set(false);
                                ctx.snap.notify();
                            } else {
                                dirty.set(true);
                            }
                        }
                    }),
                };
                // What the throttle above held back is drawn when the sync ends.
                let poke = sync::run(db.clone(), server_origin(), sink, move || {
                    if dirty.replace(false) {
                        ctx.snap.notify();
                    }
                });
                ctx.services.set_value(Some(Services {
                    db,
                    poke,
                    world,
                    edit_lock,
                    edits,
                    refreshing: Rc::new(Cell::new(None)),
                }));
                ctx.refresh();
            }
            Err(e) => ctx.fatal.set(Some(e.to_string())),
        }
    });

    // The shell is a delegate's app; an account that runs a block (a secretary, an
    // administrator) works in the editor module, which holds the screens only it opens.
    // Both read the same IndexedDB, so nothing is carried over but the address.
    if !cfg!(feature = "editor") {
        Effect::new(move |_| {
            if ctx.principal().is_some_and(|p| p.manages_any())
                && let Some(w) = web_sys::window()
            {
                let _ = w
                    .location()
                    .replace(&format!("{EDITOR_PATH}{}", current_hash()));
            }
        });
    }

    let toggle_lang = move |_| {
        let next = match ctx.lang.get_untracked() {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        };
        store_lang(next);
        ctx.lang.set(next);
    };
    // Memos: the screen is rebuilt only when these change, not on every edit.
    let signed_in = Memo::new(move |_| ctx.principal().is_some());
    let ready = Memo::new(move |_| ctx.snap.with(Option::is_some));

    view! {
        // `data-ready`: the first screen is drawn from IndexedDB (scripts/node/budget.mjs
        // times it).
        <div class="app" data-ready=move || ready.get().then_some("1")>
            <header class="topbar">
                <a class="brand" href="#/">
                    <span class="logo" aria-hidden="true">"★"</span>
                    <span>
                        <strong>"ThiĐua"</strong>
                        <small class="tagline">{tr("Thi đua – Khen thưởng của Khối, Cụm thi đua", "Emulation and commendation for emulation blocks")}</small>
                    </span>
                </a>
                <div class="topbar-actions">
                    {move || ctx.principal().map(|p| view! { <span class="account" data-testid="account">{p.name}</span> })}
                    <button class="secondary" on:click=toggle_lang lang=move || { if ctx.lang.get() == Lang::Vi { "en" } else { "vi" } }>
                        {tr("English", "Tiếng Việt")}
                    </button>
                    {move || signed_in.get().then(|| view! { <signin::SignOut /> })}
                </div>
            </header>
            <syncbar::SyncBar />
            {move || ctx.fatal.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <main>
                {move || {
                    if !ready.get() {
                        view! { <p class="muted">{tr("Đang mở dữ liệu…", "Opening data…")}</p> }.into_any()
                    } else if !signed_in.get() {
                        view! { <signin::SignIn /> }.into_any()
                    } else {
                        match ctx.route.get() {
                            Route::Home => view! { <home::Home /> }.into_any(),
                            Route::Block(b) => view! { <home::BlockHome block=b /> }.into_any(),
                            Route::Covenant(b, c) => view! { <covenant::CovenantEditor block=b version=c /> }.into_any(),
                            Route::Round { block, round, subject, scorer } => view! { <scoring::RoundView block=block round=round subject=subject scorer_param=scorer /> }.into_any(),
                        }
                    }
                }}
            </main>
        </div>
    }
}

/// A label in the current language. One concrete reactive type for every label keeps the
/// WebAssembly small: a closure per label would each bring its own render code.
pub fn tr(vi: &'static str, en: &'static str) -> Signal<&'static str> {
    let lang = Ctx::get().lang;
    Signal::derive(move || lang.get().t(vi, en))
}

/// Points in the current language's format ("7,5" / "7.5"), as one concrete reactive type.
pub fn pts(p: shared::Points) -> Signal<String> {
    let lang = Ctx::get().lang;
    Signal::derive(move || points_text(p, lang.get()))
}

/// A reactive label, as the one concrete type `tr` gives (see there why).
pub fn label(f: impl Fn() -> &'static str + Send + Sync + 'static) -> Signal<&'static str> {
    Signal::derive(f)
}

/// A reactive text, as the one concrete type `pts` gives.
pub fn text(f: impl Fn() -> String + Send + Sync + 'static) -> Signal<String> {
    Signal::derive(f)
}
