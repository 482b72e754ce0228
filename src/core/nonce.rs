//! Nonces WeChat asks for: the JS-SDK `nonceStr` and the nonce of a sealed
//! passive reply are both short alphanumeric strings drawn from randomness.

/// A 16-character alphanumeric nonce from 16 random bytes.
pub fn nonce_str(random: [u8; 16]) -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    random
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_sixteen_alphanumerics() {
        assert_eq!(nonce_str([0; 16]), "AAAAAAAAAAAAAAAA");
        let n = nonce_str(core::array::from_fn(|i| i as u8 * 17));
        assert_eq!(n.len(), 16);
        assert!(n.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
