//! Newtypes for what WeChat hands around, so a token cannot be passed where
//! an openid is meant, and secrets cannot be printed by accident.

use std::fmt;

/// Declares a public identifier: printable, comparable, cheap to clone.
macro_rules! public_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value already known to be well-formed.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The value as WeChat spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0)
            }
        }
    };
}

/// Declares a secret: no Display, a Debug that prints `Name([redacted])`, and
/// the value only through `.secret()` so every use is visible in review.
macro_rules! secret {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret itself: only for signing, comparing or sending upstream.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

public_id!(
    /// An Official Account's AppID (`wx` + 16 hex digits); public, it appears in login URLs.
    AppId
);
public_id!(
    /// A user's id within one Official Account.
    OpenId
);
public_id!(
    /// A user's id across the Open Platform accounts of one developer.
    UnionId
);

secret!(
    /// The AppSecret: with the AppID it mints access tokens, so it never leaves the server.
    AppSecret
);
secret!(
    /// The server-configuration Token that signs WeChat's pushes (not an access_token).
    ServerToken
);
secret!(
    /// The account-wide access_token; anyone holding it acts as the account.
    AccessToken
);
secret!(
    /// The jsapi_ticket that JS-SDK signatures are made from.
    JsapiTicket
);
secret!(
    /// A user's web (OAuth) access token, good for that user's profile only.
    UserAccessToken
);
secret!(
    /// A user's OAuth refresh token (30 days).
    RefreshToken
);
secret!(
    /// The bearer key that lets trusted backends read the access_token.
    AdminKey
);
secret!(
    /// A named gateway client's bearer key (`api_clients`).
    ApiClientKey
);
secret!(
    /// A `wxmp_session` cookie value: whoever holds it is logged in.
    SessionCookie
);
secret!(
    /// A `wxmp_login` cookie value: binds a login in progress to one browser.
    LoginCookie
);

/// The key for state and session-cookie MACs; at least 32 bytes.
#[derive(Clone)]
pub struct SessionSecret(Vec<u8>);

impl SessionSecret {
    /// The shortest key accepted, in bytes.
    pub const MIN_LEN: usize = 32;

    /// Wraps a key; `None` when it is shorter than [`Self::MIN_LEN`].
    pub fn new(key: impl Into<Vec<u8>>) -> Option<Self> {
        let key = key.into();
        (key.len() >= Self::MIN_LEN).then_some(Self(key))
    }

    /// The key bytes, for MACs only.
    pub fn secret(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret([redacted])")
    }
}

/// The 32-byte AES key decoded from the 43-character EncodingAESKey.
#[derive(Clone)]
pub struct AesKey([u8; 32]);

impl AesKey {
    /// Wraps decoded key bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key bytes, for the cipher only.
    pub fn secret(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for AesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AesKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_redact_in_debug() {
        let shown = format!(
            "{:?} {:?} {:?} {:?} {:?}",
            AppSecret::new("s3cr3t"),
            AccessToken::new("tok-123"),
            JsapiTicket::new("tick-456"),
            SessionSecret::new([7u8; 32]).unwrap(),
            AesKey::new([9u8; 32]),
        );
        assert_eq!(
            shown,
            "AppSecret([redacted]) AccessToken([redacted]) JsapiTicket([redacted]) \
             SessionSecret([redacted]) AesKey([redacted])"
        );
    }

    #[test]
    fn public_ids_print_their_value() {
        assert_eq!(OpenId::new("o123").to_string(), "o123");
        assert_eq!(format!("{:?}", AppId::new("wx1")), "AppId(\"wx1\")");
    }

    #[test]
    fn short_session_secret_is_refused() {
        assert!(SessionSecret::new(vec![1u8; 31]).is_none());
        assert!(SessionSecret::new(vec![1u8; 32]).is_some());
    }
}
