//! The WeChat API gateway natively, against wxmp-sim: any API with the
//! cached token added, who may call what, paths that cannot escape the API,
//! one refetch for a rejected token however many callers see it, the typed
//! helpers (template, customer-service, QR code), invalidation, and the
//! token never in an answer or a log line.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod support;

use support::*;
use wxmp::http::{Request, Response};
use wxmp::ports::{BodyStream, StreamedBody};
use wxmp_sim::{Fault, MessageKind};

const ORDERS_KEY: &str = "orders-key-0123456789";
const MEDIA_KEY: &str = "media-key-0123456789ab";
const CLIENTS: &str = r#"[
  {"name": "orders", "key": "orders-key-0123456789", "allow": ["cgi-bin/message/template/", "cgi-bin/qrcode/"]},
  {"name": "media", "key": "media-key-0123456789ab", "allow": ["cgi-bin/media/"]}
]"#;
const ALICE: &str = "oSIMuser0000000000000000001";
const BOB: &str = "oSIMuser0000000000000000002";

fn world_with(clock: TestClock) -> World {
    World::with_clock(clock, |v| {
        v.insert("api_clients".into(), CLIENTS.into());
    })
}

fn world() -> World {
    world_with(TestClock::manual(1_700_000_000_000))
}

fn bearer(req: Request, key: &str) -> Request {
    req.with_header("authorization", &format!("Bearer {key}"))
}

fn admin(method: &str, path: &str) -> Request {
    bearer(Request::new(method, path), ADMIN_KEY)
}

fn post_json(key: &str, path: &str, body: serde_json::Value) -> Request {
    bearer(Request::new("POST", path), key)
        .with_header("content-type", "application/json")
        .with_body(body.to_string())
}

fn upstream_calls(w: &World) -> u64 {
    w.sim.all_calls().values().sum()
}

/// The access token wxmp holds right now.
fn cached_token(w: &World) -> String {
    wxmp::flows::credentials::access_token(&w.env())
        .unwrap()
        .0
        .secret()
        .to_owned()
}

