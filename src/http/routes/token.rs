//! `GET /api/token`: the central-control answer for the account's other
//! backends, behind `Authorization: Bearer {admin_key}`.

use serde_json::json;

use crate::core::config::need;
use crate::core::gateway::Caller;
use crate::flows::credentials;
use crate::http::{ApiError, Request, Response};
use crate::ports::Env;

/// The cached access token and its remaining seconds.
pub(crate) fn access_token(req: &Request, env: &Env) -> Result<Response, ApiError> {
    if need(env.config.admin_key())?.is_none() {
        return Err(ApiError::not_found());
    }
    if super::gateway::caller(req, env)? != Caller::Admin {
        return Err(ApiError::new(
            403,
            "forbidden",
            "only admin_key may read the token; named clients call WeChat through /api/wechat/",
        ));
    }
    let (token, remaining) = credentials::access_token(env)?;
    Ok(Response::json(
        200,
        &json!({ "access_token": token.secret(), "expires_in": remaining }),
    ))
}
