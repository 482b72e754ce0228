//! Central control (中控) of the account's access_token and jsapi_ticket:
//! one shared cache in the key-value store, refreshed ahead of expiry, and
//! one upstream fetch per refresh however many requests and instances race
//! (the policy is `core::cache`; this file does its reads and writes).

use crate::core::cache::{
    self, Cached, CachedSecret, Credential, ForceLog, Freshness, LeaseHolder, LeaseStep,
    StoredFailure,
};
use crate::core::config::{need, TokenMode};
use crate::core::error::Error;
use crate::core::keys::{Key, Keys};
use crate::core::token::{self, Issued};
use crate::core::types::{AccessToken, JsapiTicket};
use crate::ports::Env;

use super::store::{read, write};
use super::upstream::{call_parsed, with_access_token};

/// The cached access token and its remaining validity in seconds.
pub fn access_token(env: &Env) -> Result<(AccessToken, u64), Error> {
    let entry = access_token_entry(env)?;
    let remaining = cache::remaining_secs(&entry, env.now_s());
    Ok((entry.value, remaining))
}

/// The cached jsapi_ticket.
pub fn jsapi_ticket(env: &Env) -> Result<JsapiTicket, Error> {
    Ok(credential::<JsapiTicket>(env)?.value)
}

/// The access-token cache entry (value and generation).
pub fn access_token_entry(env: &Env) -> Result<Cached<AccessToken>, Error> {
    credential::<AccessToken>(env)
}

/// Drops `rejected` if it is still the cached access token, and with it the
/// jsapi_ticket it fetched. Returns whether anything was dropped.
pub fn invalidate_access_token(env: &Env, rejected: &str) -> Result<bool, Error> {
    let keys = keys(env)?;
    let token_key = keys.credential(Credential::AccessToken);
    let Some(entry) = read::<Cached<AccessToken>>(env, &token_key)? else {
        return Ok(false);
    };
    let Some(dropped) = cache::invalidated(&entry, rejected) else {
        return Ok(false);
    };
    write(env, &token_key, &dropped)?;
    let ticket_key = keys.credential(Credential::JsapiTicket);
    if let Some(ticket) = read::<Cached<JsapiTicket>>(env, &ticket_key)? {
        if cache::ticket_outlived(&ticket, dropped.generation) {
            write(
                env,
                &ticket_key,
                &Cached {
                    invalid: true,
                    ..ticket
                },
            )?;
        }
    }
    Ok(true)
}

/// How each cached credential is fetched from WeChat.
trait Fetch: CachedSecret {
    /// One upstream fetch on top of `previous`; for tickets, also the
    /// access-token generation that fetched it.
    fn fetch(
        env: &Env,
        keys: &Keys,
        previous: Option<&Cached<Self>>,
    ) -> Result<(Issued<Self>, Option<u64>), Error>;
}

impl Fetch for AccessToken {
    fn fetch(
        env: &Env,
        keys: &Keys,
        previous: Option<&Cached<Self>>,
    ) -> Result<(Issued<Self>, Option<u64>), Error> {
        fetch_access_token(env, keys, previous).map(|issued| (issued, None))
    }
}

impl Fetch for JsapiTicket {
    fn fetch(
        env: &Env,
        _keys: &Keys,
        _previous: Option<&Cached<Self>>,
    ) -> Result<(Issued<Self>, Option<u64>), Error> {
        with_access_token(env, |tok| {
            call_parsed(env, &token::ticket_request(&tok.value), token::parse_ticket)
                .map(|issued| (issued, Some(tok.generation)))
        })
    }
}

fn keys(env: &Env) -> Result<Keys, Error> {
    Ok(Keys::new(need(env.config.app_id())?))
}

fn credential<V: Fetch>(env: &Env) -> Result<Cached<V>, Error> {
    let keys = keys(env)?;
    let entry = read::<Cached<V>>(env, &keys.credential(V::KIND))?;
    match (cache::freshness(entry.as_ref(), env.now_s()), entry) {
        (Freshness::Fresh, Some(e)) => Ok(e),
        (Freshness::RefreshAhead, Some(e)) => refresh_ahead(env, &keys, e),
        (_, entry) => refresh_or_wait(env, &keys, entry),
    }
}

/// Still valid but due: one request refreshes, everyone else (and this
/// request, if the refresh fails) keeps using the current value.
fn refresh_ahead<V: Fetch>(env: &Env, keys: &Keys, entry: Cached<V>) -> Result<Cached<V>, Error> {
    let (kind, gen) = (V::KIND, entry.generation);
    if env.kv.increment(&keys.lease(kind, gen), 1)? != 1 {
        // Someone refreshes already; if they failed a while ago, one of us retries.
        let now_ms = env.clock.now_ms();
        let holder: Option<LeaseHolder> = read(env, &keys.holder(kind, gen))?;
        match cache::after_lost_election(keys, kind, gen, holder.as_ref(), now_ms, now_ms) {
            LeaseStep::TakeOver(key) if env.kv.increment(&key, 1)? == 1 => {
                return refresh_ahead_as(env, keys, entry, Some(key));
            }
            _ => return Ok(entry),
        }
    }
    refresh_ahead_as(env, keys, entry, None)
}

/// The refresh-ahead itself, by the request that won the lease (or the
/// takeover counter `won`).
fn refresh_ahead_as<V: Fetch>(
    env: &Env,
    keys: &Keys,
    entry: Cached<V>,
    won: Option<Key>,
) -> Result<Cached<V>, Error> {
    let kind = V::KIND;
    match hold_and_fetch::<V>(env, keys, entry.generation, won) {
        Ok(fresh) => Ok(fresh),
        Err(e) => {
            env.log.log(&format!(
                "refresh-ahead of {kind:?} failed ({e}); still serving the current one"
            ));
            Ok(entry)
        }
    }
}

