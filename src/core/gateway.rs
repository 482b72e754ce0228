//! The WeChat API gateway's rules, as values: who may call (`admin_key`, or
//! a named client from `api_clients` with the path prefixes it may use),
//! what an API path may look like, what is forwarded, and when WeChat's
//! answer says the token was rejected. The gateway lets the account's other
//! backends call WeChat without ever holding the access_token.

use serde::Deserialize;

use super::error::Error;
use super::mac;
use super::types::{AccessToken, AdminKey, ApiClientKey};

/// The longest JSON body the gateway takes (and retries): WeChat's JSON
/// APIs take far less; media go as multipart and are streamed instead.
pub const MAX_JSON_BODY: usize = 1024 * 1024;
/// The longest body streamed through the gateway, either way: WeChat's own
/// media limit.
pub const MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;
/// How long a streamed body may take to pass through the gateway, each way:
/// inside wxmp-host's 30 s request deadline.
pub const STREAM_DEADLINE_MS: u64 = 25_000;
/// The longest answer read whole to look for an errcode (JSON or text);
/// longer answers (media) are relayed in pieces without being looked at.
pub const MAX_READ_ANSWER: u64 = 2 * 1024 * 1024;

/// The permission that lets a client read `/api/status`
/// (listed among its `allow` entries like a path prefix).
pub const STATUS_PERMISSION: &str = "status";
/// The longest API path accepted.
const MAX_PATH_LEN: usize = 256;

/// One named client of the gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiClient {
    name: String,
    key: ApiClientKey,
    allow: Vec<String>,
}

impl ApiClient {
    /// The client's name, for logs.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Every named client (`api_clients`), as a JSON list:
/// `[{"name": "orders", "key": "…", "allow": ["cgi-bin/message/template/", "status"]}]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiClients(Vec<ApiClient>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    name: String,
    key: String,
    allow: Vec<String>,
}

impl ApiClients {
    /// Reads the `api_clients` variable. Names are `[a-z0-9_-]`, unique;
    /// keys at least 16 characters, unique; every `allow` entry a path
    /// prefix as [`ApiPath`] accepts it (or `status`). The reason for a
    /// refusal names the client, never its key.
    pub fn parse(raw: &str) -> Result<Self, String> {
        // serde's message may quote the input (a key): only its position is told.
        let raw: Vec<RawClient> = serde_json::from_str(raw).map_err(|e| {
            format!(
                "must be a JSON list of {{\"name\", \"key\", \"allow\"}} (line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        let mut clients: Vec<ApiClient> = Vec::with_capacity(raw.len());
        for c in raw {
            let name_ok = !c.name.is_empty()
                && c.name.len() <= 64
                && c.name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            if !name_ok {
                return Err("a client name must be 1-64 of a-z, 0-9, '_', '-'".into());
            }
            let name = c.name;
            if clients.iter().any(|o| o.name == name) {
                return Err(format!("client {name} is listed twice"));
            }
            if c.key.trim().len() < 16 {
                return Err(format!(
                    "client {name}: the key must be at least 16 characters"
                ));
            }
            if clients.iter().any(|o| o.key.secret() == c.key.trim()) {
                return Err(format!("client {name}: its key is another client's"));
            }
            if c.allow.is_empty() {
                return Err(format!("client {name}: allow lists nothing"));
            }
            for prefix in &c.allow {
                if prefix != STATUS_PERMISSION && ApiPath::parse(prefix).is_err() {
                    return Err(format!(
                        "client {name}: allow entry {prefix:?} is not an API path prefix"
                    ));
                }
            }
            clients.push(ApiClient {
                key: ApiClientKey::new(c.key.trim()),
                name,
                allow: c.allow,
            });
        }
        Ok(Self(clients))
    }

    /// The named clients.
    pub fn iter(&self) -> impl Iterator<Item = &ApiClient> {
        self.0.iter()
    }
}

/// Who called the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller<'a> {
    /// The holder of `admin_key`: every path.
    Admin,
    /// A named client: its own prefixes.
    Client(&'a ApiClient),
    /// wxmp itself (late replies) or a composed component (WIT), named for
    /// the log: compiled in, so every path.
    Internal(&'static str),
}

impl Caller<'_> {
    /// The caller's name for logs (`admin` or the client's).
    pub fn name(&self) -> &str {
        match self {
            Self::Admin => "admin",
            Self::Client(c) => &c.name,
            Self::Internal(name) => name,
        }
    }

    /// True when the caller may call `path`.
    pub fn may_call(&self, path: &ApiPath) -> bool {
        match self {
            Self::Admin | Self::Internal(_) => true,
            Self::Client(c) => c
                .allow
                .iter()
                .any(|p| p != STATUS_PERMISSION && path.0.starts_with(p.as_str())),
        }
    }

    /// True when the caller may read wxmp's status (admin, or `status`).
    pub fn may_read_status(&self) -> bool {
        match self {
            Self::Admin | Self::Internal(_) => true,
            Self::Client(c) => c.allow.iter().any(|p| p == STATUS_PERMISSION),
        }
    }
}

/// Who presented `authorization` (`Bearer <key>`): the admin or a named
/// client. Every key is compared in constant time, and all of them are
/// compared, so timing tells nothing about which one came close.
pub fn authenticate<'a>(
    authorization: Option<&str>,
    admin: Option<&AdminKey>,
    clients: &'a ApiClients,
) -> Option<Caller<'a>> {
    let presented = authorization
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim().as_bytes())?;
    let mut found = None;
    if admin.is_some_and(|a| mac::equal(presented, a.secret().as_bytes())) {
        found = Some(Caller::Admin);
    }
    for c in &clients.0 {
        if mac::equal(presented, c.key.secret().as_bytes()) && found.is_none() {
            found = Some(Caller::Client(c));
        }
    }
    found
}

