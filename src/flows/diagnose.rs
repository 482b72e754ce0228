//! `GET /api/diagnose`: WeChat's own network checks, run now, each
//! reported on its own (one failing does not hide the others).

use crate::core::api::ApiRequest;
use crate::core::diagnose::{self, Check};
use crate::core::types::AccessToken;
use crate::ports::Env;

use super::upstream::{call_parsed, with_access_token};

/// Runs the three checks with the cached token (fetched if need be).
pub fn run(env: &Env) -> Vec<Check> {
    let domain = ip_list(
        env,
        "api_domain_ip",
        "addresses api.weixin.qq.com resolves to",
        diagnose::api_domain_ip_request,
    );
    let callback = ip_list(
        env,
        "callback_ip",
        "addresses WeChat pushes from (allow them through your firewall)",
        diagnose::callback_ip_request,
    );
    let check = with_access_token(env, |t| {
        call_parsed(
            env,
            &diagnose::callback_check_request(&t.value),
            diagnose::parse_callback_check,
        )
    })
    .unwrap_or_else(|e| Check::failed("callback_check", &e));
    vec![domain, callback, check]
}

/// One of WeChat's IP-list checks, `name` reporting `what` the list is.
fn ip_list(
    env: &Env,
    name: &'static str,
    what: &str,
    request: fn(&AccessToken) -> ApiRequest,
) -> Check {
    with_access_token(env, |t| {
        call_parsed(env, &request(&t.value), |s, b| {
            diagnose::parse_ip_list(name, what, s, b)
        })
    })
    .unwrap_or_else(|e| Check::failed(name, &e))
}
