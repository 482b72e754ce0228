//! Template messages (模板消息): `cgi-bin/message/template/send`, checked
//! before they leave so a malformed one is a clear `400` here instead of an
//! errcode from WeChat.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::Error;
use super::gateway::ApiPath;
use super::ids::{check_id, check_url};

/// WeChat's endpoint.
pub const PATH: &str = "cgi-bin/message/template/send";

/// One template message, in WeChat's own field names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateMessage {
    /// The recipient's openid.
    pub touser: String,
    /// The template's id.
    pub template_id: String,
    /// Where a tap leads (a web page), if anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A mini program to open instead (`{"appid", "pagepath"?}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub miniprogram: Option<MiniProgram>,
    /// The fields: `{"keyword1": {"value": "…", "color"?: "#173177"}}`.
    pub data: Map<String, Value>,
    /// WeChat sends one message per recipient and id within 10 minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
}

/// A mini program a template message opens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MiniProgram {
    /// The mini program's AppID.
    pub appid: String,
    /// The page, with its query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagepath: Option<String>,
}

impl TemplateMessage {
    /// Checks the message and gives the call to make: the path and the body.
    pub fn to_call(&self) -> Result<(ApiPath, Vec<u8>), Error> {
        let invalid = |why: &str| Error::invalid("invalid_template", why.to_owned());
        check_id(&self.touser).map_err(|()| invalid("touser must be an openid"))?;
        check_id(&self.template_id).map_err(|()| invalid("template_id must be a template id"))?;
        if let Some(url) = &self.url {
            check_url(url).map_err(|()| invalid("url must be an absolute http(s) URL"))?;
        }
        if let Some(mp) = &self.miniprogram {
            check_id(&mp.appid).map_err(|()| invalid("miniprogram.appid must be an AppID"))?;
        }
        if self.data.is_empty() || self.data.len() > 32 {
            return Err(invalid("data must hold 1 to 32 fields"));
        }
        for (key, field) in &self.data {
            let value = field.get("value").and_then(Value::as_str);
            let keys_ok = field
                .as_object()
                .is_some_and(|o| o.keys().all(|k| k == "value" || k == "color"));
            if check_id(key).is_err() || value.is_none_or(|v| v.chars().count() > 200) || !keys_ok {
                return Err(invalid(
                    "every data field must be {\"value\": text of at most 200 characters, \"color\"?}",
                ));
            }
            if let Some(color) = field.get("color") {
                let ok = color.as_str().is_some_and(|c| {
                    c.len() == 7
                        && c.starts_with('#')
                        && c[1..].bytes().all(|b| b.is_ascii_hexdigit())
                });
                if !ok {
                    return Err(invalid("a data color must be #RRGGBB"));
                }
            }
        }
        if let Some(id) = &self.client_msg_id {
            check_id(id).map_err(|()| {
                invalid("client_msg_id must be 1 to 64 letters, digits, '_' or '-'")
            })?;
        }
        let body = serde_json::to_vec(self)
            .map_err(|e| Error::invalid("invalid_template", e.to_string()))?;
        Ok((ApiPath::parse(PATH)?, body))
    }
}

/// WeChat's answer: the message id (it can exceed 2^53, so a `u64`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// WeChat's id for the message (`TEMPLATESENDJOBFINISH` reports it).
    pub msgid: u64,
}

/// Reads WeChat's answer (errcode first).
pub fn parse_sent(status: u16, body: &[u8]) -> Result<Sent, Error> {
    super::api::parse_answer(status, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message() -> TemplateMessage {
        serde_json::from_value(json!({
            "touser": "oUser1", "template_id": "TPL_ORDER_SHIPPED", "url": "https://m.example.com/o/1",
            "data": {"keyword1": {"value": "巧克力"}, "keyword2": {"value": "39.8元", "color": "#173177"}}
        }))
        .unwrap()
    }

    #[test]
    fn a_good_message_becomes_wechats_body() {
        let (path, body) = message().to_call().unwrap();
        assert_eq!(path.as_str(), PATH);
        let sent: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(sent["touser"], "oUser1");
        assert_eq!(sent["data"]["keyword2"]["color"], "#173177");
        assert!(sent.get("miniprogram").is_none());
        assert_eq!(
            parse_sent(
                200,
                br#"{"errcode":0,"errmsg":"ok","msgid":3717005636572528642}"#
            )
            .unwrap()
            .msgid,
            3717005636572528642
        );
    }

    /// A change that spoils a good message.
    type Spoil = Box<dyn Fn(&mut TemplateMessage)>;

    #[test]
    fn bad_messages_are_refused_before_they_leave() {
        let cases: Vec<(&str, Spoil)> = vec![
            ("touser", Box::new(|m| m.touser = String::new())),
            ("template_id", Box::new(|m| m.template_id = "a b".into())),
            (
                "url",
                Box::new(|m| m.url = Some("javascript:alert(1)".into())),
            ),
            ("data", Box::new(|m| m.data.clear())),
            (
                "data field",
                Box::new(|m| {
                    m.data.insert("k".into(), json!("plain"));
                }),
            ),
            (
                "value",
                Box::new(|m| {
                    m.data.insert("k".into(), json!({"value": "x".repeat(201)}));
                }),
            ),
            (
                "color",
                Box::new(|m| {
                    m.data
                        .insert("k".into(), json!({"value": "x", "color": "red"}));
                }),
            ),
            (
                "extra key",
                Box::new(|m| {
                    m.data
                        .insert("k".into(), json!({"value": "x", "font": "big"}));
                }),
            ),
        ];
        for (what, change) in cases {
            let mut m = message();
            change(&mut m);
            assert!(
                matches!(
                    m.to_call(),
                    Err(Error::InvalidInput {
                        code: "invalid_template",
                        ..
                    })
                ),
                "{what}"
            );
        }
        assert!(serde_json::from_value::<TemplateMessage>(
            json!({"touser": "o", "template_id": "t", "data": {}, "first": 1})
        )
        .is_err());
    }
}
