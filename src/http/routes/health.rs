//! `GET /healthz`: configuration health and WeChat's IP allow-list as last
//! seen, without calling WeChat (one store read).

use serde::Serialize;

use crate::core::error::Error;
use crate::flows::allow_list;
use crate::http::{ApiError, Request, Response};
use crate::ports::Env;

/// `{"status":"ok"}`, or `"degraded"` with every configuration problem,
/// `ip_not_allowed` with the IP WeChat refused (until a token fetch
/// succeeds), or the store's failure.
pub(crate) fn healthz(_req: &Request, env: &Env) -> Result<Response, ApiError> {
    let mut problems: Vec<String> = env
        .config
        .problems()
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut refused_ip = None;
    match allow_list::current(env) {
        Ok(Some(r)) => {
            problems.push(format!(
                "ip_not_allowed: WeChat refused this server's IP {}; add it to the IP allow-list in the WeChat admin console",
                r.ip
            ));
            refused_ip = Some(r.ip);
        }
        Ok(None) | Err(Error::Config(_)) => {}
        Err(e) => problems.push(format!("storage: {e}")),
    }
    #[derive(Serialize)]
    struct Health {
        status: &'static str,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        problems: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        ip_not_allowed: Option<String>,
    }
    let status = if problems.is_empty() {
        "ok"
    } else {
        "degraded"
    };
    Ok(Response::json(
        200,
        &Health {
            status,
            problems,
            ip_not_allowed: refused_ip,
        },
    ))
}
