//! Every route of the real component through wxmp-host, against wxmp-sim
//! over loopback HTTP.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod common;

use common::*;

fn start() -> (SimHandle, Host) {
    let sim = SimHandle::start();
    let host = Host::start(HostConfig::new(&sim, Store::Memory));
    (sim, host)
}

#[test]
fn healthz_and_server_verification() {
    let (sim, host) = start();
    assert_eq!(
        host.get("/healthz").json(),
        serde_json::json!({"status": "ok"})
    );
    let sig = wxmp::core::verify::sorted_sha1(&[SERVER_TOKEN, "1700000000", "nonce1"]);
    let ok = host.get(&format!(
        "/wx?signature={sig}&timestamp=1700000000&nonce=nonce1&echostr=hello%20wechat"
    ));
    assert_eq!((ok.status, ok.text().as_str()), (200, "hello wechat"));
    assert_eq!(ok.header("content-type"), Some("text/plain; charset=utf-8"));
    let bad = host.get("/wx?signature=0000&timestamp=1700000000&nonce=nonce1&echostr=x");
    assert_eq!(
        (bad.status, bad.json()["error"].as_str()),
        (403, Some("invalid_signature"))
    );
    assert!(
        sim.sim.all_calls().is_empty(),
        "no WeChat calls for verification"
    );
}

#[test]
fn unknown_route_wrong_method_and_oversize_requests() {
    let (_sim, host) = start();
    let r = host.get("/nope");
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (404, Some("not_found"))
    );
    let r = host.send("DELETE", "/api/me", &[], b"");
    assert_eq!((r.status, r.header("allow")), (405, Some("GET")));
    let long = format!("/healthz?x={}", "a".repeat(9000));
    let r = host.get(&long);
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (414, Some("uri_too_long"))
    );
    let big = "b".repeat(9000);
    let r = host.send("GET", "/healthz", &[("x-big", &big)], b"");
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (431, Some("header_too_large"))
    );
    let r = host.send("POST", "/jssdk/config", &[], &vec![b'{'; 70_000]);
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (413, Some("payload_too_large"))
    );
}

/// The component runs on a 128 KiB stack (build.rs): JSON nested twenty
/// thousand deep in an ignored field still gets a clean answer.
#[test]
fn deeply_nested_json_body_gets_a_clean_answer() {
    let (_sim, host) = start();
    let body = format!(
        "{{\"url\":\"https://evil.example/\",\"x\":{}{}}}",
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    let r = host.send("POST", "/jssdk/config", &[], body.as_bytes());
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_url"))
    );
    assert_eq!(host.get("/healthz").status, 200);
}

#[test]
fn login_redirects_to_the_exact_authorize_url() {
    let (sim, host) = start();
    let r = host.get("/oauth/login?scope=snsapi_userinfo&return_to=%2Fshop");
    assert_eq!(r.status, 302);
    let loc = r.location();
    let state = query_of(&loc, "state").unwrap();
    assert_eq!(
        loc,
        format!(
            "{}/connect/oauth2/authorize?appid={}&redirect_uri=https%3A%2F%2Fm.example.com%2Foauth%2Fcallback&response_type=code&scope=snsapi_userinfo&state={state}&connect_redirect=1#wechat_redirect",
            sim.url,
            sim.sim.config().app_id
        )
    );
    // public_url is https: the login cookie carries the __Host- prefix.
    assert!(r
        .header("set-cookie")
        .unwrap()
        .starts_with("__Host-wxmp_login_"));
}

#[test]
fn snsapi_userinfo_login_then_me_then_logout() {
    let (sim, host) = start();
    let mut b = Browser::new(&host);
    let done = b.login(
        "scope=snsapi_userinfo&return_to=%2Fshop%3Fitem%3D1",
        "&sim_decision=allow",
    );
    assert_eq!(done.status, 302, "{}", done.text());
    assert_eq!(done.location(), "https://m.example.com/shop?item=1");
    let me = b.get("/api/me");
    assert_eq!(me.status, 200);
    let u = &sim.sim.config().users[0];
    assert_eq!(me.json()["nickname"], u.nickname.as_str());
    assert_eq!(me.json()["openid"], u.openid.as_str());
    assert_eq!(me.json()["unionid"], u.unionid.clone().unwrap().as_str());
    assert_eq!(me.json()["scope"], "snsapi_userinfo");
    assert_eq!(
        (
            sim.calls("/sns/oauth2/access_token"),
            sim.calls("/sns/userinfo")
        ),
        (1, 1)
    );

    let cross = b.send(
        "POST",
        "/api/logout",
        &[("origin", "https://evil.example")],
        b"",
    );
    assert_eq!(
        (cross.status, cross.json()["error"].as_str()),
        (403, Some("cross_origin"))
    );
    assert_eq!(b.get("/api/me").status, 200);
    let out = b.send(
        "POST",
        "/api/logout",
        &[("origin", "https://m.example.com")],
        b"",
    );
    assert_eq!(out.status, 204);
    assert_eq!(out.header("content-length"), None);
    assert_eq!(b.get("/api/me").status, 401);
}

