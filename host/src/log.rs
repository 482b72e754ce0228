//! One-line logs with a level, to stderr, as text (`--log-format text`, the
//! default) or one JSON object per line (`--log-format json`). Callers pass
//! no secrets: request lines carry the path without its query, upstream
//! calls their host and path without theirs (queries carry access tokens).
//!
//! Request lines are the hot path (one per request), so the serving
//! threads only queue them — a few words and the path they already own —
//! and a background thread formats and writes them out every 50 ms, instead
//! of a formatted string and a write system call per request. Warnings and
//! errors are written at once (after whatever is queued, keeping order).

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, SystemTime};

use crate::trace::{Call, Outcome};

/// How much to say (`--log error|warn|info|debug`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub(crate) enum Level {
    /// Failures only.
    Error,
    /// Refusals and degraded operation.
    Warn,
    /// A line per request (the default).
    Info,
    /// Also a line per outbound call.
    Debug,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warn => "warn",
            Self::Info => "info",
            Self::Debug => "debug",
        }
    }
}

/// How lines are written (`--log-format text|json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// `wxmp-host: GET /healthz 200 0.3ms 127.0.0.1:5000 …`, as always.
    Text,
    /// One JSON object per line: `{"ts","level","source","msg",…}`.
    Json,
}

/// How often queued lines are written out.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Queued lines that make the caller write them out itself: a backstop for
/// a writer thread that cannot keep up (normally it writes every 50 ms,
/// long before this many pile up).
const FLUSH_AT: usize = 8192;
/// The longest line kept from a component's stderr (a longer one is cut
/// into several).
const COMPONENT_LINE_MAX: usize = 16 * 1024;

/// The request id a component put in `x-request-id`: 1–64 characters of
/// `A–Z a–z 0–9 . _ -` (what wxmp accepts or makes), kept inline so that
/// queuing a request line allocates nothing for it.
#[derive(Clone, Copy)]
pub(crate) struct RequestId {
    len: u8,
    bytes: [u8; 64],
}

impl RequestId {
    /// No id (the host answered, or the component set none).
    pub(crate) const NONE: Self = Self {
        len: 0,
        bytes: [0; 64],
    };

    /// The `x-request-id` of `headers`, when it is a sane id.
    pub(crate) fn of(headers: &http::HeaderMap) -> Self {
        headers
            .get("x-request-id")
            .map_or(Self::NONE, |v| Self::parse(v.as_bytes()))
    }

    fn parse(raw: &[u8]) -> Self {
        let sane = (1..=64).contains(&raw.len())
            && raw
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !sane {
            return Self::NONE;
        }
        let mut id = Self::NONE;
        id.bytes[..raw.len()].copy_from_slice(raw);
        id.len = raw.len() as u8;
        id
    }

    /// The id, if there is one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        let s = std::str::from_utf8(&self.bytes[..self.len as usize]).ok()?;
        (!s.is_empty()).then_some(s)
    }
}

/// The line written for one request, after its component finished.
pub(crate) struct RequestLine {
    /// The request's method.
    pub(crate) method: http::Method,
    /// Its path, without the query.
    pub(crate) path: String,
    /// The manifest trigger that matched (index into the routes set with
    /// [`Log::set_routes`]), or `None`.
    pub(crate) route: Option<usize>,
    /// The answer's status.
    pub(crate) status: u16,
    /// From the request's arrival to the answer's head.
    pub(crate) latency: Duration,
    /// The client.
    pub(crate) peer: SocketAddr,
    /// The answer's `x-request-id`.
    pub(crate) request_id: RequestId,
    /// The calls the component made while it ran, in the order they ended.
    pub(crate) upstream: Vec<Call>,
}

/// One queued line.
enum Entry {
    /// A host line.
    Line {
        ts: Option<SystemTime>,
        level: Level,
        text: String,
    },
    /// A request line.
    Request {
        ts: Option<SystemTime>,
        line: RequestLine,
    },
    /// A line a component wrote to stderr (JSON mode only).
    Component {
        ts: SystemTime,
        component: Arc<str>,
        text: String,
    },
}

/// What the flushing side keeps between flushes: buffers reused so a
/// flush allocates nothing once warm, and a lock that keeps two flushes
/// from interleaving their output.
#[derive(Default)]
struct Writer {
    spare: Vec<Entry>,
    out: Vec<u8>,
}

