//! Calling WeChat's API: time limits, failover to `api_fallback_base` on
//! transport errors, one log line per call, and the retry-once rule for
//! rejected access tokens.

use crate::core::api::ApiRequest;
use crate::core::cache::Cached;
use crate::core::config::need;
use crate::core::error::Error;
use crate::core::types::AccessToken;
use crate::ports::{Env, OutboundRequest, OutboundResponse, Timeouts};

use super::credentials;

/// Limits for every WeChat API call; well inside WeChat's own 5 s push budget.
pub const API_TIMEOUTS: Timeouts = Timeouts {
    connect_ms: 2_000,
    first_byte_ms: 4_000,
    total_ms: 4_500,
};

/// Sends `req` to `api_base`, or to `api_fallback_base` when the first host
/// cannot be reached at all. Slow answers are not retried elsewhere: that
/// would double the wait.
pub fn call(env: &Env, req: &ApiRequest) -> Result<OutboundResponse, Error> {
    on_either_base(env, req.path, |base| send(env, base, req))
}

/// Runs `op` on `api_base`, then on `api_fallback_base` if the first could
/// not be reached at all (`what` names the call in the log line).
pub fn on_either_base<T>(
    env: &Env,
    what: &str,
    op: impl Fn(&url::Url) -> Result<T, Error>,
) -> Result<T, Error> {
    let base = need(env.config.api_base())?;
    match op(base) {
        Err(Error::Transport(reason)) => match need(env.config.api_fallback_base())? {
            Some(fallback) => {
                env.log.log(&format!(
                    "upstream {what} failed ({reason}); trying {}",
                    fallback.host_str().unwrap_or("fallback")
                ));
                op(fallback)
            }
            None => Err(Error::Transport(reason)),
        },
        other => other,
    }
}

/// [`call`], then `parse` the answer.
pub fn call_parsed<T>(
    env: &Env,
    req: &ApiRequest,
    parse: impl Fn(u16, &[u8]) -> Result<T, Error>,
) -> Result<T, Error> {
    let resp = call(env, req)?;
    parse(resp.status, &resp.body)
}

/// Runs `op` with the cached access token; when WeChat rejects the token
/// (40001, 42001, 40014) drops it (if still cached), gets a new one and
/// runs `op` once more.
pub fn with_access_token<T>(
    env: &Env,
    op: impl Fn(&Cached<AccessToken>) -> Result<T, Error>,
) -> Result<T, Error> {
    let token = credentials::access_token_entry(env)?;
    match op(&token) {
        Err(e) if e.is_rejected_token() => {
            env.log
                .log(&format!("access_token rejected ({e}); fetching a new one"));
            credentials::invalidate_access_token(env, token.value.secret())?;
            op(&credentials::access_token_entry(env)?)
        }
        other => other,
    }
}

fn send(env: &Env, base: &url::Url, req: &ApiRequest) -> Result<OutboundResponse, Error> {
    let mut headers = Vec::new();
    if req.json_body.is_some() {
        headers.push(("content-type".to_owned(), "application/json".to_owned()));
    }
    let outbound = OutboundRequest {
        method: req.method.clone(),
        url: req.url(base),
        headers,
        body: req.json_body.as_ref().map(|b| b.as_bytes().to_vec()),
        timeouts: API_TIMEOUTS,
    };
    let started = env.clock.now_ms();
    let result = env.http.send(&outbound);
    let took = env.clock.now_ms().saturating_sub(started);
    let refused = result
        .as_ref()
        .ok()
        .and_then(|r| upstream_error_of(&r.body));
    let outcome = match (&result, &refused) {
        (Ok(r), Some((errcode, errmsg))) => {
            format!("status={} errcode={errcode} errmsg={errmsg:?}", r.status)
        }
        (Ok(r), None) => format!("status={} errcode=0", r.status),
        (Err(e), _) => format!("error=\"{e}\""),
    };
    env.log.log(&format!(
        "upstream {} {}{} {outcome} {took}ms",
        req.method.as_str(),
        host_of(base),
        req.path
    ));
    if let Some((errcode, errmsg)) = refused {
        super::allow_list::note_answer(env, errcode, &errmsg);
    }
    result
}

/// `host[:port]` of `base`, for log lines.
pub fn host_of(base: &url::Url) -> String {
    match base.port() {
        Some(p) => format!("{}:{p}", base.host_str().unwrap_or_default()),
        None => base.host_str().unwrap_or_default().to_owned(),
    }
}

/// The answer's non-zero errcode and its errmsg, for the log.
fn upstream_error_of(body: &[u8]) -> Option<(i64, String)> {
    let value = serde_json::from_slice::<serde_json::Value>(body).ok()?;
    match crate::core::api::upstream_error(&value)? {
        Error::Upstream { errcode, errmsg } => Some((errcode, errmsg)),
        _ => None,
    }
}
