//! OAuth state and session-cookie decoding: arbitrary input never verifies
//! (forging needs the key) and never panics; issued values always verify.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wxmp::core::session::SessionId;
use wxmp::core::state;
use wxmp::core::types::SessionSecret;

fuzz_target!(|data: &[u8]| {
    let key = SessionSecret::new(*b"fuzz-session-secret-0123456789ab").expect("32 bytes");
    let text = String::from_utf8_lossy(data);
    let now = 1_700_000_000;
    if let Ok(v) = state::verify(&key, &text, now) {
        // Only a state we issued can verify: re-issuing its nonce must give it back.
        let nonce: [u8; 16] = hex_nonce(&v.id);
        assert_eq!(state::issue(&key, nonce, v.issued_at), text);
    }
    if let Some(id) = SessionId::from_cookie_value(&key, &text) {
        assert_eq!(id.cookie_value(&key), text.to_ascii_lowercase());
    }
    let mut nonce = [0u8; 16];
    for (i, b) in data.iter().take(16).enumerate() {
        nonce[i] = *b;
    }
    let issued = state::issue(&key, nonce, now);
    assert!(state::verify(&key, &issued, now).is_ok());
});

fn hex_nonce(id: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (i, chunk) in id.as_bytes().chunks(2).enumerate().take(16) {
        out[i] = u8::from_str_radix(std::str::from_utf8(chunk).unwrap_or("00"), 16).unwrap_or(0);
    }
    out
}