#[test]
fn snsapi_base_login_is_silent_and_ids_only() {
    let (sim, host) = start();
    let mut b = Browser::new(&host);
    let done = b.login("return_to=http%3A%2F%2Flocalhost%3A3000%2Fapp", "");
    assert_eq!(done.location(), "http://localhost:3000/app");
    let u = &sim.sim.config().users[0];
    assert_eq!(
        b.get("/api/me").json(),
        serde_json::json!({"openid": u.openid, "scope": "snsapi_base"})
    );
    assert_eq!(sim.calls("/sns/userinfo"), 0);
}

#[test]
fn open_redirects_are_refused() {
    let (_sim, host) = start();
    for rt in [
        "//evil.com",
        "https://evil.com/",
        "https://m.example.com.evil/",
        "https://user@m.example.com/",
        "/\\evil.com",
        "javascript:alert(1)",
    ] {
        let r = host.get(&format!("/oauth/login?return_to={}", enc(rt)));
        assert_eq!(
            (r.status, r.json()["error"].as_str()),
            (400, Some("invalid_return_to")),
            "{rt}"
        );
    }
}

#[test]
fn state_tampered_replayed_unbound_and_expired() {
    let (_sim, host) = start();
    let mut b = Browser::new(&host);
    let start = b.get("/oauth/login");
    let back = b.consent(&start.location(), "");
    let state = query_of(&back, "state").unwrap();
    let code = query_of(&back, "code").unwrap();
    let invalid = |r: &Resp| r.status == 400 && r.json()["error"] == "invalid_state";

    let mut tampered = state.clone().into_bytes();
    tampered[5] = if tampered[5] == b'a' { b'b' } else { b'a' };
    assert!(invalid(&b.get(&format!(
        "/oauth/callback?code={code}&state={}",
        String::from_utf8(tampered).unwrap()
    ))));
    assert!(
        invalid(&host.get(&back)),
        "another browser (no binding cookie)"
    );
    assert_eq!(b.get(&back).status, 302);
    assert!(invalid(&b.get(&back)), "replayed");

    // A correctly signed state issued eleven minutes ago.
    let key = wxmp::core::types::SessionSecret::new(SESSION_SECRET.as_bytes().to_vec()).unwrap();
    let nonce = wxmp::core::state::LoginNonce::new([1; 16]);
    let old = wxmp::core::state::issue(&key, nonce, SimHandle::now_ms() / 1000 - 660);
    assert!(
        invalid(&b.get(&format!("/oauth/callback?code={code}&state={old}"))),
        "expired"
    );
}

#[test]
fn refusal_and_code_replay_return_with_wxmp_error() {
    let (sim, host) = start();
    let mut b = Browser::new(&host);
    let denied = b.login("scope=snsapi_userinfo&return_to=%2Fa", "&sim_decision=deny");
    assert_eq!(
        denied.location(),
        "https://m.example.com/a?wxmp_error=access_denied"
    );

    // Two logins; the second callback carries the first (already used) code.
    let first = b.get("/oauth/login?return_to=%2Fone");
    let second = b.get("/oauth/login?return_to=%2Ftwo");
    let back1 = b.consent(&first.location(), "");
    let code1 = query_of(&back1, "code").unwrap();
    assert_eq!(b.get(&back1).location(), "https://m.example.com/one");
    let back2 = b.consent(&second.location(), "");
    let state2 = query_of(&back2, "state").unwrap();
    let replay = b.get(&format!("/oauth/callback?code={code1}&state={state2}"));
    assert_eq!(
        replay.location(),
        "https://m.example.com/two?wxmp_error=40163"
    );
    assert_eq!(sim.calls("/sns/oauth2/access_token"), 2);
}

