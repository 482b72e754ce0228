//! A login in flight: the OAuth `state` WeChat carries, and the login cookie
//! that binds it to the browser that started it — so a login cannot be
//! forced on someone else (login CSRF) or replayed, and an unauthenticated
//! `/oauth/login` stores nothing on the server.
//!
//! `state` = hex(nonce ‖ issued_at ‖ HMAC tag): 80 characters of
//! `[0-9a-f]`, well under WeChat's 128. Where to return and the scope travel
//! in the browser's login cookie ([`PendingLogin::seal`]), MACed with the
//! same key and carrying the same nonce; the callback accepts a state only
//! together with its own cookie. A tampered or expired state or cookie is
//! refused before any storage is touched.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::error::Error;
use super::mac;
use super::oauth::Scope;
use super::types::{LoginCookie, SessionSecret};

/// How long a login may take, from redirect to callback.
pub const STATE_TTL_SECS: u64 = 600;
/// The longest `return_to` (as resolved) a login cookie carries, so a
/// browser's login cookies stay far below its 4 KiB-per-cookie limit and
/// our own 8 KiB header limit.
pub const MAX_RETURN_TO_BYTES: usize = 1024;
/// Logins one browser may have in flight (tabs); older ones are dropped.
pub const MAX_PENDING_LOGINS: usize = 3;
/// Clock skew tolerated between instances, for states "from the future".
const MAX_SKEW_SECS: u64 = 60;
const NONCE_LEN: usize = 16;
const STATE_DOMAIN: &[u8] = b"wxmp-state-v1";
const COOKIE_DOMAIN: &[u8] = b"wxmp-login-v1";

/// A state's nonce: the login's identity, shared by the state and its cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginNonce([u8; NONCE_LEN]);

impl LoginNonce {
    /// A nonce from 16 random bytes.
    pub fn new(random: [u8; NONCE_LEN]) -> Self {
        Self(random)
    }

    /// Hex, for store keys.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The part of the login cookie's name that tells logins apart (8 hex digits).
    pub fn cookie_tag(&self) -> String {
        hex::encode(&self.0[..4])
    }

    /// The nonce's bytes, for hashing into a slot.
    pub fn bytes(&self) -> &[u8; NONCE_LEN] {
        &self.0
    }
}

/// A state that passed its signature and expiry checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedState {
    /// The login's nonce.
    pub nonce: LoginNonce,
    /// When the login started (seconds since the epoch).
    pub issued_at: u64,
}

/// Makes a state for `nonce` at `now` (seconds).
pub fn issue(key: &SessionSecret, nonce: LoginNonce, now: u64) -> String {
    let payload = nonce_and_time(nonce, now);
    let tag = mac::tag(key, STATE_DOMAIN, &payload);
    format!("{}{}", hex::encode(payload), hex::encode(tag))
}

fn nonce_and_time(nonce: LoginNonce, at: u64) -> [u8; NONCE_LEN + 8] {
    let mut payload = [0u8; NONCE_LEN + 8];
    payload[..NONCE_LEN].copy_from_slice(&nonce.0);
    payload[NONCE_LEN..].copy_from_slice(&at.to_be_bytes());
    payload
}

/// The one answer for every bad state or login cookie: telling a forger
/// which part failed helps only them.
pub fn invalid_state(why: &str) -> Error {
    Error::invalid("invalid_state", why)
}

fn fresh(issued_at: u64, now: u64) -> bool {
    issued_at <= now.saturating_add(MAX_SKEW_SECS)
        && now.saturating_sub(issued_at) <= STATE_TTL_SECS
}

/// Checks a state's form, signature and age.
pub fn verify(key: &SessionSecret, state: &str, now: u64) -> Result<VerifiedState, Error> {
    let invalid = || invalid_state("the login link is invalid or expired; start the login again");
    if state.len() != 2 * (NONCE_LEN + 8 + mac::TAG_LEN) {
        return Err(invalid());
    }
    let bytes = hex::decode(state).map_err(|_| invalid())?;
    let (payload, tag) = bytes.split_at(NONCE_LEN + 8);
    if !mac::equal(&mac::tag(key, STATE_DOMAIN, payload), tag) {
        return Err(invalid());
    }
    let (nonce, at) = split_nonce_and_time(payload);
    if !fresh(at, now) {
        return Err(invalid());
    }
    Ok(VerifiedState {
        nonce,
        issued_at: at,
    })
}

