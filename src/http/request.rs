//! An incoming request as a plain value, with the small lookups routes need.

use crate::core::method::Method;
use crate::core::mount::Prefix;
use crate::ports::StreamedBody;

/// An incoming request, its body already read (within `limits`) — or, when
/// it declared more than `limits::MAX_BODY_BYTES`, left unread in `upload`.
#[derive(Debug)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path, without the query, as it arrived (mount prefix included).
    pub path: String,
    /// Where wxmp is mounted for this request (set by `http::handle`).
    pub prefix: Prefix,
    /// The path below the mount prefix: what routes match on (set by
    /// `http::handle`; the whole path until then).
    pub route: String,
    /// The raw query (no leading `?`), empty when there is none.
    pub query: String,
    /// Headers with lowercase names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// A body declared too long to read up front, left for the one route
    /// that streams (the API gateway); every other route answers 413.
    pub upload: Option<StreamedBody>,
}

impl Request {
    /// Builds a request from a method and a path-with-query such as `/wx?a=1`.
    pub fn new(method: impl Into<Method>, path_and_query: &str) -> Self {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        Self {
            method: method.into(),
            path: path.to_owned(),
            prefix: Prefix::root(),
            route: path.to_owned(),
            query: query.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            upload: None,
        }
    }

    /// Adds a header (builder style, for adapters and tests).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// Sets the body (builder style).
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Leaves `body` unread, to be streamed (builder style).
    pub fn with_upload(mut self, upload: StreamedBody) -> Self {
        self.upload = Some(upload);
        self
    }

    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        super::first_header(&self.headers, name)
    }

    /// The first value of query parameter `name`, percent-decoded.
    ///
    /// Same answer as searching `form_urlencoded::parse`, but only keys that
    /// carry escapes and the matching value are decoded: `/wx` looks up four
    /// parameters per request, and decoding every pair each time costs a
    /// third of that route's time in the component (docs/PERFORMANCE.md).
    pub fn query_param(&self, name: &str) -> Option<String> {
        // application/x-www-form-urlencoded: `+` is a space, then %XX.
        let decode = |raw: &str| {
            percent_encoding::percent_decode_str(&raw.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        self.query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .find_map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                let matches = if key.contains(['%', '+']) {
                    decode(key) == name
                } else {
                    key == name
                };
                matches.then(|| decode(value))
            })
    }

    /// The value of cookie `name` from all `Cookie` headers.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        super::cookies::find_cookie(self.cookie_headers(), name)
    }

    /// Every cookie the request carries, `(name, value)` in order.
    pub fn cookies(&self) -> impl Iterator<Item = (&str, &str)> {
        super::cookies::all_cookies(self.cookie_headers())
    }

    fn cookie_headers(&self) -> impl Iterator<Item = &str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "cookie")
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: search every decoded pair.
    fn reference(query: &str, name: &str) -> Option<String> {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    #[test]
    fn query_param_answers_like_a_full_form_urlencoded_parse() {
        let queries = [
            "signature=abc&timestamp=1&nonce=n&echostr=e",
            "a=1&a=2",
            "&&a=&b",
            "b&a",
            "%61=escaped-key&a=plain",
            "a+b=space&a%20b=x",
            "url=https%3A%2F%2Fm.example.com%2Fp%3Fx%3D1%26y%3D%E4%BD%A0",
            "a=%zz%&a=2",
            "a==b=c",
            "x=%E4%BD%A0+%2B",
            "%FF=bad-utf8&a=%FF",
            "",
        ];
        for query in queries {
            let req = Request::new("GET", &format!("/wx?{query}"));
            for name in ["a", "b", "a b", "signature", "url", "x", "\u{fffd}", ""] {
                assert_eq!(
                    req.query_param(name),
                    reference(query, name),
                    "{query:?} / {name:?}"
                );
            }
        }
    }
}
