//! Reading and ending sessions opened by `login::finish`.

use crate::core::keys::Keys;
use crate::core::config::need;
use crate::core::error::Error;
use crate::core::session::{SessionId, SessionRecord};
use crate::ports::Env;

use super::store::read;

/// The live session behind a `wxmp_session` cookie value, if any.
pub fn current(env: &Env, cookie: Option<&str>) -> Result<Option<SessionRecord>, Error> {
    let key = need(env.config.session_secret())?;
    let Some(id) = cookie.and_then(|c| SessionId::from_cookie_value(key, c)) else {
        return Ok(None);
    };
    let record: Option<SessionRecord> = read(
        env,
        &Keys::new(need(env.config.app_id())?).session(&id.storage_id()),
    )?;
    Ok(record.filter(|r| r.is_live(env.now_s())))
}

/// Deletes the session behind `cookie` (nothing to do without one).
pub fn end(env: &Env, cookie: Option<&str>) -> Result<(), Error> {
    let key = need(env.config.session_secret())?;
    if let Some(id) = cookie.and_then(|c| SessionId::from_cookie_value(key, c)) {
        env.kv
            .delete(&Keys::new(need(env.config.app_id())?).session(&id.storage_id()))?;
    }
    Ok(())
}
