//! Every route of the HTTP face, natively: wxmp's router and flows over
//! in-memory ports, with wxmp-sim as WeChat. Exact statuses, bodies and
//! upstream call counts.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod support;

use support::*;
use wxmp::core::jssdk;
use wxmp::core::types::JsapiTicket;
use wxmp::http::Request;

/// The session cookie's name: public_url is https in these tests.
const SESSION: &str = "__Host-wxmp_session";

#[test]
fn healthz_is_ok_without_touching_wechat() {
    let w = World::new();
    let r = w.get("/healthz");
    assert_eq!(r.status, 200);
    assert_eq!(json(&r), serde_json::json!({"status": "ok"}));
    assert!(w.sim.all_calls().is_empty());
}

#[test]
fn broken_config_degrades_health_and_fails_only_dependent_routes() {
    let w = World::with_clock(TestClock::manual(1_700_000_000_000), |v| {
        v.insert("session_secret".into(), "short".into());
    });
    let h = w.get("/healthz");
    assert_eq!(h.status, 200);
    assert_eq!(
        json(&h),
        serde_json::json!({"status": "degraded", "problems": ["session_secret: must be at least 32 bytes"]})
    );
    let login = w.get("/oauth/login");
    assert_eq!(login.status, 500);
    assert_eq!(json(&login)["error"], "config");
    assert_eq!(
        json(&login)["message"],
        "configuration: session_secret: must be at least 32 bytes"
    );
    // Server verification does not need the session secret.
    let sig = wxmp::core::verify::sorted_sha1(&[SERVER_TOKEN, "1", "n"]);
    assert_eq!(
        w.get(&format!(
            "/wx?signature={sig}&timestamp=1&nonce=n&echostr=hi"
        ))
        .status,
        200
    );
}

#[test]
fn server_verification_echoes_only_with_the_right_signature() {
    let w = World::new();
    // Tencent's sample: token spamtest, timestamp 1409735669, nonce 1320562132.
    let ok = w.get("/wx?signature=16120ec1b8dbb870f510d87ce6bc2463eae6ca1a&timestamp=1409735669&nonce=1320562132&echostr=5837397520665436492");
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body, b"5837397520665436492");
    assert_eq!(ok.header("content-type"), Some("text/plain; charset=utf-8"));
    let bad = w.get("/wx?signature=06120ec1b8dbb870f510d87ce6bc2463eae6ca1a&timestamp=1409735669&nonce=1320562132&echostr=x");
    assert_eq!(bad.status, 403);
    assert_eq!(json(&bad)["error"], "invalid_signature");
    let missing = w.get("/wx?timestamp=1&nonce=2&echostr=x");
    assert_eq!(
        (missing.status, json(&missing)["error"].as_str()),
        (400, Some("missing_parameter"))
    );
}

#[test]
fn unknown_routes_and_wrong_methods() {
    let w = World::new();
    let r = w.get("/nope");
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (404, Some("not_found"))
    );
    for (method, path, allow) in [
        ("DELETE", "/wx", "GET, POST"),
        ("POST", "/oauth/login", "GET"),
        ("PUT", "/api/me", "GET"),
        ("GET", "/api/logout", "POST"),
        ("PATCH", "/jssdk/config", "GET, POST"),
        ("POST", "/healthz", "GET"),
        ("POST", "/api/token", "GET"),
    ] {
        let r = w.send(Request::new(method, path));
        assert_eq!(r.status, 405, "{method} {path}");
        assert_eq!(r.header("allow"), Some(allow));
        assert_eq!(json(&r)["error"], "method_not_allowed");
    }
}

