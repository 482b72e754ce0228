//! The browser side: `/wxmp.js` (classic script), `/wxmp.mjs` (ES module)
//! and, when `demo` is on, the demo page at `/` (and `/spa/…`, its routes);
//! each knows the mount it is served from. Also WeChat's domain check file.

use sha1::{Digest, Sha1};

use crate::core::config::need;
use crate::http::{ApiError, Request, Response};
use crate::ports::Env;

/// The helper, kept in the repository as `web/wxmp.js`.
const SCRIPT: &str = include_str!("../../../web/wxmp.js");
/// The same code as an ES module.
const MODULE_EXPORTS: &str = "\nexport default globalThis.wxmp;\nexport const { init, login, me, logout, loginError, snapshotUser, signingUrl, configure } = globalThis.wxmp;\n";
/// The demo page, `web/demo.html`.
const DEMO: &str = include_str!("../../../web/demo.html");

/// The line of `web/wxmp.js` that holds its mount prefix.
const BASE_LINE: &str = "  var base = '';";

/// The helper with the request's mount prefix as its base.
fn script_for(req: &Request) -> String {
    // A prefix is `/segment…` of URL-safe characters: nothing to escape.
    SCRIPT.replacen(
        BASE_LINE,
        &format!("  var base = '{}';", req.prefix.as_str()),
        1,
    )
}

/// `GET /wxmp.js`.
pub(crate) fn script(req: &Request, _env: &Env) -> Result<Response, ApiError> {
    Ok(cached(
        req,
        "text/javascript; charset=utf-8",
        script_for(req).into_bytes(),
    ))
}

/// `GET /wxmp.mjs`.
pub(crate) fn module(req: &Request, _env: &Env) -> Result<Response, ApiError> {
    Ok(cached(
        req,
        "text/javascript; charset=utf-8",
        format!("{}{MODULE_EXPORTS}", script_for(req)).into_bytes(),
    ))
}

/// `GET /MP_verify_<code>.txt`: WeChat's domain check file when
/// `domain_verify_file` names this one; 404 for any other.
pub(crate) fn domain_check(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let content = need(env.config.domain_verify_file())?
        .as_ref()
        .and_then(|file| file.serves(&req.path))
        .ok_or_else(ApiError::not_found)?;
    Ok(Response::text(200, content.to_owned()).with_header("cache-control", "no-store"))
}

/// Cacheable for an hour, revalidated by ETag (the content's hash).
fn cached(req: &Request, content_type: &str, body: Vec<u8>) -> Response {
    let etag = format!("\"{}\"", &hex::encode(Sha1::digest(&body))[..16]);
    let fresh = req
        .header("if-none-match")
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let resp = if fresh {
        Response::empty(304)
    } else {
        Response::empty(200)
            .with_header("content-type", content_type)
            .with_body(body)
    };
    resp.with_header("cache-control", "public, max-age=3600")
        .with_header("etag", &etag)
}

/// The demo page when `demo` is on; 404 otherwise.
pub(crate) fn demo(req: &Request, env: &Env) -> Result<Response, ApiError> {
    if !*need(env.config.demo())? {
        return Err(ApiError::not_found());
    }
    let script_url = need(env.config.jssdk_script_url())?;
    let page = DEMO
        .replace("__JWEIXIN_URL__", &html_attr(script_url.as_str()))
        .replace("__BASE__", req.prefix.as_str());
    Ok(Response::text(200, page)
        .with_header("cache-control", "no-store")
        .with_header("content-security-policy", "frame-ancestors 'none'")
        .with_header("x-frame-options", "DENY")
        .html())
}

fn html_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}
