//! A blocking HTTP/1.1 client for tests, on ureq, and a cookie jar.
//!
//! Tests need to see exactly what a server answers, so the client never
//! follows redirects, never turns a 4xx or 5xx into an error, sends the
//! method, path, headers and body it is given (any method, custom ones
//! included) and keeps no connection between exchanges: every request opens
//! its own. Chunked and content-length bodies are read by ureq. It also
//! sends what the oversize checks need (9 KB headers and URIs, 70 KB
//! bodies), so no raw-socket helper is kept.
//!
//! The [`Jar`] serves the end-to-end tests' browser (on [`Resp`]) and the
//! native tests (on wxmp's own responses) alike.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use ureq::config::AutoHeaderValue;

/// A response: read in full by the client, or what [`crate::server`] answers.
#[derive(Debug, Clone)]
pub struct Resp {
    /// The status code.
    pub status: u16,
    /// The headers, lowercase names, in order (the server adds
    /// `content-length` to those it answers with).
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Resp {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; panics with the status and body if it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "status {} body not JSON: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `location` header; panics with the status and body if absent.
    pub fn location(&self) -> String {
        self.header("location")
            .unwrap_or_else(|| panic!("no location; status {} {}", self.status, self.text()))
            .to_owned()
    }
}

/// A client for the server at one address, with its own time limits.
#[derive(Clone)]
pub struct Client {
    addr: SocketAddr,
    agent: ureq::Agent,
}

impl Client {
    /// A client for `addr` allowing 5 s to connect and 30 s for each whole
    /// exchange.
    pub fn new(addr: SocketAddr) -> Self {
        static DEFAULT: OnceLock<ureq::Agent> = OnceLock::new();
        let shared = DEFAULT.get_or_init(|| agent(Duration::from_secs(5), Duration::from_secs(30)));
        Self {
            addr,
            agent: shared.clone(),
        }
    }

    /// This client allowing `connect` to connect and `total` for each whole
    /// exchange, body included.
    pub fn with_timeouts(self, connect: Duration, total: Duration) -> Self {
        Self {
            agent: agent(connect, total),
            ..self
        }
    }

    /// One exchange on a fresh connection: `method` on `path` (with its
    /// query), `headers` as given plus `host` and the body's `content-length`.
    pub fn try_send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Resp> {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(body)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut response = self.agent.run(request).map_err(ureq::Error::into_io)?;
        Ok(Resp {
            status: response.status().as_u16(),
            headers: header_pairs(response.headers()),
            body: response
                .body_mut()
                .read_to_vec()
                .map_err(ureq::Error::into_io)?,
        })
    }
}

/// An agent that reports what it gets and keeps no connection.
fn agent(connect: Duration, total: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .allow_non_standard_methods(true)
        .max_idle_connections(0)
        .user_agent(AutoHeaderValue::None)
        .accept(AutoHeaderValue::None)
        .timeout_connect(Some(connect))
        .timeout_global(Some(total))
        .build()
        .into()
}

/// `headers` as `(lowercase name, value)` pairs, in order (invalid UTF-8
/// replaced); the server reads requests' headers with it too.
pub(crate) fn header_pairs(headers: &ureq::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_owned(), value)
        })
        .collect()
}

/// [`try_request`], panicking with the method, path and error on a
/// transport failure.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    try_request(addr, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// [`Client::try_send`] to `addr` with the default limits.
pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Resp> {
    Client::new(addr).try_send(method, path, headers, body)
}

/// A response whose headers (lowercase names) a [`Jar`] can read.
pub trait Headers {
    /// The headers, as `(name, value)` pairs.
    fn header_list(&self) -> &[(String, String)];
}

impl Headers for Resp {
    fn header_list(&self) -> &[(String, String)] {
        &self.headers
    }
}

impl Headers for wxmp::http::Response {
    fn header_list(&self) -> &[(String, String)] {
        &self.headers
    }
}

/// Cookie name → value, as a browser would keep them for one site.
#[derive(Default, Clone, Debug)]
pub struct Jar(pub HashMap<String, String>);

impl Jar {
    /// Takes the cookies `response` sets.
    pub fn absorb(&mut self, response: &impl Headers) {
        self.absorb_headers(
            response
                .header_list()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
    }

    /// Applies every `set-cookie` among `headers` (lowercase names):
    /// stores values, forgets cookies that are cleared or expired, skips
    /// any without a `name=value` pair.
    pub fn absorb_headers<'a>(&mut self, headers: impl IntoIterator<Item = (&'a str, &'a str)>) {
        for (k, v) in headers {
            if k != "set-cookie" {
                continue;
            }
            let pair = v.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            if value.is_empty() || v.contains("Max-Age=0") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    /// The `cookie` request header (empty when the jar is).
    pub fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}
