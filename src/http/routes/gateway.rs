//! The routes for the account's other backends, behind `Authorization:
//! Bearer` (`admin_key`, or a named client's key from `api_clients`):
//! `/api/wechat/{path}` (any WeChat API, the token added here), the typed
//! `POST /api/template/send`, `/api/custom/send`, `/api/qrcode`, and
//! `POST /api/token/invalidate`.

use serde::de::DeserializeOwned;
use serde_json::json;

use crate::core::config::need;
use crate::core::error::Error;
use crate::core::gateway::{self, ApiClients, ApiPath, Caller, MAX_JSON_BODY, MAX_UPLOAD_BYTES};
use crate::flows::gateway::{AnswerBody, Call, CallBody};
use crate::flows::{credentials, send};
use crate::http::{ApiError, Request, Response};
use crate::ports::Env;

/// Where the gateway's API paths start, below the mount.
pub(crate) const API_PREFIX: &str = "/api/wechat/";

/// Who is calling: 404 when no backend key is configured at all (the
/// routes do not exist then), 401 without a known key. A malformed
/// `api_clients` leaves the admin key working; other callers get its
/// `500 config` (naming a client, never a key).
pub(crate) fn caller<'a>(req: &Request, env: &Env<'a>) -> Result<Caller<'a>, ApiError> {
    let admin = need(env.config.admin_key())?.as_ref();
    let presented = req.header("authorization");
    let clients = match need(env.config.api_clients()) {
        Ok(clients) => clients,
        Err(broken) => {
            let no_clients = ApiClients::default();
            return match gateway::authenticate(presented, admin, &no_clients) {
                Some(_) => Ok(Caller::Admin),
                None => Err(broken.into()),
            };
        }
    };
    if admin.is_none() && clients.iter().next().is_none() {
        return Err(ApiError::not_found());
    }
    gateway::authenticate(presented, admin, clients).ok_or_else(|| {
        ApiError::new(
            401,
            "unauthorized",
            "a valid Bearer key (admin_key or an api_clients key) is required",
        )
        .with_header("www-authenticate", "Bearer")
    })
}

/// `/api/wechat/{path}`: WeChat's answer to the same call, as it came.
pub(crate) fn call(mut req: Request, env: &Env) -> Result<Response, ApiError> {
    let caller = caller(&req, env)?;
    let path = ApiPath::parse(&req.route[API_PREFIX.len()..])?;
    if !caller.may_call(&path) {
        return Err(send::forbidden(&path).into());
    }
    let content_type = req.header("content-type").map(str::to_owned);
    let body = match req.upload.take() {
        None => CallBody::Whole(std::mem::take(&mut req.body)),
        // JSON is read whole, so it can be retried with a fresh token.
        Some(upload) if gateway::is_json(content_type.as_deref()) => {
            if upload.len.is_some_and(|n| n > MAX_JSON_BODY as u64) {
                return Err(json_too_large());
            }
            CallBody::Whole(
                upload
                    .read_all(MAX_JSON_BODY, || Error::invalid("payload_too_large", ""))
                    .map_err(|e| match e {
                        Error::InvalidInput { .. } => json_too_large(),
                        other => ApiError::new(
                            400,
                            "invalid_body",
                            format!("the request body could not be read: {other}"),
                        ),
                    })?,
            )
        }
        Some(upload) => CallBody::Streamed(upload),
    };
    let call = Call {
        method: req.method.clone(),
        path,
        query: std::mem::take(&mut req.query),
        content_type,
        body,
    };
    let answer = crate::flows::gateway::call(env, caller.name(), call)?;
    let mut response = match answer.body {
        AnswerBody::Whole(bytes) => Response::empty(answer.status).with_body(bytes),
        AnswerBody::Streamed(body) => Response::empty(answer.status).with_stream(body),
    };
    for (name, value) in &answer.headers {
        response = response.with_header(name, value);
    }
    Ok(response.with_header("cache-control", "no-store"))
}

fn json_too_large() -> ApiError {
    ApiError::new(
        413,
        "payload_too_large",
        format!("a JSON body may be at most {MAX_JSON_BODY} bytes (media uploads, as multipart, up to {MAX_UPLOAD_BYTES})"),
    )
}

/// `POST /api/template/send`: `{"touser", "template_id", "data", …}` →
/// `{"msgid"}`.
pub(crate) fn template_send(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let caller = caller(req, env)?;
    let sent = send::template(env, &caller, &json_body(req)?)?;
    Ok(Response::json(
        200,
        &json!({ "msgid": sent.msgid.to_string() }),
    ))
}

/// `POST /api/custom/send`: `{"touser", "msgtype", …}` → `204`.
pub(crate) fn custom_send(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let caller = caller(req, env)?;
    send::custom(env, &caller, &json_body(req)?)?;
    Ok(Response::empty(204).with_header("cache-control", "no-store"))
}

/// `POST /api/qrcode`: `{"scene", "permanent"?, "expire_seconds"?}` →
/// `{"ticket", "expire_seconds", "url", "image_url"}`.
pub(crate) fn qrcode(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let caller = caller(req, env)?;
    let code = send::qrcode(env, &caller, &json_body(req)?)?;
    Ok(Response::json(200, &code))
}

/// `POST /api/token/invalidate {"access_token"}`: for backends that hold
/// the token from `/api/token` and saw WeChat reject it. Drops it only if
/// it is still the cached one, so a stale report cannot throw away a fresh
/// token. Admin only, like `/api/token`.
pub(crate) fn invalidate(req: &Request, env: &Env) -> Result<Response, ApiError> {
    if caller(req, env)? != Caller::Admin {
        return Err(ApiError::new(
            403,
            "forbidden",
            "only admin_key may invalidate the token",
        ));
    }
    // A `Value`, not a struct: one field does not need its own deserialiser.
    let body: serde_json::Value = json_body(req)?;
    let access_token = match (
        body.get("access_token").and_then(|t| t.as_str()),
        body.as_object().map(|o| o.len()),
    ) {
        (Some(token), Some(1)) => token,
        _ => {
            return Err(ApiError::new(
                400,
                "invalid_json",
                "expected {\"access_token\": \"…\"}",
            ))
        }
    };
    let invalidated = credentials::invalidate_access_token(env, access_token)?;
    Ok(Response::json(200, &json!({ "invalidated": invalidated })))
}

/// The body as `T`, or `400 invalid_json` saying what was expected.
fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::new(400, "invalid_json", format!("the body does not fit: {e}")))
}
