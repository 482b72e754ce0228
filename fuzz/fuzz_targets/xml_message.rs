//! The push XML parser and the whole push opener in plaintext mode: never a
//! panic, and whatever parses also serialises to JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wxmp::core::messages::{open, MessageMode, PushQuery, PushRules};
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
    let app_id = AppId::new("wxfuzz");
    let rules = PushRules {
        token: &token,
        aes_key: None,
        app_id: &app_id,
        mode: MessageMode::Plaintext,
        now: 1,
    };
    if let Ok(m) = open(&rules, &query, data) {
        let _ = m.to_json().to_string();
        let _ = m.dedup_key();
    }
});
