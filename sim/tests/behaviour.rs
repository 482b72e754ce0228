//! wxmp-sim behaves as WeChat documents: token semantics per mode, single-use
//! codes, scopes, error shapes, counters and faults.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

use wxmp_sim::{Fault, Reply, Sim, SimConfig, SimRequest, SimResponse};

const T0: u64 = 1_700_000_000_000;

fn sim() -> Sim {
    Sim::new(SimConfig::default())
}

fn call(s: &Sim, method: &str, url: &str, body: &str, now: u64) -> SimResponse {
    match s.handle(&SimRequest::new(method, url, body.as_bytes().to_vec()), now) {
        Reply::Respond { response, .. } => response,
        Reply::Drop => panic!("dropped"),
    }
}

fn stable(s: &Sim, force: bool, now: u64) -> serde_json::Value {
    let c = s.config();
    let body = serde_json::json!({"grant_type":"client_credential","appid":c.app_id,"secret":c.app_secret,"force_refresh":force});
    call(s, "POST", "/cgi-bin/stable_token", &body.to_string(), now).json_body()
}

fn classic(s: &Sim, now: u64) -> serde_json::Value {
    let c = s.config();
    call(
        s,
        "GET",
        &format!(
            "/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
            c.app_id, c.app_secret
        ),
        "",
        now,
    )
    .json_body()
}

fn ticket(s: &Sim, token: &serde_json::Value, now: u64) -> serde_json::Value {
    call(
        s,
        "GET",
        &format!(
            "/cgi-bin/ticket/getticket?access_token={}&type=jsapi",
            token["access_token"].as_str().unwrap()
        ),
        "",
        now,
    )
    .json_body()
}

#[test]
fn stable_token_is_stable_then_rotates_in_the_last_five_minutes() {
    let s = sim();
    let a = stable(&s, false, T0);
    assert_eq!(a["expires_in"], 7200);
    let again = stable(&s, false, T0 + 1000 * 1000);
    assert_eq!(again["access_token"], a["access_token"]);
    assert_eq!(again["expires_in"], 6200);
    let rotated = stable(&s, false, T0 + (7200 - 300) * 1000);
    assert_ne!(rotated["access_token"], a["access_token"]);
    // The old one still works until it expires.
    assert_eq!(ticket(&s, &a, T0 + (7200 - 10) * 1000)["errcode"], 0);
    assert_eq!(ticket(&s, &a, T0 + 7200 * 1000)["errcode"], 42001);
}

#[test]
fn forced_stable_refresh_revokes_at_once_and_is_capped() {
    let s = sim();
    let a = stable(&s, false, T0);
    let b = stable(&s, true, T0 + 1000);
    assert_ne!(a["access_token"], b["access_token"]);
    assert_eq!(ticket(&s, &a, T0 + 2000)["errcode"], 40001);
    assert_eq!(ticket(&s, &b, T0 + 2000)["errcode"], 0);
    for i in 1..20 {
        assert!(
            stable(&s, true, T0 + 2000 + i)
                .get("access_token")
                .is_some(),
            "force {i}"
        );
    }
    assert_eq!(stable(&s, true, T0 + 3000)["errcode"], 45009);
}

#[test]
fn classic_token_replaces_the_previous_after_five_minutes() {
    let s = sim();
    let a = classic(&s, T0);
    let b = classic(&s, T0 + 1000);
    assert_ne!(a["access_token"], b["access_token"]);
    assert_eq!(ticket(&s, &a, T0 + 4 * 60_000)["errcode"], 0);
    assert_eq!(ticket(&s, &a, T0 + 6 * 60_000)["errcode"], 40001);
    assert_eq!(ticket(&s, &b, T0 + 6 * 60_000)["errcode"], 0);
    // Stable tokens are isolated from classic fetches.
    let st = stable(&s, false, T0);
    classic(&s, T0 + 2000);
    assert_eq!(ticket(&s, &st, T0 + 10 * 60_000)["errcode"], 0);
}

