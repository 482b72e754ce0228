//! `wx.config` for a page: check the page URL, then sign it with the shared
//! jsapi_ticket (checking first, so bad input never costs an upstream call).

use crate::core::config::need;
use crate::core::error::Error;
use crate::core::jssdk::{self, JsConfig};
use crate::ports::Env;

use super::credentials;

/// Signs `page_url` for `wx.config`.
pub fn config_for(env: &Env, page_url: &str) -> Result<JsConfig, Error> {
    let app_id = need(env.config.app_id())?;
    let allowed = need(env.config.allowed_origins())?;
    let page = jssdk::page_url(page_url, allowed)?;
    let ticket = credentials::jsapi_ticket(env)?;
    Ok(jssdk::sign(
        app_id,
        &ticket,
        page,
        env.now_s(),
        env.random(),
    ))
}
