//! Customer-service messages (客服消息): `cgi-bin/message/custom/send`, the
//! way to answer a user after the 5-second passive-reply window — text, an
//! image, or one news link (WeChat allows one article). WeChat only delivers
//! them within 48 hours of the user's last message (else errcode 45015).

use serde::{Deserialize, Serialize};

use super::error::Error;
use super::gateway::ApiPath;
use super::ids::{check_id, check_url};
use super::messages::Reply;

/// WeChat's endpoint.
pub const PATH: &str = "cgi-bin/message/custom/send";
/// The longest text sent (WeChat's limit is about 2,048 bytes).
const MAX_TEXT_BYTES: usize = 2048;

/// A customer-service message in WeChat's shape:
/// `{"touser", "msgtype": "text", "text": {"content"}}` and likewise
/// `image` `{"media_id"}`, `news` `{"articles": [{"title", "description"?, "url", "picurl"?}]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CustomMessage {
    /// The recipient's openid.
    pub touser: String,
    /// What is sent.
    #[serde(flatten)]
    pub content: CustomContent,
}

// By hand rather than `flatten`: serde's flattening deserializer costs the
// component tens of KiB for this one struct.
impl<'de> Deserialize<'de> for CustomMessage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut value = serde_json::Value::deserialize(d)?;
        let touser = match value.as_object_mut().and_then(|o| o.remove("touser")) {
            Some(serde_json::Value::String(t)) => t,
            _ => return Err(D::Error::custom("touser must be a string")),
        };
        let content = CustomContent::deserialize(value).map_err(D::Error::custom)?;
        Ok(Self { touser, content })
    }
}

/// The content of a customer-service message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "msgtype", rename_all = "snake_case", deny_unknown_fields)]
pub enum CustomContent {
    /// Text (links allowed).
    Text {
        /// `{"content"}`.
        text: Text,
    },
    /// An image uploaded as media.
    Image {
        /// `{"media_id"}`.
        image: Media,
    },
    /// One link with a title and picture.
    News {
        /// `{"articles": [one]}`.
        news: News,
    },
}

/// A text body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// The text.
    pub content: String,
}

/// A media reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Media {
    /// The media id from `cgi-bin/media/upload`.
    pub media_id: String,
}

/// A news body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct News {
    /// Exactly one article.
    pub articles: Vec<Article>,
}

/// A news article.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Article {
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Where it leads.
    pub url: String,
    /// Its picture.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub picurl: String,
}

impl CustomContent {
    /// A passive reply as a customer-service message (a late webhook
    /// reply): text, an image, or the first article of a news reply, which
    /// is all WeChat sends this way; `None` for voice, video and music.
    pub fn from_reply(reply: Reply) -> Option<Self> {
        Some(match reply {
            Reply::Text { content } => Self::Text {
                text: Text { content },
            },
            Reply::Image { media_id } => Self::Image {
                image: Media { media_id },
            },
            Reply::News { articles } => {
                let first = articles.into_iter().next()?;
                Self::News {
                    news: News {
                        articles: vec![Article {
                            title: first.title,
                            description: first.description,
                            url: first.url,
                            picurl: first.pic_url,
                        }],
                    },
                }
            }
            Reply::Voice { .. } | Reply::Video { .. } | Reply::Music { .. } => return None,
        })
    }
}

