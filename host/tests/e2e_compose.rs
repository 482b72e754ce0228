//! The example consumer composed with wxmp (`cargo xtask compose`) runs on
//! wxmp-host: its own HTTP handler calls wxmp's jssdk, oauth and verify
//! exports, and the answers check out against wxmp-sim.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod common;

use common::*;

fn start() -> (SimHandle, Host) {
    let composed = repo().join("target/composed.wasm");
    assert!(
        composed.exists(),
        "{} missing: run `cargo xtask compose`",
        composed.display()
    );
    let sim = SimHandle::start();
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    cfg.manifest = repo().join("examples/consumer/spin.toml");
    let host = Host::start_at("/verify?signature=x&timestamp=1&nonce=2&echostr=ready", cfg);
    (sim, host)
}

#[test]
fn the_composed_consumer_signs_wx_config_through_wit() {
    let (sim, host) = start();
    let page = "https://m.example.com/shop?x=1";
    let r = host.get(&format!("/?url={}", enc(page)));
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    let json = html
        .split("<script id=\"wx-config\" type=\"application/json\">")
        .nth(1)
        .unwrap()
        .split("</script>")
        .next()
        .unwrap();
    let cfg: serde_json::Value = serde_json::from_str(json).unwrap();
    let ticket = sim
        .sim
        .current_ticket(SimHandle::now_ms())
        .expect("wxmp fetched a ticket");
    let expected = jssdk_signature(
        &ticket,
        cfg["nonceStr"].as_str().unwrap(),
        cfg["timestamp"].as_u64().unwrap(),
        page,
    );
    assert_eq!(cfg["signature"].as_str().unwrap(), expected);
    assert_eq!(cfg["appId"], sim.sim.config().app_id.as_str());
    assert_eq!(
        (
            sim.calls("/cgi-bin/stable_token"),
            sim.calls("/cgi-bin/ticket/getticket")
        ),
        (1, 1)
    );
    let login = html
        .split("<a id=\"login\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert_eq!(
        login,
        format!(
            "{}/connect/oauth2/authorize?appid={}&redirect_uri=https%3A%2F%2Fm.example.com%2Fconsumer%2Fcallback&response_type=code&scope=snsapi_base&state=consumerstate1&connect_redirect=1#wechat_redirect",
            sim.url,
            sim.sim.config().app_id
        )
    );
}

#[test]
fn the_composed_consumer_verifies_and_reports_wit_errors() {
    let (_sim, host) = start();
    let sig = wxmp::core::verify::sorted_sha1(&[SERVER_TOKEN, "1700000000", "n1"]);
    let ok = host.get(&format!(
        "/verify?signature={sig}&timestamp=1700000000&nonce=n1&echostr=hello"
    ));
    assert_eq!((ok.status, ok.text().as_str()), (200, "hello"));
    let bad = host.get("/verify?signature=0000&timestamp=1700000000&nonce=n1&echostr=hello");
    assert_eq!(
        (bad.status, bad.text().as_str()),
        (403, "Error::InvalidSignature")
    );
    let refused = host.get(&format!("/?url={}", enc("https://evil.example/")));
    assert_eq!(refused.status, 502);
    assert!(
        refused.text().starts_with(
            "Error::InvalidInput(\"url must be the page's absolute URL on an allowed origin\""
        ),
        "{}",
        refused.text()
    );
}
