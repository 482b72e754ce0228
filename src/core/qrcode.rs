//! Parametric QR codes (带参数二维码): `cgi-bin/qrcode/create`, temporary
//! (up to 30 days) or permanent (at most 100,000 per account), carrying a
//! scene that comes back in the `subscribe`/`SCAN` event when a user scans
//! it. Scenes are checked against WeChat's limits before the call.

use serde::{Deserialize, Serialize};
use serde_json::json;
use url::Url;

use super::error::Error;
use super::gateway::ApiPath;

/// WeChat's endpoint.
pub const PATH: &str = "cgi-bin/qrcode/create";
/// The longest a temporary code lives (30 days).
pub const MAX_EXPIRE_SECONDS: u32 = 2_592_000;
/// The highest permanent numeric scene.
pub const MAX_PERMANENT_SCENE_ID: u64 = 100_000;

/// What a QR code carries back when scanned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scene {
    /// A number: temporary codes any non-zero 32-bit one, permanent 1–100,000.
    Id(u64),
    /// A string of 1 to 64 characters.
    Str(String),
}

// By hand rather than `untagged`: serde's buffering of untagged enums costs
// the component far more code than this.
impl<'de> Deserialize<'de> for Scene {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => n
                .as_u64()
                .map(Self::Id)
                .ok_or_else(|| D::Error::custom("a numeric scene is a whole number from 1")),
            serde_json::Value::String(s) => Ok(Self::Str(s)),
            _ => Err(D::Error::custom("scene must be a number or a string")),
        }
    }
}

/// A QR code to create: `{"scene": 123 | "abc", "permanent"?: false, "expire_seconds"?: 2592000}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QrRequest {
    /// The scene.
    pub scene: Scene,
    /// A permanent code (no expiry).
    #[serde(default)]
    pub permanent: bool,
    /// A temporary code's lifetime, 60 to 2,592,000 s (default: the most).
    #[serde(default)]
    pub expire_seconds: Option<u32>,
}

impl QrRequest {
    /// Checks the scene and lifetime and gives the call to make.
    pub fn to_call(&self) -> Result<(ApiPath, Vec<u8>), Error> {
        let invalid = |why: &str| Error::invalid("invalid_qrcode", why.to_owned());
        let (kind, scene) = match (&self.scene, self.permanent) {
            (Scene::Id(id), false) if (1..=u64::from(u32::MAX)).contains(id) => {
                ("QR_SCENE", json!({ "scene_id": id }))
            }
            (Scene::Id(id), true) if (1..=MAX_PERMANENT_SCENE_ID).contains(id) => {
                ("QR_LIMIT_SCENE", json!({ "scene_id": id }))
            }
            (Scene::Id(_), false) => {
                return Err(invalid("a temporary scene id is 1 to 4294967295"))
            }
            (Scene::Id(_), true) => return Err(invalid("a permanent scene id is 1 to 100000")),
            (Scene::Str(s), permanent) => {
                if s.is_empty() || s.chars().count() > 64 {
                    return Err(invalid("a scene string is 1 to 64 characters"));
                }
                (
                    if permanent {
                        "QR_LIMIT_STR_SCENE"
                    } else {
                        "QR_STR_SCENE"
                    },
                    json!({ "scene_str": s }),
                )
            }
        };
        let mut body = json!({ "action_name": kind, "action_info": { "scene": scene } });
        match (self.permanent, self.expire_seconds) {
            (true, Some(_)) => return Err(invalid("a permanent code has no expire_seconds")),
            (true, None) => {}
            (false, seconds) => {
                let seconds = seconds.unwrap_or(MAX_EXPIRE_SECONDS);
                if !(60..=MAX_EXPIRE_SECONDS).contains(&seconds) {
                    return Err(invalid("expire_seconds is 60 to 2592000 (30 days)"));
                }
                body["expire_seconds"] = json!(seconds);
            }
        }
        Ok((ApiPath::parse(PATH)?, body.to_string().into_bytes()))
    }
}

/// A created QR code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QrCode {
    /// The ticket (exchanged for the image).
    pub ticket: String,
    /// Seconds it lives; `None` for a permanent code.
    pub expire_seconds: Option<u64>,
    /// What the image encodes: scan it and WeChat opens the account.
    pub url: String,
    /// Where the image is: `showqrcode` with the ticket.
    pub image_url: String,
}

#[derive(Deserialize)]
struct Answer {
    ticket: String,
    #[serde(default)]
    expire_seconds: Option<u64>,
    url: String,
}

