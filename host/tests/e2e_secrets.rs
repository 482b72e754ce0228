//! No secret reaches a response, a log line or a Debug print: one full tour
//! of every route through wxmp-host, with every answer and every log line
//! grepped for every secret and every token WeChat issued.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod common;

use common::*;
use serde_json::json;

#[test]
fn no_secret_in_any_answer_or_log_line() {
    let hook = Webhook::start(
        r#"{"type":"text","content":"ok"}"#,
        std::time::Duration::ZERO,
    );
    let sim = SimHandle::start();
    let dir = temp_dir("e2e-secrets");
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    cfg.manifest = manifest_allowing(&dir, hook.url.trim_end_matches("/hook"));
    cfg.vars.insert("message_webhook".into(), hook.url.clone());
    let host = Host::start(cfg);

    let mut answers: Vec<String> = Vec::new();
    let mut keep = |r: &Resp| answers.push(format!("{} {:?} {}", r.status, r.headers, r.text()));
    let mut b = Browser::new(&host);
    let done = b.login("scope=snsapi_userinfo", "&sim_decision=allow");
    keep(&done);
    for path in [
        "/api/me",
        "/healthz",
        "/wxmp.js",
        "/nope",
        &format!("/jssdk/config?url={}", enc("https://m.example.com/")),
    ] {
        keep(&b.get(path));
    }
    keep(&b.send(
        "POST",
        "/jssdk/config",
        &[],
        br#"{"url":"https://evil.example/"}"#,
    ));
    keep(&host.get("/api/token"));
    keep(&host.send(
        "GET",
        "/api/token",
        &[("authorization", "Bearer wrong-key-wrong-key")],
        b"",
    ));
    keep(&b.send(
        "POST",
        "/api/logout",
        &[("origin", "https://m.example.com")],
        b"",
    ));
    let pushed = sim_push(
        &sim,
        &host,
        json!({"mode": "safe", "content": "secret check", "msg_id": 77}),
    );
    answers.push(pushed["body"].to_string());
    // The one place a token may appear: /api/token, for the bearer of admin_key.
    let token_answer = host.admin_token();
    assert_eq!(token_answer.status, 200);

    let c = sim.sim.config();
    let mut secrets = vec![
        c.app_secret.clone(),
        SESSION_SECRET.to_owned(),
        ADMIN_KEY.to_owned(),
        c.encoding_aes_key.clone(),
        format!("token={SERVER_TOKEN}"),
        token_answer.json()["access_token"]
            .as_str()
            .unwrap()
            .to_owned(),
        sim.sim.current_ticket(SimHandle::now_ms()).unwrap(),
    ];
    // Everything WeChat issued has a recognisable prefix in the simulator.
    secrets.extend(
        [
            "ACCESS_TOKEN_",
            "TICKET_",
            "SNS_TOKEN_",
            "REFRESH_",
            "code_",
        ]
        .map(str::to_owned),
    );
    let log = host.log();
    for s in &secrets {
        assert!(!log.contains(s.as_str()), "{s:?} in the host log:\n{log}");
        for a in &answers {
            assert!(!a.contains(s.as_str()), "{s:?} in an answer: {a}");
        }
    }
    // The webhook sees the message, never a credential.
    let hooked = hook.received()[0].to_string();
    for s in &secrets {
        assert!(
            !hooked.contains(s.as_str()),
            "{s:?} sent to the webhook: {hooked}"
        );
    }
}