#[test]
fn login_redirects_to_the_exact_authorize_url() {
    let w = World::new();
    let r = w.get("/oauth/login?scope=snsapi_userinfo&return_to=/shop");
    assert_eq!(r.status, 302);
    let loc = location(&r);
    let state = query_of(&loc, "state").unwrap();
    assert_eq!(state.len(), 80);
    assert_eq!(
        loc,
        format!(
            "{OAUTH_BASE}/connect/oauth2/authorize?appid={}&redirect_uri=https%3A%2F%2Fm.example.com%2Foauth%2Fcallback\
             &response_type=code&scope=snsapi_userinfo&state={state}&connect_redirect=1#wechat_redirect",
            w.sim.config().app_id
        )
    );
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.starts_with("__Host-wxmp_login_"), "{cookie}");
    assert!(
        cookie.ends_with("; HttpOnly; SameSite=Lax; Path=/; Max-Age=600; Secure"),
        "{cookie}"
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    // The default scope is snsapi_base.
    assert_eq!(
        query_of(&location(&w.get("/oauth/login")), "scope").as_deref(),
        Some("snsapi_base")
    );
}

#[test]
fn login_refuses_bad_scope_and_open_redirects() {
    let w = World::new();
    let r = w.get("/oauth/login?scope=snsapi_login");
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    for rt in [
        "//evil.com",
        "https://evil.com/",
        "https://m.example.com.evil/",
        "https://user@m.example.com/",
        "/\\evil",
        "%2F%2Fevil.com",
        "/\\/evil.com",
        "HTTPS://EVIL.COM",
    ] {
        let enc: String = url::form_urlencoded::byte_serialize(rt.as_bytes()).collect();
        let r = w.get(&format!("/oauth/login?return_to={enc}"));
        assert_eq!(
            (r.status, json(&r)["error"].as_str()),
            (400, Some("invalid_return_to")),
            "{rt}"
        );
    }
    assert!(w.kv.keys().is_empty(), "nothing stored for refused logins");
}

