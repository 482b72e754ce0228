//! `POST /wx`: message and event push in plaintext, compat and safe mode.
//! The flow is `flows::messages`; this file speaks HTTP.

use super::required;
use crate::core::messages::PushQuery;
use crate::flows::messages;
use crate::http::response::After;
use crate::http::{ApiError, Request, Response};
use crate::ports::Env;

/// Answers WeChat's push with `success` or a passive reply.
pub(crate) fn push(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let query = PushQuery {
        signature: required(req, "signature")?,
        timestamp: required(req, "timestamp")?,
        nonce: required(req, "nonce")?,
        encrypt_type: req.query_param("encrypt_type"),
        msg_signature: req.query_param("msg_signature"),
    };
    let (answer, late) = messages::handle(env, &query, &req.body)?;
    let response = if answer.is_xml {
        Response::xml(200, answer.body)
    } else {
        Response::text(200, answer.body)
    };
    Ok(match late {
        Some(late) => response.then(After::new(move |env| messages::deliver_late(env, late))),
        None => response,
    })
}
