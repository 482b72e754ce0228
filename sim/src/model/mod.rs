//! The simulated account: its credentials, users and everything WeChat
//! would remember between calls, behind one lock.
//!
//! [`Sim::handle`] counts the call, applies any injected fault, then hands
//! the request to the file named after the WeChat API area it belongs to:
//! - `token.rs`: `cgi-bin/token`, `cgi-bin/stable_token`, `cgi-bin/ticket/getticket`
//!   and the access_token check every `cgi-bin` call goes through;
//! - `oauth.rs`: `connect/oauth2/authorize` (the consent page) and `sns/*`;
//! - `messages.rs`: `cgi-bin/message/template/send`, `cgi-bin/message/custom/send`;
//! - `qrcode.rs`: `cgi-bin/qrcode/create`, `cgi-bin/showqrcode`;
//! - `media.rs`: temporary media, `cgi-bin/media/upload` and `cgi-bin/media/get`;
//! - `users.rs`: `cgi-bin/user/info`, follows and the 48-hour interaction window;
//! - `ops.rs`: `cgi-bin/getcallbackip`, `cgi-bin/get_api_domain_ip`,
//!   `cgi-bin/callback/check` and the IP allow-list's 40164;
//! - `config.rs`: [`SimConfig`] and [`SimUser`].

mod config;
mod media;
mod messages;
mod oauth;
mod ops;
mod qrcode;
mod token;
mod users;

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use sha1::{Digest, Sha1};

use super::faults::{default_errmsg, Fault};
use super::request::{Reply, SimRequest, SimResponse};

pub use config::{SimConfig, SimUser};
pub use messages::{MessageKind, SentMessage};

#[derive(Debug, Default)]
struct State {
    seq: u64,
    tokens: Vec<token::Credential>,
    stable_current: Option<usize>,
    forced: (u64, u32),
    ticket: Option<token::Credential>,
    codes: HashMap<String, oauth::Code>,
    sns_tokens: HashMap<String, oauth::Grant>,
    refresh_tokens: HashMap<String, oauth::Grant>,
    /// What each of `cfg.users` has done since: follows, interactions.
    users: Vec<users::UserState>,
    outbox: messages::Outbox,
    qrcodes: qrcode::Tickets,
    media: media::MediaStore,
    /// Set by the control API: `callback/check` pings lose every packet.
    callback_unreachable: bool,
    calls: HashMap<String, u64>,
    faults: HashMap<String, VecDeque<Fault>>,
}

/// The simulated WeChat.
#[derive(Debug)]
pub struct Sim {
    cfg: SimConfig,
    state: Mutex<State>,
}