fn split_nonce_and_time(payload: &[u8]) -> (LoginNonce, u64) {
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&payload[..NONCE_LEN]);
    let mut at = [0u8; 8];
    at.copy_from_slice(&payload[NONCE_LEN..NONCE_LEN + 8]);
    (LoginNonce(nonce), u64::from_be_bytes(at))
}

/// What a login remembers between redirect and callback, kept in the
/// browser's login cookie rather than in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingLogin {
    /// The nonce its state carries.
    pub nonce: LoginNonce,
    /// When it started (seconds since the epoch).
    pub issued_at: u64,
    /// The requested scope.
    pub scope: Scope,
    /// Where to send the browser afterwards (already checked, ≤ [`MAX_RETURN_TO_BYTES`]).
    pub return_to: String,
}

impl PendingLogin {
    /// The login cookie's value: base64url(nonce ‖ issued_at ‖ scope ‖
    /// return_to ‖ HMAC tag).
    pub fn seal(&self, key: &SessionSecret) -> LoginCookie {
        let mut data = nonce_and_time(self.nonce, self.issued_at).to_vec();
        data.push(match self.scope {
            Scope::Base => b'b',
            Scope::UserInfo => b'u',
        });
        data.extend_from_slice(self.return_to.as_bytes());
        let tag = mac::tag(key, COOKIE_DOMAIN, &data);
        data.extend_from_slice(&tag);
        LoginCookie::new(URL_SAFE_NO_PAD.encode(data))
    }

