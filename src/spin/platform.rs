//! Clock, randomness, logs and variables on WASI and Spin, and the [`Env`]
//! each request or WIT call is served with.

use crate::core::config::Config;
use crate::ports::{Clock, Entropy, Env, Logger};
use wasi::clocks::{monotonic_clock, wall_clock};

use super::kv::SpinKv;
use super::outbound::WasiHttp;

/// `wasi:clocks`: wall time for expiries, monotonic sleeps for polling.
pub(crate) struct WasiClock;

impl Clock for WasiClock {
    fn now_ms(&self) -> u64 {
        let now = wall_clock::now();
        now.seconds * 1000 + u64::from(now.nanoseconds / 1_000_000)
    }

    fn sleep_ms(&self, ms: u64) {
        monotonic_clock::subscribe_duration(ms * 1_000_000).block();
    }
}

/// `wasi:random`, the host's CSPRNG.
pub(crate) struct WasiRandom;

impl Entropy for WasiRandom {
    fn fill(&self, buf: &mut [u8]) {
        let mut filled = 0;
        while filled < buf.len() {
            let bytes = wasi::random::random::get_random_bytes((buf.len() - filled) as u64);
            let n = bytes.len().min(buf.len() - filled);
            buf[filled..filled + n].copy_from_slice(&bytes[..n]);
            filled += n;
        }
    }
}

/// Logs to stderr, which Spin collects per component.
pub(crate) struct StderrLog;

impl Logger for StderrLog {
    fn log(&self, line: &str) {
        eprintln!("wxmp: {line}");
    }
}

/// Reads Spin variables into a [`Config`].
pub(crate) fn load_config() -> Config {
    Config::load(|name| spin_sdk::variables::get(name).ok())
}

/// Runs `f` with an [`Env`] on the Spin host.
pub(crate) fn with_env<T>(f: impl FnOnce(&Env) -> T) -> T {
    let config = load_config();
    let kv = SpinKv::open_default();
    let env = Env {
        config: &config,
        kv: &kv,
        http: &WasiHttp,
        clock: &WasiClock,
        entropy: &WasiRandom,
        log: &StderrLog,
    };
    f(&env)
}
