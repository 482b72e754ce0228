//! HMAC-SHA256 tags and constant-time comparison, shared by state and
//! session cookies so both use one well-reviewed construction.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::types::SessionSecret;

/// Bytes of the HMAC-SHA256 tag kept (128 bits is plenty for a cookie).
pub(crate) const TAG_LEN: usize = 16;

/// A domain-separated, truncated HMAC-SHA256 tag over `data`.
pub(crate) fn tag(key: &SessionSecret, domain: &[u8], data: &[u8]) -> [u8; TAG_LEN] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key.secret()).expect("HMAC takes any key length");
    mac.update(domain);
    mac.update(&[0]);
    mac.update(data);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&full[..TAG_LEN]);
    out
}

/// Compares two byte strings without leaking where they differ.
pub(crate) fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Hex SHA-256, for storing lookups (session ids, login binders) hashed.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(Sha256::digest(data))
}