    /// Reads a login cookie back: `None` when malformed, forged or expired.
    pub fn open(key: &SessionSecret, value: &str, now: u64) -> Option<Self> {
        let max = 4 * (NONCE_LEN + 8 + 1 + MAX_RETURN_TO_BYTES + mac::TAG_LEN) / 3 + 4;
        if value.len() > max {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
        let body_len = bytes.len().checked_sub(mac::TAG_LEN)?;
        if body_len < NONCE_LEN + 9 {
            return None;
        }
        let (data, tag) = bytes.split_at(body_len);
        if !mac::equal(&mac::tag(key, COOKIE_DOMAIN, data), tag) {
            return None;
        }
        let (nonce, issued_at) = split_nonce_and_time(data);
        let scope = match data[NONCE_LEN + 8] {
            b'b' => Scope::Base,
            b'u' => Scope::UserInfo,
            _ => return None,
        };
        let return_to = String::from_utf8(data[NONCE_LEN + 9..].to_vec()).ok()?;
        fresh(issued_at, now).then_some(Self {
            nonce,
            issued_at,
            scope,
            return_to,
        })
    }
}

/// Which of a browser's login cookies to keep when a new login starts:
/// those that open and are among the newest `MAX_PENDING_LOGINS - 1`.
/// Returns the tags (see [`LoginNonce::cookie_tag`]) of the ones to clear.
pub fn logins_to_drop<'a>(
    key: &SessionSecret,
    cookies: impl IntoIterator<Item = (&'a str, &'a str)>,
    now: u64,
) -> Vec<String> {
    let mut live = Vec::new();
    let mut drop = Vec::new();
    for (tag, value) in cookies {
        match PendingLogin::open(key, value, now) {
            Some(p) if p.nonce.cookie_tag() == tag => live.push((p.issued_at, tag.to_owned())),
            _ => drop.push(tag.to_owned()),
        }
    }
    live.sort_by_key(|l| std::cmp::Reverse(l.0));
    drop.extend(
        live.into_iter()
            .skip(MAX_PENDING_LOGINS - 1)
            .map(|(_, tag)| tag),
    );
    drop
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn key() -> SessionSecret {
        SessionSecret::new(*b"0123456789abcdef0123456789abcdef").unwrap()
    }

    fn pending(nonce: u8, at: u64) -> PendingLogin {
        PendingLogin {
            nonce: LoginNonce::new([nonce; 16]),
            issued_at: at,
            scope: Scope::UserInfo,
            return_to: "https://m.example.com/shop?x=中".into(),
        }
    }

    #[test]
    fn issued_state_verifies_and_fits_wechat_limits() {
        let s = issue(&key(), LoginNonce::new([7; 16]), NOW);
        assert_eq!(s.len(), 80);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        let v = verify(&key(), &s, NOW + 599).unwrap();
        assert_eq!(
            v,
            VerifiedState {
                nonce: LoginNonce::new([7; 16]),
                issued_at: NOW
            }
        );
        assert_eq!(v.nonce.hex(), "07".repeat(16));
        assert_eq!(v.nonce.cookie_tag(), "07070707");
    }

    #[test]
    fn expired_and_future_states_are_refused() {
        let s = issue(&key(), LoginNonce::new([7; 16]), NOW);
        assert!(verify(&key(), &s, NOW + 601).is_err());
        assert!(verify(&key(), &s, NOW - 61).is_err());
        assert!(verify(&key(), &s, NOW - 60).is_ok());
    }

    #[test]
    fn tampered_states_are_refused() {
        let s = issue(&key(), LoginNonce::new([7; 16]), NOW);
        for i in 0..s.len() {
            let mut b = s.clone().into_bytes();
            b[i] = if b[i] == b'0' { b'1' } else { b'0' };
            let t = String::from_utf8(b).unwrap();
            let e = verify(&key(), &t, NOW).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::InvalidInput {
                        code: "invalid_state",
                        ..
                    }
                ),
                "byte {i}"
            );
        }
        let other = SessionSecret::new(*b"another-key-another-key-another!!").unwrap();
        assert!(verify(&other, &s, NOW).is_err());
        for junk in [
            "",
            "zz",
            &s[..78],
            &format!("{s}00"),
            &s.to_uppercase().replace('A', "G"),
        ] {
            assert!(verify(&key(), junk, NOW).is_err(), "{junk}");
        }
    }

    #[test]
    fn login_cookies_round_trip_and_refuse_tampering_and_age() {
        let p = pending(3, NOW);
        let sealed = p.seal(&key());
        assert_eq!(
            PendingLogin::open(&key(), sealed.secret(), NOW + 600),
            Some(p.clone())
        );
        assert_eq!(PendingLogin::open(&key(), sealed.secret(), NOW + 601), None);
        let other = SessionSecret::new(*b"another-key-another-key-another!!").unwrap();
        assert_eq!(PendingLogin::open(&other, sealed.secret(), NOW), None);
        let v = sealed.secret();
        for i in 0..v.len() {
            let mut b = v.as_bytes().to_vec();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let t = String::from_utf8(b).unwrap();
            assert_eq!(PendingLogin::open(&key(), &t, NOW), None, "byte {i}");
        }
        for junk in ["", "a", &"A".repeat(10_000), "!!!!", &v[..v.len() - 2]] {
            assert_eq!(PendingLogin::open(&key(), junk, NOW), None);
        }
        // A state is not a login cookie, nor the other way round.
        let state = issue(&key(), p.nonce, NOW);
        assert_eq!(PendingLogin::open(&key(), &state, NOW), None);
        assert!(verify(&key(), v, NOW).is_err());
    }

    #[test]
    fn the_longest_cookie_fits_a_browser() {
        let mut p = pending(1, NOW);
        p.return_to = "x".repeat(MAX_RETURN_TO_BYTES);
        let sealed = p.seal(&key());
        assert!(sealed.secret().len() < 1500, "{}", sealed.secret().len());
        assert_eq!(PendingLogin::open(&key(), sealed.secret(), NOW), Some(p));
    }

    #[test]
    fn new_logins_keep_the_newest_others_and_drop_the_rest() {
        let k = key();
        let cookies: Vec<(String, String)> =
            [(1, NOW - 30), (2, NOW - 10), (3, NOW - 20), (4, NOW - 700)]
                .into_iter()
                .map(|(n, at)| {
                    let p = pending(n, at);
                    (p.nonce.cookie_tag(), p.seal(&k).secret().to_owned())
                })
                .chain([("ffffffff".to_owned(), "forged".to_owned())])
                .collect();
        let mut dropped = logins_to_drop(
            &k,
            cookies.iter().map(|(t, v)| (t.as_str(), v.as_str())),
            NOW,
        );
        dropped.sort();
        // 4 expired, the forged one, and 1 (oldest of the live three).
        assert_eq!(dropped, ["01010101", "04040404", "ffffffff"]);
        // A cookie under another login's name is dropped too.
        let p = pending(5, NOW);
        let v = p.seal(&k);
        assert_eq!(
            logins_to_drop(&k, [("06060606", v.secret())], NOW),
            ["06060606"]
        );
    }
}
