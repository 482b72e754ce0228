//! No secret reaches a response, a log line or a Debug print: one full tour
//! of every route through wxmp-host — the API gateway and a late webhook
//! reply included — with every answer, every log line and every webhook
//! body grepped for every secret and every token WeChat issued.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod common;

use common::*;
use serde_json::json;

#[test]
fn no_secret_in_any_answer_or_log_line() {
    // Late on purpose: its reply goes out as a customer-service message.
    let hook = Webhook::start(
        r#"{"type":"text","content":"ok"}"#,
        std::time::Duration::from_millis(4_500),
    );
    let sim = SimHandle::start();
    let dir = temp_dir("e2e-secrets");
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    cfg.manifest = manifest_allowing(&dir, hook.url.trim_end_matches("/hook"));
    cfg.vars.insert("message_webhook".into(), hook.url.clone());
    cfg.vars
        .insert("late_reply".into(), "customer_service".into());
    const CLIENT_KEY: &str = "tour-client-key-0123456789";
    let clients = json!([{"name": "tour", "key": CLIENT_KEY, "allow": ["cgi-bin/", "status"]}]);
    cfg.vars.insert("api_clients".into(), clients.to_string());
    let host = Host::start(cfg);

    let answers = std::cell::RefCell::new(Vec::<String>::new());
    let keep_text = |a: String| answers.borrow_mut().push(a);
    let keep = |r: &Resp| keep_text(format!("{} {:?} {}", r.status, r.headers, r.text()));
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
    keep_text(pushed["body"].to_string());
    // The gateway: plain calls, a rejected token mid-call, the typed
    // helpers, refusals, invalidation.
    let client = format!("Bearer {CLIENT_KEY}");
    let alice = sim.sim.config().users[0].openid.clone();
    keep(&host.send(
        "GET",
        "/api/wechat/cgi-bin/getcallbackip?access_token=mine",
        &[("authorization", &client)],
        b"",
    ));
    sim.sim.revoke_tokens(SimHandle::now_ms());
    keep(&host.send(
        "GET",
        &format!("/api/wechat/cgi-bin/user/info?openid={alice}"),
        &[("authorization", &client)],
        b"",
    ));
    keep(&host.send(
        "POST",
        "/api/qrcode",
        &[("authorization", &client)],
        br#"{"scene": 9}"#,
    ));
    let template =
        json!({"touser": alice, "template_id": "TPL_ORDER_SHIPPED", "data": {"k": {"value": "v"}}});
    keep(&host.send(
        "POST",
        "/api/template/send",
        &[("authorization", &client)],
        template.to_string().as_bytes(),
    ));
    let custom = json!({"touser": alice, "msgtype": "text", "text": {"content": "hi"}});
    keep(&host.send(
        "POST",
        "/api/custom/send",
        &[("authorization", &client)],
        custom.to_string().as_bytes(),
    ));
    keep(&host.send(
        "GET",
        "/api/wechat/../cgi-bin/token",
        &[("authorization", &client)],
        b"",
    ));
    keep(&host.send("GET", "/api/token", &[("authorization", &client)], b""));
    keep(&host.send(
        "POST",
        "/api/token/invalidate",
        &[("authorization", &format!("Bearer {ADMIN_KEY}"))],
        br#"{"access_token": "not-the-token"}"#,
    ));
    // What operators read: status (JSON and page), diagnosis, health.
    let admin = format!("Bearer {ADMIN_KEY}");
    keep(&host.send("GET", "/api/status", &[("authorization", &admin)], b""));
    keep(&host.send(
        "GET",
        "/api/status",
        &[("authorization", &admin), ("accept", "text/html")],
        b"",
    ));
    keep(&host.send("GET", "/api/status", &[("authorization", &client)], b""));
    keep(&host.send("GET", "/api/diagnose", &[("authorization", &admin)], b""));
    keep(&host.get("/healthz"));
    // A ticket fetched with the token that replaced the revoked one.
    keep(&b.get(&format!(
        "/jssdk/config?url={}",
        enc("https://m.example.com/again")
    )));
    assert!(
        eventually(std::time::Duration::from_secs(10), "the late reply", || {
            let sent = sim.sim.sent_messages();
            sent.iter()
                .any(|m| m.body["text"]["content"] == "ok")
                .then_some(true)
        }),
        "the late webhook reply went out"
    );
    // The one place a token may appear: /api/token, for the bearer of admin_key.
    let token_answer = host.admin_token();
    assert_eq!(token_answer.status, 200);

    let c = sim.sim.config();
    let mut secrets = vec![
        c.app_secret.clone(),
        SESSION_SECRET.to_owned(),
        ADMIN_KEY.to_owned(),
        CLIENT_KEY.to_owned(),
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
        for a in answers.borrow().iter() {
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
    assert!(log.contains("gateway client=tour"), "{log}");
}
