//! The WeChat API gateway end to end: wxmp-host serving the component,
//! wxmp-sim as WeChat. Backends call any API, the typed helpers and the
//! invalidation route; paths that could leave the API, clients outside
//! their prefixes and racing rejections are tried; 9 MiB of media go up and
//! come back through the host with its memory flat; a late webhook reply
//! reaches the user as a customer-service message without holding the
//! push's answer back.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;

const ORDERS_KEY: &str = "orders-key-0123456789";
const MEDIA_KEY: &str = "media-key-0123456789ab";

fn clients() -> String {
    serde_json::json!([
        {"name": "orders", "key": ORDERS_KEY, "allow": ["cgi-bin/message/template/", "cgi-bin/qrcode/", "cgi-bin/showqrcode"]},
        {"name": "media", "key": MEDIA_KEY, "allow": ["cgi-bin/media/"]}
    ])
    .to_string()
}

fn start(store: Store) -> (SimHandle, Host) {
    let sim = SimHandle::start();
    let mut cfg = HostConfig::new(&sim, store);
    cfg.vars.insert("api_clients".into(), clients());
    let host = Host::start(cfg);
    (sim, host)
}

fn auth(key: &str) -> String {
    format!("Bearer {key}")
}

fn upstream_calls(sim: &SimHandle) -> u64 {
    sim.sim.all_calls().values().sum()
}

/// One request written byte for byte (paths no client library would send),
/// and the status line's code.
fn raw_status(host: &Host, target: &str) -> u16 {
    let mut s = TcpStream::connect(host.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {target} HTTP/1.1\r\nhost: m.example.com\r\nauthorization: Bearer {ADMIN_KEY}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status for {target}: {answer:?}"))
}

#[test]
fn backends_call_wechat_through_the_host() {
    let (sim, host) = start(Store::Memory);
    let admin = auth(ADMIN_KEY);
    let r = host.send(
        "GET",
        "/api/wechat/cgi-bin/getcallbackip",
        &[("authorization", &admin)],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["ip_list"],
        serde_json::json!(sim.sim.config().callback_ips)
    );
    let r = host.send(
        "GET",
        "/api/wechat/cgi-bin/get_api_domain_ip",
        &[("authorization", &admin)],
        b"",
    );
    assert_eq!(
        r.json()["ip_list"],
        serde_json::json!(sim.sim.config().api_domain_ips)
    );

    let alice = sim.sim.config().users[0].openid.clone();
    let orders = auth(ORDERS_KEY);
    let message = serde_json::json!({"touser": alice, "template_id": "TPL_ORDER_SHIPPED", "data": {"keyword1": {"value": "已发货"}}});
    let r = host.send(
        "POST",
        "/api/template/send",
        &[
            ("authorization", &orders),
            ("content-type", "application/json"),
        ],
        message.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["msgid"],
        sim.sim.sent_messages()[0].msgid.unwrap().to_string()
    );

    let r = host.send(
        "POST",
        "/api/qrcode",
        &[("authorization", &orders)],
        br#"{"scene": "shop-7", "expire_seconds": 600}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["expire_seconds"], 600);
    let ticket = r.json()["ticket"].as_str().unwrap().to_owned();
    let image = host.send(
        "GET",
        &format!("/api/wechat/cgi-bin/showqrcode?ticket={}", enc(&ticket)),
        &[("authorization", &orders)],
        b"",
    );
    assert_eq!(
        (image.status, image.header("content-type")),
        (200, Some("image/png"))
    );
    assert!(image.body.starts_with(b"\x89PNG\r\n\x1a\n"));

    // Invalidation over HTTP for backends that hold the token themselves.
    let token = host.admin_token().json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    sim.sim.revoke_tokens(SimHandle::now_ms());
    let body = serde_json::json!({"access_token": token}).to_string();
    let r = host.send(
        "POST",
        "/api/token/invalidate",
        &[("authorization", &admin)],
        body.as_bytes(),
    );
    assert_eq!(
        (r.status, r.json()["invalidated"].as_bool()),
        (200, Some(true))
    );
    assert_ne!(
        host.admin_token().json()["access_token"].as_str().unwrap(),
        token
    );
    assert_eq!(sim.calls("/cgi-bin/stable_token"), 2);
    assert!(
        host.wait_log("gateway client=orders GET cgi-bin/showqrcode status=200 errcode=-"),
        "{}",
        host.log()
    );
}

#[test]
fn refusals_come_before_any_upstream_call() {
    let (sim, host) = start(Store::Memory);
    for target in [
        "/api/wechat/../cgi-bin/token",
        "/api/wechat/cgi-bin/../../token",
        "/api/wechat/%2e%2e/cgi-bin/token",
        "/api/wechat/cgi-bin%2ftoken",
        "/api/wechat//evil.example/x",
        "/api/wechat/http://evil.example/x",
        "/api/wechat/cgi-bin/./token",
        "/api/wechat/cgi-bin\\token",
        "/api/wechat/@evil.example/x",
    ] {
        assert_eq!(raw_status(&host, target), 400, "{target}");
    }
    let media = auth(MEDIA_KEY);
    let r = host.send(
        "POST",
        "/api/wechat/cgi-bin/message/custom/send",
        &[("authorization", &media)],
        b"{}",
    );
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (403, Some("forbidden_path"))
    );
    let r = host.send("GET", "/api/token", &[("authorization", &media)], b"");
    assert_eq!(r.status, 403);
    let r = host.get("/api/wechat/cgi-bin/getcallbackip");
    assert_eq!(r.status, 401);
    assert_eq!(upstream_calls(&sim), 0);
}

#[test]
fn racing_backends_with_a_rejected_token_cost_one_refetch() {
    let dir = temp_dir("e2e-gateway");
    let (sim, host) = start(Store::Sqlite(dir.path().join("kv.db")));
    let admin = auth(ADMIN_KEY);
    let alice = sim.sim.config().users[0].openid.clone();
    let path = format!("/api/wechat/cgi-bin/user/info?openid={alice}");
    assert_eq!(
        host.send("GET", &path, &[("authorization", &admin)], b"")
            .status,
        200
    );
    sim.sim.revoke_tokens(SimHandle::now_ms());
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let running: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    host.send("GET", &path, &[("authorization", &admin)], b"")
                        .status
                })
            })
            .collect();
        running.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert_eq!(
        sim.calls("/cgi-bin/stable_token"),
        2,
        "one fetch, one refetch"
    );
}

