//! The key-value calls each warm route makes, pinned: under Spin the store
//! is Spin's (SQLite by default, Redis across hosts), so every call is a
//! round trip the component pays for; a new one must be a decision, not an
//! accident. Counts are `(get, set, delete, increment)` for one request
//! once caches are warm.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod support;

use support::*;
use wxmp::http::Request;

const PAGE: &str = "/jssdk/config?url=https%3A%2F%2Fm.example.com%2F";

/// The calls `req` makes, sent twice first so every cache is warm.
fn warm_calls(w: &World, req: impl Fn() -> Request) -> (u64, u64, u64, u64) {
    for _ in 0..2 {
        w.send(req());
    }
    let before = w.kv.calls.snapshot();
    let r = w.send(req());
    assert!(
        r.status < 400,
        "status {}: {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    let after = w.kv.calls.snapshot();
    (
        after.0 - before.0,
        after.1 - before.1,
        after.2 - before.2,
        after.3 - before.3,
    )
}

fn bearer(req: Request) -> Request {
    req.with_header("authorization", &format!("Bearer {ADMIN_KEY}"))
}

#[test]
fn each_warm_route_makes_the_calls_it_needs_and_no_more() {
    let w = World::new();
    // The ticket, read once: no token read (the ticket stands on its own).
    assert_eq!(
        warm_calls(&w, || Request::new("GET", PAGE)),
        (1, 0, 0, 0),
        "GET /jssdk/config"
    );
    let post = || {
        Request::new("POST", "/jssdk/config")
            .with_header("content-type", "application/json")
            .with_body(r#"{"url":"https://m.example.com/"}"#)
    };
    assert_eq!(warm_calls(&w, post), (1, 0, 0, 0), "POST /jssdk/config");
    // Server verification is a signature check only.
    let sig = wxmp::core::verify::sorted_sha1(&[SERVER_TOKEN, "1700000000", "n1"]);
    let verify = format!("/wx?signature={sig}&timestamp=1700000000&nonce=n1&echostr=e");
    assert_eq!(
        warm_calls(&w, || Request::new("GET", &verify)),
        (0, 0, 0, 0),
        "GET /wx"
    );
    // The session record, read once.
    let (jar, _) = w.login("snsapi_base", "/");
    assert_eq!(
        warm_calls(&w, || jar.on(Request::new("GET", "/api/me"))),
        (1, 0, 0, 0),
        "GET /api/me"
    );
    // The token, read once; nothing else.
    let ips = || bearer(Request::new("GET", "/api/wechat/cgi-bin/getcallbackip"));
    assert_eq!(warm_calls(&w, ips), (1, 0, 0, 0), "gateway");
    assert_eq!(
        warm_calls(&w, || bearer(Request::new("GET", "/api/token"))),
        (1, 0, 0, 0),
        "GET /api/token"
    );
    // The refused-IP record: what makes /healthz name a 40164.
    assert_eq!(
        warm_calls(&w, || Request::new("GET", "/healthz")),
        (1, 0, 0, 0),
        "GET /healthz"
    );
    // Token, ticket, their two lease holders, the forced-refresh log, the refused IP.
    assert_eq!(
        warm_calls(&w, || bearer(Request::new("GET", "/api/status"))),
        (6, 0, 0, 0),
        "GET /api/status"
    );
    assert!(w.kv.violations.lock().unwrap().is_empty());
}
