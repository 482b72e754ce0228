//! WXBizMsgCrypt, WeChat's message encryption for safe and compat mode.
//!
//! Key = the 43-character EncodingAESKey + "=" decoded (32 bytes, see
//! `config::decode_aes_key`); AES-256-CBC with IV = the key's first 16 bytes;
//! PKCS#7 padding to 32-byte blocks; plaintext = 16 random bytes ‖ XML length
//! (u32, big-endian) ‖ XML ‖ AppID. Bytes in, bytes out; every malformed input
//! is an error, never a panic.

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::error::Error;
use super::mac;
use super::types::{AesKey, AppId};

/// WeChat pads to 32-byte blocks, not AES's 16.
const PAD_BLOCK: usize = 32;
/// Largest `Encrypt` field accepted (base64 of a 64 KiB push, with room).
const MAX_ENCRYPTED_LEN: usize = 96 * 1024;

type Decryptor = cbc::Decryptor<aes::Aes256>;
type Encryptor = cbc::Encryptor<aes::Aes256>;

fn invalid(why: &str) -> Error {
    Error::invalid("invalid_encrypt", format!("the Encrypt field {why}"))
}

/// Decrypts an `Encrypt` field and checks that it was meant for `app_id`.
pub fn decrypt(key: &AesKey, app_id: &AppId, encrypted: &str) -> Result<String, Error> {
    if encrypted.len() > MAX_ENCRYPTED_LEN {
        return Err(invalid("is too long"));
    }
    let mut buf = STANDARD
        .decode(encrypted.trim())
        .map_err(|_| invalid("is not base64"))?;
    if buf.is_empty() || buf.len() % 16 != 0 {
        return Err(invalid("is not a whole number of AES blocks"));
    }
    let (k, iv) = (key.secret(), &key.secret()[..16]);
    let plain = Decryptor::new(k.into(), iv.into())
        .decrypt_padded_mut::<NoPadding>(&mut buf)
        .map_err(|_| invalid("does not decrypt"))?;
    let pad = usize::from(*plain.last().ok_or_else(|| invalid("is empty"))?);
    if pad == 0
        || pad > PAD_BLOCK
        || pad > plain.len()
        || !plain[plain.len() - pad..]
            .iter()
            .all(|&b| usize::from(b) == pad)
    {
        return Err(invalid("has bad padding (wrong EncodingAESKey?)"));
    }
    let content = &plain[..plain.len() - pad];
    if content.len() < 20 {
        return Err(invalid("is too short"));
    }
    let len = u32::from_be_bytes([content[16], content[17], content[18], content[19]]) as usize;
    let rest = &content[20..];
    if len > rest.len() {
        return Err(invalid("declares more XML than it holds"));
    }
    let (xml, received_app_id) = rest.split_at(len);
    if !mac::equal(received_app_id, app_id.as_str().as_bytes()) {
        return Err(Error::invalid(
            "invalid_appid",
            "the message was encrypted for another AppID",
        ));
    }
    String::from_utf8(xml.to_vec()).map_err(|_| invalid("holds XML that is not UTF-8"))
}

/// Encrypts `xml` for `app_id` with 16 `random` bytes, base64-encoded.
pub fn encrypt(key: &AesKey, app_id: &AppId, random: [u8; 16], xml: &str) -> String {
    let mut plain = Vec::with_capacity(20 + xml.len() + app_id.as_str().len() + PAD_BLOCK);
    plain.extend_from_slice(&random);
    plain.extend_from_slice(&(xml.len() as u32).to_be_bytes());
    plain.extend_from_slice(xml.as_bytes());
    plain.extend_from_slice(app_id.as_str().as_bytes());
    let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
    plain.extend(std::iter::repeat_n(pad as u8, pad));
    let (k, iv) = (key.secret(), &key.secret()[..16]);
    let len = plain.len();
    let cipher = Encryptor::new(k.into(), iv.into())
        .encrypt_padded_mut::<NoPadding>(&mut plain, len)
        .expect("the buffer is padded to whole blocks");
    STANDARD.encode(cipher)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::decode_aes_key;

    /// Tencent's WXBizMsgCrypt sample for Official Accounts.
    const SAMPLE_ENCRYPT: &str = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";

    fn key() -> AesKey {
        decode_aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").unwrap()
    }

    #[test]
    fn tencent_sample_decrypts_to_its_xml() {
        let xml = decrypt(&key(), &AppId::new("wx2c2769f8efd9abc2"), SAMPLE_ENCRYPT).unwrap();
        assert!(
            xml.starts_with("<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"),
            "{xml}"
        );
        assert!(xml.contains("<Content><![CDATA[abcdteT]]></Content>"));
    }

    #[test]
    fn round_trip_and_length_is_whole_blocks() {
        let app = AppId::new("wx2c2769f8efd9abc2");
        for xml in ["", "<xml/>", &"长".repeat(1000)] {
            let enc = encrypt(&key(), &app, [7; 16], xml);
            assert_eq!(STANDARD.decode(&enc).unwrap().len() % 32, 0);
            assert_eq!(decrypt(&key(), &app, &enc).unwrap(), xml);
        }
    }

    #[test]
    fn wrong_app_id_key_or_garbage_is_an_error() {
        let enc = encrypt(&key(), &AppId::new("wxA"), [1; 16], "<xml/>");
        assert!(matches!(
            decrypt(&key(), &AppId::new("wxB"), &enc),
            Err(Error::InvalidInput {
                code: "invalid_appid",
                ..
            })
        ));
        let other = decode_aes_key("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg").unwrap();
        assert!(matches!(
            decrypt(&other, &AppId::new("wxA"), &enc),
            Err(Error::InvalidInput { .. })
        ));
        for junk in [
            "",
            "not base64!",
            "AAAA",
            &STANDARD.encode([0u8; 17]),
            &STANDARD.encode([0u8; 32]),
            &"A".repeat(200_000),
        ] {
            assert!(
                decrypt(&key(), &AppId::new("wxA"), junk).is_err(),
                "{junk:.20}"
            );
        }
    }

    #[test]
    fn a_length_field_larger_than_the_payload_is_refused() {
        let k = key();
        let mut plain = vec![0u8; 16];
        plain.extend_from_slice(&1000u32.to_be_bytes());
        plain.extend_from_slice(b"<xml/>wxA");
        let pad = 32 - plain.len() % 32;
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        let len = plain.len();
        let c = Encryptor::new(k.secret().into(), (&k.secret()[..16]).into())
            .encrypt_padded_mut::<NoPadding>(&mut plain, len)
            .unwrap()
            .to_vec();
        assert!(decrypt(&k, &AppId::new("wxA"), &STANDARD.encode(c)).is_err());
    }
}
