//! Message push end to end: open the push, answer WeChat's retries with the
//! first answer, ask the webhook (4 s budget) what to reply, seal the reply.
//! With `late_reply = "customer_service"` a webhook that misses the budget
//! is waited for after WeChat got `success` (up to [`LATE_REPLY_LIMIT_MS`])
//! and its reply goes to the user as a customer-service message.

use serde::{Deserialize, Serialize};

use crate::core::config::{need, LateReply};
use crate::core::custom::{CustomContent, CustomMessage};
use crate::core::error::Error;
use crate::core::gateway::Caller;
use crate::core::keys::{Key, Keys};
use crate::core::messages::{self, Incoming, PushQuery, PushRules, Seal};
use crate::core::method::Method;
use crate::core::nonce::nonce_str;
use crate::ports::{Env, OutboundRequest, OutboundResponse, PendingResponse, Timeouts};

use super::store::{read, write};

/// The whole webhook exchange must fit here, well inside WeChat's 5 s.
pub const WEBHOOK_TIMEOUTS: Timeouts = Timeouts {
    connect_ms: 1_000,
    first_byte_ms: 4_000,
    total_ms: 4_000,
};
/// How long a late webhook may take, from the push, when its reply becomes
/// a customer-service message: inside wxmp-host's 30 s request deadline.
pub const LATE_REPLY_LIMIT_MS: u64 = 20_000;
/// The webhook exchange when a late reply is still of use.
const LATE_WEBHOOK_TIMEOUTS: Timeouts = Timeouts {
    connect_ms: 1_000,
    first_byte_ms: LATE_REPLY_LIMIT_MS,
    total_ms: LATE_REPLY_LIMIT_MS,
};
/// Answer slots for retry dedup: storage stays bounded, a retry (within
/// WeChat's 15 s) finds its answer unless thousands of pushes came between.
const DEDUP_SLOTS: u64 = 65_536;
/// How long a retry waits for the first delivery's answer.
const RETRY_WAIT_MS: u64 = 4_500;

/// What `POST /wx` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushAnswer {
    /// `success`, or the (possibly sealed) reply XML.
    pub body: String,
    /// True for reply XML, false for the plain `success`.
    pub is_xml: bool,
}

