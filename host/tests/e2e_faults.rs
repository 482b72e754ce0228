//! Faults through wxmp-host: the store going away and coming back, WeChat's
//! main API host unreachable, and a lease holder dying mid-refresh.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod common;

use std::time::{Duration, Instant};

use common::*;

fn page_path() -> String {
    format!("/jssdk/config?url={}", enc("https://m.example.com/"))
}

fn signature_ok(sim: &SimHandle, r: &Resp) -> bool {
    let cfg = r.json();
    let Some(ticket) = sim.sim.current_ticket(SimHandle::now_ms()) else {
        return false;
    };
    cfg["signature"].as_str()
        == Some(&jssdk_signature(
            &ticket,
            cfg["nonceStr"].as_str().unwrap_or(""),
            cfg["timestamp"].as_u64().unwrap_or(0),
            "https://m.example.com/",
        ))
}

#[test]
fn redis_outage_is_503_json_and_service_recovers_when_it_returns() {
    let port = free_port();
    let redis = Redis::start_on(port);
    let sim = SimHandle::start();
    let host = Host::start(HostConfig::new(&sim, Store::Redis(redis.url.clone())));
    let ok = host.get(&page_path());
    assert_eq!(ok.status, 200);
    assert!(signature_ok(&sim, &ok));

    drop(redis);
    let started = Instant::now();
    let down = host.get(&page_path());
    assert_eq!(
        (down.status, down.json()["error"].as_str()),
        (503, Some("storage")),
        "{}",
        down.text()
    );
    assert_eq!(down.header("retry-after"), Some("1"));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered in {:?}",
        started.elapsed()
    );
    assert_eq!(
        host.get("/healthz").status,
        200,
        "health does not depend on the store"
    );

    let _back = Redis::start_on(port);
    let recovered = eventually(
        Duration::from_secs(30),
        "recovery after Redis returns",
        || {
            let r = host.get(&page_path());
            (r.status == 200).then_some(r)
        },
    );
    assert!(
        signature_ok(&sim, &recovered),
        "a correct signature after recovery"
    );
    // Redis came back empty (no persistence): one new token and ticket, no more.
    assert_eq!(
        (
            sim.calls("/cgi-bin/stable_token"),
            sim.calls("/cgi-bin/ticket/getticket")
        ),
        (2, 2)
    );
}

#[test]
fn an_unreachable_api_host_fails_over_to_api_fallback_base() {
    let sim = SimHandle::start();
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    let dead = format!("http://127.0.0.1:{}", free_port());
    cfg.vars.insert("api_base".into(), dead);
    cfg.vars.insert("api_fallback_base".into(), sim.url.clone());
    let host = Host::start(cfg);
    let r = host.admin_token();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(sim.calls("/cgi-bin/stable_token"), 1);
    assert!(
        host.wait_log(
            "/cgi-bin/stable_token failed (ErrorCode::ConnectionRefused); trying 127.0.0.1"
        ),
        "{}",
        host.log()
    );
}

#[test]
fn a_lease_holder_that_dies_mid_refresh_is_replaced_by_one_other_instance() {
    let redis = Redis::start();
    let sim = SimHandle::start();
    let mut a = Host::start(HostConfig::new(&sim, Store::Redis(redis.url.clone())));
    let b = Host::start(HostConfig::new(&sim, Store::Redis(redis.url.clone())));
    // A wins the election and hangs on a slow WeChat…
    sim.sim.inject(
        "/cgi-bin/stable_token",
        wxmp_sim::Fault::Delay { ms: 4_000 },
        1,
    );
    let a_addr = a.addr;
    let path = page_path();
    let waiting = std::thread::spawn(move || try_request(a_addr, "GET", &path, &[], b""));
    eventually(Duration::from_secs(5), "A to start fetching", || {
        (sim.calls("/cgi-bin/stable_token") == 1).then_some(())
    });
    // …and dies.
    a.kill();
    let _ = waiting.join();
    let started = Instant::now();
    let r = b.get(&page_path());
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(signature_ok(&sim, &r));
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(14),
        "B took over within the lease TTL (+ margin): {waited:?}"
    );
    assert_eq!(
        sim.calls("/cgi-bin/stable_token"),
        2,
        "exactly one other fetch"
    );
    assert!(b.wait_log("taking over"), "{}", b.log());
}
