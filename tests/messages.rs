//! `POST /wx` natively: every message and event fixture in plaintext, compat
//! and safe mode, pushed by wxmp-sim's independent pusher; Tencent's sample;
//! webhook replies, failures and timeouts; retry dedup; hostile XML.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod support;

use std::sync::{Arc, Mutex};

use support::*;
use wxmp::core::error::Error;
use wxmp::http::{Request, Response};
use wxmp::ports::OutboundResponse;
use wxmp_sim::push::{self, Mode};

const FIXTURES: &[&str] = &[
    "text",
    "image",
    "voice",
    "video",
    "shortvideo",
    "location",
    "link",
    "event_subscribe_qrscene",
    "event_unsubscribe",
    "event_scan",
    "event_location",
    "event_click",
    "event_view",
    "event_view_miniprogram",
    "event_templatesendjobfinish",
    "event_masssendjobfinish",
    "unknown_miniprogrampage",
];

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/messages/{name}.xml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .trim()
    .to_owned()
}

/// A world whose Token and EncodingAESKey match the simulator's pusher, in
/// compat mode (both forms accepted) unless a test says otherwise.
fn world(webhook: bool) -> World {
    world_in(webhook, Some("compat"))
}

fn world_in(webhook: bool, mode: Option<&str>) -> World {
    World::with_clock(TestClock::manual(1_700_000_000_000), |v| {
        v.insert("token".into(), "simtoken".into());
        v.insert(
            "encoding_aes_key".into(),
            "SimEncodingAesKey0123456789abcdefghijklmnop".into(),
        );
        if let Some(mode) = mode {
            v.insert("message_mode".into(), mode.into());
        }
        if webhook {
            v.insert("message_webhook".into(), WEBHOOK_URL.into());
        }
    })
}

/// Records webhook bodies and answers with `reply` (status, body).
fn hook(w: &World, status: u16, reply: &str) -> Arc<Mutex<Vec<serde_json::Value>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (seen2, reply) = (seen.clone(), reply.to_owned());
    *w.http.webhook.lock().unwrap() = Some(Arc::new(move |r| {
        assert_eq!(r.method, wxmp::core::method::Method::Post);
        assert_eq!(r.timeouts.total_ms, 4_000);
        seen2
            .lock()
            .unwrap()
            .push(serde_json::from_slice(r.body.as_deref().unwrap()).unwrap());
        Ok(OutboundResponse {
            status,
            headers: Vec::new(),
            body: reply.clone().into_bytes(),
        })
    }));
    seen
}