struct Inner {
    level: Level,
    format: Format,
    pending: Mutex<Vec<Entry>>,
    writer: Mutex<Writer>,
    /// Manifest routes by trigger index, for request lines.
    routes: OnceLock<Vec<String>>,
}

impl Inner {
    fn flush(&self) {
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let Writer { spare, out } = &mut *writer;
        {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            if pending.is_empty() {
                return;
            }
            std::mem::swap(&mut *pending, spare);
        }
        out.clear();
        let routes = self.routes.get().map_or(&[][..], Vec::as_slice);
        for entry in spare.drain(..) {
            match self.format {
                Format::Text => text_entry(out, &entry, routes),
                Format::Json => json_entry(out, &entry, routes),
            }
        }
        let _ = std::io::stderr().lock().write_all(out);
        if out.capacity() > 1 << 20 {
            *out = Vec::new();
        }
    }
}

/// A cheap, cloneable logger.
#[derive(Clone)]
pub(crate) struct Log(Arc<Inner>);

impl Log {
    /// Logs at `level` and below, written as `format`; starts the thread
    /// that writes queued lines (it ends when the last clone is dropped).
    pub(crate) fn new(level: Level, format: Format) -> Self {
        let inner = Arc::new(Inner {
            level,
            format,
            pending: Mutex::new(Vec::new()),
            writer: Mutex::new(Writer::default()),
            routes: OnceLock::new(),
        });
        let weak: Weak<Inner> = Arc::downgrade(&inner);
        std::thread::spawn(move || loop {
            std::thread::sleep(FLUSH_EVERY);
            match weak.upgrade() {
                Some(inner) => inner.flush(),
                None => break,
            }
        });
        Self(inner)
    }

    /// The format lines are written in.
    pub(crate) fn format(&self) -> Format {
        self.0.format
    }

    /// Names the manifest's routes by trigger index (once, at start-up),
    /// so request lines can carry the route that matched.
    pub(crate) fn set_routes(&self, routes: Vec<String>) {
        let _ = self.0.routes.set(routes);
    }

    /// True when request lines are written (`--log info` or `debug`): the
    /// server gathers nothing for them otherwise.
    pub(crate) fn wants_requests(&self) -> bool {
        self.0.level >= Level::Info
    }

    fn now(&self) -> Option<SystemTime> {
        (self.0.format == Format::Json).then(SystemTime::now)
    }

    fn push(&self, entry: Entry, urgent: bool) {
        let full = {
            let mut pending = self.0.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.push(entry);
            pending.len() >= FLUSH_AT
        };
        if urgent || full {
            self.0.flush();
        }
    }

    fn write(&self, level: Level, line: &str) {
        if level > self.0.level {
            return;
        }
        let entry = Entry::Line {
            ts: self.now(),
            level,
            text: line.to_owned(),
        };
        self.push(entry, level <= Level::Warn);
    }

    /// Queues a request's line (at `info`).
    pub(crate) fn request(&self, line: RequestLine) {
        if self.wants_requests() {
            let ts = self.now();
            self.push(Entry::Request { ts, line }, false);
        }
    }

    /// Queues a line `component` wrote to its stderr (JSON mode; in text
    /// mode components write to the host's stderr directly).
    pub(crate) fn component(&self, component: &Arc<str>, text: String) {
        let entry = Entry::Component {
            ts: SystemTime::now(),
            component: component.clone(),
            text,
        };
        self.push(entry, false);
    }

    /// Prints a start-up line to stdout (the banner), as text or JSON.
    pub(crate) fn banner(&self, line: &str) {
        match self.0.format {
            Format::Text => println!("{line}"),
            Format::Json => {
                let mut out = Vec::new();
                json_head(&mut out, Some(SystemTime::now()), Level::Info, "host");
                let line = line.trim();
                json_field_str(
                    &mut out,
                    "msg",
                    line.strip_prefix("wxmp-host: ").unwrap_or(line),
                );
                out.extend_from_slice(b"}\n");
                let _ = std::io::stdout().lock().write_all(&out);
            }
        }
    }

    /// Writes out queued lines now (at shutdown).
    pub(crate) fn flush(&self) {
        self.0.flush();
    }

