//! One-line logs with a level, to stderr. Callers pass no secrets: request
//! lines carry the path without its query.
//!
//! Request lines are the hot path (one per request), so info and debug
//! lines go to a buffer that a background thread writes out every 50 ms,
//! instead of a write system call per request. Warnings and errors are
//! written at once (after whatever is buffered, keeping order).

use std::io::Write;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// How much to say (`--log error|warn|info|debug`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub(crate) enum Level {
    /// Failures only.
    Error,
    /// Refusals and degraded operation.
    Warn,
    /// A line per request (the default).
    Info,
    /// Also a line per outbound call.
    Debug,
}

/// How often buffered lines are written out.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Buffered bytes that trigger an immediate write.
const FLUSH_AT: usize = 64 * 1024;

struct Inner {
    level: Level,
    pending: Mutex<Vec<u8>>,
}

impl Inner {
    fn flush(&self) {
        let out = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if !out.is_empty() {
            let _ = std::io::stderr().lock().write_all(&out);
        }
    }
}

/// A cheap, cloneable logger.
#[derive(Clone)]
pub(crate) struct Log(Arc<Inner>);

impl Log {
    /// Logs at `level` and below; starts the thread that writes buffered
    /// lines (it ends when the last clone is dropped).
    pub(crate) fn new(level: Level) -> Self {
        let inner = Arc::new(Inner {
            level,
            pending: Mutex::new(Vec::new()),
        });
        let weak: Weak<Inner> = Arc::downgrade(&inner);
        std::thread::spawn(move || loop {
            std::thread::sleep(FLUSH_EVERY);
            match weak.upgrade() {
                Some(inner) => inner.flush(),
                None => break,
            }
        });
        Self(inner)
    }

    fn write(&self, level: Level, line: &str) {
        if level > self.0.level {
            return;
        }
        let urgent = level <= Level::Warn;
        let full = {
            let mut pending = self.0.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.extend_from_slice(b"wxmp-host: ");
            pending.extend_from_slice(line.as_bytes());
            pending.push(b'\n');
            pending.len() >= FLUSH_AT
        };
        if urgent || full {
            self.0.flush();
        }
    }

    /// Writes out buffered lines now (at shutdown).
    pub(crate) fn flush(&self) {
        self.0.flush();
    }

    /// An error line.
    pub(crate) fn error(&self, line: &str) {
        self.write(Level::Error, line);
    }

    /// A warning line.
    pub(crate) fn warn(&self, line: &str) {
        self.write(Level::Warn, line);
    }

    /// An info line.
    pub(crate) fn info(&self, line: &str) {
        self.write(Level::Info, line);
    }

    /// A debug line.
    pub(crate) fn debug(&self, line: &str) {
        self.write(Level::Debug, line);
    }
}
