//! The push XML parser and the whole push opener in plaintext mode: never a
//! panic, and whatever parses also serialises to JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wxmp::core::messages::{open, PushQuery};
use wxmp::core::types::{AppId, ServerToken};
use wxmp::core::verify::server_signature;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(fields) = wxmp::core::xml::parse(text) {
            assert!(fields.len() <= wxmp::core::xml::MAX_ELEMENTS);
        }
    }
    let token = ServerToken::new("fuzztoken");
    let query = PushQuery {
        signature: server_signature(&token, "1", "n"),
        timestamp: "1".into(),
        nonce: "n".into(),
        encrypt_type: None,
        msg_signature: None,
    };
    if let Ok(m) = open(&token, None, &AppId::new("wxfuzz"), &query, data) {
        let _ = m.to_json().to_string();
        let _ = m.dedup_key();
    }
});
