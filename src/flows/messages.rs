//! Message push end to end: open the push, answer WeChat's retries with the
//! first answer, ask the webhook (4 s budget) what to reply, seal the reply.

use serde::{Deserialize, Serialize};

use crate::core::config::need;
use crate::core::error::Error;
use crate::core::keys::{Key, Keys};
use crate::core::messages::{self, Incoming, PushQuery, PushRules, Seal};
use crate::core::method::Method;
use crate::core::nonce::nonce_str;
use crate::ports::{Env, OutboundRequest, Timeouts};

use super::store::{read, write};

/// The whole webhook exchange must fit here, well inside WeChat's 5 s.
pub const WEBHOOK_TIMEOUTS: Timeouts = Timeouts {
    connect_ms: 1_000,
    first_byte_ms: 4_000,
    total_ms: 4_000,
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

/// Handles one push: open it, then answer WeChat's retries with the first
/// answer.
pub fn handle(env: &Env, query: &PushQuery, body: &[u8]) -> Result<PushAnswer, Error> {
    let incoming = open(env, query, body)?;
    let dedup = incoming.dedup_key();
    let digest = crate::core::mac::sha256_hex(dedup.as_bytes());
    let keys = Keys::new(need(env.config.app_id())?);
    let slot_key = keys.push_slot(slot_of(&digest, DEDUP_SLOTS));
    if let Some(answer) = stored_answer(env, &slot_key, &dedup)? {
        return Ok(answer);
    }
    let claim_key = keys.push_claim(&digest);
    if env.kv.increment(&claim_key, 1)? > 1 {
        return Ok(wait_for_answer(env, &slot_key, &dedup)?.unwrap_or_else(PushAnswer::success));
    }
    let answered = (|| {
        // The first delivery may have finished between our look and our claim.
        if let Some(answer) = stored_answer(env, &slot_key, &dedup)? {
            return Ok(answer);
        }
        let answer = answer_for(env, &incoming)?;
        write(
            env,
            &slot_key,
            &Slot {
                key: dedup,
                answer: answer.clone(),
            },
        )?;
        Ok(answer)
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
fn answer_for(env: &Env, incoming: &Incoming) -> Result<PushAnswer, Error> {
    let Some(reply) = ask_webhook(env, incoming)? else {
        return Ok(PushAnswer::success());
    };
    let answer = seal_reply(env, incoming, &reply)?;
    if answer.body.len() > MAX_REPLY_BYTES {
        env.log.log(&format!(
            "webhook reply of {} bytes is over {MAX_REPLY_BYTES}; answering success",
            answer.body.len()
        ));
        return Ok(PushAnswer::success());
    }
    Ok(answer)
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

/// POSTs the message JSON to `message_webhook`; any failure is logged and
/// means "no reply" — WeChat then gets `success`, never an error.
fn ask_webhook(env: &Env, incoming: &Incoming) -> Result<Option<messages::Reply>, Error> {
    let Some(url) = need(env.config.message_webhook())? else {
        return Ok(None);
    };
    let target = format!("{}{}", url.host_str().unwrap_or_default(), url.path());
    let request = OutboundRequest {
        method: Method::Post,
        url: url.to_string(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: Some(incoming.to_json().to_string().into_bytes()),
        timeouts: WEBHOOK_TIMEOUTS,
    };
    let started = env.clock.now_ms();
    let outcome = env.http.send(&request);
    let took = env.clock.now_ms().saturating_sub(started);
    let reply = match outcome {
        Ok(r) if (200..300).contains(&r.status) => {
            messages::parse_reply(&r.body).map_err(|e| format!("status={} {e}", r.status))
        }
        Ok(r) => Err(format!("status={}", r.status)),
        Err(e) => Err(format!("error=\"{e}\"")),
    };
    match reply {
        Ok(reply) => {
            env.log.log(&format!("webhook POST {target} ok {took}ms"));
            Ok(reply)
        }
        Err(why) => {
            env.log.log(&format!(
                "webhook POST {target} failed ({why}) {took}ms; answering success"
            ));
            Ok(None)
        }
    }
}
