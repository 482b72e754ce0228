//! The hook every outgoing wasi-http request goes through: it enforces the
//! component's `allowed_outbound_hosts` (the pure policy lives in
//! [`crate::outbound`]), logs the call, sends it with wasi-http's default
//! client, and — when the request line or the metrics want it — records
//! how it ended: status, WeChat's `errcode` and latency.
//!
//! The errcode is read from the first [`PEEK_BYTES`] of a JSON answer as
//! it streams to the guest: nothing is buffered beyond that, so media
//! passing through the gateway costs no memory here.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use wasmtime_wasi_http::WasiHttpHooks;

use crate::log::Log;
use crate::metrics::OutboundTable;
use crate::outbound::OutboundPolicy;
use crate::trace::{Call, Outcome, Trace};

/// How much of a JSON answer is kept to find its `errcode`.
pub(crate) const PEEK_BYTES: usize = 2048;

/// The outbound hook: checks the allow-list, logs, then sends.
pub(crate) struct OutboundHooks {
    policy: Arc<OutboundPolicy>,
    log: Log,
    record: Option<Recorder>,
}

/// Where a finished call goes: the request's trace (for its line) and the
/// outbound metrics, either or both.
#[derive(Clone)]
pub(crate) struct Recorder {
    /// The request's trace.
    pub(crate) trace: Option<Arc<Trace>>,
    /// The metrics' outbound table.
    pub(crate) metrics: Option<Arc<OutboundTable>>,
}

impl Recorder {
    fn record(&self, call: Call) {
        if let Some(m) = &self.metrics {
            m.record(&call.host, call.outcome, call.errcode, call.took);
        }
        if let Some(t) = &self.trace {
            t.record(call);
        }
    }
}

impl OutboundHooks {
    /// A hook enforcing `policy`, logging to `log`, recording calls to
    /// `record` (when `None`, answers pass through untouched).
    pub(crate) fn new(policy: Arc<OutboundPolicy>, log: Log, record: Option<Recorder>) -> Self {
        Self {
            policy,
            log,
            record,
        }
    }
}

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<wasmtime_wasi_http::WasiBody>,
    Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

/// `host:port` of `uri` (the port defaulted by scheme; never userinfo).
fn host_port(uri: &http::Uri) -> String {
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("http") {
            80
        } else {
            443
        });
    format!("{}:{port}", uri.host().unwrap_or(""))
}

/// A call on its way: what its line needs, and whether it was recorded.
struct Pending {
    recorder: Recorder,
    call: Option<Call>,
    started: Instant,
}

impl Pending {
    fn finish(&mut self, outcome: Outcome, errcode: Option<i64>) {
        if let Some(mut call) = self.call.take() {
            call.outcome = outcome;
            call.errcode = errcode;
            call.took = self.started.elapsed();
            self.recorder.record(call);
        }
    }
}

impl Drop for Pending {
    /// A call dropped before it ended: the component gave up on it.
    fn drop(&mut self) {
        self.finish(Outcome::Cancelled, None);
    }
}

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn std::future::Future<Output = SendResult> + Send> {
        let target = format!(
            "{} {}://{}{}",
            request.method(),
            request.uri().scheme_str().unwrap_or("https"),
            request.uri().host().unwrap_or(""),
            request
                .uri()
                .port()
                .map_or(String::new(), |p| format!(":{p}"))
                + request.uri().path()
        );
        let pending = self.record.clone().map(|recorder| Pending {
            recorder,
            call: Some(Call {
                method: request.method().clone(),
                host: host_port(request.uri()),
                path: request.uri().path().to_owned(),
                outcome: Outcome::Failed,
                errcode: None,
                took: Duration::ZERO,
            }),
            started: Instant::now(),
        });
        if !self.policy.allows(request.uri()) {
            self.log.warn(&format!(
                "outbound {target} refused: not in allowed_outbound_hosts"
            ));
            if let Some(mut p) = pending {
                p.finish(Outcome::Refused, None);
            }
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let log = self.log.clone();
        drop(fut);
        Box::new(async move {
            let mut pending = pending;
            let started = Instant::now();
            let result = wasmtime_wasi_http::default_send_request(request, options).await;
            let took = started.elapsed();
            match &result {
                Ok((res, _)) => log.debug(&format!(
                    "outbound {target} {} {:.1}ms",
                    res.status().as_u16(),
                    took.as_secs_f64() * 1000.0
                )),
                Err(e) => log.info(&format!(
                    "outbound {target} failed: {e} {:.1}ms",
                    took.as_secs_f64() * 1000.0
                )),
            }
            let (res, io) = match result {
                Ok(ok) => ok,
                Err(e) => {
                    if let Some(p) = pending.as_mut() {
                        p.finish(Outcome::Failed, None);
                    }
                    return Err(e);
                }
            };
            let res = match pending {
                None => res.map(BodyExt::boxed_unsync),
                Some(pending) => {
                    let status = res.status().as_u16();
                    let json = json_candidate(res.headers());
                    res.map(|body| {
                        Peek::new(body.boxed_unsync(), pending, status, json).boxed_unsync()
                    })
                }
            };
            Ok((
                res,
                Box::new(io) as Box<dyn std::future::Future<Output = _> + Send>,
            ))
        })
    }
}

