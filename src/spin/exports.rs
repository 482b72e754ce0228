//! The `wechat:mp` WIT exports: the same flows the HTTP routes use, with
//! core errors mapped once to `wechat:mp/types.error`.

use super::platform::with_env;
use crate::core::config::need;
use crate::core::messages::Incoming;
use crate::core::types::{OpenId, RefreshToken, UserAccessToken};
use crate::core::verify as core_verify;
use crate::flows::messages as push_flow;
use crate::flows::{credentials, jssdk as jssdk_flow, userinfo as user_flow};
use crate::wit::exports::wechat::mp::{jssdk, messages, oauth, token, types, userinfo, verify};

struct Wxmp;

crate::wit::export!(Wxmp with_types_in crate::wit);

impl verify::Guest for Wxmp {
    fn check_signature(
        signature: String,
        timestamp: String,
        nonce: String,
    ) -> Result<(), types::Error> {
        with_env(|env| {
            let token = need(env.config.token())?;
            core_verify::check_server_signature(token, &signature, &timestamp, &nonce)
        })
        .map_err(Into::into)
    }
}

impl oauth::Guest for Wxmp {
    fn authorize_url(
        redirect_uri: String,
        scope: types::Scope,
        state: String,
    ) -> Result<String, types::Error> {
        with_env(|env| {
            let cfg = env.config;
            crate::core::oauth::authorize_url(
                need(cfg.oauth_base())?,
                need(cfg.app_id())?,
                &redirect_uri,
                scope.into(),
                &state,
            )
        })
        .map_err(Into::into)
    }

    fn exchange_code(code: String) -> Result<types::OauthGrant, types::Error> {
        with_env(|env| user_flow::exchange_code(env, &code))
            .map(Into::into)
            .map_err(Into::into)
    }

    fn refresh(refresh_token: String) -> Result<types::OauthGrant, types::Error> {
        with_env(|env| user_flow::refresh(env, &RefreshToken::new(refresh_token)))
            .map(Into::into)
            .map_err(Into::into)
    }

    fn check(access_token: String, openid: String) -> Result<bool, types::Error> {
        with_env(|env| {
            user_flow::check(
                env,
                &UserAccessToken::new(access_token),
                &OpenId::new(openid),
            )
        })
        .map_err(Into::into)
    }
}

impl userinfo::Guest for Wxmp {
    fn get(
        access_token: String,
        openid: String,
        lang: types::Lang,
    ) -> Result<types::UserProfile, types::Error> {
        with_env(|env| {
            user_flow::profile(
                env,
                &UserAccessToken::new(access_token),
                &OpenId::new(openid),
                lang.into(),
            )
        })
        .map(Into::into)
        .map_err(Into::into)
    }
}

impl jssdk::Guest for Wxmp {
    fn sign(url: String) -> Result<jssdk::Config, types::Error> {
        with_env(|env| jssdk_flow::config_for(env, &url))
            .map(|c| jssdk::Config {
                app_id: c.app_id,
                timestamp: c.timestamp,
                nonce_str: c.nonce_str,
                signature: c.signature,
            })
            .map_err(Into::into)
    }
}

impl token::Guest for Wxmp {
    fn get() -> Result<token::AccessToken, types::Error> {
        with_env(credentials::access_token)
            .map(|(t, remaining)| token::AccessToken {
                value: t.secret().to_owned(),
                expires_in: remaining.min(u64::from(u32::MAX)) as u32,
            })
            .map_err(Into::into)
    }

    fn invalidate(value: String) -> Result<(), types::Error> {
        with_env(|env| credentials::invalidate_access_token(env, &value))
            .map(|_| ())
            .map_err(Into::into)
    }
}

impl messages::Guest for Wxmp {
    fn open(query: messages::PushQuery, body: Vec<u8>) -> Result<messages::Message, types::Error> {
        with_env(|env| push_flow::open(env, &query.into(), &body))
            .map(|m| messages::Message::from(&m))
            .map_err(Into::into)
    }

    fn seal(message: messages::Message, reply: messages::Reply) -> Result<String, types::Error> {
        let incoming = Incoming::from(&message);
        with_env(|env| push_flow::seal_reply(env, &incoming, &reply.into()))
            .map(|a| a.body)
            .map_err(Into::into)
    }
}
