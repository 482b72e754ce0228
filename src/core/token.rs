//! The account's access_token and jsapi_ticket as WeChat issues them:
//! request builders and answer parsers. How they are cached and shared is
//! `cache`'s business.

use serde::Deserialize;

use super::api::{parse_answer, ApiRequest};
use super::error::Error;
use super::types::{AccessToken, AppId, AppSecret, JsapiTicket};

/// A freshly issued credential and how long WeChat says it lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued<V> {
    /// The token or ticket (a secret type, redacted in Debug).
    pub value: V,
    /// Seconds it stays valid (7200 as of writing).
    pub expires_in: u64,
}

/// `GET /cgi-bin/token`: each call invalidates the previous token (after a
/// short grace period), so only one service per account may use it.
pub fn classic_token_request(app_id: &AppId, secret: &AppSecret) -> ApiRequest {
    ApiRequest::get(
        "/cgi-bin/token",
        vec![
            ("grant_type", "client_credential".into()),
            ("appid", app_id.to_string()),
            ("secret", secret.secret().to_owned()),
        ],
    )
}

/// `POST /cgi-bin/stable_token`: the same token while it is valid; with
/// `force_refresh` a new one (rate-limited by WeChat, 20 a day).
pub fn stable_token_request(app_id: &AppId, secret: &AppSecret, force_refresh: bool) -> ApiRequest {
    ApiRequest::post_json(
        "/cgi-bin/stable_token",
        &serde_json::json!({
            "grant_type": "client_credential",
            "appid": app_id.as_str(),
            "secret": secret.secret(),
            "force_refresh": force_refresh,
        }),
    )
}

/// `GET /cgi-bin/ticket/getticket?type=jsapi`.
pub fn ticket_request(token: &AccessToken) -> ApiRequest {
    ApiRequest::get(
        "/cgi-bin/ticket/getticket",
        vec![
            ("access_token", token.secret().to_owned()),
            ("type", "jsapi".into()),
        ],
    )
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct TicketAnswer {
    ticket: String,
    expires_in: u64,
}

/// Reads a `token` or `stable_token` answer.
pub fn parse_token(status: u16, body: &[u8]) -> Result<Issued<AccessToken>, Error> {
    let a: TokenAnswer = parse_answer(status, body)?;
    issued(a.access_token, a.expires_in).map(|(v, e)| Issued {
        value: AccessToken::new(v),
        expires_in: e,
    })
}

/// Reads a `getticket` answer.
pub fn parse_ticket(status: u16, body: &[u8]) -> Result<Issued<JsapiTicket>, Error> {
    let a: TicketAnswer = parse_answer(status, body)?;
    issued(a.ticket, a.expires_in).map(|(v, e)| Issued {
        value: JsapiTicket::new(v),
        expires_in: e,
    })
}

fn issued(value: String, expires_in: u64) -> Result<(String, u64), Error> {
    if value.is_empty() || expires_in == 0 {
        return Err(Error::BadAnswer("empty credential or zero lifetime".into()));
    }
    Ok((value, expires_in))
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn base() -> Url {
        Url::parse("https://api.weixin.qq.com").unwrap()
    }

    #[test]
    fn requests_are_as_documented() {
        let (app, secret) = (AppId::new("wx1"), AppSecret::new("S"));
        assert_eq!(
            classic_token_request(&app, &secret).url(&base()),
            "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=S"
        );
        let stable = stable_token_request(&app, &secret, true);
        assert_eq!(
            stable.url(&base()),
            "https://api.weixin.qq.com/cgi-bin/stable_token"
        );
        let body: serde_json::Value =
            serde_json::from_str(stable.json_body.as_deref().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"grant_type":"client_credential","appid":"wx1","secret":"S","force_refresh":true})
        );
        assert_eq!(
            ticket_request(&AccessToken::new("T")).url(&base()),
            "https://api.weixin.qq.com/cgi-bin/ticket/getticket?access_token=T&type=jsapi"
        );
    }

    #[test]
    fn answers_parse_and_errors_surface() {
        assert_eq!(
            parse_token(200, br#"{"access_token":"AT","expires_in":7200}"#)
                .unwrap()
                .value
                .secret(),
            "AT"
        );
        assert_eq!(
            parse_ticket(
                200,
                br#"{"errcode":0,"errmsg":"ok","ticket":"TK","expires_in":7200}"#
            )
            .unwrap()
            .expires_in,
            7200
        );
        assert_eq!(
            parse_token(
                200,
                br#"{"errcode":40164,"errmsg":"invalid ip 1.2.3.4, not in whitelist"}"#
            )
            .unwrap_err(),
            Error::Upstream {
                errcode: 40164,
                errmsg: "invalid ip 1.2.3.4, not in whitelist".into()
            }
        );
        assert!(matches!(
            parse_token(200, br#"{"access_token":"","expires_in":7200}"#),
            Err(Error::BadAnswer(_))
        ));
        assert_eq!(
            format!(
                "{:?}",
                parse_token(200, br#"{"access_token":"AT","expires_in":7200}"#).unwrap()
            ),
            "Issued { value: AccessToken([redacted]), expires_in: 7200 }"
        );
    }
}