/// Whether an answer may be WeChat JSON: JSON or text content types, or
/// none (WeChat labels some JSON answers `text/plain`); never media.
fn json_candidate(headers: &http::HeaderMap) -> bool {
    match headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        None => true,
        Some(ct) => {
            let ct = ct.to_ascii_lowercase();
            ct.contains("json") || ct.starts_with("text/")
        }
    }
}

/// What the first bytes said.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sniff {
    /// Only whitespace so far.
    Unknown,
    /// Starts with `{`: kept up to [`PEEK_BYTES`].
    Json,
    /// Anything else: passed through untouched.
    Other,
}

/// An answer's body on its way to the guest, its first bytes peeked at;
/// the call is recorded when the body ends, fails or is dropped.
struct Peek<B> {
    inner: B,
    pending: Pending,
    status: u16,
    sniff: Sniff,
    head: Vec<u8>,
    /// More than `head` arrived.
    truncated: bool,
}

impl<B> Peek<B> {
    fn new(inner: B, pending: Pending, status: u16, json: bool) -> Self {
        Self {
            inner,
            pending,
            status,
            sniff: if json { Sniff::Unknown } else { Sniff::Other },
            head: Vec::new(),
            truncated: false,
        }
    }

    fn take(&mut self, data: &[u8]) {
        if self.sniff == Sniff::Unknown {
            match data.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'{') => self.sniff = Sniff::Json,
                Some(_) => self.sniff = Sniff::Other,
                None => return,
            }
        }
        if self.sniff == Sniff::Json {
            let room = PEEK_BYTES - self.head.len();
            if self.head.is_empty() {
                self.head.reserve_exact(PEEK_BYTES.min(data.len().max(256)));
            }
            self.head.extend_from_slice(&data[..data.len().min(room)]);
            self.truncated |= data.len() > room;
        }
    }

    fn finish(&mut self) {
        let errcode = match self.sniff {
            Sniff::Json => Some(errcode(&self.head, self.truncated)),
            _ => None,
        };
        self.pending.finish(Outcome::Status(self.status), errcode);
        self.head = Vec::new();
    }
}

impl<B> Drop for Peek<B> {
    fn drop(&mut self) {
        if self.pending.call.is_some() {
            self.finish();
        }
    }
}