fn error_code(r: &Response) -> String {
    json(r)["error"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn any_api_is_called_with_the_cached_token_and_answered_as_it_came() {
    let w = world();
    let r = w.send(admin("GET", "/api/wechat/cgi-bin/getcallbackip"));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(
        json(&r)["ip_list"],
        serde_json::json!(w.sim.config().callback_ips)
    );
    // A caller's own access_token is dropped; ours is the one WeChat sees.
    let r = w.send(admin(
        "GET",
        &format!("/api/wechat/cgi-bin/user/info?openid={ALICE}&access_token=stolen&lang=zh_CN"),
    ));
    assert_eq!(r.status, 200);
    let user = json(&r);
    assert_eq!(
        (user["subscribe"].as_i64(), user["openid"].as_str()),
        (Some(1), Some(ALICE))
    );
    assert_eq!(user["nickname"], "", "no nicknames since 2021-12-27");
    let r = w.send(admin(
        "GET",
        &format!("/api/wechat/cgi-bin/user/info?openid={BOB}"),
    ));
    assert_eq!(json(&r)["subscribe"], 0);
    assert_eq!(
        (
            w.sim.calls("/cgi-bin/stable_token"),
            w.sim.calls("/cgi-bin/getcallbackip"),
            w.sim.calls("/cgi-bin/user/info")
        ),
        (1, 1, 2)
    );
    let line = w
        .logs
        .0
        .lock()
        .unwrap()
        .iter()
        .find(|l| l.contains("gateway client=admin GET cgi-bin/getcallbackip"))
        .cloned();
    assert!(
        line.as_deref()
            .is_some_and(|l| l.contains("status=200 errcode=0")),
        "{line:?}"
    );
}

#[test]
fn wechat_errors_pass_through_as_wechat_sent_them() {
    let w = world();
    let body = serde_json::json!({"touser": ALICE, "template_id": "TPL_UNKNOWN", "data": {"k": {"value": "v"}}});
    let r = w.send(post_json(
        ORDERS_KEY,
        "/api/wechat/cgi-bin/message/template/send",
        body,
    ));
    assert_eq!(r.status, 200);
    assert_eq!(json(&r)["errcode"], 40037);
    let line = w
        .logs
        .0
        .lock()
        .unwrap()
        .iter()
        .find(|l| l.contains("gateway client=orders POST"))
        .cloned()
        .unwrap();
    assert!(line.contains("status=200 errcode=40037"), "{line}");
}

#[test]
fn a_rejected_token_costs_one_refetch_and_one_retry() {
    let w = world();
    assert_eq!(
        w.send(admin("GET", "/api/wechat/cgi-bin/getcallbackip"))
            .status,
        200
    );
    let first = cached_token(&w);
    w.sim.revoke_tokens(w.now_ms());
    let r = w.send(admin(
        "GET",
        &format!("/api/wechat/cgi-bin/user/info?openid={ALICE}"),
    ));
    assert_eq!((r.status, json(&r)["openid"].as_str()), (200, Some(ALICE)));
    assert_ne!(cached_token(&w), first);
    assert_eq!(
        (
            w.sim.calls("/cgi-bin/stable_token"),
            w.sim.calls("/cgi-bin/user/info")
        ),
        (2, 2)
    );
    // 42001 (expired) and 40014 (malformed) are the same story.
    for errcode in [42001, 40014] {
        w.sim.revoke_tokens(w.now_ms());
        w.sim.inject(
            "/cgi-bin/getcallbackip",
            Fault::Errcode {
                errcode,
                errmsg: None,
            },
            1,
        );
        let before = w.sim.calls("/cgi-bin/stable_token");
        assert_eq!(
            w.send(admin("GET", "/api/wechat/cgi-bin/getcallbackip"))
                .status,
            200
        );
        assert_eq!(
            w.sim.calls("/cgi-bin/stable_token"),
            before + 1,
            "{errcode}"
        );
    }
    // Rejected again after the refetch: WeChat's answer comes back, no loop.
    w.sim.inject(
        "/cgi-bin/getcallbackip",
        Fault::Errcode {
            errcode: 40001,
            errmsg: None,
        },
        2,
    );
    let r = w.send(admin("GET", "/api/wechat/cgi-bin/getcallbackip"));
    assert_eq!((r.status, json(&r)["errcode"].as_i64()), (200, Some(40001)));
}

#[test]
fn racing_backends_share_one_refetch() {
    let w = world_with(TestClock::real());
    assert_eq!(
        w.send(admin("GET", "/api/wechat/cgi-bin/getcallbackip"))
            .status,
        200
    );
    w.sim.revoke_tokens(w.now_ms());
    let backends: Vec<World> = (0..8).map(|_| w.sibling()).collect();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let running: Vec<_> = backends
            .iter()
            .map(|b| {
                s.spawn(move || {
                    b.send(admin("GET", "/api/wechat/cgi-bin/getcallbackip"))
                        .status
                })
            })
            .collect();
        running.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert_eq!(
        w.sim.calls("/cgi-bin/stable_token"),
        2,
        "one fetch, one refetch"
    );
}

#[test]
fn callers_need_a_key_and_clients_stay_within_their_prefixes() {
    let w = world();
    let r = w.send(Request::new("GET", "/api/wechat/cgi-bin/getcallbackip"));
    assert_eq!(
        (r.status, r.header("www-authenticate")),
        (401, Some("Bearer"))
    );
    let r = w.send(bearer(
        Request::new("GET", "/api/wechat/cgi-bin/getcallbackip"),
        "not-a-key-0123456789",
    ));
    assert_eq!((r.status, error_code(&r).as_str()), (401, "unauthorized"));
    for (key, path) in [
        (ORDERS_KEY, "/api/wechat/cgi-bin/user/info?openid=x"),
        (ORDERS_KEY, "/api/wechat/cgi-bin/media/upload?type=image"),
        (MEDIA_KEY, "/api/wechat/cgi-bin/message/template/send"),
        (MEDIA_KEY, "/api/wechat/cgi-bin/token"),
    ] {
        let r = w.send(bearer(Request::new("POST", path), key));
        assert_eq!(
            (r.status, error_code(&r).as_str()),
            (403, "forbidden_path"),
            "{path}"
        );
    }
    // The typed routes hold clients to the same prefixes.
    let r = w.send(post_json(
        MEDIA_KEY,
        "/api/qrcode",
        serde_json::json!({"scene": 1}),
    ));
    assert_eq!(r.status, 403);
    // Named clients never see the token itself, nor drop it.
    let r = w.send(bearer(Request::new("GET", "/api/token"), ORDERS_KEY));
    assert_eq!(r.status, 403);
    let r = w.send(post_json(
        ORDERS_KEY,
        "/api/token/invalidate",
        serde_json::json!({"access_token": "x"}),
    ));
    assert_eq!(r.status, 403);
    assert_eq!(upstream_calls(&w), 0, "refused before any upstream call");

    // Without admin_key and api_clients the routes do not exist.
    let bare = World::with_clock(TestClock::manual(1_700_000_000_000), |v| {
        v.remove("admin_key");
    });
    let r = bare.send(bearer(
        Request::new("GET", "/api/wechat/cgi-bin/getcallbackip"),
        ADMIN_KEY,
    ));
    assert_eq!(r.status, 404);
}

#[test]
fn paths_that_could_leave_the_api_are_refused_before_any_call() {
    let w = world();
    for path in [
        "/api/wechat/",
        "/api/wechat/../cgi-bin/token",
        "/api/wechat/cgi-bin/../../etc/passwd",
        "/api/wechat/%2e%2e/cgi-bin/token",
        "/api/wechat/cgi-bin%2ftoken",
        "/api/wechat/cgi-bin%2Ftoken",
        "/api/wechat//evil.example/x",
        "/api/wechat/http://evil.example/x",
        "/api/wechat/https:/evil.example/x",
        "/api/wechat/cgi-bin/./token",
        "/api/wechat/cgi-bin\\token",
        "/api/wechat/cgi-bin/user/info%3Faccess_token=x",
        "/api/wechat/@evil.example/x",
    ] {
        let r = w.send(admin("GET", path));
        assert_eq!(
            (r.status, error_code(&r).as_str()),
            (400, "invalid_path"),
            "{path}"
        );
    }
    assert_eq!(upstream_calls(&w), 0);
}

#[test]
fn template_messages_are_checked_then_sent() {
    let w = world();
    let good = serde_json::json!({
        "touser": ALICE, "template_id": "TPL_ORDER_SHIPPED", "url": "https://m.example.com/orders/7",
        "data": {"keyword1": {"value": "巧克力"}, "keyword2": {"value": "39.8元", "color": "#173177"}}
    });
    let r = w.send(post_json(ORDERS_KEY, "/api/template/send", good.clone()));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let sent = w.sim.sent_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].kind, MessageKind::Template);
    assert_eq!(
        json(&r)["msgid"],
        sent[0].msgid.unwrap().to_string(),
        "a string: msgids exceed 2^53"
    );
    assert_eq!(sent[0].body["data"]["keyword2"]["color"], "#173177");

    let calls = upstream_calls(&w);
    for (bad, why) in [
        (
            serde_json::json!({"touser": ALICE, "template_id": "TPL_ORDER_SHIPPED", "data": {}}),
            "1 to 32 fields",
        ),
        (
            serde_json::json!({"touser": "", "template_id": "T", "data": {"k": {"value": "v"}}}),
            "touser",
        ),
        (
            serde_json::json!({"touser": ALICE, "template_id": "T", "url": "javascript:alert(1)", "data": {"k": {"value": "v"}}}),
            "url",
        ),
        (
            serde_json::json!({"touser": ALICE, "template_id": "T", "data": {"k": {"value": "v", "color": "red"}}}),
            "#RRGGBB",
        ),
    ] {
        let r = w.send(post_json(ORDERS_KEY, "/api/template/send", bad));
        assert_eq!(
            (r.status, error_code(&r).as_str()),
            (400, "invalid_template"),
            "{why}"
        );
        assert!(
            json(&r)["message"].as_str().unwrap().contains(why),
            "{}",
            json(&r)
        );
    }
    let r = w.send(post_json(
        ORDERS_KEY,
        "/api/template/send",
        serde_json::json!({"touser": ALICE}),
    ));
    assert_eq!((r.status, error_code(&r).as_str()), (400, "invalid_json"));
    assert_eq!(upstream_calls(&w), calls, "nothing malformed left wxmp");

    // WeChat's own refusals keep their errcode: 43004 for a non-follower.
    let to_bob = serde_json::json!({"touser": BOB, "template_id": "TPL_ORDER_SHIPPED", "data": {"k": {"value": "v"}}});
    let r = w.send(post_json(ORDERS_KEY, "/api/template/send", to_bob));
    assert_eq!(
        (
            r.status,
            error_code(&r).as_str(),
            json(&r)["errcode"].as_i64()
        ),
        (502, "upstream", Some(43004))
    );
    let r = w.send(Request::new("GET", "/api/template/send"));
    assert_eq!(r.status, 405);
}

