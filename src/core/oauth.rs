//! Web authorisation (网页授权): the authorize URL the browser is sent to,
//! and the `sns/oauth2/*` calls that turn a code into a user's grant.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use url::Url;

use super::api::ApiRequest;
use super::error::Error;
use super::types::{AppId, AppSecret, OpenId, RefreshToken, UnionId, UserAccessToken};

/// Everything but RFC 3986's unreserved characters is escaped, as
/// `encodeURIComponent` does for the `redirect_uri` WeChat documents.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The longest `state` WeChat accepts.
pub const MAX_STATE_LEN: usize = 128;

/// What the user is asked to grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// Silent: openid (and unionid) only.
    #[serde(rename = "snsapi_base")]
    Base,
    /// With a consent page: the profile too.
    #[serde(rename = "snsapi_userinfo")]
    UserInfo,
}

impl Scope {
    /// WeChat's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Base => "snsapi_base",
            Self::UserInfo => "snsapi_userinfo",
        }
    }

    /// Parses WeChat's spelling; anything else is `invalid_scope`.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        match raw {
            "snsapi_base" => Ok(Self::Base),
            "snsapi_userinfo" => Ok(Self::UserInfo),
            _ => Err(Error::invalid(
                "invalid_scope",
                "scope must be snsapi_base or snsapi_userinfo",
            )),
        }
    }

    /// The scope WeChat granted; when it lists several (comma-separated),
    /// the widest one wins.
    pub fn from_granted(raw: &str) -> Self {
        if raw.split(',').any(|s| s.trim() == "snsapi_userinfo") {
            Self::UserInfo
        } else {
            Self::Base
        }
    }
}

/// WeChat's authorize URL: `appid`, `redirect_uri` (escaped),
/// `response_type=code`, `scope`, `state`, `connect_redirect=1` (stops
/// WeChat from following the redirect twice and burning the code), then
/// `#wechat_redirect`.
pub fn authorize_url(
    oauth_base: &Url,
    app_id: &AppId,
    redirect_uri: &str,
    scope: Scope,
    state: &str,
) -> Result<String, Error> {
    if state.is_empty()
        || state.len() > MAX_STATE_LEN
        || !state.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(Error::invalid(
            "invalid_state",
            "state must be 1 to 128 letters or digits",
        ));
    }
    let redirect = Url::parse(redirect_uri)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if redirect.is_none() {
        return Err(Error::invalid(
            "invalid_redirect_uri",
            "redirect_uri must be an absolute http(s) URL",
        ));
    }
    let base = oauth_base.as_str().trim_end_matches('/');
    Ok(format!(
        "{base}/connect/oauth2/authorize?appid={}&redirect_uri={}&response_type=code&scope={}&state={state}&connect_redirect=1#wechat_redirect",
        utf8_percent_encode(app_id.as_str(), COMPONENT),
        utf8_percent_encode(redirect_uri, COMPONENT),
        scope.as_str(),
    ))
}

/// `GET /sns/oauth2/access_token`: a code (single-use, 5 minutes) for a grant.
pub fn exchange_code_request(app_id: &AppId, secret: &AppSecret, code: &str) -> ApiRequest {
    ApiRequest::get(
        "/sns/oauth2/access_token",
        vec![
            ("appid", app_id.to_string()),
            ("secret", secret.secret().to_owned()),
            ("code", code.to_owned()),
            ("grant_type", "authorization_code".into()),
        ],
    )
}

/// `GET /sns/oauth2/refresh_token`: a fresh access token for a grant.
pub fn refresh_request(app_id: &AppId, refresh_token: &RefreshToken) -> ApiRequest {
    ApiRequest::get(
        "/sns/oauth2/refresh_token",
        vec![
            ("appid", app_id.to_string()),
            ("grant_type", "refresh_token".into()),
            ("refresh_token", refresh_token.secret().to_owned()),
        ],
    )
}

/// `GET /sns/auth`: is a user's access token still valid?
pub fn check_request(access_token: &UserAccessToken, openid: &OpenId) -> ApiRequest {
    ApiRequest::get(
        "/sns/auth",
        vec![
            ("access_token", access_token.secret().to_owned()),
            ("openid", openid.to_string()),
        ],
    )
}

/// A user's grant, as `sns/oauth2/access_token` and `refresh_token` return it.
#[derive(Clone, Debug)]
pub struct Grant {
    /// The user's web access token (not the account's access_token).
    pub access_token: UserAccessToken,
    /// Seconds it stays valid.
    pub expires_in: u32,
    /// Renews the access token for 30 days.
    pub refresh_token: RefreshToken,
    /// The user's openid.
    pub openid: OpenId,
    /// The granted scope.
    pub scope: Scope,
    /// Present when the account is bound to an Open Platform account.
    pub unionid: Option<UnionId>,
    /// WeChat's "snapshot" virtual user (shown before real consent).
    pub is_snapshot_user: bool,
}

#[derive(Deserialize)]
struct GrantAnswer {
    access_token: String,
    expires_in: u32,
    refresh_token: String,
    openid: String,
    scope: String,
    #[serde(default)]
    unionid: Option<String>,
    #[serde(default)]
    is_snapshotuser: Option<u8>,
}

