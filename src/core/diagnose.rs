//! WeChat's own network checks, run on demand by `GET /api/diagnose`: the
//! addresses api.weixin.qq.com resolves to (`get_api_domain_ip`), the
//! addresses WeChat pushes from (`getcallbackip`), and WeChat resolving and
//! pinging this account's callback server (`callback/check`). Requests and
//! answers as values; each check is reported plainly, a failed one with why.

use serde::Serialize;
use serde_json::json;

use super::api::{parse_answer, ApiRequest};
use super::error::Error;
use super::types::AccessToken;

/// One check's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Which check (`api_domain_ip`, `callback_ip`, `callback_check`).
    pub name: &'static str,
    /// It worked and found nothing wrong.
    pub ok: bool,
    /// What it found, in a sentence.
    pub detail: String,
    /// WeChat's errcode when the check itself was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errcode: Option<i64>,
    /// The addresses it found, when it lists any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<String>,
}

impl Check {
    /// A check that could not run: WeChat's errcode, or why WeChat was not reached.
    pub fn failed(name: &'static str, error: &Error) -> Self {
        let errcode = match error {
            Error::Upstream { errcode, .. } => Some(*errcode),
            _ => None,
        };
        let detail = match error {
            Error::Upstream { errcode: 40164, .. } => {
                "WeChat refused this server's IP (40164): see ip_not_allowed".to_owned()
            }
            Error::Upstream { errcode, .. } => format!("WeChat answered errcode {errcode}"),
            other => other.to_string(),
        };
        Self {
            name,
            ok: false,
            detail,
            errcode,
            ips: Vec::new(),
        }
    }
}

/// `GET cgi-bin/get_api_domain_ip`.
pub fn api_domain_ip_request(token: &AccessToken) -> ApiRequest {
    ApiRequest::get(
        "/cgi-bin/get_api_domain_ip",
        vec![("access_token", token.secret().to_owned())],
    )
}

/// `GET cgi-bin/getcallbackip`.
pub fn callback_ip_request(token: &AccessToken) -> ApiRequest {
    ApiRequest::get(
        "/cgi-bin/getcallbackip",
        vec![("access_token", token.secret().to_owned())],
    )
}

/// `POST cgi-bin/callback/check` with DNS and ping, from WeChat's choice of network.
pub fn callback_check_request(token: &AccessToken) -> ApiRequest {
    let mut r = ApiRequest::post_json(
        "/cgi-bin/callback/check",
        &json!({"action": "all", "check_operator": "DEFAULT"}),
    );
    r.query = vec![("access_token", token.secret().to_owned())];
    r
}

/// The answer as JSON, WeChat's errcode first (read as a `Value`: the
/// shapes are small, and typed deserialisers would cost the component
/// more code than they save).
fn answer(status: u16, body: &[u8]) -> Result<serde_json::Value, Error> {
    parse_answer(status, body)
}

/// The strings at `key` in each object of `list`.
fn strings<'a>(list: &'a serde_json::Value, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(move |item| item.get(key)?.as_str())
}

/// Reads an `{"ip_list": […]}` answer as check `name`.
pub fn parse_ip_list(
    name: &'static str,
    what: &str,
    status: u16,
    body: &[u8],
) -> Result<Check, Error> {
    let value = answer(status, body)?;
    let ips: Vec<String> = value["ip_list"]
        .as_array()
        .ok_or_else(|| Error::BadAnswer("no ip_list".into()))?
        .iter()
        .filter_map(|ip| ip.as_str().map(str::to_owned))
        .collect();
    Ok(Check {
        name,
        ok: !ips.is_empty(),
        detail: format!("{} {what}", ips.len()),
        errcode: None,
        ips,
    })
}

