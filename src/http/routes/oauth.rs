//! `GET /oauth/login` and `GET /oauth/callback`: the browser half of web
//! OAuth. The flow logic is `flows::login`; this file speaks HTTP.

use crate::http::cookies::{secure, set_cookie, CookieAttrs, LOGIN_COOKIE, SESSION_COOKIE};
use crate::core::state::STATE_TTL_SECS;
use crate::flows::login::{self, CallbackOutcome};
use crate::http::{ApiError, Request, Response};
use crate::ports::Env;

/// 302 to WeChat's authorize URL, binding the state to this browser.
pub fn login(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let redirect = login::start(
        env,
        req.query_param("return_to").as_deref(),
        req.query_param("scope").as_deref(),
        req.cookie(LOGIN_COOKIE),
    )?;
    let binder = set_cookie(
        LOGIN_COOKIE,
        &redirect.binder,
        CookieAttrs {
            secure: secure(env)?,
            max_age: Some(STATE_TTL_SECS),
        },
    );
    Ok(Response::redirect(&redirect.location).with_header("set-cookie", &binder))
}

/// Checks the state, signs the user in and sends them back to return_to.
pub fn callback(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let outcome = login::finish(
        env,
        req.query_param("code").as_deref(),
        req.query_param("state").as_deref(),
        req.cookie(LOGIN_COOKIE),
        req.cookie(SESSION_COOKIE),
    )?;
    Ok(match outcome {
        CallbackOutcome::SignedIn {
            location,
            session_cookie,
        } => {
            let cookie = set_cookie(
                SESSION_COOKIE,
                &session_cookie,
                CookieAttrs {
                    secure: secure(env)?,
                    max_age: None,
                },
            );
            Response::redirect(&location).with_header("set-cookie", &cookie)
        }
        CallbackOutcome::Failed { location } => Response::redirect(&location),
    })
}
