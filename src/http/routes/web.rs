//! The browser side: `/wxmp.js` (classic script), `/wxmp.mjs` (ES module)
//! and, when `demo` is on, the demo page at `/` (and `/spa/…`, its routes).

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

/// `GET /wxmp.js`.
pub(crate) fn script(req: &Request, _env: &Env) -> Result<Response, ApiError> {
    Ok(cached(
        req,
        "text/javascript; charset=utf-8",
        SCRIPT.as_bytes().to_vec(),
    ))
}

/// `GET /wxmp.mjs`.
pub(crate) fn module(req: &Request, _env: &Env) -> Result<Response, ApiError> {
    Ok(cached(
        req,
        "text/javascript; charset=utf-8",
        format!("{SCRIPT}{MODULE_EXPORTS}").into_bytes(),
    ))
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
        Response {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            body,
        }
    };
    resp.with_header("cache-control", "public, max-age=3600")
        .with_header("etag", &etag)
}

/// The demo page when `demo` is on; 404 otherwise.
pub(crate) fn demo(_req: &Request, env: &Env) -> Result<Response, ApiError> {
    if !*need(env.config.demo())? {
        return Err(ApiError::not_found());
    }
    let script_url = need(env.config.jssdk_script_url())?;
    let page = DEMO.replace("__JWEIXIN_URL__", &html_attr(script_url.as_str()));
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
