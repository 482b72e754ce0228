//! Fault injection: what the next calls to an endpoint should suffer.

use serde::Deserialize;

use super::request::SimResponse;

/// One injected fault, consumed by one call.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer WeChat's error shape with this errcode.
    Errcode {
        /// The errcode.
        errcode: i64,
        /// The errmsg (a WeChat-like default when absent).
        #[serde(default)]
        errmsg: Option<String>,
    },
    /// Answer normally, but only after this many milliseconds.
    Delay {
        /// Milliseconds.
        ms: u64,
    },
    /// Answer with this HTTP status and an HTML body.
    Status {
        /// The status (e.g. 502).
        status: u16,
    },
    /// Close the connection without answering.
    Drop,
}

impl Fault {
    /// The response for an errcode fault.
    pub(crate) fn errcode_response(errcode: i64, errmsg: &Option<String>) -> SimResponse {
        let default = match errcode {
            -1 => "system error",
            40001 => "invalid credential, access_token is invalid or not latest",
            40013 => "invalid appid",
            40014 => "invalid access_token",
            40029 => "invalid code",
            40125 => "invalid appsecret",
            40163 => "code been used",
            40164 => "invalid ip, not in whitelist",
            42001 => "access_token expired",
            45009 => "reach max api daily quota limit",
            48001 => "api unauthorized",
            _ => "simulated error",
        };
        SimResponse::error(errcode, errmsg.as_deref().unwrap_or(default))
    }
}
