//! `GET /api/me` and `POST /api/logout`: the session as the frontend sees it.

use url::Url;

use crate::core::config::need;
use crate::core::origin::{AllowedOrigins, Origin};
use crate::flows::session;
use crate::http::cookies::Cookies;
use crate::http::{ApiError, Request, Response};
use crate::ports::Env;

/// The profile stored at login, or `401 no_session`.
pub(crate) fn me(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let cookies = Cookies::of(env, req)?;
    match session::current(env, req.cookie(&cookies.session_name()))? {
        Some(record) => Ok(Response::json(200, &record.profile)),
        None => Err(ApiError::new(401, "no_session", "not logged in")
            .with_header("www-authenticate", "Cookie")),
    }
}

/// Ends the session; only from a page on an allowed origin (no cross-site logout).
pub(crate) fn logout(req: &Request, env: &Env) -> Result<Response, ApiError> {
    if !same_origin(req, need(env.config.allowed_origins())?) {
        return Err(ApiError::new(
            403,
            "cross_origin",
            "logout must come from a page on an allowed origin",
        ));
    }
    let cookies = Cookies::of(env, req)?;
    session::end(env, req.cookie(&cookies.session_name()))?;
    Ok(Response::empty(204)
        .with_header("set-cookie", &cookies.clear(&cookies.session_name()))
        .with_header("cache-control", "no-store"))
}

/// The request's `Origin` (or, without one, its `Referer`'s origin) is allowed.
fn same_origin(req: &Request, allowed: &AllowedOrigins) -> bool {
    let origin = match req.header("origin") {
        Some(o) => Origin::parse(o).ok(),
        None => req
            .header("referer")
            .and_then(|r| Url::parse(r).ok())
            .and_then(|u| Origin::of(&u)),
    };
    origin.is_some_and(|o| allowed.contains(&o))
}