/// Pushes `xml` as WeChat does now, with a nonce of its own.
fn push(w: &World, mode: Mode, xml: &str) -> Response {
    static NONCES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nonce = format!(
        "n{}",
        NONCES.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    push_at(w, mode, xml, w.now_ms() / 1000, &nonce)
}

fn push_at(w: &World, mode: Mode, xml: &str, timestamp: u64, nonce: &str) -> Response {
    let p = push::build(w.sim.config(), mode, xml, timestamp, nonce, [9; 16]);
    w.send(Request::new("POST", &format!("/wx?{}", p.query)).with_body(p.body))
}

fn text(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

#[test]
fn every_fixture_in_every_mode_is_acknowledged_and_forwarded_whole() {
    for mode in [Mode::Plain, Mode::Compat, Mode::Safe] {
        let w = world(true);
        let seen = hook(&w, 204, "");
        for name in FIXTURES {
            let xml = fixture(name);
            let r = push(&w, mode, &xml);
            assert_eq!(
                (r.status, text(&r).as_str()),
                (200, "success"),
                "{name} {mode:?}"
            );
            let json = seen.lock().unwrap().last().cloned().unwrap();
            assert_eq!(json["from"], "oSIMuser0000000000000000001", "{name}");
            assert_eq!(json["to"], "gh_5f2b3c4d5e6f");
            assert_eq!(json["create_time"], 1700000000);
            // Nothing dropped: every original field is under `raw`.
            let fields = wxmp::core::xml::parse(&xml).unwrap();
            for (field, _) in &fields {
                assert!(
                    json["raw"].get(field).is_some(),
                    "{name}: raw.{field} missing"
                );
            }
        }
        assert_eq!(seen.lock().unwrap().len(), FIXTURES.len());
    }
}

#[test]
fn fields_are_snake_cased_and_typed_per_kind() {
    let w = world(true);
    let seen = hook(&w, 200, "");
    let cases: &[(&str, &[(&str, serde_json::Value)])] = &[
        (
            "text",
            &[
                ("msg_type", "text".into()),
                ("content", "你好 wxmp".into()),
                ("msg_id", "7300000000000000001".into()),
            ],
        ),
        (
            "image",
            &[
                ("pic_url", "https://mmbiz.qpic.cn/x".into()),
                ("media_id", "media_img".into()),
            ],
        ),
        (
            "voice",
            &[
                ("format", "amr".into()),
                ("media_id_16k", "media_16k".into()),
            ],
        ),
        (
            "location",
            &[
                ("location_x", "23.134521".into()),
                ("label", "广州市天河区".into()),
            ],
        ),
        (
            "link",
            &[("url", "https://m.example.com/a?b=1&amp;c=2".into())],
        ),
        (
            "event_subscribe_qrscene",
            &[
                ("msg_type", "event".into()),
                ("event", "subscribe".into()),
                ("event_key", "qrscene_123123".into()),
                ("ticket", "TICKET_Q".into()),
            ],
        ),
        (
            "event_location",
            &[
                ("event", "LOCATION".into()),
                ("latitude", "23.137466".into()),
                ("precision", "119.385040".into()),
            ],
        ),
        (
            "event_view",
            &[("event", "VIEW".into()), ("menu_id", "208379533".into())],
        ),
        (
            "event_templatesendjobfinish",
            &[
                ("event", "TEMPLATESENDJOBFINISH".into()),
                ("msg_id", "200163836".into()),
                ("status", "success".into()),
            ],
        ),
        (
            "unknown_miniprogrampage",
            &[
                ("msg_type", "miniprogrampage".into()),
                ("page_path", "pages/a".into()),
                ("future_field", "kept".into()),
            ],
        ),
    ];
    for (name, expected) in cases {
        assert_eq!(push(&w, Mode::Plain, &fixture(name)).status, 200);
        let json = seen.lock().unwrap().last().cloned().unwrap();
        for (k, v) in *expected {
            assert_eq!(&json[*k], v, "{name}.{k}: {json}");
        }
    }
    assert_eq!(
        push(&w, Mode::Plain, &fixture("event_masssendjobfinish")).status,
        200
    );
    let json = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        json["copyright_check_result"]["result_list"]["item"][1]["article_idx"], "2",
        "{json}"
    );
}

#[test]
fn tencent_sample_push_is_accepted_through_the_route() {
    // The sample was pushed at 1409735669: the clock stands there.
    let w = World::with_clock(TestClock::manual(1_409_735_669_000), |v| {
        v.insert("app_id".into(), "wx2c2769f8efd9abc2".into());
        v.insert(
            "encoding_aes_key".into(),
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG".into(),
        );
    });
    let v: serde_json::Value = serde_json::from_str(include_str!("fixtures/vectors.json")).unwrap();
    let m = &v["message_crypto"];
    let q = format!(
        "/wx?signature={}&timestamp={}&nonce={}&encrypt_type=aes&msg_signature={}",
        m["signature"].as_str().unwrap(),
        m["timestamp"].as_str().unwrap(),
        m["nonce"].as_str().unwrap(),
        m["msg_signature"].as_str().unwrap()
    );
    let body = format!("<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA[{}]]></Encrypt></xml>", m["encrypt"].as_str().unwrap());
    let r = w.send(Request::new("POST", &q).with_body(body.clone()));
    assert_eq!((r.status, text(&r).as_str()), (200, "success"));
    // The same push with a byte of msg_signature changed is refused.
    let bad = q.replace("msg_signature=5d", "msg_signature=6d");
    let r = w.send(Request::new("POST", &bad).with_body(body));
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (403, Some("invalid_signature"))
    );
}

