//! Message and event push (`POST /wx`): verify, decrypt and parse a push;
//! describe it as JSON for the webhook; turn the webhook's answer into a
//! passive reply, encrypted in safe mode.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::crypto;
use super::error::Error;
use super::types::{AesKey, AppId, ServerToken};
use super::verify::{check_server_signature, check_sorted_signature, sorted_sha1};
use super::xml::{self, cdata, Node};

/// The query WeChat sends with a push.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushQuery {
    /// `signature`: token, timestamp, nonce.
    pub signature: String,
    /// `timestamp`.
    pub timestamp: String,
    /// `nonce`.
    pub nonce: String,
    /// `encrypt_type`: `aes` in safe and compat mode.
    pub encrypt_type: Option<String>,
    /// `msg_signature`: token, timestamp, nonce and the `Encrypt` field.
    pub msg_signature: Option<String>,
}

/// A verified, decrypted push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming {
    /// The fields, in document order.
    pub fields: Vec<(String, Node)>,
    /// True when it came encrypted (the reply must be encrypted too).
    pub encrypted: bool,
}

/// How the account's server is configured in WeChat's console
/// (消息加解密方式), which decides the pushes wxmp accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageMode {
    /// 明文模式: plain XML signed with `signature`.
    Plaintext,
    /// 兼容模式: WeChat sends plain fields and `Encrypt` side by side;
    /// both forms are accepted.
    Compat,
    /// 安全模式: only encrypted pushes (`encrypt_type=aes` and a valid
    /// `msg_signature`) are accepted.
    Safe,
}

/// A push's `timestamp` may be at most this far from now, either way:
/// a captured query cannot be replayed later.
pub const MAX_PUSH_SKEW_SECS: u64 = 300;

/// What a push is checked against.
#[derive(Clone, Copy, Debug)]
pub struct PushRules<'a> {
    /// The server Token (both signatures).
    pub token: &'a ServerToken,
    /// The AES key, when configured.
    pub aes_key: Option<&'a AesKey>,
    /// The AppID an encrypted push must be for.
    pub app_id: &'a AppId,
    /// Which forms are accepted.
    pub mode: MessageMode,
    /// Seconds since the epoch.
    pub now: u64,
}

/// Verifies `body` against `query` and the rules, and returns the message
/// inside: signature, freshness, mode, then (encrypted) `msg_signature`,
/// AppID and decryption.
pub fn open(rules: &PushRules, query: &PushQuery, body: &[u8]) -> Result<Incoming, Error> {
    check_server_signature(
        rules.token,
        &query.signature,
        &query.timestamp,
        &query.nonce,
    )?;
    let fresh = query
        .timestamp
        .parse::<u64>()
        .is_ok_and(|t| t.abs_diff(rules.now) <= MAX_PUSH_SKEW_SECS);
    if !fresh {
        return Err(Error::refused(
            "stale_push",
            format!("the push's timestamp is more than {MAX_PUSH_SKEW_SECS} s from now"),
        ));
    }
    let encrypted = query.encrypt_type.as_deref() == Some("aes");
    if rules.mode == MessageMode::Safe && !encrypted {
        return Err(Error::refused(
            "encryption_required",
            "message_mode is safe: pushes must be encrypted (encrypt_type=aes with msg_signature)",
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| Error::invalid("invalid_xml", "the body is not UTF-8"))?;
    let outer = xml::parse(text)?;
    if !encrypted {
        return Ok(Incoming {
            fields: outer,
            encrypted: false,
        });
    }
    let key = rules.aes_key.ok_or_else(|| {
        Error::Config(
            "encoding_aes_key: not set, but WeChat sends encrypted messages (safe mode)".into(),
        )
    })?;
    let encrypt = field_text(&outer, "Encrypt")
        .ok_or_else(|| Error::invalid("invalid_xml", "safe mode push without an Encrypt field"))?;
    let msg_signature = query
        .msg_signature
        .as_deref()
        .ok_or(Error::InvalidSignature)?;
    check_sorted_signature(
        &[
            rules.token.secret(),
            &query.timestamp,
            &query.nonce,
            encrypt,
        ],
        msg_signature,
    )?;
    let inner = crypto::decrypt(key, rules.app_id, encrypt)?;
    Ok(Incoming {
        fields: xml::parse(&inner)?,
        encrypted: true,
    })
}

fn field_text<'a>(fields: &'a [(String, Node)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, n)| n.text())
}

