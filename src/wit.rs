//! The `wechat:mp` WIT face: bindings for world `library` (the wasi:http
//! export comes from spin-sdk's `#[http_component]`; together they make
//! world `wxmp`) and the one mapping of core values and errors to WIT types.
//! Pure, so the mapping is tested natively; `spin::exports` wires it to the
//! flows on wasm32.

#![allow(missing_docs)]

wit_bindgen::generate!({
    world: "library",
    path: "wit",
    generate_all,
});

use crate::core::custom::{self, CustomContent, CustomMessage};
use crate::core::error::Error;
use crate::core::messages::{Article, Incoming, PushQuery, Reply};
use crate::core::oauth::{Grant, Scope};
use crate::core::qrcode::{QrCode, QrRequest, Scene};
use crate::core::template::{MiniProgram, TemplateMessage};
use crate::core::userinfo::{Lang, Profile};
use crate::core::xml::Node;
use exports::wechat::mp::{api, messages, types};

impl From<Error> for types::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidSignature => Self::InvalidSignature,
            Error::InvalidInput { message, .. } => Self::InvalidInput(message),
            // A push refused by policy did not authenticate as WeChat's.
            Error::Refused { .. } => Self::InvalidSignature,
            Error::Config(m) => Self::Config(m),
            Error::Upstream { errcode, errmsg } => {
                Self::Upstream(types::UpstreamError { errcode, errmsg })
            }
            Error::BadAnswer(m) => Self::Transport(format!("unreadable answer from WeChat: {m}")),
            Error::Transport(m) => Self::Transport(m),
            Error::Timeout(m) => Self::Timeout(m),
            Error::Storage(m) => Self::Storage(m),
            Error::Busy => Self::Busy,
        }
    }
}

impl From<types::Scope> for Scope {
    fn from(s: types::Scope) -> Self {
        match s {
            types::Scope::SnsapiBase => Scope::Base,
            types::Scope::SnsapiUserinfo => Scope::UserInfo,
        }
    }
}

impl From<Scope> for types::Scope {
    fn from(s: Scope) -> Self {
        match s {
            Scope::Base => types::Scope::SnsapiBase,
            Scope::UserInfo => types::Scope::SnsapiUserinfo,
        }
    }
}

impl From<Grant> for types::OauthGrant {
    fn from(g: Grant) -> Self {
        Self {
            access_token: g.access_token.secret().to_owned(),
            expires_in: g.expires_in,
            refresh_token: g.refresh_token.secret().to_owned(),
            openid: g.openid.to_string(),
            scope: g.scope.into(),
            unionid: g.unionid.map(|u| u.to_string()),
            is_snapshot_user: g.is_snapshot_user,
        }
    }
}

impl From<Profile> for types::UserProfile {
    fn from(p: Profile) -> Self {
        Self {
            openid: p.openid.to_string(),
            unionid: p.unionid.map(|u| u.to_string()),
            scope: p.scope.into(),
            nickname: p.nickname,
            sex: p.sex,
            province: p.province,
            city: p.city,
            country: p.country,
            headimgurl: p.headimgurl,
            privilege: p.privilege.unwrap_or_default(),
        }
    }
}

impl From<types::Lang> for Lang {
    fn from(l: types::Lang) -> Self {
        match l {
            types::Lang::ZhCn => Lang::ZhCn,
            types::Lang::ZhTw => Lang::ZhTw,
            types::Lang::En => Lang::En,
        }
    }
}

impl From<messages::PushQuery> for PushQuery {
    fn from(q: messages::PushQuery) -> Self {
        Self {
            signature: q.signature,
            timestamp: q.timestamp,
            nonce: q.nonce,
            encrypt_type: q.encrypt_type,
            msg_signature: q.msg_signature,
        }
    }
}

impl From<&Incoming> for messages::Message {
    fn from(m: &Incoming) -> Self {
        Self {
            msg_type: m.msg_type().to_owned(),
            event: m.get("Event").map(str::to_owned),
            from: m.sender().to_owned(),
            to: m.account().to_owned(),
            create_time: m
                .get("CreateTime")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0),
            msg_id: m.get("MsgId").or_else(|| m.get("MsgID")).map(str::to_owned),
            json: m.to_json().to_string(),
            encrypted: m.encrypted,
        }
    }
}

