//! The seam between the flows and the world: the few things a flow needs
//! done (store, fetch, tell the time, draw randomness, log). The Spin
//! adapters in `spin/` implement them on WASI; tests implement them in memory.

use crate::core::config::Config;
use crate::core::error::Error;
use crate::core::keys::Key;
use crate::core::method::Method;

/// The shared key-value store (Spin's `default` store). Keys come from
/// [`crate::core::keys::Keys`] only.
pub trait KeyValue {
    /// The value at `key`, if any.
    fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, Error>;
    /// Stores `value` at `key`.
    fn set(&self, key: &Key, value: &[u8]) -> Result<(), Error>;
    /// Removes `key` (absent is fine).
    fn delete(&self, key: &Key) -> Result<(), Error>;
    /// Atomically adds `delta` to the counter at `key` (absent counts as 0)
    /// and returns the new value. The key must hold only that counter.
    fn increment(&self, key: &Key, delta: i64) -> Result<i64, Error>;
}

/// Time limits for one outbound request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// To establish the connection.
    pub connect_ms: u64,
    /// From sending to the first response byte.
    pub first_byte_ms: u64,
    /// For the whole exchange, body included.
    pub total_ms: u64,
}

/// An outbound HTTP request. `url` may carry secrets: adapters must not log it.
#[derive(Clone)]
pub struct OutboundRequest {
    /// The method.
    pub method: Method,
    /// The full URL.
    pub url: String,
    /// Request headers.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
    /// Time limits.
    pub timeouts: Timeouts,
}

/// An outbound HTTP response, body read in full (bounded by the adapter).
#[derive(Clone, Debug)]
pub struct OutboundResponse {
    /// Status code.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// Outbound HTTP. Fails with `Error::Transport` or `Error::Timeout` only.
pub trait HttpClient {
    /// Sends `request` and reads the whole response.
    fn send(&self, request: &OutboundRequest) -> Result<OutboundResponse, Error>;
}

/// Wall-clock time and waiting.
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// Blocks this request for `ms` milliseconds (polling for a lease).
    fn sleep_ms(&self, ms: u64);
}

/// Cryptographically secure randomness.
pub trait Entropy {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// One-line operational logs. Callers never pass secrets.
pub trait Logger {
    /// Writes one line.
    fn log(&self, line: &str);
}

/// Everything a flow may use, borrowed for one request.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    /// The parsed configuration.
    pub config: &'a Config,
    /// The shared store.
    pub kv: &'a dyn KeyValue,
    /// Outbound HTTP.
    pub http: &'a dyn HttpClient,
    /// Time.
    pub clock: &'a dyn Clock,
    /// Randomness.
    pub entropy: &'a dyn Entropy,
    /// Logs.
    pub log: &'a dyn Logger,
}

impl Env<'_> {
    /// Seconds since the Unix epoch.
    pub fn now_s(&self) -> u64 {
        self.clock.now_ms() / 1000
    }

    /// `N` random bytes.
    pub fn random<const N: usize>(&self) -> [u8; N] {
        let mut buf = [0u8; N];
        self.entropy.fill(&mut buf);
        buf
    }
}