#[test]
fn snsapi_userinfo_login_yields_the_full_profile() {
    let w = World::new();
    let (jar, done) = w.login("snsapi_userinfo", "/shop%3Fitem%3D1");
    assert_eq!(done.status, 302);
    assert_eq!(location(&done), "https://m.example.com/shop?item=1");
    let cookie = done.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with("__Host-wxmp_session=")
            && cookie.ends_with("; HttpOnly; SameSite=Lax; Path=/; Secure"),
        "{cookie}"
    );
    // The used login cookie is cleared.
    let cleared: Vec<&str> = done
        .headers
        .iter()
        .filter(|(k, v)| k == "set-cookie" && v.contains("Max-Age=0"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(cleared.len(), 1, "{:?}", done.headers);
    assert!(cleared[0].starts_with("__Host-wxmp_login_"));
    assert!(
        !jar.0.keys().any(|k| k.contains("wxmp_login")),
        "{:?}",
        jar.0
    );
    let me = w.send(jar.on(Request::new("GET", "/api/me")));
    assert_eq!(me.status, 200);
    let user = &w.sim.config().users[0];
    assert_eq!(
        json(&me),
        serde_json::json!({
            "openid": user.openid, "unionid": user.unionid, "scope": "snsapi_userinfo", "nickname": user.nickname,
            "sex": user.sex, "province": user.province, "city": user.city, "country": user.country,
            "headimgurl": user.headimgurl, "privilege": []
        })
    );
    assert_eq!(
        (
            w.sim.calls("/sns/oauth2/access_token"),
            w.sim.calls("/sns/userinfo")
        ),
        (1, 1)
    );
}

#[test]
fn snsapi_base_login_yields_ids_only_and_never_calls_userinfo() {
    let w = World::new();
    let (jar, done) = w.login("snsapi_base", "http%3A%2F%2Flocalhost%3A3000%2Fapp");
    assert_eq!(location(&done), "http://localhost:3000/app");
    let me = json(&w.send(jar.on(Request::new("GET", "/api/me"))));
    let user = &w.sim.config().users[0];
    // WeChat sends no unionid with a snsapi_base grant, even for a user who has one.
    assert!(user.unionid.is_some());
    assert_eq!(
        me,
        serde_json::json!({"openid": user.openid, "scope": "snsapi_base"})
    );
    assert_eq!(w.sim.calls("/sns/userinfo"), 0);
}

#[test]
fn snapshot_page_users_get_no_session_and_are_sent_back_with_snapshot_user() {
    let w = World::new();
    let mut jar = Jar::default();
    let start = w.get("/oauth/login?scope=snsapi_userinfo&return_to=/article%3Fid%3D7");
    jar.absorb(&start);
    let cb = w.authorize(&location(&start), "&sim_decision=allow&sim_snapshot=1");
    let done = w.send(jar.on(Request::new("GET", cb.strip_prefix(PUBLIC_URL).unwrap())));
    jar.absorb(&done);
    assert_eq!(done.status, 302);
    assert_eq!(
        location(&done),
        "https://m.example.com/article?id=7&wxmp_error=snapshot_user"
    );
    assert!(
        !jar.0.contains_key(SESSION),
        "no session for a virtual user"
    );
    assert_eq!(w.send(jar.on(Request::new("GET", "/api/me"))).status, 401);
    assert_eq!(
        (
            w.sim.calls("/sns/oauth2/access_token"),
            w.sim.calls("/sns/userinfo")
        ),
        (1, 0),
        "the virtual profile is never fetched"
    );
    assert!(
        w.kv.keys().iter().all(|k| !k.contains(":session")),
        "{:?}",
        w.kv.keys()
    );
}

#[test]
fn every_login_gets_a_new_session_and_the_old_one_ends() {
    let w = World::new();
    let (jar1, _) = w.login("snsapi_base", "/");
    let first = jar1.0[SESSION].clone();
    let mut jar = jar1.clone();
    let start = w.send(jar.on(Request::new("GET", "/oauth/login")));
    jar.absorb(&start);
    let cb = w.authorize(&location(&start), "");
    let done = w.send(jar.on(Request::new("GET", cb.strip_prefix(PUBLIC_URL).unwrap())));
    jar.absorb(&done);
    assert_ne!(jar.0[SESSION], first);
    assert_eq!(
        w.send(jar1.on(Request::new("GET", "/api/me"))).status,
        401,
        "the pre-login session is gone"
    );
    assert_eq!(w.send(jar.on(Request::new("GET", "/api/me"))).status, 200);
}

#[test]
fn api_me_without_a_valid_session_is_401() {
    let w = World::new();
    for cookie in [
        None,
        Some("__Host-wxmp_session=garbage"),
        Some("__Host-wxmp_session=00.00"),
    ] {
        let mut req = Request::new("GET", "/api/me");
        if let Some(c) = cookie {
            req = req.with_header("cookie", c);
        }
        let r = w.send(req);
        assert_eq!(
            (r.status, json(&r)["error"].as_str()),
            (401, Some("no_session")),
            "{cookie:?}"
        );
    }
    // A tampered but well-formed cookie.
    let (jar, _) = w.login("snsapi_base", "/");
    let mut v = jar.0[SESSION].clone().into_bytes();
    v[0] = if v[0] == b'a' { b'b' } else { b'a' };
    let r = w.send(Request::new("GET", "/api/me").with_header(
        "cookie",
        &format!("{SESSION}={}", String::from_utf8(v).unwrap()),
    ));
    assert_eq!(r.status, 401);
}

#[test]
fn refused_consent_returns_with_access_denied() {
    let w = World::new();
    let mut jar = Jar::default();
    let start = w.get("/oauth/login?scope=snsapi_userinfo&return_to=/after%23frag");
    jar.absorb(&start);
    let cb = w.authorize(&location(&start), "&sim_decision=deny");
    assert!(query_of(&cb, "code").is_none());
    let done = w.send(jar.on(Request::new("GET", cb.strip_prefix(PUBLIC_URL).unwrap())));
    assert_eq!(done.status, 302);
    assert_eq!(
        location(&done),
        "https://m.example.com/after?wxmp_error=access_denied#frag"
    );
    let set: Vec<&str> = done
        .headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(set.len(), 1, "only the login cookie is cleared: {set:?}");
    assert!(set[0].starts_with("__Host-wxmp_login_") && set[0].contains("Max-Age=0"));
    assert_eq!(w.sim.calls("/sns/oauth2/access_token"), 0);
}

#[test]
fn wechat_errors_on_exchange_return_with_their_errcode() {
    let w = World::new();
    for (errcode, expected) in [(40163, "40163"), (40029, "40029")] {
        w.sim.inject(
            "/sns/oauth2/access_token",
            wxmp_sim::Fault::Errcode {
                errcode,
                errmsg: None,
            },
            1,
        );
        let (_, done) = w.login("snsapi_base", "/x");
        assert_eq!(
            location(&done),
            format!("https://m.example.com/x?wxmp_error={expected}")
        );
    }
    for (fault, expected) in [
        (wxmp_sim::Fault::Drop, "upstream_unreachable"),
        (wxmp_sim::Fault::Delay { ms: 10_000 }, "upstream_timeout"),
        (
            wxmp_sim::Fault::Status { status: 502 },
            "upstream_bad_answer",
        ),
    ] {
        w.sim.inject("/sns/oauth2/access_token", fault, 2);
        let (_, done) = w.login("snsapi_base", "/x");
        assert_eq!(
            location(&done),
            format!("https://m.example.com/x?wxmp_error={expected}")
        );
        w.sim.clear_faults();
    }
}

#[test]
fn state_must_be_signed_fresh_bound_and_unused() {
    let w = World::new();
    let mut jar = Jar::default();
    let start = w.get("/oauth/login");
    jar.absorb(&start);
    let cb = w.authorize(&location(&start), "");
    let path = cb.strip_prefix(PUBLIC_URL).unwrap().to_owned();
    let state = query_of(&cb, "state").unwrap();
    let code = query_of(&cb, "code").unwrap();
    let invalid = |r: &wxmp::http::Response| r.status == 400 && json(r)["error"] == "invalid_state";

    // Tampered.
    let mut t = state.clone().into_bytes();
    t[10] = if t[10] == b'0' { b'1' } else { b'0' };
    assert!(invalid(&w.send(jar.on(Request::new(
        "GET",
        &format!(
            "/oauth/callback?code={code}&state={}",
            String::from_utf8(t).unwrap()
        )
    )))));
    // Missing.
    assert!(invalid(&w.send(jar.on(Request::new(
        "GET",
        &format!("/oauth/callback?code={code}")
    )))));
    // Unbound: another browser (no cookie, a forged one under the right
    // name, another login's cookie under this login's name, or this
    // login's cookie under a plain name, as a sibling subdomain would toss it).
    let name = jar
        .0
        .keys()
        .find(|k| k.starts_with("__Host-wxmp_login_"))
        .unwrap()
        .clone();
    let value = jar.0[&name].clone();
    assert!(invalid(&w.send(Request::new("GET", &path))));
    let mut other = Jar::default();
    other.absorb(&w.get("/oauth/login"));
    let (_, other_value) = other.0.iter().next().unwrap();
    for cookie in [
        format!("{name}={}", "a".repeat(64)),
        format!("{name}={other_value}"),
        format!("{}={value}", name.trim_start_matches("__Host-")),
    ] {
        assert!(
            invalid(&w.send(Request::new("GET", &path).with_header("cookie", &cookie))),
            "{cookie}"
        );
    }
    // The real one works once...
    assert_eq!(w.send(jar.on(Request::new("GET", &path))).status, 302);
    // ...and never again (replay).
    assert!(invalid(&w.send(jar.on(Request::new("GET", &path)))));
    assert_eq!(w.sim.calls("/sns/oauth2/access_token"), 1);

    // Expired: ten minutes and a second later.
    let start = w.send(jar.on(Request::new("GET", "/oauth/login")));
    let cb = w.authorize(&location(&start), "");
    w.clock.advance(601_000);
    assert!(invalid(&w.send(
        jar.on(Request::new("GET", cb.strip_prefix(PUBLIC_URL).unwrap()))
    )));
}

#[test]
fn two_tabs_log_in_side_by_side_with_their_own_cookies() {
    let w = World::new();
    let mut jar = Jar::default();
    let a = w.get("/oauth/login?return_to=/a");
    jar.absorb(&a);
    let b = w.send(jar.on(Request::new("GET", "/oauth/login?return_to=/b")));
    jar.absorb(&b);
    let (cb_a, cb_b) = (
        w.authorize(&location(&a), ""),
        w.authorize(&location(&b), ""),
    );
    assert_eq!(
        location(&w.send(jar.on(Request::new("GET", cb_a.strip_prefix(PUBLIC_URL).unwrap())))),
        "https://m.example.com/a"
    );
    assert_eq!(
        location(&w.send(jar.on(Request::new("GET", cb_b.strip_prefix(PUBLIC_URL).unwrap())))),
        "https://m.example.com/b"
    );
}

#[test]
fn logout_is_same_origin_only() {
    let w = World::new();
    let (jar, _) = w.login("snsapi_base", "/");
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("referer", "https://m.example.com.evil/page"),
    ] {
        let r = w.send(
            jar.on(Request::new("POST", "/api/logout"))
                .with_header(name, value),
        );
        assert_eq!(
            (r.status, json(&r)["error"].as_str()),
            (403, Some("cross_origin")),
            "{name}: {value}"
        );
    }
    assert_eq!(
        w.send(jar.on(Request::new("POST", "/api/logout"))).status,
        403,
        "no Origin or Referer"
    );
    assert_eq!(
        w.send(jar.on(Request::new("GET", "/api/me"))).status,
        200,
        "still logged in"
    );

    let r = w.send(
        jar.on(Request::new("POST", "/api/logout"))
            .with_header("origin", "https://m.example.com"),
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("set-cookie"),
        Some("__Host-wxmp_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0; Secure")
    );
    assert_eq!(
        w.send(jar.on(Request::new("GET", "/api/me"))).status,
        401,
        "the old cookie is dead server-side"
    );
    let r = w.send(
        Request::new("POST", "/api/logout").with_header("referer", "http://localhost:3000/x"),
    );
    assert_eq!(r.status, 204, "logout without a session is fine");
}

