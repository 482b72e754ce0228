//! The seam between the flows and the world: the few things a flow needs
//! done (store, fetch, tell the time, draw randomness, log). The Spin
//! adapters in `spin/` implement them on WASI; tests implement them in memory.

use crate::core::config::Config;
use crate::core::error::Error;
use crate::core::keys::Key;
use crate::core::method::Method;

/// The shared key-value store (Spin's `default` store). Keys come from
/// [`crate::core::keys::Keys`] only.
pub trait KeyValue {
    /// The value at `key`, if any.
    fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, Error>;
    /// Stores `value` at `key`.
    fn set(&self, key: &Key, value: &[u8]) -> Result<(), Error>;
    /// Removes `key` (absent is fine).
    fn delete(&self, key: &Key) -> Result<(), Error>;
    /// Atomically adds `delta` to the counter at `key` (absent counts as 0)
    /// and returns the new value. The key must hold only that counter.
    fn increment(&self, key: &Key, delta: i64) -> Result<i64, Error>;
}

/// Time limits for one outbound request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// To establish the connection.
    pub connect_ms: u64,
    /// From sending to the first response byte.
    pub first_byte_ms: u64,
    /// For the whole exchange, body included.
    pub total_ms: u64,
}

/// An outbound HTTP request. `url` may carry secrets: adapters must not log it.
#[derive(Clone)]
pub struct OutboundRequest {
    /// The method.
    pub method: Method,
    /// The full URL.
    pub url: String,
    /// Request headers.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
    /// Time limits.
    pub timeouts: Timeouts,
}

/// An outbound HTTP response, body read in full (bounded by the adapter).
#[derive(Clone, Debug, Default)]
pub struct OutboundResponse {
    /// Status code.
    pub status: u16,
    /// The headers the gateway passes on (lowercase names); adapters may
    /// leave out the rest.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// A body that comes piece by piece — a media upload on its way to WeChat,
/// WeChat's answer on its way to the caller — so megabytes pass through
/// without ever being held whole.
pub trait BodyStream {
    /// The next piece; `Ok(None)` at the end. Fails with `Error::Timeout`
    /// or `Error::Transport` when the other side stalls or breaks off.
    fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, Error>;
}

/// A body still to be read, with its length when it was declared.
pub struct StreamedBody {
    /// `Content-Length`, when known.
    pub len: Option<u64>,
    /// The pieces.
    pub stream: Box<dyn BodyStream>,
}

impl StreamedBody {
    /// A body already in memory, as one piece (for adapters and tests).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self {
            len: Some(bytes.len() as u64),
            stream: Box::new(InMemory(Some(bytes))),
        }
    }

    /// Reads the whole body, failing with `too_long` past `max` bytes.
    pub fn read_all(
        mut self,
        max: usize,
        too_long: impl FnOnce() -> Error,
    ) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(self.len.map_or(0, |n| n.min(max as u64) as usize));
        while let Some(chunk) = self.stream.next_chunk()? {
            if out.len() + chunk.len() > max {
                return Err(too_long());
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }
}

impl std::fmt::Debug for StreamedBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StreamedBody(len={:?})", self.len)
    }
}

/// A body already read, handed out as one piece.
struct InMemory(Option<Vec<u8>>);

impl BodyStream for InMemory {
    fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.0.take().filter(|b| !b.is_empty()))
    }
}

/// An answer whose body is still to be read.
#[derive(Debug)]
pub struct StreamedResponse {
    /// Status code.
    pub status: u16,
    /// The headers the gateway passes on (lowercase names).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: StreamedBody,
}

/// Outbound HTTP. Fails with `Error::Transport` or `Error::Timeout` only.
pub trait HttpClient {
    /// Sends `request` and reads the whole response.
    fn send(&self, request: &OutboundRequest) -> Result<OutboundResponse, Error>;

    /// Sends `request` with `upload` as its body (declared with its
    /// length), and returns the answer with its body unread. The default
    /// holds both bodies in memory; the Spin adapter streams them.
    fn send_streamed(
        &self,
        request: &OutboundRequest,
        upload: Option<StreamedBody>,
    ) -> Result<StreamedResponse, Error> {
        let mut request = request.clone();
        if let Some(upload) = upload {
            let too_long = || Error::Transport("upload too long to buffer".into());
            request.body = Some(upload.read_all(MAX_BUFFERED_STREAM, too_long)?);
        }
        let answer = self.send(&request)?;
        Ok(StreamedResponse {
            status: answer.status,
            headers: answer.headers,
            body: StreamedBody::from_bytes(answer.body),
        })
    }

    /// Sends `request` and returns at once, its answer to be waited for.
    /// The default sends and waits right here (callers compare the clock
    /// to tell a late answer); the Spin adapter really returns at once.
    fn start(&self, request: &OutboundRequest) -> Box<dyn PendingResponse> {
        Box::new(Ready(Some(self.send(request))))
    }
}

/// An outbound request on its way, its answer waited for in steps: a push
/// answers WeChat in time and keeps waiting for a late webhook afterwards.
pub trait PendingResponse {
    /// Waits for the answer until `until_ms` (ms since the Unix epoch) at
    /// most; `None` when it is still on its way then.
    fn wait_until(&mut self, until_ms: u64) -> Option<Result<OutboundResponse, Error>>;
}

/// An answer that was complete when asked for.
struct Ready(Option<Result<OutboundResponse, Error>>);

impl PendingResponse for Ready {
    fn wait_until(&mut self, _until_ms: u64) -> Option<Result<OutboundResponse, Error>> {
        self.0.take()
    }
}

/// The most [`HttpClient::send_streamed`]'s default holds in memory.
const MAX_BUFFERED_STREAM: usize = 16 * 1024 * 1024;

/// Wall-clock time and waiting.
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// Blocks this request for `ms` milliseconds (polling for a lease).
    fn sleep_ms(&self, ms: u64);
}

/// Cryptographically secure randomness.
pub trait Entropy {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// One-line operational logs. Callers never pass secrets.
pub trait Logger {
    /// Writes one line.
    fn log(&self, line: &str);
}

/// Everything a flow may use, borrowed for one request.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    /// The parsed configuration.
    pub config: &'a Config,
    /// The shared store.
    pub kv: &'a dyn KeyValue,
    /// Outbound HTTP.
    pub http: &'a dyn HttpClient,
    /// Time.
    pub clock: &'a dyn Clock,
    /// Randomness.
    pub entropy: &'a dyn Entropy,
    /// Logs.
    pub log: &'a dyn Logger,
}

impl Env<'_> {
    /// Seconds since the Unix epoch.
    pub fn now_s(&self) -> u64 {
        self.clock.now_ms() / 1000
    }

    /// `N` random bytes.
    pub fn random<const N: usize>(&self) -> [u8; N] {
        let mut buf = [0u8; N];
        self.entropy.fill(&mut buf);
        buf
    }
}
