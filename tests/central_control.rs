//! The access_token / jsapi_ticket central control, natively: single-flight
//! under real thread concurrency, refresh-ahead, invalid-token retries,
//! forced stable refreshes, failures that need a human, dead lease holders,
//! failover and time limits, all counted at the simulator.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod support;

use std::sync::atomic::Ordering;

use support::*;
use wxmp::core::cache::{LeaseHolder, LEASE_TTL_MS, WAIT_BUDGET_MS};
use wxmp::http::Request;
use wxmp_sim::Fault;

const PAGE: &str = "/jssdk/config?url=https%3A%2F%2Fm.example.com%2F";

fn token_req() -> Request {
    Request::new("GET", "/api/token").with_header("authorization", &format!("Bearer {ADMIN_KEY}"))
}

fn calls(w: &World) -> (u64, u64) {
    (
        w.sim.calls("/cgi-bin/stable_token"),
        w.sim.calls("/cgi-bin/ticket/getticket"),
    )
}

/// Makes the next `times` calls to `path` answer `errcode`.
fn fail_next(w: &World, path: &str, errcode: i64, times: u32) {
    w.sim.inject(
        path,
        Fault::Errcode {
            errcode,
            errmsg: None,
        },
        times,
    );
}

fn assert_no_counter_misuse(w: &World) {
    assert!(
        w.kv.violations.lock().unwrap().is_empty(),
        "increment on non-counter keys: {:?}",
        w.kv.violations.lock().unwrap()
    );
}

#[test]
fn cold_burst_across_instances_fetches_once() {
    let w = World::with_clock(TestClock::real(), |_| {});
    // A slow first fetch, so the other requests really pile up behind it.
    w.sim
        .inject("/cgi-bin/stable_token", Fault::Delay { ms: 150 }, 1);
    let instances: Vec<World> = (0..64).map(|_| w.sibling()).collect();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = instances
            .iter()
            .map(|inst| s.spawn(move || inst.get(PAGE).status))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert_eq!(calls(&w), (1, 1));
    assert_no_counter_misuse(&w);
}

#[test]
fn warm_cache_makes_no_upstream_calls() {
    let w = World::new();
    assert_eq!(w.get(PAGE).status, 200);
    for _ in 0..20 {
        w.clock.advance(60_000);
        assert_eq!(w.get(PAGE).status, 200);
    }
    assert_eq!(calls(&w), (1, 1));
}

#[test]
fn refresh_ahead_fetches_once_inside_the_window_and_keeps_serving() {
    let w = World::new();
    assert_eq!(w.send(token_req()).status, 200);
    let first = json(&w.send(token_req()))["access_token"].clone();
    w.clock.advance((7200 - 299) * 1000);
    let r = json(&w.send(token_req()));
    assert_ne!(
        r["access_token"], first,
        "refreshed inside WeChat's rotation window"
    );
    assert_eq!(r["expires_in"], 7200);
    for _ in 0..5 {
        assert_eq!(
            json(&w.send(token_req()))["access_token"],
            r["access_token"]
        );
    }
    assert_eq!(w.sim.calls("/cgi-bin/stable_token"), 2);
}

#[test]
fn failed_refresh_ahead_keeps_the_valid_token() {
    let w = World::new();
    let first = json(&w.send(token_req()))["access_token"].clone();
    w.clock.advance((7200 - 200) * 1000);
    fail_next(&w, "/cgi-bin/stable_token", -1, 1);
    let r = w.send(token_req());
    assert_eq!(r.status, 200);
    assert_eq!(json(&r)["access_token"], first);
}

#[test]
fn a_failed_refresh_ahead_is_retried_after_the_failure_hold() {
    let w = World::new();
    let first = json(&w.send(token_req()))["access_token"].clone();
    w.clock.advance((7200 - 250) * 1000);
    fail_next(&w, "/cgi-bin/stable_token", -1, 1);
    assert_eq!(
        json(&w.send(token_req()))["access_token"],
        first,
        "failed: old token served"
    );
    assert_eq!(
        json(&w.send(token_req()))["access_token"],
        first,
        "within the hold: no retry"
    );
    assert_eq!(w.sim.calls("/cgi-bin/stable_token"), 2);
    w.clock.advance(1_000);
    let r = json(&w.send(token_req()));
    assert_ne!(
        r["access_token"], first,
        "retried after the hold, before expiry"
    );
    assert_eq!(w.sim.calls("/cgi-bin/stable_token"), 3);
}

