//! An outgoing response as a plain value, with constructors for the few
//! shapes wxmp answers with.

use serde::Serialize;

/// An outgoing response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, lowercase names.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON body; never cached, since every answer is per user or per moment.
    pub fn json<T: Serialize>(status: u16, value: &T) -> Self {
        let body =
            serde_json::to_vec(value).unwrap_or_else(|_| b"{\"error\":\"internal\"}".to_vec());
        Self {
            status,
            headers: Vec::new(),
            body,
        }
        .with_header("content-type", "application/json; charset=utf-8")
        .with_header("cache-control", "no-store")
    }

    /// Plain text (never sniffed as HTML, since `echostr` is reflected).
    pub fn text(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
        .with_header("content-type", "text/plain; charset=utf-8")
        .with_header("x-content-type-options", "nosniff")
    }

    /// An XML body (passive replies to WeChat).
    pub fn xml(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
        .with_header("content-type", "application/xml; charset=utf-8")
    }

    /// A `302 Found` to `location`, not cached.
    pub fn redirect(location: &str) -> Self {
        Self {
            status: 302,
            headers: Vec::new(),
            body: Vec::new(),
        }
        .with_header("location", location)
        .with_header("cache-control", "no-store")
    }

    /// A bodiless response.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Marks the body as HTML (replacing the content type).
    pub fn html(mut self) -> Self {
        self.headers.retain(|(k, _)| k != "content-type");
        self.with_header("content-type", "text/html; charset=utf-8")
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        super::first_header(&self.headers, name)
    }
}
