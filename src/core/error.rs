//! The core's one error type, shaped by where a failure came from: the
//! caller, our configuration, WeChat's answer, the network, or the store.
//! The HTTP face maps it to status codes once (`http::error`), the WIT face
//! to `wechat:mp/types.error` once (`spin::exports`).

use std::fmt;

/// Why a WeChat operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A signature (server, message, state or cookie) did not match.
    InvalidSignature,
    /// The caller sent something malformed. `code` is the stable
    /// machine-readable reason (`invalid_scope`, `invalid_state`, ...).
    InvalidInput {
        /// Stable machine-readable reason.
        code: &'static str,
        /// What was wrong, for people.
        message: String,
    },
    /// The request is authentic in form but refused by policy (a stale or
    /// replayed push, a plaintext push in safe mode). `code` is stable.
    Refused {
        /// Stable machine-readable reason.
        code: &'static str,
        /// What was refused and why, for people.
        message: String,
    },
    /// A variable is missing or malformed; the message names it.
    Config(String),
    /// WeChat answered with a non-zero `errcode`.
    Upstream {
        /// WeChat's errcode.
        errcode: i64,
        /// WeChat's errmsg.
        errmsg: String,
    },
    /// WeChat answered, but not with anything we can read (5xx, not JSON).
    BadAnswer(String),
    /// WeChat could not be reached (refused, reset, DNS, denied by the host).
    Transport(String),
    /// WeChat did not answer within the time budget.
    Timeout(String),
    /// The key-value store failed or holds something unreadable.
    Storage(String),
    /// Another instance holds the refresh lease and did not finish in time.
    Busy,
}

impl Error {
    /// A caller mistake with a stable code and a human message.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            code,
            message: message.into(),
        }
    }

    /// A policy refusal with a stable code and a human message.
    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        Self::Refused {
            code,
            message: message.into(),
        }
    }

    /// True for WeChat's "this access_token is invalid or expired" family
    /// (40001, 42001, 40014): the token must be dropped and fetched anew.
    pub fn is_rejected_token(&self) -> bool {
        matches!(
            self,
            Self::Upstream {
                errcode: 40001 | 42001 | 40014,
                ..
            }
        )
    }

    /// True for errors only a human can fix (IP allow-list, bad AppID or
    /// AppSecret, daily quota): never retried automatically.
    pub fn needs_human(&self) -> bool {
        matches!(
            self,
            Self::Upstream {
                errcode: 40164 | 40125 | 40013 | 41004 | 45009,
                ..
            }
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidSignature => f.write_str("signature does not match"),
            Self::InvalidInput { message, .. } | Self::Refused { message, .. } => {
                f.write_str(message)
            }
            Self::Config(m) => write!(f, "configuration: {m}"),
            Self::Upstream { errcode, errmsg } => {
                write!(f, "WeChat answered errcode {errcode}: {errmsg}")
            }
            Self::BadAnswer(m) => write!(f, "unreadable answer from WeChat: {m}"),
            Self::Transport(m) => write!(f, "WeChat unreachable: {m}"),
            Self::Timeout(m) => write!(f, "WeChat too slow: {m}"),
            Self::Storage(m) => write!(f, "key-value store: {m}"),
            Self::Busy => f.write_str("the shared token is being refreshed; retry shortly"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(errcode: i64) -> Error {
        Error::Upstream {
            errcode,
            errmsg: String::new(),
        }
    }

    #[test]
    fn token_rejections_are_recognised() {
        for code in [40001, 42001, 40014] {
            assert!(upstream(code).is_rejected_token(), "{code}");
        }
        for code in [40029, 40164, 45009, 0, -1] {
            assert!(!upstream(code).is_rejected_token(), "{code}");
        }
        assert!(!Error::Busy.is_rejected_token());
    }

    #[test]
    fn credential_and_allow_list_errors_need_a_human() {
        for code in [40164, 40125, 40013] {
            assert!(upstream(code).needs_human(), "{code}");
        }
        assert!(!upstream(40001).needs_human());
        assert!(!upstream(-1).needs_human());
    }
}
