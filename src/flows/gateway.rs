//! The API gateway: WeChat called on behalf of the account's other backends
//! with the cached access_token, which they never see. A call whose body is
//! in memory is retried once when WeChat rejects the token; a streamed one
//! (a media upload) cannot be replayed, so it only drops the token for the
//! next caller.

use crate::core::cache::Cached;
use crate::core::error::Error;
use crate::core::gateway::{self, ApiPath, MAX_READ_ANSWER};
use crate::core::method::Method;
use crate::core::types::AccessToken;
use crate::ports::{Env, OutboundRequest, StreamedBody, StreamedResponse, Timeouts};

use super::credentials;
use super::upstream::{host_of, on_either_base};

/// Limits for a gateway call: media take longer than token fetches.
pub const GATEWAY_TIMEOUTS: Timeouts = Timeouts {
    connect_ms: 2_000,
    first_byte_ms: 10_000,
    total_ms: gateway::STREAM_DEADLINE_MS,
};

/// One call through the gateway.
#[derive(Debug)]
pub struct Call {
    /// Passed on as is.
    pub method: Method,
    /// Below `api_base`, already checked.
    pub path: ApiPath,
    /// The caller's raw query (its `access_token`, if any, is dropped).
    pub query: String,
    /// Passed on as is.
    pub content_type: Option<String>,
    /// The body.
    pub body: CallBody,
}

/// A call's body: in memory (and so retryable), or streamed.
#[derive(Debug)]
pub enum CallBody {
    /// Read whole (JSON, small uploads).
    Whole(Vec<u8>),
    /// Passed on as it arrives (media uploads); never retried.
    Streamed(StreamedBody),
}

/// WeChat's answer, passed back as it came.
#[derive(Debug)]
pub struct Answer {
    /// WeChat's status.
    pub status: u16,
    /// WeChat's content type and disposition.
    pub headers: Vec<(String, String)>,
    /// Read whole when JSON or text (to look for an errcode), else relayed.
    pub body: AnswerBody,
    /// WeChat's non-zero errcode, when the answer is a JSON error.
    pub errcode: Option<i64>,
}

/// An answer's body.
#[derive(Debug)]
pub enum AnswerBody {
    /// JSON or text, read whole.
    Whole(Vec<u8>),
    /// Anything else (images, media), still to be read.
    Streamed(StreamedBody),
}

impl Answer {
    /// WeChat's content type, if it sent one.
    pub fn content_type(&self) -> Option<&str> {
        content_type(&self.headers)
    }
}

/// Calls WeChat for `caller` (its name goes to the log line, with the
/// path, status and errcode — never the query, the body or the token).
pub fn call(env: &Env, caller: &str, call: Call) -> Result<Answer, Error> {
    let started = env.clock.now_ms();
    let Call {
        method,
        path,
        query,
        content_type,
        body,
    } = call;
    let head = Head {
        method: &method,
        path: &path,
        query: &query,
        content_type: content_type.as_deref(),
    };
    let result = match body {
        CallBody::Whole(body) => call_whole(env, &head, &body),
        CallBody::Streamed(upload) => call_streamed(env, &head, upload),
    };
    let took = env.clock.now_ms().saturating_sub(started);
    let outcome = match &result {
        Ok(a) => match a.errcode {
            Some(code) => format!("status={} errcode={code}", a.status),
            None if matches!(a.body, AnswerBody::Whole(_)) => {
                format!("status={} errcode=0", a.status)
            }
            None => format!("status={} errcode=-", a.status),
        },
        Err(e) => format!("error=\"{e}\""),
    };
    env.log.log(&format!(
        "gateway client={caller} {} {} {outcome} {took}ms",
        method.as_str(),
        path.as_str()
    ));
    result
}

/// What is sent, apart from the body and the token.
struct Head<'a> {
    method: &'a Method,
    path: &'a ApiPath,
    query: &'a str,
    content_type: Option<&'a str>,
}

