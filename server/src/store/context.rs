//! Block contexts kept in memory between pushes.
//!
//! A push checks its mutations against the structure of the blocks it touches (every record
//! but score sheets and cells: `store::is_structure`). Reading and decoding it on every push
//! cost more than the push's own writes, so decoded contexts stay here, each tagged with its
//! block's *version*: the highest sequence in the block's structure (tombstones included, so
//! a deletion moves it too). A push reads the versions under its locks (a structural change
//! holds its block's lock exclusively, so the version cannot move under a reader) and
//! uses a cached context only when its version matches, so a write by another process
//! (another server on PostgreSQL, the CLI) is never missed. Only after its commit does a push
//! store the contexts as it left them, at their new versions; a rolled-back push stores
//! nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use shared::world::Entry;
use uuid::Uuid;

/// How many blocks' contexts are kept; the least recently used goes first.
const CAPACITY: usize = 64;

/// Decoded block contexts, shared by the clones of a store.
#[derive(Clone, Default)]
pub(crate) struct ContextCache(Arc<Mutex<Inner>>);

#[derive(Default)]
struct Inner {
    blocks: HashMap<Uuid, Cached>,
    tick: u64,
}

struct Cached {
    version: u64,
    entries: Arc<Vec<Entry>>,
    used: u64,
}

/// A block's context as a committed push left it.
pub(crate) struct Context {
    pub block: Uuid,
    pub version: u64,
    pub entries: Vec<Entry>,
}

impl ContextCache {
    /// The block's context if the cache holds it at `version`.
    pub fn get(&self, block: Uuid, version: u64) -> Option<Arc<Vec<Entry>>> {
        let mut inner = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        inner.tick += 1;
        let tick = inner.tick;
        let hit = inner
            .blocks
            .get_mut(&block)
            .filter(|c| c.version == version)?;
        hit.used = tick;
        Some(Arc::clone(&hit.entries))
    }

    /// Keeps contexts written by a committed push. Pushes commit in order but may finish
    /// out of order, so an older version never replaces a newer one.
    pub fn put(&self, contexts: Vec<Context>) {
        let mut inner = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for c in contexts {
            if inner
                .blocks
                .get(&c.block)
                .is_some_and(|k| k.version > c.version)
            {
                continue;
            }
            inner.tick += 1;
            let used = inner.tick;
            inner.blocks.insert(
                c.block,
                Cached {
                    version: c.version,
                    entries: Arc::new(c.entries),
                    used,
                },
            );
        }
        while inner.blocks.len() > CAPACITY {
            let Some(oldest) = inner
                .blocks
                .iter()
                .min_by_key(|(_, c)| c.used)
                .map(|(b, _)| *b)
            else {
                break;
            };
            inner.blocks.remove(&oldest);
        }
    }
}

impl ContextCache {
    /// Drops these blocks' contexts (their versions were rolled back).
    pub fn forget(&self, blocks: &[Uuid]) {
        let mut inner = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for b in blocks {
            inner.blocks.remove(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::model::{Record, Unit};

    fn entry(n: u128) -> Entry {
        Entry {
            record: Record::Unit(Unit {
                id: Uuid::from_u128(n),
                name: format!("Đơn vị {n}"),
                short_name: String::new(),
            }),
            clocks: Default::default(),
            deleted: false,
        }
    }

    #[test]
    fn a_context_is_served_only_at_its_version() {
        let cache = ContextCache::default();
        let block = Uuid::from_u128(1);
        cache.put(vec![Context {
            block,
            version: 7,
            entries: vec![entry(2)],
        }]);
        assert_eq!(cache.get(block, 7).map(|e| e.len()), Some(1));
        assert!(cache.get(block, 8).is_none(), "a newer version is a miss");
        assert!(cache.get(Uuid::from_u128(3), 7).is_none());
        cache.put(vec![Context {
            block,
            version: 6,
            entries: vec![],
        }]);
        assert_eq!(
            cache.get(block, 7).map(|e| e.len()),
            Some(1),
            "a push that finished late does not bring back an older version"
        );
    }

    #[test]
    fn the_least_recently_used_block_goes_first() {
        let cache = ContextCache::default();
        let ctx = |n: u128| Context {
            block: Uuid::from_u128(n),
            version: 1,
            entries: vec![],
        };
        cache.put((0..CAPACITY as u128).map(ctx).collect());
        assert!(
            cache.get(Uuid::from_u128(0), 1).is_some(),
            "block 0 used again"
        );
        cache.put(vec![ctx(1000)]);
        assert!(cache.get(Uuid::from_u128(0), 1).is_some());
        assert!(
            cache.get(Uuid::from_u128(1), 1).is_none(),
            "block 1 was the oldest"
        );
        assert!(cache.get(Uuid::from_u128(1000), 1).is_some());
    }
}
