//! `allowed_outbound_hosts`, enforced: each entry is `scheme://host[:port]`
//! (`*` allowed for scheme, port, or as a `*.suffix` host), rendered from
//! templates first, so `{{ api_base }}` follows an `api_base` override.

use anyhow::{bail, Result};

/// One allowed destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AllowedHost {
    scheme: Option<String>,
    host: String,
    port: Option<u16>,
}

impl AllowedHost {
    /// Parses one rendered entry.
    pub(crate) fn parse(entry: &str) -> Result<Self> {
        let Some((scheme, rest)) = entry.split_once("://") else {
            bail!("allowed_outbound_hosts entry {entry:?} needs a scheme, e.g. https://api.weixin.qq.com");
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (h, Some(p)),
            _ => (authority, None),
        };
        let scheme = match scheme {
            "*" => None,
            "http" | "https" => Some(scheme.to_owned()),
            other => bail!(
                "allowed_outbound_hosts entry {entry:?}: scheme {other:?} is not http, https or *"
            ),
        };
        let port = match port {
            None => match scheme.as_deref() {
                Some("http") => Some(80),
                Some("https") => Some(443),
                _ => bail!(
                    "allowed_outbound_hosts entry {entry:?}: '*://' needs an explicit port or ':*'"
                ),
            },
            Some("*") => None,
            Some(p) => Some(p.parse().map_err(|_| {
                anyhow::anyhow!("allowed_outbound_hosts entry {entry:?}: bad port {p:?}")
            })?),
        };
        if host.is_empty() {
            bail!("allowed_outbound_hosts entry {entry:?} has no host");
        }
        Ok(Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let scheme_ok = self.scheme.as_deref().is_none_or(|s| s == scheme);
        let host_ok = match self.host.strip_prefix("*.") {
            _ if self.host == "*" => true,
            Some(suffix) => host.ends_with(&format!(".{suffix}")),
            None => self.host == host,
        };
        scheme_ok && host_ok && self.port.is_none_or(|p| p == port)
    }
}

/// A component's whole allow-list.
#[derive(Clone, Debug, Default)]
pub(crate) struct OutboundPolicy(Vec<AllowedHost>);

impl OutboundPolicy {
    /// Parses rendered entries; empty ones (an unset variable) are skipped.
    pub(crate) fn parse(entries: &[String]) -> Result<Self> {
        entries
            .iter()
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
            .map(AllowedHost::parse)
            .collect::<Result<_>>()
            .map(Self)
    }

    /// True when a request to `uri` may leave the host.
    pub(crate) fn allows(&self, uri: &http::Uri) -> bool {
        let scheme = uri.scheme_str().unwrap_or("https");
        let Some(host) = uri.host() else { return false };
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "http" { 80 } else { 443 });
        let host = host.to_ascii_lowercase();
        self.0.iter().any(|a| a.allows(scheme, &host, port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(entries: &[&str]) -> OutboundPolicy {
        OutboundPolicy::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn allowed(p: &OutboundPolicy, uri: &str) -> bool {
        p.allows(&uri.parse().unwrap())
    }

    #[test]
    fn exact_hosts_with_default_ports() {
        let p = policy(&["https://api.weixin.qq.com", "http://127.0.0.1:8080", ""]);
        assert!(allowed(&p, "https://api.weixin.qq.com/cgi-bin/token?x=1"));
        assert!(allowed(&p, "https://API.weixin.qq.com:443/"));
        assert!(allowed(&p, "http://127.0.0.1:8080/sns/auth"));
        assert!(!allowed(&p, "http://api.weixin.qq.com/"));
        assert!(!allowed(&p, "https://api.weixin.qq.com:8443/"));
        assert!(!allowed(&p, "https://api2.weixin.qq.com/"));
        assert!(!allowed(&p, "http://127.0.0.1:8081/"));
        assert!(!allowed(&p, "https://evil.example/"));
    }

    #[test]
    fn wildcards() {
        let p = policy(&["https://*.weixin.qq.com", "*://localhost:*"]);
        assert!(allowed(&p, "https://api2.weixin.qq.com/"));
        assert!(!allowed(&p, "https://weixin.qq.com.evil/"));
        assert!(allowed(&p, "http://localhost:1234/"));
        assert!(allowed(&p, "https://localhost:99/"));
    }

    #[test]
    fn malformed_entries_are_refused() {
        for bad in [
            "api.weixin.qq.com",
            "ftp://x",
            "https://x:port",
            "*://x",
            "https://",
        ] {
            assert!(AllowedHost::parse(bad).is_err(), "{bad}");
        }
    }
}