/// Unusable or missing: elect one fetcher for this generation; the others
/// wait for its result, fail with its error, or take over a dead lease.
fn refresh_or_wait<V: Fetch>(
    env: &Env,
    keys: &Keys,
    entry: Option<Cached<V>>,
) -> Result<Cached<V>, Error> {
    let (kind, gen) = (V::KIND, cache::basis(entry.as_ref()));
    if env.kv.increment(&keys.lease(kind, gen), 1)? == 1 {
        return hold_and_fetch::<V>(env, keys, gen, None);
    }
    let waiting_since = env.clock.now_ms();
    loop {
        env.clock.sleep_ms(cache::POLL_INTERVAL_MS);
        let now_ms = env.clock.now_ms();
        let current = read::<Cached<V>>(env, &keys.credential(kind))?;
        if cache::refreshed_since(current.as_ref(), gen, now_ms / 1000) {
            return current.ok_or(Error::Busy);
        }
        let holder: Option<LeaseHolder> = read(env, &keys.holder(kind, gen))?;
        match cache::after_lost_election(keys, kind, gen, holder.as_ref(), now_ms, waiting_since) {
            LeaseStep::Wait => {}
            LeaseStep::Fail(e) => return Err(e),
            LeaseStep::TakeOver(key) => {
                if env.kv.increment(&key, 1)? == 1 {
                    env.log
                        .log(&format!("taking over the {kind:?} refresh lease ({key})"));
                    return hold_and_fetch::<V>(env, keys, gen, Some(key));
                }
            }
        }
        if now_ms.saturating_sub(waiting_since) >= cache::WAIT_BUDGET_MS {
            return Err(Error::Busy);
        }
    }
}

/// Holds generation `gen`'s lease: records itself, fetches, stores the new
/// generation (or its failure, for the waiters), and clears the lease.
/// `won` is the takeover counter this request won, if it took over: once
/// the new holder record is written nobody contends for that counter any
/// more, so it is deleted (the store keeps at most the lease, the holder
/// record and one takeover counter per credential, none after a success).
fn hold_and_fetch<V: Fetch>(
    env: &Env,
    keys: &Keys,
    gen: u64,
    won: Option<Key>,
) -> Result<Cached<V>, Error> {
    let kind = V::KIND;
    // The store may have moved on between our read and our election win.
    let previous = read::<Cached<V>>(env, &keys.credential(kind))?;
    if cache::refreshed_since(previous.as_ref(), gen, env.now_s()) {
        if let Some(won) = won {
            let _ = env.kv.delete(&won);
        }
        return previous.ok_or(Error::Busy);
    }
    let holder_key = keys.holder(kind, gen);
    let holder = LeaseHolder {
        id: hex::encode(env.random::<8>()),
        since_ms: env.clock.now_ms(),
        failure: None,
    };
    write(env, &holder_key, &holder)?;
    if let Some(won) = won {
        let _ = env.kv.delete(&won);
    }
    match V::fetch(env, keys, previous.as_ref()) {
        Ok((issued, token_generation)) => {
            let next = cache::next_entry(previous.as_ref(), issued, env.now_s(), token_generation);
            write(env, &keys.credential(kind), &next)?;
            // Late contenders re-read the entry after winning, so clearing is safe.
            let _ = env.kv.delete(&keys.lease(kind, gen));
            let _ = env.kv.delete(&holder_key);
            // A token came: whatever IP WeChat refused before is allowed now.
            if kind == Credential::AccessToken {
                let _ = super::allow_list::clear(env);
            }
            Ok(next)
        }
        Err(e) => {
            let failed = LeaseHolder {
                failure: StoredFailure::new(&e, env.clock.now_ms()),
                ..holder
            };
            let _ = write(env, &holder_key, &failed);
            Err(e)
        }
    }
}

fn fetch_access_token(
    env: &Env,
    keys: &Keys,
    previous: Option<&Cached<AccessToken>>,
) -> Result<Issued<AccessToken>, Error> {
    let app_id = need(env.config.app_id())?;
    let secret = need(env.config.app_secret())?;
    if *need(env.config.token_mode())? == TokenMode::Classic {
        return call_parsed(
            env,
            &token::classic_token_request(app_id, secret),
            token::parse_token,
        );
    }
    let issued = call_parsed(
        env,
        &token::stable_token_request(app_id, secret, false),
        token::parse_token,
    )?;
    if !cache::needs_forced_refresh(previous, &issued.value) {
        return Ok(issued);
    }
    let now = env.now_s();
    let log: ForceLog = read(env, &keys.force_log())?.unwrap_or_default();
    if !cache::may_force(&log, now) {
        return Err(Error::Upstream {
            errcode: 40001,
            errmsg: format!(
                "WeChat rejected the access_token and stable_token returns the same one; a forced refresh is not allowed yet \
                 (at least {} s apart, at most {} a day)",
                cache::FORCE_MIN_INTERVAL_SECS,
                cache::FORCE_MAX_PER_DAY
            ),
        });
    }
    write(env, &keys.force_log(), &cache::record_force(&log, now))?;
    env.log
        .log("stable_token returned the rejected token; forcing a refresh");
    call_parsed(
        env,
        &token::stable_token_request(app_id, secret, true),
        token::parse_token,
    )
}