/// A WeChat API path below `api_base`, normalised and checked before any
/// permission is: segments of `A–Z a–z 0–9 _ - .` only, so there is no way
/// to spell `..`, `//`, an encoded slash, another host or a query into it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiPath(String);

impl ApiPath {
    /// Checks a path as sent after `/api/wechat/` (or a client's allowed
    /// prefix, which may end with `/`).
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let invalid = || {
            Error::invalid(
                "invalid_path",
                "the API path must be segments of letters, digits, '_', '-' and '.', like cgi-bin/message/template/send",
            )
        };
        let body = raw.strip_suffix('/').unwrap_or(raw);
        if body.is_empty() || raw.len() > MAX_PATH_LEN {
            return Err(invalid());
        }
        for segment in body.split('/') {
            let ok = !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !ok {
                return Err(invalid());
            }
        }
        Ok(Self(raw.to_owned()))
    }

    /// The path as it goes after `api_base/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The URL called on `base` (which may carry a path prefix): `path` below
/// it and the forwarded query.
pub fn api_url(base: &url::Url, path: &ApiPath, query: &str) -> String {
    let origin = base.as_str().trim_end_matches('/');
    format!("{origin}/{}?{query}", path.as_str())
}

/// True when a body of this content type is JSON (or could be): a body
/// the gateway reads to look for WeChat's errcode and may retry with.
pub fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_none_or(|ct| {
        let ct = ct.to_ascii_lowercase();
        ct.contains("json") || ct.starts_with("text/")
    })
}

/// The query forwarded to WeChat: the caller's pairs as sent, minus any
/// `access_token` (nobody passes a token through the gateway), then ours.
pub fn forward_query(raw_query: &str, token: &AccessToken) -> String {
    let mut out: Vec<String> = raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
            let decoded = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
            decoded != "access_token"
        })
        .map(str::to_owned)
        .collect();
    out.push(format!(
        "access_token={}",
        url::form_urlencoded::byte_serialize(token.secret().as_bytes()).collect::<String>()
    ));
    out.join("&")
}