impl Incoming {
    /// A top-level text field.
    pub fn get(&self, name: &str) -> Option<&str> {
        field_text(&self.fields, name)
    }

    /// `MsgType` (text, image, voice, video, shortvideo, location, link, event…).
    pub fn msg_type(&self) -> &str {
        self.get("MsgType").unwrap_or_default()
    }

    /// The sender's openid (`FromUserName`).
    pub fn sender(&self) -> &str {
        self.get("FromUserName").unwrap_or_default()
    }

    /// The Official Account's id (`ToUserName`).
    pub fn account(&self) -> &str {
        self.get("ToUserName").unwrap_or_default()
    }

    /// What identifies a push across WeChat's retries: `MsgId`, or for
    /// events `FromUserName` + `CreateTime` + `Event`.
    pub fn dedup_key(&self) -> String {
        match self.get("MsgId").or_else(|| self.get("MsgID")) {
            Some(id) => format!("msg:{id}"),
            None => format!(
                "event:{}:{}:{}",
                self.sender(),
                self.get("CreateTime").unwrap_or_default(),
                self.get("Event").unwrap_or_default()
            ),
        }
    }

    /// The webhook's JSON: `msg_type`, `event`, `from`, `to`, `create_time`,
    /// `msg_id`, every other field snake_cased (nested ones as objects), and
    /// `raw` with the original names. Nothing is dropped.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("msg_type".into(), json!(self.msg_type()));
        for (name, node) in &self.fields {
            let key = match name.as_str() {
                "MsgType" => continue,
                "FromUserName" => "from".to_owned(),
                "ToUserName" => "to".to_owned(),
                "MsgId" | "MsgID" => "msg_id".to_owned(),
                other => snake_case(other),
            };
            let value = match (key.as_str(), node) {
                ("create_time", Node::Text(t)) => {
                    t.parse::<u64>().map_or_else(|_| json!(t), |n| json!(n))
                }
                _ => node_json(node, true),
            };
            out.insert(key, value);
        }
        out.insert(
            "raw".into(),
            Value::Object(
                self.fields
                    .iter()
                    .map(|(k, n)| (k.clone(), node_json(n, false)))
                    .collect(),
            ),
        );
        Value::Object(out)
    }
}

fn node_json(node: &Node, snake: bool) -> Value {
    match node {
        Node::Text(t) => json!(t),
        Node::Children(children) => {
            let mut map = Map::new();
            for (k, n) in children {
                let key = if snake { snake_case(k) } else { k.clone() };
                let value = node_json(n, snake);
                // Repeated children (e.g. PicList items) become arrays.
                match map.get_mut(&key) {
                    Some(Value::Array(items)) => items.push(value),
                    Some(existing) => *existing = json!([existing.take(), value]),
                    None => {
                        map.insert(key, value);
                    }
                }
            }
            Value::Object(map)
        }
    }
}

/// `PicUrl` → `pic_url`, `Location_X` → `location_x`, `MsgID` → `msg_id`,
/// `HQMusicUrl` → `hq_music_url`, `MediaId16K` → `media_id_16k`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
        let boundary = match (prev, c) {
            (Some(p), c) if c.is_ascii_uppercase() => {
                p.is_ascii_lowercase() || (p.is_ascii_uppercase() && next_lower)
            }
            (Some(p), c) if c.is_ascii_digit() => p.is_ascii_alphabetic(),
            _ => false,
        };
        if boundary && !out.ends_with('_') {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// One article of a news reply.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Article {
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Picture URL.
    #[serde(default)]
    pub pic_url: String,
    /// Link.
    #[serde(default)]
    pub url: String,
}

