//! `GET /api/diagnose`: WeChat's own network checks, run now, each
//! reported on its own (one failing does not hide the others).

use crate::core::diagnose::{self, Check};
use crate::ports::Env;

use super::upstream::{call_parsed, with_access_token};

/// Runs the three checks with the cached token (fetched if need be).
pub fn run(env: &Env) -> Vec<Check> {
    let domain = with_access_token(env, |t| {
        call_parsed(env, &diagnose::api_domain_ip_request(&t.value), |s, b| {
            diagnose::parse_ip_list(
                "api_domain_ip",
                "addresses api.weixin.qq.com resolves to",
                s,
                b,
            )
        })
    })
    .unwrap_or_else(|e| Check::failed("api_domain_ip", &e));
    let callback = with_access_token(env, |t| {
        call_parsed(env, &diagnose::callback_ip_request(&t.value), |s, b| {
            diagnose::parse_ip_list(
                "callback_ip",
                "addresses WeChat pushes from (allow them through your firewall)",
                s,
                b,
            )
        })
    })
    .unwrap_or_else(|e| Check::failed("callback_ip", &e));
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
