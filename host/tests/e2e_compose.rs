//! The example consumer composed with wxmp (`cargo xtask compose`) runs on
//! wxmp-host: its own HTTP handler calls wxmp's jssdk, oauth, verify,
//! userinfo, token, messages and api exports, and the answers check out
//! against wxmp-sim. A consumer built against `wechat:mp@0.1.0` before the
//! `api` interface still composes with today's wxmp and runs unchanged.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod common;

use common::*;

fn start() -> (SimHandle, Host) {
    start_composed("target/composed.wasm")
}

/// The consumer manifest serving `composed` (a path below the repository).
fn start_composed(composed: &str) -> (SimHandle, Host) {
    let composed = repo().join(composed);
    assert!(
        composed.exists(),
        "{} missing: run `cargo xtask compose`",
        composed.display()
    );
    let sim = SimHandle::start();
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    let manifest = std::fs::read_to_string(repo().join("examples/consumer/spin.toml"))
        .unwrap()
        .replace(
            "source = \"../../target/composed.wasm\"",
            &format!("source = \"{}\"", composed.display()),
        );
    let dir = temp_dir("e2e-compose");
    cfg.manifest = dir.path().join("spin.toml");
    std::fs::write(&cfg.manifest, manifest).unwrap();
    let host = Host::start_at("/verify?signature=x&timestamp=1&nonce=2&echostr=ready", cfg);
    // wxmp-host has read the manifest: the file is no longer needed.
    drop(dir);
    (sim, host)
}

/// The login link on the consumer's page.
fn login_link(html: &str) -> String {
    html.split("<a id=\"login\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
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
    let login = login_link(&html);
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

#[test]
fn a_consumer_built_against_the_first_wit_still_composes_and_runs() {
    let (sim, host) = start_composed("target/composed-0.1.0.wasm");
    let page = "https://m.example.com/old?x=1";
    let r = host.get(&format!("/?url={}", enc(page)));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("\"signature\":\""));
    let sig = wxmp::core::verify::sorted_sha1(&[SERVER_TOKEN, "1700000000", "n1"]);
    let ok = host.get(&format!(
        "/verify?signature={sig}&timestamp=1700000000&nonce=n1&echostr=old"
    ));
    assert_eq!((ok.status, ok.text().as_str()), (200, "old"));
    assert_eq!(sim.calls("/cgi-bin/ticket/getticket"), 1);
    // It knows nothing of the new routes.
    assert_eq!(host.get("/token").status, 404);
}

#[test]
fn the_composed_consumer_logs_in_and_reads_the_profile_through_wit() {
    let (sim, host) = start();
    let html = host.get("/").text();
    let authorize = login_link(&html).replace("snsapi_base", "snsapi_userinfo");
    let back = Browser::new(&host).consent(&authorize, "&sim_decision=allow");
    let query = back.split_once('?').unwrap().1;
    let r = host.get(&format!("/callback?{query}"));
    assert_eq!(r.status, 200, "{}", r.text());
    let profile = r.json();
    let alice = &sim.sim.config().users[0];
    assert_eq!(profile["openid"], alice.openid.as_str());
    assert_eq!(profile["nickname"], alice.nickname.as_str());
    assert_eq!(profile["unionid"], serde_json::json!(alice.unionid));
    assert_eq!(
        (
            sim.calls("/sns/oauth2/access_token"),
            sim.calls("/sns/userinfo")
        ),
        (1, 1)
    );
    // A code is single-use: the second exchange is WeChat's 40163.
    let again = host.get(&format!("/callback?{query}"));
    assert_eq!(again.status, 502);
    assert!(again.text().contains("40163"), "{}", again.text());
}

#[test]
fn the_composed_consumer_calls_wechat_without_holding_the_token() {
    let (sim, host) = start();
    let r = host.get("/callback-ips");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["ip_list"],
        serde_json::json!(sim.sim.config().callback_ips)
    );
    let alice = &sim.sim.config().users[0].openid;
    let r = host.get(&format!("/user?openid={alice}"));
    assert_eq!(
        (r.json()["subscribe"].as_i64(), r.json()["openid"].as_str()),
        (Some(1), Some(alice.as_str()))
    );
    // WeChat's errors surface as the WIT `upstream` error.
    let r = host.get("/user?openid=oNOBODY");
    assert_eq!(r.status, 502);
    assert!(r.text().starts_with("WeChat errcode 40003"), "{}", r.text());
    // A rejected token mid-call: one refetch, one retry, the answer.
    sim.sim.revoke_tokens(SimHandle::now_ms());
    let r = host.get(&format!("/user?openid={alice}"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(sim.calls("/cgi-bin/stable_token"), 2);

    let r = host.get("/token");
    let expires_in = r.json()["expires_in"].as_u64().unwrap();
    assert!((7000..=7200).contains(&expires_in), "{expires_in}");
    // WeChat revoked it (say, another service forced a refresh).
    sim.sim.revoke_tokens(SimHandle::now_ms());
    let r = host.get("/token/renew");
    assert_eq!(r.json()["renewed"], true);
    assert_eq!(
        sim.calls("/cgi-bin/stable_token"),
        3,
        "invalidate + get fetched once more"
    );

    let r = host.get("/qrcode?scene=42");
    assert_eq!(r.status, 200, "{}", r.text());
    let image_url = r.json()["image_url"].as_str().unwrap().to_owned();
    assert!(
        image_url.starts_with(&format!("{}/cgi-bin/showqrcode?ticket=", sim.url)),
        "{image_url}"
    );
    let r = host.get(&format!(
        "/template?openid={alice}&template_id=TPL_ORDER_SHIPPED"
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    let sent = sim.sim.sent_messages();
    assert_eq!(r.json()["msgid"], sent[0].msgid.unwrap().to_string());
    let r = host.get(&format!("/template?openid={alice}&template_id=TPL_MISSING"));
    assert!(r.text().starts_with("WeChat errcode 40037"), "{}", r.text());
    assert!(
        host.log()
            .contains("gateway client=wit GET cgi-bin/user/info"),
        "{}",
        host.log()
    );
}

#[test]
fn the_composed_consumer_opens_and_answers_pushes_through_wit() {
    let (sim, host) = start();
    for mode in ["safe", "compat"] {
        let r = sim_push_to(
            &sim,
            &format!("http://{}/push", host.addr),
            serde_json::json!({"mode": mode, "content": "hi", "msg_id": 900}),
        );
        assert_eq!(r["status"], 200, "{mode}: {r}");
        assert!(
            r["reply"]
                .as_str()
                .unwrap()
                .contains("consumer got a text message"),
            "{mode}: {r}"
        );
    }
    // With an EncodingAESKey the default mode is safe: plaintext is refused.
    let plain = sim_push_to(
        &sim,
        &format!("http://{}/push", host.addr),
        serde_json::json!({"mode": "plain", "content": "hi", "msg_id": 901}),
    );
    assert_eq!(plain["status"], 403, "{plain}");
    let forged = host.send(
        "POST",
        "/push?signature=0&timestamp=1&nonce=2",
        &[],
        b"<xml></xml>",
    );
    assert_eq!(forged.status, 403);
}
