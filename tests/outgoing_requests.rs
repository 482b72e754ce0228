//! Every flow that calls out, checked against the exact request it sends
//! (method, URL with query, headers, body, time limits), the way oauth2-rs
//! tests its token requests: a scripted client asserts each request and
//! answers with a canned response, and the test checks the typed result.
//! The simulator's call counts (elsewhere) say how often; these say what.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod support;

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde_json::{json, Value};
use support::*;
use wxmp::core::config::Config;
use wxmp::core::error::Error;
use wxmp::core::messages::PushQuery;
use wxmp::core::method::Method;
use wxmp::core::types::{OpenId, RefreshToken, UserAccessToken};
use wxmp::core::userinfo::Lang;
use wxmp::core::verify::server_signature;
use wxmp::flows::messages::WEBHOOK_TIMEOUTS;
use wxmp::flows::upstream::API_TIMEOUTS;
use wxmp::flows::{credentials, messages, userinfo};
use wxmp::ports::{Clock, Env, HttpClient, OutboundRequest, OutboundResponse, Timeouts};

/// One expected request and the answer to give it.
struct Exchange {
    method: Method,
    url: String,
    headers: Vec<(&'static str, &'static str)>,
    body: Option<Value>,
    timeouts: Timeouts,
    answer: Value,
}

/// A client that asserts each request against the script, in order.
#[derive(Default)]
struct Script(Mutex<VecDeque<Exchange>>);

impl Script {
    fn expect(&self, e: Exchange) -> &Self {
        self.0.lock().unwrap().push_back(e);
        self
    }

    fn assert_done(&self) {
        let left = self.0.lock().unwrap().len();
        assert_eq!(left, 0, "{left} expected request(s) never sent");
    }
}

impl HttpClient for Script {
    fn send(&self, r: &OutboundRequest) -> Result<OutboundResponse, Error> {
        let e = self
            .0
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| panic!("unexpected request {} {}", r.method, r.url));
        assert_eq!(r.method, e.method, "method of {}", e.url);
        assert_eq!(r.url, e.url);
        let headers: Vec<(&str, &str)> = r
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(headers, e.headers, "headers of {}", e.url);
        let body = r
            .body
            .as_ref()
            .map(|b| serde_json::from_slice::<Value>(b).expect("a JSON body"));
        assert_eq!(body, e.body, "body of {}", e.url);
        assert_eq!(r.timeouts, e.timeouts, "time limits of {}", e.url);
        Ok(OutboundResponse {
            status: 200,
            headers: vec![(
                "content-type".into(),
                "application/json; encoding=utf-8".into(),
            )],
            body: e.answer.to_string().into_bytes(),
        })
    }
}

const APP_ID: &str = "wx5f2b3c4d5e6f7a8b";
const SECRET: &str = "sim0app0secret0000000000000000ab";

/// The ports of one request, with `script` as the outside world.
struct Rig {
    config: Config,
    kv: MemKv,
    clock: TestClock,
    entropy: SeqEntropy,
    logs: Logs,
    script: Script,
}

impl Rig {
    fn new(tweak: impl FnOnce(&mut HashMap<String, String>)) -> Self {
        let mut vars = base_vars(&wxmp_sim::SimConfig::default());
        tweak(&mut vars);
        assert_eq!(vars["app_id"], APP_ID);
        assert_eq!(vars["app_secret"], SECRET);
        Self {
            config: Config::load(move |k| vars.get(k).cloned()),
            kv: MemKv::default(),
            clock: TestClock::manual(1_700_000_000_000),
            entropy: SeqEntropy::default(),
            logs: Logs::default(),
            script: Script::default(),
        }
    }

    fn env(&self) -> Env<'_> {
        Env {
            config: &self.config,
            kv: &self.kv,
            http: &self.script,
            clock: &self.clock,
            entropy: &self.entropy,
            log: &self.logs,
        }
    }
}

fn api(method: Method, path_and_query: &str, body: Option<Value>, answer: Value) -> Exchange {
    let headers = if body.is_some() {
        vec![("content-type", "application/json")]
    } else {
        Vec::new()
    };
    Exchange {
        method,
        url: format!("{API_BASE}{path_and_query}"),
        headers,
        body,
        timeouts: API_TIMEOUTS,
        answer,
    }
}

fn stable_token(force_refresh: bool, token: &str) -> Exchange {
    api(
        Method::Post,
        "/cgi-bin/stable_token",
        Some(json!({
            "grant_type": "client_credential",
            "appid": APP_ID,
            "secret": SECRET,
            "force_refresh": force_refresh,
        })),
        json!({ "access_token": token, "expires_in": 7200 }),
    )
}

#[test]
fn stable_token_is_a_json_post_with_the_app_credentials() {
    let rig = Rig::new(|_| {});
    rig.script.expect(stable_token(false, "AT1"));
    let (token, expires_in) = credentials::access_token(&rig.env()).unwrap();
    assert_eq!((token.secret(), expires_in), ("AT1", 7200));
    rig.script.assert_done();
}

#[test]
fn classic_token_is_a_get_with_the_credentials_in_the_query() {
    let rig = Rig::new(|v| {
        v.insert("token_mode".into(), "classic".into());
    });
    rig.script.expect(api(
        Method::Get,
        &format!("/cgi-bin/token?grant_type=client_credential&appid={APP_ID}&secret={SECRET}"),
        None,
        json!({ "access_token": "AT1", "expires_in": 7200 }),
    ));
    assert_eq!(
        credentials::access_token(&rig.env()).unwrap().0.secret(),
        "AT1"
    );
    rig.script.assert_done();
}

