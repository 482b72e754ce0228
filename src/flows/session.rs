//! Reading and ending sessions opened by `login::finish`.

use crate::core::config::need;
use crate::core::error::Error;
use crate::core::keys::Keys;
use crate::core::session::{SessionId, SessionRecord};
use crate::ports::Env;

use super::store::read;

/// The live session behind a `wxmp_session` cookie value, if any.
pub fn current(env: &Env, cookie: Option<&str>) -> Result<Option<SessionRecord>, Error> {
    let secret = need(env.config.session_secret())?;
    let Some(id) = cookie.and_then(|c| SessionId::from_cookie_value(secret, c)) else {
        return Ok(None);
    };
    let stored = Keys::new(need(env.config.app_id())?).session(&id.storage_id());
    match read::<SessionRecord>(env, &stored)? {
        Some(record) if record.is_live(env.now_s()) => Ok(Some(record)),
        Some(_) => {
            // Expired: nobody may use it again, so it leaves the store now.
            let _ = env.kv.delete(&stored);
            Ok(None)
        }
        None => Ok(None),
    }
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
