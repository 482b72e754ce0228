//! The simulated account: its credentials, users and everything WeChat
//! would remember between calls, behind one lock.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::json;
use sha1::{Digest, Sha1};

use super::faults::Fault;
use super::request::{Reply, SimRequest, SimResponse};

const MINUTE_MS: u64 = 60_000;
/// Old tokens stay valid this long after a replacement (documented overlap).
const OVERLAP_MS: u64 = 5 * MINUTE_MS;
/// stable_token rotates when a call comes this close to expiry.
const STABLE_ROTATE_MS: u64 = 5 * MINUTE_MS;
/// Forced stable_token refreshes allowed per day.
const FORCE_PER_DAY: u32 = 20;

/// A user who can log in through the simulated consent page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimUser {
    /// The openid within the simulated account.
    pub openid: String,
    /// The unionid, if the account is bound to an Open Platform account.
    pub unionid: Option<String>,
    /// Nickname.
    pub nickname: String,
    /// 0, 1 or 2.
    pub sex: u8,
    /// Province.
    pub province: String,
    /// City.
    pub city: String,
    /// Country.
    pub country: String,
    /// Avatar URL.
    pub headimgurl: String,
}

/// The simulated account's settings.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The AppID the simulator accepts.
    pub app_id: String,
    /// The AppSecret the simulator accepts.
    pub app_secret: String,
    /// Lifetime of access tokens and tickets, in seconds.
    pub token_ttl_secs: u64,
    /// Lifetime of OAuth codes, in seconds.
    pub code_ttl_secs: u64,
    /// The server-configuration Token pushes are signed with.
    pub server_token: String,
    /// The EncodingAESKey safe-mode pushes are encrypted with.
    pub encoding_aes_key: String,
    /// The Official Account's original id (`gh_…`), the `ToUserName` of pushes.
    pub original_id: String,
    /// The users; the first one logs in unless `sim_user` picks another.
    pub users: Vec<SimUser>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            app_id: "wx5f2b3c4d5e6f7a8b".into(),
            app_secret: "sim0app0secret0000000000000000ab".into(),
            token_ttl_secs: 7200,
            code_ttl_secs: 300,
            server_token: "simtoken".into(),
            encoding_aes_key: "SimEncodingAesKey0123456789abcdefghijklmnop".into(),
            original_id: "gh_5f2b3c4d5e6f".into(),
            users: vec![
                SimUser {
                    openid: "oSIMuser0000000000000000001".into(),
                    unionid: Some("uSIMunion000000000000000001".into()),
                    nickname: "微信用户 Alice".into(),
                    sex: 2,
                    province: "广东".into(),
                    city: "深圳".into(),
                    country: "中国".into(),
                    headimgurl: "https://thirdwx.qlogo.cn/sim/alice/132".into(),
                },
                SimUser {
                    openid: "oSIMuser0000000000000000002".into(),
                    unionid: None,
                    nickname: "Bob".into(),
                    sex: 1,
                    province: "Beijing".into(),
                    city: "Beijing".into(),
                    country: "CN".into(),
                    headimgurl: "https://thirdwx.qlogo.cn/sim/bob/132".into(),
                },
            ],
        }
    }
}

#[derive(Clone, Debug)]
struct Credential {
    value: String,
    expires_ms: u64,
    /// Earlier than `expires_ms` once replaced or revoked.
    valid_until_ms: u64,
}

impl Credential {
    fn remaining_secs(&self, now: u64) -> u64 {
        self.valid_until_ms.saturating_sub(now) / 1000
    }
}

#[derive(Clone, Debug)]
struct Grant {
    user: usize,
    scope: String,
    expires_ms: u64,
    /// A snapshot-page (快照页) virtual user: WeChat hands out a virtual
    /// openid and unionid, flagged `is_snapshotuser: 1`.
    snapshot: bool,
}

#[derive(Debug)]
struct Code {
    user: usize,
    scope: String,
    issued_ms: u64,
    used: bool,
    snapshot: bool,
}

#[derive(Debug, Default)]
struct State {
    seq: u64,
    tokens: Vec<Credential>,
    stable_current: Option<usize>,
    forced: (u64, u32),
    ticket: Option<Credential>,
    codes: HashMap<String, Code>,
    sns_tokens: HashMap<String, Grant>,
    refresh_tokens: HashMap<String, Grant>,
    calls: HashMap<String, u64>,
    faults: HashMap<String, VecDeque<Fault>>,
}

/// The simulated WeChat.
#[derive(Debug)]
pub struct Sim {
    cfg: SimConfig,
    state: Mutex<State>,
}