#[test]
fn jssdk_config_matches_an_independent_signature() {
    let (sim, host) = start();
    let page = "https://m.example.com/p?x=1&y=%E4%BD%A0";
    let r = host.get(&format!(
        "/jssdk/config?url={}",
        enc(&format!("{page}#/route"))
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    // The component states the length; the answer is not chunked.
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
    assert_eq!(r.header("transfer-encoding"), None);
    let cfg = r.json();
    let ticket = sim.sim.current_ticket(SimHandle::now_ms()).unwrap();
    let sig = jssdk_signature(
        &ticket,
        cfg["nonceStr"].as_str().unwrap(),
        cfg["timestamp"].as_u64().unwrap(),
        page,
    );
    assert_eq!(cfg["signature"].as_str().unwrap(), sig);
    assert_eq!(cfg["appId"], sim.sim.config().app_id.as_str());
    let post = host.send(
        "POST",
        "/jssdk/config",
        &[("content-type", "application/json")],
        br#"{"url":"http://localhost:3000/x"}"#,
    );
    assert_eq!(post.status, 200);
    let bad = host.get(&format!(
        "/jssdk/config?url={}",
        enc("https://evil.example/")
    ));
    assert_eq!(
        (bad.status, bad.json()["error"].as_str()),
        (400, Some("invalid_url"))
    );
    assert_eq!(
        (
            sim.calls("/cgi-bin/stable_token"),
            sim.calls("/cgi-bin/ticket/getticket")
        ),
        (1, 1)
    );
}

#[test]
fn api_token_needs_the_admin_key_and_reports_remaining_seconds() {
    let (sim, host) = start();
    let r = host.get("/api/token");
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (401, Some("unauthorized"))
    );
    let auth = format!("Bearer {ADMIN_KEY}");
    let r = host.send("GET", "/api/token", &[("authorization", &auth)], b"");
    assert_eq!(r.status, 200);
    let expires = r.json()["expires_in"].as_u64().unwrap();
    assert!((7190..=7200).contains(&expires), "{expires}");
    assert_eq!(sim.calls("/cgi-bin/stable_token"), 1);
}

#[test]
fn rejected_token_on_getticket_is_refetched_once() {
    let (sim, host) = start();
    sim.reject_token_once("/cgi-bin/ticket/getticket");
    let r = host.get(&format!(
        "/jssdk/config?url={}",
        enc("https://m.example.com/")
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        (
            sim.calls("/cgi-bin/stable_token"),
            sim.calls("/cgi-bin/ticket/getticket")
        ),
        (3, 2)
    );
}

#[test]
fn upstream_faults_become_502_and_504_json_with_their_own_codes_in_bounded_time() {
    let sim = SimHandle::start();
    let auth = format!("Bearer {ADMIN_KEY}");
    let cases = [
        (
            wxmp_sim::Fault::Status { status: 503 },
            502,
            "upstream_bad_answer",
            None,
        ),
        (
            wxmp_sim::Fault::Delay { ms: 20_000 },
            504,
            "upstream_timeout",
            None,
        ),
        (wxmp_sim::Fault::Drop, 502, "upstream_unreachable", None),
        (
            wxmp_sim::Fault::Errcode {
                errcode: 40164,
                errmsg: Some("invalid ip 10.0.0.1, not in whitelist".into()),
            },
            502,
            "upstream",
            Some(40164),
        ),
    ];
    for (fault, status, error, errcode) in cases {
        // A fresh host (and store) per fault: no failure hold carries over.
        let host = Host::start(HostConfig::new(&sim, Store::Memory));
        sim.sim.inject("/cgi-bin/stable_token", fault.clone(), 1);
        let started = std::time::Instant::now();
        let r = host.send("GET", "/api/token", &[("authorization", &auth)], b"");
        assert_eq!(
            (
                r.status,
                r.json()["error"].as_str(),
                r.json()["errcode"].as_i64()
            ),
            (status, Some(error), errcode),
            "{fault:?}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(8),
            "{fault:?} took {:?}",
            started.elapsed()
        );
        if errcode.is_some() {
            // WeChat's errmsg names the server's IP: it goes to the log line
            // with the answer's request id, never to the caller.
            assert!(r.json().get("errmsg").is_none());
            assert!(!r.text().contains("10.0.0.1"), "{}", r.text());
            let id = r.header("x-request-id").unwrap().to_owned();
            assert!(
                host.wait_log(&format!("request_id={id} ")),
                "{}",
                host.log()
            );
            let log = host.log();
            let line = log
                .lines()
                .find(|l| l.contains(&format!("request_id={id} ")) && l.contains("errmsg"))
                .unwrap_or_default();
            assert!(
                line.contains("invalid ip 10.0.0.1, not in whitelist"),
                "{log}"
            );
        }
    }
}
