//! The simulator over loopback HTTP: WeChat's paths as WeChat serves them,
//! plus a control API under `/__sim/` for tests (call counters, faults,
//! revocation, the current ticket, codes without a browser).
//!
//! Control API:
//! - `GET /__sim/calls` → `{"/cgi-bin/token": 3, ...}`
//! - `POST /__sim/reset` → zero counters, drop faults
//! - `POST /__sim/fault` `{"path": "/cgi-bin/ticket/getticket", "times": 1, "fault": {"kind": "errcode", "errcode": 40001}}`
//!   (kinds: `errcode`, `ip_not_allowed` (40164 naming the caller's IP), `delay` with `ms`,
//!   `status` with `status`, `drop`)
//! - `POST /__sim/revoke` → invalidate every access token and the ticket
//! - `GET /__sim/ticket` → `{"ticket": "..."}` (what the JS-SDK checks against)
//! - `POST /__sim/jssdk/check` `{"appId","timestamp","nonceStr","signature","url"}` →
//!   `{"ok", "errMsg"}`, what the stand-in `/open/js/jweixin-1.6.0.js` asks (CORS: any origin)
//! - `POST /__sim/code` `{"user": 0, "scope": "snsapi_base"}` → `{"code": "..."}`
//! - `GET /__sim/config` → the account's AppID, AppSecret, Token, EncodingAESKey and users
//! - `POST /__sim/push` `{"url": "http://127.0.0.1:3000/wx", "mode": "safe", "xml": "<xml>…</xml>"}`
//!   (or `"content": "hi", "user": 0, "msg_id": 42` for a text message) → WeChat
//!   pushes it and answers `{"status": 200, "body": "…", "reply": "<decrypted reply or success>"}`;
//!   a message (not an event) from a user also records that user's interaction,
//!   as `/__sim/interaction` does
//! - `GET /__sim/sent` → `[{"kind": "template"|"custom", "msgid", "sent_ms", "body": {…}}, …]`,
//!   the messages sent through `message/template/send` and `message/custom/send`, oldest first
//! - `POST /__sim/interaction` `{"user": 0}` → the user just messaged the account:
//!   a fresh 48-hour window of 5 custom messages
//! - `POST /__sim/follow` `{"user": 1, "follows": true}` → the user follows (or unfollows)
//!   the account, as `user/info`, template and custom messages see it
//! - `POST /__sim/callback` `{"reachable": false}` → `callback/check` pings lose every
//!   packet (`"package_loss": "100%"`), as for a callback server that is down
//!
//! The control API answers loopback callers only. Browsers are held to
//! [`ServerOptions::allowed_origins`]: a page from one of those origins may
//! call it cross-origin (CORS, preflight included; the demo page's "reject
//! the token once" does), a request carrying any other `Origin` is refused
//! with 403 and no CORS headers, whatever its method. `jssdk/check` stays
//! open to every origin (the jweixin stand-in runs on the app's pages).
//!
//! WeChat's paths see the caller's address (the 40164 fault names it) and
//! take bodies up to 12 MiB (a 10 MB media upload and its multipart framing).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;

use crate::{Fault, Reply, Sim, SimRequest, SimResponse};

/// The largest request body: a 10 MB media upload plus its multipart framing.
const MAX_BODY: usize = 12 * 1024 * 1024;

/// Milliseconds since the epoch, the simulator's clock when served.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A running simulator server.
pub struct SimServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The simulator behind it, for in-process inspection.
    pub sim: Arc<Sim>,
}

impl SimServer {
    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// How the server treats browsers.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// Origins whose pages may call the control API cross-origin, spelt as
    /// browsers send them (`http://127.0.0.1:3000`), compared exactly. `*`
    /// and `null` are never honoured. The simulator's own origin is always
    /// allowed.
    pub allowed_origins: Vec<String>,
}

impl ServerOptions {
    fn allows(&self, origin: &str, own: &str) -> bool {
        origin == own
            || (origin != "*"
                && origin != "null"
                && self.allowed_origins.iter().any(|o| o == origin))
    }
}

