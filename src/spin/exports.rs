//! The `wechat:mp` WIT exports: the same flows the HTTP routes use, with
//! core errors mapped once to `wechat:mp/types.error`.

use super::platform::with_env;
use crate::core::config::need;
use crate::core::error::Error;
use crate::core::gateway::{ApiPath, Caller, MAX_UPLOAD_BYTES};
use crate::core::messages::Incoming;
use crate::core::types::{OpenId, RefreshToken, UserAccessToken};
use crate::core::verify as core_verify;
use crate::flows::gateway::{self as gateway_flow, AnswerBody, Call, CallBody};
use crate::flows::messages as push_flow;
use crate::flows::send;
use crate::flows::{credentials, jssdk as jssdk_flow, userinfo as user_flow};
use crate::wit::exports::wechat::mp::{
    api, jssdk, messages, oauth, token, types, userinfo, verify,
};

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

/// A composed component, compiled in: every path, named `wit` in logs.
const WIT_CALLER: Caller = Caller::Internal("wit");

impl api::Guest for Wxmp {
    fn call(
        method: String,
        path: String,
        query: String,
        content_type: Option<String>,
        body: Vec<u8>,
    ) -> Result<api::Answer, types::Error> {
        with_env(|env| {
            let call = Call {
                method: method.to_ascii_uppercase().as_str().into(),
                path: ApiPath::parse(&path)?,
                query,
                content_type,
                body: CallBody::Whole(body),
            };
            let answer = gateway_flow::call(env, WIT_CALLER.name(), call)?;
            let content_type = answer.content_type().map(str::to_owned);
            let body = match answer.body {
                AnswerBody::Whole(bytes) => bytes,
                AnswerBody::Streamed(body) => body.read_all(MAX_UPLOAD_BYTES as usize, || {
                    Error::BadAnswer(format!("answer over {MAX_UPLOAD_BYTES} bytes"))
                })?,
            };
            if let Some(errcode) = answer.errcode {
                return Err(Error::Upstream {
                    errcode,
                    errmsg: crate::core::gateway::errmsg_of(&body),
                });
            }
            Ok(api::Answer {
                status: answer.status,
                content_type,
                body,
            })
        })
        .map_err(Into::into)
    }

    fn send_template(message: api::TemplateMessage) -> Result<u64, types::Error> {
        with_env(|env| send::template(env, &WIT_CALLER, &message.into()))
            .map(|sent| sent.msgid)
            .map_err(Into::into)
    }

    fn send_custom(touser: String, content: api::CustomContent) -> Result<(), types::Error> {
        let message = crate::wit::custom_message(touser, content);
        with_env(|env| send::custom(env, &WIT_CALLER, &message)).map_err(Into::into)
    }

    fn create_qrcode(
        scene: api::QrScene,
        permanent: bool,
        expire_seconds: Option<u32>,
    ) -> Result<api::QrCode, types::Error> {
        let request = crate::wit::qr_request(scene, permanent, expire_seconds);
        with_env(|env| send::qrcode(env, &WIT_CALLER, &request))
            .map(Into::into)
            .map_err(Into::into)
    }
}