#[test]
fn webhook_replies_become_passive_replies_sealed_in_safe_mode() {
    let w = world(true);
    hook(&w, 200, r#"{"type":"text","content":"收到 ]]> ok"}"#);
    let r = push(&w, Mode::Safe, &fixture("text"));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/xml; charset=utf-8")
    );
    let body = text(&r);
    assert!(
        body.contains("<Encrypt>") && !body.contains("收到"),
        "{body}"
    );
    let reply = push::open_reply(w.sim.config(), &body).expect("WeChat can open it");
    let f = wxmp::core::xml::parse(&reply).unwrap();
    let get = |k: &str| {
        f.iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.text())
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        (
            get("ToUserName"),
            get("FromUserName"),
            get("MsgType"),
            get("Content")
        ),
        (
            "oSIMuser0000000000000000001".into(),
            "gh_5f2b3c4d5e6f".into(),
            "text".into(),
            "收到 ]]> ok".into()
        )
    );
    assert_eq!(get("CreateTime"), "1700000000");
}

#[test]
fn every_reply_kind_in_plaintext() {
    let cases = [
        (r#"{"type":"image","media_id":"M1"}"#, "<Image><MediaId><![CDATA[M1]]></MediaId></Image>"),
        (r#"{"type":"voice","media_id":"M2"}"#, "<Voice><MediaId><![CDATA[M2]]></MediaId></Voice>"),
        (r#"{"type":"video","media_id":"M3","title":"T"}"#, "<Video><MediaId><![CDATA[M3]]></MediaId><Title><![CDATA[T]]></Title><Description><![CDATA[]]></Description></Video>"),
        (r#"{"type":"music","title":"S","music_url":"u","thumb_media_id":"th"}"#, "<MusicUrl><![CDATA[u]]></MusicUrl><HQMusicUrl><![CDATA[]]></HQMusicUrl><ThumbMediaId><![CDATA[th]]></ThumbMediaId>"),
        (r#"{"type":"news","articles":[{"title":"A","url":"https://a"}]}"#, "<ArticleCount>1</ArticleCount><Articles><item><Title><![CDATA[A]]></Title>"),
    ];
    for (reply, expected) in cases {
        let w = world(true);
        hook(&w, 200, reply);
        let r = push(&w, Mode::Plain, &fixture("text"));
        assert!(text(&r).contains(expected), "{reply}: {}", text(&r));
        assert!(text(&r)
            .starts_with("<xml><ToUserName><![CDATA[oSIMuser0000000000000000001]]></ToUserName>"));
    }
}

#[test]
fn webhook_failures_answer_success_and_log() {
    for (status, body, why) in [
        (500, "oops", "status=500"),
        (200, "{not json", "not JSON"),
        (200, r#"{"type":"sticker"}"#, "not a reply"),
    ] {
        let w = world(true);
        hook(&w, status, body);
        let r = push(&w, Mode::Safe, &fixture("text"));
        assert_eq!((r.status, text(&r).as_str()), (200, "success"));
        assert!(
            w.logs
                .0
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains("webhook POST hook.test/wechat failed") && l.contains(why)),
            "{why}"
        );
    }
    // A webhook that takes too long: the budget ends the wait.
    let w = world(true);
    let clock = w.clock.clone();
    *w.http.webhook.lock().unwrap() = Some(Arc::new(move |r| {
        clock.advance(r.timeouts.total_ms);
        Err(Error::Timeout("no answer within 4000 ms".into()))
    }));
    let started = w.now_ms();
    let r = push(&w, Mode::Plain, &fixture("text"));
    assert_eq!(text(&r), "success");
    assert_eq!(w.now_ms() - started, 4_000);
    // No webhook configured: plain success, nothing logged as failed.
    let w = world(false);
    assert_eq!(
        text(&push(&w, Mode::Plain, &fixture("event_click"))),
        "success"
    );
}

#[test]
fn retries_get_the_first_answer_and_the_webhook_runs_once() {
    let w = world(true);
    let seen = hook(&w, 200, r#"{"type":"text","content":"once"}"#);
    let p = push::build(
        w.sim.config(),
        Mode::Plain,
        &fixture("text"),
        1_700_000_000,
        "n",
        [0; 16],
    );
    let first = w.send(Request::new("POST", &format!("/wx?{}", p.query)).with_body(p.body.clone()));
    // WeChat retries with a new nonce and signature; the message is the same.
    let retry = push::build(
        w.sim.config(),
        Mode::Plain,
        &fixture("text"),
        1_700_000_005,
        "n2",
        [1; 16],
    );
    let second =
        w.send(Request::new("POST", &format!("/wx?{}", retry.query)).with_body(retry.body));
    assert_eq!(first.body, second.body);
    assert!(text(&first).contains("once"));
    assert_eq!(seen.lock().unwrap().len(), 1);
    // Events dedup on FromUserName + CreateTime + Event.
    for _ in 0..3 {
        push(&w, Mode::Plain, &fixture("event_click"));
    }
    assert_eq!(seen.lock().unwrap().len(), 2);
    push(
        &w,
        Mode::Plain,
        &fixture("event_click").replace("1700000000", "1700000001"),
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        3,
        "another CreateTime is another event"
    );
}

#[test]
fn hostile_and_broken_pushes_are_refused_without_side_effects() {
    let w = world(true);
    let seen = hook(&w, 200, "");
    let laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol9 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]><xml><Content>&lol9;</Content></xml>";
    let xxe = "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><xml><Content>&xxe;</Content></xml>";
    for (body, error) in [
        (laughs, "invalid_xml"),
        (xxe, "invalid_xml"),
        ("<xml><a></xml>", "invalid_xml"),
        ("not xml", "invalid_xml"),
    ] {
        for mode in [Mode::Plain, Mode::Safe] {
            let r = push(&w, mode, body);
            assert_eq!(
                (r.status, json(&r)["error"].as_str()),
                (400, Some(error)),
                "{mode:?} {body:.30}"
            );
        }
    }
    // Bad signature, bad msg_signature, wrong AppID.
    let p = push::build(
        w.sim.config(),
        Mode::Safe,
        &fixture("text"),
        1_700_000_000,
        "n",
        [0; 16],
    );
    let bad_sig = p.query.replacen("signature=", "signature=0", 1);
    assert_eq!(
        w.send(Request::new("POST", &format!("/wx?{bad_sig}")).with_body(p.body.clone()))
            .status,
        403
    );
    let i = p.query.find("msg_signature=").unwrap() + "msg_signature=".len();
    let mut bad_msg = p.query.clone();
    bad_msg.replace_range(i..i + 1, if &p.query[i..i + 1] == "0" { "1" } else { "0" });
    assert_eq!(
        w.send(Request::new("POST", &format!("/wx?{bad_msg}")).with_body(p.body.clone()))
            .status,
        403
    );
    let other_app = wxmp_sim::SimConfig {
        app_id: "wxOTHER".into(),
        ..w.sim.config().clone()
    };
    let p = push::build(
        &other_app,
        Mode::Safe,
        &fixture("text"),
        1_700_000_000,
        "n",
        [0; 16],
    );
    let r = w.send(Request::new("POST", &format!("/wx?{}", p.query)).with_body(p.body));
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (400, Some("invalid_appid"))
    );
    let r = w.send(Request::new("POST", "/wx?timestamp=1&nonce=2").with_body("<xml/>"));
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (400, Some("missing_parameter"))
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing reached the webhook"
    );
    assert!(w.kv.keys().is_empty(), "nothing stored");
}

#[test]
fn safe_mode_without_an_aes_key_is_a_config_error() {
    let w = World::with_clock(TestClock::manual(1_700_000_000_000), |v| {
        v.insert("token".into(), "simtoken".into());
    });
    let r = push(&w, Mode::Safe, &fixture("text"));
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (500, Some("config"))
    );
    assert_eq!(text(&push(&w, Mode::Plain, &fixture("text"))), "success");
}

#[test]
fn safe_mode_takes_only_encrypted_pushes_compat_takes_both() {
    // An EncodingAESKey and no message_mode: safe mode.
    let w = world_in(true, None);
    let seen = hook(&w, 200, "");
    let r = push(&w, Mode::Plain, &fixture("text"));
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (403, Some("encryption_required"))
    );
    // Compat mode's pushes carry the plain fields too, but they are
    // encrypted (encrypt_type=aes), so safe mode takes them.
    for mode in [Mode::Compat, Mode::Safe] {
        assert_eq!(
            text(&push(
                &w,
                mode,
                &fixture("event_click")
                    .replace("1700000000", &format!("17000000{:02}", mode as u8))
            )),
            "success",
            "{mode:?}"
        );
    }
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "the refused push never reached the webhook"
    );
    // Plaintext mode takes plaintext pushes.
    let w = world_in(false, Some("plaintext"));
    assert_eq!(text(&push(&w, Mode::Plain, &fixture("text"))), "success");
}

