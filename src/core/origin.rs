//! Which web origins wxmp trusts: as `return_to` targets after login, as
//! JS-SDK page URLs, and as the origin of a logout request. Origins match
//! exactly on scheme, host (case-insensitive) and port (default ports
//! normalised), the way browsers compare them.

use std::fmt;

use url::Url;

use super::error::Error;
use super::mount::Prefix;

/// A web origin: scheme, lowercase host and explicit port.
#[derive(Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of an http(s) URL without userinfo; `None` for anything else.
    pub fn of(url: &Url) -> Option<Self> {
        if !matches!(url.scheme(), "http" | "https")
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return None;
        }
        Some(Self {
            scheme: url.scheme().to_owned(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
        })
    }

    /// Parses a configured origin such as `https://m.example.com` or
    /// `http://127.0.0.1:3000`; a trailing `/` is tolerated, a path is not.
    /// The reason for a refusal never quotes the value.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw.trim()).map_err(|e| format!("not an origin ({e})"))?;
        let origin = Self::of(&url).ok_or_else(|| "not an http(s) origin".to_owned())?;
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err("has a path, query or fragment; an origin is scheme://host[:port]".into());
        }
        Ok(origin)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default_port = matches!(
            (self.scheme.as_str(), self.port),
            ("http", 80) | ("https", 443)
        );
        if default_port {
            write!(f, "{}://{}", self.scheme, self.host)
        } else {
            write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Origin({self})")
    }
}

/// The set of origins wxmp trusts (`allowed_origins`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<Origin>);

impl AllowedOrigins {
    /// Trusts exactly these origins.
    pub fn new(origins: Vec<Origin>) -> Self {
        Self(origins)
    }

    /// Parses a comma-separated list; empty entries are skipped. A refusal
    /// names the entry by position, never by value.
    pub fn parse_list(raw: &str) -> Result<Self, String> {
        let origins = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .enumerate()
            .map(|(i, entry)| Origin::parse(entry).map_err(|why| format!("entry {}: {why}", i + 1)))
            .collect::<Result<Vec<_>, _>>()?;
        if origins.is_empty() {
            return Err("lists no origin".into());
        }
        Ok(Self(origins))
    }

    /// True when `origin` is one of the trusted ones.
    pub fn contains(&self, origin: &Origin) -> bool {
        self.0.contains(origin)
    }

    /// Parses an absolute URL and returns it when its origin is trusted.
    /// Userinfo, whitespace, control characters and backslashes are refused
    /// outright: browsers and servers disagree on them, attackers do not.
    pub fn check_url(&self, raw: &str) -> Option<Url> {
        if has_ambiguous_chars(raw) {
            return None;
        }
        let url = Url::parse(raw).ok()?;
        let origin = Origin::of(&url)?;
        self.contains(&origin).then_some(url)
    }

    /// The trusted origins, for messages and health reports.
    pub fn iter(&self) -> impl Iterator<Item = &Origin> {
        self.0.iter()
    }
}

fn has_ambiguous_chars(raw: &str) -> bool {
    raw.chars()
        .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
}

