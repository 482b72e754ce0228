//! An outgoing response as a plain value, with constructors for the few
//! shapes wxmp answers with.

use serde::Serialize;

use crate::ports::{Env, StreamedBody};

/// Work left for after the answer has gone (a late webhook reply): Spin
/// sends the answer as soon as it is set and keeps the component running.
pub struct After(Box<dyn FnOnce(&Env)>);

impl After {
    /// Wraps the work.
    pub fn new(work: impl FnOnce(&Env) + 'static) -> Self {
        Self(Box::new(work))
    }

    /// Does the work, once the answer is out.
    pub fn run(self, env: &Env) {
        (self.0)(env)
    }
}

impl std::fmt::Debug for After {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("After(..)")
    }
}

/// An outgoing response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, lowercase names.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
    /// A body relayed piece by piece instead of `body` (WeChat's media
    /// through the API gateway).
    pub streamed: Option<StreamedBody>,
    /// Work the adapter runs after sending the answer.
    pub after: Option<After>,
}

impl Response {
    /// A JSON body; never cached, since every answer is per user or per moment.
    pub fn json<T: Serialize>(status: u16, value: &T) -> Self {
        let body =
            serde_json::to_vec(value).unwrap_or_else(|_| b"{\"error\":\"internal\"}".to_vec());
        Self {
            status,
            headers: Vec::new(),
            streamed: None,
            after: None,
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
            streamed: None,
            after: None,
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
            streamed: None,
            after: None,
            body: body.into(),
        }
        .with_header("content-type", "application/xml; charset=utf-8")
    }

    /// A `302 Found` to `location`, not cached.
    pub fn redirect(location: &str) -> Self {
        Self {
            status: 302,
            headers: Vec::new(),
            streamed: None,
            after: None,
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
            streamed: None,
            after: None,
            body: Vec::new(),
        }
    }

    /// Sets the body (builder style).
    pub fn with_body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    /// Relays `body` piece by piece instead of a body in memory.
    pub fn with_stream(mut self, body: StreamedBody) -> Self {
        self.body.clear();
        self.streamed = Some(body);
        self
    }

    /// Leaves `work` to run after the answer is sent.
    pub fn then(mut self, work: After) -> Self {
        self.after = Some(work);
        self
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
