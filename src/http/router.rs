//! Which route answers which method and path. Unknown paths are 404, known
//! paths with the wrong method 405 with `Allow`.

use super::error::ApiError;
use super::request::Request;
use super::response::Response;
use super::routes;
use crate::core::method::Method::{Get, Post};
use crate::ports::Env;

/// A route's handler.
type Handler = fn(&Request, &Env) -> Result<Response, ApiError>;

/// Answers one request; every failure becomes its JSON error response.
pub fn handle(req: &Request, env: &Env) -> Response {
    route(req, env).unwrap_or_else(ApiError::into_response)
}

fn route(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let (allow, handler): (&'static str, Option<Handler>) = match (req.path.as_str(), &req.method) {
        ("/wx", Get) => ("GET, POST", Some(routes::verify::server_verification)),
        ("/wx", Post) => ("GET, POST", Some(routes::messages::push)),
        ("/wx", _) => ("GET, POST", None),
        ("/oauth/login", Get) => ("GET", Some(routes::oauth::login)),
        ("/oauth/callback", Get) => ("GET", Some(routes::oauth::callback)),
        ("/oauth/login" | "/oauth/callback", _) => ("GET", None),
        ("/api/me", Get) => ("GET", Some(routes::session::me)),
        ("/api/me", _) => ("GET", None),
        ("/api/logout", Post) => ("POST", Some(routes::session::logout)),
        ("/api/logout", _) => ("POST", None),
        ("/jssdk/config", Get | Post) => ("GET, POST", Some(routes::jssdk::config)),
        ("/jssdk/config", _) => ("GET, POST", None),
        ("/api/token", Get) => ("GET", Some(routes::token::access_token)),
        ("/api/token", _) => ("GET", None),
        ("/healthz", Get) => ("GET", Some(routes::health::healthz)),
        ("/healthz", _) => ("GET", None),
        ("/wxmp.js", Get) => ("GET", Some(routes::web::script)),
        ("/wxmp.mjs", Get) => ("GET", Some(routes::web::module)),
        ("/wxmp.js" | "/wxmp.mjs", _) => ("GET", None),
        (p, Get) if p == "/" || p.starts_with("/spa/") => ("GET", Some(routes::web::demo)),
        _ => return Err(ApiError::not_found()),
    };
    match handler {
        Some(h) => h(req, env),
        None => Err(ApiError::method_not_allowed(allow)),
    }
}