#[test]
fn bad_credentials_get_their_errcodes() {
    let s = sim();
    let r = call(
        &s,
        "GET",
        "/cgi-bin/token?grant_type=client_credential&appid=wxother&secret=x",
        "",
        T0,
    )
    .json_body();
    assert_eq!(r["errcode"], 40013);
    let id = s.config().app_id.clone();
    let r = call(
        &s,
        "GET",
        &format!("/cgi-bin/token?grant_type=client_credential&appid={id}&secret=wrong"),
        "",
        T0,
    )
    .json_body();
    assert_eq!(r["errcode"], 40125);
    assert_eq!(
        call(
            &s,
            "GET",
            "/cgi-bin/ticket/getticket?access_token=nope&type=jsapi",
            "",
            T0
        )
        .json_body()["errcode"],
        40001
    );
}

#[test]
fn codes_are_single_use_and_expire_after_five_minutes() {
    let s = sim();
    let c = s.config().clone();
    let exchange = |code: &str, now| {
        call(&s, "GET", &format!("/sns/oauth2/access_token?appid={}&secret={}&code={code}&grant_type=authorization_code", c.app_id, c.app_secret), "", now).json_body()
    };
    let code = s.issue_code(0, "snsapi_base", false, T0);
    let g = exchange(&code, T0);
    assert_eq!(g["openid"], c.users[0].openid);
    assert_eq!(g["scope"], "snsapi_base");
    // As documented: unionid only with snsapi_userinfo, even for a user who has one.
    assert!(c.users[0].unionid.is_some());
    assert!(g.get("unionid").is_none(), "{g}");
    assert!(g.get("is_snapshotuser").is_none());
    let code = s.issue_code(0, "snsapi_userinfo", false, T0);
    assert_eq!(
        exchange(&code, T0)["unionid"],
        c.users[0].unionid.clone().unwrap()
    );
    assert_eq!(exchange(&code, T0)["errcode"], 40163);
    let late = s.issue_code(0, "snsapi_base", false, T0);
    assert_eq!(exchange(&late, T0 + 301_000)["errcode"], 40029);
    assert_eq!(exchange("made-up", T0)["errcode"], 40029);
    // snsapi_base grants cannot read the profile.
    let ui = call(
        &s,
        "GET",
        &format!(
            "/sns/userinfo?access_token={}&openid={}&lang=zh_CN",
            g["access_token"].as_str().unwrap(),
            c.users[0].openid
        ),
        "",
        T0,
    )
    .json_body();
    assert_eq!(ui["errcode"], 48001);
}

#[test]
fn userinfo_grant_reads_the_profile_and_auth_checks_it() {
    let s = sim();
    let c = s.config().clone();
    let code = s.issue_code(1, "snsapi_userinfo", false, T0);
    let g = call(
        &s,
        "GET",
        &format!(
            "/sns/oauth2/access_token?appid={}&secret={}&code={code}&grant_type=authorization_code",
            c.app_id, c.app_secret
        ),
        "",
        T0,
    )
    .json_body();
    assert!(g.get("unionid").is_none(), "user 1 has no unionid");
    let tok = g["access_token"].as_str().unwrap();
    let ui = call(
        &s,
        "GET",
        &format!(
            "/sns/userinfo?access_token={tok}&openid={}&lang=en",
            c.users[1].openid
        ),
        "",
        T0,
    )
    .json_body();
    assert_eq!(ui["nickname"], "Bob");
    let ok = call(
        &s,
        "GET",
        &format!("/sns/auth?access_token={tok}&openid={}", c.users[1].openid),
        "",
        T0,
    )
    .json_body();
    assert_eq!(ok, serde_json::json!({"errcode": 0, "errmsg": "ok"}));
    let bad = call(
        &s,
        "GET",
        &format!("/sns/auth?access_token={tok}&openid=other"),
        "",
        T0,
    )
    .json_body();
    assert_eq!(bad["errcode"], 40003);
    let refreshed = call(
        &s,
        "GET",
        &format!(
            "/sns/oauth2/refresh_token?appid={}&grant_type=refresh_token&refresh_token={}",
            c.app_id,
            g["refresh_token"].as_str().unwrap()
        ),
        "",
        T0,
    )
    .json_body();
    assert_eq!(refreshed["openid"], c.users[1].openid);
}

