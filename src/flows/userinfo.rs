//! User-level OAuth calls for library consumers: exchange, refresh, check,
//! and the profile. These use the user's web access token, never the
//! account's, so no central cache is involved.

use crate::core::config::need;
use crate::core::error::Error;
use crate::core::oauth::{self, Grant};
use crate::core::types::{OpenId, RefreshToken, UserAccessToken};
use crate::core::userinfo::{self, Lang, Profile};
use crate::ports::Env;

use super::upstream::call_parsed;

/// Exchanges an OAuth code for the user's grant (`sns/oauth2/access_token`).
pub fn exchange_code(env: &Env, code: &str) -> Result<Grant, Error> {
    if code.is_empty() || code.len() > 512 {
        return Err(Error::invalid(
            "invalid_code",
            "code must be 1 to 512 characters",
        ));
    }
    let req = oauth::exchange_code_request(
        need(env.config.app_id())?,
        need(env.config.app_secret())?,
        code,
    );
    call_parsed(env, &req, oauth::parse_grant)
}

/// Renews a grant (`sns/oauth2/refresh_token`).
pub fn refresh(env: &Env, refresh_token: &RefreshToken) -> Result<Grant, Error> {
    call_parsed(
        env,
        &oauth::refresh_request(need(env.config.app_id())?, refresh_token),
        oauth::parse_grant,
    )
}

/// True while a user's web access token is valid (`sns/auth`).
pub fn check(env: &Env, access_token: &UserAccessToken, openid: &OpenId) -> Result<bool, Error> {
    call_parsed(
        env,
        &oauth::check_request(access_token, openid),
        oauth::parse_check,
    )
}

/// The user's profile (`sns/userinfo`; snsapi_userinfo grants only).
pub fn profile(
    env: &Env,
    access_token: &UserAccessToken,
    openid: &OpenId,
    lang: Lang,
) -> Result<Profile, Error> {
    call_parsed(
        env,
        &userinfo::userinfo_request(access_token, openid, lang),
        userinfo::parse_userinfo,
    )
}
