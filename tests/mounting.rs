//! wxmp below a prefix, natively: the mount comes from `base_path` or from
//! the headers Spin appends for the route it matched (never from a client's
//! forged copies), routes match below it, and every URL and cookie wxmp
//! makes carries it. At `/` nothing changes.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod support;

use support::*;
use wxmp::http::{Request, Response};

/// The headers Spin 4 appends for `route` (`/wechat/...` or exact) and a
/// request to `path`, in Spin's order.
fn spin_appended(route: &str, path: &str) -> Vec<(&'static str, String)> {
    let prefix = route.strip_suffix("/...");
    let info = match prefix {
        Some(p) => path.strip_prefix(p).unwrap_or_default().to_owned(),
        None => String::new(),
    };
    vec![
        ("spin-path-info", info),
        ("spin-full-url", format!("http://m.example.com{path}")),
        ("spin-matched-route", route.to_owned()),
        ("spin-base-path", "/".to_owned()),
        ("spin-raw-component-route", route.to_owned()),
        ("spin-component-route", prefix.unwrap_or(route).to_owned()),
        ("spin-client-addr", "127.0.0.1:50000".to_owned()),
    ]
}

/// `req` as Spin would hand it over for `route`.
fn via_spin(route: &str, req: Request) -> Request {
    let path = req.path.clone();
    spin_appended(route, &path)
        .into_iter()
        .fold(req, |r, (k, v)| r.with_header(k, &v))
}

fn mounted_world() -> World {
    World::with_clock(TestClock::manual(1_700_000_000_000), |v| {
        v.insert("base_path".into(), "/wechat".into());
        v.insert("demo".into(), "true".into());
    })
}

fn set_cookies(r: &Response) -> Vec<String> {
    r.headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.clone())
        .collect()
}

#[test]
fn at_a_prefix_routes_answer_below_it_and_nowhere_else() {
    let w = mounted_world();
    assert_eq!(w.get("/wechat/healthz").status, 200);
    assert_eq!(w.get("/wechat/wxmp.js").status, 200);
    for outside in ["/healthz", "/wechatx/healthz", "/other/wechat/healthz", "/"] {
        let r = w.get(outside);
        assert_eq!(
            (r.status, json(&r)["error"].as_str()),
            (404, Some("not_found")),
            "{outside}"
        );
    }
}

#[test]
fn an_oauth_login_works_end_to_end_below_the_prefix() {
    let w = mounted_world();
    let mut jar = Jar::default();
    let start = w.get("/wechat/oauth/login?scope=snsapi_base&return_to=/cart");
    assert_eq!(start.status, 302);
    let loc = location(&start);
    assert_eq!(
        query_of(&loc, "redirect_uri").as_deref(),
        Some("https://m.example.com/wechat/oauth/callback")
    );
    let cookie = &set_cookies(&start)[0];
    assert!(
        cookie.starts_with("__Host-wxmp_login_wechat_") && cookie.contains("; Path=/;"),
        "{cookie}"
    );
    jar.absorb(&start);
    let cb = w.authorize(&loc, "");
    let path = cb.strip_prefix(PUBLIC_URL).unwrap();
    assert!(path.starts_with("/wechat/oauth/callback?"), "{path}");
    let done = w.send(jar.on(Request::new("GET", path)));
    assert_eq!(
        location(&done),
        "https://m.example.com/wechat/cart",
        "a return_to path is below the mount"
    );
    jar.absorb(&done);
    assert!(
        jar.0.contains_key("__Host-wxmp_session_wechat"),
        "{:?}",
        jar.0
    );
    let me = w.send(jar.on(Request::new("GET", "/wechat/api/me")));
    assert_eq!(me.status, 200);
    assert_eq!(json(&me)["openid"], w.sim.config().users[0].openid);
    // The root mount's session cookie is another cookie: no session there.
    let root = World::new();
    assert_eq!(
        root.send(jar.on(Request::new("GET", "/api/me"))).status,
        401
    );
}

#[test]
fn jssdk_signing_and_pushes_work_below_the_prefix() {
    let w = mounted_world();
    let r = w.get("/wechat/jssdk/config?url=https%3A%2F%2Fm.example.com%2Fpage");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let sig = wxmp::core::verify::sorted_sha1(&[SERVER_TOKEN, "1700000000", "n"]);
    let verify = w.get(&format!(
        "/wechat/wx?signature={sig}&timestamp=1700000000&nonce=n&echostr=ok"
    ));
    assert_eq!((verify.status, verify.body.as_slice()), (200, &b"ok"[..]));
    let push = w.send(
        Request::new(
            "POST",
            &format!("/wechat/wx?signature={sig}&timestamp=1700000000&nonce=n"),
        )
        .with_body("<xml><MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>"),
    );
    assert_eq!((push.status, push.body.as_slice()), (200, &b"success"[..]));
}