fn check_signature(w: &World, cfg: &serde_json::Value, page: &str) {
    let ticket = JsapiTicket::new(
        w.sim
            .current_ticket(w.now_ms())
            .expect("a ticket was issued"),
    );
    let expected = jssdk::signature(
        &ticket,
        cfg["nonceStr"].as_str().unwrap(),
        cfg["timestamp"].as_u64().unwrap(),
        page,
    );
    assert_eq!(cfg["signature"], expected);
    assert_eq!(cfg["appId"], w.sim.config().app_id);
    assert_eq!(cfg["timestamp"].as_u64().unwrap(), w.now_ms() / 1000);
    assert_eq!(cfg["nonceStr"].as_str().unwrap().len(), 16);
}

#[test]
fn jssdk_config_signs_the_page_without_its_fragment() {
    let w = World::new();
    let page = "https://m.example.com/p?x=1&y=%E4%BD%A0";
    let enc: String =
        url::form_urlencoded::byte_serialize(format!("{page}#/spa/route").as_bytes()).collect();
    let r = w.get(&format!("/jssdk/config?url={enc}"));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    check_signature(&w, &json(&r), page);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    // POST form, same ticket, no new upstream calls.
    let r = w.send(
        Request::new("POST", "/jssdk/config")
            .with_body(serde_json::json!({"url": "http://localhost:3000/"}).to_string()),
    );
    assert_eq!(r.status, 200);
    check_signature(&w, &json(&r), "http://localhost:3000/");
    assert_eq!(
        (
            w.sim.calls("/cgi-bin/stable_token"),
            w.sim.calls("/cgi-bin/ticket/getticket")
        ),
        (1, 1)
    );
}