impl From<&messages::Message> for Incoming {
    /// Enough of the message to address a reply.
    fn from(m: &messages::Message) -> Self {
        Self {
            fields: vec![
                ("ToUserName".into(), Node::Text(m.to.clone())),
                ("FromUserName".into(), Node::Text(m.from.clone())),
            ],
            encrypted: m.encrypted,
        }
    }
}

impl From<messages::Reply> for Reply {
    fn from(r: messages::Reply) -> Self {
        match r {
            messages::Reply::Text(content) => Self::Text { content },
            messages::Reply::Image(media_id) => Self::Image { media_id },
            messages::Reply::Voice(media_id) => Self::Voice { media_id },
            messages::Reply::Video(v) => Self::Video {
                media_id: v.media_id,
                title: v.title,
                description: v.description,
            },
            messages::Reply::Music(m) => Self::Music {
                title: m.title,
                description: m.description,
                music_url: m.music_url,
                hq_music_url: m.hq_music_url,
                thumb_media_id: m.thumb_media_id,
            },
            messages::Reply::News(articles) => Self::News {
                articles: articles
                    .into_iter()
                    .map(|a| Article {
                        title: a.title,
                        description: a.description,
                        pic_url: a.pic_url,
                        url: a.url,
                    })
                    .collect(),
            },
        }
    }
}

impl From<api::TemplateMessage> for TemplateMessage {
    fn from(m: api::TemplateMessage) -> Self {
        let data = m
            .data
            .into_iter()
            .map(|f| {
                let mut field = serde_json::json!({ "value": f.value });
                if let Some(color) = f.color {
                    field["color"] = color.into();
                }
                (f.name, field)
            })
            .collect();
        Self {
            touser: m.touser,
            template_id: m.template_id,
            url: m.url,
            miniprogram: m.miniprogram.map(|p| MiniProgram {
                appid: p.appid,
                pagepath: p.pagepath,
            }),
            data,
            client_msg_id: m.client_msg_id,
        }
    }
}

/// A customer-service message for `touser`.
pub fn custom_message(touser: String, content: api::CustomContent) -> CustomMessage {
    let content = match content {
        api::CustomContent::Text(content) => CustomContent::Text {
            text: custom::Text { content },
        },
        api::CustomContent::Image(media_id) => CustomContent::Image {
            image: custom::Media { media_id },
        },
        api::CustomContent::News(a) => CustomContent::News {
            news: custom::News {
                articles: vec![custom::Article {
                    title: a.title,
                    description: a.description,
                    url: a.url,
                    picurl: a.picurl,
                }],
            },
        },
    };
    CustomMessage { touser, content }
}

/// The QR code to create.
pub fn qr_request(scene: api::QrScene, permanent: bool, expire_seconds: Option<u32>) -> QrRequest {
    QrRequest {
        scene: match scene {
            api::QrScene::Id(id) => Scene::Id(u64::from(id)),
            api::QrScene::Text(text) => Scene::Str(text),
        },
        permanent,
        expire_seconds,
    }
}

