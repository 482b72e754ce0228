//! `GET /wx`: WeChat's server URL verification. The echostr goes back as
//! plain text, also in safe mode, once the signature checks out.

use super::required;
use crate::core::config::need;
use crate::core::verify;
use crate::http::{ApiError, Request, Response};
use crate::ports::Env;

/// Echoes `echostr` when `signature` matches the server Token.
pub(crate) fn server_verification(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let token = need(env.config.token())?;
    let signature = required(req, "signature")?;
    let timestamp = required(req, "timestamp")?;
    let nonce = required(req, "nonce")?;
    let echostr = required(req, "echostr")?;
    verify::check_server_signature(token, &signature, &timestamp, &nonce)?;
    Ok(Response::text(200, echostr))
}