type Answer = Result<serde_json::Value, (i64, &'static str)>;

impl Sim {
    /// A simulator for one account.
    pub fn new(cfg: SimConfig) -> Self {
        Self {
            cfg,
            state: Mutex::new(State::default()),
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
            match fault {
                Fault::Errcode { errcode, errmsg } => {
                    return Reply::Respond {
                        delay_ms: 0,
                        response: Fault::errcode_response(errcode, &errmsg),
                    };
                }
                Fault::Status { status } => {
                    return Reply::Respond {
                        delay_ms: 0,
                        response: SimResponse::server_error(status),
                    }
                }
                Fault::Drop => return Reply::Drop,
                Fault::Delay { ms } => delay_ms = ms,
            }
        }
        let response = match req.path.as_str() {
            "/connect/oauth2/authorize" => self.authorize(&mut st, req, now_ms),
            "/open/js/jweixin-1.6.0.js" => SimResponse {
                content_type: "text/javascript; charset=utf-8",
                ..SimResponse::html(include_str!("jweixin.js").to_owned())
            },
            path => match self.api(&mut st, path, req, now_ms) {
                Some(Ok(v)) => SimResponse::json(&v),
                Some(Err((code, msg))) => SimResponse::error(code, msg),
                None => SimResponse {
                    status: 404,
                    ..SimResponse::error(-1, "no such endpoint in wxmp-sim")
                },
            },
        };
        Reply::Respond { delay_ms, response }
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

    /// Revokes every access token and the ticket, as when an account's
    /// AppSecret is reset or another service took over the token.
    pub fn revoke_tokens(&self, now_ms: u64) {
        let mut st = self.lock();
        for t in &mut st.tokens {
            t.valid_until_ms = t.valid_until_ms.min(now_ms);
        }
        st.stable_current = None;
        st.ticket = None;
    }

    /// The jsapi_ticket currently valid, as the JS-SDK checks signatures against.
    pub fn current_ticket(&self, now_ms: u64) -> Option<String> {
        self.lock()
            .ticket
            .as_ref()
            .filter(|t| t.valid_until_ms > now_ms)
            .map(|t| t.value.clone())
    }

    /// Checks a `wx.config` signature as WeChat's client does: the AppID,
    /// then sha1 of the current ticket, nonce, timestamp and page URL.
    /// `Err` carries WeChat's errMsg.
    pub fn check_jssdk(
        &self,
        app_id: &str,
        timestamp: u64,
        nonce: &str,
        signature: &str,
        url: &str,
        now_ms: u64,
    ) -> Result<(), String> {
        if app_id != self.cfg.app_id {
            return Err("config:invalid appid".into());
        }
        let Some(ticket) = self.current_ticket(now_ms) else {
            return Err("config:invalid signature".into());
        };
        let expected = hex::encode(Sha1::digest(format!(
            "jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}"
        )));
        if expected == signature {
            Ok(())
        } else {
            Err("config:invalid signature".into())
        }
    }

    /// Issues an OAuth code for user `user` (index) as the consent page does;
    /// `snapshot` makes it a snapshot-page virtual user's (snsapi_userinfo only).
    pub fn issue_code(&self, user: usize, scope: &str, snapshot: bool, now_ms: u64) -> String {
        let mut st = self.lock();
        self.new_code(&mut st, user, scope, snapshot, now_ms)
    }

    fn new_code(
        &self,
        st: &mut State,
        user: usize,
        scope: &str,
        snapshot: bool,
        now_ms: u64,
    ) -> String {
        let code = self.mint(st, "code");
        st.codes.insert(
            code.clone(),
            Code {
                user: user.min(self.cfg.users.len() - 1),
                scope: scope.to_owned(),
                issued_ms: now_ms,
                used: false,
                snapshot: snapshot && scope == "snsapi_userinfo",
            },
        );
        code
    }

    /// The virtual openid WeChat gives user `user` on a snapshot page.
    pub fn snapshot_openid(&self, user: usize) -> String {
        format!("oSNAPSHOTvirtual{:011}", user)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn mint(&self, st: &mut State, kind: &str) -> String {
        st.seq += 1;
        let digest = hex::encode(Sha1::digest(format!(
            "{}:{kind}:{}",
            self.cfg.app_secret, st.seq
        )));
        format!("{kind}_{}_{}", st.seq, &digest[..24])
    }

    fn api(&self, st: &mut State, path: &str, req: &SimRequest, now: u64) -> Option<Answer> {
        Some(match path {
            "/cgi-bin/token" => self.classic_token(st, req, now),
            "/cgi-bin/stable_token" => self.stable_token(st, req, now),
            "/cgi-bin/ticket/getticket" => self.ticket(st, req, now),
            "/sns/oauth2/access_token" => self.exchange_code(st, req, now),
            "/sns/oauth2/refresh_token" => self.refresh(st, req, now),
            "/sns/userinfo" => self.userinfo(st, req, now),
            "/sns/auth" => self.sns_auth(st, req, now),
            _ => return None,
        })
    }

    fn check_app(
        &self,
        appid: Option<&str>,
        secret: Option<&str>,
    ) -> Result<(), (i64, &'static str)> {
        if appid != Some(self.cfg.app_id.as_str()) {
            return Err((40013, "invalid appid"));
        }
        if secret != Some(self.cfg.app_secret.as_str()) {
            return Err((40125, "invalid appsecret"));
        }
        Ok(())
    }

    fn new_token(&self, st: &mut State, now: u64) -> usize {
        let value = self.mint(st, "ACCESS_TOKEN");
        let expires_ms = now + self.cfg.token_ttl_secs * 1000;
        st.tokens.push(Credential {
            value,
            expires_ms,
            valid_until_ms: expires_ms,
        });
        st.tokens.len() - 1
    }

    fn token_answer(t: &Credential, now: u64) -> serde_json::Value {
        json!({ "access_token": t.value, "expires_in": t.remaining_secs(now) })
    }

    fn classic_token(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        if req.param("grant_type") != Some("client_credential") {
            return Err((40002, "invalid grant_type"));
        }
        self.check_app(req.param("appid"), req.param("secret"))?;
        // Each fetch replaces the previous token; the old one lives 5 more minutes.
        let stable = st.stable_current;
        for (i, t) in st.tokens.iter_mut().enumerate() {
            if Some(i) != stable {
                t.valid_until_ms = t.valid_until_ms.min(now + OVERLAP_MS);
            }
        }
        let i = self.new_token(st, now);
        Ok(Self::token_answer(&st.tokens[i], now))
    }

    fn stable_token(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        #[derive(Deserialize)]
        struct Body {
            grant_type: Option<String>,
            appid: Option<String>,
            secret: Option<String>,
            #[serde(default)]
            force_refresh: bool,
        }
        if req.method != "POST" {
            return Err((43002, "require POST method"));
        }
        let body: Body =
            serde_json::from_slice(&req.body).map_err(|_| (47001, "data format error"))?;
        if body.grant_type.as_deref() != Some("client_credential") {
            return Err((40002, "invalid grant_type"));
        }
        self.check_app(body.appid.as_deref(), body.secret.as_deref())?;
        let current = st
            .stable_current
            .filter(|&i| st.tokens[i].valid_until_ms > now);
        if body.force_refresh {
            let day = (now / 1000 + 8 * 3600) / 86_400;
            let count = if st.forced.0 == day { st.forced.1 } else { 0 };
            if count >= FORCE_PER_DAY {
                return Err((45009, "reach max api daily quota limit"));
            }
            st.forced = (day, count + 1);
            if let Some(i) = current {
                st.tokens[i].valid_until_ms = now;
            }
        } else if let Some(i) =
            current.filter(|&i| st.tokens[i].valid_until_ms > now + STABLE_ROTATE_MS)
        {
            return Ok(Self::token_answer(&st.tokens[i], now));
        }
        // Missing, expired, inside the rotation window, or forced: a new token
        // (a normally rotated one stays valid until it expires).
        let i = self.new_token(st, now);
        st.stable_current = Some(i);
        Ok(Self::token_answer(&st.tokens[i], now))
    }

    fn check_token(st: &State, token: Option<&str>, now: u64) -> Result<(), (i64, &'static str)> {
        match st.tokens.iter().find(|t| Some(t.value.as_str()) == token) {
            None => Err((
                40001,
                "invalid credential, access_token is invalid or not latest",
            )),
            Some(t) if t.valid_until_ms <= now && t.expires_ms <= now => {
                Err((42001, "access_token expired"))
            }
            Some(t) if t.valid_until_ms <= now => Err((
                40001,
                "invalid credential, access_token is invalid or not latest",
            )),
            Some(_) => Ok(()),
        }
    }

    fn ticket(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        Self::check_token(st, req.param("access_token"), now)?;
        if req.param("type") != Some("jsapi") {
            return Err((40097, "invalid args"));
        }
        if st.ticket.as_ref().is_none_or(|t| t.valid_until_ms <= now) {
            let value = self.mint(st, "TICKET");
            let expires_ms = now + self.cfg.token_ttl_secs * 1000;
            st.ticket = Some(Credential {
                value,
                expires_ms,
                valid_until_ms: expires_ms,
            });
        }
        let t = st.ticket.as_ref().expect("just set");
        Ok(
            json!({ "errcode": 0, "errmsg": "ok", "ticket": t.value, "expires_in": t.remaining_secs(now) }),
        )
    }

    /// The grant answer. As WeChat documents it, `unionid` comes only with
    /// snsapi_userinfo grants (for followers, `cgi-bin/user/info` has it);
    /// a snapshot user's ids are virtual and flagged `is_snapshotuser: 1`.
    fn grant_answer(
        &self,
        st: &mut State,
        user: usize,
        scope: &str,
        snapshot: bool,
        now: u64,
    ) -> serde_json::Value {
        let access = self.mint(st, "SNS_TOKEN");
        let refresh = self.mint(st, "REFRESH");
        let grant = Grant {
            user,
            scope: scope.to_owned(),
            expires_ms: now + 7200 * 1000,
            snapshot,
        };
        st.sns_tokens.insert(access.clone(), grant.clone());
        st.refresh_tokens.insert(
            refresh.clone(),
            Grant {
                expires_ms: now + 30 * 86_400 * 1000,
                ..grant
            },
        );
        let u = &self.cfg.users[user];
        let openid = if snapshot {
            self.snapshot_openid(user)
        } else {
            u.openid.clone()
        };
        let mut v = json!({
            "access_token": access, "expires_in": 7200, "refresh_token": refresh,
            "openid": openid, "scope": scope,
        });
        if snapshot {
            v["is_snapshotuser"] = json!(1);
            v["unionid"] = json!(format!("uSNAPSHOTvirtual{user:011}"));
        } else if let Some(unionid) = u.unionid.as_ref().filter(|_| scope == "snsapi_userinfo") {
            v["unionid"] = json!(unionid);
        }
        v
    }

    fn exchange_code(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        self.check_app(req.param("appid"), req.param("secret"))?;
        if req.param("grant_type") != Some("authorization_code") {
            return Err((40002, "invalid grant_type"));
        }
        let ttl = self.cfg.code_ttl_secs * 1000;
        let code = st
            .codes
            .get_mut(req.param("code").unwrap_or_default())
            .ok_or((40029, "invalid code"))?;
        if code.used {
            return Err((40163, "code been used"));
        }
        if now.saturating_sub(code.issued_ms) > ttl {
            return Err((40029, "invalid code"));
        }
        code.used = true;
        let (user, scope, snapshot) = (code.user, code.scope.clone(), code.snapshot);
        Ok(self.grant_answer(st, user, &scope, snapshot, now))
    }

    fn refresh(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        if req.param("appid") != Some(self.cfg.app_id.as_str()) {
            return Err((40013, "invalid appid"));
        }
        let grant = st
            .refresh_tokens
            .get(req.param("refresh_token").unwrap_or_default())
            .filter(|g| g.expires_ms > now)
            .cloned();
        let grant = grant.ok_or((40030, "invalid refresh_token"))?;
        Ok(self.grant_answer(st, grant.user, &grant.scope, grant.snapshot, now))
    }

    fn sns_grant<'s>(
        st: &'s State,
        req: &SimRequest,
        now: u64,
    ) -> Result<&'s Grant, (i64, &'static str)> {
        let grant = st
            .sns_tokens
            .get(req.param("access_token").unwrap_or_default())
            .ok_or((
                40001,
                "invalid credential, access_token is invalid or not latest",
            ))?;
        if grant.expires_ms <= now {
            return Err((42001, "access_token expired"));
        }
        Ok(grant)
    }

    fn userinfo(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        let grant = Self::sns_grant(st, req, now)?;
        let u = &self.cfg.users[grant.user];
        if grant.snapshot {
            // The snapshot page's virtual profile.
            let openid = self.snapshot_openid(grant.user);
            if req.param("openid") != Some(openid.as_str()) {
                return Err((40003, "invalid openid"));
            }
            return Ok(json!({
                "openid": openid, "nickname": "微信用户", "sex": 0, "province": "", "city": "",
                "country": "", "headimgurl": "", "privilege": [], "is_snapshotuser": 1,
            }));
        }
        if req.param("openid") != Some(u.openid.as_str()) {
            return Err((40003, "invalid openid"));
        }
        if grant.scope != "snsapi_userinfo" {
            return Err((48001, "api unauthorized"));
        }
        let mut v = json!({
            "openid": u.openid, "nickname": u.nickname, "sex": u.sex, "province": u.province,
            "city": u.city, "country": u.country, "headimgurl": u.headimgurl, "privilege": [],
        });
        if let Some(unionid) = &u.unionid {
            v["unionid"] = json!(unionid);
        }
        Ok(v)
    }

    fn sns_auth(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        let grant = Self::sns_grant(st, req, now)?;
        let openid = if grant.snapshot {
            self.snapshot_openid(grant.user)
        } else {
            self.cfg.users[grant.user].openid.clone()
        };
        if req.param("openid") != Some(openid.as_str()) {
            return Err((40003, "invalid openid"));
        }
        Ok(json!({ "errcode": 0, "errmsg": "ok" }))
    }

    /// The authorize endpoint: snsapi_base consents silently; snsapi_userinfo
    /// shows a consent page unless `sim_decision=allow|deny` is given;
    /// `sim_snapshot=1` makes a snsapi_userinfo login a snapshot-page
    /// virtual user's, as when a page forces the login on opening.
    fn authorize(&self, st: &mut State, req: &SimRequest, now: u64) -> SimResponse {
        let page_error = |msg: &str| SimResponse {
            status: 400,
            ..SimResponse::html(format!("<h1>wxmp-sim</h1><p>{msg}</p>"))
        };
        if req.param("appid") != Some(self.cfg.app_id.as_str()) {
            return page_error("appid is not this account's (10003-like)");
        }
        if req.param("response_type") != Some("code") {
            return page_error("response_type must be code");
        }
        let scope = req.param("scope").unwrap_or_default();
        if !matches!(scope, "snsapi_base" | "snsapi_userinfo") {
            return page_error("scope must be snsapi_base or snsapi_userinfo (10005-like)");
        }
        let Some(redirect) = req
            .param("redirect_uri")
            .and_then(|r| url::Url::parse(r).ok())
        else {
            return page_error("redirect_uri missing or not absolute (10003-like)");
        };
        let state = req.param("state").unwrap_or_default();
        if state.len() > 128 || !state.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return page_error("state must be at most 128 letters or digits");
        }
        let user: usize = req
            .param("sim_user")
            .and_then(|u| u.parse().ok())
            .unwrap_or(0);
        let decision = req
            .param("sim_decision")
            .or((scope == "snsapi_base").then_some("allow"));
        match decision {
            Some("allow") => {
                let snapshot = req.param("sim_snapshot") == Some("1");
                let st_code = self.new_code(st, user, scope, snapshot, now);
                let mut to = redirect;
                to.query_pairs_mut()
                    .append_pair("code", &st_code)
                    .append_pair("state", state);
                SimResponse::redirect(to.as_str())
            }
            Some(_) => {
                let mut to = redirect;
                to.query_pairs_mut().append_pair("state", state);
                SimResponse::redirect(to.as_str())
            }
            None => SimResponse::html(consent_page(
                &self.cfg.users[user.min(self.cfg.users.len() - 1)],
                req,
            )),
        }
    }
}