#[test]
fn jssdk_config_refuses_bad_urls_before_any_upstream_call() {
    let w = World::new();
    for bad in [
        "https%3A%2F%2Fevil.example%2F",
        "%2Frelative",
        "javascript%3Aalert(1)",
        "https%3A%2F%2Fm.example.com%3A444%2F",
    ] {
        let r = w.get(&format!("/jssdk/config?url={bad}"));
        assert_eq!(
            (r.status, json(&r)["error"].as_str()),
            (400, Some("invalid_url")),
            "{bad}"
        );
    }
    let r = w.get("/jssdk/config");
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (400, Some("invalid_url"))
    );
    let r = w.send(Request::new("POST", "/jssdk/config").with_body("{not json"));
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (400, Some("invalid_json"))
    );
    assert!(w.sim.all_calls().is_empty());
}

#[test]
fn api_token_needs_the_admin_key() {
    let w = World::new();
    for auth in [
        None,
        Some("Bearer wrong-key-0123456789"),
        Some("Basic YWRtaW4="),
        Some("Bearer"),
    ] {
        let mut req = Request::new("GET", "/api/token");
        if let Some(a) = auth {
            req = req.with_header("authorization", a);
        }
        let r = w.send(req);
        assert_eq!(
            (r.status, json(&r)["error"].as_str()),
            (401, Some("unauthorized")),
            "{auth:?}"
        );
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    }
    let r = w.send(
        Request::new("GET", "/api/token")
            .with_header("authorization", &format!("bearer {ADMIN_KEY}")),
    );
    assert_eq!(r.status, 200);
    let body = json(&r);
    assert!(body["access_token"]
        .as_str()
        .unwrap()
        .starts_with("ACCESS_TOKEN_"));
    assert_eq!(body["expires_in"], 7200);
    w.clock.advance(100_000);
    let r = w.send(
        Request::new("GET", "/api/token")
            .with_header("authorization", &format!("Bearer {ADMIN_KEY}")),
    );
    assert_eq!(
        json(&r)["expires_in"],
        7100,
        "remaining seconds, from the cache"
    );
    assert_eq!(w.sim.calls("/cgi-bin/stable_token"), 1);

    let unset = World::with_clock(TestClock::manual(0), |v| {
        v.remove("admin_key");
    });
    let r = unset.send(
        Request::new("GET", "/api/token")
            .with_header("authorization", &format!("Bearer {ADMIN_KEY}")),
    );
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (404, Some("not_found"))
    );
}

