//! The wasi:http entry point: incoming request → [`http::Request`] (limits
//! enforced while reading), [`http::handle`], [`http::Response`] → outgoing.

use spin_sdk::http::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};
use spin_sdk::http_component;
use wasi::io::streams::StreamError;

use wasi::clocks::monotonic_clock;
use wasi::io::poll;

use super::platform::with_env;
use super::streams::{self, WasiBody};
use crate::core::method::Method;
use crate::http::request_id::{self, RequestId};
use crate::http::response::After;
use crate::http::{self, limits, spin_headers, ApiError, Request, Response};
use crate::ports::StreamedBody;

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
    let after = write_response(out, response);
    if let Some(work) = after {
        with_env(|env| work.run(env));
    }
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
    let declared = limits::check_head(target.len(), counted).map_err(|e| (e, caller_id.clone()))?;
    let mut request = Request::new(method(incoming.method()), &target);
    request.headers = headers
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect();
    // Only POST routes read a body; a GET's (rare, meaningless) body is
    // left unread, which spares the host a stream and a poll per request.
    if matches!(request.method, Method::Get | Method::Head) {
        return Ok(request);
    }
    match declared {
        // Too long to read up front: only the gateway streams it on.
        Some(len) if len > limits::MAX_BODY_BYTES as u64 => {
            let unreadable =
                || ApiError::new(400, "invalid_body", "the request body could not be read");
            let body = incoming
                .consume()
                .map_err(|_| (unreadable(), caller_id.clone()))?;
            let deadline = streams::deadline_in(limits::STREAM_DEADLINE_MS);
            let stream = WasiBody::new(body, Box::new(incoming), deadline, len, "the upload")
                .map_err(|_| (unreadable(), caller_id))?;
            request.upload = Some(StreamedBody {
                len: Some(len),
                stream: Box::new(stream),
            });
        }
        _ => request.body = read_body(&incoming).map_err(|e| (e, caller_id))?,
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

/// Sends the answer; hands back the work left for after it.
fn write_response(out: ResponseOutparam, mut response: Response) -> Option<After> {
    let after = response.after.take();
    let mut headers: Vec<(String, Vec<u8>)> = response
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
        .collect();
    // Say the body's length when known, so the host frames it plainly
    // instead of chunked (no Content-Length on a 204 or 304).
    let length = match &response.streamed {
        Some(streamed) => streamed.len,
        None => Some(response.body.len() as u64),
    };
    if let (Some(length), false) = (length, matches!(response.status, 204 | 304)) {
        headers.push(("content-length".to_owned(), length.to_string().into_bytes()));
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
    let Ok(body) = outgoing.body() else {
        return after;
    };
    out.set(outgoing);
    let Ok(stream) = body.write() else {
        return after;
    };
    let written = match response.streamed {
        Some(streamed) => relay(&stream, streamed),
        // One host call per 4 KiB: most answers are one call.
        None => response
            .body
            .chunks(4096)
            .try_for_each(|chunk| stream.blocking_write_and_flush(chunk))
            .map_err(|e| crate::core::error::Error::Transport(format!("{e:?}"))),
    };
    drop(stream);
    // A body cut short is dropped unfinished: the host then tells the
    // client it broke off, instead of passing it off as complete.
    if written.is_ok() {
        let _ = OutgoingBody::finish(body, None);
    }
    after
}

/// Copies a streamed body to the client, piece by piece, within
/// [`limits::STREAM_DEADLINE_MS`].
fn relay(
    out: &wasi::io::streams::OutputStream,
    mut body: StreamedBody,
) -> Result<(), crate::core::error::Error> {
    let deadline = streams::deadline_in(limits::STREAM_DEADLINE_MS);
    while let Some(chunk) = body.stream.next_chunk()? {
        streams::write_all(out, &chunk, deadline)?;
    }
    Ok(())
}
