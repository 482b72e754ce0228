//! One-line logs with a level, to stderr. Callers pass no secrets: request
//! lines carry the path without its query.

use std::sync::Arc;

/// How much to say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Failures only.
    Error,
    /// Refusals and degraded operation.
    Warn,
    /// A line per request (the default).
    Info,
    /// Also a line per outbound call.
    Debug,
}

impl Level {
    /// Parses `error`, `warn`, `info` or `debug`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "error" => Self::Error,
            "warn" => Self::Warn,
            "info" => Self::Info,
            "debug" => Self::Debug,
            _ => return None,
        })
    }
}

/// A cheap, cloneable logger.
#[derive(Clone)]
pub struct Log(Arc<Level>);

impl Log {
    /// Logs at `level` and below.
    pub fn new(level: Level) -> Self {
        Self(Arc::new(level))
    }

    fn write(&self, level: Level, line: &str) {
        if level <= *self.0 {
            eprintln!("wxmp-host: {line}");
        }
    }

    /// An error line.
    pub fn error(&self, line: &str) {
        self.write(Level::Error, line);
    }

    /// A warning line.
    pub fn warn(&self, line: &str) {
        self.write(Level::Warn, line);
    }

    /// An info line.
    pub fn info(&self, line: &str) {
        self.write(Level::Info, line);
    }

    /// A debug line.
    pub fn debug(&self, line: &str) {
        self.write(Level::Debug, line);
    }
}
