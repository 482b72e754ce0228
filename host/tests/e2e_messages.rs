//! Message push through wxmp-host, with wxmp-sim acting as WeChat's pusher
//! over loopback HTTP and a real webhook server.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

fn start(webhook: &Webhook) -> (SimHandle, Host, TempDir) {
    let sim = SimHandle::start();
    let dir = temp_dir("e2e-msg");
    let origin = webhook.url.trim_end_matches("/hook").to_owned();
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    cfg.manifest = manifest_allowing(&dir, &origin);
    cfg.vars
        .insert("message_webhook".into(), webhook.url.clone());
    let host = Host::start(cfg);
    (sim, host, dir)
}

#[test]
fn safe_mode_push_gets_the_webhook_reply_encrypted() {
    let hook = Webhook::start(
        r#"{"type":"text","content":"hello from the app"}"#,
        Duration::ZERO,
    );
    let (sim, host, _dir) = start(&hook);
    let r = sim_push(
        &sim,
        &host,
        json!({"mode": "safe", "content": "hi", "msg_id": 101}),
    );
    assert_eq!(r["status"], 200, "{r}");
    assert!(
        !r["body"].as_str().unwrap().contains("hello from the app"),
        "the reply travels encrypted"
    );
    let reply = r["reply"].as_str().unwrap();
    assert!(
        reply.contains("<Content><![CDATA[hello from the app]]></Content>"),
        "{reply}"
    );
    assert!(reply.contains(&format!(
        "<ToUserName><![CDATA[{}]]></ToUserName>",
        sim.sim.config().users[0].openid
    )));
    let got = hook.received()[0].clone();
    assert_eq!(
        (
            got["msg_type"].as_str(),
            got["content"].as_str(),
            got["msg_id"].as_str()
        ),
        (Some("text"), Some("hi"), Some("101"))
    );
}

/// The webhook's reply is parsed as a JSON value, recursively, on the
/// component's 128 KiB stack (build.rs): nesting up to serde_json's limit
/// (128) and far past it is refused as a reply, and the push is still
/// acknowledged, never answered by a trapped instance.
#[test]
fn deeply_nested_webhook_replies_fit_the_component_stack() {
    for (depth, msg_id) in [(126, 31), (5_000, 32)] {
        let reply = format!(
            r#"{}{{"type":"text","content":"deep"}}{}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let hook = Webhook::start(&reply, Duration::ZERO);
        let (sim, host, _dir) = start(&hook);
        let r = sim_push(
            &sim,
            &host,
            json!({"mode": "plain", "content": "a", "msg_id": msg_id}),
        );
        assert_eq!(
            (r["status"].as_u64(), r["body"].as_str()),
            (Some(200), Some("success")),
            "depth {depth}: {r}"
        );
        assert_eq!(hook.count(), 1);
        assert_eq!(host.get("/healthz").status, 200);
    }
}

#[test]
fn plaintext_and_compat_pushes_and_retry_dedup() {
    let hook = Webhook::start(
        r#"{"type":"news","articles":[{"title":"T","url":"https://m.example.com/"}]}"#,
        Duration::ZERO,
    );
    let (sim, host, _dir) = start(&hook);
    let plain = sim_push(
        &sim,
        &host,
        json!({"mode": "plain", "content": "a", "msg_id": 7}),
    );
    assert!(
        plain["reply"]
            .as_str()
            .unwrap()
            .contains("<ArticleCount>1</ArticleCount>"),
        "{plain}"
    );
    let retry = sim_push(
        &sim,
        &host,
        json!({"mode": "plain", "content": "a", "msg_id": 7}),
    );
    assert_eq!(
        retry["body"], plain["body"],
        "a retry gets the first answer"
    );
    let compat = sim_push(
        &sim,
        &host,
        json!({"mode": "compat", "content": "b", "msg_id": 8}),
    );
    assert!(compat["reply"]
        .as_str()
        .unwrap()
        .contains("<ArticleCount>1</ArticleCount>"));
    assert_eq!(hook.count(), 2, "the webhook saw each message once");
}

#[test]
fn a_slow_webhook_still_lets_wechat_hear_success_in_time() {
    let hook = Webhook::start(
        r#"{"type":"text","content":"too late"}"#,
        Duration::from_secs(8),
    );
    let (sim, host, _dir) = start(&hook);
    let started = Instant::now();
    let r = sim_push(
        &sim,
        &host,
        json!({"mode": "safe", "content": "slow", "msg_id": 9}),
    );
    assert_eq!(r["body"], "success");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered in {:?}",
        started.elapsed()
    );
    assert!(
        host.wait_log("webhook POST 127.0.0.1/hook failed"),
        "{}",
        host.log()
    );
}

