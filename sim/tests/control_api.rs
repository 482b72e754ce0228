//! The simulator over loopback HTTP: WeChat paths and the `/__sim/` control API.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;

use wxmp_sim::server::ServerOptions;
use wxmp_sim::{Sim, SimConfig};
use wxmp_testkit::http::{request, try_request};

/// Status and body; status 0 when the connection ended without an answer.
fn call(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    try_request(addr, method, path, &[], body.as_bytes())
        .map_or((0, String::new()), |r| (r.status, r.text()))
}

/// A simulator served on `addr` from its own runtime (kept alive by the caller).
fn serve(addr: &str) -> (tokio::runtime::Runtime, Arc<Sim>, SocketAddr) {
    serve_on(addr, ServerOptions::default())
}

/// [`serve`] with `options`.
fn serve_on(addr: &str, options: ServerOptions) -> (tokio::runtime::Runtime, Arc<Sim>, SocketAddr) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = Arc::new(Sim::new(SimConfig::default()));
    let server = rt
        .block_on(wxmp_sim::server::start_with(
            addr.parse().unwrap(),
            sim.clone(),
            options,
        ))
        .unwrap();
    let bound = server.addr;
    (rt, sim, bound)
}

#[test]
fn control_api_counts_injects_and_answers_like_wechat() {
    let (_rt, sim, addr) = serve("127.0.0.1:0");
    let c = sim.config().clone();
    let token_path = format!(
        "/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
        c.app_id, c.app_secret
    );

    let (status, body) = call(
        addr,
        "POST",
        "/__sim/fault",
        r#"{"path":"/cgi-bin/token","times":1,"fault":{"kind":"errcode","errcode":-1}}"#,
    );
    assert_eq!((status, body.as_str()), (200, r#"{"ok":true}"#));
    assert_eq!(
        call(addr, "GET", &token_path, "").1,
        r#"{"errcode":-1,"errmsg":"system error"}"#
    );
    let (_, ok) = call(addr, "GET", &token_path, "");
    assert!(
        ok.contains("\"access_token\":\"ACCESS_TOKEN_") && ok.contains("\"expires_in\":7200"),
        "{ok}"
    );

    call(
        addr,
        "POST",
        "/__sim/fault",
        r#"{"path":"/cgi-bin/token","fault":{"kind":"drop"}}"#,
    );
    assert_eq!(
        call(addr, "GET", &token_path, "").0,
        0,
        "connection dropped without an answer"
    );
    call(
        addr,
        "POST",
        "/__sim/fault",
        r#"{"path":"/cgi-bin/token","fault":{"kind":"status","status":502}}"#,
    );
    assert_eq!(call(addr, "GET", &token_path, "").0, 502);

    let (_, calls) = call(addr, "GET", "/__sim/calls", "");
    assert_eq!(calls, r#"{"/cgi-bin/token":4}"#);
    let (_, code) = call(
        addr,
        "POST",
        "/__sim/code",
        r#"{"user":1,"scope":"snsapi_base"}"#,
    );
    assert!(code.contains("\"code\":\"code_"), "{code}");
    assert_eq!(call(addr, "POST", "/__sim/fault", "not json").0, 400);
    assert_eq!(call(addr, "GET", "/__sim/nope", "").0, 404);
    call(addr, "POST", "/__sim/reset", "");
    assert_eq!(call(addr, "GET", "/__sim/calls", "").1, "{}");
}

/// This machine's address on its default route, if it has one.
fn non_loopback_ip() -> Option<std::net::IpAddr> {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    probe.connect("10.255.255.255:9").ok()?;
    let ip = probe.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn the_control_api_answers_loopback_callers_only() {
    let (_rt, _sim, addr) = serve("0.0.0.0:0");
    let port = addr.port();
    let loopback: SocketAddr = ([127, 0, 0, 1], port).into();
    assert_eq!(call(loopback, "GET", "/__sim/calls", "").0, 200);
    let ip = non_loopback_ip().expect("a machine with a network address besides loopback");
    let remote = SocketAddr::new(ip, port);
    let (status, body) = call(remote, "POST", "/__sim/revoke", "");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("loopback callers only"));
    // WeChat's own paths still answer everyone, as WeChat's do.
    assert_eq!(call(remote, "GET", "/cgi-bin/token", "").0, 200);
}

/// An access token from the served simulator.
fn access_token(addr: SocketAddr, sim: &Sim) -> String {
    let c = sim.config();
    let path = format!(
        "/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
        c.app_id, c.app_secret
    );
    call_json(addr, "GET", &path, "")["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The JSON answer of a call.
fn call_json(addr: SocketAddr, method: &str, path: &str, body: &str) -> serde_json::Value {
    serde_json::from_str(&call(addr, method, path, body).1).unwrap()
}

#[test]
fn control_api_drives_follows_interactions_and_the_callback_check() {
    let (_rt, sim, addr) = serve("127.0.0.1:0");
    let c = sim.config().clone();
    let token = access_token(addr, &sim);
    let custom = |user: usize| {
        let body = serde_json::json!({"touser": c.users[user].openid, "msgtype": "text", "text": {"content": "hi"}});
        call_json(
            addr,
            "POST",
            &format!("/cgi-bin/message/custom/send?access_token={token}"),
            &body.to_string(),
        )["errcode"]
            .as_i64()
            .unwrap()
    };
    let ok = (200, r#"{"ok":true}"#.to_owned());

    // Bob neither follows nor has written: follow, then write, then he can be answered.
    assert_eq!(custom(1), 45015);
    assert_eq!(
        call(
            addr,
            "POST",
            "/__sim/follow",
            r#"{"user":1,"follows":true}"#
        ),
        ok
    );
    assert_eq!(custom(1), 45015);
    assert_eq!(
        call(addr, "POST", "/__sim/interaction", r#"{"user":1}"#),
        ok
    );
    assert_eq!(custom(1), 0);
    let sent = call_json(addr, "GET", "/__sim/sent", "");
    assert_eq!(sent.as_array().unwrap().len(), 1);
    assert_eq!(
        (&sent[0]["kind"], &sent[0]["body"]["touser"]),
        (
            &serde_json::json!("custom"),
            &serde_json::json!(c.users[1].openid)
        )
    );
    assert_eq!(
        call(addr, "POST", "/__sim/interaction", r#"{"user":9}"#).0,
        400
    );
    assert_eq!(call(addr, "POST", "/__sim/follow", r#"{"user":1}"#).0, 400);

    // A pushed message opens Alice's window even when the app is down.
    assert_eq!(custom(0), 45015);
    let (status, _) = call(
        addr,
        "POST",
        "/__sim/push",
        r#"{"url":"http://127.0.0.1:1/wx","mode":"plain","content":"hello","user":0}"#,
    );
    assert_eq!(status, 502);
    assert_eq!(custom(0), 0);

    let check = || {
        call_json(
            addr,
            "POST",
            &format!("/cgi-bin/callback/check?access_token={token}"),
            r#"{"action":"ping","check_operator":"DEFAULT"}"#,
        )["ping"][0]["package_loss"]
            .clone()
    };
    assert_eq!(check(), "0%");
    assert_eq!(
        call(addr, "POST", "/__sim/callback", r#"{"reachable":false}"#),
        ok
    );
    assert_eq!(check(), "100%");

    // The allow-list names the caller as the server saw it.
    call(
        addr,
        "POST",
        "/__sim/fault",
        r#"{"path":"/cgi-bin/getcallbackip","fault":{"kind":"ip_not_allowed"}}"#,
    );
    let denied = call_json(
        addr,
        "GET",
        &format!("/cgi-bin/getcallbackip?access_token={token}"),
        "",
    );
    assert_eq!(denied["errcode"], 40164);
    let msg = denied["errmsg"].as_str().unwrap();
    assert!(
        msg.starts_with("invalid ip 127.0.0.1 ipv6 ::ffff:127.0.0.1, not in whitelist rid: "),
        "{msg}"
    );
}

#[test]
fn media_and_qr_images_travel_as_bytes() {
    let (_rt, sim, addr) = serve("127.0.0.1:0");
    let token = access_token(addr, &sim);
    // 3 MiB: over the old 1 MiB body limit, under the image limit.
    let image: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 253) as u8).collect();
    let boundary = "wxmpsimBoundary42";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"big.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").into_bytes();
    body.extend(&image);
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let up = try_request(
        addr,
        "POST",
        &format!("/cgi-bin/media/upload?access_token={token}&type=image"),
        &[("content-type", &content_type)],
        &body,
    )
    .unwrap()
    .json();
    let id = up["media_id"].as_str().unwrap();
    let got = try_request(
        addr,
        "GET",
        &format!("/cgi-bin/media/get?access_token={token}&media_id={id}"),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(got.header("content-type"), Some("image/jpeg"));
    assert_eq!(
        got.header("content-disposition"),
        Some(format!("attachment; filename=\"{id}.jpg\"").as_str())
    );
    assert!(got.body == image, "the bytes come back as uploaded");

    let qr = call_json(
        addr,
        "POST",
        &format!("/cgi-bin/qrcode/create?access_token={token}"),
        r#"{"action_name":"QR_LIMIT_SCENE","action_info":{"scene":{"scene_id":7}}}"#,
    );
    let mut show = url::Url::parse("http://sim/cgi-bin/showqrcode").unwrap();
    show.query_pairs_mut()
        .append_pair("ticket", qr["ticket"].as_str().unwrap());
    let path = format!("{}?{}", show.path(), show.query().unwrap());
    let png = try_request(addr, "GET", &path, &[], b"").unwrap();
    assert_eq!(
        (png.status, png.header("content-type")),
        (200, Some("image/png"))
    );
    assert_eq!(&png.body[..8], b"\x89PNG\r\n\x1a\n");
}

/// A simulator served with `options` on a free loopback port.
fn serve_with(options: ServerOptions) -> (tokio::runtime::Runtime, Arc<Sim>, SocketAddr) {
    serve_on("127.0.0.1:0", options)
}

const CORS_HEADERS: [&str; 4] = [
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
];

#[test]
fn browsers_reach_the_control_api_from_the_allowed_origins_only() {
    let (_rt, sim, addr) = serve_with(ServerOptions {
        // A wildcard in the setting is never honoured.
        allowed_origins: vec![
            "http://127.0.0.1:3000".into(),
            "http://localhost:3000".into(),
            "*".into(),
        ],
    });
    let token = access_token(addr, &sim);
    let ip_list = |token: &str| {
        call_json(
            addr,
            "GET",
            &format!("/cgi-bin/getcallbackip?access_token={token}"),
            "",
        )
    };
    let fault = br#"{"path":"/cgi-bin/getcallbackip","times":1,"fault":{"kind":"errcode","errcode":40001}}"#;

    // Foreign origins: no CORS headers, and no effect either (a simple POST
    // would otherwise reach the simulator blind).
    for origin in [
        "https://evil.example",
        "http://127.0.0.1:3001",
        "https://127.0.0.1:3000",
        "http://localhost:3000.evil.example",
        "null",
        "*",
    ] {
        let pre = preflight(addr, origin);
        assert_eq!(pre.status, 403, "{origin}: {}", pre.text());
        for (path, body) in [("/__sim/fault", &fault[..]), ("/__sim/revoke", b"")] {
            let r = request(
                addr,
                "POST",
                path,
                &[("origin", origin), ("content-type", "text/plain")],
                body,
            );
            assert_eq!(r.status, 403, "{origin} {path}: {}", r.text());
            assert!(r.text().contains("allowed origins only"));
            for resp in [&pre, &r] {
                for h in CORS_HEADERS {
                    assert_eq!(resp.header(h), None, "{origin} {path}: {h}");
                }
            }
        }
        let list = ip_list(&token);
        assert!(list["ip_list"].is_array(), "{origin}: {list}");
    }

    // The allowed origins: a preflight for a JSON POST, then the call.
    for origin in ["http://127.0.0.1:3000", "http://localhost:3000"] {
        let pre = preflight(addr, origin);
        assert_eq!(pre.status, 204, "{}", pre.text());
        assert_eq!(pre.header("access-control-allow-origin"), Some(origin));
        assert_eq!(
            pre.header("access-control-allow-methods"),
            Some("GET, POST")
        );
        assert_eq!(
            pre.header("access-control-allow-headers"),
            Some("content-type")
        );
        assert_eq!(pre.header("access-control-max-age"), Some("600"));
        assert_eq!(pre.header("vary"), Some("origin"));
        let put = request(
            addr,
            "OPTIONS",
            "/__sim/fault",
            &[("origin", origin), ("access-control-request-method", "PUT")],
            b"",
        );
        assert_eq!(put.status, 405);
        assert_eq!(put.header("access-control-allow-methods"), None);

        let r = request(
            addr,
            "POST",
            "/__sim/fault",
            &[("origin", origin), ("content-type", "application/json")],
            fault,
        );
        assert_eq!((r.status, r.text().as_str()), (200, r#"{"ok":true}"#));
        assert_eq!(r.header("access-control-allow-origin"), Some(origin));
        assert_eq!(r.header("vary"), Some("origin"));
        assert_eq!(ip_list(&token)["errcode"], 40001, "the fault was injected");
        let calls = request(addr, "GET", "/__sim/calls", &[("origin", origin)], b"");
        assert_eq!(calls.status, 200);
        assert_eq!(calls.header("access-control-allow-origin"), Some(origin));
    }
    let revoke = request(
        addr,
        "POST",
        "/__sim/revoke",
        &[("origin", "http://localhost:3000")],
        b"",
    );
    assert_eq!(revoke.status, 200);
    assert_eq!(
        ip_list(&token)["errcode"],
        40001,
        "revoked: {}",
        revoke.text()
    );

    // Callers without an Origin (tests, curl) are served as before, with no
    // CORS headers; OPTIONS is no control endpoint for them.
    let plain = request(addr, "GET", "/__sim/calls", &[], b"");
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("access-control-allow-origin"), None);
    assert_eq!(
        request(addr, "OPTIONS", "/__sim/fault", &[], b"").status,
        404
    );

    // The jweixin stand-in's check answers every origin, as before.
    let check = request(
        addr,
        "POST",
        "/__sim/jssdk/check",
        &[("origin", "https://evil.example")],
        b"{}",
    );
    assert_eq!(check.status, 200);
    assert_eq!(check.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn without_allowed_origins_only_the_simulator_s_own_pages_may_call_it() {
    let (_rt, _sim, addr) = serve("127.0.0.1:0");
    let own = format!("http://{addr}");
    let mine = request(addr, "GET", "/__sim/calls", &[("origin", &own)], b"");
    assert_eq!(mine.status, 200);
    assert_eq!(
        mine.header("access-control-allow-origin"),
        Some(own.as_str())
    );
    let page = request(
        addr,
        "GET",
        "/__sim/calls",
        &[("origin", "http://127.0.0.1:3000")],
        b"",
    );
    assert_eq!(page.status, 403);
    assert_eq!(page.header("access-control-allow-origin"), None);
}

/// A browser's CORS preflight for a JSON POST to the fault control.
fn preflight(addr: SocketAddr, origin: &str) -> wxmp_testkit::http::Resp {
    request(
        addr,
        "OPTIONS",
        "/__sim/fault",
        &[
            ("origin", origin),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type"),
        ],
        b"",
    )
}
