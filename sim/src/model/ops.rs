//! Operations: the server address lists (`cgi-bin/getcallbackip`,
//! `cgi-bin/get_api_domain_ip`), the network check (`cgi-bin/callback/check`)
//! and the IP allow-list's 40164.

use std::net::IpAddr;

use serde::Deserialize;
use serde_json::json;

use super::{err, post_json, Answer, Sim, State};
use crate::request::SimRequest;

/// What `callback/check` reports as the ping's average when packets arrive.
const PING_TIME: &str = "23.079ms";

impl Sim {
    /// Makes `callback/check` report the account's callback server as
    /// reachable or not (every ping packet lost), as when the app is down.
    pub fn set_callback_reachable(&self, reachable: bool) {
        self.lock().callback_unreachable = !reachable;
    }

    /// `cgi-bin/getcallbackip` and `cgi-bin/get_api_domain_ip`: `list`.
    pub(super) fn ip_list(
        &self,
        st: &mut State,
        req: &SimRequest,
        now: u64,
        list: &[String],
    ) -> Answer {
        Self::check_token(st, req, now)?;
        Ok(json!({ "ip_list": list }))
    }

    /// `cgi-bin/callback/check`: WeChat resolves the callback domain and
    /// pings it from `check_operator`'s network (the server's own for
    /// `DEFAULT`); 40202 for an unknown `action`, 40203 for an unknown
    /// `check_operator`. Only the parts asked for are answered.
    pub(super) fn callback_check(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        #[derive(Deserialize)]
        struct Body {
            action: Option<String>,
            check_operator: Option<String>,
        }
        Self::check_token(st, req, now)?;
        let body: Body = post_json(req)?;
        let (dns, ping) = match body.action.as_deref() {
            Some("dns") => (true, false),
            Some("ping") => (false, true),
            Some("all") => (true, true),
            _ => return Err(err(40202)),
        };
        let server_operator = &self.cfg.callback_server_operator;
        let from_operator = match body.check_operator.as_deref() {
            Some(op @ ("CHINANET" | "UNICOM" | "CAP")) => op,
            Some("DEFAULT") => server_operator.as_str(),
            _ => return Err(err(40203)),
        };
        let ip = &self.cfg.callback_server_ip;
        let mut answer = json!({});
        if dns {
            answer["dns"] = json!([{ "ip": ip, "real_operator": server_operator }]);
        }
        if ping {
            // One packet is sent, so the loss is 0% or 100%; with none back
            // there is no average time to report.
            let (loss, time) = if st.callback_unreachable {
                ("100%", "")
            } else {
                ("0%", PING_TIME)
            };
            answer["ping"] = json!([{
                "ip": ip, "from_operator": from_operator, "package_loss": loss, "time": time,
            }]);
        }
        Ok(answer)
    }

    /// The errmsg of 40164 for a caller at `req.client_ip()`, as WeChat
    /// words it today: the IPv4 address and its IPv4-mapped IPv6 form, then
    /// a request id. (A native IPv6 caller is named twice as itself; what
    /// WeChat says then is not documented.)
    pub(super) fn ip_not_allowed(&self, st: &mut State, req: &SimRequest, now: u64) -> String {
        let ip = req.client_ip().to_canonical();
        let ipv6 = match ip {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().to_string(),
            IpAddr::V6(v6) => v6.to_string(),
        };
        format!(
            "invalid ip {ip} ipv6 {ipv6}, not in whitelist rid: {}",
            self.rid(st, now)
        )
    }

    /// A request id as real errmsgs end with: the Unix time in hex, then
    /// two more groups of 8 hex digits.
    fn rid(&self, st: &mut State, now: u64) -> String {
        let (_, d) = self.next_digest(st, "rid");
        format!(
            "{:08x}-{}-{}",
            now / 1000,
            hex::encode(&d[..4]),
            hex::encode(&d[4..8])
        )
    }
}