#[test]
fn storage_failure_is_503_json() {
    let w = World::new();
    w.kv.down.store(true, std::sync::atomic::Ordering::SeqCst);
    // Starting a login stores nothing, so it works without the store...
    let mut jar = Jar::default();
    let start = w.get("/oauth/login");
    assert_eq!(start.status, 302);
    jar.absorb(&start);
    let cb = w.authorize(&location(&start), "");
    // ...and finishing one (the state is consumed in the store) does not.
    let callback = w.send(jar.on(Request::new("GET", cb.strip_prefix(PUBLIC_URL).unwrap())));
    for r in [
        callback,
        w.get("/jssdk/config?url=https%3A%2F%2Fm.example.com%2F"),
    ] {
        assert_eq!(
            (r.status, json(&r)["error"].as_str()),
            (503, Some("storage"))
        );
        assert_eq!(r.header("retry-after"), Some("1"));
    }
}

#[test]
fn no_secret_reaches_a_response_or_a_log_line() {
    let w = World::new();
    let (jar, _) = w.login("snsapi_userinfo", "/");
    let mut bodies = Vec::new();
    for req in [
        Request::new("GET", "/api/me"),
        Request::new("GET", "/jssdk/config?url=https%3A%2F%2Fm.example.com%2F"),
        Request::new("GET", "/healthz"),
        Request::new("GET", "/oauth/login"),
    ] {
        let r = w.send(jar.on(req));
        bodies.push(format!(
            "{:?} {}",
            r.headers,
            String::from_utf8_lossy(&r.body)
        ));
    }
    let token =
        w.kv.raw(&format!("wxmp:{}:token", w.sim.config().app_id))
            .unwrap();
    let token: serde_json::Value = serde_json::from_slice(&token).unwrap();
    let ticket = w.sim.current_ticket(w.now_ms()).unwrap();
    let secrets = [
        w.sim.config().app_secret.clone(),
        SESSION_SECRET.to_owned(),
        token["value"].as_str().unwrap().to_owned(),
        ticket,
    ];
    let logs = w.logs.0.lock().unwrap().clone();
    assert!(!logs.is_empty());
    for s in &secrets {
        for b in &bodies {
            assert!(!b.contains(s.as_str()), "secret in a response: {b}");
        }
        for l in &logs {
            assert!(!l.contains(s.as_str()), "secret in a log line: {l}");
        }
    }
}

