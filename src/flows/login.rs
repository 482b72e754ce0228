//! Browser login with WeChat web OAuth: `/oauth/login` sends the browser to
//! WeChat with a signed state and a login cookie (nothing is stored);
//! `/oauth/callback` checks both, consumes the state exactly once, exchanges
//! the code, fetches the profile for snsapi_userinfo, and opens a fresh
//! session.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::core::config::need;
use crate::core::error::Error;
use crate::core::keys::Keys;
use crate::core::mount::Prefix;
use crate::core::oauth::{self, Grant, Scope};
use crate::core::origin;
use crate::core::session::{SessionId, SessionRecord, UserSessions, SESSION_TTL_SECS};
use crate::core::state::{self, invalid_state, LoginNonce, PendingLogin, MAX_RETURN_TO_BYTES};
use crate::core::types::{LoginCookie, SessionCookie};
use crate::core::userinfo::{Lang, Profile};
use crate::ports::Env;

use super::store::{read, write};
use super::userinfo;

/// Slots remembering used states: replays of a state are refused while its
/// nonce is still in its slot (a state lives 10 minutes; with more logins
/// than slots in that time, the cleared login cookie and WeChat's
/// single-use code still stop a replay).
pub const USED_STATE_SLOTS: u64 = 4096;

/// Where `/oauth/login` sends the browser, and the login cookies to set.
#[derive(Debug)]
pub struct LoginRedirect {
    /// WeChat's authorize URL.
    pub location: String,
    /// The new login's cookie: its name tag and value.
    pub cookie: (String, LoginCookie),
    /// Tags of the browser's other login cookies to clear (expired, forged,
    /// or beyond the few logins a browser may have in flight).
    pub dropped: Vec<String>,
}

/// How a callback ends for the browser.
#[derive(Debug)]
pub enum CallbackOutcome {
    /// Logged in: set the session cookie and go back.
    SignedIn {
        /// The return_to URL.
        location: String,
        /// The new session's cookie value.
        session_cookie: SessionCookie,
    },
    /// The user refused, WeChat failed, or the user is a snapshot-page
    /// user: go back with `wxmp_error`.
    Failed {
        /// The return_to URL with `wxmp_error=<reason>` added.
        location: String,
    },
}

/// A finished callback: its outcome, and the login cookie it used up.
#[derive(Debug)]
pub struct Callback {
    /// Where the browser goes.
    pub outcome: CallbackOutcome,
    /// The tag of the login cookie to clear.
    pub login_tag: String,
}

/// The redirect_uri registered with WeChat: `{public_url}{mount}/oauth/callback`.
pub fn callback_url(public_url: &Url, mount: &Prefix) -> String {
    mount.url(public_url, "/oauth/callback")
}

/// Starts a login. `login_cookies` are the browser's current login cookies
/// (tag, value): kept if they are live, so logins in two tabs do not spoil
/// each other, but never reused — every login gets a fresh nonce.
pub fn start<'a>(
    env: &Env,
    mount: &Prefix,
    return_to: Option<&str>,
    scope: Option<&str>,
    login_cookies: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<LoginRedirect, Error> {
    let cfg = env.config;
    let scope = scope.map_or(Ok(Scope::Base), Scope::parse)?;
    let public_url = need(cfg.public_url())?;
    let return_to =
        origin::resolve_return_to(return_to, public_url, mount, need(cfg.allowed_origins())?)?;
    if return_to.as_str().len() > MAX_RETURN_TO_BYTES {
        return Err(Error::invalid(
            "invalid_return_to",
            format!("return_to must be at most {MAX_RETURN_TO_BYTES} bytes"),
        ));
    }
    let key = need(cfg.session_secret())?;
    let app_id = need(cfg.app_id())?;
    let now = env.now_s();
    let pending = PendingLogin {
        nonce: LoginNonce::new(env.random()),
        issued_at: now,
        scope,
        return_to: return_to.into(),
    };
    let location = oauth::authorize_url(
        need(cfg.oauth_base())?,
        app_id,
        &callback_url(public_url, mount),
        scope,
        &state::issue(key, pending.nonce, now),
    )?;
    Ok(LoginRedirect {
        location,
        cookie: (pending.nonce.cookie_tag(), pending.seal(key)),
        dropped: state::logins_to_drop(key, login_cookies, now),
    })
}