impl PushAnswer {
    fn success() -> Self {
        Self {
            body: "success".into(),
            is_xml: false,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Slot {
    key: String,
    answer: PushAnswer,
}

/// Slots remembering which body each recent (timestamp, nonce) came with.
const NONCE_SLOTS: u64 = 65_536;
/// The largest reply kept for retries; a webhook reply whose XML is larger
/// is dropped (logged) and WeChat gets `success`.
pub const MAX_REPLY_BYTES: usize = 16 * 1024;

/// A webhook that missed the push's budget, still to be waited for once
/// WeChat has its answer ([`deliver_late`]).
pub struct LateWebhook {
    pending: Box<dyn PendingResponse>,
    /// The answer, when it came late but complete (adapters that wait).
    came: Option<Result<OutboundResponse, Error>>,
    incoming: Incoming,
    started_ms: u64,
    target: String,
}

impl std::fmt::Debug for LateWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LateWebhook({})", self.target)
    }
}

/// Handles one push: open it, then answer WeChat's retries with the first
/// answer. A late webhook comes back too, for after the answer.
pub fn handle(
    env: &Env,
    query: &PushQuery,
    body: &[u8],
) -> Result<(PushAnswer, Option<LateWebhook>), Error> {
    let incoming = open(env, query, body)?;
    let dedup = incoming.dedup_key();
    let digest = crate::core::mac::sha256_hex(dedup.as_bytes());
    let keys = Keys::new(need(env.config.app_id())?);
    let slot_key = keys.push_slot(slot_of(&digest, DEDUP_SLOTS));
    if let Some(answer) = stored_answer(env, &slot_key, &dedup)? {
        return Ok((answer, None));
    }
    let claim_key = keys.push_claim(&digest);
    if env.kv.increment(&claim_key, 1)? > 1 {
        let answer = wait_for_answer(env, &slot_key, &dedup)?.unwrap_or_else(PushAnswer::success);
        return Ok((answer, None));
    }
    let answered = (|| {
        // The first delivery may have finished between our look and our claim.
        if let Some(answer) = stored_answer(env, &slot_key, &dedup)? {
            return Ok((answer, None));
        }
        let (answer, late) = answer_for(env, incoming)?;
        write(
            env,
            &slot_key,
            &Slot {
                key: dedup,
                answer: answer.clone(),
            },
        )?;
        Ok((answer, late))
    })();
    // Deleted whatever happened, so the claim never outlives its push.
    let _ = env.kv.delete(&claim_key);
    answered
}

/// Verifies, checks freshness and mode, decrypts and parses a push (the
/// pure rules are `core::messages::open`), and refuses a (timestamp,
/// nonce) already seen with another body: a captured query cannot carry a
/// forged body, while WeChat's identical retries pass through to the dedup.
pub fn open(env: &Env, query: &PushQuery, body: &[u8]) -> Result<Incoming, Error> {
    let cfg = env.config;
    let rules = PushRules {
        token: need(cfg.token())?,
        aes_key: need(cfg.encoding_aes_key())?.as_ref(),
        app_id: need(cfg.app_id())?,
        mode: *need(cfg.message_mode())?,
        now: env.now_s(),
    };
    let incoming = messages::open(&rules, query, body)?;
    let seen = Seen {
        timestamp: query.timestamp.clone(),
        nonce: query.nonce.clone(),
        body: crate::core::mac::sha256_hex(body),
    };
    let pair =
        crate::core::mac::sha256_hex(format!("{}\n{}", seen.timestamp, seen.nonce).as_bytes());
    let nonce_key = Keys::new(rules.app_id).push_nonce(slot_of(&pair, NONCE_SLOTS));
    match read::<Seen>(env, &nonce_key)? {
        Some(prev) if prev.timestamp == seen.timestamp && prev.nonce == seen.nonce => {
            if prev.body != seen.body {
                env.log
                    .log("push refused: its timestamp and nonce came before with another body");
                return Err(Error::refused(
                    "replayed_push",
                    "this timestamp and nonce were already used with another body",
                ));
            }
        }
        _ => write(env, &nonce_key, &seen)?,
    }
    Ok(incoming)
}

/// A (timestamp, nonce) pair and the hash of the body it came with.
#[derive(Serialize, Deserialize)]
struct Seen {
    timestamp: String,
    nonce: String,
    body: String,
}

/// The slot for a hex digest among `slots`.
fn slot_of(digest: &str, slots: u64) -> u64 {
    u64::from_str_radix(&digest[..12], 16).unwrap_or(0) % slots
}

fn stored_answer(env: &Env, slot_key: &Key, dedup: &str) -> Result<Option<PushAnswer>, Error> {
    Ok(read::<Slot>(env, slot_key)?
        .filter(|s| s.key == dedup)
        .map(|s| s.answer))
}

fn wait_for_answer(env: &Env, slot_key: &Key, dedup: &str) -> Result<Option<PushAnswer>, Error> {
    let deadline = env.clock.now_ms() + RETRY_WAIT_MS;
    while env.clock.now_ms() < deadline {
        env.clock.sleep_ms(50);
        if let Some(answer) = stored_answer(env, slot_key, dedup)? {
            return Ok(Some(answer));
        }
    }
    Ok(None)
}

/// Asks the webhook, builds the reply, seals it in safe mode.
fn answer_for(env: &Env, incoming: Incoming) -> Result<(PushAnswer, Option<LateWebhook>), Error> {
    let reply = match ask_webhook(env, incoming)? {
        Asked::Late(late) => return Ok((PushAnswer::success(), Some(late))),
        Asked::Replied(_, None) => return Ok((PushAnswer::success(), None)),
        Asked::Replied(incoming, Some(reply)) => (incoming, reply),
    };
    let (incoming, reply) = reply;
    let answer = seal_reply(env, &incoming, &reply)?;
    if answer.body.len() > MAX_REPLY_BYTES {
        env.log.log(&format!(
            "webhook reply of {} bytes is over {MAX_REPLY_BYTES}; answering success",
            answer.body.len()
        ));
        return Ok((PushAnswer::success(), None));
    }
    Ok((answer, None))
}

/// The reply XML to `incoming` with a fresh timestamp, encrypted and signed
/// (fresh nonce) when `incoming` came encrypted.
pub fn seal_reply(
    env: &Env,
    incoming: &Incoming,
    reply: &messages::Reply,
) -> Result<PushAnswer, Error> {
    let now = env.now_s();
    let xml = messages::reply_xml(incoming, reply, now);
    if !incoming.encrypted {
        return Ok(PushAnswer {
            body: xml,
            is_xml: true,
        });
    }
    let cfg = env.config;
    let key = need(cfg.encoding_aes_key())?
        .as_ref()
        .ok_or_else(|| Error::Config("encoding_aes_key: not set".into()))?;
    let nonce = nonce_str(env.random());
    let sealed = messages::seal(
        &xml,
        Seal {
            key,
            app_id: need(cfg.app_id())?,
            token: need(cfg.token())?,
            timestamp: now,
            nonce: &nonce,
            random: env.random(),
        },
    );
    Ok(PushAnswer {
        body: sealed,
        is_xml: true,
    })
}

/// What asking the webhook gave: its reply (if any) in time, or a
/// webhook still to be waited for.
enum Asked {
    Replied(Incoming, Option<messages::Reply>),
    Late(LateWebhook),
}

/// POSTs the message JSON to `message_webhook`; any failure is logged and
/// means "no reply" — WeChat then gets `success`, never an error. With
/// `late_reply = "customer_service"` a webhook that misses the budget is
/// handed back to be waited for after the answer.
fn ask_webhook(env: &Env, incoming: Incoming) -> Result<Asked, Error> {
    let Some(url) = need(env.config.message_webhook())? else {
        return Ok(Asked::Replied(incoming, None));
    };
    let late_mode = *need(env.config.late_reply())? == LateReply::CustomerService;
    let target = format!("{}{}", url.host_str().unwrap_or_default(), url.path());
    let request = OutboundRequest {
        method: Method::Post,
        url: url.to_string(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: Some(incoming.to_json().to_string().into_bytes()),
        timeouts: if late_mode {
            LATE_WEBHOOK_TIMEOUTS
        } else {
            WEBHOOK_TIMEOUTS
        },
    };
    let started = env.clock.now_ms();
    let budget_end = started + WEBHOOK_TIMEOUTS.total_ms;
    let mut pending = env.http.start(&request);
    let outcome = pending.wait_until(budget_end);
    let took = env.clock.now_ms().saturating_sub(started);
    let in_time = took <= WEBHOOK_TIMEOUTS.total_ms;
    if late_mode && (outcome.is_none() || !in_time) {
        env.log.log(&format!(
            "webhook POST {target} still without a reply after {took}ms; answering success, its reply goes as a customer-service message"
        ));
        return Ok(Asked::Late(LateWebhook {
            pending,
            came: outcome,
            incoming,
            started_ms: started,
            target,
        }));
    }
    let outcome = outcome.unwrap_or_else(|| {
        Err(Error::Timeout(format!(
            "no answer within {} ms",
            WEBHOOK_TIMEOUTS.total_ms
        )))
    });
    match reply_of(outcome) {
        Ok(reply) => {
            env.log.log(&format!("webhook POST {target} ok {took}ms"));
            Ok(Asked::Replied(incoming, reply))
        }
        Err(why) => {
            env.log.log(&format!(
                "webhook POST {target} failed ({why}) {took}ms; answering success"
            ));
            Ok(Asked::Replied(incoming, None))
        }
    }
}

/// The webhook's reply, or why there is none.
fn reply_of(outcome: Result<OutboundResponse, Error>) -> Result<Option<messages::Reply>, String> {
    match outcome {
        Ok(r) if (200..300).contains(&r.status) => {
            messages::parse_reply(&r.body).map_err(|e| format!("status={} {e}", r.status))
        }
        Ok(r) => Err(format!("status={}", r.status)),
        Err(e) => Err(format!("error=\"{e}\"")),
    }
}

/// After WeChat got `success`: waits for the late webhook (up to
/// [`LATE_REPLY_LIMIT_MS`] from the push) and sends its reply to the user
/// as a customer-service message. Everything is logged, nothing retried:
/// 45015 means the user is outside WeChat's 48-hour window.
pub fn deliver_late(env: &Env, late: LateWebhook) {
    let LateWebhook {
        mut pending,
        came,
        incoming,
        started_ms,
        target,
    } = late;
    let outcome = came.or_else(|| pending.wait_until(started_ms + LATE_REPLY_LIMIT_MS));
    let took = env.clock.now_ms().saturating_sub(started_ms);
    let outcome = outcome.unwrap_or_else(|| {
        Err(Error::Timeout(format!(
            "no answer within {LATE_REPLY_LIMIT_MS} ms"
        )))
    });
    let reply = match reply_of(outcome) {
        Ok(Some(reply)) => reply,
        Ok(None) => {
            env.log.log(&format!(
                "late webhook POST {target} answered without a reply {took}ms"
            ));
            return;
        }
        Err(why) => {
            env.log.log(&format!(
                "late webhook POST {target} failed ({why}) {took}ms; nothing sent"
            ));
            return;
        }
    };
    let Some(content) = CustomContent::from_reply(reply) else {
        env.log.log(&format!(
            "late webhook POST {target} replied {took}ms with a kind a customer-service message cannot carry (text, image or news only); nothing sent"
        ));
        return;
    };
    let message = CustomMessage {
        touser: incoming.sender().to_owned(),
        content,
    };
    match super::send::custom(env, &Caller::Internal("late_reply"), &message) {
        Ok(()) => env.log.log(&format!(
            "late webhook reply ({took}ms) sent as a customer-service message"
        )),
        Err(Error::Upstream { errcode: 45015, .. }) => env.log.log(
            "late webhook reply not delivered: errcode 45015, the user is outside WeChat's 48-hour window (not retried)",
        ),
        Err(e) => env.log.log(&format!("late webhook reply not delivered: {e} (not retried)")),
    }
}
