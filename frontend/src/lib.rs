//! ThiĐua's offline-first app. IndexedDB (`db`) is the UI's source of truth; every local
//! change goes there with its outbox entry in one transaction; the sync engine (`sync`)
//! pushes the outbox and pulls changes in the background through `api`.

pub mod api;
pub mod app;
pub mod db;
pub mod i18n;
pub mod ids;
pub mod json;
pub mod seal;
pub mod sync;