#[test]
fn hostile_xml_is_refused_fast_and_the_service_stays_healthy() {
    let hook = Webhook::start("", Duration::ZERO);
    let (sim, host, _dir) = start(&hook);
    let lol = (1..10)
        .map(|i| {
            format!(
                "<!ENTITY lol{i} \"{}\">",
                format!("&lol{};", i - 1).repeat(10)
            )
        })
        .collect::<String>();
    let laughs = format!("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol0 \"lol\">{lol}]><xml><Content>&lol9;</Content></xml>");
    let xxe = "<!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><xml><Content>&xxe;</Content></xml>";
    let ts = (SimHandle::now_ms() / 1000).to_string();
    let sig = wxmp::core::verify::sorted_sha1(&[SERVER_TOKEN, &ts, "n"]);
    for body in [laughs.as_str(), xxe] {
        let started = Instant::now();
        let r = host.send(
            "POST",
            &format!("/wx?signature={sig}&timestamp={ts}&nonce=n"),
            &[],
            body.as_bytes(),
        );
        assert_eq!(
            (r.status, r.json()["error"].as_str()),
            (400, Some("invalid_xml"))
        );
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "took {:?}",
            started.elapsed()
        );
    }
    let big = vec![b'<'; 70 * 1024];
    let r = host.send(
        "POST",
        &format!("/wx?signature={sig}&timestamp={ts}&nonce=n"),
        &[],
        &big,
    );
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (413, Some("payload_too_large"))
    );
    assert_eq!(host.get("/healthz").json()["status"], "ok");
    assert_eq!(
        sim_push(
            &sim,
            &host,
            json!({"mode": "safe", "content": "still fine", "msg_id": 10})
        )["status"],
        200
    );
    assert_eq!(hook.count(), 1);
}

#[test]
fn webhook_errors_wrong_appid_and_bad_msg_signature() {
    let hook = Webhook::start_with_status(
        500,
        r#"{"type":"text","content":"ignored"}"#,
        Duration::ZERO,
    );
    let (sim, host, _dir) = start(&hook);
    let r = sim_push(
        &sim,
        &host,
        json!({"mode": "safe", "content": "x", "msg_id": 11}),
    );
    assert_eq!(
        r["body"], "success",
        "a failing webhook means success for WeChat"
    );
    assert_eq!(hook.count(), 1);
    assert!(
        host.wait_log("webhook POST 127.0.0.1/hook failed (status=500)"),
        "{}",
        host.log()
    );

    let cfg = sim.sim.config();
    let now = SimHandle::now_ms() / 1000;
    let msg = wxmp_sim::push::text_message(cfg, 0, "y", now, 12);
    let other = wxmp_sim::SimConfig {
        app_id: "wxSOMEONEELSE00000".into(),
        ..cfg.clone()
    };
    let p = wxmp_sim::push::build(&other, wxmp_sim::push::Mode::Safe, &msg, now, "n", [0; 16]);
    let r = host.send("POST", &format!("/wx?{}", p.query), &[], p.body.as_bytes());
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_appid"))
    );

    let p = wxmp_sim::push::build(cfg, wxmp_sim::push::Mode::Safe, &msg, now, "n", [0; 16]);
    let tampered = p.query.replace("&msg_signature=", "&msg_signature=0");
    let r = host.send("POST", &format!("/wx?{tampered}"), &[], p.body.as_bytes());
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (403, Some("invalid_signature"))
    );
    assert_eq!(hook.count(), 1, "refused pushes never reach the webhook");
}
