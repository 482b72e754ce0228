//! WXBizMsgCrypt decryption of arbitrary `Encrypt` fields: errors, never
//! panics; and encrypt → decrypt is the identity.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wxmp::core::crypto::decode_aes_key;
use wxmp::core::crypto::{decrypt, encrypt};
use wxmp::core::types::AppId;

fuzz_target!(|data: &[u8]| {
    let key = decode_aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").expect("static key");
    let app = AppId::new("wx2c2769f8efd9abc2");
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = decrypt(&key, &app, text);
        let sealed = encrypt(&key, &app, [7; 16], text);
        assert_eq!(decrypt(&key, &app, &sealed).as_deref(), Ok(text));
    }
    // Arbitrary ciphertext that is valid base64: exercises padding and
    // length checks after AES.
    use base64::Engine;
    let _ = decrypt(
        &key,
        &app,
        &base64::engine::general_purpose::STANDARD.encode(data),
    );
});
