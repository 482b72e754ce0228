//! wxmp's ports on the operating system, for the native reference: a map in
//! memory with Spin's counter rule, blocking HTTP to wxmp-sim, the system
//! clock and CSPRNG, stderr.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wxmp::core::error::Error;
use wxmp::ports::{Clock, Entropy, HttpClient, Logger, OutboundRequest, OutboundResponse};

/// Largest upstream body read, as the component's adapter allows.
const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

/// The store, in process: the native tests' own, so the reference keeps
/// the counter rule the tests hold wxmp to (`increment` only on a key
/// holding its 8-byte counter, as on Spin's stores) without a second copy.
pub use wxmp_testkit::kv::MemKv as MemoryKv;

/// Blocking HTTP/1.1 (no TLS: the reference talks to wxmp-sim on loopback).
pub struct BlockingHttp;

impl HttpClient for BlockingHttp {
    fn send(&self, r: &OutboundRequest) -> Result<OutboundResponse, Error> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_millis(r.timeouts.connect_ms)))
            .timeout_recv_response(Some(Duration::from_millis(r.timeouts.first_byte_ms)))
            .timeout_global(Some(Duration::from_millis(r.timeouts.total_ms)))
            .build()
            .into();
        let result = match &r.body {
            Some(body) => {
                let mut req = agent.post(&r.url);
                for (k, v) in &r.headers {
                    req = req.header(k, v);
                }
                req.send(&body[..])
            }
            None => {
                let mut req = agent.get(&r.url);
                for (k, v) in &r.headers {
                    req = req.header(k, v);
                }
                req.call()
            }
        };
        let mut response = result.map_err(classify)?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(classify)?;
        Ok(OutboundResponse {
            status,
            headers: Vec::new(),
            body,
        })
    }
}

/// Timeouts as [`Error::Timeout`], everything else as [`Error::Transport`].
fn classify(e: ureq::Error) -> Error {
    match e {
        ureq::Error::Timeout(t) => Error::Timeout(format!("upstream timed out ({t})")),
        other => Error::Transport(other.to_string()),
    }
}

/// The system clock; waiting blocks the calling thread.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    fn sleep_ms(&self, ms: u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// The operating system's CSPRNG.
pub struct OsRandom;

impl Entropy for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        getrandom::fill(buf).expect("the operating system's CSPRNG");
    }
}

/// Lines on stderr, as the component writes them.
pub struct StderrLog;

impl Logger for StderrLog {
    fn log(&self, line: &str) {
        eprintln!("wxmp-native: {line}");
    }
}
