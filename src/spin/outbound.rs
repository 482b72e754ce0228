//! The outbound HTTP port on `wasi:http/outgoing-handler@0.2.0`, with
//! connect and first-byte timeouts passed to the host and a total deadline
//! enforced here, so a slow upstream can never hold a request past it.
//! Bodies pass through in pieces: an upload is written as it is read, an
//! answer handed back unread.

use super::streams::{self, WasiBody, MS};
use crate::core::error::Error;
use crate::ports::{
    HttpClient, OutboundRequest, OutboundResponse, PendingResponse, StreamedBody, StreamedResponse,
};
use spin_sdk::wit::wasi::http0_2_0::outgoing_handler;
use spin_sdk::wit::wasi::http0_2_0::types::{
    ErrorCode, Fields, FutureIncomingResponse, Method, OutgoingBody, OutgoingRequest,
    RequestOptions, Scheme,
};
use wasi::clocks::monotonic_clock;
use wasi::io::poll;

/// Largest response body [`HttpClient::send`] reads.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Largest answer [`HttpClient::send_streamed`] relays: WeChat's media limit.
const MAX_STREAMED_BYTES: u64 = crate::core::gateway::MAX_UPLOAD_BYTES;
/// The answer headers passed on; the rest (cookies, servers' own) stay here.
const KEPT_HEADERS: [&str; 2] = ["content-type", "content-disposition"];

/// Outbound HTTP through the host's wasi:http implementation.
pub(crate) struct WasiHttp;

impl HttpClient for WasiHttp {
    fn send(&self, r: &OutboundRequest) -> Result<OutboundResponse, Error> {
        let upload = r.body.clone().map(StreamedBody::from_bytes);
        read_whole(exchange(r, upload, u64::MAX)?)
    }

    fn start(&self, r: &OutboundRequest) -> Box<dyn PendingResponse> {
        let upload = r.body.clone().map(StreamedBody::from_bytes);
        Box::new(Pending {
            sent: begin(r, upload).map_err(Some),
        })
    }

    fn send_streamed(
        &self,
        r: &OutboundRequest,
        upload: Option<StreamedBody>,
    ) -> Result<StreamedResponse, Error> {
        let answer = exchange(r, upload, MAX_STREAMED_BYTES)?;
        if answer.body.len.is_some_and(|n| n > MAX_STREAMED_BYTES) {
            return Err(Error::BadAnswer(format!(
                "answer over {MAX_STREAMED_BYTES} bytes"
            )));
        }
        Ok(answer)
    }
}

/// Sends `r` with `upload` as its body, waits for the answer's head and
/// hands back its body unread (at most `max` bytes of it), all within
/// `r.timeouts.total_ms`.
fn exchange(
    r: &OutboundRequest,
    upload: Option<StreamedBody>,
    max: u64,
) -> Result<StreamedResponse, Error> {
    let mut sent = begin(r, upload)?;
    loop {
        if let Some(answer) = sent.answer(max)? {
            return Ok(answer);
        }
        let timer = monotonic_clock::subscribe_instant(sent.deadline);
        if poll::poll(&[&sent.pending.subscribe(), &timer]).contains(&1) {
            return Err(sent.timeout());
        }
    }
}

/// A request sent (body written), its answer still to come.
struct Sent {
    pending: FutureIncomingResponse,
    deadline: monotonic_clock::Instant,
    total_ms: u64,
    /// How writing the body went: told once the answer says why it failed.
    written: Result<(), Error>,
}

impl Sent {
    fn timeout(&self) -> Error {
        Error::Timeout(format!("no complete answer within {} ms", self.total_ms))
    }

