//! What an operator sees, natively against wxmp-sim: `/api/status` for
//! known cache states (fresh, refresh-ahead due, a held failure, a forced
//! refresh), a 40164 naming the IP to allow until a fetch succeeds again,
//! `/api/diagnose` with WeChat's checks (and their faults), who may read
//! what, the sandbox panel's figures — and never a token.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod support;

use serde_json::Value;
use support::*;
use wxmp::http::{Request, Response};
use wxmp_sim::Fault;

const PAGE: &str = "/jssdk/config?url=https%3A%2F%2Fm.example.com%2F";
const OPS_KEY: &str = "ops-key-0123456789abcd";
const SHOP_KEY: &str = "shop-key-0123456789abc";

fn world() -> World {
    World::with_clock(TestClock::manual(1_700_000_000_000), |v| {
        v.insert(
            "api_clients".into(),
            serde_json::json!([
                {"name": "ops", "key": OPS_KEY, "allow": ["status"]},
                {"name": "shop", "key": SHOP_KEY, "allow": ["cgi-bin/message/"]}
            ])
            .to_string(),
        );
    })
}

fn get(w: &World, path: &str, key: &str) -> Response {
    w.send(Request::new("GET", path).with_header("authorization", &format!("Bearer {key}")))
}

fn status(w: &World) -> Value {
    let r = get(w, "/api/status", ADMIN_KEY);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    json(&r)
}

