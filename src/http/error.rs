//! The HTTP face's error: a status, a stable `error` code and a message,
//! always sent as JSON. `From<core::Error>` is the one place core errors
//! become status codes.

use serde::Serialize;

use super::response::Response;
use crate::core::error::Error;

/// An error answer: `{"error": code, "message": ..., ["errcode"]}`. WeChat's
/// `errmsg` is kept for the log line, never sent: it can name the server's
/// egress IP (40164) and other details a caller has no business seeing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable explanation (never a secret).
    pub message: String,
    /// WeChat's errcode and errmsg, when WeChat answered an error (the
    /// errmsg is logged, not answered).
    pub upstream: Option<(i64, String)>,
    /// Extra headers (`Allow`, `Retry-After`, `WWW-Authenticate`).
    pub headers: Vec<(&'static str, String)>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errcode: Option<i64>,
}

impl ApiError {
    /// An error with status, code and message.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            upstream: None,
            headers: Vec::new(),
        }
    }

    /// Adds a header to the answer.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// 404 for a path wxmp does not serve.
    pub fn not_found() -> Self {
        Self::new(404, "not_found", "no such route")
    }

    /// 405 with the methods the route does accept.
    pub fn method_not_allowed(allow: &'static str) -> Self {
        Self::new(405, "method_not_allowed", format!("use {allow}")).with_header("allow", allow)
    }

    /// 400 for a missing query parameter.
    pub fn missing(param: &str) -> Self {
        Self::new(
            400,
            "missing_parameter",
            format!("query parameter {param} is required"),
        )
    }

    /// The JSON response.
    pub fn into_response(self) -> Response {
        let body = Body {
            error: self.code,
            message: &self.message,
            errcode: self.upstream.as_ref().map(|(c, _)| *c),
        };
        let mut resp = Response::json(self.status, &body);
        for (name, value) in &self.headers {
            resp = resp.with_header(name, value);
        }
        resp
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        match e {
            Error::InvalidSignature => Self::new(403, "invalid_signature", message),
            Error::InvalidInput { code, .. } => Self::new(400, code, message),
            Error::Refused { code, .. } => Self::new(403, code, message),
            Error::Config(_) => Self::new(500, "config", message),
            Error::Upstream { errcode, errmsg } => Self {
                upstream: Some((errcode, errmsg)),
                ..Self::new(
                    502,
                    "upstream",
                    format!("WeChat answered errcode {errcode}; the log line with this answer's x-request-id has its errmsg"),
                )
            },
            Error::BadAnswer(_) => Self::new(502, "upstream_bad_answer", message),
            Error::Transport(_) => Self::new(502, "upstream_unreachable", message),
            Error::Timeout(_) => Self::new(504, "upstream_timeout", message),
            Error::Storage(_) => Self::new(503, "storage", message).with_header("retry-after", "1"),
            Error::Busy => Self::new(503, "busy", message).with_header("retry-after", "1"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(e: Error) -> (u16, serde_json::Value) {
        let r = ApiError::from(e).into_response();
        (r.status, serde_json::from_slice(&r.body).unwrap())
    }

    #[test]
    fn every_core_error_has_one_status_and_code() {
        let cases = [
            (Error::InvalidSignature, 403, "invalid_signature"),
            (Error::invalid("invalid_scope", "x"), 400, "invalid_scope"),
            (Error::refused("stale_push", "x"), 403, "stale_push"),
            (Error::Config("app_id: not set".into()), 500, "config"),
            (
                Error::Upstream {
                    errcode: 40164,
                    errmsg: "invalid ip".into(),
                },
                502,
                "upstream",
            ),
            (
                Error::BadAnswer("HTTP 502".into()),
                502,
                "upstream_bad_answer",
            ),
            (
                Error::Transport("refused".into()),
                502,
                "upstream_unreachable",
            ),
            (Error::Timeout("slow".into()), 504, "upstream_timeout"),
            (Error::Storage("down".into()), 503, "storage"),
            (Error::Busy, 503, "busy"),
        ];
        for (e, status, code) in cases {
            let (s, body) = mapped(e.clone());
            assert_eq!(
                (s, body["error"].as_str().unwrap()),
                (status, code),
                "{e:?}"
            );
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }

    #[test]
    fn upstream_errors_carry_errcode_but_never_errmsg() {
        let (_, body) = mapped(Error::Upstream {
            errcode: 40164,
            errmsg: "invalid ip 1.2.3.4".into(),
        });
        assert_eq!(body["errcode"], 40164);
        assert!(body.get("errmsg").is_none());
        assert!(!body.to_string().contains("1.2.3.4"), "{body}");
        let (_, body) = mapped(Error::Busy);
        assert!(body.get("errcode").is_none());
    }

    #[test]
    fn method_not_allowed_names_the_methods() {
        let r = ApiError::method_not_allowed("GET, POST").into_response();
        assert_eq!(r.status, 405);
        assert_eq!(r.header("allow"), Some("GET, POST"));
        assert_eq!(
            r.header("content-type"),
            Some("application/json; charset=utf-8")
        );
    }
}
