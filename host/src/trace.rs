//! What one request did, gathered for its log line: the outbound calls its
//! component made (host, path, status, WeChat's errcode, latency), and the
//! line itself, written once both the answer's head is known and the
//! component has finished — whichever comes last — so calls made after
//! the answer (a late webhook reply, a streamed body) are on it too.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use crate::log::{Log, RequestLine};

/// How an outbound call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Outcome {
    /// WeChat (or whoever) answered with this status.
    Status(u16),
    /// Not in `allowed_outbound_hosts`: it never left the host.
    Refused,
    /// No answer: connection refused, reset, timed out, bad TLS…
    Failed,
    /// The component gave up on it before it ended.
    Cancelled,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(s) => write!(f, "{s}"),
            Self::Refused => f.write_str("refused"),
            Self::Failed => f.write_str("error"),
            Self::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// One outbound call, as the request line lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Call {
    /// Its method.
    pub(crate) method: http::Method,
    /// `host:port` (never the userinfo of the URL).
    pub(crate) host: String,
    /// The path, without the query (which carries access tokens).
    pub(crate) path: String,
    /// Its status, or why there was none.
    pub(crate) outcome: Outcome,
    /// WeChat's `errcode` when the answer was JSON (`0` for JSON without
    /// one, as WeChat answers success), else `None`.
    pub(crate) errcode: Option<i64>,
    /// From sending to the answer's last byte (or to the failure).
    pub(crate) took: Duration,
}

/// One request's calls and line. Shared by the serving side (which knows
/// the answer's head), the outbound hook (which records calls) and the
/// task running the component (which knows when it finished).
#[derive(Default)]
pub(crate) struct Trace(Mutex<State>);

#[derive(Default)]
struct State {
    line: Option<RequestLine>,
    calls: Vec<Call>,
    finished: bool,
}

impl Trace {
    /// Records a call that ended. After the line was written (a call the
    /// component abandoned, ended by the runtime later), it is dropped.
    pub(crate) fn record(&self, call: Call) {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if !state.finished {
            state.calls.push(call);
        }
    }

    /// The answer's head is known: writes the line now if the component
    /// has finished, else leaves it for [`Self::finished`].
    pub(crate) fn answered(&self, mut line: RequestLine, log: &Log) {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if state.finished {
            line.upstream = std::mem::take(&mut state.calls);
            drop(state);
            log.request(line);
        } else {
            state.line = Some(line);
        }
    }

    /// The component has finished (and its instance is gone): writes the
    /// line now if the answer's head is known.
    pub(crate) fn finished(&self, log: &Log) {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        state.finished = true;
        if let Some(mut line) = state.line.take() {
            line.upstream = std::mem::take(&mut state.calls);
            drop(state);
            log.request(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{Format, Level, RequestId};

    fn line() -> RequestLine {
        RequestLine {
            method: http::Method::GET,
            path: "/jssdk/config".into(),
            route: None,
            status: 200,
            latency: Duration::from_millis(2),
            peer: "127.0.0.1:1".parse().unwrap(),
            request_id: RequestId::NONE,
            upstream: Vec::new(),
        }
    }

    fn call(path: &str) -> Call {
        Call {
            method: http::Method::GET,
            host: "h:80".into(),
            path: path.into(),
            outcome: Outcome::Status(200),
            errcode: None,
            took: Duration::from_millis(1),
        }
    }

    #[test]
    fn the_line_is_written_once_with_every_call_whichever_side_ends_last() {
        for answer_first in [true, false] {
            let log = Log::held(Level::Info, Format::Text);
            let trace = Trace::default();
            trace.record(call("/a"));
            if answer_first {
                trace.answered(line(), &log);
                assert!(
                    log.rendered().is_empty(),
                    "written before the component ended"
                );
                trace.record(call("/after-the-answer"));
                trace.finished(&log);
            } else {
                trace.record(call("/after-the-answer"));
                trace.finished(&log);
                assert!(log.rendered().is_empty(), "written before the answer");
                trace.answered(line(), &log);
            }
            trace.record(call("/too-late"));
            let lines = log.rendered();
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert!(
                lines[0].ends_with(
                    "upstream=\"GET h:80/a 200 errcode=- 1.0ms\" upstream=\"GET h:80/after-the-answer 200 errcode=- 1.0ms\""
                ),
                "{lines:?}"
            );
        }
    }

    #[test]
    fn nothing_is_written_without_an_answer() {
        let log = Log::held(Level::Info, Format::Text);
        let trace = Trace::default();
        trace.record(call("/a"));
        trace.finished(&log);
        assert!(log.rendered().is_empty());
    }

    #[test]
    fn outcomes_read_as_in_the_logs_and_metrics() {
        assert_eq!(Outcome::Status(200).to_string(), "200");
        assert_eq!(Outcome::Refused.to_string(), "refused");
        assert_eq!(Outcome::Failed.to_string(), "error");
        assert_eq!(Outcome::Cancelled.to_string(), "cancelled");
    }
}
