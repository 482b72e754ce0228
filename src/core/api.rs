//! WeChat API requests as values, and WeChat's JSON answers as typed results.
//!
//! Requests carry only the path and query: the flow picks `api_base` or the
//! fallback host. Answers are checked for `errcode` before anything else,
//! because WeChat reports errors with HTTP 200.

use serde::de::DeserializeOwned;
use url::Url;

use super::error::Error;
use super::method::Method;

/// One call to WeChat's API, independent of which host serves it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// GET (everything in the query) or POST (a JSON body).
    pub method: Method,
    /// The endpoint path, e.g. `/cgi-bin/ticket/getticket`; safe to log.
    pub path: &'static str,
    /// Query parameters; may hold secrets, so never logged.
    pub query: Vec<(&'static str, String)>,
    /// A JSON body for POST; may hold secrets, so never logged.
    pub json_body: Option<String>,
}

impl ApiRequest {
    /// A GET of `path` with `query`.
    pub fn get(path: &'static str, query: Vec<(&'static str, String)>) -> Self {
        Self {
            method: Method::Get,
            path,
            query,
            json_body: None,
        }
    }

    /// A POST of `body` as JSON to `path`.
    pub fn post_json(path: &'static str, body: &serde_json::Value) -> Self {
        Self {
            method: Method::Post,
            path,
            query: Vec::new(),
            json_body: Some(body.to_string()),
        }
    }

    /// The full URL on `base` (which may carry a path prefix).
    pub fn url(&self, base: &Url) -> String {
        let mut url = base.clone();
        let prefix = base.path().trim_end_matches('/');
        url.set_path(&format!("{prefix}{}", self.path));
        if self.query.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut()
                .clear()
                .extend_pairs(self.query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url.into()
    }
}

impl std::fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Query and body carry secrets (appsecret, tokens, codes).
        write!(
            f,
            "ApiRequest({} {} [params redacted])",
            self.method.as_str(),
            self.path
        )
    }
}

/// True when `base` is one of WeChat's own hosts (`*.weixin.qq.com`), not
/// a simulator or a proxy.
pub fn is_wechats_own(base: &Url) -> bool {
    base.host_str()
        .is_some_and(|h| h == "weixin.qq.com" || h.ends_with(".weixin.qq.com"))
}

/// Reads a WeChat answer: HTTP status, then `errcode`, then the typed shape.
pub fn parse_answer<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, Error> {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) if status != 200 => return Err(Error::BadAnswer(format!("HTTP {status}"))),
        Err(e) => return Err(Error::BadAnswer(format!("not JSON: {e}"))),
    };
    if let Some(err) = upstream_error(&value) {
        return Err(err);
    }
    if status != 200 {
        return Err(Error::BadAnswer(format!("HTTP {status}")));
    }
    serde_json::from_value(value).map_err(|e| Error::BadAnswer(format!("unexpected shape: {e}")))
}

/// The typed error in an answer whose `errcode` is present and non-zero.
pub fn upstream_error(value: &serde_json::Value) -> Option<Error> {
    let errcode = value.get("errcode")?.as_i64()?;
    (errcode != 0).then(|| Error::Upstream {
        errcode,
        errmsg: value
            .get("errmsg")
            .and_then(|m| m.as_str())
            .unwrap_or_default()
            .to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Ticket {
        ticket: String,
        expires_in: u64,
    }

    #[test]
    fn success_with_errcode_zero_parses() {
        let t: Ticket = parse_answer(
            200,
            br#"{"errcode":0,"errmsg":"ok","ticket":"T","expires_in":7200}"#,
        )
        .unwrap();
        assert_eq!(
            t,
            Ticket {
                ticket: "T".into(),
                expires_in: 7200
            }
        );
    }

    #[test]
    fn errcode_becomes_a_typed_upstream_error() {
        let e = parse_answer::<Ticket>(200, br#"{"errcode":40001,"errmsg":"invalid credential"}"#)
            .unwrap_err();
        assert_eq!(
            e,
            Error::Upstream {
                errcode: 40001,
                errmsg: "invalid credential".into()
            }
        );
        let e =
            parse_answer::<Ticket>(200, br#"{"errcode":-1,"errmsg":"system error"}"#).unwrap_err();
        assert_eq!(
            e,
            Error::Upstream {
                errcode: -1,
                errmsg: "system error".into()
            }
        );
    }

    #[test]
    fn garbage_and_5xx_are_bad_answers() {
        assert_eq!(
            parse_answer::<Ticket>(502, b"<html>bad gateway</html>").unwrap_err(),
            Error::BadAnswer("HTTP 502".into())
        );
        assert!(matches!(
            parse_answer::<Ticket>(200, b"{\"ticket\":1}"),
            Err(Error::BadAnswer(_))
        ));
        assert!(matches!(
            parse_answer::<Ticket>(200, b"[]"),
            Err(Error::BadAnswer(_))
        ));
        assert!(matches!(
            parse_answer::<Ticket>(200, b""),
            Err(Error::BadAnswer(_))
        ));
    }

    #[test]
    fn urls_respect_base_prefix_and_encode_params() {
        let req = ApiRequest::get(
            "/cgi-bin/token",
            vec![
                ("grant_type", "client_credential".into()),
                ("secret", "a&b=c".into()),
            ],
        );
        assert_eq!(
            req.url(&Url::parse("https://api.weixin.qq.com").unwrap()),
            "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&secret=a%26b%3Dc"
        );
        assert_eq!(
            req.url(&Url::parse("http://127.0.0.1:9/wx/").unwrap())
                .split('?')
                .next()
                .unwrap(),
            "http://127.0.0.1:9/wx/cgi-bin/token"
        );
        assert_eq!(
            format!("{req:?}"),
            "ApiRequest(GET /cgi-bin/token [params redacted])"
        );
    }
}