#[test]
fn a_rejected_stable_token_handed_back_again_is_force_refreshed() {
    let rig = Rig::new(|_| {});
    rig.script.expect(stable_token(false, "AT1"));
    credentials::access_token(&rig.env()).unwrap();
    assert!(credentials::invalidate_access_token(&rig.env(), "AT1").unwrap());
    rig.script
        .expect(stable_token(false, "AT1"))
        .expect(stable_token(true, "AT2"));
    assert_eq!(
        credentials::access_token(&rig.env()).unwrap().0.secret(),
        "AT2"
    );
    rig.script.assert_done();
}

#[test]
fn the_jsapi_ticket_is_fetched_with_the_cached_token() {
    let rig = Rig::new(|_| {});
    rig.script.expect(stable_token(false, "AT1")).expect(api(
        Method::Get,
        "/cgi-bin/ticket/getticket?access_token=AT1&type=jsapi",
        None,
        json!({ "errcode": 0, "errmsg": "ok", "ticket": "TK1", "expires_in": 7200 }),
    ));
    assert_eq!(
        credentials::jsapi_ticket(&rig.env()).unwrap().secret(),
        "TK1"
    );
    rig.script.assert_done();
}

fn grant(scope: &str) -> Value {
    json!({
        "access_token": "UAT", "expires_in": 7200, "refresh_token": "RT",
        "openid": "OPENID", "scope": scope,
    })
}

#[test]
fn a_code_is_exchanged_with_appid_secret_code_and_grant_type() {
    let rig = Rig::new(|_| {});
    rig.script.expect(api(
        Method::Get,
        &format!(
            "/sns/oauth2/access_token?appid={APP_ID}&secret={SECRET}&code=CODE1&grant_type=authorization_code"
        ),
        None,
        grant("snsapi_base"),
    ));
    let g = userinfo::exchange_code(&rig.env(), "CODE1").unwrap();
    assert_eq!(
        (
            g.openid.as_str(),
            g.access_token.secret(),
            g.refresh_token.secret()
        ),
        ("OPENID", "UAT", "RT")
    );
    rig.script.assert_done();
}

#[test]
fn a_grant_is_refreshed_with_appid_and_refresh_token_only() {
    let rig = Rig::new(|_| {});
    rig.script.expect(api(
        Method::Get,
        &format!(
            "/sns/oauth2/refresh_token?appid={APP_ID}&grant_type=refresh_token&refresh_token=RT0"
        ),
        None,
        grant("snsapi_userinfo"),
    ));
    let g = userinfo::refresh(&rig.env(), &RefreshToken::new("RT0")).unwrap();
    assert_eq!(g.refresh_token.secret(), "RT");
    rig.script.assert_done();
}

#[test]
fn userinfo_and_auth_use_the_users_own_token() {
    let rig = Rig::new(|_| {});
    rig.script
        .expect(api(
            Method::Get,
            "/sns/userinfo?access_token=UAT&openid=OPENID&lang=en",
            None,
            json!({ "openid": "OPENID", "nickname": "Alice", "privilege": [] }),
        ))
        .expect(api(
            Method::Get,
            "/sns/auth?access_token=UAT&openid=OPENID",
            None,
            json!({ "errcode": 0, "errmsg": "ok" }),
        ));
    let (token, openid) = (UserAccessToken::new("UAT"), OpenId::new("OPENID"));
    let profile = userinfo::profile(&rig.env(), &token, &openid, Lang::En).unwrap();
    assert_eq!(profile.nickname.as_deref(), Some("Alice"));
    assert!(userinfo::check(&rig.env(), &token, &openid).unwrap());
    rig.script.assert_done();
}

#[test]
fn a_push_is_forwarded_to_the_webhook_as_json_within_its_budget() {
    let rig = Rig::new(|v| {
        v.insert("message_webhook".into(), WEBHOOK_URL.into());
    });
    let xml = "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oU1]]></FromUserName>\
               <CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>\
               <Content><![CDATA[hi]]></Content><MsgId>42</MsgId></xml>";
    rig.script.expect(Exchange {
        method: Method::Post,
        url: WEBHOOK_URL.into(),
        headers: vec![("content-type", "application/json")],
        body: Some(json!({
            "msg_type": "text", "to": "gh_1", "from": "oU1", "create_time": 1_700_000_000,
            "content": "hi", "msg_id": "42",
            "raw": {"ToUserName": "gh_1", "FromUserName": "oU1", "CreateTime": "1700000000",
                    "MsgType": "text", "Content": "hi", "MsgId": "42"},
        })),
        timeouts: WEBHOOK_TIMEOUTS,
        answer: Value::Null,
    });
    let timestamp = (rig.clock.now_ms() / 1000).to_string();
    let token = wxmp::core::types::ServerToken::new(SERVER_TOKEN);
    let query = PushQuery {
        signature: server_signature(&token, &timestamp, "n1"),
        timestamp,
        nonce: "n1".into(),
        ..PushQuery::default()
    };
    let (answer, late) = messages::handle(&rig.env(), &query, xml.as_bytes()).unwrap();
    assert_eq!((answer.body.as_str(), late.is_none()), ("success", true));
    rig.script.assert_done();
}
