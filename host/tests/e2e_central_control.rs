//! The shared token cache across requests, processes and restarts: exact
//! upstream call counts at the simulator.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod common;

use std::net::SocketAddr;

use common::*;

/// `n` concurrent `GET /jssdk/config`, spread over `hosts`; returns statuses.
fn burst(hosts: &[SocketAddr], n: usize) -> Vec<u16> {
    let path = format!("/jssdk/config?url={}", enc("https://m.example.com/page"));
    let barrier = std::sync::Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (addr, path, barrier) = (hosts[i % hosts.len()], &path, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    request(addr, "GET", path, &[], b"").status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn fetches(sim: &SimHandle) -> (u64, u64) {
    (
        sim.calls("/cgi-bin/stable_token"),
        sim.calls("/cgi-bin/ticket/getticket"),
    )
}

#[test]
fn cold_burst_of_200_fetches_token_and_ticket_once() {
    let sim = SimHandle::start();
    let host = Host::start(HostConfig::new(&sim, Store::Memory));
    let statuses = burst(&[host.addr], 200);
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert_eq!(fetches(&sim), (1, 1));
}

#[test]
fn two_hosts_sharing_redis_fetch_once_and_share_sessions() {
    let redis = Redis::start();
    let sim = SimHandle::start();
    let a = Host::start(HostConfig::new(&sim, Store::Redis(redis.url.clone())));
    let b = Host::start(HostConfig::new(&sim, Store::Redis(redis.url.clone())));
    let statuses = burst(&[a.addr, b.addr], 200);
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert_eq!(fetches(&sim), (1, 1));

    // A session opened through host A is valid on host B.
    let mut browser = Browser::new(&a);
    assert_eq!(
        browser
            .login("scope=snsapi_userinfo", "&sim_decision=allow")
            .status,
        302
    );
    let cookie = browser.jar.header();
    let me = b.send("GET", "/api/me", &[("cookie", &cookie)], b"");
    assert_eq!(me.status, 200);
    assert_eq!(
        me.json()["openid"],
        sim.sim.config().users[0].openid.as_str()
    );
    // And a logout on B ends it on A.
    assert_eq!(
        b.send(
            "POST",
            "/api/logout",
            &[("cookie", &cookie), ("origin", "https://m.example.com")],
            b""
        )
        .status,
        204
    );
    assert_eq!(
        a.send("GET", "/api/me", &[("cookie", &cookie)], b"").status,
        401
    );
}

#[test]
fn restart_on_sqlite_keeps_the_cache() {
    let dir = temp_dir("e2e-sqlite");
    let db = dir.path().join("kv.db");
    let sim = SimHandle::start();
    let first = Host::start(HostConfig::new(&sim, Store::Sqlite(db.clone())));
    let page = format!("/jssdk/config?url={}", enc("https://m.example.com/"));
    assert_eq!(first.get(&page).status, 200);
    let log = first.stop();
    assert!(
        log.contains("shutting down"),
        "graceful stop logged:\n{log}"
    );
    let second = Host::start(HostConfig::new(&sim, Store::Sqlite(db)));
    assert_eq!(second.get(&page).status, 200);
    assert_eq!(fetches(&sim), (1, 1), "no refetch after restart");
}