impl<B> Body for Peek<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    if self.sniff != Sniff::Other {
                        self.take(data);
                    }
                }
                if self.inner.is_end_stream() && self.pending.call.is_some() {
                    self.finish();
                }
            }
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => {
                if self.pending.call.is_some() {
                    self.finish();
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// WeChat's errcode in a JSON answer's first bytes: the `errcode` member
/// when the whole answer is there, else the first `"errcode":` number in
/// what is; `0` when there is none (WeChat's successes often carry none).
fn errcode(head: &[u8], truncated: bool) -> i64 {
    #[derive(serde::Deserialize)]
    struct Answer {
        errcode: Option<i64>,
    }
    if !truncated {
        if let Ok(a) = serde_json::from_slice::<Answer>(head) {
            return a.errcode.unwrap_or(0);
        }
    }
    scan_errcode(head).unwrap_or(0)
}

/// The number after the first `"errcode"` and its colon.
fn scan_errcode(head: &[u8]) -> Option<i64> {
    let key = b"\"errcode\"";
    let at = head.windows(key.len()).position(|w| w == key)? + key.len();
    let rest = &head[at..];
    let rest = &rest[rest.iter().position(|b| !b.is_ascii_whitespace())?..];
    let rest = rest.strip_prefix(b":")?;
    let start = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &rest[start..];
    let len = rest
        .iter()
        .enumerate()
        .take_while(|(i, b)| b.is_ascii_digit() || (*i == 0 && **b == b'-'))
        .count();
    std::str::from_utf8(&rest[..len]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errcodes_are_read_from_whole_and_cut_answers() {
        assert_eq!(
            errcode(br#"{"errcode":40001,"errmsg":"invalid credential"}"#, false),
            40001
        );
        assert_eq!(
            errcode(br#"{"errcode":-1,"errmsg":"system error"}"#, false),
            -1
        );
        assert_eq!(
            errcode(
                br#"{"access_token":"ACCESS_TOKEN_1","expires_in":7200}"#,
                false
            ),
            0
        );
        assert_eq!(
            errcode(
                br#"{"errcode" : 45009 , "errmsg":"reach max api daily quota limit"#,
                true
            ),
            45009
        );
        assert_eq!(
            errcode(br#"{"total":2,"data":{"openid":["o1","o2"#, true),
            0
        );
        assert_eq!(scan_errcode(br#"{"errcode":"#), None);
    }

    #[test]
    fn hosts_carry_a_port_and_never_userinfo() {
        let uri: http::Uri = "https://user:pw@api.weixin.qq.com/cgi-bin/token?x=1"
            .parse()
            .unwrap();
        assert_eq!(host_port(&uri), "api.weixin.qq.com:443");
        let uri: http::Uri = "http://127.0.0.1:8090/hook".parse().unwrap();
        assert_eq!(host_port(&uri), "127.0.0.1:8090");
    }

    fn recorder() -> (Recorder, Arc<Trace>, Arc<OutboundTable>) {
        let trace = Arc::new(Trace::default());
        let table = Arc::new(OutboundTable::default());
        let r = Recorder {
            trace: Some(trace.clone()),
            metrics: Some(table.clone()),
        };
        (r, trace, table)
    }

    fn pending(recorder: Recorder) -> Pending {
        Pending {
            recorder,
            call: Some(Call {
                method: http::Method::GET,
                host: "h:443".into(),
                path: "/cgi-bin/x".into(),
                outcome: Outcome::Failed,
                errcode: None,
                took: Duration::ZERO,
            }),
            started: Instant::now(),
        }
    }

    /// A body of `chunks`, one frame each.
    struct Chunks(std::collections::VecDeque<Bytes>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }

    /// Streams `chunks` through a [`Peek`] and returns what came out and
    /// the request line that lists the call.
    fn stream(chunks: Vec<Vec<u8>>, json: bool) -> (Vec<u8>, String) {
        let (r, trace, _) = recorder();
        let body = Chunks(chunks.into_iter().map(Bytes::from).collect());
        let peek = Peek::new(body, pending(r), 200, json);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let out = rt.block_on(async { peek.collect().await.unwrap().to_bytes().to_vec() });
        let log = Log::held(crate::log::Level::Info, crate::log::Format::Text);
        trace.answered(
            crate::log::RequestLine {
                method: http::Method::GET,
                path: "/".into(),
                route: None,
                status: 200,
                latency: Duration::ZERO,
                peer: "127.0.0.1:1".parse().unwrap(),
                request_id: crate::log::RequestId::NONE,
                upstream: Vec::new(),
            },
            &log,
        );
        trace.finished(&log);
        (out, log.rendered().join("\n"))
    }

    #[test]
    fn json_answers_pass_through_whole_and_give_their_errcode() {
        let answer = br#"{"errcode":40001,"errmsg":"invalid credential, access_token is invalid"}"#;
        let chunks: Vec<Vec<u8>> = answer.chunks(7).map(<[u8]>::to_vec).collect();
        let (out, line) = stream(chunks, true);
        assert_eq!(out, answer);
        assert!(
            line.contains("upstream=\"GET h:443/cgi-bin/x 200 errcode=40001 "),
            "{line}"
        );
    }

    #[test]
    fn media_is_neither_kept_nor_parsed() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(std::iter::repeat_n(7u8, 3 * PEEK_BYTES));
        let (out, line) = stream(vec![png.clone()], true);
        assert_eq!(out, png);
        assert!(line.contains("200 errcode=- "), "{line}");
        let (_, line) = stream(vec![br#"{"errcode":1}"#.to_vec()], false);
        assert!(
            line.contains("200 errcode=- "),
            "not JSON by its type: {line}"
        );
    }

    #[test]
    fn a_dropped_body_still_records_its_call_once() {
        let (r, _, table) = recorder();
        let body = http_body_util::Full::new(Bytes::from_static(br#"{"errcode":0}"#));
        let mut peek = Peek::new(body, pending(r), 200, true);
        peek.take(br#"{"errcode":48001"#);
        drop(peek);
        assert_eq!(
            table.snapshot(),
            [("h:443".to_owned(), "200".to_owned(), "48001".to_owned(), 1)]
        );
    }
}
