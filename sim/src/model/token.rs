//! Access tokens and the jsapi_ticket: `cgi-bin/token` (each fetch replaces
//! the previous token after a 5-minute overlap), `cgi-bin/stable_token`
//! (the same token while valid; `force_refresh` 20 times a day),
//! `cgi-bin/ticket/getticket`, and the token check of every `cgi-bin` call.

use serde::Deserialize;
use serde_json::json;
use sha1::{Digest, Sha1};

use super::{err, post_json, Answer, Sim, State};
use crate::request::SimRequest;

const MINUTE_MS: u64 = 60_000;
/// Old tokens stay valid this long after a replacement (documented overlap).
const OVERLAP_MS: u64 = 5 * MINUTE_MS;
/// stable_token rotates when a call comes this close to expiry.
const STABLE_ROTATE_MS: u64 = 5 * MINUTE_MS;
/// Forced stable_token refreshes allowed per day.
const FORCE_PER_DAY: u32 = 20;

/// An access token or ticket and how long it lives.
#[derive(Clone, Debug)]
pub(super) struct Credential {
    value: String,
    expires_ms: u64,
    /// Earlier than `expires_ms` once replaced or revoked.
    valid_until_ms: u64,
}

impl Credential {
    fn remaining_secs(&self, now: u64) -> u64 {
        self.valid_until_ms.saturating_sub(now) / 1000
    }
}

impl Sim {
    /// Revokes every access token and the ticket, as when an account's
    /// AppSecret is reset or another service took over the token.
    pub fn revoke_tokens(&self, now_ms: u64) {
        let mut st = self.lock();
        for t in &mut st.tokens {
            t.valid_until_ms = t.valid_until_ms.min(now_ms);
        }
        st.stable_current = None;
        st.ticket = None;
    }

    /// The jsapi_ticket currently valid, as the JS-SDK checks signatures against.
    pub fn current_ticket(&self, now_ms: u64) -> Option<String> {
        self.lock()
            .ticket
            .as_ref()
            .filter(|t| t.valid_until_ms > now_ms)
            .map(|t| t.value.clone())
    }

    /// Checks a `wx.config` signature as WeChat's client does: the AppID,
    /// then sha1 of the current ticket, nonce, timestamp and page URL.
    /// `Err` carries WeChat's errMsg.
    pub fn check_jssdk(
        &self,
        app_id: &str,
        timestamp: u64,
        nonce: &str,
        signature: &str,
        url: &str,
        now_ms: u64,
    ) -> Result<(), String> {
        if app_id != self.cfg.app_id {
            return Err("config:invalid appid".into());
        }
        let Some(ticket) = self.current_ticket(now_ms) else {
            return Err("config:invalid signature".into());
        };
        let expected = hex::encode(Sha1::digest(format!(
            "jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}"
        )));
        if expected == signature {
            Ok(())
        } else {
            Err("config:invalid signature".into())
        }
    }

    pub(super) fn check_app(
        &self,
        appid: Option<&str>,
        secret: Option<&str>,
    ) -> Result<(), (i64, &'static str)> {
        if appid != Some(self.cfg.app_id.as_str()) {
            return Err(err(40013));
        }
        if secret != Some(self.cfg.app_secret.as_str()) {
            return Err(err(40125));
        }
        Ok(())
    }

    fn new_token(&self, st: &mut State, now: u64) -> usize {
        let value = self.mint(st, "ACCESS_TOKEN");
        let expires_ms = now + self.cfg.token_ttl_secs * 1000;
        st.tokens.push(Credential {
            value,
            expires_ms,
            valid_until_ms: expires_ms,
        });
        st.tokens.len() - 1
    }

    fn token_answer(t: &Credential, now: u64) -> serde_json::Value {
        json!({ "access_token": t.value, "expires_in": t.remaining_secs(now) })
    }

    pub(super) fn classic_token(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        if req.param("grant_type") != Some("client_credential") {
            return Err(err(40002));
        }
        self.check_app(req.param("appid"), req.param("secret"))?;
        // Each fetch replaces the previous token; the old one lives 5 more minutes.
        let stable = st.stable_current;
        for (i, t) in st.tokens.iter_mut().enumerate() {
            if Some(i) != stable {
                t.valid_until_ms = t.valid_until_ms.min(now + OVERLAP_MS);
            }
        }
        let i = self.new_token(st, now);
        Ok(Self::token_answer(&st.tokens[i], now))
    }

    pub(super) fn stable_token(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        #[derive(Deserialize)]
        struct Body {
            grant_type: Option<String>,
            appid: Option<String>,
            secret: Option<String>,
            #[serde(default)]
            force_refresh: bool,
        }
        let body: Body = post_json(req)?;
        if body.grant_type.as_deref() != Some("client_credential") {
            return Err(err(40002));
        }
        self.check_app(body.appid.as_deref(), body.secret.as_deref())?;
        let current = st
            .stable_current
            .filter(|&i| st.tokens[i].valid_until_ms > now);
        if body.force_refresh {
            let day = (now / 1000 + 8 * 3600) / 86_400;
            let count = if st.forced.0 == day { st.forced.1 } else { 0 };
            if count >= FORCE_PER_DAY {
                return Err(err(45009));
            }
            st.forced = (day, count + 1);
            if let Some(i) = current {
                st.tokens[i].valid_until_ms = now;
            }
        } else if let Some(i) =
            current.filter(|&i| st.tokens[i].valid_until_ms > now + STABLE_ROTATE_MS)
        {
            return Ok(Self::token_answer(&st.tokens[i], now));
        }
        // Missing, expired, inside the rotation window, or forced: a new token
        // (a normally rotated one stays valid until it expires).
        let i = self.new_token(st, now);
        st.stable_current = Some(i);
        Ok(Self::token_answer(&st.tokens[i], now))
    }

    /// The `access_token` query parameter of a `cgi-bin` call: 40001 for an
    /// unknown or replaced token, 42001 for an expired one.
    pub(super) fn check_token(
        st: &State,
        req: &SimRequest,
        now: u64,
    ) -> Result<(), (i64, &'static str)> {
        let token = req.param("access_token");
        match st.tokens.iter().find(|t| Some(t.value.as_str()) == token) {
            None => Err(err(40001)),
            Some(t) if t.valid_until_ms <= now && t.expires_ms <= now => Err(err(42001)),
            Some(t) if t.valid_until_ms <= now => Err(err(40001)),
            Some(_) => Ok(()),
        }
    }

    pub(super) fn ticket(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        Self::check_token(st, req, now)?;
        if req.param("type") != Some("jsapi") {
            return Err(err(40097));
        }
        if st.ticket.as_ref().is_none_or(|t| t.valid_until_ms <= now) {
            let value = self.mint(st, "TICKET");
            let expires_ms = now + self.cfg.token_ttl_secs * 1000;
            st.ticket = Some(Credential {
                value,
                expires_ms,
                valid_until_ms: expires_ms,
            });
        }
        let t = st.ticket.as_ref().expect("just set");
        Ok(
            json!({ "errcode": 0, "errmsg": "ok", "ticket": t.value, "expires_in": t.remaining_secs(now) }),
        )
    }
}
