//! Requests and replies as plain values.

use std::net::{IpAddr, Ipv4Addr};

/// A request to the simulator.
#[derive(Clone, Debug, Default)]
pub struct SimRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The path, e.g. `/cgi-bin/token`.
    pub path: String,
    /// Decoded query parameters.
    pub query: Vec<(String, String)>,
    /// The body (bytes: media uploads are binary).
    pub body: Vec<u8>,
    /// Request headers as sent (names in any case); the simulator reads
    /// `content-type` for multipart uploads.
    pub headers: Vec<(String, String)>,
    /// The caller's address as WeChat's server would see it, for the IP
    /// allow-list's 40164 message; `None` reads as 127.0.0.1.
    pub client_ip: Option<IpAddr>,
}

impl SimRequest {
    /// Parses `url` (absolute, or a path with query) into a request.
    pub fn new(method: &str, url: &str, body: Vec<u8>) -> Self {
        let parsed = url::Url::parse(url).or_else(|_| url::Url::parse(&format!("http://sim{url}")));
        let (path, query) = match parsed {
            Ok(u) => (
                u.path().to_owned(),
                u.query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
            ),
            Err(_) => (url.to_owned(), Vec::new()),
        };
        Self {
            method: method.to_owned(),
            path,
            query,
            body,
            ..Self::default()
        }
    }

    /// The same request with header `name: value` added.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The same request as coming from `ip` (servers set the connection's peer).
    pub fn with_client_ip(mut self, ip: IpAddr) -> Self {
        self.client_ip = Some(ip);
        self
    }

    /// The first value of header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The caller's address: the one set, else 127.0.0.1 (an in-process caller).
    pub fn client_ip(&self) -> IpAddr {
        self.client_ip.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response from the simulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimResponse {
    /// HTTP status.
    pub status: u16,
    /// Content type.
    pub content_type: &'static str,
    /// Extra headers (e.g. `location`).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl SimResponse {
    /// A JSON answer with status 200, as WeChat sends even for errors.
    pub fn json(value: &serde_json::Value) -> Self {
        Self {
            status: 200,
            content_type: "application/json; encoding=utf-8",
            headers: Vec::new(),
            body: value.to_string().into_bytes(),
        }
    }

    /// WeChat's error shape.
    pub fn error(errcode: i64, errmsg: &str) -> Self {
        Self::json(&serde_json::json!({ "errcode": errcode, "errmsg": errmsg }))
    }

    /// A non-JSON server error page.
    pub fn server_error(status: u16) -> Self {
        Self {
            status,
            content_type: "text/html",
            headers: Vec::new(),
            body: format!("<html><body>{status}</body></html>").into_bytes(),
        }
    }

    /// A 302 to `location`.
    pub fn redirect(location: &str) -> Self {
        Self {
            status: 302,
            content_type: "text/plain",
            headers: vec![("location".into(), location.into())],
            body: Vec::new(),
        }
    }

    /// An HTML page.
    pub fn html(body: String) -> Self {
        Self {
            status: 200,
            content_type: "text/html; charset=utf-8",
            headers: Vec::new(),
            body: body.into_bytes(),
        }
    }

    /// Raw bytes of `content_type` with status 200: an image or a media file.
    pub fn binary(content_type: &'static str, body: Vec<u8>) -> Self {
        Self {
            status: 200,
            content_type,
            headers: Vec::new(),
            body,
        }
    }

    /// The body as JSON (tests).
    pub fn json_body(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// What the transport should do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Send this response after `delay_ms`.
    Respond {
        /// Milliseconds to wait before answering.
        delay_ms: u64,
        /// The response.
        response: SimResponse,
    },
    /// Close the connection without answering.
    Drop,
}