/// Finishes a login. `login_cookie` finds the browser's login cookie by its
/// tag. Errors are for states that cannot be trusted (no return_to is known
/// then) and for storage failures; everything after a valid state goes back
/// to return_to, with `wxmp_error` when it failed.
pub fn finish<'a>(
    env: &Env,
    code: Option<&str>,
    state_param: Option<&str>,
    login_cookie: impl Fn(&str) -> Option<&'a str>,
    old_session_cookie: Option<&str>,
) -> Result<Callback, Error> {
    let cfg = env.config;
    let key = need(cfg.session_secret())?;
    let keys = Keys::new(need(cfg.app_id())?);
    let now = env.now_s();
    let verified = state::verify(key, state_param.unwrap_or_default(), now)?;
    let login_tag = verified.nonce.cookie_tag();
    let pending = login_cookie(&login_tag)
        .and_then(|value| PendingLogin::open(key, value, now))
        .filter(|p| p.nonce == verified.nonce)
        .ok_or_else(|| {
            invalid_state(
                "this login was started in another browser or has expired; start the login again",
            )
        })?;
    consume(env, &keys, verified.nonce)?;

    let return_to = Url::parse(&pending.return_to)
        .map_err(|_| invalid_state("the login cookie holds no usable return address"))?;
    let finished = |outcome| {
        Ok(Callback {
            outcome,
            login_tag: login_tag.clone(),
        })
    };
    let failed = |reason: &str| {
        let mut url = return_to.clone();
        url.query_pairs_mut().append_pair("wxmp_error", reason);
        finished(CallbackOutcome::Failed {
            location: url.into(),
        })
    };
    let Some(code) = code.filter(|c| !c.is_empty()) else {
        return failed("access_denied");
    };
    let profile = match fetch_profile(env, code, pending.scope) {
        Ok(Some(p)) => p,
        Ok(None) => return failed("snapshot_user"),
        Err(Error::Upstream { errcode, .. }) => return failed(&errcode.to_string()),
        Err(Error::Timeout(_)) => return failed("upstream_timeout"),
        Err(Error::Transport(_)) => return failed("upstream_unreachable"),
        Err(Error::BadAnswer(_)) => return failed("upstream_bad_answer"),
        Err(e) => return Err(e),
    };
    let session_cookie = open_session(env, &keys, profile, old_session_cookie)?;
    finished(CallbackOutcome::SignedIn {
        location: return_to.into(),
        session_cookie,
    })
}

/// The state's slot record: which nonce last used it.
#[derive(Serialize, Deserialize)]
struct UsedState {
    nonce: String,
}

/// Marks the state used, exactly once even under concurrent callbacks: one
/// increment of its claim counter reaches 1; the winner records the nonce
/// in its slot before the claim is deleted, so a later replay finds it.
fn consume(env: &Env, keys: &Keys, nonce: LoginNonce) -> Result<(), Error> {
    let used = || invalid_state("this login link was already used; start the login again");
    let claim = keys.login_claim(&nonce);
    if env.kv.increment(&claim, 1)? != 1 {
        return Err(used());
    }
    let marked = (|| {
        let mut slot = [0u8; 8];
        slot.copy_from_slice(&nonce.bytes()[..8]);
        let slot_key = keys.login_used(u64::from_le_bytes(slot) % USED_STATE_SLOTS);
        if read::<UsedState>(env, &slot_key)?.is_some_and(|u| u.nonce == nonce.hex()) {
            return Err(used());
        }
        write(env, &slot_key, &UsedState { nonce: nonce.hex() })
    })();
    let _ = env.kv.delete(&claim);
    marked
}

/// The user's profile, or `None` for WeChat's snapshot-page virtual user
/// (an openid that is not the user's: no session for it).
fn fetch_profile(env: &Env, code: &str, requested: Scope) -> Result<Option<Profile>, Error> {
    let grant: Grant = userinfo::exchange_code(env, code)?;
    if grant.is_snapshot_user {
        env.log.log(
            "login by a snapshot-page virtual user: no session, back with wxmp_error=snapshot_user",
        );
        return Ok(None);
    }
    if requested == Scope::UserInfo && grant.scope == Scope::UserInfo {
        let mut profile = userinfo::profile(env, &grant.access_token, &grant.openid, Lang::ZhCn)?;
        profile.unionid = profile.unionid.or(grant.unionid);
        Ok(Some(profile))
    } else {
        Ok(Some(Profile::from_grant(&grant)))
    }
}

/// A new session for `profile` (a new id every login, so a planted id is
/// never promoted); ends the browser's previous one and the user's
/// sessions beyond the per-user cap.
fn open_session(
    env: &Env,
    keys: &Keys,
    profile: Profile,
    old_session_cookie: Option<&str>,
) -> Result<SessionCookie, Error> {
    let key = need(env.config.session_secret())?;
    if let Some(old) = old_session_cookie.and_then(|c| SessionId::from_cookie_value(key, c)) {
        let _ = env.kv.delete(&keys.session(&old.storage_id()));
    }
    let now = env.now_s();
    let id = SessionId::new(env.random());
    let expires_at = now + SESSION_TTL_SECS;
    let index_key = keys.user_sessions(&profile.openid);
    let mut index: UserSessions = read(env, &index_key)?.unwrap_or_default();
    for ended in index.admit(id.storage_id(), expires_at, now) {
        let _ = env.kv.delete(&keys.session(&ended));
    }
    write(
        env,
        &keys.session(&id.storage_id()),
        &SessionRecord {
            profile,
            expires_at,
        },
    )?;
    write(env, &index_key, &index)?;
    Ok(id.cookie_value(key))
}