#[test]
fn customer_service_messages_follow_wechats_window_and_quota() {
    let w = world();
    let text = serde_json::json!({"touser": ALICE, "msgtype": "text", "text": {"content": "您的订单已发货"}});
    let r = w.send(post_json(ADMIN_KEY, "/api/custom/send", text.clone()));
    assert_eq!(
        (r.status, json(&r)["errcode"].as_i64()),
        (502, Some(45015)),
        "no message from the user in 48 h"
    );
    w.sim.record_interaction(0, w.now_ms());
    let news = serde_json::json!({"touser": ALICE, "msgtype": "news", "news": {"articles": [{"title": "上新", "url": "https://m.example.com/new", "picurl": "https://m.example.com/p.jpg"}]}});
    let image = serde_json::json!({"touser": ALICE, "msgtype": "image", "image": {"media_id": "MEDIA_NEVER_UPLOADED"}});
    assert_eq!(
        w.send(post_json(ADMIN_KEY, "/api/custom/send", text.clone()))
            .status,
        204
    );
    assert_eq!(
        w.send(post_json(ADMIN_KEY, "/api/custom/send", news))
            .status,
        204
    );
    let r = w.send(post_json(ADMIN_KEY, "/api/custom/send", image));
    assert_eq!(
        json(&r)["errcode"],
        40007,
        "an image must be uploaded first"
    );
    let sent = w.sim.sent_messages();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        (
            sent[0].body["text"]["content"].as_str(),
            sent[1].body["msgtype"].as_str()
        ),
        (Some("您的订单已发货"), Some("news"))
    );
    for _ in 0..3 {
        assert_eq!(
            w.send(post_json(ADMIN_KEY, "/api/custom/send", text.clone()))
                .status,
            204
        );
    }
    let r = w.send(post_json(ADMIN_KEY, "/api/custom/send", text));
    assert_eq!(json(&r)["errcode"], 45047, "five per window");
    let two_articles = serde_json::json!({"touser": ALICE, "msgtype": "news", "news": {"articles": [
        {"title": "a", "url": "https://m.example.com/a"}, {"title": "b", "url": "https://m.example.com/b"}]}});
    let r = w.send(post_json(ADMIN_KEY, "/api/custom/send", two_articles));
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (400, "invalid_message")
    );
    let voice =
        serde_json::json!({"touser": ALICE, "msgtype": "voice", "voice": {"media_id": "M"}});
    assert_eq!(
        w.send(post_json(ADMIN_KEY, "/api/custom/send", voice))
            .status,
        400
    );
}

