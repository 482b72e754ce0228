//! Test support shared by wxmp's suites (the native tests in `tests/`, the
//! end-to-end tests in `host/tests/`, the simulator's in `sim/tests/`) and
//! the benchmark's native reference, so that each piece is written once:
//!
//! - [`http`]: a blocking HTTP/1.1 client on ureq and a cookie jar;
//! - [`server`]: a scripted HTTP server on hyper that records what it gets;
//! - [`kv`]: an in-memory [`wxmp::ports::KeyValue`] with Spin's counter rule;
//! - [`redis`]: a throwaway `redis-server`;
//! - [`TempDir`] (tempfile's, re-exported) and [`temp_dir`] to make one.

pub mod http;
pub mod kv;
pub mod redis;
pub mod server;

/// A directory removed with everything in it when dropped (tempfile's).
pub use tempfile::TempDir;

/// A fresh temporary directory named `wxmp-{tag}-…`, so a leftover one says
/// which test made it.
pub fn temp_dir(tag: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("wxmp-{tag}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("temporary directory for {tag}: {e}"))
}
