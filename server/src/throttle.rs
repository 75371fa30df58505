//! Throttling of sign-in and join attempts, so no client can exhaust the server or guess.
//!
//! Three guards, all in memory (a restart forgets them, which only helps a guesser for as
//! long as the restart takes):
//! - **Hashing**: at most `permits` argon2 hashes run at once (one per core), each needing
//!   ~19 MiB; at most `MAX_WAITING` requests wait for one, the rest answer 429 at once. The
//!   server's memory stays flat whatever the number of parallel attempts.
//! - **Per client address**: failed attempts (wrong password, unknown name, wrong code) are
//!   metered with a GCRA bucket: a burst of `ADDR_BURST`, then one per `ADDR_INTERVAL_MS`.
//!   Successful sign-ins cost nothing, so a hall of tablets behind one address signs in freely.
//! - **Per account**: after `FREE_FAILURES` wrong passwords in a row the account is locked for
//!   1 s, doubling with each further failure up to `MAX_LOCK_MS`; a right password resets it.
//!   During a lock even the right password answers 429: that is what stops guessing, and the
//!   cost (a locked-out owner waits at most 15 minutes) is the documented trade-off.
//!
//! Every refusal is `ApiError::RateLimited` with the seconds to wait (`Retry-After`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::ApiError;

/// Failed attempts an address may make at once before being metered.
pub const ADDR_BURST: i64 = 20;
/// Then one failed attempt per this many ms (30 a minute).
pub const ADDR_INTERVAL_MS: i64 = 2_000;
/// Wrong passwords in a row before an account locks.
pub const FREE_FAILURES: u32 = 5;
/// The longest lock: 15 minutes.
pub const MAX_LOCK_MS: i64 = 15 * 60 * 1000;
/// Requests that may wait for a hashing slot; more answer 429 at once.
pub const MAX_WAITING: usize = 64;
/// Entries kept per map before the stale ones are dropped (bounds memory under a flood of
/// addresses or names).
const MAX_ENTRIES: usize = 50_000;

/// The guards, shared by every handler.
#[derive(Debug)]
pub struct Throttle {
    hashing: Semaphore,
    waiting: AtomicUsize,
    addrs: Mutex<HashMap<IpAddr, i64>>,
    accounts: Mutex<HashMap<String, Lock>>,
    /// Argon2 working memory, one buffer per slot in use, reused (see `auth::verify_password_in`).
    memory: Mutex<Vec<Vec<argon2::Block>>>,
}

/// An account's run of failures.
#[derive(Debug, Clone, Copy, Default)]
struct Lock {
    failures: u32,
    until_ms: i64,
}

fn secs(ms: i64) -> u64 {
    u64::try_from((ms + 999) / 1000).unwrap_or(1).max(1)
}

impl Throttle {
    /// Guards with `permits` concurrent hashes (at least one).
    pub fn new(permits: usize) -> Arc<Throttle> {
        Arc::new(Throttle {
            hashing: Semaphore::new(permits.max(1)),
            waiting: AtomicUsize::new(0),
            addrs: Mutex::new(HashMap::new()),
            accounts: Mutex::new(HashMap::new()),
            memory: Mutex::new(Vec::new()),
        })
    }