/// A JSON answer, or WeChat's error shape.
type Answer = Result<serde_json::Value, (i64, &'static str)>;

/// The error for `errcode`, with WeChat's errmsg.
fn err(errcode: i64) -> (i64, &'static str) {
    (errcode, default_errmsg(errcode))
}

/// A POSTed JSON body of `T`'s shape: 43002 for another method, 47001 when
/// the body is not JSON or lacks what `T` needs.
fn post_json<T: DeserializeOwned>(req: &SimRequest) -> Result<T, (i64, &'static str)> {
    if req.method != "POST" {
        return Err(err(43002));
    }
    serde_json::from_slice(&req.body).map_err(|_| err(47001))
}

impl Sim {
    /// A simulator for one account.
    pub fn new(cfg: SimConfig) -> Self {
        let state = State {
            users: cfg.users.iter().map(users::UserState::new).collect(),
            ..State::default()
        };
        Self {
            cfg,
            state: Mutex::new(state),
        }
    }

    /// The account's settings.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// Answers one request at `now_ms` (milliseconds since the epoch).
    pub fn handle(&self, req: &SimRequest, now_ms: u64) -> Reply {
        let mut st = self.lock();
        *st.calls.entry(req.path.clone()).or_default() += 1;
        let mut delay_ms = 0;
        if let Some(fault) = st.faults.get_mut(&req.path).and_then(VecDeque::pop_front) {
            let response = match fault {
                Fault::IpNotAllowed
                | Fault::Errcode {
                    errcode: 40164,
                    errmsg: None,
                } => SimResponse::error(40164, &self.ip_not_allowed(&mut st, req, now_ms)),
                Fault::Errcode { errcode, errmsg } => Fault::errcode_response(errcode, &errmsg),
                Fault::Status { status } => SimResponse::server_error(status),
                Fault::Drop => return Reply::Drop,
                Fault::Delay { ms } => {
                    delay_ms = ms;
                    self.route(&mut st, req, now_ms)
                }
            };
            return Reply::Respond { delay_ms, response };
        }
        let response = self.route(&mut st, req, now_ms);
        Reply::Respond { delay_ms, response }
    }

    /// The endpoint's own answer.
    fn route(&self, st: &mut State, req: &SimRequest, now_ms: u64) -> SimResponse {
        match req.path.as_str() {
            "/connect/oauth2/authorize" => self.authorize(st, req, now_ms),
            "/open/js/jweixin-1.6.0.js" => SimResponse {
                content_type: "text/javascript; charset=utf-8",
                ..SimResponse::html(include_str!("../jweixin.js").to_owned())
            },
            "/cgi-bin/showqrcode" => self.show_qrcode(st, req, now_ms),
            "/cgi-bin/media/get" => self.get_media(st, req, now_ms),
            path => match self.api(st, path, req, now_ms) {
                Some(Ok(v)) => SimResponse::json(&v),
                Some(Err((code, msg))) => SimResponse::error(code, msg),
                None => SimResponse {
                    status: 404,
                    ..SimResponse::error(-1, "no such endpoint in wxmp-sim")
                },
            },
        }
    }

    /// The JSON endpoints, by path.
    fn api(&self, st: &mut State, path: &str, req: &SimRequest, now: u64) -> Option<Answer> {
        Some(match path {
            "/cgi-bin/token" => self.classic_token(st, req, now),
            "/cgi-bin/stable_token" => self.stable_token(st, req, now),
            "/cgi-bin/ticket/getticket" => self.ticket(st, req, now),
            "/sns/oauth2/access_token" => self.exchange_code(st, req, now),
            "/sns/oauth2/refresh_token" => self.refresh(st, req, now),
            "/sns/userinfo" => self.userinfo(st, req, now),
            "/sns/auth" => self.sns_auth(st, req, now),
            "/cgi-bin/message/template/send" => self.send_template(st, req, now),
            "/cgi-bin/message/custom/send" => self.send_custom(st, req, now),
            "/cgi-bin/qrcode/create" => self.create_qrcode(st, req, now),
            "/cgi-bin/media/upload" => self.upload_media(st, req, now),
            "/cgi-bin/user/info" => self.user_info(st, req, now),
            "/cgi-bin/getcallbackip" => self.ip_list(st, req, now, &self.cfg.callback_ips),
            "/cgi-bin/get_api_domain_ip" => self.ip_list(st, req, now, &self.cfg.api_domain_ips),
            "/cgi-bin/callback/check" => self.callback_check(st, req, now),
            _ => return None,
        })
    }

    /// Calls made to `path` so far (faulted ones included).
    pub fn calls(&self, path: &str) -> u64 {
        self.lock().calls.get(path).copied().unwrap_or(0)
    }

    /// Every endpoint's call count.
    pub fn all_calls(&self) -> HashMap<String, u64> {
        self.lock().calls.clone()
    }

    /// Zeroes the call counters.
    pub fn reset_calls(&self) {
        self.lock().calls.clear();
    }

    /// Makes the next `times` calls to `path` suffer `fault`.
    pub fn inject(&self, path: &str, fault: Fault, times: u32) {
        let mut st = self.lock();
        let queue = st.faults.entry(path.to_owned()).or_default();
        queue.extend(std::iter::repeat_n(fault, times as usize));
    }

    /// Drops all pending faults.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh credential-like value: `<kind>_<seq>_<24 hex>`.
    fn mint(&self, st: &mut State, kind: &str) -> String {
        let (seq, digest) = self.next_digest(st, kind);
        format!("{kind}_{seq}_{}", &hex::encode(digest)[..24])
    }

    /// The next sequence number and a digest no caller can predict without
    /// the AppSecret, for ids, tickets and request ids.
    fn next_digest(&self, st: &mut State, kind: &str) -> (u64, [u8; 20]) {
        st.seq += 1;
        let digest = Sha1::digest(format!("{}:{kind}:{}", self.cfg.app_secret, st.seq));
        (st.seq, digest.into())
    }
}