/// The host's resident and peak memory, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[test]
fn nine_mebibytes_of_media_stream_through_with_the_host_memory_flat() {
    let (_sim, host) = start(Store::Memory);
    let media = auth(MEDIA_KEY);
    let boundary = "wxmp9MiBboundary";
    let video: Vec<u8> = (0..9u32 * 1024 * 1024)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"clip.mp4\"\r\nContent-Type: video/mp4\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&video);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    // Warm up: one small call, so the pool, the token and the code are in place.
    let r = host.send(
        "GET",
        "/api/wechat/cgi-bin/media/get?media_id=none",
        &[("authorization", &media)],
        b"",
    );
    assert_eq!(r.status, 200);
    let (rss_before, peak_before) = memory_kib(host.pid());
    let started = Instant::now();
    for round in 0..3 {
        let r = host.send(
            "POST",
            "/api/wechat/cgi-bin/media/upload?type=video",
            &[("authorization", &media), ("content-type", &content_type)],
            &body,
        );
        assert_eq!(r.status, 200, "round {round}: {}", r.text());
        let media_id = r.json()["media_id"].as_str().unwrap().to_owned();
        let r = host.send(
            "GET",
            &format!("/api/wechat/cgi-bin/media/get?media_id={media_id}"),
            &[("authorization", &media)],
            b"",
        );
        assert_eq!(
            (r.status, r.header("content-type")),
            (200, Some("video/mp4"))
        );
        assert_eq!(
            r.header("content-length"),
            Some(video.len().to_string().as_str())
        );
        assert!(r.body == video, "round {round}: the download differs");
    }
    let took = started.elapsed();
    let (rss_after, peak_after) = memory_kib(host.pid());
    eprintln!(
        "3 × (9 MiB up + 9 MiB down) in {took:?}: host RSS {rss_before} → {rss_after} KiB, peak {peak_before} → {peak_after} KiB"
    );
    // Holding one body whole would raise the peak by 9,216 KiB at least.
    assert!(
        peak_after - peak_before < 4 * 1024,
        "peak grew {} KiB",
        peak_after - peak_before
    );
    // Over the limit: refused before a byte of the body is sent.
    let mut s = TcpStream::connect(host.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST /api/wechat/cgi-bin/media/upload?type=video HTTP/1.1\r\nhost: x\r\nauthorization: {media}\r\ncontent-type: {content_type}\r\ncontent-length: 10485761\r\n\r\n"
    )
    .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 413");
    assert!(
        host.wait_log("gateway client=media POST cgi-bin/media/upload status=200 errcode=0"),
        "{}",
        host.log()
    );
}

#[test]
fn a_late_webhook_reply_arrives_as_a_customer_service_message() {
    let sim = SimHandle::start();
    let hook = Webhook::start(
        r#"{"type":"text","content":"查到了：已发货"}"#,
        Duration::from_secs(6),
    );
    let dir = temp_dir("e2e-late");
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    cfg.manifest = manifest_allowing(&dir, &hook.url);
    cfg.vars.insert("message_webhook".into(), hook.url.clone());
    cfg.vars
        .insert("late_reply".into(), "customer_service".into());
    let host = Host::start(cfg);
    let started = Instant::now();
    let r = sim_push(
        &sim,
        &host,
        serde_json::json!({"mode": "safe", "content": "我的快递呢", "msg_id": 4242}),
    );
    let answered = started.elapsed();
    assert_eq!(
        (r["status"].as_u64(), r["body"].as_str()),
        (Some(200), Some("success")),
        "{r}"
    );
    assert!(
        answered < Duration::from_millis(4_800),
        "WeChat waited {answered:?}"
    );
    let sent = eventually(
        Duration::from_secs(15),
        "the customer-service message",
        || {
            let sent = sim.sim.sent_messages();
            (!sent.is_empty()).then_some(sent)
        },
    );
    assert_eq!(sent[0].body["text"]["content"], "查到了：已发货");
    assert_eq!(
        sent[0].body["touser"],
        sim.sim.config().users[0].openid.as_str()
    );
    assert!(started.elapsed() >= Duration::from_secs(6));
    assert!(host.wait_log("late webhook reply"), "{}", host.log());
    assert_eq!(hook.count(), 1);
}