#[test]
fn qr_codes_come_with_their_image() {
    let w = world();
    let r = w.send(post_json(
        ORDERS_KEY,
        "/api/qrcode",
        serde_json::json!({"scene": "shop-7"}),
    ));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let code = json(&r);
    assert_eq!(code["expire_seconds"], 2_592_000);
    let ticket = code["ticket"].as_str().unwrap();
    let image_url = code["image_url"].as_str().unwrap();
    assert!(
        image_url.starts_with(&format!("{API_BASE}/cgi-bin/showqrcode?ticket=")),
        "{image_url}"
    );
    assert_eq!(query_of(image_url, "ticket").as_deref(), Some(ticket));
    // The image through the gateway: WeChat's bytes, relayed as they came.
    let r = w.send(bearer(
        Request::new(
            "GET",
            &format!(
                "/api/wechat/cgi-bin/qrcode/../showqrcode?ticket={}",
                enc(ticket)
            ),
        ),
        ORDERS_KEY,
    ));
    assert_eq!(r.status, 400, "no way out of the client's prefix");
    let r = w.send(admin(
        "GET",
        &format!("/api/wechat/cgi-bin/showqrcode?ticket={}", enc(ticket)),
    ));
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("image/png"))
    );
    let png = read_streamed(r);
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");

    let r = w.send(post_json(
        ORDERS_KEY,
        "/api/qrcode",
        serde_json::json!({"scene": 100, "permanent": true}),
    ));
    assert_eq!(
        (r.status, json(&r)["expire_seconds"].is_null()),
        (200, true)
    );
    for bad in [
        serde_json::json!({"scene": 100_001, "permanent": true}),
        serde_json::json!({"scene": 0}),
        serde_json::json!({"scene": "x".repeat(65)}),
        serde_json::json!({"scene": 1, "expire_seconds": 2_592_001}),
        serde_json::json!({"scene": 1, "permanent": true, "expire_seconds": 60}),
    ] {
        let r = w.send(post_json(ORDERS_KEY, "/api/qrcode", bad.clone()));
        assert_eq!(
            (r.status, error_code(&r).as_str()),
            (400, "invalid_qrcode"),
            "{bad}"
        );
    }
    assert_eq!(w.sim.calls("/cgi-bin/qrcode/create"), 2);
}

