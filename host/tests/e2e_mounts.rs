//! wxmp mounted where a real Spin app puts it, through wxmp-host (which
//! appends Spin 4's `spin-*` headers as Spin does): below a prefix beside
//! the app's own component, and two Official Accounts side by side with the
//! shipped example manifest — never seeing each other's tokens, tickets,
//! sessions, login state or dedup.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use serde_json::json;

/// The repo's spin.toml with wxmp at `/wechat/...`, WeChat's domain check
/// file's exact route to it too, and "your app" (the do-nothing component)
/// at `/...`.
fn beside_your_app(dir: &TempDir) -> std::path::PathBuf {
    let manifest = std::fs::read_to_string(repo().join("spin.toml"))
        .unwrap()
        .replace(
            "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"wxmp\"",
            "[[trigger.http]]\nroute = \"/wechat/...\"\ncomponent = \"wxmp\"\n\n\
             [[trigger.http]]\nroute = \"/MP_verify_abc123.txt\"\ncomponent = \"wxmp\"\n\n\
             [[trigger.http]]\nroute = \"/...\"\ncomponent = \"app\"",
        )
        .replace(
            "source = \"target/",
            &format!("source = \"{}/target/", repo().display()),
        )
        + &format!(
            "\n[component.app]\nsource = \"{}/target/wasm32-wasip2/release/wxmp_floor.wasm\"\n",
            repo().display()
        );
    assert!(manifest.contains("/wechat/..."));
    let path = dir.path().join("spin.toml");
    std::fs::write(&path, manifest).unwrap();
    path
}

/// A login below `prefix` through the simulator; returns the callback's answer.
fn login_at(b: &mut Browser, prefix: &str, query: &str) -> Resp {
    let start = b.get(&format!("{prefix}/oauth/login?{query}"));
    assert_eq!(start.status, 302, "{}", start.text());
    assert_eq!(
        query_of(&start.location(), "redirect_uri").as_deref(),
        Some(format!("{PUBLIC_URL}{prefix}/oauth/callback").as_str())
    );
    let back = b.consent(&start.location(), "");
    assert!(
        back.starts_with(&format!("{prefix}/oauth/callback?")),
        "{back}"
    );
    b.get(&back)
}

#[test]
fn below_a_prefix_beside_your_own_component() {
    let sim = SimHandle::start();
    let dir = temp_dir("mount");
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    cfg.manifest = beside_your_app(&dir);
    cfg.vars.insert(
        "domain_verify_file".into(),
        "MP_verify_abc123.txt:abc123".into(),
    );
    let host = Host::start_at("/wechat/healthz", cfg);

    // Your app keeps `/...`; wxmp answers only below /wechat.
    for path in ["/", "/shop", "/healthz", "/oauth/login"] {
        assert_eq!(host.get(path).text(), "ok", "{path}: your app");
    }
    assert_eq!(host.get("/wechat/healthz").json()["status"], "ok");
    assert!(host
        .get("/wechat/wxmp.js")
        .text()
        .contains("  var base = '/wechat';"));
    // WeChat's domain check file, at the root through its exact route.
    let check = host.get("/MP_verify_abc123.txt");
    assert_eq!((check.status, check.text().as_str()), (200, "abc123"));

    // OAuth end to end: redirect_uri, callback and cookie below the prefix.
    let mut b = Browser::new(&host);
    let done = login_at(
        &mut b,
        "/wechat",
        "return_to=https%3A%2F%2Fm.example.com%2Fshop",
    );
    assert_eq!(done.location(), "https://m.example.com/shop");
    assert!(
        b.jar.0.contains_key("__Host-wxmp_session_wechat"),
        "{:?}",
        b.jar.0
    );
    assert_eq!(
        b.get("/wechat/api/me").json()["openid"],
        sim.sim.config().users[0].openid
    );

    // JS-SDK signing below the prefix, checked against the simulator's ticket.
    let page = "https://m.example.com/shop?x=1";
    let c = host
        .get(&format!("/wechat/jssdk/config?url={}", enc(page)))
        .json();
    let ticket = sim.sim.current_ticket(SimHandle::now_ms()).unwrap();
    assert_eq!(
        c["signature"],
        jssdk_signature(
            &ticket,
            c["nonceStr"].as_str().unwrap(),
            c["timestamp"].as_u64().unwrap(),
            page
        )
    );

    // A push to the prefixed server URL.
    let r = sim_push_to(
        &sim,
        &format!("http://{}/wechat/wx", host.addr),
        json!({"mode": "safe", "content": "hi", "msg_id": 1}),
    );
    assert_eq!(
        (r["status"].as_u64(), r["body"].as_str()),
        (Some(200), Some("success")),
        "{r}"
    );

    // Forged spin-* headers cannot move the mount: wxmp-host appends Spin's
    // own values after them, and those decide.
    let forged = [
        ("spin-component-route", "/"),
        ("spin-raw-component-route", "/..."),
        ("spin-path-info", "/healthz"),
    ];
    let r = host.send("GET", "/wechat/healthz", &forged, b"");
    assert_eq!(r.json()["status"], "ok");
    let r = host.send(
        "GET",
        "/wechat/wechat/healthz",
        &[
            ("spin-component-route", "/wechat/wechat"),
            ("spin-raw-component-route", "/wechat/wechat/..."),
        ],
        b"",
    );
    assert_eq!(r.status, 404, "routing is Spin's, not the client's");
}