/// Binds `addr` (port 0 for any) and serves `sim` on the current tokio
/// runtime; no other origin may call the control API from a browser.
pub async fn start(addr: SocketAddr, sim: Arc<Sim>) -> std::io::Result<SimServer> {
    start_with(addr, sim, ServerOptions::default()).await
}

/// [`start`] with `options`.
pub async fn start_with(
    addr: SocketAddr,
    sim: Arc<Sim>,
    options: ServerOptions,
) -> std::io::Result<SimServer> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let served = sim.clone();
    let options = Arc::new((options, format!("http://{addr}")));
    tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let sim = served.clone();
            let options = options.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| serve(sim.clone(), options.clone(), peer, req));
                // A dropped connection is a fault we inject on purpose.
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(SimServer { addr, sim })
}

#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

async fn serve(
    sim: Arc<Sim>,
    options: Arc<(ServerOptions, String)>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let method = req.method().to_string();
    let url = req.uri().to_string();
    let path = req.uri().path().to_owned();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes().to_vec(),
        Err(e) => {
            let too_large = e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            let (status, why) = if too_large {
                (413, "body too large".to_owned())
            } else {
                (400, format!("body unreadable: {e}"))
            };
            return Ok(to_hyper(SimResponse {
                status,
                ..SimResponse::error(-1, &why)
            }));
        }
    };
    // The control API can revoke tokens, inject faults and mint codes: it
    // answers only callers on this machine, whatever address the simulator
    // listens on.
    if path.starts_with("/__sim/") && !peer.ip().is_loopback() {
        return Ok(to_hyper(SimResponse {
            status: 403,
            ..SimResponse::json(
                &json!({ "error": "the control API answers loopback callers only" }),
            )
        }));
    }
    if let Some(control) = path.strip_prefix("/__sim/") {
        let origin = headers
            .iter()
            .find(|(k, _)| k == "origin")
            .map(|(_, v)| v.as_str());
        let (options, own) = &*options;
        let cors = match origin {
            // The jweixin stand-in's check answers every origin itself.
            _ if control == "jssdk/check" => None,
            Some(o) if !options.allows(o, own) => {
                return Ok(to_hyper(SimResponse {
                    status: 403,
                    ..SimResponse::json(&json!({
                        "error": "the control API answers pages of the allowed origins only"
                    }))
                }))
            }
            Some(o) => Some(o.to_owned()),
            None => None,
        };
        let mut response = match (method.as_str(), &cors) {
            ("OPTIONS", Some(_)) => preflight(&headers),
            ("POST", _) if control == "push" => push_api(&sim, &body).await,
            _ => control_api(&sim, &method, control, &body),
        };
        if let Some(origin) = cors {
            response
                .headers
                .push(("access-control-allow-origin".into(), origin));
            response.headers.push(("vary".into(), "origin".into()));
        }
        return Ok(to_hyper(response));
    }
    let request = SimRequest {
        headers,
        ..SimRequest::new(&method, &url, body).with_client_ip(peer.ip())
    };
    match sim.handle(&request, now_ms()) {
        Reply::Drop => Err(Dropped),
        Reply::Respond { delay_ms, response } => {
            if delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            }
            Ok(to_hyper(response))
        }
    }
}

/// A CORS preflight from an allowed origin: GET and POST, with a JSON body.
fn preflight(headers: &[(String, String)]) -> SimResponse {
    let asked = headers
        .iter()
        .find(|(k, _)| k == "access-control-request-method")
        .map(|(_, v)| v.as_str());
    if !matches!(asked, Some("GET" | "POST")) {
        return SimResponse {
            status: 405,
            ..SimResponse::json(&json!({ "error": "the control API takes GET and POST" }))
        };
    }
    SimResponse {
        status: 204,
        headers: vec![
            ("access-control-allow-methods".into(), "GET, POST".into()),
            ("access-control-allow-headers".into(), "content-type".into()),
            ("access-control-max-age".into(), "600".into()),
        ],
        body: Vec::new(),
        ..SimResponse::json(&json!(null))
    }
}

