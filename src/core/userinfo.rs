//! The user's profile from `sns/userinfo` (snsapi_userinfo grants only),
//! and the profile shape wxmp stores in a session and serves at `/api/me`.

use serde::{Deserialize, Serialize};

use super::api::ApiRequest;
use super::error::Error;
use super::oauth::{Grant, Scope};
use super::types::{OpenId, UnionId, UserAccessToken};

/// The language of country/province/city names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    /// `zh_CN`, WeChat's default.
    #[default]
    ZhCn,
    /// `zh_TW`.
    ZhTw,
    /// `en`.
    En,
}

impl Lang {
    /// WeChat's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ZhCn => "zh_CN",
            Self::ZhTw => "zh_TW",
            Self::En => "en",
        }
    }
}

/// `GET /sns/userinfo` with a user's web access token.
pub fn userinfo_request(access_token: &UserAccessToken, openid: &OpenId, lang: Lang) -> ApiRequest {
    ApiRequest::get(
        "/sns/userinfo",
        vec![
            ("access_token", access_token.secret().to_owned()),
            ("openid", openid.to_string()),
            ("lang", lang.as_str().into()),
        ],
    )
}

/// A user's profile as far as the scope allows; `/api/me` serves it as is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The user's id within the Official Account.
    pub openid: OpenId,
    /// The Open Platform–wide id, when bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unionid: Option<UnionId>,
    /// The scope the profile was obtained under.
    pub scope: Scope,
    /// Nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// 1 male, 2 female, 0 unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<u8>,
    /// Province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Avatar URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headimgurl: Option<String>,
    /// Privileges (e.g. `chinaunicom`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privilege: Option<Vec<String>>,
}

impl Profile {
    /// What a snsapi_base grant tells: the ids only.
    pub fn from_grant(grant: &Grant) -> Self {
        Self {
            openid: grant.openid.clone(),
            unionid: grant.unionid.clone(),
            scope: grant.scope,
            nickname: None,
            sex: None,
            province: None,
            city: None,
            country: None,
            headimgurl: None,
            privilege: None,
        }
    }
}

#[derive(Deserialize)]
struct UserInfoAnswer {
    openid: String,
    #[serde(default)]
    nickname: Option<String>,
    #[serde(default)]
    sex: Option<u8>,
    #[serde(default)]
    province: Option<String>,
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    headimgurl: Option<String>,
    #[serde(default)]
    privilege: Option<Vec<String>>,
    #[serde(default)]
    unionid: Option<String>,
}

/// Reads a `sns/userinfo` answer into a snsapi_userinfo profile.
pub fn parse_userinfo(status: u16, body: &[u8]) -> Result<Profile, Error> {
    let a: UserInfoAnswer = super::api::parse_answer(status, body)?;
    Ok(Profile {
        openid: OpenId::new(a.openid),
        unionid: a.unionid.filter(|u| !u.is_empty()).map(UnionId::new),
        scope: Scope::UserInfo,
        nickname: a.nickname,
        sex: a.sex,
        province: a.province,
        city: a.city,
        country: a.country,
        headimgurl: a.headimgurl,
        privilege: a.privilege,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_answer_parses_and_serialises_for_api_me() {
        let p = parse_userinfo(
            200,
            r#"{"openid":"OPENID","nickname":"小明","sex":1,"province":"广东","city":"深圳","country":"中国","headimgurl":"https://thirdwx.qlogo.cn/mmopen/x/46","privilege":["PRIVILEGE1","PRIVILEGE2"],"unionid":"o6_bmasdasdsad6_2sgVt7hMZOPfL"}"#.as_bytes(),
        )
        .unwrap();
        assert_eq!(p.nickname.as_deref(), Some("小明"));
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["scope"], "snsapi_userinfo");
        assert_eq!(json["unionid"], "o6_bmasdasdsad6_2sgVt7hMZOPfL");
        assert_eq!(json["privilege"][1], "PRIVILEGE2");
    }

    #[test]
    fn base_profile_has_only_ids() {
        let json = serde_json::json!({"openid": "o1", "scope": "snsapi_base"});
        let p: Profile = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&p).unwrap(), json);
    }

    #[test]
    fn snsapi_base_token_gets_48001() {
        let e =
            parse_userinfo(200, br#"{"errcode":48001,"errmsg":"api unauthorized"}"#).unwrap_err();
        assert_eq!(
            e,
            Error::Upstream {
                errcode: 48001,
                errmsg: "api unauthorized".into()
            }
        );
    }

    #[test]
    fn request_has_lang() {
        let r = userinfo_request(&UserAccessToken::new("T"), &OpenId::new("O"), Lang::En);
        assert_eq!(
            r.url(&url::Url::parse("https://api.weixin.qq.com").unwrap()),
            "https://api.weixin.qq.com/sns/userinfo?access_token=T&openid=O&lang=en"
        );
    }
}