/// Where to send the browser after login: `raw` is an absolute URL on a
/// trusted origin, or a path starting with exactly one `/`, resolved
/// against `public_url`; absent means `public_url` itself.
pub fn resolve_return_to(
    raw: Option<&str>,
    public_url: &Url,
    mount: &Prefix,
    allowed: &AllowedOrigins,
) -> Result<Url, Error> {
    let invalid = || {
        Error::invalid("invalid_return_to", "return_to must be a path starting with one '/' or an absolute URL on an allowed origin")
    };
    let Some(raw) = raw else {
        return Url::parse(&mount.url(public_url, "/")).map_err(|_| invalid());
    };
    if raw.len() > 2048 || has_ambiguous_chars(raw) {
        return Err(invalid());
    }
    if raw.starts_with('/') {
        if raw.starts_with("//") {
            return Err(invalid());
        }
        let resolved = public_url.join(&mount.path(raw)).map_err(|_| invalid())?;
        return match Origin::of(&resolved) {
            Some(o) if Origin::of(public_url).as_ref() == Some(&o) => Ok(resolved),
            _ => Err(invalid()),
        };
    }
    allowed.check_url(raw).ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> AllowedOrigins {
        AllowedOrigins::parse_list("https://m.example.com, http://localhost:3000").unwrap()
    }

    fn public() -> Url {
        Url::parse("https://m.example.com").unwrap()
    }

    #[test]
    fn origins_match_case_insensitively_with_default_ports() {
        let a = allowed();
        for ok in [
            "https://m.example.com/",
            "HTTPS://M.Example.COM/page?x=1",
            "https://m.example.com:443/a#frag",
            "http://localhost:3000/x",
        ] {
            assert!(a.check_url(ok).is_some(), "{ok}");
        }
    }

    #[test]
    fn lookalikes_and_other_ports_are_refused() {
        let a = allowed();
        for bad in [
            "https://m.example.com.evil/",
            "https://allowed.example.evil/",
            "https://evil.com/?https://m.example.com",
            "http://m.example.com/",
            "https://m.example.com:8443/",
            "http://localhost/",
            "http://localhost:3001/",
            "https://user@m.example.com/",
            "https://m.example.com@evil.com/",
            "https://user:pw@m.example.com/",
            "https://evil.com\\@m.example.com/",
            "javascript:alert(1)",
            "data:text/html,hi",
            "//m.example.com/",
            "",
            "https://m.example.com/ x",
        ] {
            assert!(a.check_url(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn return_to_paths_resolve_against_public_url() {
        let got = resolve_return_to(
            Some("/shop?item=1#top"),
            &public(),
            &Prefix::root(),
            &allowed(),
        )
        .unwrap();
        assert_eq!(got.as_str(), "https://m.example.com/shop?item=1#top");
        assert_eq!(
            resolve_return_to(None, &public(), &Prefix::root(), &allowed())
                .unwrap()
                .as_str(),
            "https://m.example.com/"
        );
        let got = resolve_return_to(
            Some("/%2F%2Fevil.com"),
            &public(),
            &Prefix::root(),
            &allowed(),
        )
        .unwrap();
        assert_eq!(got.host_str(), Some("m.example.com"));
        // Below a mount, paths are the mount's; the default is the mount's root.
        let shop = Prefix::parse("/shop").unwrap();
        let got = resolve_return_to(Some("/cart?x=1"), &public(), &shop, &allowed()).unwrap();
        assert_eq!(got.as_str(), "https://m.example.com/shop/cart?x=1");
        let got = resolve_return_to(None, &public(), &shop, &allowed()).unwrap();
        assert_eq!(got.as_str(), "https://m.example.com/shop/");
    }

    #[test]
    fn return_to_tricks_are_refused() {
        for bad in [
            "//evil.com",
            "///evil.com",
            "/\\evil.com",
            "\\\\evil.com",
            "/\tevil",
            "https://evil.com/",
            "HTTPS://EVIL.COM",
            "https://m.example.com.evil/",
            "https://user@m.example.com/",
            "%2F%2Fevil.com",
            "evil.com",
            "https:evil.com",
            "javascript:alert(1)",
        ] {
            let err =
                resolve_return_to(Some(bad), &public(), &Prefix::root(), &allowed()).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::InvalidInput {
                        code: "invalid_return_to",
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn absolute_return_to_on_an_allowed_origin_is_kept() {
        let got = resolve_return_to(
            Some("http://localhost:3000/done"),
            &public(),
            &Prefix::root(),
            &allowed(),
        )
        .unwrap();
        assert_eq!(got.as_str(), "http://localhost:3000/done");
    }

    #[test]
    fn configured_origins_must_be_bare() {
        assert!(Origin::parse("https://a.example/").is_ok());
        assert!(Origin::parse("https://a.example/path").is_err());
        assert!(Origin::parse("ftp://a.example").is_err());
        assert!(Origin::parse("a.example").is_err());
        assert!(AllowedOrigins::parse_list(" , ").is_err());
        assert_eq!(
            Origin::parse("HTTPS://A.example:443").unwrap().to_string(),
            "https://a.example"
        );
        assert_eq!(
            Origin::parse("http://a.example:8080").unwrap().to_string(),
            "http://a.example:8080"
        );
    }
}