    /// An error line.
    pub(crate) fn error(&self, line: &str) {
        self.write(Level::Error, line);
    }

    /// A warning line.
    pub(crate) fn warn(&self, line: &str) {
        self.write(Level::Warn, line);
    }

    /// An info line.
    pub(crate) fn info(&self, line: &str) {
        self.write(Level::Info, line);
    }

    /// A debug line.
    pub(crate) fn debug(&self, line: &str) {
        self.write(Level::Debug, line);
    }
}

#[cfg(test)]
impl Log {
    /// A log whose lines stay queued (no writer thread), for tests.
    pub(crate) fn held(level: Level, format: Format) -> Self {
        Self(Arc::new(Inner {
            level,
            format,
            pending: Mutex::new(Vec::new()),
            writer: Mutex::new(Writer::default()),
            routes: OnceLock::new(),
        }))
    }

    /// The queued lines, rendered as they would be written.
    pub(crate) fn rendered(&self) -> Vec<String> {
        let routes = self.0.routes.get().map_or(&[][..], Vec::as_slice);
        let pending = self.0.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending
            .iter()
            .map(|entry| {
                let mut out = Vec::new();
                match self.0.format {
                    Format::Text => text_entry(&mut out, entry, routes),
                    Format::Json => json_entry(&mut out, entry, routes),
                }
                String::from_utf8_lossy(&out).trim_end().to_owned()
            })
            .collect()
    }
}

/// A fatal start-up error, as `format` writes lines (before any [`Log`]
/// may exist).
pub(crate) fn fatal(format: Format, message: &str) {
    match format {
        Format::Text => eprintln!("wxmp-host: {message}"),
        Format::Json => {
            let mut out = Vec::new();
            json_head(&mut out, Some(SystemTime::now()), Level::Error, "host");
            json_field_str(&mut out, "msg", message);
            out.extend_from_slice(b"}\n");
            let _ = std::io::stderr().lock().write_all(&out);
        }
    }
}

fn route_name(routes: &[String], route: Option<usize>) -> Option<&str> {
    route.and_then(|i| routes.get(i)).map(String::as_str)
}

/// `12.3` (milliseconds, one decimal).
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn text_entry(out: &mut Vec<u8>, entry: &Entry, routes: &[String]) {
    match entry {
        Entry::Line { text, .. } => {
            out.extend_from_slice(b"wxmp-host: ");
            out.extend_from_slice(text.as_bytes());
        }
        Entry::Request { line, .. } => {
            // The line as it always was, then the new fields (logfmt).
            let _ = write!(
                out,
                "wxmp-host: {} {} {} {:.1}ms {} route={}",
                line.method,
                line.path,
                line.status,
                ms(line.latency),
                line.peer,
                route_name(routes, line.route).unwrap_or("-"),
            );
            if let Some(id) = line.request_id.as_str() {
                let _ = write!(out, " request_id={id}");
            }
            for call in &line.upstream {
                let _ = write!(
                    out,
                    " upstream=\"{} {}{} {}",
                    call.method, call.host, call.path, call.outcome
                );
                match call.errcode {
                    Some(code) => {
                        let _ = write!(out, " errcode={code}");
                    }
                    None => out.extend_from_slice(b" errcode=-"),
                }
                let _ = write!(out, " {:.1}ms\"", ms(call.took));
            }
        }
        Entry::Component { text, .. } => out.extend_from_slice(text.as_bytes()),
    }
    out.push(b'\n');
}