#[test]
fn expired_cache_fetches_anew() {
    let w = World::new();
    assert_eq!(w.get(PAGE).status, 200);
    w.clock.advance(7201 * 1000);
    assert_eq!(w.get(PAGE).status, 200);
    assert_eq!(calls(&w), (2, 2));
}

#[test]
fn rejected_token_on_getticket_is_refetched_once_then_succeeds() {
    let w = World::new();
    fail_next(&w, "/cgi-bin/ticket/getticket", 40001, 1);
    let r = w.get(PAGE);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // stable_token: the first fetch, a normal one that hands back the same
    // (still valid at WeChat) token, then one forced refresh.
    assert_eq!(calls(&w), (3, 2));
    assert_eq!(w.sim.calls("/cgi-bin/token"), 0);
}

#[test]
fn forced_refreshes_are_rate_limited() {
    let w = World::new();
    fail_next(&w, "/cgi-bin/ticket/getticket", 40001, 3);
    let r = w.get(PAGE);
    assert_eq!(
        (r.status, json(&r)["errcode"].as_i64()),
        (502, Some(40001)),
        "retried once, then surfaced"
    );
    w.clock.advance(2_000);
    let r = w.get(PAGE);
    assert_eq!(
        (
            r.status,
            json(&r)["error"].as_str(),
            json(&r)["errcode"].as_i64()
        ),
        (502, Some("upstream"), Some(40001))
    );
    // Why goes to the log line that carries the answer's request id.
    assert!(json(&r).get("errmsg").is_none(), "{}", json(&r));
    let id = r.header("x-request-id").unwrap().to_owned();
    let logs = w.logs.0.lock().unwrap().clone();
    assert!(
        logs.iter()
            .any(|l| l.starts_with(&format!("request_id={id} "))
                && l.contains("errcode=40001")
                && l.contains("forced refresh is not allowed yet")),
        "{logs:#?}"
    );
    assert_eq!(calls(&w), (4, 3));
    // 30 s later a forced refresh is allowed again, and all is well.
    w.clock.advance(30_000);
    assert_eq!(w.get(PAGE).status, 200);
}

#[test]
fn classic_mode_refetches_a_rejected_token() {
    let w = World::with_clock(TestClock::manual(1_700_000_000_000), |v| {
        v.insert("token_mode".into(), "classic".into());
    });
    fail_next(&w, "/cgi-bin/ticket/getticket", 42001, 1);
    assert_eq!(w.get(PAGE).status, 200);
    assert_eq!(
        (
            w.sim.calls("/cgi-bin/token"),
            w.sim.calls("/cgi-bin/ticket/getticket")
        ),
        (2, 2)
    );
    assert_eq!(w.sim.calls("/cgi-bin/stable_token"), 0);
}

#[test]
fn errors_needing_a_human_are_surfaced_and_not_retried_in_a_loop() {
    for errcode in [40164, 40125, 40013] {
        let w = World::new();
        w.sim.inject(
            "/cgi-bin/stable_token",
            Fault::Errcode {
                errcode,
                errmsg: None,
            },
            100,
        );
        for _ in 0..10 {
            let r = w.send(token_req());
            assert_eq!(
                (r.status, json(&r)["errcode"].as_i64()),
                (502, Some(errcode))
            );
            w.clock.advance(1_000);
        }
        assert_eq!(
            w.sim.calls("/cgi-bin/stable_token"),
            1,
            "{errcode}: one call for 10 requests over 10 s"
        );
        w.clock.advance(30_000);
        w.send(token_req());
        assert_eq!(
            w.sim.calls("/cgi-bin/stable_token"),
            2,
            "{errcode}: retried after the hold"
        );
    }
}

#[test]
fn transient_errors_are_retried_after_a_second() {
    let w = World::new();
    fail_next(&w, "/cgi-bin/stable_token", -1, 1);
    let r = w.send(token_req());
    assert_eq!((r.status, json(&r)["errcode"].as_i64()), (502, Some(-1)));
    assert_eq!(
        w.send(token_req()).status,
        502,
        "held: same error without a call"
    );
    assert_eq!(w.sim.calls("/cgi-bin/stable_token"), 1);
    w.clock.advance(1_000);
    assert_eq!(w.send(token_req()).status, 200);
    assert_eq!(w.sim.calls("/cgi-bin/stable_token"), 2);
}