/// WeChat's errcode in an answer that is JSON (WeChat reports errors with
/// HTTP 200 and a JSON body, whatever the API), `None` otherwise or when 0.
pub fn errcode_of(content_type: Option<&str>, body: &[u8]) -> Option<i64> {
    if !is_json(content_type) || body.len() as u64 > MAX_READ_ANSWER {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("errcode")?.as_i64().filter(|c| *c != 0)
}

/// WeChat's errmsg in a JSON answer (empty when there is none).
pub fn errmsg_of(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("errmsg")?.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// True when WeChat's errcode rejects the access_token (40001, 42001,
/// 40014): drop it if still cached, fetch anew, retry once.
pub fn rejects_token(errcode: Option<i64>) -> bool {
    matches!(errcode, Some(40001 | 42001 | 40014))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clients() -> ApiClients {
        ApiClients::parse(
            r#"[{"name":"orders","key":"orders-key-0123456789","allow":["cgi-bin/message/template/","cgi-bin/qrcode/"]},
                {"name":"ops","key":"ops-key-0123456789abc","allow":["status"]}]"#,
        )
        .unwrap()
    }

    #[test]
    fn callers_are_told_apart_by_their_keys() {
        let admin = AdminKey::new("admin-key-0123456789");
        let c = clients();
        let who = |h: &str| authenticate(Some(h), Some(&admin), &c).map(|w| w.name().to_owned());
        assert_eq!(who("Bearer admin-key-0123456789").as_deref(), Some("admin"));
        assert_eq!(
            who("bearer orders-key-0123456789").as_deref(),
            Some("orders")
        );
        assert_eq!(who("Bearer ops-key-0123456789abc").as_deref(), Some("ops"));
        for bad in [
            "Bearer nope-nope-nope-nope",
            "Basic orders-key-0123456789",
            "orders-key-0123456789",
            "Bearer ",
        ] {
            assert_eq!(who(bad), None, "{bad}");
        }
        assert_eq!(authenticate(None, Some(&admin), &c), None);
        assert_eq!(
            authenticate(Some("Bearer admin-key-0123456789"), None, &c),
            None,
            "no admin_key, no admin"
        );
    }

    #[test]
    fn clients_call_only_their_prefixes() {
        let c = clients();
        let orders = Caller::Client(c.iter().next().unwrap());
        let ops = Caller::Client(c.iter().nth(1).unwrap());
        let path = |p: &str| ApiPath::parse(p).unwrap();
        assert!(orders.may_call(&path("cgi-bin/message/template/send")));
        assert!(orders.may_call(&path("cgi-bin/qrcode/create")));
        assert!(!orders.may_call(&path("cgi-bin/message/custom/send")));
        assert!(!orders.may_call(&path("cgi-bin/token")));
        assert!(!orders.may_read_status());
        assert!(ops.may_read_status());
        assert!(
            !ops.may_call(&path("status")),
            "status is a permission, not a path"
        );
        assert!(Caller::Admin.may_call(&path("cgi-bin/user/info")));
    }

    #[test]
    fn api_clients_are_checked_and_never_quote_a_key() {
        for (bad, why) in [
            ("{}", "a JSON list"),
            (
                r#"[{"name":"A","key":"0123456789abcdef","allow":["sns/"]}]"#,
                "a-z",
            ),
            (
                r#"[{"name":"a","key":"short","allow":["sns/"]}]"#,
                "at least 16",
            ),
            (
                r#"[{"name":"a","key":"0123456789abcdef","allow":[]}]"#,
                "allow lists nothing",
            ),
            (
                r#"[{"name":"a","key":"0123456789abcdef","allow":["../x"]}]"#,
                "not an API path",
            ),
            (
                r#"[{"name":"a","key":"0123456789abcdef","allow":["sns/"]},{"name":"a","key":"fedcba9876543210","allow":["sns/"]}]"#,
                "twice",
            ),
            (
                r#"[{"name":"a","key":"0123456789abcdef","allow":["sns/"]},{"name":"b","key":"0123456789abcdef","allow":["sns/"]}]"#,
                "another client's",
            ),
        ] {
            let e = ApiClients::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(!e.contains("0123456789abcdef"), "{e}");
        }
    }

    #[test]
    fn paths_cannot_escape_the_api() {
        assert!(ApiPath::parse("cgi-bin/message/template/send").is_ok());
        assert!(ApiPath::parse("cgi-bin/qrcode/").is_ok());
        for bad in [
            "",
            "/",
            "../cgi-bin/token",
            "cgi-bin/../token",
            "cgi-bin//token",
            "cgi-bin/%2e%2e/token",
            "cgi-bin%2ftoken",
            "http://evil.example/x",
            "//evil.example/x",
            "cgi-bin/token?x=1",
            "cgi-bin\\token",
            "cgi-bin/./token",
            "cgi bin",
            "中文",
            &"a".repeat(300),
        ] {
            assert!(ApiPath::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_callers_token_never_passes_and_ours_is_added() {
        let t = AccessToken::new("T/1+2");
        assert_eq!(forward_query("", &t), "access_token=T%2F1%2B2");
        assert_eq!(
            forward_query("type=image&access_token=evil&%61ccess_token=evil2&x=1", &t),
            "type=image&x=1&access_token=T%2F1%2B2"
        );
    }

    #[test]
    fn urls_keep_the_bases_prefix() {
        let path = ApiPath::parse("cgi-bin/user/info").unwrap();
        let at = |base: &str| {
            api_url(
                &url::Url::parse(base).unwrap(),
                &path,
                "openid=o&access_token=T",
            )
        };
        assert_eq!(
            at("https://api.weixin.qq.com"),
            "https://api.weixin.qq.com/cgi-bin/user/info?openid=o&access_token=T"
        );
        assert_eq!(
            at("http://127.0.0.1:9/sim/"),
            "http://127.0.0.1:9/sim/cgi-bin/user/info?openid=o&access_token=T"
        );
    }

    #[test]
    fn token_rejections_are_read_from_json_answers_only() {
        let json = Some("application/json; encoding=utf-8");
        let rejects = |ct, body: &[u8]| rejects_token(errcode_of(ct, body));
        assert!(rejects(
            json,
            br#"{"errcode":40001,"errmsg":"invalid credential"}"#
        ));
        assert!(rejects(Some("text/plain"), br#"{"errcode":42001}"#));
        assert!(rejects(None, br#"{"errcode":40014}"#));
        assert!(!rejects(json, br#"{"errcode":0,"errmsg":"ok"}"#));
        assert!(!rejects(json, br#"{"errcode":40037}"#));
        assert!(!rejects(Some("image/jpeg"), br#"{"errcode":40001}"#));
        assert_eq!(
            errmsg_of(br#"{"errcode":45015,"errmsg":"response out of time limit"}"#),
            "response out of time limit"
        );
        assert_eq!(errmsg_of(b"\x89PNG"), "");
        assert_eq!(
            errcode_of(json, br#"{"errcode":45015,"errmsg":"x"}"#),
            Some(45015)
        );
        assert_eq!(errcode_of(json, b"not json"), None);
    }
}