impl CustomMessage {
    /// Checks the message and gives the call to make: the path and the body.
    pub fn to_call(&self) -> Result<(ApiPath, Vec<u8>), Error> {
        let invalid = |why: &str| Error::invalid("invalid_message", why.to_owned());
        check_id(&self.touser).map_err(|()| invalid("touser must be an openid"))?;
        match &self.content {
            CustomContent::Text { text } => {
                if text.content.is_empty() || text.content.len() > MAX_TEXT_BYTES {
                    return Err(invalid("text.content must be 1 to 2048 bytes"));
                }
            }
            CustomContent::Image { image } => {
                check_id(&image.media_id)
                    .map_err(|()| invalid("image.media_id must be a media id"))?;
            }
            CustomContent::News { news } => {
                let [article] = news.articles.as_slice() else {
                    return Err(invalid(
                        "news must hold exactly one article (WeChat's limit)",
                    ));
                };
                if article.title.is_empty() || article.title.chars().count() > 64 {
                    return Err(invalid("an article needs a title of at most 64 characters"));
                }
                check_url(&article.url)
                    .map_err(|()| invalid("an article's url must be an absolute http(s) URL"))?;
                if !article.picurl.is_empty() {
                    check_url(&article.picurl).map_err(|()| {
                        invalid("an article's picurl must be an absolute http(s) URL")
                    })?;
                }
            }
        }
        let body = serde_json::to_vec(self)
            .map_err(|e| Error::invalid("invalid_message", e.to_string()))?;
        Ok((ApiPath::parse(PATH)?, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn parse(v: Value) -> CustomMessage {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn each_kind_goes_out_in_wechats_shape() {
        for v in [
            json!({"touser": "oU1", "msgtype": "text", "text": {"content": "收到，稍后回复"}}),
            json!({"touser": "oU1", "msgtype": "image", "image": {"media_id": "MEDIA_1"}}),
            json!({"touser": "oU1", "msgtype": "news", "news": {"articles": [{"title": "T", "url": "https://m.example.com/a", "picurl": "https://m.example.com/p.jpg"}]}}),
        ] {
            let (path, body) = parse(v.clone()).to_call().unwrap();
            assert_eq!(path.as_str(), PATH);
            assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), v);
        }
    }

    #[test]
    fn bad_messages_are_refused_before_they_leave() {
        for v in [
            json!({"touser": "", "msgtype": "text", "text": {"content": "x"}}),
            json!({"touser": "oU1", "msgtype": "text", "text": {"content": ""}}),
            json!({"touser": "oU1", "msgtype": "text", "text": {"content": "x".repeat(2049)}}),
            json!({"touser": "oU1", "msgtype": "image", "image": {"media_id": "../x"}}),
            json!({"touser": "oU1", "msgtype": "news", "news": {"articles": []}}),
            json!({"touser": "oU1", "msgtype": "news", "news": {"articles": [{"title": "a", "url": "https://a.example"}, {"title": "b", "url": "https://b.example"}]}}),
            json!({"touser": "oU1", "msgtype": "news", "news": {"articles": [{"title": "a", "url": "ftp://a.example"}]}}),
        ] {
            assert!(
                matches!(
                    parse(v.clone()).to_call(),
                    Err(Error::InvalidInput {
                        code: "invalid_message",
                        ..
                    })
                ),
                "{v}"
            );
        }
        assert!(serde_json::from_value::<CustomMessage>(
            json!({"touser": "o", "msgtype": "sticker"})
        )
        .is_err());
    }

    #[test]
    fn passive_replies_become_customer_service_content() {
        let text = CustomContent::from_reply(Reply::Text {
            content: "晚点到".into(),
        });
        assert_eq!(
            text,
            Some(CustomContent::Text {
                text: Text {
                    content: "晚点到".into()
                }
            })
        );
        let news = CustomContent::from_reply(Reply::News {
            articles: vec![
                crate::core::messages::Article {
                    title: "A".into(),
                    description: "d".into(),
                    pic_url: "https://p/1".into(),
                    url: "https://u/1".into(),
                },
                crate::core::messages::Article {
                    title: "B".into(),
                    description: String::new(),
                    pic_url: String::new(),
                    url: "https://u/2".into(),
                },
            ],
        });
        let Some(CustomContent::News { news }) = news else {
            panic!("news")
        };
        assert_eq!(
            (
                news.articles.len(),
                news.articles[0].title.as_str(),
                news.articles[0].picurl.as_str()
            ),
            (1, "A", "https://p/1")
        );
        assert_eq!(
            CustomContent::from_reply(Reply::Voice {
                media_id: "m".into()
            }),
            None
        );
        assert_eq!(
            CustomContent::from_reply(Reply::News { articles: vec![] }),
            None
        );
    }
}
