//! `GET /oauth/login` and `GET /oauth/callback`: the browser half of web
//! OAuth. The flow logic is `flows::login`; this file speaks HTTP.

use crate::core::state::STATE_TTL_SECS;
use crate::flows::login::{self, CallbackOutcome};
use crate::http::cookies::Cookies;
use crate::http::{ApiError, Request, Response};
use crate::ports::Env;

/// 302 to WeChat's authorize URL, with a login cookie binding the state to
/// this browser (and the browser's stale login cookies cleared).
pub(crate) fn login(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let cookies = Cookies::of(env, req)?;
    let mine = req
        .cookies()
        .filter_map(|(name, value)| Some((cookies.login_tag(name)?, value)));
    let redirect = login::start(
        env,
        &req.prefix,
        req.query_param("return_to").as_deref(),
        req.query_param("scope").as_deref(),
        mine,
    )?;
    let (tag, value) = &redirect.cookie;
    let mut resp = Response::redirect(&redirect.location).with_header(
        "set-cookie",
        &cookies.set(
            &cookies.login_name(tag),
            value.secret(),
            Some(STATE_TTL_SECS),
        ),
    );
    for dropped in &redirect.dropped {
        resp = resp.with_header("set-cookie", &cookies.clear(&cookies.login_name(dropped)));
    }
    Ok(resp)
}

/// Checks the state, signs the user in and sends them back to return_to.
pub(crate) fn callback(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let cookies = Cookies::of(env, req)?;
    let done = login::finish(
        env,
        req.query_param("code").as_deref(),
        req.query_param("state").as_deref(),
        |tag| req.cookie(&cookies.login_name(tag)),
        req.cookie(&cookies.session_name()),
    )?;
    let used = cookies.clear(&cookies.login_name(&done.login_tag));
    Ok(match done.outcome {
        CallbackOutcome::SignedIn {
            location,
            session_cookie,
        } => Response::redirect(&location)
            .with_header(
                "set-cookie",
                &cookies.set(&cookies.session_name(), session_cookie.secret(), None),
            )
            .with_header("set-cookie", &used),
        CallbackOutcome::Failed { location } => {
            Response::redirect(&location).with_header("set-cookie", &used)
        }
    })
}