/// Pieces of a body, handed out one by one.
struct Pieces(Vec<Vec<u8>>);

impl BodyStream for Pieces {
    fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, wxmp::core::error::Error> {
        Ok((!self.0.is_empty()).then(|| self.0.remove(0)))
    }
}

fn read_streamed(r: Response) -> Vec<u8> {
    match r.streamed {
        Some(body) => body.read_all(usize::MAX, || unreachable!()).unwrap(),
        None => r.body,
    }
}

#[test]
fn media_go_up_as_a_stream_and_come_back_whole() {
    let w = world();
    let image: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let boundary = "wxmpboundary7MA4YWxkTrZu0gW";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"cat.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").into_bytes();
    body.extend_from_slice(&image);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let len = body.len() as u64;
    let pieces = Pieces(body.chunks(16 * 1024).map(<[u8]>::to_vec).collect());
    let upload = bearer(
        Request::new("POST", "/api/wechat/cgi-bin/media/upload?type=image"),
        MEDIA_KEY,
    )
    .with_header(
        "content-type",
        &format!("multipart/form-data; boundary={boundary}"),
    )
    .with_upload(StreamedBody {
        len: Some(len),
        stream: Box::new(pieces),
    });
    let r = w.send(upload);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let media_id = json(&r)["media_id"].as_str().unwrap().to_owned();
    let r = w.send(bearer(
        Request::new(
            "GET",
            &format!("/api/wechat/cgi-bin/media/get?media_id={media_id}"),
        ),
        MEDIA_KEY,
    ));
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("image/jpeg"))
    );
    assert!(r.header("content-disposition").unwrap().contains(&media_id));
    assert_eq!(read_streamed(r), image);

    // A body too long to read up front goes to the gateway only.
    let big = Request::new("POST", "/jssdk/config").with_upload(StreamedBody {
        len: Some(100_000),
        stream: Box::new(Pieces(vec![vec![b'x'; 100_000]])),
    });
    let r = w.send(big);
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (413, "payload_too_large")
    );
    // JSON over 1 MiB is refused before it is read.
    let huge_json = bearer(
        Request::new("POST", "/api/wechat/cgi-bin/message/custom/send"),
        ADMIN_KEY,
    )
    .with_header("content-type", "application/json")
    .with_upload(StreamedBody {
        len: Some(2 << 20),
        stream: Box::new(Pieces(vec![])),
    });
    assert_eq!(w.send(huge_json).status, 413);
}