/// A body in memory: sent, and sent once more with a fresh token if WeChat
/// rejected this one.
fn call_whole(env: &Env, head: &Head, body: &[u8]) -> Result<Answer, Error> {
    let send_with = |token: &Cached<AccessToken>| {
        on_either_base(env, head.path.as_str(), |base| {
            let upload = StreamedBody::from_bytes(body.to_vec());
            send(env, base, head, token, Some(upload))
        })
    };
    let token = credentials::access_token_entry(env)?;
    let answer = send_with(&token)?;
    if !answer_rejects_token(&answer) {
        return Ok(answer);
    }
    env.log.log(&format!(
        "gateway: WeChat rejected the access_token (errcode={}); fetching a new one and retrying once",
        answer.errcode.unwrap_or_default()
    ));
    credentials::invalidate_access_token(env, token.value.secret())?;
    send_with(&credentials::access_token_entry(env)?)
}

/// A streamed body: sent once. A rejected token is still dropped, so the
/// caller's retry (and everyone else) gets a fresh one.
fn call_streamed(env: &Env, head: &Head, upload: StreamedBody) -> Result<Answer, Error> {
    let token = credentials::access_token_entry(env)?;
    let base = crate::core::config::need(env.config.api_base())?;
    let answer = send(env, base, head, &token, Some(upload))?;
    if answer_rejects_token(&answer) {
        env.log.log(&format!(
            "gateway: WeChat rejected the access_token (errcode={}) on a streamed call, which is not retried",
            answer.errcode.unwrap_or_default()
        ));
        credentials::invalidate_access_token(env, token.value.secret())?;
    }
    Ok(answer)
}

fn answer_rejects_token(answer: &Answer) -> bool {
    gateway::rejects_token(answer.errcode)
}

fn send(
    env: &Env,
    base: &url::Url,
    head: &Head,
    token: &Cached<AccessToken>,
    upload: Option<StreamedBody>,
) -> Result<Answer, Error> {
    let mut headers = Vec::new();
    if let Some(ct) = head.content_type {
        headers.push(("content-type".to_owned(), ct.to_owned()));
    }
    let request = OutboundRequest {
        method: head.method.clone(),
        url: gateway::api_url(
            base,
            head.path,
            &gateway::forward_query(head.query, &token.value),
        ),
        headers,
        body: None,
        timeouts: GATEWAY_TIMEOUTS,
    };
    let answer = env.http.send_streamed(&request, upload).map_err(|e| {
        env.log.log(&format!(
            "gateway {} {}/{} failed: {e}",
            head.method.as_str(),
            host_of(base),
            head.path.as_str()
        ));
        e
    })?;
    let answer = settle(answer)?;
    if let (Some(errcode), AnswerBody::Whole(body)) = (answer.errcode, &answer.body) {
        super::allow_list::note_answer(env, errcode, &gateway::errmsg_of(body));
    }
    Ok(answer)
}

/// Reads JSON and text answers whole (to find an errcode); leaves the rest
/// to be relayed.
fn settle(answer: StreamedResponse) -> Result<Answer, Error> {
    let StreamedResponse {
        status,
        headers,
        body,
    } = answer;
    let ct = content_type(&headers);
    if !gateway::is_json(ct) || body.len.is_some_and(|n| n > MAX_READ_ANSWER) {
        return Ok(Answer {
            status,
            headers,
            body: AnswerBody::Streamed(body),
            errcode: None,
        });
    }
    let too_long = || Error::BadAnswer(format!("a JSON answer over {MAX_READ_ANSWER} bytes"));
    let bytes = body.read_all(MAX_READ_ANSWER as usize, too_long)?;
    let errcode = gateway::errcode_of(ct, &bytes);
    Ok(Answer {
        status,
        headers,
        body: AnswerBody::Whole(bytes),
        errcode,
    })
}

fn content_type(headers: &[(String, String)]) -> Option<&str> {
    headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.as_str())
}