    /// Guards sized to this machine's cores (at most 4 hashes at once).
    pub fn for_this_machine() -> Arc<Throttle> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Throttle::new(cores.min(4))
    }

    /// Refuses an address that has used up its failed attempts.
    pub fn check_addr(&self, addr: Option<IpAddr>, now_ms: i64) -> Result<(), ApiError> {
        let Some(addr) = addr else { return Ok(()) };
        let addrs = self.addrs.lock().unwrap_or_else(|e| e.into_inner());
        match addrs.get(&addr) {
            // GCRA: the bucket is full when the theoretical arrival time is a burst ahead.
            Some(&tat) if tat - now_ms > (ADDR_BURST - 1) * ADDR_INTERVAL_MS => {
                Err(ApiError::RateLimited {
                    retry_after_secs: secs(tat - now_ms - (ADDR_BURST - 1) * ADDR_INTERVAL_MS),
                })
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed attempt from `addr`.
    pub fn failed_addr(&self, addr: Option<IpAddr>, now_ms: i64) {
        let Some(addr) = addr else { return };
        let mut addrs = self.addrs.lock().unwrap_or_else(|e| e.into_inner());
        if addrs.len() >= MAX_ENTRIES {
            addrs.retain(|_, tat| *tat > now_ms);
        }
        let tat = addrs.entry(addr).or_insert(now_ms);
        *tat = (*tat).max(now_ms) + ADDR_INTERVAL_MS;
    }

    /// Refuses an account that is locked.
    pub fn check_account(&self, username: &str, now_ms: i64) -> Result<(), ApiError> {
        let accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        match accounts.get(username) {
            Some(l) if l.until_ms > now_ms => Err(ApiError::RateLimited {
                retry_after_secs: secs(l.until_ms - now_ms),
            }),
            _ => Ok(()),
        }
    }

    /// Counts a wrong password on `username`; locks it after `FREE_FAILURES`.
    pub fn failed_account(&self, username: &str, now_ms: i64) {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        if accounts.len() >= MAX_ENTRIES {
            accounts.retain(|_, l| l.until_ms > now_ms);
        }
        let l = accounts.entry(username.to_owned()).or_default();
        l.failures = l.failures.saturating_add(1);
        if l.failures >= FREE_FAILURES {
            let doublings = (l.failures - FREE_FAILURES).min(20);
            l.until_ms = now_ms + (1000i64 << doublings).min(MAX_LOCK_MS);
        }
    }

    /// Forgets an account's failures after a right password.
    pub fn succeeded_account(&self, username: &str) {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        accounts.remove(username);
    }

    /// A working buffer for one hash (empty the first time; it grows once and is reused).
    pub fn take_memory(&self) -> Vec<argon2::Block> {
        self.memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default()
    }

    /// Gives a buffer back after its hash.
    pub fn put_memory(&self, buffer: Vec<argon2::Block>) {
        self.memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(buffer);
    }

    /// Waits for a hashing slot, or refuses at once when too many already wait.
    pub async fn hashing_slot(&self) -> Result<SemaphorePermit<'_>, ApiError> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(ApiError::RateLimited {
                retry_after_secs: 2,
            });
        }
        let permit = self.hashing.acquire().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        permit.map_err(|_| ApiError::Unavailable("shutting down"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_metered_after_its_burst_and_recovers() {
        let t = Throttle::new(1);
        let a = Some(IpAddr::from([10, 0, 0, 7]));
        let now = 1_000_000;
        for _ in 0..ADDR_BURST {
            assert!(t.check_addr(a, now).is_ok());
            t.failed_addr(a, now);
        }
        let Err(ApiError::RateLimited { retry_after_secs }) = t.check_addr(a, now) else {
            panic!("the burst is spent");
        };
        assert_eq!(retry_after_secs, 2);
        // Another address is not affected; the first recovers after one interval.
        assert!(t.check_addr(Some(IpAddr::from([10, 0, 0, 8])), now).is_ok());
        assert!(t.check_addr(a, now + ADDR_INTERVAL_MS).is_ok());
    }

    #[test]
    fn an_account_locks_exponentially_and_a_right_password_resets_it() {
        let t = Throttle::new(1);
        let now = 5_000_000;
        for _ in 0..FREE_FAILURES - 1 {
            t.failed_account("thuky", now);
            assert!(t.check_account("thuky", now).is_ok());
        }
        t.failed_account("thuky", now);
        assert!(t.check_account("thuky", now).is_err());
        assert!(t.check_account("thuky", now + 1000).is_ok());
        t.failed_account("thuky", now + 1000);
        assert!(t.check_account("thuky", now + 2500).is_err());
        assert!(t.check_account("thuky", now + 3000).is_ok());
        for _ in 0..40 {
            t.failed_account("thuky", now);
        }
        let Err(ApiError::RateLimited { retry_after_secs }) = t.check_account("thuky", now) else {
            panic!("locked");
        };
        assert_eq!(retry_after_secs, 900, "capped at 15 minutes");
        t.succeeded_account("thuky");
        assert!(t.check_account("thuky", now).is_ok());
    }

    #[tokio::test]
    async fn hashing_waits_are_bounded() {
        let t = Throttle::new(1);
        let held = t.hashing_slot().await.expect("first slot");
        // Fill the queue with waiters that cannot proceed while the slot is held.
        let t2 = Arc::clone(&t);
        let waiters: Vec<_> = (0..MAX_WAITING)
            .map(|_| {
                let t = Arc::clone(&t2);
                tokio::spawn(async move { t.hashing_slot().await.map(|_| ()) })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(matches!(
            t.hashing_slot().await,
            Err(ApiError::RateLimited { .. })
        ));
        drop(held);
        for w in waiters {
            assert!(w.await.expect("join").is_ok());
        }
    }
}
