//! Where wxmp is mounted in its Spin app: `/` (the whole app) or a prefix
//! such as `/wechat` beside the app's own components. Routing uses the path
//! below the prefix, and every URL wxmp builds — the OAuth `redirect_uri`,
//! `return_to` paths, the demo page, `/wxmp.js`'s base — and every cookie
//! name carries it, so several wxmp components (one per Official Account)
//! live side by side in one app.

use std::fmt;

use url::Url;

/// A mount prefix: empty at the root, else `/segment[/segment…]` without a
/// trailing slash, each segment of URL-safe characters.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Prefix(String);

impl Prefix {
    /// The root: wxmp answers the whole app.
    pub fn root() -> Self {
        Self(String::new())
    }

    /// Reads a prefix: `/` (the root), or `/wechat`, `/a/b` (a trailing `/`
    /// is tolerated). Refused: no leading `/`, empty segments, `.` or `..`,
    /// and characters outside `A–Z a–z 0–9 - . _ ~`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let Some(rest) = raw.strip_prefix('/') else {
            return Err("must start with '/' (\"/\" for the root)".into());
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() {
            return Ok(Self::root());
        }
        for segment in rest.split('/') {
            let ok = !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
            if !ok {
                return Err(
                    "must be '/' or '/segment[/segment…]' of letters, digits, '-', '.', '_', '~'"
                        .into(),
                );
            }
        }
        Ok(Self(format!("/{rest}")))
    }

    /// The prefix Spin's route gives: for a wildcard route (`/wechat/...`),
    /// its prefix (`spin-component-route`); for an exact route, the root
    /// (an exact route names a full path, e.g. `/MP_verify_….txt`). `None`
    /// when the route's prefix is not a literal path (named wildcards).
    pub fn of_spin_route(raw_component_route: &str, component_route: &str) -> Option<Self> {
        if !raw_component_route.ends_with("/...") {
            return Some(Self::root());
        }
        if component_route.is_empty() || component_route == "/" {
            return Some(Self::root());
        }
        Self::parse(component_route).ok()
    }

    /// The prefix as it stands in paths (`""` at the root).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True at the root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path below the prefix when `path` is under it: `/wechat/x` →
    /// `/x`, `/wechat` and `/wechat/` → `/`; `/wechatx` is not under `/wechat`.
    pub fn strip<'a>(&self, path: &'a str) -> Option<&'a str> {
        let rest = path.strip_prefix(self.0.as_str())?;
        match rest {
            "" => Some("/"),
            r if r.starts_with('/') => Some(r),
            _ => None,
        }
    }

    /// `path` (starting with `/`) below the prefix: `/oauth/callback` →
    /// `/wechat/oauth/callback`.
    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    /// The absolute URL of `path` below the prefix on `public_url`'s origin.
    pub fn url(&self, public_url: &Url, path: &str) -> String {
        format!(
            "{}{}",
            public_url.as_str().trim_end_matches('/'),
            self.path(path)
        )
    }

    /// What sets this mount's cookies apart from another mount's on the
    /// same site: empty at the root, else `_` and the segments joined by `_`
    /// (`/shop` → `_shop`).
    pub fn cookie_suffix(&self) -> String {
        self.0.replace('/', "_").replace(['.', '~'], "-")
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "/" } else { &self.0 })
    }
}

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Prefix({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_parse_strictly() {
        assert_eq!(Prefix::parse("/").unwrap(), Prefix::root());
        assert_eq!(Prefix::parse("/wechat").unwrap().as_str(), "/wechat");
        assert_eq!(Prefix::parse("/wechat/").unwrap().as_str(), "/wechat");
        assert_eq!(
            Prefix::parse("/a/b-c_d.e~f").unwrap().as_str(),
            "/a/b-c_d.e~f"
        );
        for bad in [
            "", "wechat", "//x", "/a//b", "/../x", "/a/./b", "/a b", "/中", "/a?b", "/%2e",
        ] {
            assert!(Prefix::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn spin_routes_give_their_prefix() {
        assert_eq!(Prefix::of_spin_route("/...", ""), Some(Prefix::root()));
        assert_eq!(
            Prefix::of_spin_route("/wechat/...", "/wechat")
                .unwrap()
                .as_str(),
            "/wechat"
        );
        assert_eq!(
            Prefix::of_spin_route("/MP_verify_a.txt", "/MP_verify_a.txt"),
            Some(Prefix::root())
        );
        assert_eq!(Prefix::of_spin_route("/u/:id/...", "/u/:id"), None);
    }

    #[test]
    fn paths_strip_and_join() {
        let p = Prefix::parse("/wechat").unwrap();
        assert_eq!(p.strip("/wechat/oauth/login"), Some("/oauth/login"));
        assert_eq!(p.strip("/wechat"), Some("/"));
        assert_eq!(p.strip("/wechat/"), Some("/"));
        assert_eq!(p.strip("/wechatx/y"), None);
        assert_eq!(p.strip("/other"), None);
        assert_eq!(Prefix::root().strip("/wx"), Some("/wx"));
        let public = Url::parse("https://m.example.com").unwrap();
        assert_eq!(
            p.url(&public, "/oauth/callback"),
            "https://m.example.com/wechat/oauth/callback"
        );
        assert_eq!(
            Prefix::root().url(&public, "/oauth/callback"),
            "https://m.example.com/oauth/callback"
        );
        assert_eq!(p.cookie_suffix(), "_wechat");
        assert_eq!(Prefix::parse("/a/b.c").unwrap().cookie_suffix(), "_a_b-c");
        assert_eq!(Prefix::root().cookie_suffix(), "");
    }
}