fn to_hyper(r: SimResponse) -> Response<Full<Bytes>> {
    let mut builder = Response::builder()
        .status(r.status)
        .header("content-type", r.content_type);
    for (k, v) in &r.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    builder
        .body(Full::new(Bytes::from(r.body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

#[derive(Deserialize)]
struct FaultRequest {
    path: String,
    fault: Fault,
    #[serde(default = "one")]
    times: u32,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
struct PushRequest {
    url: String,
    mode: crate::push::Mode,
    #[serde(default)]
    xml: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    user: usize,
    #[serde(default)]
    msg_id: Option<u64>,
}

/// Acts as WeChat's pusher: sign, encrypt, POST, open the reply.
async fn push_api(sim: &Sim, body: &[u8]) -> SimResponse {
    let bad = |m: String| SimResponse {
        status: 400,
        ..SimResponse::json(&json!({ "error": m }))
    };
    let req: PushRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return bad(e.to_string()),
    };
    let cfg = sim.config();
    let now = now_ms();
    let xml = match (req.xml, req.content) {
        (Some(xml), _) => xml,
        (None, Some(content)) => crate::push::text_message(
            cfg,
            req.user.min(cfg.users.len() - 1),
            &content,
            now / 1000,
            req.msg_id.unwrap_or(now),
        ),
        (None, None) => return bad("give xml or content".into()),
    };
    // A user's message (not an event) opens their customer-service window,
    // whether or not the app answers it.
    if let Some(user) = crate::push::message_sender(&xml).and_then(|o| sim.user_index(o)) {
        sim.record_interaction(user, now);
    }
    let nonce = format!("{}", now % 1_000_000_007);
    let random: [u8; 16] = Sha1Random::bytes(now);
    let push = crate::push::build(cfg, req.mode, &xml, now / 1000, &nonce, random);
    let Ok(mut url) = url::Url::parse(&req.url) else {
        return bad("url is not absolute".into());
    };
    url.set_query(Some(&push.query));
    url.set_fragment(None);
    match post(url, push.body).await {
        Ok((status, answer)) => {
            let reply = crate::push::open_reply(cfg, &answer);
            SimResponse::json(&json!({
                "status": status, "body": answer,
                "reply": reply.as_ref().ok(), "reply_error": reply.err(),
            }))
        }
        Err(e) => SimResponse {
            status: 502,
            ..SimResponse::json(&json!({ "error": format!("push failed: {e}") }))
        },
    }
}

/// Randomness for the plaintext prefix (not secret in a simulator).
struct Sha1Random;

impl Sha1Random {
    fn bytes(seed: u64) -> [u8; 16] {
        use sha1::{Digest, Sha1};
        let d = Sha1::digest(seed.to_le_bytes());
        let mut out = [0u8; 16];
        out.copy_from_slice(&d[..16]);
        out
    }
}

/// POSTs `body` (XML) to `url` and reads the answer, within 10 s in all,
/// as WeChat's pusher does: statuses are reported, redirects not followed.
async fn post(url: url::Url, body: String) -> Result<(u16, String), String> {
    let exchange = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let mut answer = agent
            .post(url.as_str())
            .header("content-type", "text/xml")
            .send(body)?;
        let status = answer.status().as_u16();
        let bytes = answer.body_mut().read_to_vec()?;
        Ok::<_, ureq::Error>((status, String::from_utf8_lossy(&bytes).into_owned()))
    });
    match exchange.await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(e) => Err(format!("pusher task failed: {e}")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JssdkCheck {
    app_id: String,
    timestamp: u64,
    nonce_str: String,
    signature: String,
    url: String,
}

#[derive(Deserialize)]
struct UserRequest {
    user: usize,
}

#[derive(Deserialize)]
struct FollowRequest {
    user: usize,
    follows: bool,
}

#[derive(Deserialize)]
struct CallbackRequest {
    reachable: bool,
}

#[derive(Deserialize)]
struct CodeRequest {
    #[serde(default)]
    user: usize,
    scope: String,
    /// A snapshot-page virtual user's code (snsapi_userinfo only).
    #[serde(default)]
    snapshot: bool,
}

/// A control call that takes a `T` and answers `{"ok": true}`, or 400 with
/// what was wrong with the body or the call.
fn apply<T: DeserializeOwned>(body: &[u8], f: impl FnOnce(T) -> Result<(), String>) -> SimResponse {
    match serde_json::from_slice(body)
        .map_err(|e| e.to_string())
        .and_then(f)
    {
        Ok(()) => SimResponse::json(&json!({ "ok": true })),
        Err(e) => SimResponse {
            status: 400,
            ..SimResponse::json(&json!({ "error": e }))
        },
    }
}

fn known_user(user: usize, known: bool) -> Result<(), String> {
    if known {
        Ok(())
    } else {
        Err(format!("no user {user}"))
    }
}

fn control_api(sim: &Sim, method: &str, what: &str, body: &[u8]) -> SimResponse {
    let bad = |m: String| SimResponse {
        status: 400,
        ..SimResponse::json(&json!({ "error": m }))
    };
    match (method, what) {
        ("GET", "calls") => SimResponse::json(&json!(sim.all_calls())),
        ("POST", "reset") => {
            sim.reset_calls();
            sim.clear_faults();
            SimResponse::json(&json!({ "ok": true }))
        }
        ("POST", "fault") => apply(body, |f: FaultRequest| {
            sim.inject(&f.path, f.fault, f.times);
            Ok(())
        }),
        ("POST", "revoke") => {
            sim.revoke_tokens(now_ms());
            SimResponse::json(&json!({ "ok": true }))
        }
        ("GET", "ticket") => SimResponse::json(&json!({ "ticket": sim.current_ticket(now_ms()) })),
        ("POST", "jssdk/check") => {
            // Called cross-origin by the jweixin stand-in on the app's pages.
            let result = serde_json::from_slice::<JssdkCheck>(body)
                .map_err(|e| format!("config:invalid arguments ({e})"))
                .and_then(|c| {
                    sim.check_jssdk(
                        &c.app_id,
                        c.timestamp,
                        &c.nonce_str,
                        &c.signature,
                        &c.url,
                        now_ms(),
                    )
                });
            let answer = match result {
                Ok(()) => json!({ "ok": true, "errMsg": "config:ok" }),
                Err(m) => json!({ "ok": false, "errMsg": m }),
            };
            SimResponse {
                headers: vec![("access-control-allow-origin".into(), "*".into())],
                ..SimResponse::json(&answer)
            }
        }
        ("POST", "code") => match serde_json::from_slice::<CodeRequest>(body) {
            Ok(c) => SimResponse::json(
                &json!({ "code": sim.issue_code(c.user, &c.scope, c.snapshot, now_ms()) }),
            ),
            Err(e) => bad(e.to_string()),
        },
        ("GET", "sent") => SimResponse::json(&json!(sim.sent_messages())),
        ("POST", "interaction") => apply(body, |u: UserRequest| {
            known_user(u.user, sim.record_interaction(u.user, now_ms()))
        }),
        ("POST", "follow") => apply(body, |f: FollowRequest| {
            known_user(f.user, sim.set_follows(f.user, f.follows, now_ms()))
        }),
        ("POST", "callback") => apply(body, |c: CallbackRequest| {
            sim.set_callback_reachable(c.reachable);
            Ok(())
        }),
        ("GET", "config") => {
            let c = sim.config();
            let users: Vec<_> = c
                .users
                .iter()
                .map(
                    |u| json!({ "openid": u.openid, "unionid": u.unionid, "nickname": u.nickname }),
                )
                .collect();
            SimResponse::json(
                &json!({ "app_id": c.app_id, "app_secret": c.app_secret, "users": users }),
            )
        }
        _ => SimResponse {
            status: 404,
            ..SimResponse::json(&json!({ "error": "no such control endpoint" }))
        },
    }
}