#[test]
fn invalidation_drops_only_the_cached_token() {
    let w = world();
    let current = cached_token(&w);
    // WeChat revoked it (another service fetched with force_refresh).
    w.sim.revoke_tokens(w.now_ms());
    let stale = post_json(
        ADMIN_KEY,
        "/api/token/invalidate",
        serde_json::json!({"access_token": "an-older-token"}),
    );
    let r = w.send(stale);
    assert_eq!(
        (r.status, json(&r)["invalidated"].as_bool()),
        (200, Some(false))
    );
    let r = w.send(post_json(
        ADMIN_KEY,
        "/api/token/invalidate",
        serde_json::json!({"access_token": current}),
    ));
    assert_eq!(
        (r.status, json(&r)["invalidated"].as_bool()),
        (200, Some(true))
    );
    let r = w.send(post_json(
        ADMIN_KEY,
        "/api/token/invalidate",
        serde_json::json!({"access_token": current}),
    ));
    assert_eq!(
        json(&r)["invalidated"],
        false,
        "a second report changes nothing"
    );
    assert_ne!(cached_token(&w), current);
    assert_eq!(w.sim.calls("/cgi-bin/stable_token"), 2);
    for bad in [
        serde_json::json!({}),
        serde_json::json!({"access_token": 1}),
        serde_json::json!({"token": "x"}),
    ] {
        let r = w.send(post_json(ADMIN_KEY, "/api/token/invalidate", bad));
        assert_eq!((r.status, error_code(&r).as_str()), (400, "invalid_json"));
    }
    assert_eq!(w.send(admin("GET", "/api/token/invalidate")).status, 405);
}

#[test]
fn the_token_is_never_in_an_answer_or_a_log_line() {
    let w = world();
    let mut answers = Vec::new();
    let mut tokens = Vec::new();
    w.sim.record_interaction(0, w.now_ms());
    for round in 0..2 {
        answers.push(w.send(admin("GET", "/api/wechat/cgi-bin/getcallbackip")));
        answers.push(w.send(admin(
            "GET",
            &format!("/api/wechat/cgi-bin/user/info?openid={ALICE}"),
        )));
        answers.push(w.send(admin("GET", "/api/wechat/cgi-bin/get_api_domain_ip")));
        answers.push(w.send(post_json(
            ORDERS_KEY,
            "/api/qrcode",
            serde_json::json!({"scene": round + 1}),
        )));
        let text =
            serde_json::json!({"touser": ALICE, "msgtype": "text", "text": {"content": "hi"}});
        answers.push(w.send(post_json(ADMIN_KEY, "/api/custom/send", text)));
        answers.push(w.send(admin("GET", "/api/wechat/cgi-bin/no/such/api")));
        tokens.push(cached_token(&w));
        w.sim.revoke_tokens(w.now_ms());
    }
    answers.push(w.send(admin("GET", "/api/wechat/cgi-bin/getcallbackip")));
    tokens.push(cached_token(&w));
    assert_eq!(
        tokens
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        3
    );
    for r in &answers {
        let mut seen = String::from_utf8_lossy(&r.body).into_owned();
        for (k, v) in &r.headers {
            seen.push_str(&format!("\n{k}: {v}"));
        }
        for t in &tokens {
            assert!(!seen.contains(t.as_str()), "token in an answer: {seen}");
        }
    }
    let logs = w.logs.0.lock().unwrap().join("\n");
    assert!(logs.contains("gateway client=orders"), "{logs}");
    for t in &tokens {
        assert!(!logs.contains(t.as_str()), "token in the log");
    }
}

#[test]
fn a_malformed_client_list_leaves_the_admin_key_working() {
    let w = World::with_clock(TestClock::manual(1_700_000_000_000), |v| {
        v.insert(
            "api_clients".into(),
            r#"[{"name": "orders", "key": "short", "allow": ["cgi-bin/"]}]"#.into(),
        );
    });
    assert_eq!(
        w.send(admin("GET", "/api/wechat/cgi-bin/getcallbackip"))
            .status,
        200
    );
    assert_eq!(w.send(admin("GET", "/api/token")).status, 200);
    let r = w.send(bearer(
        Request::new("GET", "/api/wechat/cgi-bin/getcallbackip"),
        "short",
    ));
    assert_eq!((r.status, error_code(&r).as_str()), (500, "config"));
    let message = json(&r)["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("api_clients")
            && message.contains("orders")
            && !message.contains("short\""),
        "{message}"
    );
    let health = json(&w.get("/healthz"));
    assert_eq!(health["status"], "degraded");
    assert!(
        health["problems"][0]
            .as_str()
            .unwrap()
            .starts_with("api_clients:"),
        "{health}"
    );
}
