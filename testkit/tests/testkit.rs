//! The kit against itself: the client sends what it is given and reports
//! what comes back, the server records it, the jar and the store keep
//! their rules.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

use std::sync::atomic::Ordering;

use wxmp::core::keys::Keys;
use wxmp::core::types::AppId;
use wxmp::ports::KeyValue;
use wxmp_testkit::http::{request, try_request, Jar, Resp};
use wxmp_testkit::kv::MemKv;
use wxmp_testkit::server::{json_reply, Server};

#[test]
fn any_method_headers_and_body_go_out_and_statuses_come_back_as_they_are() {
    let server = Server::start(|r| match r.path.as_str() {
        "/moved" => Resp {
            status: 302,
            headers: vec![("location".into(), "/elsewhere".into())],
            body: Vec::new(),
        },
        _ => json_reply(418, r#"{"teapot":true}"#),
    });
    let r = request(
        server.addr(),
        "PURGE",
        "/x?y=1",
        &[("x-custom", "yes")],
        b"payload",
    );
    assert_eq!((r.status, r.json()["teapot"].as_bool()), (418, Some(true)));
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    let got = &server.received()[0];
    assert_eq!(
        (got.method.as_str(), got.path.as_str(), &got.body[..]),
        ("PURGE", "/x?y=1", &b"payload"[..])
    );
    assert!(got.headers.contains(&("x-custom".into(), "yes".into())));

    let moved = request(server.addr(), "GET", "/moved", &[], b"");
    assert_eq!((moved.status, moved.location()), (302, "/elsewhere".into()));
    assert_eq!(server.count(), 2, "the redirect was not followed");
}

#[test]
fn a_closed_port_is_an_error_not_a_panic() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert!(try_request(addr, "GET", "/", &[], b"").is_err());
}

#[test]
fn the_jar_keeps_set_cookies_and_forgets_cleared_ones() {
    let mut jar = Jar::default();
    jar.absorb_headers([
        ("set-cookie", "a=1; Path=/; HttpOnly"),
        ("set-cookie", "b=2"),
        ("set-cookie", "malformed"),
        ("x-other", "c=3"),
    ]);
    assert_eq!(jar.0.len(), 2);
    jar.absorb_headers([("set-cookie", "a=; Max-Age=0")]);
    assert_eq!(jar.header(), "b=2");
}

#[test]
fn the_store_counts_only_on_counters_and_can_go_down() {
    let kv = MemKv::default();
    let keys = Keys::new(&AppId::new("wx1"));
    let (counter, record) = (keys.force_log(), keys.session("s1"));
    assert_eq!(kv.increment(&counter, 2).unwrap(), 2);
    assert_eq!(kv.increment(&counter, -1).unwrap(), 1);
    kv.set(&record, b"{}").unwrap();
    assert!(kv.increment(&record, 1).is_err());
    assert_eq!(*kv.violations.lock().unwrap(), [record.as_str()]);
    assert_eq!(kv.raw(record.as_str()), Some(b"{}".to_vec()));

    kv.down.store(true, Ordering::SeqCst);
    assert!(kv.get(&counter).is_err());
    kv.down.store(false, Ordering::SeqCst);
    kv.delete(&record).unwrap();
    assert_eq!(kv.keys(), [counter.as_str()]);
}
