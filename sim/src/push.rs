//! WeChat as the pusher: builds signed (and in safe mode encrypted) pushes
//! the way WeChat's servers send them, and opens the encrypted replies.
//! Written independently of wxmp's own crypto, so each checks the other.

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde::Deserialize;
use sha1::{Digest, Sha1};

use crate::SimConfig;

/// How the account's server is configured in the console.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// 明文模式: plain XML, `signature` only.
    Plain,
    /// 兼容模式: plain fields and `Encrypt` side by side.
    Compat,
    /// 安全模式: only `Encrypt`.
    Safe,
}

/// A push ready to POST: the query string and the XML body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Push {
    /// `signature=…&timestamp=…&nonce=…[&openid…][&encrypt_type=aes&msg_signature=…]`.
    pub query: String,
    /// The XML body.
    pub body: String,
}

fn signature(parts: &mut [&str]) -> String {
    parts.sort();
    let mut h = Sha1::new();
    for p in parts.iter() {
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

fn aes_key(encoding_aes_key: &str) -> [u8; 32] {
    let lenient = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let bytes = lenient
        .decode(encoding_aes_key)
        .expect("the simulator's EncodingAESKey is valid");
    bytes.try_into().expect("43 base64 characters are 32 bytes")
}

/// Encrypts like WeChat: random(16) ‖ len(4, BE) ‖ msg ‖ appid, padded to 32.
pub fn encrypt(encoding_aes_key: &str, app_id: &str, random: [u8; 16], msg: &str) -> String {
    let key = aes_key(encoding_aes_key);
    let mut buf = random.to_vec();
    buf.extend((msg.len() as u32).to_be_bytes());
    buf.extend(msg.as_bytes());
    buf.extend(app_id.as_bytes());
    let n = 32 - buf.len() % 32;
    buf.resize(buf.len() + n, n as u8);
    let len = buf.len();
    let out = cbc::Encryptor::<aes::Aes256>::new(&key.into(), key[..16].into())
        .encrypt_padded_mut::<NoPadding>(&mut buf, len)
        .expect("whole blocks");
    STANDARD.encode(out)
}

/// Decrypts a reply's `Encrypt`, checking the AppID at its end.
pub fn decrypt(encoding_aes_key: &str, app_id: &str, encrypted: &str) -> Result<String, String> {
    let key = aes_key(encoding_aes_key);
    let mut buf = STANDARD
        .decode(encrypted)
        .map_err(|e| format!("base64: {e}"))?;
    let plain = cbc::Decryptor::<aes::Aes256>::new(&key.into(), key[..16].into())
        .decrypt_padded_mut::<NoPadding>(&mut buf)
        .map_err(|_| "not whole blocks".to_string())?;
    let n = *plain.last().ok_or("empty")? as usize;
    if !(1..=32).contains(&n) || n > plain.len() {
        return Err(format!("bad padding {n}"));
    }
    let body = &plain[..plain.len() - n];
    let len = u32::from_be_bytes(
        body.get(16..20)
            .ok_or("short")?
            .try_into()
            .map_err(|_| "short")?,
    ) as usize;
    let msg = body.get(20..20 + len).ok_or("length beyond data")?;
    if &body[20 + len..] != app_id.as_bytes() {
        return Err("reply encrypted for another AppID".into());
    }
    String::from_utf8(msg.to_vec()).map_err(|_| "not UTF-8".into())
}

/// Builds the push of `xml` (a complete `<xml>…</xml>` message) in `mode`.
pub fn build(
    cfg: &SimConfig,
    mode: Mode,
    xml: &str,
    timestamp: u64,
    nonce: &str,
    random: [u8; 16],
) -> Push {
    let ts = timestamp.to_string();
    let sig = signature(&mut [cfg.server_token.as_str(), &ts, nonce]);
    if mode == Mode::Plain {
        return Push {
            query: format!("signature={sig}&timestamp={ts}&nonce={nonce}"),
            body: xml.to_owned(),
        };
    }
    let encrypted = encrypt(&cfg.encoding_aes_key, &cfg.app_id, random, xml);
    let msg_sig = signature(&mut [cfg.server_token.as_str(), &ts, nonce, &encrypted]);
    let body = match mode {
        Mode::Compat => xml.replacen("</xml>", &format!("<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"), 1),
        _ => format!("<xml><ToUserName><![CDATA[{}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>", cfg.original_id),
    };
    Push {
        query: format!(
            "signature={sig}&timestamp={ts}&nonce={nonce}&encrypt_type=aes&msg_signature={msg_sig}"
        ),
        body,
    }
}

fn between<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    let inner = &xml[start..end];
    Some(
        inner
            .strip_prefix("<![CDATA[")
            .and_then(|s| s.strip_suffix("]]>"))
            .unwrap_or(inner),
    )
}

/// Opens a reply as WeChat would: `success` or plain XML as is; a sealed
/// envelope has its `MsgSignature` checked and is decrypted.
pub fn open_reply(cfg: &SimConfig, body: &str) -> Result<String, String> {
    let Some(encrypted) = between(body, "Encrypt") else {
        return Ok(body.to_owned());
    };
    let ts = between(body, "TimeStamp").ok_or("sealed reply without TimeStamp")?;
    let nonce = between(body, "Nonce").ok_or("sealed reply without Nonce")?;
    let sig = between(body, "MsgSignature").ok_or("sealed reply without MsgSignature")?;
    if signature(&mut [cfg.server_token.as_str(), ts, nonce, encrypted]) != sig {
        return Err("reply MsgSignature does not match".into());
    }
    decrypt(&cfg.encoding_aes_key, &cfg.app_id, encrypted)
}

/// The openid (`FromUserName`) of a pushed user message; `None` for events
/// (`MsgType` event), which open no 48-hour window.
pub fn message_sender(xml: &str) -> Option<&str> {
    (between(xml, "MsgType")? != "event").then_some(())?;
    between(xml, "FromUserName")
}

/// A text message from user `user` as WeChat would push it.
pub fn text_message(
    cfg: &SimConfig,
    user: usize,
    content: &str,
    create_time: u64,
    msg_id: u64,
) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{}]]></ToUserName><FromUserName><![CDATA[{}]]></FromUserName><CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>",
        cfg.original_id, cfg.users[user].openid
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tencent's published sample, from the pusher's side.
    #[test]
    fn tencent_sample_signatures_and_decryption() {
        let cfg = SimConfig {
            server_token: "spamtest".into(),
            encoding_aes_key: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG".into(),
            app_id: "wx2c2769f8efd9abc2".into(),
            ..SimConfig::default()
        };
        assert_eq!(
            signature(&mut ["spamtest", "1409735669", "1320562132"]),
            "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a"
        );
        let enc = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";
        assert_eq!(
            signature(&mut ["spamtest", "1409735669", "1320562132", enc]),
            "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
        );
        let xml = decrypt(&cfg.encoding_aes_key, &cfg.app_id, enc).unwrap();
        assert!(xml.contains("<Content><![CDATA[abcdteT]]></Content>"));
    }

    #[test]
    fn pushes_in_every_mode_carry_what_wechat_sends() {
        let cfg = SimConfig::default();
        let xml = text_message(&cfg, 0, "hi", 1_700_000_000, 42);
        let plain = build(&cfg, Mode::Plain, &xml, 1_700_000_001, "n1", [0; 16]);
        assert!(!plain.query.contains("encrypt_type") && plain.body == xml);
        let safe = build(&cfg, Mode::Safe, &xml, 1_700_000_001, "n1", [0; 16]);
        assert!(safe.query.contains("&encrypt_type=aes&msg_signature="));
        assert!(!safe.body.contains("hi"));
        assert_eq!(
            decrypt(
                &cfg.encoding_aes_key,
                &cfg.app_id,
                between(&safe.body, "Encrypt").unwrap()
            )
            .unwrap(),
            xml
        );
        let compat = build(&cfg, Mode::Compat, &xml, 1_700_000_001, "n1", [0; 16]);
        assert!(
            compat.body.contains("<Content><![CDATA[hi]]></Content>")
                && compat.body.contains("<Encrypt>")
        );
        assert_eq!(open_reply(&cfg, "success").unwrap(), "success");
        assert_eq!(message_sender(&xml), Some(cfg.users[0].openid.as_str()));
        let event = xml.replace("<MsgType><![CDATA[text]]>", "<MsgType><![CDATA[event]]>");
        assert_eq!(message_sender(&event), None);
    }
}
