//! Server URL verification (`GET /wx`) and the plaintext push signature:
//! `sha1(sort([token, timestamp, nonce]).join(""))`, compared in constant time.

use sha1::{Digest, Sha1};

use super::error::Error;
use super::mac;
use super::types::ServerToken;

/// Lowercase hex SHA-1 of the lexicographically sorted parts, concatenated.
/// WeChat uses this shape for the server signature and, with the `Encrypt`
/// field as a fourth part, for `msg_signature`.
pub fn sorted_sha1(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    let mut hasher = Sha1::new();
    for part in sorted {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// The signature WeChat sends with `GET /wx` and every push.
pub fn server_signature(token: &ServerToken, timestamp: &str, nonce: &str) -> String {
    sorted_sha1(&[token.secret(), timestamp, nonce])
}

/// Ok when `signature` is the server signature, compared in constant time
/// (case-insensitively, as hex is).
pub fn check_server_signature(
    token: &ServerToken,
    signature: &str,
    timestamp: &str,
    nonce: &str,
) -> Result<(), Error> {
    check_sorted_signature(&[token.secret(), timestamp, nonce], signature)
}

/// Ok when `signature` is [`sorted_sha1`] of `parts`, compared in constant
/// time (case-insensitively): the one check behind `signature` and
/// `msg_signature`.
pub fn check_sorted_signature(parts: &[&str], signature: &str) -> Result<(), Error> {
    let expected = sorted_sha1(parts);
    if mac::equal(
        expected.as_bytes(),
        signature.to_ascii_lowercase().as_bytes(),
    ) {
        Ok(())
    } else {
        Err(Error::InvalidSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tencent's WXBizMsgCrypt sample: its URL `signature` covers token,
    /// timestamp and nonce only.
    #[test]
    fn tencent_sample_server_signature() {
        let token = ServerToken::new("spamtest");
        assert_eq!(
            server_signature(&token, "1409735669", "1320562132"),
            "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a"
        );
        assert!(check_server_signature(
            &token,
            "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a",
            "1409735669",
            "1320562132"
        )
        .is_ok());
    }

    #[test]
    fn order_of_parts_does_not_matter() {
        assert_eq!(sorted_sha1(&["b", "a", "c"]), sorted_sha1(&["c", "b", "a"]));
        // sha1("abc")
        assert_eq!(
            sorted_sha1(&["c", "a", "b"]),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn wrong_or_truncated_signature_is_refused() {
        let token = ServerToken::new("spamtest");
        for bad in [
            "",
            "16120ec1b8dbb870f510d87ce6bc2463eae6ca1",
            "06120ec1b8dbb870f510d87ce6bc2463eae6ca1a",
            "x",
        ] {
            assert_eq!(
                check_server_signature(&token, bad, "1409735669", "1320562132"),
                Err(Error::InvalidSignature),
                "{bad:?}"
            );
        }
        assert_eq!(
            check_server_signature(
                &token,
                "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a",
                "1409735670",
                "1320562132"
            ),
            Err(Error::InvalidSignature)
        );
    }

    #[test]
    fn uppercase_hex_is_accepted() {
        let token = ServerToken::new("spamtest");
        assert!(check_server_signature(
            &token,
            "16120EC1B8DBB870F510D87CE6BC2463EAE6CA1A",
            "1409735669",
            "1320562132"
        )
        .is_ok());
    }
}