/// Reads `callback/check`: ok when WeChat resolved the callback domain and
/// its ping came back.
pub fn parse_callback_check(status: u16, body: &[u8]) -> Result<Check, Error> {
    let value = answer(status, body)?;
    let (dns, ping) = (&value["dns"], &value["ping"]);
    let resolved: Vec<String> = dns
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| {
            Some(format!(
                "{} ({})",
                d.get("ip")?.as_str()?,
                d.get("real_operator")
                    .and_then(|o| o.as_str())
                    .unwrap_or("?")
            ))
        })
        .collect();
    let pings: Vec<&serde_json::Value> = ping.as_array().into_iter().flatten().collect();
    let lost = pings
        .iter()
        .find(|p| p.get("package_loss").and_then(|l| l.as_str()) != Some("0%"));
    let detail = match (resolved.is_empty(), pings.is_empty(), lost) {
        (true, _, _) => "WeChat could not resolve the callback domain".to_owned(),
        (false, true, _) => format!("resolves to {}; WeChat did not ping it", resolved.join(", ")),
        (false, false, Some(p)) => format!(
            "resolves to {}; WeChat's ping of {} lost {} — check the server's firewall for WeChat's callback IPs",
            resolved.join(", "),
            p.get("ip").and_then(|i| i.as_str()).unwrap_or("?"),
            p.get("package_loss").and_then(|l| l.as_str()).unwrap_or("?")
        ),
        (false, false, None) => format!(
            "resolves to {}; WeChat's ping came back ({})",
            resolved.join(", "),
            strings(ping, "time").collect::<Vec<_>>().join(", ")
        ),
    };
    Ok(Check {
        name: "callback_check",
        ok: !resolved.is_empty() && !pings.is_empty() && lost.is_none(),
        detail,
        errcode: None,
        ips: strings(dns, "ip").map(str::to_owned).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_lists_and_callback_checks_read_plainly() {
        let c = parse_ip_list(
            "callback_ip",
            "addresses WeChat pushes from",
            200,
            br#"{"ip_list":["101.226.62.77","101.226.62.78"]}"#,
        )
        .unwrap();
        assert_eq!(
            (c.ok, c.detail.as_str(), c.ips.len()),
            (true, "2 addresses WeChat pushes from", 2)
        );
        let good = parse_callback_check(200, br#"{"dns":[{"ip":"111.161.64.40","real_operator":"UNICOM"}],"ping":[{"ip":"111.161.64.40","from_operator":"UNICOM","package_loss":"0%","time":"23.079ms"}]}"#).unwrap();
        assert!(good.ok);
        assert_eq!(
            good.detail,
            "resolves to 111.161.64.40 (UNICOM); WeChat's ping came back (23.079ms)"
        );
        let lost = parse_callback_check(200, br#"{"dns":[{"ip":"111.161.64.40","real_operator":"UNICOM"}],"ping":[{"ip":"111.161.64.40","from_operator":"UNICOM","package_loss":"100%","time":""}]}"#).unwrap();
        assert!(!lost.ok);
        assert!(lost.detail.contains("lost 100%"), "{}", lost.detail);
        let refused =
            parse_callback_check(200, br#"{"errcode":40201,"errmsg":"invalid url"}"#).unwrap_err();
        let c = Check::failed("callback_check", &refused);
        assert_eq!((c.ok, c.errcode), (false, Some(40201)));
        let ip = Check::failed(
            "callback_ip",
            &Error::Upstream {
                errcode: 40164,
                errmsg: "invalid ip 1.2.3.4".into(),
            },
        );
        assert!(ip.detail.contains("40164"));
    }

    #[test]
    fn requests_carry_the_token_in_the_query_only() {
        let t = AccessToken::new("T");
        let r = callback_check_request(&t);
        assert_eq!(
            (r.path, r.query.clone()),
            (
                "/cgi-bin/callback/check",
                vec![("access_token", "T".to_owned())]
            )
        );
        assert_eq!(
            r.json_body.as_deref(),
            Some(r#"{"action":"all","check_operator":"DEFAULT"}"#)
        );
        assert_eq!(api_domain_ip_request(&t).path, "/cgi-bin/get_api_domain_ip");
        assert_eq!(callback_ip_request(&t).path, "/cgi-bin/getcallbackip");
    }
}