fn json_entry(out: &mut Vec<u8>, entry: &Entry, routes: &[String]) {
    match entry {
        Entry::Line { ts, level, text } => {
            json_head(out, *ts, *level, "host");
            json_field_str(out, "msg", text);
        }
        Entry::Request { ts, line } => {
            json_head(out, *ts, Level::Info, "host");
            json_field_str(out, "msg", "request");
            json_field_opt(out, "request_id", line.request_id.as_str());
            json_field_str(out, "method", line.method.as_str());
            json_field_opt(out, "route", route_name(routes, line.route));
            json_field_str(out, "path", &line.path);
            let _ = write!(
                out,
                ",\"status\":{},\"latency_ms\":{:.3}",
                line.status,
                ms(line.latency)
            );
            json_field_str(out, "peer", &line.peer.to_string());
            out.extend_from_slice(b",\"upstream\":[");
            for (i, call) in line.upstream.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'{');
                json_str(out, "method");
                out.push(b':');
                json_str(out, call.method.as_str());
                json_field_str(out, "host", &call.host);
                json_field_str(out, "path", &call.path);
                match call.outcome {
                    Outcome::Status(status) => {
                        let _ = write!(out, ",\"status\":{status}");
                    }
                    other => {
                        out.extend_from_slice(b",\"status\":null");
                        json_field_str(out, "error", &other.to_string());
                    }
                }
                match call.errcode {
                    Some(code) => {
                        let _ = write!(out, ",\"errcode\":{code}");
                    }
                    None => out.extend_from_slice(b",\"errcode\":null"),
                }
                let _ = write!(out, ",\"latency_ms\":{:.3}}}", ms(call.took));
            }
            out.push(b']');
        }
        Entry::Component {
            ts,
            component,
            text,
        } => {
            json_head(out, Some(*ts), Level::Info, "component");
            json_field_str(out, "component", component);
            let (request_id, msg) = component_line(text);
            json_field_opt(out, "request_id", request_id);
            json_field_str(out, "msg", msg);
        }
    }
    out.extend_from_slice(b"}\n");
}

/// Splits a component's stderr line into its request id and message:
/// `wxmp: request_id=abc upstream …` → (`abc`, `upstream …`). A leading
/// `<name>: ` (how wxmp tags its lines) is dropped.
pub(crate) fn component_line(text: &str) -> (Option<&str>, &str) {
    let text = text.trim_end_matches(['\r', '\n']);
    let rest = match text.split_once(": ") {
        Some((name, rest))
            if !name.is_empty()
                && name.len() <= 32
                && !name.contains(' ')
                && !name.contains('=') =>
        {
            rest
        }
        _ => text,
    };
    match rest.strip_prefix("request_id=") {
        Some(tail) => {
            let (id, msg) = tail.split_once(' ').unwrap_or((tail, ""));
            (Some(id).filter(|id| !id.is_empty()), msg)
        }
        None => (None, rest),
    }
}

/// `{"ts":"…","level":"…","source":"…"` (the object is left open).
fn json_head(out: &mut Vec<u8>, ts: Option<SystemTime>, level: Level, source: &str) {
    out.extend_from_slice(b"{\"ts\":\"");
    rfc3339(out, ts.unwrap_or_else(SystemTime::now));
    out.extend_from_slice(b"\",\"level\":\"");
    out.extend_from_slice(level.name().as_bytes());
    out.extend_from_slice(b"\",\"source\":");
    json_str(out, source);
}

fn json_field_str(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(b',');
    json_str(out, name);
    out.push(b':');
    json_str(out, value);
}

fn json_field_opt(out: &mut Vec<u8>, name: &str, value: Option<&str>) {
    match value {
        Some(v) => json_field_str(out, name, v),
        None => {
            out.push(b',');
            json_str(out, name);
            out.extend_from_slice(b":null");
        }
    }
}

/// A JSON string, escaped by serde_json.
fn json_str(out: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(&mut *out, s);
}

/// `2025-01-31T23:59:59.123Z`.
fn rfc3339(out: &mut Vec<u8>, t: SystemTime) {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_millis()
    );
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A component's stderr in JSON mode: bytes gathered into lines, each
/// queued as a JSON object with the request id parsed out. One per
/// instance; whatever is left without a newline is written when the
/// instance ends.
#[derive(Clone)]
pub(crate) struct ComponentStderr(Arc<LineBuffer>);

struct LineBuffer {
    log: Log,
    component: Arc<str>,
    partial: Mutex<Vec<u8>>,
}

impl ComponentStderr {
    /// Lines written by an instance of `component`, to `log`.
    pub(crate) fn new(log: Log, component: Arc<str>) -> Self {
        Self(Arc::new(LineBuffer {
            log,
            component,
            partial: Mutex::new(Vec::new()),
        }))
    }

    fn take(&self, bytes: &[u8]) {
        let mut partial = self.0.partial.lock().unwrap_or_else(|p| p.into_inner());
        split_lines(&mut partial, bytes, |line| {
            self.0.log.component(&self.0.component, line);
        });
    }
}

