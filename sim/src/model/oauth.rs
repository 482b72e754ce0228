//! Web OAuth as WeChat serves it: the `connect/oauth2/authorize` consent
//! page, single-use codes (5 minutes), grants and their refresh tokens,
//! `sns/userinfo` (48001 for snsapi_base grants) and `sns/auth`, with
//! snapshot-page (快照页) virtual users.

use serde_json::json;

use super::{err, Answer, Sim, SimUser, State};
use crate::request::{SimRequest, SimResponse};

/// What an OAuth access or refresh token grants.
#[derive(Clone, Debug)]
pub(super) struct Grant {
    user: usize,
    scope: String,
    expires_ms: u64,
    /// A snapshot-page (快照页) virtual user: WeChat hands out a virtual
    /// openid and unionid, flagged `is_snapshotuser: 1`.
    snapshot: bool,
}

/// An OAuth code, single use.
#[derive(Debug)]
pub(super) struct Code {
    user: usize,
    scope: String,
    issued_ms: u64,
    used: bool,
    snapshot: bool,
}

impl Sim {
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

    pub(super) fn exchange_code(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        self.check_app(req.param("appid"), req.param("secret"))?;
        if req.param("grant_type") != Some("authorization_code") {
            return Err(err(40002));
        }
        let ttl = self.cfg.code_ttl_secs * 1000;
        let code = st
            .codes
            .get_mut(req.param("code").unwrap_or_default())
            .ok_or(err(40029))?;
        if code.used {
            return Err(err(40163));
        }
        if now.saturating_sub(code.issued_ms) > ttl {
            return Err(err(40029));
        }
        code.used = true;
        let (user, scope, snapshot) = (code.user, code.scope.clone(), code.snapshot);
        Ok(self.grant_answer(st, user, &scope, snapshot, now))
    }

    pub(super) fn refresh(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        if req.param("appid") != Some(self.cfg.app_id.as_str()) {
            return Err(err(40013));
        }
        let grant = st
            .refresh_tokens
            .get(req.param("refresh_token").unwrap_or_default())
            .filter(|g| g.expires_ms > now)
            .cloned();
        let grant = grant.ok_or(err(40030))?;
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
            .ok_or(err(40001))?;
        if grant.expires_ms <= now {
            return Err(err(42001));
        }
        Ok(grant)
    }

    pub(super) fn userinfo(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        let grant = Self::sns_grant(st, req, now)?;
        let u = &self.cfg.users[grant.user];
        if grant.snapshot {
            // The snapshot page's virtual profile.
            let openid = self.snapshot_openid(grant.user);
            if req.param("openid") != Some(openid.as_str()) {
                return Err(err(40003));
            }
            return Ok(json!({
                "openid": openid, "nickname": "微信用户", "sex": 0, "province": "", "city": "",
                "country": "", "headimgurl": "", "privilege": [], "is_snapshotuser": 1,
            }));
        }
        if req.param("openid") != Some(u.openid.as_str()) {
            return Err(err(40003));
        }
        if grant.scope != "snsapi_userinfo" {
            return Err(err(48001));
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

    pub(super) fn sns_auth(&self, st: &mut State, req: &SimRequest, now: u64) -> Answer {
        let grant = Self::sns_grant(st, req, now)?;
        let openid = if grant.snapshot {
            self.snapshot_openid(grant.user)
        } else {
            self.cfg.users[grant.user].openid.clone()
        };
        if req.param("openid") != Some(openid.as_str()) {
            return Err(err(40003));
        }
        Ok(json!({ "errcode": 0, "errmsg": "ok" }))
    }

    /// The authorize endpoint: snsapi_base consents silently; snsapi_userinfo
    /// shows a consent page unless `sim_decision=allow|deny` is given;
    /// `sim_snapshot=1` makes a snsapi_userinfo login a snapshot-page
    /// virtual user's, as when a page forces the login on opening.
    pub(super) fn authorize(&self, st: &mut State, req: &SimRequest, now: u64) -> SimResponse {
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