/// The two simulated accounts, and the host running the shipped example.
struct TwoAccounts {
    shop: SimHandle,
    blog: SimHandle,
    host: Host,
    _redis: Redis,
    shop_hook: Webhook,
    blog_hook: Webhook,
}

const SHOP_ADMIN: &str = "shop-admin-key-0123456789";
const BLOG_ADMIN: &str = "blog-admin-key-0123456789";

fn two_accounts() -> TwoAccounts {
    let shop = SimHandle::start();
    let blog = SimHandle::start_with(wxmp_sim::SimConfig {
        app_id: "wx0b10b10b10b10b10".into(),
        app_secret: "blog0app0secret00000000000000000".into(),
        server_token: "blogtoken".into(),
        original_id: "gh_b10b10b10b10".into(),
        ..wxmp_sim::SimConfig::default()
    });
    let redis = Redis::start();
    let (shop_hook, blog_hook) = (
        Webhook::start("", Duration::ZERO),
        Webhook::start("", Duration::ZERO),
    );
    let dir = temp_dir("two");
    // The shipped manifest, with each account's webhook allowed out.
    let shipped = std::fs::read_to_string(repo().join("examples/two-accounts/spin.toml")).unwrap();
    let manifest = shipped
        .replace(
            "source = \"../../target/",
            &format!("source = \"{}/target/", repo().display()),
        )
        .replace(
            "allowed_outbound_hosts = [\"{{ shop_api_base }}\", \"{{ shop_api_fallback_base }}\"]",
            &format!(
                "allowed_outbound_hosts = [\"{{{{ shop_api_base }}}}\", \"{}\"]",
                shop_hook.url
            ),
        )
        .replace(
            "allowed_outbound_hosts = [\"{{ blog_api_base }}\", \"{{ blog_api_fallback_base }}\"]",
            &format!(
                "allowed_outbound_hosts = [\"{{{{ blog_api_base }}}}\", \"{}\"]",
                blog_hook.url
            ),
        );
    assert_ne!(manifest, shipped);
    std::fs::write(dir.path().join("spin.toml"), manifest).unwrap();
    let mut vars: HashMap<String, String> = HashMap::from([
        ("public_url".into(), PUBLIC_URL.into()),
        ("allowed_origins".into(), "https://m.example.com".into()),
        ("oauth_base".into(), shop.url.clone()),
    ]);
    for (name, sim, admin, hook) in [
        ("shop", &shop, SHOP_ADMIN, &shop_hook),
        ("blog", &blog, BLOG_ADMIN, &blog_hook),
    ] {
        let c = sim.sim.config();
        for (k, v) in [
            ("app_id", c.app_id.clone()),
            ("app_secret", c.app_secret.clone()),
            ("token", c.server_token.clone()),
            ("encoding_aes_key", c.encoding_aes_key.clone()),
            (
                "session_secret",
                format!("{name}-session-secret-0123456789abcdef"),
            ),
            ("admin_key", admin.into()),
            ("api_base", sim.url.clone()),
            ("message_webhook", hook.url.clone()),
        ] {
            vars.insert(format!("{name}_{k}"), v);
        }
    }
    let cfg = HostConfig {
        manifest: dir.path().join("spin.toml"),
        store: Store::Redis(redis.url.clone()),
        vars,
        args: Vec::new(),
    };
    let host = Host::start_at("/shop/healthz", cfg);
    std::mem::forget(dir);
    TwoAccounts {
        shop,
        blog,
        host,
        _redis: redis,
        shop_hook,
        blog_hook,
    }
}