/// Reads a grant answer (errcode first).
pub fn parse_grant(status: u16, body: &[u8]) -> Result<Grant, Error> {
    let a: GrantAnswer = super::api::parse_answer(status, body)?;
    if a.openid.is_empty() || a.access_token.is_empty() {
        return Err(Error::BadAnswer(
            "grant without openid or access_token".into(),
        ));
    }
    Ok(Grant {
        access_token: UserAccessToken::new(a.access_token),
        expires_in: a.expires_in,
        refresh_token: RefreshToken::new(a.refresh_token),
        openid: OpenId::new(a.openid),
        scope: Scope::from_granted(&a.scope),
        unionid: a.unionid.filter(|u| !u.is_empty()).map(UnionId::new),
        is_snapshot_user: a.is_snapshotuser == Some(1),
    })
}

/// Reads a `sns/auth` answer: valid, or the upstream error.
pub fn parse_check(status: u16, body: &[u8]) -> Result<bool, Error> {
    match super::api::parse_answer::<serde_json::Value>(status, body) {
        Ok(_) => Ok(true),
        Err(Error::Upstream {
            errcode: 40001 | 42001 | 40003 | 40014,
            ..
        }) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_url_is_exactly_as_documented() {
        let url = authorize_url(
            &Url::parse("https://open.weixin.qq.com").unwrap(),
            &AppId::new("wx520c15f417810387"),
            "https://m.example.com/oauth/callback",
            Scope::UserInfo,
            "abc123",
        )
        .unwrap();
        assert_eq!(
            url,
            "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx520c15f417810387\
             &redirect_uri=https%3A%2F%2Fm.example.com%2Foauth%2Fcallback&response_type=code\
             &scope=snsapi_userinfo&state=abc123&connect_redirect=1#wechat_redirect"
        );
    }

    #[test]
    fn authorize_url_escapes_redirect_query_and_honours_base_override() {
        let url = authorize_url(
            &Url::parse("http://127.0.0.1:9090/").unwrap(),
            &AppId::new("wx1"),
            "http://localhost:3000/oauth/callback?a=1&b=x y",
            Scope::Base,
            "S",
        )
        .unwrap();
        assert!(
            url.starts_with("http://127.0.0.1:9090/connect/oauth2/authorize?appid=wx1&"),
            "{url}"
        );
        assert!(url.contains("redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Foauth%2Fcallback%3Fa%3D1%26b%3Dx%20y&"), "{url}");
    }

    #[test]
    fn authorize_url_refuses_bad_state_and_redirect() {
        let base = Url::parse("https://open.weixin.qq.com").unwrap();
        let app = AppId::new("wx1");
        for state in ["", "has space", "a-b", &"a".repeat(129)] {
            assert!(
                authorize_url(&base, &app, "https://a.example/cb", Scope::Base, state).is_err(),
                "{state}"
            );
        }
        assert!(authorize_url(&base, &app, "not a url", Scope::Base, "s").is_err());
        assert!(authorize_url(&base, &app, "javascript:alert(1)", Scope::Base, "s").is_err());
        assert!(authorize_url(&base, &app, "/relative", Scope::Base, "s").is_err());
    }

    #[test]
    fn scopes_parse_strictly() {
        assert_eq!(Scope::parse("snsapi_base").unwrap(), Scope::Base);
        assert_eq!(Scope::parse("snsapi_userinfo").unwrap(), Scope::UserInfo);
        assert!(matches!(
            Scope::parse("snsapi_login"),
            Err(Error::InvalidInput {
                code: "invalid_scope",
                ..
            })
        ));
        assert_eq!(
            Scope::from_granted("snsapi_base,snsapi_userinfo"),
            Scope::UserInfo
        );
    }

    #[test]
    fn grant_parses_documented_answer() {
        let g = parse_grant(
            200,
            br#"{"access_token":"ACCESS_TOKEN","expires_in":7200,"refresh_token":"REFRESH_TOKEN","openid":"OPENID","scope":"snsapi_userinfo","is_snapshotuser":1,"unionid":"UNIONID"}"#,
        )
        .unwrap();
        assert_eq!(g.openid.as_str(), "OPENID");
        assert_eq!(g.access_token.secret(), "ACCESS_TOKEN");
        assert_eq!(g.scope, Scope::UserInfo);
        assert_eq!(g.unionid.unwrap().as_str(), "UNIONID");
        assert!(g.is_snapshot_user);
        let e = parse_grant(200, br#"{"errcode":40029,"errmsg":"invalid code"}"#).unwrap_err();
        assert_eq!(
            e,
            Error::Upstream {
                errcode: 40029,
                errmsg: "invalid code".into()
            }
        );
    }

    #[test]
    fn exchange_request_carries_the_secret_only_in_params() {
        let req = exchange_code_request(&AppId::new("wx1"), &AppSecret::new("SECRET"), "CODE");
        assert_eq!(
            req.url(&Url::parse("https://api.weixin.qq.com").unwrap()),
            "https://api.weixin.qq.com/sns/oauth2/access_token?appid=wx1&secret=SECRET&code=CODE&grant_type=authorization_code"
        );
        assert!(!format!("{req:?}").contains("SECRET"));
    }

    #[test]
    fn check_maps_invalid_token_to_false() {
        assert_eq!(
            parse_check(200, br#"{"errcode":0,"errmsg":"ok"}"#),
            Ok(true)
        );
        assert_eq!(
            parse_check(200, br#"{"errcode":40003,"errmsg":"invalid openid"}"#),
            Ok(false)
        );
        assert!(parse_check(200, br#"{"errcode":-1,"errmsg":"busy"}"#).is_err());
    }
}
