//! The typed helpers for what backends send most — template messages,
//! customer-service messages, parametric QR codes: checked here, then sent
//! through the gateway like any other call (same token, retry and log).

use crate::core::config::need;
use crate::core::custom::CustomMessage;
use crate::core::error::Error;
use crate::core::gateway::{ApiPath, Caller};
use crate::core::method::Method;
use crate::core::qrcode::{self, QrCode, QrRequest};
use crate::core::template::{self, Sent, TemplateMessage};
use crate::ports::Env;

use super::gateway::{self, AnswerBody, Call, CallBody};

/// Sends a template message; WeChat's message id comes back.
pub fn template(env: &Env, caller: &Caller, message: &TemplateMessage) -> Result<Sent, Error> {
    let (path, body) = message.to_call()?;
    let (status, answer) = post_json(env, caller, path, body)?;
    template::parse_sent(status, &answer)
}

/// Sends a customer-service message (within WeChat's 48-hour window).
pub fn custom(env: &Env, caller: &Caller, message: &CustomMessage) -> Result<(), Error> {
    let (path, body) = message.to_call()?;
    let (status, answer) = post_json(env, caller, path, body)?;
    crate::core::api::parse_answer::<serde::de::IgnoredAny>(status, &answer).map(|_| ())
}

/// Creates a parametric QR code.
pub fn qrcode(env: &Env, caller: &Caller, request: &QrRequest) -> Result<QrCode, Error> {
    let (path, body) = request.to_call()?;
    let (status, answer) = post_json(env, caller, path, body)?;
    let image_base = qrcode::image_base(need(env.config.api_base())?);
    qrcode::parse_created(status, &answer, &image_base)
}

/// POSTs a checked JSON body for `caller`, if it may call `path`.
fn post_json(
    env: &Env,
    caller: &Caller,
    path: ApiPath,
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>), Error> {
    if !caller.may_call(&path) {
        return Err(forbidden(&path));
    }
    let call = Call {
        method: Method::Post,
        path,
        query: String::new(),
        content_type: Some("application/json".to_owned()),
        body: CallBody::Whole(body),
    };
    let answer = gateway::call(env, caller.name(), call)?;
    match answer.body {
        AnswerBody::Whole(bytes) => Ok((answer.status, bytes)),
        AnswerBody::Streamed(_) => Err(Error::BadAnswer(format!(
            "HTTP {} with a {} body",
            answer.status,
            answer.content_type().unwrap_or("non-JSON")
        ))),
    }
}

/// The refusal for a client calling outside its prefixes.
pub fn forbidden(path: &ApiPath) -> Error {
    Error::refused(
        "forbidden_path",
        format!(
            "this client may not call {}; see its allow list in api_clients",
            path.as_str()
        ),
    )
}
