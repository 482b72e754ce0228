//! What an unauthenticated caller can make wxmp store: nothing per login it
//! starts, nothing per forged callback, a bounded ring of used states per
//! callback it finishes with its own valid state, and nothing that lasts.
//! Each key family's bound is in docs/operate.md; this floods the routes
//! and checks the store stays under them, with a real login in between.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod support;

use support::*;
use wxmp::flows::login::USED_STATE_SLOTS;
use wxmp::http::Request;

/// Bytes a used-state slot takes (key and value), with room.
const USED_SLOT_BYTES: usize = 120;
/// What one real login leaves: its session (profile) and its user's index.
const ONE_LOGIN_BYTES: usize = 2_048;

fn store_bytes(w: &World) -> usize {
    w.kv.keys()
        .iter()
        .map(|k| k.len() + w.kv.raw(k).map_or(0, |v| v.len()))
        .sum()
}

/// A real login to the end; returns the jar holding its session.
fn real_login(w: &World) -> Jar {
    let mut jar = Jar::default();
    let start = w.get("/oauth/login?scope=snsapi_base&return_to=/ok");
    jar.absorb(&start);
    let cb = w.authorize(&location(&start), "");
    let done = w.send(jar.on(Request::new("GET", cb.strip_prefix(PUBLIC_URL).unwrap())));
    assert_eq!(location(&done), "https://m.example.com/ok");
    jar.absorb(&done);
    assert_eq!(w.send(jar.on(Request::new("GET", "/api/me"))).status, 200);
    jar
}

#[test]
fn floods_of_logins_and_callbacks_leave_the_store_bounded() {
    let w = World::new();
    // 6 KB return_to (`/` + `中` percent-encoded 680 times): refused, nothing kept.
    let huge = format!("/{}", "%E4%B8%AD".repeat(680));
    // Just under the 1 KiB limit once resolved: accepted, still nothing kept.
    let long = format!("/{}", "a".repeat(900));
    for i in 0..100_000 {
        let return_to = if i % 2 == 0 { &huge } else { &long };
        let r = w.get(&format!(
            "/oauth/login?scope=snsapi_userinfo&return_to={return_to}"
        ));
        assert_eq!(r.status, if i % 2 == 0 { 400 } else { 302 }, "login {i}");
        if i == 50_000 {
            real_login(&w);
        }
    }
    assert_eq!(
        w.kv.keys()
            .iter()
            .filter(|k| !k.contains(":session")
                && !k.contains(":user-sessions")
                && !k.contains(":login-used"))
            .count(),
        0,
        "{:?}",
        w.kv.keys()
    );
    // 100,000 forged callbacks: refused before the store is touched.
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for i in 0..100_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let state = format!("{:016x}", seed).repeat(5);
        let r = w.get(&format!("/oauth/callback?code=c{i}&state={state}"));
        assert_eq!(
            (r.status, json(&r)["error"].as_str()),
            (400, Some("invalid_state"))
        );
    }
    // 10,000 callbacks with the attacker's own valid states and cookies
    // (bogus codes): each uses up its state, in bounded slots.
    for i in 0..10_000 {
        let mut jar = Jar::default();
        let start = w.get("/oauth/login");
        jar.absorb(&start);
        let state = query_of(&location(&start), "state").unwrap();
        let r = w.send(jar.on(Request::new(
            "GET",
            &format!("/oauth/callback?code=bogus{i}&state={state}"),
        )));
        assert_eq!(r.status, 302, "{i}");
    }
    let keys = w.kv.keys();
    let sessions = keys.iter().filter(|k| k.contains(":session:")).count();
    let used = keys.iter().filter(|k| k.contains(":login-used:")).count();
    assert_eq!(sessions, 1, "only the real login's session");
    assert!(used <= USED_STATE_SLOTS as usize, "{used} used-state slots");
    assert_eq!(
        keys.len(),
        sessions + 1 + used,
        "a session, its user index and used-state slots: {keys:?}"
    );
    let bound = USED_STATE_SLOTS as usize * USED_SLOT_BYTES + ONE_LOGIN_BYTES;
    assert!(
        store_bytes(&w) <= bound,
        "{} bytes > {bound}",
        store_bytes(&w)
    );
    // The real user is still logged in, and can log in again.
    real_login(&w);
}

#[test]
fn a_user_logging_in_again_and_again_holds_at_most_five_sessions() {
    let w = World::new();
    let jars: Vec<Jar> = (0..50).map(|_| real_login(&w)).collect();
    let sessions =
        w.kv.keys()
            .iter()
            .filter(|k| k.contains(":session:"))
            .count();
    assert_eq!(sessions, 5);
    // The five newest still work; the oldest were ended.
    let live: Vec<u16> = jars
        .iter()
        .map(|j| w.send(j.on(Request::new("GET", "/api/me"))).status)
        .collect();
    assert_eq!(live.iter().filter(|s| **s == 200).count(), 5);
    assert!(live[45..].iter().all(|s| *s == 200));
}

#[test]
fn an_expired_session_leaves_the_store_when_it_is_read() {
    let w = World::new();
    let jar = real_login(&w);
    w.clock.advance(7 * 24 * 3600 * 1000);
    assert_eq!(w.send(jar.on(Request::new("GET", "/api/me"))).status, 401);
    assert_eq!(
        w.kv.keys()
            .iter()
            .filter(|k| k.contains(":session:"))
            .count(),
        0
    );
}

#[test]
fn a_refresh_through_failures_and_takeovers_leaves_no_lease_behind() {
    let w = World::new();
    // Three failed fetches in a row (each taken over after its failure
    // hold), then success: only the cached credentials remain.
    w.sim.inject(
        "/cgi-bin/stable_token",
        wxmp_sim::Fault::Errcode {
            errcode: -1,
            errmsg: None,
        },
        3,
    );
    for _ in 0..3 {
        assert_eq!(
            w.get("/jssdk/config?url=https%3A%2F%2Fm.example.com%2F")
                .status,
            502
        );
        w.clock.advance(1_000);
    }
    assert_eq!(
        w.get("/jssdk/config?url=https%3A%2F%2Fm.example.com%2F")
            .status,
        200
    );
    let mut keys = w.kv.keys();
    keys.sort();
    let app = &w.sim.config().app_id;
    assert_eq!(
        keys,
        [format!("wxmp:{app}:ticket"), format!("wxmp:{app}:token")]
    );
}

#[test]
fn two_concurrent_callbacks_with_one_state_make_exactly_one_session() {
    for round in 0..20 {
        let w = World::new();
        let mut jar = Jar::default();
        let start = w.get("/oauth/login?return_to=/race");
        jar.absorb(&start);
        let cb = w.authorize(&location(&start), "");
        let path = cb.strip_prefix(PUBLIC_URL).unwrap().to_owned();
        let barrier = std::sync::Barrier::new(2);
        let statuses: Vec<u16> = std::thread::scope(|s| {
            let racers: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        w.send(jar.on(Request::new("GET", &path))).status
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let mut sorted = statuses.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [302, 400], "round {round}: {statuses:?}");
        let sessions =
            w.kv.keys()
                .iter()
                .filter(|k| k.contains(":session:"))
                .count();
        assert_eq!(sessions, 1, "round {round}");
        assert_eq!(
            w.sim.calls("/sns/oauth2/access_token"),
            1,
            "the code is exchanged once"
        );
        assert!(
            w.kv.keys().iter().all(|k| !k.contains("login-claim")),
            "claims are deleted"
        );
    }
}
