//! `GET /api/token`: the central-control answer for the account's other
//! backends, behind `Authorization: Bearer {admin_key}`.

use serde_json::json;

use crate::core::config::need;
use crate::core::mac;
use crate::flows::credentials;
use crate::http::{ApiError, Request, Response};
use crate::ports::Env;

/// The cached access token and its remaining seconds.
pub(crate) fn access_token(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let Some(admin_key) = need(env.config.admin_key())? else {
        return Err(ApiError::not_found());
    };
    let presented = req
        .header("authorization")
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim());
    if !presented.is_some_and(|key| mac::equal(key.as_bytes(), admin_key.secret().as_bytes())) {
        return Err(
            ApiError::new(401, "unauthorized", "a valid Bearer admin key is required")
                .with_header("www-authenticate", "Bearer"),
        );
    }
    let (token, remaining) = credentials::access_token(env)?;
    Ok(Response::json(
        200,
        &json!({ "access_token": token.secret(), "expires_in": remaining }),
    ))
}
