//! Browser login with WeChat web OAuth: `/oauth/login` sends the browser to
//! WeChat with a signed, browser-bound state; `/oauth/callback` checks it,
//! exchanges the code once, fetches the profile for snsapi_userinfo, and
//! opens a fresh session.

use url::Url;

use crate::core::keys::Keys;
use crate::core::config::need;
use crate::core::error::Error;
use crate::core::oauth::{self, Scope};
use crate::core::origin;
use crate::core::session::{SessionId, SessionRecord, SESSION_TTL_SECS};
use crate::core::state::{self, PendingLogin};
use crate::core::userinfo::{Lang, Profile};
use crate::ports::Env;

use super::store::{read, write};
use super::userinfo;

/// Where `/oauth/login` sends the browser, and the binder cookie to set.
#[derive(Debug)]
pub struct LoginRedirect {
    /// WeChat's authorize URL.
    pub location: String,
    /// The `wxmp_login` cookie value binding the state to this browser.
    pub binder: String,
}

/// How a callback ends for the browser.
#[derive(Debug)]
pub enum CallbackOutcome {
    /// Logged in: set the session cookie and go back.
    SignedIn {
        /// The return_to URL.
        location: String,
        /// The new session's cookie value.
        session_cookie: String,
    },
    /// The user refused or WeChat failed: go back with `wxmp_error`.
    Failed {
        /// The return_to URL with `wxmp_error=<reason>` added.
        location: String,
    },
}

/// The redirect_uri registered with WeChat: `{public_url}/oauth/callback`.
pub fn callback_url(public_url: &Url) -> String {
    format!(
        "{}/oauth/callback",
        public_url.as_str().trim_end_matches('/')
    )
}

/// Starts a login. `binder_cookie` is the browser's current `wxmp_login`
/// value, reused so logins in two tabs do not spoil each other.
pub fn start(
    env: &Env,
    return_to: Option<&str>,
    scope: Option<&str>,
    binder_cookie: Option<&str>,
) -> Result<LoginRedirect, Error> {
    let cfg = env.config;
    let scope = scope.map_or(Ok(Scope::Base), Scope::parse)?;
    let public_url = need(cfg.public_url())?;
    let return_to = origin::resolve_return_to(return_to, public_url, need(cfg.allowed_origins())?)?;
    let key = need(cfg.session_secret())?;
    let app_id = need(cfg.app_id())?;

    let nonce = env.random::<16>();
    let state = state::issue(key, nonce, env.now_s());
    let binder = match binder_cookie {
        Some(b) if state::is_binder(b) => b.to_owned(),
        _ => state::new_binder(env.random()),
    };
    let pending = PendingLogin {
        return_to: return_to.into(),
        scope,
        binder_hash: state::binder_hash(&binder),
    };
    write(
        env,
        &Keys::new(app_id).login(&hex::encode(nonce)),
        &pending,
    )?;
    let location = oauth::authorize_url(
        need(cfg.oauth_base())?,
        app_id,
        &callback_url(public_url),
        scope,
        &state,
    )?;
    Ok(LoginRedirect { location, binder })
}

/// Finishes a login. Errors are for states that cannot be trusted (no
/// return_to is known then) and for storage failures; everything after a
/// valid state goes back to return_to, with `wxmp_error` when it failed.
pub fn finish(
    env: &Env,
    code: Option<&str>,
    state_param: Option<&str>,
    binder_cookie: Option<&str>,
    old_session_cookie: Option<&str>,
) -> Result<CallbackOutcome, Error> {
    let cfg = env.config;
    let key = need(cfg.session_secret())?;
    let keys = Keys::new(need(cfg.app_id())?);
    let verified = state::verify(key, state_param.unwrap_or_default(), env.now_s())?;
    let invalid = |why: &str| Error::invalid("invalid_state", why.to_owned());

    let pending_key = keys.login(&verified.id);
    let pending: PendingLogin = read(env, &pending_key)?.ok_or_else(|| {
        invalid("this login link was already used or has expired; start the login again")
    })?;
    if !state::binder_matches(&pending, binder_cookie) {
        return Err(invalid(
            "this login was started in another browser; start the login again",
        ));
    }
    // Single use, even under concurrent callbacks: one increment reaches 1.
    let used_key = keys.login_used(&verified.id);
    if env.kv.increment(&used_key, 1)? != 1 {
        return Err(invalid(
            "this login link was already used; start the login again",
        ));
    }
    env.kv.delete(&pending_key)?;
    let _ = env.kv.delete(&used_key);

    let return_to = Url::parse(&pending.return_to)
        .map_err(|_| Error::Storage("stored return_to is not a URL".into()))?;
    let failed = |reason: &str| {
        let mut url = return_to.clone();
        url.query_pairs_mut().append_pair("wxmp_error", reason);
        Ok(CallbackOutcome::Failed {
            location: url.into(),
        })
    };
    let Some(code) = code.filter(|c| !c.is_empty()) else {
        return failed("access_denied");
    };
    let profile = match fetch_profile(env, code, pending.scope) {
        Ok(p) => p,
        Err(Error::Upstream { errcode, .. }) => return failed(&errcode.to_string()),
        Err(Error::Timeout(_)) => return failed("upstream_timeout"),
        Err(Error::Transport(_)) => return failed("upstream_unreachable"),
        Err(Error::BadAnswer(_)) => return failed("upstream_bad_answer"),
        Err(e) => return Err(e),
    };

    if let Some(old) = old_session_cookie.and_then(|c| SessionId::from_cookie_value(key, c)) {
        let _ = env.kv.delete(&keys.session(&old.storage_id()));
    }
    let id = SessionId::new(env.random());
    let record = SessionRecord {
        profile,
        expires_at: env.now_s() + SESSION_TTL_SECS,
    };
    write(env, &keys.session(&id.storage_id()), &record)?;
    Ok(CallbackOutcome::SignedIn {
        location: return_to.into(),
        session_cookie: id.cookie_value(key),
    })
}

fn fetch_profile(env: &Env, code: &str, requested: Scope) -> Result<Profile, Error> {
    let grant = userinfo::exchange_code(env, code)?;
    if requested == Scope::UserInfo && grant.scope == Scope::UserInfo {
        let mut profile = userinfo::profile(env, &grant.access_token, &grant.openid, Lang::ZhCn)?;
        profile.unionid = profile.unionid.or(grant.unionid);
        Ok(profile)
    } else {
        Ok(Profile::from_grant(&grant))
    }
}