#[test]
fn the_script_and_the_demo_know_their_mount() {
    let w = mounted_world();
    let script = String::from_utf8(w.get("/wechat/wxmp.js").body).unwrap();
    assert!(
        script.contains("  var base = '/wechat';"),
        "the served script's base"
    );
    let module = String::from_utf8(w.get("/wechat/wxmp.mjs").body).unwrap();
    assert!(module.contains("  var base = '/wechat';"));
    let demo = String::from_utf8(w.get("/wechat/").body).unwrap();
    assert!(demo.contains(r#"<script src="/wechat/wxmp.js"></script>"#));
    assert!(demo.contains("'/wechat/spa/route-'"));
    assert_eq!(w.get("/wechat/spa/route-1").status, 200);
    // At the root the script's base stays empty.
    let root = String::from_utf8(World::new().get("/wxmp.js").body).unwrap();
    assert!(root.contains("  var base = '';"));
}

#[test]
fn spins_route_decides_the_mount_when_base_path_is_unset() {
    let w = World::new();
    let r = w.send(via_spin(
        "/wechat/...",
        Request::new("GET", "/wechat/healthz"),
    ));
    assert_eq!(r.status, 200);
    let start = w.send(via_spin(
        "/wechat/...",
        Request::new("GET", "/wechat/oauth/login"),
    ));
    assert_eq!(
        query_of(&location(&start), "redirect_uri").as_deref(),
        Some("https://m.example.com/wechat/oauth/callback")
    );
    // The whole app: `/...`.
    let start = w.send(via_spin("/...", Request::new("GET", "/oauth/login")));
    assert_eq!(
        query_of(&location(&start), "redirect_uri").as_deref(),
        Some("https://m.example.com/oauth/callback")
    );
}

#[test]
fn a_clients_forged_spin_headers_do_not_move_the_mount() {
    let w = World::new();
    // Forged copies first, then Spin's own values for the route `/...`:
    // Spin's (the last of each) decide, the request stays at the root.
    let forged = Request::new("GET", "/wechat/healthz")
        .with_header("spin-component-route", "/wechat")
        .with_header("spin-raw-component-route", "/wechat/...")
        .with_header("spin-path-info", "/healthz");
    let r = w.send(via_spin("/...", forged));
    assert_eq!(r.status, 404, "the path is /wechat/healthz at the root");
    // A host that appends no Spin headers: forged ones alone are just headers.
    let lone = Request::new("GET", "/wechat/healthz")
        .with_header("spin-component-route", "/wechat")
        .with_header("spin-raw-component-route", "/wechat/...");
    assert_eq!(w.send(lone).status, 404);
    // And base_path, when set, wins over anything in the headers.
    let w = mounted_world();
    let r = w.send(via_spin("/...", Request::new("GET", "/wechat/healthz")));
    assert_eq!(r.status, 200);
}

#[test]
fn wechats_domain_check_file_is_served_at_the_root_whatever_the_mount() {
    let w = World::with_clock(TestClock::manual(1_700_000_000_000), |v| {
        v.insert("base_path".into(), "/wechat".into());
        v.insert(
            "domain_verify_file".into(),
            "MP_verify_abc123.txt:abc123".into(),
        );
    });
    let r = w.send(via_spin(
        "/MP_verify_abc123.txt",
        Request::new("GET", "/MP_verify_abc123.txt"),
    ));
    assert_eq!((r.status, r.body.as_slice()), (200, &b"abc123"[..]));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    for other in [
        "/MP_verify_other.txt",
        "/wechat/MP_verify_abc123.txt",
        "/MP_verify_abc123.txt.bak",
    ] {
        assert_eq!(w.get(other).status, 404, "{other}");
    }
    assert_eq!(
        World::new().get("/MP_verify_abc123.txt").status,
        404,
        "not configured"
    );
}

#[test]
fn a_bad_base_path_is_a_named_problem() {
    let w = World::with_clock(TestClock::manual(1_700_000_000_000), |v| {
        v.insert("base_path".into(), "wechat/../x".into());
    });
    let h = json(&w.get("/healthz"));
    assert_eq!(h["status"], "degraded");
    assert!(
        h["problems"][0]
            .as_str()
            .unwrap()
            .starts_with("base_path: must start with '/'"),
        "{h}"
    );
}
