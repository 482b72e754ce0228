//! Every key wxmp writes to the shared key-value store, one constructor per
//! family, all namespaced by AppID (`wxmp:{app_id}:…`) so several accounts
//! can share one store. Flows never spell a key themselves: they ask
//! [`Keys`] for a [`Key`], which is the only thing the store port accepts.
//! docs/operate.md lists each family with its bound.

use std::fmt;

use super::cache::Credential;
use super::state::LoginNonce;
use super::types::{AppId, OpenId};

/// A key in the shared store, built by [`Keys`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Key(String);

impl Key {
    /// The key as the store sees it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({:?})", self.0)
    }
}

/// The key families of one account.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys for one account.
    pub fn new(app_id: &AppId) -> Self {
        Self {
            prefix: format!("wxmp:{app_id}"),
        }
    }

    fn key(&self, rest: std::fmt::Arguments<'_>) -> Key {
        Key(format!("{}:{rest}", self.prefix))
    }

    /// The egress IP WeChat last refused with 40164 (one; deleted when a
    /// token fetch succeeds).
    pub fn ip_refusal(&self) -> Key {
        self.key(format_args!("ip-refusal"))
    }

    /// The cached access_token or jsapi_ticket (one each).
    pub fn credential(&self, c: Credential) -> Key {
        self.key(format_args!("{}", c.key_part()))
    }

    /// The election counter for refreshing generation `gen` (holds only the
    /// counter; deleted when the refresh succeeds).
    pub fn lease(&self, c: Credential, gen: u64) -> Key {
        self.key(format_args!("lease:{}:{gen}", c.key_part()))
    }

    /// The elected fetcher's record for generation `gen` (deleted with the lease).
    pub fn holder(&self, c: Credential, gen: u64) -> Key {
        self.key(format_args!("holder:{}:{gen}", c.key_part()))
    }

    /// The counter that elects one waiter to take over from a holder that
    /// died or failed (`holder` names it: its id, or a time bucket).
    pub fn takeover(&self, c: Credential, gen: u64, holder: &str) -> Key {
        self.key(format_args!(
            "lease:{}:{gen}:takeover:{holder}",
            c.key_part()
        ))
    }

    /// The forced stable_token refresh log (one).
    pub fn force_log(&self) -> Key {
        self.key(format_args!("force-log"))
    }

    /// A session, by the hash of its id.
    pub fn session(&self, storage_id: &str) -> Key {
        self.key(format_args!("session:{storage_id}"))
    }

    /// One user's live sessions (at most a few; older ones are ended).
    pub fn user_sessions(&self, openid: &OpenId) -> Key {
        self.key(format_args!("user-sessions:{openid}"))
    }

    /// The counter that lets exactly one callback consume a state (deleted
    /// as soon as the state is marked used).
    pub fn login_claim(&self, nonce: &LoginNonce) -> Key {
        self.key(format_args!("login-claim:{}", nonce.hex()))
    }

    /// One of the slots remembering states already used.
    pub fn login_used(&self, slot: u64) -> Key {
        self.key(format_args!("login-used:{slot}"))
    }

    /// One of the push-answer slots that answer WeChat's retries.
    pub fn push_slot(&self, slot: u64) -> Key {
        self.key(format_args!("push-slot:{slot}"))
    }

    /// The counter that elects one delivery of a push to call the webhook
    /// (deleted when its answer is stored).
    pub fn push_claim(&self, digest: &str) -> Key {
        self.key(format_args!("push-claim:{digest}"))
    }

    /// One of the slots remembering which body a push's (timestamp, nonce) came with.
    pub fn push_nonce(&self, slot: u64) -> Key {
        self.key(format_args!("push-nonce:{slot}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_namespaced_by_app() {
        let k = Keys::new(&AppId::new("wx1"));
        let all = [
            (k.credential(Credential::AccessToken), "wxmp:wx1:token"),
            (k.credential(Credential::JsapiTicket), "wxmp:wx1:ticket"),
            (
                k.lease(Credential::AccessToken, 7),
                "wxmp:wx1:lease:token:7",
            ),
            (
                k.holder(Credential::JsapiTicket, 7),
                "wxmp:wx1:holder:ticket:7",
            ),
            (
                k.takeover(Credential::AccessToken, 3, "a"),
                "wxmp:wx1:lease:token:3:takeover:a",
            ),
            (k.force_log(), "wxmp:wx1:force-log"),
            (k.session("ab"), "wxmp:wx1:session:ab"),
            (
                k.user_sessions(&OpenId::new("o1")),
                "wxmp:wx1:user-sessions:o1",
            ),
            (
                k.login_claim(&LoginNonce::new([1; 16])),
                "wxmp:wx1:login-claim:01010101010101010101010101010101",
            ),
            (k.login_used(5), "wxmp:wx1:login-used:5"),
            (k.push_slot(9), "wxmp:wx1:push-slot:9"),
            (k.push_claim("d"), "wxmp:wx1:push-claim:d"),
            (k.push_nonce(4), "wxmp:wx1:push-nonce:4"),
        ];
        for (key, expected) in all {
            assert_eq!(key.as_str(), expected);
        }
    }
}
