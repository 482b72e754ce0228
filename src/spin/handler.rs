//! The wasi:http entry point: incoming request → [`http::Request`] (limits
//! enforced while reading), [`http::handle`], [`http::Response`] → outgoing.

use spin_sdk::http::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};
use spin_sdk::http_component;
use wasi::io::streams::StreamError;

use wasi::clocks::monotonic_clock;
use wasi::io::poll;

use super::platform::with_env;
use crate::core::method::Method;
use crate::http::request_id::{self, RequestId};
use crate::http::{self, limits, spin_headers, ApiError, Request, Response};

#[http_component]
async fn handle(incoming: IncomingRequest, out: ResponseOutparam) {
    let response = match read_request(incoming) {
        Ok(request) => with_env(|env| http::handle(request, env)),
        Err((e, caller_id)) => with_env(|env| {
            let id = caller_id.unwrap_or_else(|| RequestId::random(env.random()));
            e.into_response()
                .with_header(request_id::HEADER, id.as_str())
        }),
    };
    write_response(out, response);
}

/// A refusal before the router, and the caller's request id if it sent one.
type Refusal = (ApiError, Option<RequestId>);

fn read_request(incoming: IncomingRequest) -> Result<Request, Refusal> {
    let target = incoming.path_with_query().unwrap_or_else(|| "/".into());
    let headers: Vec<(String, Vec<u8>)> = incoming
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let caller_id = headers
        .iter()
        .find(|(k, _)| k == request_id::HEADER)
        .and_then(|(_, v)| RequestId::sane(std::str::from_utf8(v).ok()?.trim()));
    // Only the values Spin itself appended are exempt from the limits; a
    // client's own `spin-*` headers count like any other.
    let host_set = spin_headers::host_set(headers.iter().map(|(k, _)| k.as_str()));
    let counted = headers
        .iter()
        .zip(&host_set)
        .filter(|(_, host)| !**host)
        .map(|((k, v), _)| (k.as_str(), v.as_slice()));
    limits::check_head(target.len(), counted).map_err(|e| (e, caller_id.clone()))?;
    let mut request = Request::new(method(incoming.method()), &target);
    request.headers = headers
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect();
    // Only POST routes read a body; a GET's (rare, meaningless) body is
    // left unread, which spares the host a stream and a poll per request.
    if !matches!(request.method, Method::Get | Method::Head) {
        request.body = read_body(&incoming).map_err(|e| (e, caller_id))?;
    }
    Ok(request)
}

/// wasi:http's method as wxmp's.
fn method(m: spin_sdk::http::Method) -> Method {
    use spin_sdk::http::Method as Wasi;
    match m {
        Wasi::Get => Method::Get,
        Wasi::Head => Method::Head,
        Wasi::Post => Method::Post,
        Wasi::Put => Method::Put,
        Wasi::Delete => Method::Delete,
        Wasi::Options => Method::Options,
        Wasi::Patch => Method::Patch,
        Wasi::Connect => Method::Other("CONNECT".into()),
        Wasi::Trace => Method::Other("TRACE".into()),
        Wasi::Other(m) => Method::Other(m),
    }
}

/// Reads the body within [`limits::MAX_BODY_BYTES`] and before
/// [`limits::BODY_DEADLINE_MS`]: a client that trickles its body holds this
/// instance no longer than that, under any host.
fn read_body(incoming: &IncomingRequest) -> Result<Vec<u8>, ApiError> {
    let unreadable = || ApiError::new(400, "invalid_body", "the request body could not be read");
    let body = incoming.consume().map_err(|_| unreadable())?;
    let stream = body.stream().map_err(|_| unreadable())?;
    let deadline = monotonic_clock::subscribe_duration(limits::BODY_DEADLINE_MS * 1_000_000);
    let mut out = Vec::new();
    loop {
        match stream.read(16 * 1024) {
            Ok(chunk) if chunk.is_empty() => {
                if poll::poll(&[&stream.subscribe(), &deadline]).contains(&1) {
                    return Err(limits::body_too_slow());
                }
            }
            Ok(chunk) => {
                out.extend_from_slice(&chunk);
                if out.len() > limits::MAX_BODY_BYTES {
                    return Err(limits::body_too_large());
                }
            }
            Err(StreamError::Closed) => return Ok(out),
            Err(StreamError::LastOperationFailed(_)) => return Err(unreadable()),
        }
    }
}

fn write_response(out: ResponseOutparam, response: Response) {
    let mut headers: Vec<(String, Vec<u8>)> = response
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
        .collect();
    // The whole body is known: say its length, so the host frames it
    // plainly instead of chunked (no Content-Length on a 204 or 304).
    if !matches!(response.status, 204 | 304) {
        let length = response.body.len().to_string().into_bytes();
        headers.push(("content-length".to_owned(), length));
    }
    // All at once (one host call); should the host refuse one (hop-by-hop
    // headers are forbidden in wasi:http), one by one, so only that one is lost.
    let fields = Fields::from_list(&headers).unwrap_or_else(|_| {
        let fields = Fields::new();
        for (name, value) in &headers {
            let _ = fields.append(name, value);
        }
        fields
    });
    let outgoing = OutgoingResponse::new(fields);
    let _ = outgoing.set_status_code(response.status);
    let Ok(body) = outgoing.body() else { return };
    out.set(outgoing);
    if let Ok(stream) = body.write() {
        for chunk in response.body.chunks(4096) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                break;
            }
        }
    }
    let _ = OutgoingBody::finish(body, None);
}