#[test]
fn pushes_stamped_more_than_five_minutes_away_are_refused() {
    let w = world(true);
    let seen = hook(&w, 200, "");
    let now = w.now_ms() / 1000;
    for (offset, mode) in [
        (-301i64, Mode::Plain),
        (301, Mode::Safe),
        (-86_400, Mode::Compat),
    ] {
        let r = push_at(
            &w,
            mode,
            &fixture("text"),
            now.checked_add_signed(offset).unwrap(),
            "stale",
        );
        assert_eq!(
            (r.status, json(&r)["error"].as_str()),
            (403, Some("stale_push")),
            "{offset} {mode:?}"
        );
    }
    assert!(seen.lock().unwrap().is_empty());
    assert!(w.kv.keys().is_empty(), "a stale push stores nothing");
    assert_eq!(
        text(&push_at(
            &w,
            Mode::Plain,
            &fixture("text"),
            now - 300,
            "edge"
        )),
        "success"
    );
}

#[test]
fn a_captured_query_cannot_carry_another_body_but_a_retry_is_answered() {
    let w = world(true);
    let seen = hook(&w, 200, r#"{"type":"text","content":"first"}"#);
    let genuine = push::build(
        w.sim.config(),
        Mode::Plain,
        &fixture("text"),
        1_700_000_000,
        "cap",
        [0; 16],
    );
    let url = format!("/wx?{}", genuine.query);
    let first = w.send(Request::new("POST", &url).with_body(genuine.body.clone()));
    assert!(text(&first).contains("first"));
    // The same query with a forged body (in anybody's name) is refused...
    let forged = genuine
        .body
        .replace("你好 wxmp", "transfer everything")
        .replace("7300000000000000001", "1");
    assert_ne!(forged, genuine.body);
    let r = w.send(Request::new("POST", &url).with_body(forged));
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (403, Some("replayed_push"))
    );
    // ...while WeChat's retry of the same push with the same query gets the
    // first answer again, and the webhook ran once.
    let retry = w.send(Request::new("POST", &url).with_body(genuine.body));
    assert_eq!(retry.body, first.body);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

/// A webhook that takes `delay_ms` (on the test clock) and then replies.
fn slow_hook(w: &World, delay_ms: u64, reply: &str) {
    let (clock, reply) = (w.clock.clone(), reply.to_owned());
    *w.http.webhook.lock().unwrap() = Some(Arc::new(move |r| {
        clock.advance(delay_ms.min(r.timeouts.total_ms));
        if delay_ms > r.timeouts.total_ms {
            return Err(Error::Timeout("no answer".into()));
        }
        Ok(OutboundResponse {
            status: 200,
            headers: Vec::new(),
            body: reply.clone().into_bytes(),
        })
    }));
}

fn late_world(late_reply: &str) -> World {
    World::with_clock(TestClock::manual(1_700_000_000_000), |v| {
        v.insert("token".into(), "simtoken".into());
        v.insert(
            "encoding_aes_key".into(),
            "SimEncodingAesKey0123456789abcdefghijklmnop".into(),
        );
        v.insert("message_mode".into(), "compat".into());
        v.insert("message_webhook".into(), WEBHOOK_URL.into());
        v.insert("late_reply".into(), late_reply.into());
    })
}

fn logged(w: &World, needle: &str) -> bool {
    w.logs.0.lock().unwrap().iter().any(|l| l.contains(needle))
}

#[test]
fn a_late_webhook_reply_goes_out_as_a_customer_service_message() {
    let w = late_world("customer_service");
    w.sim.record_interaction(0, w.now_ms());
    slow_hook(
        &w,
        6_000,
        r#"{"type":"text","content":"稍等，已为您查到订单"}"#,
    );
    let r = push(&w, Mode::Safe, &fixture("text"));
    assert_eq!(
        (r.status, text(&r).as_str()),
        (200, "success"),
        "WeChat is answered in time"
    );
    let sent = w.sim.sent_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].kind, wxmp_sim::MessageKind::Custom);
    assert_eq!(sent[0].body["touser"], "oSIMuser0000000000000000001");
    assert_eq!(sent[0].body["text"]["content"], "稍等，已为您查到订单");
    assert!(logged(&w, "sent as a customer-service message"));

    // News keeps its first article; voice cannot go this way (logged).
    slow_hook(
        &w,
        5_000,
        r#"{"type":"news","articles":[{"title":"T","description":"D","url":"https://m.example.com/a","pic_url":"https://m.example.com/p.jpg"},{"title":"U","url":"https://m.example.com/b"}]}"#,
    );
    push(
        &w,
        Mode::Plain,
        &fixture("text").replace("7300000000000000001", "7300000000000000057"),
    );
    let sent = w.sim.sent_messages();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[1].body["news"]["articles"][0]["picurl"],
        "https://m.example.com/p.jpg"
    );
    slow_hook(&w, 5_000, r#"{"type":"voice","media_id":"M2"}"#);
    push(
        &w,
        Mode::Plain,
        &fixture("text").replace("7300000000000000001", "7300000000000000058"),
    );
    assert_eq!(w.sim.sent_messages().len(), 2);
    assert!(logged(&w, "a customer-service message cannot carry"));
}

