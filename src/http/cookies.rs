//! The cookies wxmp sets and reads: their names, their attributes, and
//! finding them among a request's `Cookie` headers.
//!
//! On https every name carries the `__Host-` prefix, which browsers accept
//! only with `Secure`, `Path=/` and no `Domain`: a sibling subdomain cannot
//! plant ("toss") a session or login cookie for wxmp's host. On http (local
//! development) the plain names are used. A mount below the root adds its
//! path to the names (`wxmp_session_shop` for `/shop`), so two accounts
//! mounted side by side keep separate cookies; on http their `Path` is the
//! mount too (on https `__Host-` requires `Path=/`).

use super::{ApiError, Request};
use crate::core::config::need;
use crate::core::mount::Prefix;
use crate::ports::Env;

/// The session cookie's base name.
const SESSION: &str = "wxmp_session";
/// The base name of the cookies that bind logins in flight to this browser
/// (then the mount's suffix, `_` and the login's tag).
const LOGIN: &str = "wxmp_login";

/// The names and attributes of wxmp's cookies for one mount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cookies {
    secure: bool,
    mount: Prefix,
}

impl Cookies {
    /// Cookies for a site whose public URL is https (`secure`) or not, for
    /// wxmp mounted at `mount`.
    pub fn new(secure: bool, mount: Prefix) -> Self {
        Self { secure, mount }
    }

    /// Cookies for `env`'s `public_url` and the request's mount.
    pub fn of(env: &Env, req: &Request) -> Result<Self, ApiError> {
        let secure = need(env.config.public_url())?.scheme() == "https";
        Ok(Self::new(secure, req.prefix.clone()))
    }

    fn prefix(&self) -> &'static str {
        if self.secure {
            "__Host-"
        } else {
            ""
        }
    }

    /// The session cookie's name.
    pub fn session_name(&self) -> String {
        format!("{}{SESSION}{}", self.prefix(), self.mount.cookie_suffix())
    }

    /// This mount's login cookie names up to the tag.
    fn login_base(&self) -> String {
        format!("{}{LOGIN}{}_", self.prefix(), self.mount.cookie_suffix())
    }

    /// The name of the login cookie with `tag`.
    pub fn login_name(&self, tag: &str) -> String {
        format!("{}{tag}", self.login_base())
    }

    /// The tag of a login cookie's name, if `name` is one of this mount's.
    pub fn login_tag<'a>(&self, name: &'a str) -> Option<&'a str> {
        name.strip_prefix(&self.login_base())
            .filter(|tag| tag.bytes().all(|b| b.is_ascii_hexdigit()))
    }

    /// A `Set-Cookie` value: HttpOnly, SameSite=Lax, `Path` (the mount on
    /// http, `/` on https), `Secure` on https; `max_age` `None` makes a
    /// browser-session cookie.
    pub fn set(&self, name: &str, value: &str, max_age: Option<u64>) -> String {
        let path = if self.secure {
            "/".to_owned()
        } else {
            self.mount.path("/")
        };
        let mut c = format!("{name}={value}; HttpOnly; SameSite=Lax; Path={path}");
        if let Some(age) = max_age {
            c.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure {
            c.push_str("; Secure");
        }
        c
    }

    /// A `Set-Cookie` value that deletes cookie `name`.
    pub fn clear(&self, name: &str) -> String {
        self.set(name, "", Some(0))
    }
}

/// Every `name=value` pair in `Cookie` header values, in order.
pub fn all_cookies<'a>(
    cookie_headers: impl IntoIterator<Item = &'a str>,
) -> impl Iterator<Item = (&'a str, &'a str)> {
    cookie_headers
        .into_iter()
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .map(|(k, v)| (k.trim(), v.trim().trim_matches('"')))
}

/// The first value of cookie `name` in `Cookie` header values.
pub fn find_cookie<'a>(
    cookie_headers: impl IntoIterator<Item = &'a str>,
    name: &str,
) -> Option<&'a str> {
    all_cookies(cookie_headers)
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_names_are_host_prefixed_and_secure() {
        let c = Cookies::new(true, Prefix::root());
        assert_eq!(c.session_name(), "__Host-wxmp_session");
        assert_eq!(c.login_name("0a0b0c0d"), "__Host-wxmp_login_0a0b0c0d");
        assert_eq!(
            c.set(&c.session_name(), "v", None),
            "__Host-wxmp_session=v; HttpOnly; SameSite=Lax; Path=/; Secure"
        );
        assert_eq!(
            c.set(&c.login_name("ab"), "b", Some(600)),
            "__Host-wxmp_login_ab=b; HttpOnly; SameSite=Lax; Path=/; Max-Age=600; Secure"
        );
        assert_eq!(c.login_tag("__Host-wxmp_login_ab"), Some("ab"));
        // A plain-named cookie is not ours on https: it may have been tossed.
        assert_eq!(c.login_tag("wxmp_login_ab"), None);
    }

    #[test]
    fn http_names_are_plain() {
        let c = Cookies::new(false, Prefix::root());
        assert_eq!(c.session_name(), "wxmp_session");
        assert_eq!(
            c.clear(&c.session_name()),
            "wxmp_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        );
        assert_eq!(c.login_tag("wxmp_login_ab"), Some("ab"));
        assert_eq!(c.login_tag("wxmp_session"), None);
    }

    #[test]
    fn a_mount_below_the_root_has_names_and_a_path_of_its_own() {
        let shop = Prefix::parse("/shop").unwrap();
        let https = Cookies::new(true, shop.clone());
        assert_eq!(https.session_name(), "__Host-wxmp_session_shop");
        assert_eq!(
            https.login_name("0a0b0c0d"),
            "__Host-wxmp_login_shop_0a0b0c0d"
        );
        assert!(
            https.set("n", "v", None).contains("; Path=/;"),
            "__Host- wants Path=/"
        );
        let http = Cookies::new(false, shop);
        assert_eq!(http.session_name(), "wxmp_session_shop");
        assert!(http.set("n", "v", None).contains("; Path=/shop/"));
        // The root mount's login cookies are not the shop's, nor the other way round.
        let root = Cookies::new(false, Prefix::root());
        assert_eq!(root.login_tag("wxmp_login_shop_0a0b0c0d"), None);
        assert_eq!(http.login_tag("wxmp_login_0a0b0c0d"), None);
        assert_eq!(http.login_tag("wxmp_login_shop_0a0b0c0d"), Some("0a0b0c0d"));
    }

    #[test]
    fn cookies_are_found_among_others() {
        let headers = ["a=1; wxmp_session=abc.def", "wxmp_login_x=\"zz\""];
        assert_eq!(find_cookie(headers, "wxmp_session"), Some("abc.def"));
        assert_eq!(find_cookie(headers, "wxmp_login_x"), Some("zz"));
        assert_eq!(find_cookie(headers, "missing"), None);
        assert_eq!(find_cookie(["xwxmp_session=1"], "wxmp_session"), None);
        assert_eq!(all_cookies(headers).count(), 3);
    }
}
