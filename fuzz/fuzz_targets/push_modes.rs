//! The whole push opener with modes and freshness: arbitrary timestamps,
//! nonces, bodies, encryption and modes, every signature made correctly so
//! the checks behind it are reached. Never a panic, and whatever opens obeys
//! the rules: within 300 s of now, encrypted in safe mode, and an encrypted
//! push gives back exactly what was sealed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wxmp::core::crypto::{decode_aes_key, encrypt};
use wxmp::core::messages::{open, MessageMode, PushQuery, PushRules, MAX_PUSH_SKEW_SECS};
use wxmp::core::types::{AppId, ServerToken};
use wxmp::core::verify::{server_signature, sorted_sha1};

const NOW: u64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let [mode, encrypted, skew_hi, skew_lo, rest @ ..] = data else {
        return;
    };
    let mode = match mode % 3 {
        0 => MessageMode::Plaintext,
        1 => MessageMode::Compat,
        _ => MessageMode::Safe,
    };
    let encrypted = encrypted % 2 == 1;
    // Timestamps around the window's edges, and anything at all.
    let skew = i64::from(i16::from_be_bytes([*skew_hi, *skew_lo]));
    let timestamp = if skew == i64::from(i16::MIN) {
        String::from_utf8_lossy(rest.get(..8).unwrap_or_default()).into_owned()
    } else {
        NOW.saturating_add_signed(skew).to_string()
    };
    let (nonce, body) = rest.split_at(rest.len().min(6));
    let nonce = String::from_utf8_lossy(nonce).into_owned();
    let body = String::from_utf8_lossy(body).into_owned();

    let token = ServerToken::new("fuzztoken");
    let key = decode_aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").expect("static key");
    let app_id = AppId::new("wxfuzz");
    let mut query = PushQuery {
        signature: server_signature(&token, &timestamp, &nonce),
        timestamp: timestamp.clone(),
        nonce: nonce.clone(),
        ..PushQuery::default()
    };
    let wire = if encrypted {
        let sealed = encrypt(&key, &app_id, [1; 16], &body);
        query.encrypt_type = Some("aes".into());
        query.msg_signature = Some(sorted_sha1(&[token.secret(), &timestamp, &nonce, &sealed]));
        format!("<xml><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>")
    } else {
        body.clone()
    };
    let rules = PushRules {
        token: &token,
        aes_key: Some(&key),
        app_id: &app_id,
        mode,
        now: NOW,
    };
    if let Ok(m) = open(&rules, &query, wire.as_bytes()) {
        let ts: u64 = timestamp.parse().expect("only numeric timestamps open");
        assert!(ts.abs_diff(NOW) <= MAX_PUSH_SKEW_SECS, "{ts}");
        assert!(
            mode != MessageMode::Safe || encrypted,
            "plaintext opened in safe mode"
        );
        assert_eq!(m.encrypted, encrypted);
        if encrypted {
            let again = wxmp::core::xml::parse(&body).expect("what opened parses");
            assert_eq!(m.fields, again);
        }
        let _ = m.to_json().to_string();
    }
});