    /// The answer's head, if it has come, with its body unread.
    fn answer(&mut self, max: u64) -> Result<Option<StreamedResponse>, Error> {
        let Some(result) = self.pending.get() else {
            return Ok(None);
        };
        let response = result
            .map_err(|_| Error::Transport("response already taken".into()))?
            .map_err(error_code);
        let written = std::mem::replace(&mut self.written, Ok(()));
        // A write that broke on the upstream side (the host denied the
        // request, the server answered early — a 413, a refusal — and
        // closed) says less than the answer or the answer's error. A failure
        // of our own (the caller's upload, a deadline) is the reason itself.
        let response = match (response, written) {
            (_, Err(e)) if !matches!(e, Error::Transport(_)) => return Err(e),
            (Ok(response), _) => response,
            (Err(e), _) => return Err(e),
        };
        let status = response.status();
        let (mut kept, mut len) = (Vec::new(), None);
        for (name, value) in response.headers().entries() {
            let name = name.to_ascii_lowercase();
            let Ok(value) = String::from_utf8(value) else {
                continue;
            };
            if name == "content-length" {
                len = value.trim().parse::<u64>().ok();
            } else if KEPT_HEADERS.contains(&name.as_str()) {
                kept.push((name, value));
            }
        }
        let incoming = response
            .consume()
            .map_err(|_| Error::Transport("response body unavailable".into()))?;
        let stream = WasiBody::new(
            incoming,
            Box::new(response),
            self.deadline,
            max,
            "the answer",
        )?;
        Ok(Some(StreamedResponse {
            status,
            headers: kept,
            body: StreamedBody {
                len,
                stream: Box::new(stream),
            },
        }))
    }
}

/// A request whose answer is waited for in steps ([`HttpClient::start`]).
struct Pending {
    sent: Result<Sent, Option<Error>>,
}

impl PendingResponse for Pending {
    fn wait_until(&mut self, until_ms: u64) -> Option<Result<OutboundResponse, Error>> {
        let sent = match &mut self.sent {
            Ok(sent) => sent,
            Err(e) => return e.take().map(Err),
        };
        let now_ms = wall_clock_ms();
        let wait = monotonic_clock::subscribe_duration(until_ms.saturating_sub(now_ms) * MS);
        loop {
            match sent.answer(u64::MAX) {
                Err(e) => return Some(Err(e)),
                Ok(Some(answer)) => return Some(read_whole(answer)),
                Ok(None) => {}
            }
            let timer = monotonic_clock::subscribe_instant(sent.deadline);
            let ready = poll::poll(&[&sent.pending.subscribe(), &timer, &wait]);
            if ready.contains(&1) {
                return Some(Err(sent.timeout()));
            }
            if ready.contains(&2) && !sent.pending.subscribe().ready() {
                return None;
            }
        }
    }
}

fn wall_clock_ms() -> u64 {
    let now = wasi::clocks::wall_clock::now();
    now.seconds * 1000 + u64::from(now.nanoseconds / 1_000_000)
}

/// The answer with its body read, within [`MAX_RESPONSE_BYTES`].
fn read_whole(answer: StreamedResponse) -> Result<OutboundResponse, Error> {
    let too_long = || Error::BadAnswer(format!("answer over {MAX_RESPONSE_BYTES} bytes"));
    if answer
        .body
        .len
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(too_long());
    }
    let body = answer.body.read_all(MAX_RESPONSE_BYTES, too_long)?;
    Ok(OutboundResponse {
        status: answer.status,
        headers: answer.headers,
        body,
    })
}

/// Builds and sends the request and writes its body; the answer is left
/// to come.
fn begin(r: &OutboundRequest, upload: Option<StreamedBody>) -> Result<Sent, Error> {
    let deadline = streams::deadline_in(r.timeouts.total_ms);
    let url =
        url::Url::parse(&r.url).map_err(|e| Error::Transport(format!("bad upstream URL: {e}")))?;

    let mut headers: Vec<(String, Vec<u8>)> = r
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
        .collect();
    // A known length instead of chunked encoding: some webhooks insist.
    if let Some(len) = upload.as_ref().and_then(|u| u.len) {
        headers.push(("content-length".into(), len.to_string().into_bytes()));
    }
    let fields =
        Fields::from_list(&headers).map_err(|e| Error::Transport(format!("bad header: {e:?}")))?;
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
    let written = write_body(&body, upload, deadline)
        .and_then(|()| OutgoingBody::finish(body, None).map_err(error_code));
    Ok(Sent {
        pending,
        deadline,
        total_ms: r.timeouts.total_ms,
        written,
    })
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

/// Writes the upload, if any, piece by piece as it arrives.
fn write_body(
    body: &OutgoingBody,
    upload: Option<StreamedBody>,
    deadline: monotonic_clock::Instant,
) -> Result<(), Error> {
    let Some(mut upload) = upload else {
        return Ok(());
    };
    let stream = body
        .write()
        .map_err(|_| Error::Transport("request body stream unavailable".into()))?;
    while let Some(chunk) = upload.stream.next_chunk()? {
        streams::write_all(&stream, &chunk, deadline)?;
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
