//! The outbound HTTP port on `wasi:http/outgoing-handler@0.2.0`, with
//! connect and first-byte timeouts passed to the host and a total deadline
//! enforced here, so a slow upstream can never hold a request past it.

use crate::core::error::Error;
use crate::ports::{HttpClient, OutboundRequest, OutboundResponse};
use spin_sdk::wit::wasi::http0_2_0::outgoing_handler;
use spin_sdk::wit::wasi::http0_2_0::types::{
    ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use wasi::clocks::monotonic_clock;
use wasi::io::poll;
use wasi::io::streams::StreamError;

/// Largest response body accepted from upstream.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
const MS: u64 = 1_000_000;

/// Outbound HTTP through the host's wasi:http implementation.
pub(crate) struct WasiHttp;

impl HttpClient for WasiHttp {
    fn send(&self, r: &OutboundRequest) -> Result<OutboundResponse, Error> {
        let deadline = monotonic_clock::subscribe_duration(r.timeouts.total_ms * MS);
        let timeout = || {
            Error::Timeout(format!(
                "no complete answer within {} ms",
                r.timeouts.total_ms
            ))
        };
        let url = url::Url::parse(&r.url)
            .map_err(|e| Error::Transport(format!("bad upstream URL: {e}")))?;

        let mut headers: Vec<(String, Vec<u8>)> = r
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
            .collect();
        // A known length instead of chunked encoding: some webhooks insist.
        if let Some(body) = &r.body {
            headers.push(("content-length".into(), body.len().to_string().into_bytes()));
        }
        let fields = Fields::from_list(&headers)
            .map_err(|e| Error::Transport(format!("bad header: {e:?}")))?;
        let request = OutgoingRequest::new(fields);
        let method = wasi_method(&r.method);
        let scheme = if url.scheme() == "https" {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let authority = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let set = request.set_method(&method).is_ok()
            && request.set_scheme(Some(&scheme)).is_ok()
            && request.set_authority(Some(&authority)).is_ok()
            && request.set_path_with_query(Some(&path)).is_ok();
        if !set {
            return Err(Error::Transport("the host refused the request line".into()));
        }
        let body = request
            .body()
            .map_err(|_| Error::Transport("request body unavailable".into()))?;

        let options = RequestOptions::new();
        let _ = options.set_connect_timeout(Some(r.timeouts.connect_ms * MS));
        let _ = options.set_first_byte_timeout(Some(r.timeouts.first_byte_ms * MS));
        let _ = options.set_between_bytes_timeout(Some(r.timeouts.first_byte_ms * MS));
        let pending = outgoing_handler::handle(request, Some(options)).map_err(error_code)?;

        // A refused or failed request closes the body stream; its real
        // reason arrives on the response future, so a write error waits.
        let written = write_body(&body, r.body.as_deref());
        let finished = OutgoingBody::finish(body, None);

        let response = loop {
            if let Some(result) = pending.get() {
                break result
                    .map_err(|_| Error::Transport("response already taken".into()))?
                    .map_err(error_code)?;
            }
            if poll::poll(&[&pending.subscribe(), &deadline]).contains(&1) {
                return Err(timeout());
            }
        };
        written?;
        finished.map_err(error_code)?;
        let status = response.status();
        let incoming = response
            .consume()
            .map_err(|_| Error::Transport("response body unavailable".into()))?;
        let stream = incoming
            .stream()
            .map_err(|_| Error::Transport("response body stream unavailable".into()))?;
        let mut out = Vec::new();
        loop {
            match stream.read(64 * 1024) {
                Ok(chunk) if chunk.is_empty() => {
                    if poll::poll(&[&stream.subscribe(), &deadline]).contains(&1) {
                        return Err(timeout());
                    }
                }
                Ok(chunk) => {
                    out.extend_from_slice(&chunk);
                    if out.len() > MAX_RESPONSE_BYTES {
                        return Err(Error::BadAnswer(format!(
                            "answer over {MAX_RESPONSE_BYTES} bytes"
                        )));
                    }
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(Error::Transport(format!(
                        "reading answer: {}",
                        e.to_debug_string()
                    )))
                }
            }
        }
        Ok(OutboundResponse { status, body: out })
    }
}

/// wxmp's method as wasi:http's.
fn wasi_method(m: &crate::core::method::Method) -> Method {
    use crate::core::method::Method as Wxmp;
    match m {
        Wxmp::Get => Method::Get,
        Wxmp::Head => Method::Head,
        Wxmp::Post => Method::Post,
        Wxmp::Put => Method::Put,
        Wxmp::Delete => Method::Delete,
        Wxmp::Options => Method::Options,
        Wxmp::Patch => Method::Patch,
        Wxmp::Other(other) => Method::Other(other.clone()),
    }
}

fn write_body(body: &OutgoingBody, bytes: Option<&[u8]>) -> Result<(), Error> {
    let Some(bytes) = bytes else { return Ok(()) };
    let stream = body
        .write()
        .map_err(|_| Error::Transport("request body stream unavailable".into()))?;
    for chunk in bytes.chunks(4096) {
        stream
            .blocking_write_and_flush(chunk)
            .map_err(|e| Error::Transport(format!("writing request body: {e:?}")))?;
    }
    Ok(())
}

fn error_code(e: ErrorCode) -> Error {
    match e {
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout => Error::Timeout(format!("{e:?}")),
        ErrorCode::HttpRequestDenied => {
            Error::Transport("the host denied this outbound host (allowed_outbound_hosts)".into())
        }
        other => Error::Transport(format!("{other:?}")),
    }
}
