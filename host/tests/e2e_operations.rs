//! What an operator sees through wxmp-host: `/api/status` as JSON and as a
//! page, a 40164 naming the IP to allow in `/healthz` (the simulator names
//! the address the host called from, as WeChat does), and
//! `/api/diagnose` running WeChat's checks against the simulator.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod common;

use common::*;
use wxmp_sim::Fault;

fn admin_get(host: &Host, path: &str, accept: &str) -> Resp {
    host.send(
        "GET",
        path,
        &[
            ("authorization", &format!("Bearer {ADMIN_KEY}")),
            ("accept", accept),
        ],
        b"",
    )
}

#[test]
fn a_refused_ip_is_named_until_a_fetch_succeeds() {
    let sim = SimHandle::start();
    let host = Host::start(HostConfig::new(&sim, Store::Memory));
    sim.sim
        .inject("/cgi-bin/stable_token", Fault::IpNotAllowed, 1);
    let page = format!("/jssdk/config?url={}", enc("https://m.example.com/"));
    let r = host.get(&page);
    assert_eq!((r.status, r.json()["errcode"].as_i64()), (502, Some(40164)));
    let health = host.get("/healthz").json();
    assert_eq!(
        (health["status"].as_str(), health["ip_not_allowed"].as_str()),
        (Some("degraded"), Some("127.0.0.1"))
    );
    let status = admin_get(&host, "/api/status", "application/json").json();
    assert!(
        status["summary"]
            .as_str()
            .unwrap()
            .contains("add 127.0.0.1 to the account's IP allow-list"),
        "{status}"
    );
    assert!(host.wait_log("IP白名单"), "{}", host.log());
    let html = admin_get(&host, "/api/status", "text/html");
    assert_eq!(
        html.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(html.text().contains("127.0.0.1"));
    // (Recovery after the 30 s hold is tests/operations.rs's, on a test clock.)
}

#[test]
fn diagnose_reports_wechats_checks() {
    let sim = SimHandle::start();
    let host = Host::start(HostConfig::new(&sim, Store::Memory));
    let d = admin_get(&host, "/api/diagnose", "application/json").json();
    assert_eq!(d["ok"], true, "{d}");
    assert_eq!(
        d["checks"][1]["ips"],
        serde_json::json!(sim.sim.config().callback_ips)
    );
    sim.sim.set_callback_reachable(false);
    let d = admin_get(&host, "/api/diagnose", "application/json").json();
    assert_eq!(
        (d["ok"].as_bool(), d["checks"][2]["ok"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(
        (
            sim.calls("/cgi-bin/get_api_domain_ip"),
            sim.calls("/cgi-bin/getcallbackip"),
            sim.calls("/cgi-bin/callback/check")
        ),
        (2, 2, 2)
    );
}