#[test]
fn two_accounts_in_one_app_never_see_each_others_tokens_or_sessions() {
    let t = two_accounts();
    let host = &t.host;
    assert_eq!(host.get("/").text(), "ok", "your app keeps /...");
    assert_eq!(host.get("/blog/healthz").json()["status"], "ok");

    // Tokens: each account's own, from its own WeChat, once each.
    let token = |prefix: &str, admin: &str| {
        host.send(
            "GET",
            &format!("{prefix}/api/token"),
            &[("authorization", &format!("Bearer {admin}"))],
            b"",
        )
        .json()
    };
    let (shop_token, blog_token) = (token("/shop", SHOP_ADMIN), token("/blog", BLOG_ADMIN));
    assert!(
        shop_token["access_token"].as_str().is_some()
            && blog_token["access_token"].as_str().is_some()
    );
    assert_ne!(shop_token["access_token"], blog_token["access_token"]);
    assert_eq!(
        host.send(
            "GET",
            "/blog/api/token",
            &[("authorization", &format!("Bearer {SHOP_ADMIN}"))],
            b""
        )
        .status,
        401,
        "one account's key is not the other's"
    );
    // Tickets: each signature checks out against its own account's ticket only.
    let page = "https://m.example.com/post";
    for (prefix, sim, other) in [("/shop", &t.shop, &t.blog), ("/blog", &t.blog, &t.shop)] {
        let c = host
            .get(&format!("{prefix}/jssdk/config?url={}", enc(page)))
            .json();
        assert_eq!(c["appId"], sim.sim.config().app_id);
        let (nonce, ts) = (
            c["nonceStr"].as_str().unwrap(),
            c["timestamp"].as_u64().unwrap(),
        );
        let signature = c["signature"].as_str().unwrap();
        let app_id = &sim.sim.config().app_id;
        let checks = |s: &SimHandle| {
            s.sim
                .check_jssdk(app_id, ts, nonce, signature, page, SimHandle::now_ms())
                .is_ok()
        };
        assert!(checks(sim), "{prefix}");
        assert!(!checks(other), "{prefix}: not the other account's ticket");
    }
    for sim in [&t.shop, &t.blog] {
        assert_eq!(
            (
                sim.calls("/cgi-bin/stable_token"),
                sim.calls("/cgi-bin/ticket/getticket")
            ),
            (1, 1)
        );
    }

    // Sessions: a login at /shop is a session at /shop only.
    let mut b = Browser::new(host);
    let done = login_at(&mut b, "/shop", "return_to=https%3A%2F%2Fm.example.com%2F");
    assert_eq!(done.status, 302);
    assert_eq!(b.get("/shop/api/me").status, 200);
    assert_eq!(b.get("/blog/api/me").status, 401);
    // Even presented under the blog's cookie name, the shop's session is no session there.
    let shop_session = b.jar.0["__Host-wxmp_session_shop"].clone();
    let r = host.send(
        "GET",
        "/blog/api/me",
        &[(
            "cookie",
            &format!("__Host-wxmp_session_blog={shop_session}"),
        )],
        b"",
    );
    assert_eq!(r.status, 401);
    // Login state: the shop's state and login cookie mean nothing to the blog.
    let mut c = Browser::new(host);
    let start = c.get("/shop/oauth/login");
    let back = c.consent(&start.location(), "");
    let at_blog = back.replacen("/shop/oauth/callback", "/blog/oauth/callback", 1);
    assert_eq!(c.get(&at_blog).json()["error"], "invalid_state");

    // Dedup: the same MsgId to both accounts reaches both webhooks.
    for (prefix, sim) in [("/shop", &t.shop), ("/blog", &t.blog)] {
        let r = sim_push_to(
            sim,
            &format!("http://{}{prefix}/wx", host.addr),
            json!({"mode": "safe", "content": "same", "msg_id": 77}),
        );
        assert_eq!(r["status"], 200, "{prefix}: {r}");
    }
    assert_eq!((t.shop_hook.count(), t.blog_hook.count()), (1, 1));
    assert_eq!(
        t.shop_hook.received()[0]["to"],
        t.shop.sim.config().original_id
    );
    assert_eq!(
        t.blog_hook.received()[0]["to"],
        t.blog.sim.config().original_id
    );
}