#[test]
fn wxmp_js_is_served_with_caching_headers() {
    let w = World::new();
    let r = w.get("/wxmp.js");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(r.header("cache-control"), Some("public, max-age=3600"));
    assert!(String::from_utf8_lossy(&r.body).contains("root.wxmp = wxmp;"));
    let etag = r.header("etag").unwrap().to_owned();
    let again = w.send(Request::new("GET", "/wxmp.js").with_header("if-none-match", &etag));
    assert_eq!((again.status, again.body.len()), (304, 0));
    let module = w.get("/wxmp.mjs");
    let module_text = String::from_utf8_lossy(&module.body).into_owned();
    // The module exports every function of the object, by name.
    let script = String::from_utf8_lossy(&r.body).into_owned();
    let methods: Vec<&str> = script
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_suffix(": function (options) {")
                .or_else(|| l.trim().strip_suffix(": function () {"))
        })
        .chain(
            script
                .contains("signingUrl: signingUrl")
                .then_some("signingUrl"),
        )
        .collect();
    assert!(methods.len() >= 8, "{methods:?}");
    let exports = module_text
        .lines()
        .find_map(|l| {
            l.strip_prefix("export const { ")?
                .strip_suffix(" } = globalThis.wxmp;")
        })
        .unwrap();
    let mut exported: Vec<&str> = exports.split(", ").collect();
    let mut methods = methods;
    exported.sort_unstable();
    methods.sort_unstable();
    assert_eq!(exported, methods);
    assert_ne!(module.header("etag").unwrap(), etag);
    assert_eq!(w.send(Request::new("POST", "/wxmp.js")).status, 405);
}

#[test]
fn the_demo_page_is_off_unless_enabled() {
    assert_eq!(World::new().get("/").status, 404);
    let w = World::with_clock(TestClock::manual(0), |v| {
        v.insert("demo".into(), "true".into());
        v.insert(
            "jssdk_script_url".into(),
            "http://sim.test/open/js/jweixin-1.6.0.js".into(),
        );
    });
    for path in ["/", "/spa/route-1?tab=1"] {
        let r = w.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        let html = String::from_utf8_lossy(&r.body);
        assert!(
            html.contains(r#"<script src="http://sim.test/open/js/jweixin-1.6.0.js"></script>"#)
        );
        assert!(html.contains(r#"<script src="/wxmp.js"></script>"#));
    }
    let bad = World::with_clock(TestClock::manual(0), |v| {
        v.insert("demo".into(), "yes".into());
    });
    assert_eq!(
        json(&bad.get("/"))["message"],
        "configuration: demo: must be one of \"false\", \"true\""
    );
}