#[test]
fn in_time_replies_stay_passive_and_late_ones_respect_wechats_window() {
    let w = late_world("customer_service");
    slow_hook(&w, 1_000, r#"{"type":"text","content":"马上"}"#);
    let r = push(&w, Mode::Plain, &fixture("text"));
    assert!(
        text(&r).contains("<Content><![CDATA[马上]]></Content>"),
        "{}",
        text(&r)
    );
    assert_eq!(w.sim.calls("/cgi-bin/message/custom/send"), 0);
    // Outside the 48-hour window: 45015, logged, not retried.
    slow_hook(&w, 8_000, r#"{"type":"text","content":"晚了"}"#);
    let r = push(
        &w,
        Mode::Plain,
        &fixture("text").replace("7300000000000000001", "7300000000000000059"),
    );
    assert_eq!(text(&r), "success");
    assert_eq!(w.sim.calls("/cgi-bin/message/custom/send"), 1);
    assert!(logged(&w, "errcode 45015"));
    // Past the late-reply limit nothing is sent.
    slow_hook(&w, 25_000, r#"{"type":"text","content":"太晚了"}"#);
    push(
        &w,
        Mode::Plain,
        &fixture("text").replace("7300000000000000001", "7300000000000000060"),
    );
    assert_eq!(w.sim.calls("/cgi-bin/message/custom/send"), 1);
    assert!(logged(&w, "nothing sent"));
}

#[test]
fn without_late_reply_a_late_answer_is_dropped() {
    let w = late_world("none");
    w.sim.record_interaction(0, w.now_ms());
    slow_hook(&w, 6_000, r#"{"type":"text","content":"晚了"}"#);
    let r = push(&w, Mode::Plain, &fixture("text"));
    assert_eq!(text(&r), "success");
    assert_eq!(w.sim.calls("/cgi-bin/message/custom/send"), 0);
    assert!(logged(&w, "answering success"));
}
