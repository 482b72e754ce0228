//! Messages the account sends: template messages
//! (`cgi-bin/message/template/send`, to followers, with a `client_msg_id`
//! de-duplicated for 10 minutes) and customer-service messages
//! (`cgi-bin/message/custom/send`, inside the window a user's message opens).
//! What was sent is kept, the latest 1,000, for tests and `/__sim/sent`.

use std::collections::{HashMap, VecDeque};

use serde::Serialize;
use serde_json::{json, Value};

use super::{err, post_json, Answer, Sim, State};
use crate::request::SimRequest;

/// Sent messages kept for inspection.
const KEPT: usize = 1000;
/// How long a template message's `client_msg_id` suppresses repeats.
const DEDUP_MS: u64 = 10 * 60_000;
/// Template msgids are 64-bit and, in newer answers, above 2^53: clients
/// must read them as integers, not as JSON doubles.
const MSGID_BASE: u64 = 3_717_005_636_572_528_642;

/// Which API sent a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// `cgi-bin/message/template/send`.
    Template,
    /// `cgi-bin/message/custom/send`.
    Custom,
}

/// A message WeChat accepted, as the app sent it: what a user would have
/// received, for tests to check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SentMessage {
    /// Which API sent it.
    pub kind: MessageKind,
    /// The msgid answered (template messages only).
    pub msgid: Option<u64>,
    /// When it was accepted (milliseconds since the epoch).
    pub sent_ms: u64,
    /// The JSON body as posted.
    pub body: Value,
}

/// The messages sent so far.
#[derive(Debug, Default)]
pub(super) struct Outbox {
    sent: VecDeque<SentMessage>,
    msgids: u64,
    /// (openid, client_msg_id) → (msgid, when sent).
    client_msg_ids: HashMap<(String, String), (u64, u64)>,
}

impl Outbox {
    fn record(&mut self, message: SentMessage) {
        if self.sent.len() == KEPT {
            self.sent.pop_front();
        }
        self.sent.push_back(message);
    }
}

/// `touser`, `template_id` and `client_msg_id` of a template message whose
/// shape is as documented: `data` an object of `{value, color?}` strings,
/// `url` a string, `miniprogram` with an `appid`.
fn template_fields(v: &Value) -> Option<(&str, &str, Option<&str>)> {
    let touser = v.get("touser")?.as_str()?;
    let template_id = v.get("template_id")?.as_str()?;
    let data_ok = v.get("data")?.as_object()?.values().all(|item| {
        item.get("value").is_some_and(Value::is_string)
            && item.get("color").is_none_or(Value::is_string)
    });
    let url_ok = v.get("url").is_none_or(Value::is_string);
    let miniprogram_ok = v
        .get("miniprogram")
        .is_none_or(|m| m.get("appid").is_some_and(Value::is_string));
    let client_msg_id = match v.get("client_msg_id") {
        Some(id) => Some(id.as_str()?),
        None => None,
    };
    (data_ok && url_ok && miniprogram_ok).then_some((touser, template_id, client_msg_id))
}

impl Sim {
    /// Messages sent through the template and custom APIs, oldest first
    /// (the latest 1,000).
    pub fn sent_messages(&self) -> Vec<SentMessage> {
        self.lock().outbox.sent.iter().cloned().collect()
    }

    /// `cgi-bin/message/template/send`: 47001 for a malformed body, 40003
    /// for an unknown openid, 40037 for a template the account lacks, 43004
    /// when the user does not follow.
    pub(super) fn send_template(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        Self::check_token(st, req, now)?;
        let body: Value = post_json(req)?;
        let (touser, template_id, client_msg_id) = template_fields(&body).ok_or(err(47001))?;
        let user = self.user_named(Some(touser))?;
        if !self.cfg.template_ids.iter().any(|t| t == template_id) {
            return Err(err(40037));
        }
        if !st.users[user].follows() {
            return Err(err(43004));
        }
        let outbox = &mut st.outbox;
        outbox
            .client_msg_ids
            .retain(|_, (_, at)| now.saturating_sub(*at) < DEDUP_MS);
        let key = client_msg_id.map(|id| (touser.to_owned(), id.to_owned()));
        if let Some((msgid, _)) = key.as_ref().and_then(|k| outbox.client_msg_ids.get(k)) {
            // Same openid and client_msg_id within 10 minutes: sent once, no error.
            return Ok(json!({ "errcode": 0, "errmsg": "ok", "msgid": msgid }));
        }
        outbox.msgids += 1;
        let msgid = MSGID_BASE + outbox.msgids;
        if let Some(k) = key {
            outbox.client_msg_ids.insert(k, (msgid, now));
        }
        outbox.record(SentMessage {
            kind: MessageKind::Template,
            msgid: Some(msgid),
            sent_ms: now,
            body,
        });
        Ok(json!({ "errcode": 0, "errmsg": "ok", "msgid": msgid }))
    }

    /// `cgi-bin/message/custom/send`: 47001 for a malformed body, 40008 for
    /// an unknown msgtype, 40003 for an unknown openid, 40007 for media not
    /// uploaded, 45008 for news of more than one article, 45015 outside the
    /// user's 48-hour window, 45047 past its 5 messages.
    pub(super) fn send_custom(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        Self::check_token(st, req, now)?;
        let body: Value = post_json(req)?;
        let (Some(touser), Some(msgtype)) = (
            body.get("touser").and_then(Value::as_str),
            body.get("msgtype").and_then(Value::as_str),
        ) else {
            return Err(err(47001));
        };
        let user = self.user_named(Some(touser))?;
        let payload = body.get(msgtype).filter(|p| p.is_object());
        let text = |key: &str| payload.and_then(|p| p.get(key)).and_then(Value::as_str);
        match msgtype {
            "text" => {
                text("content").ok_or(err(47001))?;
            }
            "image" | "voice" | "video" => {
                let media_id = text("media_id").ok_or(err(47001))?;
                if !st.media.contains(media_id, now) {
                    return Err(err(40007));
                }
            }
            "news" => {
                let articles = payload
                    .and_then(|p| p.get("articles"))
                    .and_then(Value::as_array)
                    .filter(|a| !a.is_empty() && a.iter().all(Value::is_object))
                    .ok_or(err(47001))?;
                if articles.len() > 1 {
                    return Err(err(45008));
                }
            }
            "music" | "mpnews" | "mpnewsarticle" | "msgmenu" | "wxcard" | "miniprogrampage" => {
                payload.ok_or(err(47001))?;
            }
            _ => return Err(err(40008)),
        }
        st.users[user].take_custom_slot(now)?;
        st.outbox.record(SentMessage {
            kind: MessageKind::Custom,
            msgid: None,
            sent_ms: now,
            body,
        });
        Ok(json!({ "errcode": 0, "errmsg": "ok" }))
    }
}