#[test]
fn status_follows_the_token_through_its_life() {
    let w = world();
    let s = status(&w);
    assert_eq!(s["access_token"]["cached"], false);
    assert_eq!(
        s["summary"],
        "no access_token yet; the first request that needs one fetches it"
    );
    assert_eq!(
        (s["store"]["reachable"].as_bool(), s["mount"].as_str()),
        (Some(true), Some("/"))
    );
    assert_eq!(s["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(s["problems"], serde_json::json!([]));

    assert_eq!(w.get(PAGE).status, 200);
    w.clock.advance(100_000);
    let s = status(&w);
    let t = &s["access_token"];
    assert_eq!(
        (
            t["usable"].as_bool(),
            t["fetches"].as_u64(),
            t["age_s"].as_u64()
        ),
        (Some(true), Some(1), Some(100))
    );
    assert_eq!(
        (t["expires_in"].as_u64(), t["refresh_in"].as_u64()),
        (Some(7100), Some(6800))
    );
    assert_eq!(t["refresh_at"].as_u64(), Some(1_700_000_000 + 6900));
    assert_eq!(s["jsapi_ticket"]["fetches"], 1);
    assert_eq!(
        s["summary"],
        "access_token healthy, 7100 s left; refreshed ahead of expiry in 6800 s"
    );

    // Inside the last five minutes: due, and the next request refreshes it.
    w.clock.advance(6_850_000);
    let s = status(&w);
    assert_eq!(s["access_token"]["refresh_in"], 0);
    assert!(s["summary"]
        .as_str()
        .unwrap()
        .contains("the next request refreshes it"));
    assert_eq!(w.get(PAGE).status, 200);
    let s = status(&w);
    assert_eq!(
        (
            s["access_token"]["fetches"].as_u64(),
            s["access_token"]["age_s"].as_u64()
        ),
        (Some(2), Some(0))
    );
}

#[test]
fn a_failed_fetch_is_held_and_shown() {
    let w = world();
    w.sim.inject(
        "/cgi-bin/stable_token",
        Fault::Errcode {
            errcode: -1,
            errmsg: None,
        },
        1,
    );
    assert_eq!(w.get(PAGE).status, 502);
    let held = &status(&w)["access_token"]["held_failure"];
    assert_eq!(
        (held["kind"].as_str(), held["errcode"].as_i64()),
        (Some("upstream"), Some(-1))
    );
    assert_eq!(
        held["until"].as_u64(),
        Some(1_700_000_001),
        "system errors are held for 1 s"
    );
    assert!(status(&w)["summary"]
        .as_str()
        .unwrap()
        .starts_with("the last token fetch failed (errcode -1)"));
}

#[test]
fn forced_refreshes_are_counted_against_the_daily_limit() {
    let w = world();
    assert_eq!(w.get(PAGE).status, 200);
    assert_eq!(status(&w)["forced_refreshes"]["today"], 0);
    // WeChat rejects the token while stable_token keeps handing it back.
    w.sim.inject(
        "/cgi-bin/getcallbackip",
        Fault::Errcode {
            errcode: 40001,
            errmsg: None,
        },
        1,
    );
    let r = get(&w, "/api/wechat/cgi-bin/getcallbackip", ADMIN_KEY);
    assert_eq!(r.status, 200);
    let f = &status(&w)["forced_refreshes"];
    assert_eq!(
        (
            f["today"].as_u64(),
            f["limit"].as_u64(),
            f["last_at"].as_u64()
        ),
        (Some(1), Some(10), Some(1_700_000_000))
    );
}

#[test]
fn an_ip_wechat_refuses_is_named_until_a_fetch_succeeds() {
    let w = world();
    w.sim
        .inject("/cgi-bin/stable_token", Fault::IpNotAllowed, 1);
    let r = w.get(PAGE);
    assert_eq!((r.status, json(&r)["errcode"].as_i64()), (502, Some(40164)));
    let health = json(&w.get("/healthz"));
    assert_eq!(
        (health["status"].as_str(), health["ip_not_allowed"].as_str()),
        (Some("degraded"), Some(EGRESS_IP))
    );
    assert_eq!(
        health["problems"][0],
        format!("ip_not_allowed: WeChat refused this server's IP {EGRESS_IP}; add it to the IP allow-list in the WeChat admin console")
    );
    let s = status(&w);
    assert_eq!(s["ip_not_allowed"]["ip"], EGRESS_IP);
    assert!(s["summary"]
        .as_str()
        .unwrap()
        .contains(&format!("add {EGRESS_IP} to the account's IP allow-list")));
    let logs = w.logs.0.lock().unwrap().join("\n");
    assert!(logs.contains("基本配置 → IP白名单"), "{logs}");
    assert_eq!(
        w.sim.calls("/cgi-bin/stable_token"),
        1,
        "/healthz and /api/status never call WeChat"
    );

    // A human fixes the allow-list; after the 30 s hold the next fetch works.
    w.clock.advance(31_000);
    assert_eq!(w.get(PAGE).status, 200);
    assert_eq!(
        json(&w.get("/healthz")),
        serde_json::json!({"status": "ok"})
    );
    assert!(status(&w)["ip_not_allowed"].is_null());
}

#[test]
fn diagnose_runs_wechats_checks_and_reports_each() {
    let w = world();
    let r = get(&w, "/api/diagnose", ADMIN_KEY);
    assert_eq!(r.status, 200);
    let d = json(&r);
    assert_eq!(d["ok"], true, "{d}");
    let checks = d["checks"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["api_domain_ip", "callback_ip", "callback_check"]);
    assert_eq!(
        checks[0]["ips"],
        serde_json::json!(w.sim.config().api_domain_ips)
    );
    assert_eq!(
        checks[1]["ips"],
        serde_json::json!(w.sim.config().callback_ips)
    );
    assert!(checks[2]["detail"].as_str().unwrap().starts_with(&format!(
        "resolves to {} (",
        w.sim.config().callback_server_ip
    )));

    w.sim.set_callback_reachable(false);
    w.sim.inject(
        "/cgi-bin/get_api_domain_ip",
        Fault::Errcode {
            errcode: 45009,
            errmsg: None,
        },
        1,
    );
    let d = json(&get(&w, "/api/diagnose", ADMIN_KEY));
    assert_eq!(d["ok"], false);
    let checks = d["checks"].as_array().unwrap();
    assert_eq!(
        (checks[0]["ok"].as_bool(), checks[0]["errcode"].as_i64()),
        (Some(false), Some(45009))
    );
    assert_eq!(
        checks[1]["ok"], true,
        "one failing check does not hide the others"
    );
    assert_eq!(checks[2]["ok"], false);
    assert!(
        checks[2]["detail"].as_str().unwrap().contains("lost 100%"),
        "{}",
        checks[2]
    );

    w.sim.inject(
        "/cgi-bin/callback/check",
        Fault::Errcode {
            errcode: 40201,
            errmsg: None,
        },
        1,
    );
    let d = json(&get(&w, "/api/diagnose", ADMIN_KEY));
    assert_eq!(d["checks"][2]["errcode"], 40201);
}

#[test]
fn who_may_read_what() {
    let w = world();
    assert_eq!(get(&w, "/api/status", OPS_KEY).status, 200);
    assert_eq!(get(&w, "/api/status", SHOP_KEY).status, 403);
    assert_eq!(w.get("/api/status").status, 401);
    assert_eq!(
        get(&w, "/api/diagnose", OPS_KEY).status,
        403,
        "diagnosis costs API calls: admin only"
    );
    assert_eq!(w.get("/api/diagnose").status, 401);
    assert_eq!(w.sim.all_calls().values().sum::<u64>(), 0);
    assert_eq!(w.get("/api/demo/status").status, 404, "demo off");
    assert_eq!(
        w.send(Request::new("POST", "/api/demo/token-check")).status,
        404
    );
}

#[test]
fn status_as_a_page_and_never_a_token() {
    let w = world();
    assert_eq!(w.get(PAGE).status, 200);
    let r = w.send(
        Request::new("GET", "/api/status")
            .with_header("authorization", &format!("Bearer {ADMIN_KEY}"))
            .with_header("accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
    );
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("text/html; charset=utf-8"))
    );
    let page = String::from_utf8(r.body.clone()).unwrap();
    assert!(
        page.contains("<h1>wxmp status</h1>") && page.contains("access_token.expires_in"),
        "{page}"
    );
    let (token, _) = wxmp::flows::credentials::access_token(&w.env()).unwrap();
    let ticket = wxmp::flows::credentials::jsapi_ticket(&w.env()).unwrap();
    let diagnose = get(&w, "/api/diagnose", ADMIN_KEY);
    for answer in [
        &r,
        &get(&w, "/api/status", OPS_KEY),
        &diagnose,
        &w.get("/healthz"),
    ] {
        let text = String::from_utf8_lossy(&answer.body);
        assert!(
            !text.contains(token.secret()) && !text.contains(ticket.secret()),
            "{text}"
        );
    }
}

#[test]
fn the_sandbox_panel_sees_fetches_and_one_refetch() {
    let w = World::with_clock(TestClock::manual(1_700_000_000_000), |v| {
        v.insert("demo".into(), "true".into());
    });
    for _ in 0..5 {
        assert_eq!(w.get(PAGE).status, 200);
    }
    let s = json(&w.get("/api/demo/status"));
    assert_eq!(
        (
            s["access_token"]["fetches"].as_u64(),
            s["jsapi_ticket"]["fetches"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(
        (
            s["access_token"]["expires_in"].as_u64(),
            s["simulator"].as_str()
        ),
        (Some(7200), Some(API_BASE))
    );
    w.sim.revoke_tokens(w.now_ms());
    w.sim.inject(
        "/cgi-bin/getcallbackip",
        Fault::Errcode {
            errcode: 40001,
            errmsg: None,
        },
        1,
    );
    let r = w.send(Request::new("POST", "/api/demo/token-check"));
    assert_eq!(
        json(&r),
        serde_json::json!({"ok": true, "errcode": null, "access_token_fetches": 2})
    );
    let s = json(&w.get("/api/demo/status"));
    assert_eq!(s["access_token"]["fetches"], 2);
    assert!(!String::from_utf8_lossy(&w.get("/api/demo/status").body).contains("ACCESS_TOKEN_"));
}