/// Adds `bytes` to the line gathered in `partial`, handing each complete
/// line (without its newline; cut at [`COMPONENT_LINE_MAX`]) to `emit`.
fn split_lines(partial: &mut Vec<u8>, bytes: &[u8], mut emit: impl FnMut(String)) {
    for piece in bytes.split_inclusive(|b| *b == b'\n') {
        let (piece, ends) = match piece.strip_suffix(b"\n") {
            Some(p) => (p, true),
            None => (piece, false),
        };
        let mut piece = piece;
        loop {
            let room = COMPONENT_LINE_MAX - partial.len();
            let (now, later) = piece.split_at(piece.len().min(room));
            partial.extend_from_slice(now);
            piece = later;
            if partial.len() < COMPONENT_LINE_MAX {
                break;
            }
            emit(String::from_utf8_lossy(partial).into_owned());
            partial.clear();
        }
        if ends && !partial.is_empty() {
            emit(String::from_utf8_lossy(partial).into_owned());
            partial.clear();
        }
    }
}

impl Drop for LineBuffer {
    fn drop(&mut self) {
        let partial = self.partial.get_mut().unwrap_or_else(|p| p.into_inner());
        if !partial.is_empty() {
            let line = String::from_utf8_lossy(partial).into_owned();
            self.log.component(&self.component, line);
        }
    }
}

