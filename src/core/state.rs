//! The OAuth `state`: signed, expiring, single-use, and bound to the browser
//! that started the login, so a login cannot be forced on someone else
//! (login CSRF) or replayed.
//!
//! `state` = hex(nonce ‖ issued_at ‖ HMAC tag): 80 characters of
//! `[0-9a-f]`, well under WeChat's 128. A tampered or expired state is
//! refused before any storage is touched. Where to return and the scope stay
//! server-side in a [`PendingLogin`] keyed by the nonce; the record holds only
//! a hash of the `wxmp_login` cookie that binds it to the browser.

use serde::{Deserialize, Serialize};

use super::error::Error;
use super::mac;
use super::oauth::Scope;
use super::types::SessionSecret;

/// How long a login may take, from redirect to callback.
pub const STATE_TTL_SECS: u64 = 600;
/// Clock skew tolerated between instances, for states "from the future".
const MAX_SKEW_SECS: u64 = 60;
const NONCE_LEN: usize = 16;
const DOMAIN: &[u8] = b"wxmp-state-v1";

/// A state that passed its signature and expiry checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedState {
    /// The nonce in hex: the key of the pending login in storage.
    pub id: String,
    /// When the login started (seconds since the epoch).
    pub issued_at: u64,
}

/// Makes a state from 16 random bytes at `now` (seconds).
pub fn issue(key: &SessionSecret, nonce: [u8; NONCE_LEN], now: u64) -> String {
    let mut payload = Vec::with_capacity(NONCE_LEN + 8);
    payload.extend_from_slice(&nonce);
    payload.extend_from_slice(&now.to_be_bytes());
    let tag = mac::tag(key, DOMAIN, &payload);
    format!("{}{}", hex::encode(&payload), hex::encode(tag))
}

/// Checks a state's form, signature and age. Every failure is the same
/// `invalid_state`: telling a forger which part failed helps only them.
pub fn verify(key: &SessionSecret, state: &str, now: u64) -> Result<VerifiedState, Error> {
    let invalid = || {
        Error::invalid(
            "invalid_state",
            "the login link is invalid or expired; start the login again",
        )
    };
    if state.len() != 2 * (NONCE_LEN + 8 + mac::TAG_LEN) {
        return Err(invalid());
    }
    let bytes = hex::decode(state).map_err(|_| invalid())?;
    let (payload, tag) = bytes.split_at(NONCE_LEN + 8);
    if !mac::equal(&mac::tag(key, DOMAIN, payload), tag) {
        return Err(invalid());
    }
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&payload[NONCE_LEN..]);
    let issued_at = u64::from_be_bytes(ts);
    if issued_at > now.saturating_add(MAX_SKEW_SECS)
        || now.saturating_sub(issued_at) > STATE_TTL_SECS
    {
        return Err(invalid());
    }
    Ok(VerifiedState {
        id: hex::encode(&payload[..NONCE_LEN]),
        issued_at,
    })
}

/// What a login remembers server-side between redirect and callback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    /// Where to send the browser afterwards (already checked).
    pub return_to: String,
    /// The requested scope.
    pub scope: Scope,
    /// SHA-256 of the `wxmp_login` cookie value that started the login.
    pub binder_hash: String,
}

/// A fresh `wxmp_login` cookie value from 32 random bytes.
pub fn new_binder(random: [u8; 32]) -> String {
    hex::encode(random)
}

/// True when `value` looks like a binder wxmp issued (so it may be reused
/// for another concurrent login in the same browser).
pub fn is_binder(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The hash stored in [`PendingLogin::binder_hash`].
pub fn binder_hash(binder: &str) -> String {
    mac::sha256_hex(binder.as_bytes())
}

/// True when the browser's cookie is the one the login was bound to.
pub fn binder_matches(pending: &PendingLogin, cookie: Option<&str>) -> bool {
    cookie.is_some_and(|c| mac::equal(binder_hash(c).as_bytes(), pending.binder_hash.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SessionSecret {
        SessionSecret::new(*b"0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn issued_state_verifies_and_fits_wechat_limits() {
        let s = issue(&key(), [7; 16], 1_700_000_000);
        assert_eq!(s.len(), 80);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        let v = verify(&key(), &s, 1_700_000_000 + 599).unwrap();
        assert_eq!(
            v,
            VerifiedState {
                id: "07".repeat(16),
                issued_at: 1_700_000_000
            }
        );
    }

    #[test]
    fn expired_and_future_states_are_refused() {
        let s = issue(&key(), [7; 16], 1_700_000_000);
        assert!(verify(&key(), &s, 1_700_000_000 + 601).is_err());
        assert!(verify(&key(), &s, 1_700_000_000 - 61).is_err());
        assert!(verify(&key(), &s, 1_700_000_000 - 60).is_ok());
    }

    #[test]
    fn tampered_states_are_refused() {
        let s = issue(&key(), [7; 16], 1_700_000_000);
        for i in 0..s.len() {
            let mut b = s.clone().into_bytes();
            b[i] = if b[i] == b'0' { b'1' } else { b'0' };
            let t = String::from_utf8(b).unwrap();
            let e = verify(&key(), &t, 1_700_000_000).unwrap_err();
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
        assert!(verify(&other, &s, 1_700_000_000).is_err());
        for junk in [
            "",
            "zz",
            &s[..78],
            &format!("{s}00"),
            &s.to_uppercase().replace('A', "G"),
        ] {
            assert!(verify(&key(), junk, 1_700_000_000).is_err(), "{junk}");
        }
    }

    #[test]
    fn binder_must_match_the_cookie() {
        let binder = new_binder([3; 32]);
        assert!(is_binder(&binder));
        assert!(!is_binder("short"));
        let p = PendingLogin {
            return_to: "https://a.example/".into(),
            scope: Scope::Base,
            binder_hash: binder_hash(&binder),
        };
        assert!(binder_matches(&p, Some(&binder)));
        assert!(!binder_matches(&p, Some(&new_binder([4; 32]))));
        assert!(!binder_matches(&p, None));
    }
}