/// Plants what an instance leaves when it wins generation 0's token election
/// and then stops answering: the counter and its holder record.
fn plant_token_lease(w: &World, holder_id: &str) -> String {
    let app = w.sim.config().app_id.clone();
    w.kv.put(&format!("wxmp:{app}:lease:token:0"), &1i64.to_le_bytes());
    let holder = LeaseHolder {
        id: holder_id.into(),
        since_ms: w.now_ms(),
        failure: None,
    };
    w.kv.put(
        &format!("wxmp:{app}:holder:token:0"),
        &serde_json::to_vec(&holder).unwrap(),
    );
    app
}

#[test]
fn a_dead_lease_holder_is_taken_over_after_the_lease_ttl() {
    let w = World::new();
    plant_token_lease(&w, "dead");
    let started = w.now_ms();
    let r = w.send(token_req());
    assert_eq!(r.status, 200);
    let waited = w.now_ms() - started;
    assert!(
        (LEASE_TTL_MS..LEASE_TTL_MS + 1_000).contains(&waited),
        "waited {waited} ms"
    );
    assert_eq!(w.sim.calls("/cgi-bin/stable_token"), 1);
    assert!(w
        .logs
        .0
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("taking over")));
    assert_no_counter_misuse(&w);
}

#[test]
fn a_lease_holder_that_never_wrote_its_record_is_taken_over_too() {
    let w = World::new();
    let app = w.sim.config().app_id.clone();
    w.kv.put(&format!("wxmp:{app}:lease:ticket:0"), &1i64.to_le_bytes());
    assert_eq!(w.get(PAGE).status, 200);
    assert_eq!(calls(&w), (1, 1));
}

#[test]
fn waiters_give_up_with_busy_when_nobody_can_take_over() {
    let w = World::new();
    let app = plant_token_lease(&w, "slow");
    // Someone else already took the takeover slot (and is still working).
    w.kv.put(
        &format!("wxmp:{app}:lease:token:0:takeover:slow"),
        &1i64.to_le_bytes(),
    );
    let started = w.now_ms();
    let r = w.send(token_req());
    assert_eq!((r.status, json(&r)["error"].as_str()), (503, Some("busy")));
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(w.now_ms() - started <= WAIT_BUDGET_MS + 100);
    assert_eq!(w.sim.calls("/cgi-bin/stable_token"), 0);
}

#[test]
fn unreachable_api_host_fails_over_to_the_fallback() {
    let w = World::new();
    w.http.unreachable.lock().unwrap().insert("api.sim".into());
    assert_eq!(w.get(PAGE).status, 200);
    let hosts = w.http.hosts_called.lock().unwrap().clone();
    assert_eq!(hosts, ["api.sim", "api2.sim", "api.sim", "api2.sim"]);
    assert!(w
        .logs
        .0
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("trying api2.sim")));
}

#[test]
fn without_a_fallback_an_unreachable_host_is_502_unreachable() {
    let w = World::with_clock(TestClock::manual(1_700_000_000_000), |v| {
        v.insert("api_fallback_base".into(), "none".into());
    });
    w.http.unreachable.lock().unwrap().insert("api.sim".into());
    let r = w.send(token_req());
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (502, Some("upstream_unreachable"))
    );
}

#[test]
fn slow_upstream_is_cut_off_at_the_time_limit() {
    let w = World::new();
    w.sim
        .inject("/cgi-bin/stable_token", Fault::Delay { ms: 30_000 }, 1);
    let started = w.now_ms();
    let r = w.send(token_req());
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (504, Some("upstream_timeout"))
    );
    assert_eq!(
        w.now_ms() - started,
        4_500,
        "bounded by the total time limit"
    );
}

#[test]
fn server_errors_and_dropped_connections_are_502_with_their_own_codes() {
    let w = World::new();
    w.sim
        .inject("/cgi-bin/stable_token", Fault::Status { status: 502 }, 1);
    let r = w.send(token_req());
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (502, Some("upstream_bad_answer"))
    );
    assert!(json(&r).get("errcode").is_none());
    w.clock.advance(1_000);
    w.sim.inject("/cgi-bin/stable_token", Fault::Drop, 2);
    let r = w.send(token_req());
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (502, Some("upstream_unreachable"))
    );
}

#[test]
fn store_outage_then_recovery() {
    let w = World::new();
    w.kv.down.store(true, Ordering::SeqCst);
    assert_eq!(w.get(PAGE).status, 503);
    w.kv.down.store(false, Ordering::SeqCst);
    assert_eq!(w.get(PAGE).status, 200);
    assert_eq!(calls(&w), (1, 1));
}