/// A passive reply, as a webhook describes it: `{"type":"text","content":"hi"}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reply {
    /// A text message.
    Text {
        /// The text.
        content: String,
    },
    /// An image by media id.
    Image {
        /// Uploaded media id.
        media_id: String,
    },
    /// A voice message by media id.
    Voice {
        /// Uploaded media id.
        media_id: String,
    },
    /// A video by media id.
    Video {
        /// Uploaded media id.
        media_id: String,
        /// Title.
        #[serde(default)]
        title: String,
        /// Description.
        #[serde(default)]
        description: String,
    },
    /// Music.
    Music {
        /// Title.
        #[serde(default)]
        title: String,
        /// Description.
        #[serde(default)]
        description: String,
        /// Music URL.
        #[serde(default)]
        music_url: String,
        /// High-quality music URL (Wi-Fi).
        #[serde(default)]
        hq_music_url: String,
        /// Thumbnail media id.
        thumb_media_id: String,
    },
    /// Up to 8 articles (WeChat shows one since 2018, extras are ignored by it).
    News {
        /// The articles.
        articles: Vec<Article>,
    },
}

/// Reads a webhook's answer: a reply, or `None` for an empty body / `null`.
pub fn parse_reply(body: &[u8]) -> Result<Option<Reply>, Error> {
    let invalid = |why: String| Error::invalid("invalid_reply", why);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("not JSON: {e}")))?;
    if value.is_null() {
        return Ok(None);
    }
    let reply: Reply =
        serde_json::from_value(value).map_err(|e| invalid(format!("not a reply: {e}")))?;
    if let Reply::News { articles } = &reply {
        if articles.is_empty() || articles.len() > 8 {
            return Err(invalid("news needs 1 to 8 articles".into()));
        }
    }
    Ok(Some(reply))
}

/// The reply XML to `incoming` (addresses swapped) at `now`.
pub fn reply_xml(incoming: &Incoming, reply: &Reply, now: u64) -> String {
    let head = format!(
        "<ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{now}</CreateTime>",
        cdata(incoming.sender()),
        cdata(incoming.account())
    );
    let body = match reply {
        Reply::Text { content } => format!("<MsgType>{}</MsgType><Content>{}</Content>", cdata("text"), cdata(content)),
        Reply::Image { media_id } => format!("<MsgType>{}</MsgType><Image><MediaId>{}</MediaId></Image>", cdata("image"), cdata(media_id)),
        Reply::Voice { media_id } => format!("<MsgType>{}</MsgType><Voice><MediaId>{}</MediaId></Voice>", cdata("voice"), cdata(media_id)),
        Reply::Video { media_id, title, description } => format!(
            "<MsgType>{}</MsgType><Video><MediaId>{}</MediaId><Title>{}</Title><Description>{}</Description></Video>",
            cdata("video"),
            cdata(media_id),
            cdata(title),
            cdata(description)
        ),
        Reply::Music { title, description, music_url, hq_music_url, thumb_media_id } => format!(
            "<MsgType>{}</MsgType><Music><Title>{}</Title><Description>{}</Description><MusicUrl>{}</MusicUrl><HQMusicUrl>{}</HQMusicUrl><ThumbMediaId>{}</ThumbMediaId></Music>",
            cdata("music"),
            cdata(title),
            cdata(description),
            cdata(music_url),
            cdata(hq_music_url),
            cdata(thumb_media_id)
        ),
        Reply::News { articles } => {
            let items: String = articles
                .iter()
                .map(|a| {
                    format!(
                        "<item><Title>{}</Title><Description>{}</Description><PicUrl>{}</PicUrl><Url>{}</Url></item>",
                        cdata(&a.title),
                        cdata(&a.description),
                        cdata(&a.pic_url),
                        cdata(&a.url)
                    )
                })
                .collect();
            format!("<MsgType>{}</MsgType><ArticleCount>{}</ArticleCount><Articles>{items}</Articles>", cdata("news"), articles.len())
        }
    };
    format!("<xml>{head}{body}</xml>")
}

