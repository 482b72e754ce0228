//! OAuth state, login cookie and session cookie decoding: arbitrary input
//! never verifies (forging needs the key) and never panics; issued values
//! always verify and read back as they were issued.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wxmp::core::oauth::Scope;
use wxmp::core::session::SessionId;
use wxmp::core::state::{self, LoginNonce, PendingLogin};
use wxmp::core::types::SessionSecret;

fuzz_target!(|data: &[u8]| {
    let key = SessionSecret::new(*b"fuzz-session-secret-0123456789ab").expect("32 bytes");
    let text = String::from_utf8_lossy(data);
    let now = 1_700_000_000;
    if let Ok(v) = state::verify(&key, &text, now) {
        // Only a state we issued can verify: re-issuing its nonce must give it back.
        assert_eq!(state::issue(&key, v.nonce, v.issued_at), text);
    }
    if let Some(login) = PendingLogin::open(&key, &text, now) {
        assert_eq!(login.seal(&key).secret(), text);
    }
    if let Some(id) = SessionId::from_cookie_value(&key, &text) {
        assert_eq!(id.cookie_value(&key).secret(), text.to_ascii_lowercase());
    }

    let mut bytes = [0u8; 16];
    for (i, b) in data.iter().take(16).enumerate() {
        bytes[i] = *b;
    }
    let nonce = LoginNonce::new(bytes);
    let issued = state::issue(&key, nonce, now);
    let verified = state::verify(&key, &issued, now).expect("an issued state verifies");
    assert_eq!((verified.nonce, verified.issued_at), (nonce, now));

    let login = PendingLogin {
        nonce,
        issued_at: now,
        scope: if data.first().is_some_and(|b| b & 1 == 1) {
            Scope::UserInfo
        } else {
            Scope::Base
        },
        return_to: String::from_utf8_lossy(data.get(16..).unwrap_or_default())
            .chars()
            .take(256)
            .collect(),
    };
    let sealed = login.seal(&key);
    assert_eq!(PendingLogin::open(&key, sealed.secret(), now), Some(login));
});