/// The consent page's look: small, tidy, WeChat-green.
const CONSENT_STYLE: &str = "<style>body{font-family:-apple-system,sans-serif;margin:0;background:#f5f6f7;color:#1f2329}main{max-width:24rem;margin:0 auto;padding:48px 20px;text-align:center}h1{font-size:18px;color:#8a8f99;font-weight:500}a{display:block;margin:12px 0;padding:12px;border-radius:8px;text-decoration:none;font-size:16px}#allow{background:#07c160;color:#fff}#deny{background:#fff;color:#1f2329;border:1px solid #e5e6eb}</style>";

fn consent_page(user: &SimUser, req: &SimRequest) -> String {
    let mut base = url::Url::parse("http://sim/connect/oauth2/authorize").expect("static URL");
    base.query_pairs_mut()
        .extend_pairs(req.query.iter().filter(|(k, _)| k != "sim_decision"));
    let link = |decision: &str| {
        let mut u = base.clone();
        u.query_pairs_mut().append_pair("sim_decision", decision);
        format!("{}?{}", u.path(), u.query().unwrap_or_default()).replace('&', "&amp;")
    };
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>wxmp-sim authorize</title>{CONSENT_STYLE}</head><body><main>\
         <h1>wxmp-sim · WeChat authorisation</h1><p>This web page asks for your public profile (nickname, avatar).</p>\
         <p>Signed in as <b>{}</b></p>\
         <a id=\"allow\" href=\"{}\">Allow</a><a id=\"deny\" href=\"{}\">Deny</a></main></body></html>",
        html_escape(&user.nickname),
        link("allow"),
        link("deny")
    )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
