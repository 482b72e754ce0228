//! Fault injection: what the next calls to an endpoint should suffer, and
//! WeChat's errmsg for each errcode the simulator answers.

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
        /// The errmsg (a WeChat-like default when absent; for 40164 the
        /// same caller-naming text as [`Fault::IpNotAllowed`]).
        #[serde(default)]
        errmsg: Option<String>,
    },
    /// Answer as WeChat's IP allow-list does when the caller's address is
    /// not on it: errcode 40164, the errmsg naming the caller's IP.
    IpNotAllowed,
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
        SimResponse::error(
            errcode,
            errmsg.as_deref().unwrap_or(default_errmsg(errcode)),
        )
    }
}

/// WeChat's errmsg for `errcode` (without the ` rid: …` suffix real answers
/// carry), so injected faults and the model's own answers read alike.
pub(crate) fn default_errmsg(errcode: i64) -> &'static str {
    match errcode {
        -1 => "system error",
        40001 => "invalid credential, access_token is invalid or not latest",
        40002 => "invalid grant_type",
        40003 => "invalid openid",
        40004 => "invalid media type",
        40005 => "invalid file type",
        40006 => "invalid file size",
        40007 => "invalid media_id",
        40008 => "invalid message type",
        40013 => "invalid appid",
        40014 => "invalid access_token",
        40029 => "invalid code",
        40030 => "invalid refresh_token",
        40037 => "invalid template_id",
        40052 => "invalid action name",
        40053 => "invalid action info",
        40097 => "invalid args",
        40125 => "invalid appsecret",
        40163 => "code been used",
        40164 => "invalid ip, not in whitelist",
        40202 => "invalid action",
        40203 => "invalid check_operator",
        41005 => "media data missing",
        42001 => "access_token expired",
        43002 => "require POST method",
        43004 => "require subscribe",
        45001 => "media size out of limit",
        45008 => "article size out of limit",
        45009 => "reach max api daily quota limit",
        45015 => "response out of time limit or subscription is canceled",
        45047 => "out of response count limit",
        47001 => "data format error",
        48001 => "api unauthorized",
        _ => "simulated error",
    }
}
