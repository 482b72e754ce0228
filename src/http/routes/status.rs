//! For operators: `GET /api/status` (the central control at a glance, JSON
//! or a small HTML page), `GET /api/diagnose` (WeChat's own network checks,
//! run now), and in demo mode the sandbox panel's `/api/demo/*`.

use serde::Serialize;
use serde_json::{json, Value};

use crate::core::allow_list::{self, IpRefusal};
use crate::core::api::is_wechats_own;
use crate::core::config::{need, TokenMode};
use crate::core::diagnose::Check;
use crate::core::gateway::{ApiPath, Caller};
use crate::core::method::Method;
use crate::core::status::CredentialStatus;
use crate::core::status::ForcedRefreshes;
use crate::flows::gateway::{Call, CallBody};
use crate::flows::{diagnose, gateway, status};
use crate::http::{ApiError, Request, Response};
use crate::ports::Env;

use super::gateway::caller;

/// The figures for whoever may read them: the admin key, or a client whose
/// `allow` lists `status`. HTML when a browser asks for it.
pub(crate) fn status(req: &Request, env: &Env) -> Result<Response, ApiError> {
    if !caller(req, env)?.may_read_status() {
        return Err(ApiError::new(
            403,
            "forbidden",
            "this client may not read the status; give it the \"status\" permission in api_clients",
        ));
    }
    let json = Response::json(200, &figures(req, env));
    let wants_html = req.header("accept").is_some_and(|a| {
        a.split(',')
            .next()
            .is_some_and(|first| first.trim().starts_with("text/html"))
    });
    if !wants_html {
        return Ok(json);
    }
    let value: Value = serde_json::from_slice(&json.body).unwrap_or(Value::Null);
    Ok(Response::text(200, html(&value))
        .html()
        .with_header("cache-control", "no-store"))
}

/// What `/api/status` says.
#[derive(Serialize)]
struct Figures<'a> {
    summary: String,
    version: &'static str,
    app_id: Option<String>,
    mount: &'a str,
    token_mode: Option<&'static str>,
    store: Store,
    problems: Vec<String>,
    access_token: Option<CredentialStatus>,
    jsapi_ticket: Option<CredentialStatus>,
    forced_refreshes: Option<ForcedRefreshes>,
    ip_not_allowed: Option<Refused>,
}

/// Whether the store answered.
#[derive(Serialize)]
struct Store {
    reachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The IP WeChat refused, and what to do about it.
#[derive(Serialize)]
struct Refused {
    ip: String,
    since: u64,
    advice: String,
}

impl From<IpRefusal> for Refused {
    fn from(r: IpRefusal) -> Self {
        Self {
            advice: allow_list::advice(&r.ip),
            ip: r.ip,
            since: r.since,
        }
    }
}

fn figures<'a>(req: &'a Request, env: &Env) -> Figures<'a> {
    let problems = env
        .config
        .problems()
        .iter()
        .map(ToString::to_string)
        .collect();
    let (store, control) = match status::central_control(env) {
        Ok(c) => (
            Store {
                reachable: true,
                error: None,
            },
            Some(c),
        ),
        Err(e) => (
            Store {
                reachable: false,
                error: Some(e.to_string()),
            },
            None,
        ),
    };
    let summary = match &control {
        Some(c) => summary(
            &c.access_token,
            c.ip_not_allowed.as_ref().map(|r| r.ip.as_str()),
        ),
        None => "the key-value store cannot be read: nothing is known about the token".to_owned(),
    };
    let token_mode = need(env.config.token_mode()).ok().map(|m| match m {
        TokenMode::Stable => "stable",
        TokenMode::Classic => "classic",
    });
    let (access_token, jsapi_ticket, forced_refreshes, ip_not_allowed) = match control {
        Some(c) => (
            Some(c.access_token),
            Some(c.jsapi_ticket),
            Some(c.forced_refreshes),
            c.ip_not_allowed.map(Refused::from),
        ),
        None => (None, None, None, None),
    };
    Figures {
        summary,
        version: env!("CARGO_PKG_VERSION"),
        app_id: need(env.config.app_id()).map(ToString::to_string).ok(),
        mount: if req.prefix.is_root() {
            "/"
        } else {
            req.prefix.as_str()
        },
        token_mode,
        store,
        problems,
        access_token,
        jsapi_ticket,
        forced_refreshes,
        ip_not_allowed,
    }
}

