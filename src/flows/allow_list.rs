//! Keeping the egress IP WeChat refused (40164), so `/healthz` and
//! `/api/status` can name it without calling WeChat, and forgetting it once
//! a token fetch succeeds again.

use crate::core::allow_list::{self, IpRefusal, IP_NOT_ALLOWED};
use crate::core::config::need;
use crate::core::error::Error;
use crate::core::keys::Keys;
use crate::ports::Env;

use super::store::{read, write};

/// After any call WeChat answered with `errcode`/`errmsg`: on 40164, keeps
/// the IP it names (the first time) and logs what to add where. Store
/// trouble here is logged, never the caller's error.
pub fn note_answer(env: &Env, errcode: i64, errmsg: &str) {
    if errcode != IP_NOT_ALLOWED {
        return;
    }
    let Some(ip) = allow_list::refused_ip(errmsg) else {
        env.log.log("WeChat refused this server's IP (errcode 40164) without naming it; see the errmsg above");
        return;
    };
    let ip = ip.to_string();
    env.log.log(&allow_list::advice(&ip));
    let kept = (|| {
        let key = Keys::new(need(env.config.app_id())?).ip_refusal();
        match read::<IpRefusal>(env, &key)? {
            Some(known) if known.ip == ip => Ok(()),
            _ => write(
                env,
                &key,
                &IpRefusal {
                    ip,
                    since: env.now_s(),
                },
            ),
        }
    })();
    if let Err(e) = kept {
        env.log.log(&format!("could not keep the refused IP: {e}"));
    }
}

/// The IP WeChat refused, if no token fetch has succeeded since.
pub fn current(env: &Env) -> Result<Option<IpRefusal>, Error> {
    read(env, &Keys::new(need(env.config.app_id())?).ip_refusal())
}

/// A token fetch succeeded: the allow-list is fine again.
pub fn clear(env: &Env) -> Result<(), Error> {
    env.kv
        .delete(&Keys::new(need(env.config.app_id())?).ip_refusal())
}
