//! The cookies wxmp sets and reads: their names, their attributes, and
//! finding one among a request's `Cookie` headers.

use super::ApiError;
use crate::core::config::need;
use crate::ports::Env;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "wxmp_session";
/// The cookie binding a pending login to the browser that started it.
pub const LOGIN_COOKIE: &str = "wxmp_login";

/// Attributes for a `Set-Cookie` header.
#[derive(Clone, Copy, Debug)]
pub struct CookieAttrs {
    /// Add `Secure` (when `public_url` is https).
    pub secure: bool,
    /// `Max-Age` in seconds; `None` makes a browser-session cookie.
    pub max_age: Option<u64>,
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/.
pub fn set_cookie(name: &str, value: &str, attrs: CookieAttrs) -> String {
    let mut c = format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/");
    if let Some(age) = attrs.max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if attrs.secure {
        c.push_str("; Secure");
    }
    c
}

/// A `Set-Cookie` value that deletes the cookie.
pub fn clear_cookie(name: &str, secure: bool) -> String {
    set_cookie(
        name,
        "",
        CookieAttrs {
            secure,
            max_age: Some(0),
        },
    )
}

/// The first value of cookie `name` in `Cookie` header values.
pub fn find_cookie<'a>(
    cookie_headers: impl IntoIterator<Item = &'a str>,
    name: &str,
) -> Option<&'a str> {
    cookie_headers
        .into_iter()
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
}

/// Cookies are `Secure` when the public URL is https.
pub fn secure(env: &Env) -> Result<bool, ApiError> {
    Ok(need(env.config.public_url())?.scheme() == "https")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_built_as_specified() {
        assert_eq!(
            set_cookie(
                SESSION_COOKIE,
                "v",
                CookieAttrs {
                    secure: true,
                    max_age: None
                }
            ),
            "wxmp_session=v; HttpOnly; SameSite=Lax; Path=/; Secure"
        );
        assert_eq!(
            set_cookie(
                LOGIN_COOKIE,
                "b",
                CookieAttrs {
                    secure: false,
                    max_age: Some(600)
                }
            ),
            "wxmp_login=b; HttpOnly; SameSite=Lax; Path=/; Max-Age=600"
        );
        assert_eq!(
            clear_cookie(SESSION_COOKIE, false),
            "wxmp_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        );
    }

    #[test]
    fn cookies_are_found_among_others() {
        let headers = ["a=1; wxmp_session=abc.def", "wxmp_login=zz"];
        assert_eq!(find_cookie(headers, SESSION_COOKIE), Some("abc.def"));
        assert_eq!(find_cookie(headers, LOGIN_COOKIE), Some("zz"));
        assert_eq!(find_cookie(headers, "missing"), None);
        assert_eq!(find_cookie(["xwxmp_session=1"], SESSION_COOKIE), None);
    }
}