/// One sentence: is the token healthy, and when does it refresh next.
fn summary(token: &CredentialStatus, refused_ip: Option<&str>) -> String {
    if let Some(ip) = refused_ip {
        return allow_list::advice(ip);
    }
    if let Some(f) = &token.held_failure {
        let code = f
            .errcode
            .map_or(String::new(), |c| format!(" (errcode {c})"));
        return format!(
            "the last token fetch failed{code}; the next request retries after {}",
            f.until
        );
    }
    match (token.usable, token.refresh_in) {
        (true, Some(0)) => format!(
            "access_token healthy, {} s left; the next request refreshes it ahead of expiry",
            token.expires_in
        ),
        (true, Some(r)) => format!(
            "access_token healthy, {} s left; refreshed ahead of expiry in {r} s",
            token.expires_in
        ),
        _ if token.rejected => {
            "access_token rejected by WeChat; the next request fetches a new one".to_owned()
        }
        _ if token.cached => "access_token expired; the next request fetches a new one".to_owned(),
        _ => "no access_token yet; the first request that needs one fetches it".to_owned(),
    }
}

/// The same figures as a small page (every value escaped).
fn html(figures: &Value) -> String {
    let mut rows = String::new();
    let mut row = |k: &str, v: &Value| {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Null => "—".to_owned(),
            other => other.to_string(),
        };
        rows.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(k),
            escape(&text)
        ));
    };
    for key in [
        "summary",
        "version",
        "app_id",
        "mount",
        "token_mode",
        "store",
        "problems",
        "ip_not_allowed",
        "forced_refreshes",
    ] {
        row(key, &figures[key]);
    }
    for credential in ["access_token", "jsapi_ticket"] {
        if let Value::Object(fields) = &figures[credential] {
            for (k, v) in fields {
                row(&format!("{credential}.{k}"), v);
            }
        }
    }
    format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>wxmp status</title>\
         <style>body{{font:14px system-ui,sans-serif;margin:2em}}th{{text-align:left;padding-right:1em;color:#555}}td,th{{padding:2px 8px;vertical-align:top}}</style>\
         <h1>wxmp status</h1><table>{rows}</table></html>"
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// WeChat's own checks, run now (admin only: each costs API calls).
pub(crate) fn diagnose(req: &Request, env: &Env) -> Result<Response, ApiError> {
    if caller(req, env)? != Caller::Admin {
        return Err(ApiError::new(
            403,
            "forbidden",
            "only admin_key may run the diagnosis",
        ));
    }
    #[derive(Serialize)]
    struct Diagnosis {
        ok: bool,
        checks: Vec<Check>,
        ip_not_allowed: Option<Refused>,
    }
    let checks = diagnose::run(env);
    let refused = crate::flows::allow_list::current(env).ok().flatten();
    Ok(Response::json(
        200,
        &Diagnosis {
            ok: checks.iter().all(|c| c.ok) && refused.is_none(),
            checks,
            ip_not_allowed: refused.map(Refused::from),
        },
    ))
}

/// `GET /api/demo/status` in demo mode: the sandbox panel's figures, no key.
pub(crate) fn demo_status(_req: &Request, env: &Env) -> Result<Response, ApiError> {
    if !*need(env.config.demo())? {
        return Err(ApiError::not_found());
    }
    /// One credential as the panel shows it.
    #[derive(Serialize)]
    struct Panel {
        cached: bool,
        age_s: u64,
        expires_in: u64,
        refresh_in: u64,
        fetches: u64,
    }
    #[derive(Serialize)]
    struct DemoStatus {
        access_token: Panel,
        jsapi_ticket: Panel,
        simulator: Option<String>,
    }
    let panel = |c: CredentialStatus| Panel {
        cached: c.cached,
        age_s: c.age_s.unwrap_or(0),
        expires_in: c.expires_in,
        refresh_in: c.refresh_in.unwrap_or(0),
        fetches: c.fetches,
    };
    let control = status::central_control(env)?;
    let api_base = need(env.config.api_base())?;
    Ok(Response::json(
        200,
        &DemoStatus {
            access_token: panel(control.access_token),
            jsapi_ticket: panel(control.jsapi_ticket),
            simulator: (!is_wechats_own(api_base))
                .then(|| api_base.as_str().trim_end_matches('/').to_owned()),
        },
    ))
}

/// `POST /api/demo/token-check` in demo mode: one API call with the cached
/// token through the gateway, so a rejected token shows one refetch.
pub(crate) fn demo_token_check(_req: &Request, env: &Env) -> Result<Response, ApiError> {
    if !*need(env.config.demo())? {
        return Err(ApiError::not_found());
    }
    let call = Call {
        method: Method::Get,
        path: ApiPath::parse("cgi-bin/getcallbackip")?,
        query: String::new(),
        content_type: None,
        body: CallBody::Whole(Vec::new()),
    };
    let answer = gateway::call(env, "demo", call)?;
    let fetches = status::central_control(env)?.access_token.fetches;
    Ok(Response::json(
        200,
        &json!({ "ok": answer.errcode.is_none(), "errcode": answer.errcode, "access_token_fetches": fetches }),
    ))
}