#[test]
fn authorize_consents_silently_for_base_and_asks_for_userinfo() {
    let s = sim();
    let id = s.config().app_id.clone();
    let url = |scope: &str, extra: &str| {
        format!("/connect/oauth2/authorize?appid={id}&redirect_uri=https%3A%2F%2Fa.example%2Fcb%3Fx%3D1&response_type=code&scope={scope}&state=S1{extra}")
    };
    let base = call(&s, "GET", &url("snsapi_base", ""), "", T0);
    assert_eq!(base.status, 302);
    let loc = &base.headers[0].1;
    assert!(
        loc.starts_with("https://a.example/cb?x=1&code=code_") && loc.ends_with("&state=S1"),
        "{loc}"
    );
    let page = call(&s, "GET", &url("snsapi_userinfo", ""), "", T0);
    assert_eq!(page.status, 200);
    let html = String::from_utf8(page.body).unwrap();
    assert!(
        html.contains("id=\"allow\"")
            && html.contains("sim_decision=allow")
            && html.contains("Alice")
    );
    let deny = call(
        &s,
        "GET",
        &url("snsapi_userinfo", "&sim_decision=deny"),
        "",
        T0,
    );
    assert_eq!(deny.headers[0].1, "https://a.example/cb?x=1&state=S1");
    assert_eq!(
        call(&s, "GET", &url("snsapi_login", ""), "", T0).status,
        400
    );
}

#[test]
fn faults_are_consumed_in_order_and_calls_counted() {
    let s = sim();
    s.inject(
        "/cgi-bin/stable_token",
        Fault::Errcode {
            errcode: -1,
            errmsg: None,
        },
        1,
    );
    s.inject("/cgi-bin/stable_token", Fault::Drop, 1);
    s.inject("/cgi-bin/stable_token", Fault::Delay { ms: 700 }, 1);
    assert_eq!(
        stable(&s, false, T0),
        serde_json::json!({"errcode": -1, "errmsg": "system error"})
    );
    assert_eq!(
        s.handle(
            &SimRequest::new("POST", "/cgi-bin/stable_token", Vec::new()),
            T0
        ),
        Reply::Drop
    );
    let delayed = s.handle(
        &SimRequest::new("POST", "/cgi-bin/stable_token", b"{}".to_vec()),
        T0,
    );
    assert!(matches!(delayed, Reply::Respond { delay_ms: 700, .. }));
    assert_eq!(s.calls("/cgi-bin/stable_token"), 3);
    s.reset_calls();
    assert_eq!(s.calls("/cgi-bin/stable_token"), 0);
}

#[test]
fn snapshot_page_users_get_virtual_flagged_ids() {
    let s = sim();
    let c = s.config().clone();
    let exchange = |code: &str| {
        call(&s, "GET", &format!("/sns/oauth2/access_token?appid={}&secret={}&code={code}&grant_type=authorization_code", c.app_id, c.app_secret), "", T0).json_body()
    };
    let g = exchange(&s.issue_code(0, "snsapi_userinfo", true, T0));
    assert_eq!(g["is_snapshotuser"], 1);
    assert_eq!(g["openid"], s.snapshot_openid(0));
    assert_ne!(g["openid"], c.users[0].openid);
    assert_ne!(g["unionid"], c.users[0].unionid.clone().unwrap());
    // Through the authorize page too, and only for snsapi_userinfo.
    let authorize = |scope: &str| {
        let r = call(&s, "GET", &format!("/connect/oauth2/authorize?appid={}&redirect_uri=https%3A%2F%2Fm.example.com%2Fcb&response_type=code&scope={scope}&state=s&sim_decision=allow&sim_snapshot=1", c.app_id), "", T0);
        let location = r
            .headers
            .iter()
            .find(|(k, _)| k == "location")
            .unwrap()
            .1
            .clone();
        url::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned()
    };
    assert_eq!(
        exchange(&authorize("snsapi_userinfo"))["is_snapshotuser"],
        1
    );
    assert!(exchange(&authorize("snsapi_base"))
        .get("is_snapshotuser")
        .is_none());
}
