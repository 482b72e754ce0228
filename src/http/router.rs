//! Which route answers which method and path. Unknown paths are 404, known
//! paths with the wrong method 405 with `Allow`.

use super::error::ApiError;
use super::request::Request;
use super::request_id::{self, RequestId, Tagged};
use super::response::{After, Response};
use super::routes;
use crate::core::domain_check;
use crate::core::method::Method::{Get, Post};
use crate::ports::{Env, Logger};

/// A route's handler.
type Handler = fn(&Request, &Env) -> Result<Response, ApiError>;

/// Answers one request; every failure becomes its JSON error response.
/// The answer carries the request id, and every line logged while handling
/// it starts with the id — WeChat's `errmsg` goes there, not to the caller.
/// Routes see the path below the request's mount prefix.
pub fn handle(mut req: Request, env: &Env) -> Response {
    let headers = req.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let id = RequestId::for_request(headers, env);
    let log = Tagged {
        id: &id,
        inner: env.log,
    };
    let env = Env { log: &log, ..*env };
    let (method, path) = (req.method.clone(), req.path.clone());
    let response = mount(&mut req, &env)
        .and_then(|()| dispatch(req, &env))
        .unwrap_or_else(|e| {
            if let Some((errcode, errmsg)) = &e.upstream {
                log.log(&format!(
                    "{method} {path} answered {} {}: WeChat errcode={errcode} errmsg={errmsg:?}",
                    e.status, e.code
                ));
            }
            e.into_response()
        });
    let mut response = response.with_header(request_id::HEADER, id.as_str());
    // Work after the answer still logs under the request's id.
    if let Some(work) = response.after.take() {
        response.after = Some(After::new(move |env: &Env| {
            let log = Tagged {
                id: &id,
                inner: env.log,
            };
            work.run(&Env { log: &log, ..*env });
        }));
    }
    response
}

/// Sets the request's mount prefix and its path below it; a path outside
/// the mount is nobody's route here.
fn mount(req: &mut Request, env: &Env) -> Result<(), ApiError> {
    // WeChat's domain check file lives at the domain root, whatever the mount.
    if domain_check::is_check_path(&req.path) {
        req.route = req.path.clone();
        return Ok(());
    }
    let (prefix, below) = super::mount::resolve(&req.path, &req.headers, env);
    req.prefix = prefix;
    req.route = below.ok_or_else(ApiError::not_found)?;
    Ok(())
}

/// The gateway takes the request whole (its upload streams on); the other
/// routes borrow it, and refuse a body that was too long to read.
fn dispatch(req: Request, env: &Env) -> Result<Response, ApiError> {
    if req.route.starts_with(routes::gateway::API_PREFIX) {
        return routes::gateway::call(req, env);
    }
    if req.upload.is_some() {
        return Err(super::limits::body_too_large());
    }
    route(&req, env)
}

fn route(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let (allow, handler): (&'static str, Option<Handler>) = match (req.route.as_str(), &req.method)
    {
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
        ("/api/token/invalidate", Post) => ("POST", Some(routes::gateway::invalidate)),
        ("/api/template/send", Post) => ("POST", Some(routes::gateway::template_send)),
        ("/api/custom/send", Post) => ("POST", Some(routes::gateway::custom_send)),
        ("/api/qrcode", Post) => ("POST", Some(routes::gateway::qrcode)),
        (
            "/api/token/invalidate" | "/api/template/send" | "/api/custom/send" | "/api/qrcode",
            _,
        ) => ("POST", None),
        ("/api/status", Get) => ("GET", Some(routes::status::status)),
        ("/api/diagnose", Get) => ("GET", Some(routes::status::diagnose)),
        ("/api/status" | "/api/diagnose", _) => ("GET", None),
        ("/api/demo/status", Get) => ("GET", Some(routes::status::demo_status)),
        ("/api/demo/status", _) => ("GET", None),
        ("/api/demo/token-check", Post) => ("POST", Some(routes::status::demo_token_check)),
        ("/api/demo/token-check", _) => ("POST", None),
        ("/healthz", Get) => ("GET", Some(routes::health::healthz)),
        ("/healthz", _) => ("GET", None),
        ("/wxmp.js", Get) => ("GET", Some(routes::web::script)),
        ("/wxmp.mjs", Get) => ("GET", Some(routes::web::module)),
        ("/wxmp.js" | "/wxmp.mjs", _) => ("GET", None),
        (p, Get) if p == "/" || p.starts_with("/spa/") => ("GET", Some(routes::web::demo)),
        (p, Get) if domain_check::is_check_path(p) => ("GET", Some(routes::web::domain_check)),
        _ => return Err(ApiError::not_found()),
    };
    match handler {
        Some(h) => h(req, env),
        None => Err(ApiError::method_not_allowed(allow)),
    }
}