/// What safe mode needs to seal a reply: fresh timestamp, nonce and randomness.
#[derive(Clone, Copy, Debug)]
pub struct Seal<'a> {
    /// The account's AES key.
    pub key: &'a AesKey,
    /// The AppID the reply is encrypted for.
    pub app_id: &'a AppId,
    /// The server Token, for `MsgSignature`.
    pub token: &'a ServerToken,
    /// Seconds since the epoch.
    pub timestamp: u64,
    /// A fresh nonce.
    pub nonce: &'a str,
    /// 16 random bytes for the plaintext prefix.
    pub random: [u8; 16],
}

/// The encrypted envelope WeChat expects in safe mode.
pub fn seal(reply_xml: &str, s: Seal) -> String {
    let encrypt = crypto::encrypt(s.key, s.app_id, s.random, reply_xml);
    let timestamp = s.timestamp.to_string();
    let signature = sorted_sha1(&[s.token.secret(), &timestamp, s.nonce, &encrypt]);
    format!(
        "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>{timestamp}</TimeStamp><Nonce>{}</Nonce></xml>",
        cdata(&encrypt),
        cdata(&signature),
        cdata(s.nonce)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::crypto::decode_aes_key;

    const SAMPLE_ENCRYPT: &str = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";

    fn sample_query() -> PushQuery {
        PushQuery {
            signature: "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a".into(),
            timestamp: "1409735669".into(),
            nonce: "1320562132".into(),
            encrypt_type: Some("aes".into()),
            msg_signature: Some("5d197aaffba7e9b25a30732f161a50dee96bd5fa".into()),
        }
    }

    fn sample_body() -> String {
        format!("<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA[{SAMPLE_ENCRYPT}]]></Encrypt></xml>")
    }

    fn key() -> AesKey {
        decode_aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").unwrap()
    }

    /// The sample's timestamp, as "now".
    const SAMPLE_NOW: u64 = 1409735669;

    fn sample_account() -> (ServerToken, AesKey, AppId) {
        (
            ServerToken::new("spamtest"),
            key(),
            AppId::new("wx2c2769f8efd9abc2"),
        )
    }

    fn rules<'a>(
        token: &'a ServerToken,
        aes_key: Option<&'a AesKey>,
        app_id: &'a AppId,
        mode: MessageMode,
    ) -> PushRules<'a> {
        PushRules {
            token,
            aes_key,
            app_id,
            mode,
            now: SAMPLE_NOW,
        }
    }

    #[test]
    fn tencent_sample_push_opens() {
        let (token, key, app) = sample_account();
        let m = open(
            &rules(&token, Some(&key), &app, MessageMode::Safe),
            &sample_query(),
            sample_body().as_bytes(),
        )
        .unwrap();
        assert!(m.encrypted);
        assert_eq!(
            (m.msg_type(), m.get("Content"), m.sender()),
            ("text", Some("abcdteT"), "oyORnuP8q7ou2gfYjqLzSIWZf0rs")
        );
        assert_eq!(m.dedup_key(), "msg:6054768590064713728");
        assert_eq!(
            m.to_json(),
            json!({
                "msg_type": "text", "to": "gh_10f6c3c3ac5a", "from": "oyORnuP8q7ou2gfYjqLzSIWZf0rs", "create_time": 1409735668u64,
                "content": "abcdteT", "msg_id": "6054768590064713728",
                "raw": {"ToUserName": "gh_10f6c3c3ac5a", "FromUserName": "oyORnuP8q7ou2gfYjqLzSIWZf0rs", "CreateTime": "1409735668",
                        "MsgType": "text", "Content": "abcdteT", "MsgId": "6054768590064713728"}
            })
        );
    }

    #[test]
    fn bad_signatures_and_missing_key_are_refused() {
        let (token, key, app) = sample_account();
        let safe = rules(&token, Some(&key), &app, MessageMode::Safe);
        let body = sample_body();
        let mut q = sample_query();
        q.msg_signature = Some("0".repeat(40));
        assert_eq!(
            open(&safe, &q, body.as_bytes()),
            Err(Error::InvalidSignature)
        );
        q.msg_signature = None;
        assert_eq!(
            open(&safe, &q, body.as_bytes()),
            Err(Error::InvalidSignature)
        );
        let mut q = sample_query();
        q.signature = "0".repeat(40);
        assert_eq!(
            open(&safe, &q, body.as_bytes()),
            Err(Error::InvalidSignature)
        );
        let keyless = rules(&token, None, &app, MessageMode::Plaintext);
        assert!(matches!(
            open(&keyless, &sample_query(), body.as_bytes()),
            Err(Error::Config(_))
        ));
        let other = AppId::new("wxOTHER");
        assert!(matches!(
            open(
                &rules(&token, Some(&key), &other, MessageMode::Safe),
                &sample_query(),
                body.as_bytes()
            ),
            Err(Error::InvalidInput {
                code: "invalid_appid",
                ..
            })
        ));
    }

    /// A plaintext push of the sample message, signed for `timestamp`.
    fn plain(token: &ServerToken, timestamp: u64) -> (PushQuery, String) {
        let ts = timestamp.to_string();
        let q = PushQuery {
            signature: crate::core::verify::server_signature(token, &ts, "n1"),
            timestamp: ts,
            nonce: "n1".into(),
            ..PushQuery::default()
        };
        (
            q,
            "<xml><MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>".into(),
        )
    }

    #[test]
    fn each_mode_accepts_what_wechat_sends_in_it() {
        let (token, key, app) = sample_account();
        let (pq, pbody) = plain(&token, SAMPLE_NOW);
        let (eq, ebody) = (sample_query(), sample_body());
        for (mode, plain_ok, encrypted_ok) in [
            (MessageMode::Plaintext, true, true),
            (MessageMode::Compat, true, true),
            (MessageMode::Safe, false, true),
        ] {
            let r = rules(&token, Some(&key), &app, mode);
            let p = open(&r, &pq, pbody.as_bytes());
            assert_eq!(p.is_ok(), plain_ok, "{mode:?} plaintext: {p:?}");
            if !plain_ok {
                assert!(matches!(
                    p,
                    Err(Error::Refused {
                        code: "encryption_required",
                        ..
                    })
                ));
            }
            let e = open(&r, &eq, ebody.as_bytes());
            assert_eq!(
                e.map(|m| m.encrypted).ok(),
                encrypted_ok.then_some(true),
                "{mode:?}"
            );
        }
        // In safe mode a plaintext body with the query of an encrypted push
        // but no encrypt_type is still refused.
        let mut q = sample_query();
        q.encrypt_type = None;
        let safe = rules(&token, Some(&key), &app, MessageMode::Safe);
        assert!(matches!(
            open(&safe, &q, pbody.as_bytes()),
            Err(Error::Refused {
                code: "encryption_required",
                ..
            })
        ));
    }

    #[test]
    fn pushes_more_than_five_minutes_off_are_refused() {
        let (token, key, app) = sample_account();
        let r = rules(&token, Some(&key), &app, MessageMode::Compat);
        for (offset, ok) in [
            (0i64, true),
            (300, true),
            (-300, true),
            (301, false),
            (-301, false),
            (-86_400, false),
        ] {
            let (q, body) = plain(&token, SAMPLE_NOW.checked_add_signed(offset).unwrap());
            let got = open(&r, &q, body.as_bytes());
            assert_eq!(got.is_ok(), ok, "{offset}: {got:?}");
            if !ok {
                assert!(matches!(
                    got,
                    Err(Error::Refused {
                        code: "stale_push",
                        ..
                    })
                ));
            }
        }
        let ts = "soon".to_owned();
        let q = PushQuery {
            signature: crate::core::verify::server_signature(&token, &ts, "n1"),
            timestamp: ts,
            nonce: "n1".into(),
            ..PushQuery::default()
        };
        assert!(matches!(
            open(&r, &q, b"<xml/>"),
            Err(Error::Refused {
                code: "stale_push",
                ..
            })
        ));
    }

    #[test]
    fn snake_case_matches_wechat_names() {
        for (from, to) in [
            ("PicUrl", "pic_url"),
            ("Location_X", "location_x"),
            ("MsgID", "msg_id"),
            ("EventKey", "event_key"),
            ("ThumbMediaId", "thumb_media_id"),
            ("HQMusicUrl", "hq_music_url"),
            ("Content", "content"),
            ("SendPicsInfo", "send_pics_info"),
            ("MediaId16K", "media_id_16k"),
            ("Location_Y", "location_y"),
        ] {
            assert_eq!(snake_case(from), to);
        }
    }

    #[test]
    fn replies_parse_strictly() {
        assert_eq!(parse_reply(b"").unwrap(), None);
        assert_eq!(parse_reply(b"null").unwrap(), None);
        assert_eq!(
            parse_reply(br#"{"type":"text","content":"hi"}"#).unwrap(),
            Some(Reply::Text {
                content: "hi".into()
            })
        );
        for bad in [
            &br#"{"type":"sticker"}"#[..],
            br#"{"type":"text"}"#,
            br#"{"type":"news","articles":[]}"#,
            b"<xml/>",
            br#"{"type":"text","content":"x","extra":1}"#,
        ] {
            assert!(
                parse_reply(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn reply_xml_swaps_addresses_and_round_trips_sealed() {
        let m = Incoming {
            fields: xml::parse("<xml><ToUserName>gh_1</ToUserName><FromUserName>o_user</FromUserName><MsgType>text</MsgType></xml>").unwrap(),
            encrypted: true,
        };
        let x = reply_xml(
            &m,
            &Reply::Text {
                content: "你好]]>".into(),
            },
            1_700_000_000,
        );
        let f = xml::parse(&x).unwrap();
        assert_eq!(field_text(&f, "ToUserName"), Some("o_user"));
        assert_eq!(field_text(&f, "FromUserName"), Some("gh_1"));
        assert_eq!(field_text(&f, "Content"), Some("你好]]>"));
        let (token, app) = (ServerToken::new("spamtest"), AppId::new("wx1"));
        let sealed = seal(
            &x,
            Seal {
                key: &key(),
                app_id: &app,
                token: &token,
                timestamp: 1_700_000_000,
                nonce: "n1",
                random: [3; 16],
            },
        );
        let env = xml::parse(&sealed).unwrap();
        let encrypt = field_text(&env, "Encrypt").unwrap();
        assert_eq!(
            field_text(&env, "MsgSignature").unwrap(),
            sorted_sha1(&["spamtest", "1700000000", "n1", encrypt])
        );
        assert_eq!(crypto::decrypt(&key(), &app, encrypt).unwrap(), x);
        let news = reply_xml(
            &m,
            &Reply::News {
                articles: vec![Article {
                    title: "t".into(),
                    description: "d".into(),
                    pic_url: "p".into(),
                    url: "u".into(),
                }],
            },
            1,
        );
        assert!(
            news.contains(
                "<ArticleCount>1</ArticleCount><Articles><item><Title><![CDATA[t]]></Title>"
            ),
            "{news}"
        );
    }
}
