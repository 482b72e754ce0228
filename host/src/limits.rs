//! How long and how much any client may take from wxmp-host: the deadlines
//! and caps that keep slow or flooding clients from exhausting connections,
//! instances or memory. Every number is a command-line option of `up` with
//! the default shown here (and in the README).

use std::time::Duration;

use clap::Args;

/// The limits, as `wxmp-host up` takes them.
#[derive(Args, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Seconds a client has to send a request's headers (also how long an
    /// idle keep-alive connection stays open).
    #[arg(long = "header-timeout", value_name = "SECS", default_value_t = 10)]
    pub(crate) header_timeout_secs: u64,

    /// Seconds a client has to send a buffered request body.
    #[arg(long = "body-timeout", value_name = "SECS", default_value_t = 10)]
    pub(crate) body_timeout_secs: u64,

    /// Wall-clock seconds a request's instance may live, answer and any
    /// work after it included; then it is ended (a CPU loop is trapped).
    #[arg(long = "request-timeout", value_name = "SECS", default_value_t = 30)]
    pub(crate) request_timeout_secs: u64,

    /// Open client connections; more are answered `503` and closed.
    #[arg(long = "max-connections", value_name = "N", default_value_t = 8192)]
    pub(crate) max_connections: usize,

    /// Component instances running at once (one per request in flight);
    /// more requests are answered `503 busy` with `Retry-After`.
    #[arg(long = "max-instances", value_name = "N", default_value_t = 1000)]
    pub(crate) max_instances: u32,

    /// Request bodies up to this many bytes are read in full before an
    /// instance is taken, so a trickling client holds only a socket; larger
    /// declared bodies are streamed to the component.
    #[arg(long = "max-buffered-body", value_name = "BYTES", default_value_t = 64 * 1024)]
    pub(crate) max_buffered_body: usize,
}

impl Limits {
    /// [`Self::header_timeout_secs`].
    pub(crate) fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs)
    }

    /// [`Self::body_timeout_secs`].
    pub(crate) fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_secs)
    }

    /// [`Self::request_timeout_secs`].
    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout_secs: 10,
            body_timeout_secs: 10,
            request_timeout_secs: 30,
            max_connections: 8192,
            max_instances: 1000,
            max_buffered_body: 64 * 1024,
        }
    }
}

/// Raises this process's open-file limit to its hard limit, so the
/// connection cap, not the default soft limit (often 1024), decides how
/// many clients fit. Returns the limit now in force.
pub(crate) fn raise_open_files() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit
        .maximum
        .is_some_and(|max| limit.current.is_none_or(|cur| cur < max))
    {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
    getrlimit(Resource::Nofile).current
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        limits: Limits,
    }

    #[test]
    fn defaults_match_the_documented_numbers() {
        let parsed = Wrapper::try_parse_from(["x"]).unwrap().limits;
        assert_eq!(parsed, Limits::default());
        assert_eq!(parsed.request_timeout(), Duration::from_secs(30));
        let custom =
            Wrapper::try_parse_from(["x", "--request-timeout", "5", "--max-instances", "3"])
                .unwrap()
                .limits;
        assert_eq!((custom.request_timeout_secs, custom.max_instances), (5, 3));
    }

    #[test]
    fn the_open_file_limit_is_raised_to_the_hard_limit() {
        let now = raise_open_files();
        let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum;
        assert_eq!(now, hard);
    }
}
