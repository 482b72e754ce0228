//! Sessions: a random id in an HMAC-tagged `wxmp_session` cookie, stored
//! server-side under a hash of the id (a leaked store dump holds no usable
//! cookie). The cookie headers themselves are `http::cookies`'.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::mac;
use super::types::{SessionCookie, SessionSecret};
use super::userinfo::Profile;

/// How long a session lasts on the server after login.
pub const SESSION_TTL_SECS: u64 = 7 * 24 * 3600;
/// Sessions one user may hold at once (browsers, devices); a login beyond
/// that ends the oldest, so one account cannot fill the store.
pub const MAX_SESSIONS_PER_USER: usize = 5;
const ID_LEN: usize = 32;
const DOMAIN: &[u8] = b"wxmp-session-v1";

/// A session id: 256 random bits. Secret: it is the user's login.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId([u8; ID_LEN]);

impl SessionId {
    /// A new id from 32 random bytes; every login gets a new one, so a
    /// session id planted before login (fixation) is never promoted.
    pub fn new(random: [u8; ID_LEN]) -> Self {
        Self(random)
    }

    /// The cookie value: `hex(id).hex(tag)`.
    pub fn cookie_value(&self, key: &SessionSecret) -> SessionCookie {
        SessionCookie::new(format!(
            "{}.{}",
            hex::encode(self.0),
            hex::encode(mac::tag(key, DOMAIN, &self.0))
        ))
    }

    /// Reads a cookie value back; `None` when malformed or its tag is wrong.
    pub fn from_cookie_value(key: &SessionSecret, value: &str) -> Option<Self> {
        let (id_hex, tag_hex) = value.split_once('.')?;
        if id_hex.len() != 2 * ID_LEN || tag_hex.len() != 2 * mac::TAG_LEN {
            return None;
        }
        let id: [u8; ID_LEN] = hex::decode(id_hex).ok()?.try_into().ok()?;
        let tag = hex::decode(tag_hex).ok()?;
        mac::equal(&mac::tag(key, DOMAIN, &id), &tag).then_some(Self(id))
    }

    /// The storage key part: SHA-256 of the id, never the id itself.
    pub fn storage_id(&self) -> String {
        mac::sha256_hex(&self.0)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId([redacted])")
    }
}

/// What a session stores: the profile as of login, and its lifetime.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The user's profile.
    pub profile: Profile,
    /// Seconds since the epoch when the session ends.
    pub expires_at: u64,
}

impl SessionRecord {
    /// True while the session may be used.
    pub fn is_live(&self, now: u64) -> bool {
        now < self.expires_at
    }
}

/// One user's sessions (storage ids and expiry), oldest first: the index
/// that bounds how many sessions a user can hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSessions {
    /// `(storage id, expires_at)`, oldest first.
    pub sessions: Vec<(String, u64)>,
}

impl UserSessions {
    /// Adds a new session and returns the storage ids of those to end:
    /// expired ones, and the oldest beyond [`MAX_SESSIONS_PER_USER`].
    pub fn admit(&mut self, storage_id: String, expires_at: u64, now: u64) -> Vec<String> {
        let (live, mut ended): (Vec<_>, Vec<_>) =
            self.sessions.drain(..).partition(|(_, exp)| now < *exp);
        self.sessions = live;
        self.sessions.push((storage_id, expires_at));
        let excess = self.sessions.len().saturating_sub(MAX_SESSIONS_PER_USER);
        ended.extend(self.sessions.drain(..excess));
        ended.into_iter().map(|(id, _)| id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SessionSecret {
        SessionSecret::new(*b"0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn cookie_round_trips_and_rejects_tampering() {
        let id = SessionId::new([9; 32]);
        let v = id.cookie_value(&key());
        let v = v.secret().to_owned();
        assert_eq!(v.len(), 64 + 1 + 32);
        assert_eq!(SessionId::from_cookie_value(&key(), &v), Some(id.clone()));
        let mut tampered = v.clone().into_bytes();
        tampered[3] = if tampered[3] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            SessionId::from_cookie_value(&key(), std::str::from_utf8(&tampered).unwrap()),
            None
        );
        for junk in [
            "",
            ".",
            "abc.def",
            &v[..v.len() - 1],
            &format!("{v}0"),
            &v.replace('.', ""),
        ] {
            assert_eq!(SessionId::from_cookie_value(&key(), junk), None, "{junk}");
        }
        let other = SessionSecret::new(*b"another-key-another-key-another!!").unwrap();
        assert_eq!(SessionId::from_cookie_value(&other, &v), None);
    }

    #[test]
    fn storage_id_is_a_hash_not_the_id() {
        let id = SessionId::new([9; 32]);
        assert_eq!(id.storage_id().len(), 64);
        assert!(!id.cookie_value(&key()).secret().contains(&id.storage_id()));
        assert_eq!(format!("{id:?}"), "SessionId([redacted])");
    }

    #[test]
    fn a_user_keeps_at_most_five_sessions_and_no_expired_ones() {
        let mut index = UserSessions::default();
        assert!(index.admit("old".into(), 100, 50).is_empty());
        // At 100 the first one has expired: it is ended when the next arrives.
        assert_eq!(index.admit("s1".into(), 1_000, 100), ["old"]);
        for i in 2..=5 {
            assert!(index.admit(format!("s{i}"), 1_000, 100).is_empty());
        }
        assert_eq!(index.admit("s6".into(), 1_000, 100), ["s1"]);
        let ids: Vec<&str> = index.sessions.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["s2", "s3", "s4", "s5", "s6"]);
    }
}
