//! WeChat's IP allow-list (IP白名单): when an API call is refused with
//! 40164, WeChat's errmsg names the server's egress IP. wxmp keeps that IP
//! (so `/healthz` and `/api/status` can say it without calling WeChat) and
//! tells the operator exactly what to add where.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// WeChat's errcode for "this IP is not on the account's allow-list".
pub const IP_NOT_ALLOWED: i64 = 40164;

/// The egress IP WeChat refused, and since when (seconds since the epoch).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpRefusal {
    /// The address to allow, as WeChat named it.
    pub ip: String,
    /// When a call was first refused for it.
    pub since: u64,
}

/// The IP in a 40164 errmsg (`invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in
/// whitelist rid: …`): the first word after `invalid ip` that parses as an
/// address. IPv4-mapped IPv6 forms are given as IPv4.
pub fn refused_ip(errmsg: &str) -> Option<IpAddr> {
    let rest = &errmsg[errmsg.find("invalid ip")? + "invalid ip".len()..];
    let word = rest
        .split(|c: char| c.is_whitespace() || c == ',')
        .find(|w| !w.is_empty())?;
    word.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// What the operator must do, in one sentence for the log and the status page.
pub fn advice(ip: &str) -> String {
    format!(
        "WeChat refused this server's IP {ip} (errcode 40164): add {ip} to the account's IP allow-list \
         in the WeChat admin console (mp.weixin.qq.com → 设置与开发 → 基本配置 → IP白名单), \
         then the next token fetch succeeds on its own"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ip_is_read_from_wechats_words() {
        let ip = |m: &str| refused_ip(m).map(|ip| ip.to_string());
        assert_eq!(
            ip("invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist rid: 6412a0b1-1b2c3d4e-5f6a7b8c").as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            ip("invalid ip ::ffff:198.51.100.9, not in whitelist").as_deref(),
            Some("198.51.100.9")
        );
        assert_eq!(
            ip("invalid ip 2001:db8::1 ipv6 2001:db8::1, not in whitelist").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(ip("invalid ip not-an-ip, not in whitelist"), None);
        assert_eq!(ip("invalid credential"), None);
        assert!(advice("203.0.113.7").contains("add 203.0.113.7 to the account's IP allow-list"));
    }
}
