//! Limits that protect the server, set from flags or the environment.

/// Request limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Most mutations in one push.
    pub max_batch: usize,
    /// How far ahead of the server's clock a pushed stamp may be, in ms.
    pub max_clock_skew_ms: u64,
    /// Behind a reverse proxy: take the client's address from the last `X-Forwarded-For`
    /// entry (the proxy's own record) rather than the connection.
    pub trust_proxy: bool,
    /// Served over TLS: browsers are told to keep to HTTPS (HSTS).
    pub tls: bool,
    /// Syncs decoded and applied at once; the others wait their turn with only their body
    /// read, so the server's memory does not grow with the number of devices pushing.
    pub max_concurrent_syncs: usize,
}

/// Twice the cores, at least 4: enough to keep them and the database busy.
pub fn default_concurrent_syncs() -> usize {
    std::thread::available_parallelism().map_or(4, |n| (n.get() * 2).max(4))
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 2 * 1024 * 1024,
            max_batch: 1000,
            max_clock_skew_ms: shared::hlc::DEFAULT_MAX_SKEW_MS,
            trust_proxy: false,
            tls: false,
            max_concurrent_syncs: default_concurrent_syncs(),
        }
    }
}

/// The furthest any of `mutations`' stamps runs ahead of `now_ms` beyond `max_skew_ms`, if
/// one does (stamps of other devices are refused one by one by the push instead).
pub fn stamps_ahead(
    mutations: &[shared::mutation::Mutation],
    device: uuid::Uuid,
    now_ms: u64,
    max_skew_ms: u64,
) -> Option<u64> {
    mutations
        .iter()
        .filter_map(|m| match m.hlc.check(device, now_ms, max_skew_ms) {
            Err(shared::hlc::StampError::Ahead { ahead_ms, .. }) => Some(ahead_ms),
            _ => None,
        })
        .max()
}
