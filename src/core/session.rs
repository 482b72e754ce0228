//! Sessions: a random id in an HMAC-tagged `wxmp_session` cookie, stored
//! server-side under a hash of the id (a leaked store dump holds no usable
//! cookie), plus the cookie headers wxmp sets and reads.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::mac;
use super::types::SessionSecret;
use super::userinfo::Profile;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "wxmp_session";
/// The cookie binding a pending login to the browser that started it.
pub const LOGIN_COOKIE: &str = "wxmp_login";
/// How long a session lasts on the server after login.
pub const SESSION_TTL_SECS: u64 = 7 * 24 * 3600;
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
    pub fn cookie_value(&self, key: &SessionSecret) -> String {
        format!(
            "{}.{}",
            hex::encode(self.0),
            hex::encode(mac::tag(key, DOMAIN, &self.0))
        )
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

/// Attributes for a `Set-Cookie` header.
#[derive(Clone, Copy, Debug)]
pub struct CookieAttrs {
    /// Add `Secure` (when `public_url` is https).
    pub secure: bool,
    /// `Max-Age` in seconds; `None` makes a browser-session cookie.
    pub max_age: Option<u64>,
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/.
pub fn set_cookie(name: &str, value: &str, attrs: CookieAttrs) -> String {
    let mut c = format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/");
    if let Some(age) = attrs.max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if attrs.secure {
        c.push_str("; Secure");
    }
    c
}

/// A `Set-Cookie` value that deletes the cookie.
pub fn clear_cookie(name: &str, secure: bool) -> String {
    set_cookie(
        name,
        "",
        CookieAttrs {
            secure,
            max_age: Some(0),
        },
    )
}

/// The first value of cookie `name` in `Cookie` header values.
pub fn find_cookie<'a>(
    cookie_headers: impl IntoIterator<Item = &'a str>,
    name: &str,
) -> Option<&'a str> {
    cookie_headers
        .into_iter()
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
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
        assert!(!id.cookie_value(&key()).contains(&id.storage_id()));
        assert_eq!(format!("{id:?}"), "SessionId([redacted])");
    }

    #[test]
    fn cookies_are_built_as_specified() {
        assert_eq!(
            set_cookie(
                SESSION_COOKIE,
                "v",
                CookieAttrs {
                    secure: true,
                    max_age: None
                }
            ),
            "wxmp_session=v; HttpOnly; SameSite=Lax; Path=/; Secure"
        );
        assert_eq!(
            set_cookie(
                LOGIN_COOKIE,
                "b",
                CookieAttrs {
                    secure: false,
                    max_age: Some(600)
                }
            ),
            "wxmp_login=b; HttpOnly; SameSite=Lax; Path=/; Max-Age=600"
        );
        assert_eq!(
            clear_cookie(SESSION_COOKIE, false),
            "wxmp_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        );
    }

    #[test]
    fn cookies_are_found_among_others() {
        let headers = ["a=1; wxmp_session=abc.def", "wxmp_login=zz"];
        assert_eq!(find_cookie(headers, SESSION_COOKIE), Some("abc.def"));
        assert_eq!(find_cookie(headers, LOGIN_COOKIE), Some("zz"));
        assert_eq!(find_cookie(headers, "missing"), None);
        assert_eq!(find_cookie(["xwxmp_session=1"], SESSION_COOKIE), None);
    }
}