/// Where QR images are served: `https://mp.weixin.qq.com` when `api_base`
/// is WeChat's own, else `api_base` itself (a simulator, a proxy).
pub fn image_base(api_base: &Url) -> Url {
    let wechat = api_base
        .host_str()
        .is_some_and(|h| h == "weixin.qq.com" || h.ends_with(".weixin.qq.com"));
    if wechat {
        Url::parse("https://mp.weixin.qq.com").unwrap_or_else(|_| api_base.clone())
    } else {
        api_base.clone()
    }
}

/// Reads WeChat's answer (errcode first); the image is at
/// `{image_base}/cgi-bin/showqrcode?ticket=…` (`https://mp.weixin.qq.com`
/// for WeChat itself).
pub fn parse_created(status: u16, body: &[u8], image_base: &Url) -> Result<QrCode, Error> {
    let a: Answer = super::api::parse_answer(status, body)?;
    if a.ticket.is_empty() {
        return Err(Error::BadAnswer("QR code without a ticket".into()));
    }
    let mut image = image_base.clone();
    image.set_path(&format!(
        "{}/cgi-bin/showqrcode",
        image_base.path().trim_end_matches('/')
    ));
    image
        .query_pairs_mut()
        .clear()
        .append_pair("ticket", &a.ticket);
    Ok(QrCode {
        image_url: image.into(),
        ticket: a.ticket,
        expire_seconds: a.expire_seconds,
        url: a.url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn call(v: Value) -> Result<Value, Error> {
        let r: QrRequest = serde_json::from_value(v).unwrap();
        r.to_call()
            .map(|(_, b)| serde_json::from_slice(&b).unwrap())
    }

    #[test]
    fn scenes_pick_wechats_action_and_default_to_thirty_days() {
        assert_eq!(
            call(json!({"scene": 123})).unwrap(),
            json!({"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 123}}, "expire_seconds": 2592000})
        );
        assert_eq!(
            call(json!({"scene": "promo-7", "expire_seconds": 600})).unwrap(),
            json!({"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "promo-7"}}, "expire_seconds": 600})
        );
        assert_eq!(
            call(json!({"scene": 100000, "permanent": true})).unwrap(),
            json!({"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100000}}})
        );
        assert_eq!(
            call(json!({"scene": "x", "permanent": true})).unwrap()["action_name"],
            "QR_LIMIT_STR_SCENE"
        );
    }

    #[test]
    fn scenes_outside_wechats_limits_are_refused() {
        for v in [
            json!({"scene": 0}),
            json!({"scene": 4294967296u64}),
            json!({"scene": 100001, "permanent": true}),
            json!({"scene": ""}),
            json!({"scene": "x".repeat(65)}),
            json!({"scene": 1, "expire_seconds": 59}),
            json!({"scene": 1, "expire_seconds": 2592001}),
            json!({"scene": 1, "permanent": true, "expire_seconds": 60}),
        ] {
            assert!(
                matches!(
                    call(v.clone()),
                    Err(Error::InvalidInput {
                        code: "invalid_qrcode",
                        ..
                    })
                ),
                "{v}"
            );
        }
    }

    #[test]
    fn images_come_from_mp_for_wechat_and_from_the_base_otherwise() {
        let base = |u: &str| image_base(&Url::parse(u).unwrap()).to_string();
        assert_eq!(
            base("https://api.weixin.qq.com"),
            "https://mp.weixin.qq.com/"
        );
        assert_eq!(
            base("https://api2.weixin.qq.com/"),
            "https://mp.weixin.qq.com/"
        );
        assert_eq!(base("http://127.0.0.1:7001"), "http://127.0.0.1:7001/");
        assert_eq!(
            base("https://notweixin.qq.com.evil"),
            "https://notweixin.qq.com.evil/"
        );
    }

    #[test]
    fn the_answer_gives_the_image_url() {
        let base = Url::parse("https://mp.weixin.qq.com").unwrap();
        let q = parse_created(
            200,
            br#"{"ticket":"gQH4+/=","expire_seconds":60,"url":"http://weixin.qq.com/q/x"}"#,
            &base,
        )
        .unwrap();
        assert_eq!(
            q.image_url,
            "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=gQH4%2B%2F%3D"
        );
        assert_eq!(q.expire_seconds, Some(60));
        let permanent = parse_created(200, br#"{"ticket":"t","url":"u"}"#, &base).unwrap();
        assert_eq!(permanent.expire_seconds, None);
        assert!(matches!(
            parse_created(
                200,
                br#"{"errcode":40053,"errmsg":"invalid action info"}"#,
                &base
            ),
            Err(Error::Upstream { errcode: 40053, .. })
        ));
    }
}
