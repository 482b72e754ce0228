//! `/api/status`'s figures, read from the store: both credentials, the
//! forced refreshes, the refused IP, the store's reachability. Reading never
//! fetches anything from WeChat and never touches a token's value beyond
//! deserialising the record that holds it.

use serde::Serialize;

use crate::core::allow_list::IpRefusal;
use crate::core::cache::{self, Cached, Credential, ForceLog, LeaseHolder};
use crate::core::config::need;
use crate::core::error::Error;
use crate::core::keys::Keys;
use crate::core::status::{self, CredentialStatus, ForcedRefreshes};
use crate::core::types::{AccessToken, JsapiTicket};
use crate::ports::Env;

use super::store::read;

/// Everything the store says about the central control.
#[derive(Clone, Debug, Serialize)]
pub struct CentralControl {
    /// The access_token.
    pub access_token: CredentialStatus,
    /// The jsapi_ticket.
    pub jsapi_ticket: CredentialStatus,
    /// Forced `stable_token` refreshes today.
    pub forced_refreshes: ForcedRefreshes,
    /// The egress IP WeChat refused with 40164, until a token fetch succeeds.
    pub ip_not_allowed: Option<IpRefusal>,
}

/// Reads the figures; a store failure is the error (the caller reports the
/// store unreachable).
pub fn central_control(env: &Env) -> Result<CentralControl, Error> {
    let keys = Keys::new(need(env.config.app_id())?);
    let now_ms = env.clock.now_ms();
    let token: Option<Cached<AccessToken>> = read(env, &keys.credential(Credential::AccessToken))?;
    let ticket: Option<Cached<JsapiTicket>> = read(env, &keys.credential(Credential::JsapiTicket))?;
    let holder = |kind, gen| read::<LeaseHolder>(env, &keys.holder(kind, gen));
    let token_holder = holder(Credential::AccessToken, cache::basis(token.as_ref()))?;
    let ticket_holder = holder(Credential::JsapiTicket, cache::basis(ticket.as_ref()))?;
    let force_log: Option<ForceLog> = read(env, &keys.force_log())?;
    Ok(CentralControl {
        access_token: status::credential(token.as_ref(), token_holder.as_ref(), now_ms),
        jsapi_ticket: status::credential(ticket.as_ref(), ticket_holder.as_ref(), now_ms),
        forced_refreshes: status::forced_refreshes(force_log.as_ref(), now_ms / 1000),
        ip_not_allowed: super::allow_list::current(env)?,
    })
}