impl From<QrCode> for api::QrCode {
    fn from(c: QrCode) -> Self {
        Self {
            ticket: c.ticket,
            expire_seconds: c.expire_seconds.map(|s| s.min(u64::from(u32::MAX)) as u32),
            url: c.url,
            image_url: c.image_url,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::types::{OpenId, RefreshToken, UnionId, UserAccessToken};

    #[test]
    fn every_core_error_has_one_wit_case() {
        let cases: Vec<(Error, &str)> = vec![
            (Error::InvalidSignature, "InvalidSignature"),
            (
                Error::invalid("invalid_url", "url must be on an allowed origin"),
                "InvalidInput(\"url must be on an allowed origin\")",
            ),
            (
                Error::Config("app_id: not set".into()),
                "Config(\"app_id: not set\")",
            ),
            (
                Error::Upstream {
                    errcode: 40029,
                    errmsg: "invalid code".into(),
                },
                "Upstream(UpstreamError { errcode: 40029, errmsg: \"invalid code\" })",
            ),
            (
                Error::BadAnswer("HTTP 502".into()),
                "Transport(\"unreadable answer from WeChat: HTTP 502\")",
            ),
            (Error::Transport("refused".into()), "Transport(\"refused\")"),
            (Error::Timeout("slow".into()), "Timeout(\"slow\")"),
            (Error::Storage("down".into()), "Storage(\"down\")"),
            (Error::Busy, "Busy"),
        ];
        for (core, wit) in cases {
            assert_eq!(
                format!("{:?}", types::Error::from(core)),
                format!("Error::{wit}")
            );
        }
    }

    #[test]
    fn grants_and_profiles_keep_every_field() {
        let grant = Grant {
            access_token: UserAccessToken::new("AT"),
            expires_in: 7200,
            refresh_token: RefreshToken::new("RT"),
            openid: OpenId::new("o1"),
            scope: Scope::UserInfo,
            unionid: Some(UnionId::new("u1")),
            is_snapshot_user: true,
        };
        let g = types::OauthGrant::from(grant.clone());
        assert_eq!(
            (
                g.access_token.as_str(),
                g.refresh_token.as_str(),
                g.openid.as_str(),
                g.expires_in
            ),
            ("AT", "RT", "o1", 7200)
        );
        assert!(
            matches!(g.scope, types::Scope::SnsapiUserinfo)
                && g.is_snapshot_user
                && g.unionid.as_deref() == Some("u1")
        );
        let p = types::UserProfile::from(Profile::from_grant(&grant));
        assert_eq!(
            (p.openid.as_str(), p.unionid.as_deref(), p.privilege.len()),
            ("o1", Some("u1"), 0)
        );
        assert!(matches!(Scope::from(types::Scope::SnsapiBase), Scope::Base));
        assert!(matches!(Lang::from(types::Lang::En), Lang::En));
    }

    #[test]
    fn messages_map_both_ways() {
        let incoming = Incoming {
            fields: crate::core::xml::parse("<xml><ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName><CreateTime>17</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>").unwrap(),
            encrypted: true,
        };
        let m = messages::Message::from(&incoming);
        assert_eq!(
            (
                m.msg_type.as_str(),
                m.event.as_deref(),
                m.from.as_str(),
                m.to.as_str(),
                m.create_time,
                m.msg_id.as_deref()
            ),
            ("event", Some("subscribe"), "o1", "gh_1", 17, None)
        );
        let back = Incoming::from(&m);
        assert_eq!(
            (back.sender(), back.account(), back.encrypted),
            ("o1", "gh_1", true)
        );
        let reply = Reply::from(messages::Reply::News(vec![messages::Article {
            title: "t".into(),
            description: "d".into(),
            pic_url: "p".into(),
            url: "u".into(),
        }]));
        assert!(matches!(reply, Reply::News { ref articles } if articles[0].url == "u"));
    }

    #[test]
    fn api_helpers_map_to_wechats_shapes() {
        let message = TemplateMessage::from(api::TemplateMessage {
            touser: "oU1".into(),
            template_id: "TPL_1".into(),
            url: None,
            miniprogram: Some(api::MiniProgram {
                appid: "wxmini1".into(),
                pagepath: None,
            }),
            data: vec![
                api::TemplateField {
                    name: "keyword1".into(),
                    value: "巧克力".into(),
                    color: None,
                },
                api::TemplateField {
                    name: "keyword2".into(),
                    value: "39.8元".into(),
                    color: Some("#173177".into()),
                },
            ],
            client_msg_id: None,
        });
        let (_, body) = message.to_call().unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            serde_json::json!({"touser": "oU1", "template_id": "TPL_1", "miniprogram": {"appid": "wxmini1"},
                "data": {"keyword1": {"value": "巧克力"}, "keyword2": {"value": "39.8元", "color": "#173177"}}})
        );
        let news = custom_message(
            "oU1".into(),
            api::CustomContent::News(api::NewsArticle {
                title: "T".into(),
                description: String::new(),
                url: "https://m.example.com/a".into(),
                picurl: String::new(),
            }),
        );
        let (_, body) = news.to_call().unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            serde_json::json!({"touser": "oU1", "msgtype": "news", "news": {"articles": [{"title": "T", "url": "https://m.example.com/a"}]}})
        );
        let qr = qr_request(api::QrScene::Text("shop-7".into()), true, None);
        assert_eq!(
            (qr.scene, qr.permanent, qr.expire_seconds),
            (Scene::Str("shop-7".into()), true, None)
        );
        let code = api::QrCode::from(QrCode {
            ticket: "T".into(),
            expire_seconds: Some(60),
            url: "http://weixin.qq.com/q/x".into(),
            image_url: "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=T".into(),
        });
        assert_eq!((code.ticket.as_str(), code.expire_seconds), ("T", Some(60)));
    }
}
