//! The request id that joins an answer to its log lines: the caller's
//! `x-request-id` when it is sane (a host or proxy in front usually sets
//! one), otherwise a random one. Every answer carries it, and every line a
//! request logs starts with it, so WeChat's `errmsg` — which stays in the
//! log — can be found from a 502 a user reports.

use std::fmt;

use crate::ports::{Env, Logger};

/// The header carrying it, both ways.
pub const HEADER: &str = "x-request-id";
/// The longest id taken from a caller.
const MAX_LEN: usize = 64;

/// One request's id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// The caller's id if it is 1 to 64 characters of `[A-Za-z0-9._-]`.
    pub fn sane(value: &str) -> Option<Self> {
        let ok = !value.is_empty()
            && value.len() <= MAX_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        ok.then(|| Self(value.to_owned()))
    }

    /// A fresh id from 8 random bytes (16 hex digits).
    pub fn random(bytes: [u8; 8]) -> Self {
        Self(hex::encode(bytes))
    }

    /// The caller's sane id among `headers`, or a fresh one from `env`.
    pub fn for_request<'a>(
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
        env: &Env,
    ) -> Self {
        headers
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(HEADER))
            .and_then(|(_, v)| Self::sane(v.trim()))
            .unwrap_or_else(|| Self::random(env.random()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A logger that starts every line with the request id.
pub struct Tagged<'a> {
    /// The id.
    pub id: &'a RequestId,
    /// Where the lines go.
    pub inner: &'a dyn Logger,
}

impl Logger for Tagged<'_> {
    fn log(&self, line: &str) {
        self.inner.log(&format!("request_id={} {line}", self.id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_ids_are_taken() {
        for ok in ["a", "req-1.2_3", &"x".repeat(64)] {
            assert_eq!(RequestId::sane(ok).map(|r| r.0), Some(ok.to_owned()));
        }
        for bad in ["", "a b", "a\nb", "<script>", "x;y", &"x".repeat(65), "中"] {
            assert_eq!(RequestId::sane(bad), None, "{bad:?}");
        }
        assert_eq!(RequestId::random([0xab; 8]).as_str(), "abababababababab");
    }
}