impl wasmtime_wasi::cli::IsTerminal for ComponentStderr {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for ComponentStderr {
    fn p2_stream(&self) -> Box<dyn wasmtime_wasi::p2::OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl wasmtime_wasi::p2::OutputStream for ComponentStderr {
    fn write(&mut self, bytes: bytes::Bytes) -> wasmtime_wasi::p2::StreamResult<()> {
        self.take(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> wasmtime_wasi::p2::StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> wasmtime_wasi::p2::StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl wasmtime_wasi::p2::Pollable for ComponentStderr {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for ComponentStderr {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.take(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Outcome;

    fn line(upstream: Vec<Call>) -> RequestLine {
        RequestLine {
            method: http::Method::GET,
            path: "/jssdk/config".into(),
            route: Some(0),
            status: 200,
            latency: Duration::from_micros(6_600),
            peer: "127.0.0.1:48936".parse().unwrap(),
            request_id: RequestId::parse(b"5d1c0e8a9b7f3c21"),
            upstream,
        }
    }

    fn call() -> Call {
        Call {
            method: http::Method::POST,
            host: "api.weixin.qq.com:443".into(),
            path: "/cgi-bin/stable_token".into(),
            outcome: Outcome::Status(200),
            errcode: Some(0),
            took: Duration::from_millis(41),
        }
    }

    fn render(format: Format, entry: &Entry) -> String {
        let mut out = Vec::new();
        let routes = vec!["/...".to_owned()];
        match format {
            Format::Text => text_entry(&mut out, entry, &routes),
            Format::Json => json_entry(&mut out, entry, &routes),
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_request_lines_keep_their_old_prefix_and_add_fields() {
        let entry = Entry::Request {
            ts: None,
            line: line(vec![call()]),
        };
        assert_eq!(
            render(Format::Text, &entry),
            "wxmp-host: GET /jssdk/config 200 6.6ms 127.0.0.1:48936 route=/... \
             request_id=5d1c0e8a9b7f3c21 upstream=\"POST api.weixin.qq.com:443/cgi-bin/stable_token 200 errcode=0 41.0ms\"\n"
        );
        let mut bare = line(Vec::new());
        bare.route = None;
        bare.request_id = RequestId::NONE;
        assert_eq!(
            render(
                Format::Text,
                &Entry::Request {
                    ts: None,
                    line: bare
                }
            ),
            "wxmp-host: GET /jssdk/config 200 6.6ms 127.0.0.1:48936 route=-\n"
        );
    }

    #[test]
    fn json_request_lines_are_objects_with_every_field() {
        let mut failed = call();
        failed.outcome = Outcome::Failed;
        failed.errcode = None;
        let entry = Entry::Request {
            ts: Some(SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)),
            line: line(vec![call(), failed]),
        };
        let text = render(Format::Json, &entry);
        assert!(text.ends_with("}\n"), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["ts"], "2023-11-14T22:13:20.123Z");
        assert_eq!(v["level"], "info");
        assert_eq!(v["source"], "host");
        assert_eq!(v["request_id"], "5d1c0e8a9b7f3c21");
        assert_eq!(v["method"], "GET");
        assert_eq!(v["route"], "/...");
        assert_eq!(v["path"], "/jssdk/config");
        assert_eq!(v["status"], 200);
        assert_eq!(v["latency_ms"], 6.6);
        assert_eq!(v["peer"], "127.0.0.1:48936");
        assert_eq!(
            v["upstream"],
            serde_json::json!([
                {"method": "POST", "host": "api.weixin.qq.com:443", "path": "/cgi-bin/stable_token",
                 "status": 200, "errcode": 0, "latency_ms": 41.0},
                {"method": "POST", "host": "api.weixin.qq.com:443", "path": "/cgi-bin/stable_token",
                 "status": null, "error": "error", "errcode": null, "latency_ms": 41.0},
            ])
        );
    }

    #[test]
    fn json_lines_escape_what_they_carry() {
        let entry = Entry::Line {
            ts: None,
            level: Level::Warn,
            text: "a \"quoted\" \\ line\nwith a newline".into(),
        };
        let text = render(Format::Json, &entry);
        assert_eq!(text.lines().count(), 1, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["msg"], "a \"quoted\" \\ line\nwith a newline");
        assert_eq!(v["level"], "warn");
    }

    #[test]
    fn component_lines_give_up_their_request_id() {
        assert_eq!(
            component_line("wxmp: request_id=abc upstream POST api.weixin.qq.com/cgi-bin/stable_token status=200 errcode=0 38ms"),
            (Some("abc"), "upstream POST api.weixin.qq.com/cgi-bin/stable_token status=200 errcode=0 38ms")
        );
        assert_eq!(component_line("wxmp: started"), (None, "started"));
        assert_eq!(
            component_line("thread 'main' panicked at src/lib.rs:1:1:"),
            (None, "thread 'main' panicked at src/lib.rs:1:1:")
        );
        assert_eq!(component_line("request_id=x"), (Some("x"), ""));
        let entry = Entry::Component {
            ts: SystemTime::UNIX_EPOCH,
            component: "wxmp".into(),
            text: "wxmp: request_id=abc gateway client=orders GET cgi-bin/showqrcode status=200 errcode=-".into(),
        };
        let v: serde_json::Value = serde_json::from_str(&render(Format::Json, &entry)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "ts": "1970-01-01T00:00:00.000Z", "level": "info", "source": "component",
                "component": "wxmp", "request_id": "abc",
                "msg": "gateway client=orders GET cgi-bin/showqrcode status=200 errcode=-"
            })
        );
    }

    #[test]
    fn request_ids_are_kept_only_when_sane() {
        assert_eq!(RequestId::parse(b"req-1.2_3").as_str(), Some("req-1.2_3"));
        assert_eq!(
            RequestId::parse(&[b'x'; 64]).as_str().map(str::len),
            Some(64)
        );
        for bad in [&b""[..], b"a b", b"a\"b", &[b'x'; 65]] {
            assert_eq!(RequestId::parse(bad).as_str(), None, "{bad:?}");
        }
    }

    #[test]
    fn dates_are_proleptic_gregorian() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_722), (2023, 12, 31));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        let mut out = Vec::new();
        rfc3339(
            &mut out,
            SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400),
        );
        assert_eq!(String::from_utf8(out).unwrap(), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn component_stderr_is_split_into_lines_whatever_the_writes() {
        let mut partial = Vec::new();
        let mut lines = Vec::new();
        for write in [&b"wxmp: "[..], b"request_id=abc one\nwxmp: two\nthr", b"ee"] {
            split_lines(&mut partial, write, |l| lines.push(l));
        }
        assert_eq!(lines, ["wxmp: request_id=abc one", "wxmp: two"]);
        assert_eq!(partial, b"three");
        let long = vec![b'x'; COMPONENT_LINE_MAX * 2 + 5];
        partial.clear();
        lines.clear();
        split_lines(&mut partial, &long, |l| lines.push(l));
        split_lines(&mut partial, b"\n", |l| lines.push(l));
        assert_eq!(
            lines.iter().map(String::len).collect::<Vec<_>>(),
            [COMPONENT_LINE_MAX, COMPONENT_LINE_MAX, 5]
        );
    }
}
