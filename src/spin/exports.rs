//! The `wechat:mp` WIT exports: the same flows the HTTP routes use, with
//! core errors mapped once to `wechat:mp/types.error`.

use super::bindings::exports::wechat::mp::{jssdk, oauth, token, types, userinfo, verify};
use super::platform::with_env;
use crate::core::config::need;
use crate::core::error::Error;
use crate::core::oauth::{Grant, Scope};
use crate::core::types::{OpenId, RefreshToken, UserAccessToken};
use crate::core::userinfo::{Lang, Profile};
use crate::core::verify as core_verify;
use crate::flows::{credentials, jssdk as jssdk_flow, userinfo as user_flow};

struct Wxmp;

super::bindings::export!(Wxmp with_types_in super::bindings);

impl From<Error> for types::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidSignature => Self::InvalidSignature,
            Error::InvalidInput { message, .. } => Self::InvalidInput(message),
            Error::Config(m) => Self::Config(m),
            Error::Upstream { errcode, errmsg } => Self::Upstream(types::UpstreamError { errcode, errmsg }),
            Error::BadAnswer(m) => Self::Transport(format!("unreadable answer from WeChat: {m}")),
            Error::Transport(m) => Self::Transport(m),
            Error::Timeout(m) => Self::Timeout(m),
            Error::Storage(m) => Self::Storage(m),
            Error::Busy => Self::Busy,
        }
    }
}

fn scope_in(s: types::Scope) -> Scope {
    match s {
        types::Scope::SnsapiBase => Scope::Base,
        types::Scope::SnsapiUserinfo => Scope::UserInfo,
    }
}

fn scope_out(s: Scope) -> types::Scope {
    match s {
        Scope::Base => types::Scope::SnsapiBase,
        Scope::UserInfo => types::Scope::SnsapiUserinfo,
    }
}

fn grant_out(g: Grant) -> types::OauthGrant {
    types::OauthGrant {
        access_token: g.access_token.secret().to_owned(),
        expires_in: g.expires_in,
        refresh_token: g.refresh_token.secret().to_owned(),
        openid: g.openid.to_string(),
        scope: scope_out(g.scope),
        unionid: g.unionid.map(|u| u.to_string()),
        is_snapshot_user: g.is_snapshot_user,
    }
}

fn profile_out(p: Profile) -> types::UserProfile {
    types::UserProfile {
        openid: p.openid.to_string(),
        unionid: p.unionid.map(|u| u.to_string()),
        scope: scope_out(p.scope),
        nickname: p.nickname,
        sex: p.sex,
        province: p.province,
        city: p.city,
        country: p.country,
        headimgurl: p.headimgurl,
        privilege: p.privilege.unwrap_or_default(),
    }
}

impl verify::Guest for Wxmp {
    fn check_signature(signature: String, timestamp: String, nonce: String) -> Result<(), types::Error> {
        with_env(|env| {
            let token = need(&env.config.token)?;
            core_verify::check_server_signature(token, &signature, &timestamp, &nonce)
        })
        .map_err(Into::into)
    }
}

impl oauth::Guest for Wxmp {
    fn authorize_url(redirect_uri: String, scope: types::Scope, state: String) -> Result<String, types::Error> {
        with_env(|env| {
            let cfg = env.config;
            crate::core::oauth::authorize_url(need(&cfg.oauth_base)?, need(&cfg.app_id)?, &redirect_uri, scope_in(scope), &state)
        })
        .map_err(Into::into)
    }

    fn exchange_code(code: String) -> Result<types::OauthGrant, types::Error> {
        with_env(|env| user_flow::exchange_code(env, &code)).map(grant_out).map_err(Into::into)
    }

    fn refresh(refresh_token: String) -> Result<types::OauthGrant, types::Error> {
        with_env(|env| user_flow::refresh(env, &RefreshToken::new(refresh_token))).map(grant_out).map_err(Into::into)
    }

    fn check(access_token: String, openid: String) -> Result<bool, types::Error> {
        with_env(|env| user_flow::check(env, &UserAccessToken::new(access_token), &OpenId::new(openid))).map_err(Into::into)
    }
}

impl userinfo::Guest for Wxmp {
    fn get(access_token: String, openid: String, lang: types::Lang) -> Result<types::UserProfile, types::Error> {
        let lang = match lang {
            types::Lang::ZhCn => Lang::ZhCn,
            types::Lang::ZhTw => Lang::ZhTw,
            types::Lang::En => Lang::En,
        };
        with_env(|env| user_flow::profile(env, &UserAccessToken::new(access_token), &OpenId::new(openid), lang))
            .map(profile_out)
            .map_err(Into::into)
    }
}

impl jssdk::Guest for Wxmp {
    fn sign(url: String) -> Result<jssdk::Config, types::Error> {
        with_env(|env| jssdk_flow::config_for(env, &url))
            .map(|c| jssdk::Config { app_id: c.app_id, timestamp: c.timestamp, nonce_str: c.nonce_str, signature: c.signature })
            .map_err(Into::into)
    }
}

impl token::Guest for Wxmp {
    fn get() -> Result<token::AccessToken, types::Error> {
        with_env(credentials::access_token)
            .map(|(t, remaining)| token::AccessToken { value: t.secret().to_owned(), expires_in: remaining.min(u64::from(u32::MAX)) as u32 })
            .map_err(Into::into)
    }

    fn invalidate(value: String) -> Result<(), types::Error> {
        with_env(|env| credentials::invalidate_access_token(env, &value)).map(|_| ()).map_err(Into::into)
    }
}

