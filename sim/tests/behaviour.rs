//! wxmp-sim behaves as WeChat documents: token semantics per mode, single-use
//! codes, scopes, error shapes, counters and faults; messages, QR codes,
//! media, user info, the server IP lists, the callback check and the IP
//! allow-list.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

use serde_json::json;
use wxmp_sim::{Fault, MessageKind, Reply, Sim, SimConfig, SimRequest, SimResponse};

const T0: u64 = 1_700_000_000_000;

fn sim() -> Sim {
    Sim::new(SimConfig::default())
}

fn call(s: &Sim, method: &str, url: &str, body: &str, now: u64) -> SimResponse {
    respond(
        s,
        &SimRequest::new(method, url, body.as_bytes().to_vec()),
        now,
    )
}

fn respond(s: &Sim, req: &SimRequest, now: u64) -> SimResponse {
    match s.handle(req, now) {
        Reply::Respond { response, .. } => response,
        Reply::Drop => panic!("dropped"),
    }
}

fn stable(s: &Sim, force: bool, now: u64) -> serde_json::Value {
    let c = s.config();
    let body = serde_json::json!({"grant_type":"client_credential","appid":c.app_id,"secret":c.app_secret,"force_refresh":force});
    call(s, "POST", "/cgi-bin/stable_token", &body.to_string(), now).json_body()
}

fn classic(s: &Sim, now: u64) -> serde_json::Value {
    let c = s.config();
    call(
        s,
        "GET",
        &format!(
            "/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
            c.app_id, c.app_secret
        ),
        "",
        now,
    )
    .json_body()
}

fn ticket(s: &Sim, token: &serde_json::Value, now: u64) -> serde_json::Value {
    call(
        s,
        "GET",
        &format!(
            "/cgi-bin/ticket/getticket?access_token={}&type=jsapi",
            token["access_token"].as_str().unwrap()
        ),
        "",
        now,
    )
    .json_body()
}

#[test]
fn stable_token_is_stable_then_rotates_in_the_last_five_minutes() {
    let s = sim();
    let a = stable(&s, false, T0);
    assert_eq!(a["expires_in"], 7200);
    let again = stable(&s, false, T0 + 1000 * 1000);
    assert_eq!(again["access_token"], a["access_token"]);
    assert_eq!(again["expires_in"], 6200);
    let rotated = stable(&s, false, T0 + (7200 - 300) * 1000);
    assert_ne!(rotated["access_token"], a["access_token"]);
    // The old one still works until it expires.
    assert_eq!(ticket(&s, &a, T0 + (7200 - 10) * 1000)["errcode"], 0);
    assert_eq!(ticket(&s, &a, T0 + 7200 * 1000)["errcode"], 42001);
}

#[test]
fn forced_stable_refresh_revokes_at_once_and_is_capped() {
    let s = sim();
    let a = stable(&s, false, T0);
    let b = stable(&s, true, T0 + 1000);
    assert_ne!(a["access_token"], b["access_token"]);
    assert_eq!(ticket(&s, &a, T0 + 2000)["errcode"], 40001);
    assert_eq!(ticket(&s, &b, T0 + 2000)["errcode"], 0);
    for i in 1..20 {
        assert!(
            stable(&s, true, T0 + 2000 + i)
                .get("access_token")
                .is_some(),
            "force {i}"
        );
    }
    assert_eq!(stable(&s, true, T0 + 3000)["errcode"], 45009);
}

#[test]
fn classic_token_replaces_the_previous_after_five_minutes() {
    let s = sim();
    let a = classic(&s, T0);
    let b = classic(&s, T0 + 1000);
    assert_ne!(a["access_token"], b["access_token"]);
    assert_eq!(ticket(&s, &a, T0 + 4 * 60_000)["errcode"], 0);
    assert_eq!(ticket(&s, &a, T0 + 6 * 60_000)["errcode"], 40001);
    assert_eq!(ticket(&s, &b, T0 + 6 * 60_000)["errcode"], 0);
    // Stable tokens are isolated from classic fetches.
    let st = stable(&s, false, T0);
    classic(&s, T0 + 2000);
    assert_eq!(ticket(&s, &st, T0 + 10 * 60_000)["errcode"], 0);
}

#[test]
fn bad_credentials_get_their_errcodes() {
    let s = sim();
    let r = call(
        &s,
        "GET",
        "/cgi-bin/token?grant_type=client_credential&appid=wxother&secret=x",
        "",
        T0,
    )
    .json_body();
    assert_eq!(r["errcode"], 40013);
    let id = s.config().app_id.clone();
    let r = call(
        &s,
        "GET",
        &format!("/cgi-bin/token?grant_type=client_credential&appid={id}&secret=wrong"),
        "",
        T0,
    )
    .json_body();
    assert_eq!(r["errcode"], 40125);
    assert_eq!(
        call(
            &s,
            "GET",
            "/cgi-bin/ticket/getticket?access_token=nope&type=jsapi",
            "",
            T0
        )
        .json_body()["errcode"],
        40001
    );
}

#[test]
fn codes_are_single_use_and_expire_after_five_minutes() {
    let s = sim();
    let c = s.config().clone();
    let exchange = |code: &str, now| {
        call(&s, "GET", &format!("/sns/oauth2/access_token?appid={}&secret={}&code={code}&grant_type=authorization_code", c.app_id, c.app_secret), "", now).json_body()
    };
    let code = s.issue_code(0, "snsapi_base", false, T0);
    let g = exchange(&code, T0);
    assert_eq!(g["openid"], c.users[0].openid);
    assert_eq!(g["scope"], "snsapi_base");
    // As documented: unionid only with snsapi_userinfo, even for a user who has one.
    assert!(c.users[0].unionid.is_some());
    assert!(g.get("unionid").is_none(), "{g}");
    assert!(g.get("is_snapshotuser").is_none());
    let code = s.issue_code(0, "snsapi_userinfo", false, T0);
    assert_eq!(
        exchange(&code, T0)["unionid"],
        c.users[0].unionid.clone().unwrap()
    );
    assert_eq!(exchange(&code, T0)["errcode"], 40163);
    let late = s.issue_code(0, "snsapi_base", false, T0);
    assert_eq!(exchange(&late, T0 + 301_000)["errcode"], 40029);
    assert_eq!(exchange("made-up", T0)["errcode"], 40029);
    // snsapi_base grants cannot read the profile.
    let ui = call(
        &s,
        "GET",
        &format!(
            "/sns/userinfo?access_token={}&openid={}&lang=zh_CN",
            g["access_token"].as_str().unwrap(),
            c.users[0].openid
        ),
        "",
        T0,
    )
    .json_body();
    assert_eq!(ui["errcode"], 48001);
}

#[test]
fn userinfo_grant_reads_the_profile_and_auth_checks_it() {
    let s = sim();
    let c = s.config().clone();
    let code = s.issue_code(1, "snsapi_userinfo", false, T0);
    let g = call(
        &s,
        "GET",
        &format!(
            "/sns/oauth2/access_token?appid={}&secret={}&code={code}&grant_type=authorization_code",
            c.app_id, c.app_secret
        ),
        "",
        T0,
    )
    .json_body();
    assert!(g.get("unionid").is_none(), "user 1 has no unionid");
    let tok = g["access_token"].as_str().unwrap();
    let ui = call(
        &s,
        "GET",
        &format!(
            "/sns/userinfo?access_token={tok}&openid={}&lang=en",
            c.users[1].openid
        ),
        "",
        T0,
    )
    .json_body();
    assert_eq!(ui["nickname"], "Bob");
    let ok = call(
        &s,
        "GET",
        &format!("/sns/auth?access_token={tok}&openid={}", c.users[1].openid),
        "",
        T0,
    )
    .json_body();
    assert_eq!(ok, serde_json::json!({"errcode": 0, "errmsg": "ok"}));
    let bad = call(
        &s,
        "GET",
        &format!("/sns/auth?access_token={tok}&openid=other"),
        "",
        T0,
    )
    .json_body();
    assert_eq!(bad["errcode"], 40003);
    let refreshed = call(
        &s,
        "GET",
        &format!(
            "/sns/oauth2/refresh_token?appid={}&grant_type=refresh_token&refresh_token={}",
            c.app_id,
            g["refresh_token"].as_str().unwrap()
        ),
        "",
        T0,
    )
    .json_body();
    assert_eq!(refreshed["openid"], c.users[1].openid);
}

#[test]
fn authorize_consents_silently_for_base_and_asks_for_userinfo() {
    let s = sim();
    let id = s.config().app_id.clone();
    let url = |scope: &str, extra: &str| {
        format!("/connect/oauth2/authorize?appid={id}&redirect_uri=https%3A%2F%2Fa.example%2Fcb%3Fx%3D1&response_type=code&scope={scope}&state=S1{extra}")
    };
    let base = call(&s, "GET", &url("snsapi_base", ""), "", T0);
    assert_eq!(base.status, 302);
    let loc = &base.headers[0].1;
    assert!(
        loc.starts_with("https://a.example/cb?x=1&code=code_") && loc.ends_with("&state=S1"),
        "{loc}"
    );
    let page = call(&s, "GET", &url("snsapi_userinfo", ""), "", T0);
    assert_eq!(page.status, 200);
    let html = String::from_utf8(page.body).unwrap();
    assert!(
        html.contains("id=\"allow\"")
            && html.contains("sim_decision=allow")
            && html.contains("Alice")
    );
    let deny = call(
        &s,
        "GET",
        &url("snsapi_userinfo", "&sim_decision=deny"),
        "",
        T0,
    );
    assert_eq!(deny.headers[0].1, "https://a.example/cb?x=1&state=S1");
    assert_eq!(
        call(&s, "GET", &url("snsapi_login", ""), "", T0).status,
        400
    );
}

#[test]
fn faults_are_consumed_in_order_and_calls_counted() {
    let s = sim();
    s.inject(
        "/cgi-bin/stable_token",
        Fault::Errcode {
            errcode: -1,
            errmsg: None,
        },
        1,
    );
    s.inject("/cgi-bin/stable_token", Fault::Drop, 1);
    s.inject("/cgi-bin/stable_token", Fault::Delay { ms: 700 }, 1);
    assert_eq!(
        stable(&s, false, T0),
        serde_json::json!({"errcode": -1, "errmsg": "system error"})
    );
    assert_eq!(
        s.handle(
            &SimRequest::new("POST", "/cgi-bin/stable_token", Vec::new()),
            T0
        ),
        Reply::Drop
    );
    let delayed = s.handle(
        &SimRequest::new("POST", "/cgi-bin/stable_token", b"{}".to_vec()),
        T0,
    );
    assert!(matches!(delayed, Reply::Respond { delay_ms: 700, .. }));
    assert_eq!(s.calls("/cgi-bin/stable_token"), 3);
    s.reset_calls();
    assert_eq!(s.calls("/cgi-bin/stable_token"), 0);
}

#[test]
fn snapshot_page_users_get_virtual_flagged_ids() {
    let s = sim();
    let c = s.config().clone();
    let exchange = |code: &str| {
        call(&s, "GET", &format!("/sns/oauth2/access_token?appid={}&secret={}&code={code}&grant_type=authorization_code", c.app_id, c.app_secret), "", T0).json_body()
    };
    let g = exchange(&s.issue_code(0, "snsapi_userinfo", true, T0));
    assert_eq!(g["is_snapshotuser"], 1);
    assert_eq!(g["openid"], s.snapshot_openid(0));
    assert_ne!(g["openid"], c.users[0].openid);
    assert_ne!(g["unionid"], c.users[0].unionid.clone().unwrap());
    // Through the authorize page too, and only for snsapi_userinfo.
    let authorize = |scope: &str| {
        let r = call(&s, "GET", &format!("/connect/oauth2/authorize?appid={}&redirect_uri=https%3A%2F%2Fm.example.com%2Fcb&response_type=code&scope={scope}&state=s&sim_decision=allow&sim_snapshot=1", c.app_id), "", T0);
        let location = r
            .headers
            .iter()
            .find(|(k, _)| k == "location")
            .unwrap()
            .1
            .clone();
        url::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned()
    };
    assert_eq!(
        exchange(&authorize("snsapi_userinfo"))["is_snapshotuser"],
        1
    );
    assert!(exchange(&authorize("snsapi_base"))
        .get("is_snapshotuser")
        .is_none());
}

const HOUR: u64 = 3_600_000;

/// A valid access token at `now`.
fn access_token(s: &Sim, now: u64) -> String {
    stable(s, false, now)["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// POSTs JSON `body` to `path` with `token`; the JSON answer.
fn post_api(
    s: &Sim,
    path: &str,
    token: &str,
    body: &serde_json::Value,
    now: u64,
) -> serde_json::Value {
    call(
        s,
        "POST",
        &format!("{path}?access_token={token}"),
        &body.to_string(),
        now,
    )
    .json_body()
}

/// GETs `path` (its query without the token) with `token`.
fn get_api(s: &Sim, path: &str, token: &str, now: u64) -> SimResponse {
    let sep = if path.contains('?') { '&' } else { '?' };
    call(
        s,
        "GET",
        &format!("{path}{sep}access_token={token}"),
        "",
        now,
    )
}

fn openid(s: &Sim, user: usize) -> String {
    s.config().users[user].openid.clone()
}

fn template(to: &str) -> serde_json::Value {
    json!({
        "touser": to, "template_id": "TPL_ORDER_SHIPPED", "url": "https://shop.example/o/1",
        "miniprogram": {"appid": "wxminiapp", "pagepath": "index?o=1"},
        "data": {"thing1": {"value": "巧克力"}, "amount2": {"value": "39.8元", "color": "#173177"}},
    })
}

const TEMPLATE_SEND: &str = "/cgi-bin/message/template/send";
const CUSTOM_SEND: &str = "/cgi-bin/message/custom/send";

#[test]
fn template_messages_reach_followers_once_per_client_msg_id() {
    let s = sim();
    let tok = access_token(&s, T0);
    let alice = openid(&s, 0);
    let sent = post_api(&s, TEMPLATE_SEND, &tok, &template(&alice), T0);
    assert_eq!(
        (sent["errcode"].as_i64(), sent["errmsg"].as_str()),
        (Some(0), Some("ok"))
    );
    let msgid = sent["msgid"].as_u64().unwrap();
    assert!(msgid > 1 << 53, "msgids need 64-bit integers: {msgid}");
    let log = s.sent_messages();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].kind, log[0].msgid, &log[0].body),
        (MessageKind::Template, Some(msgid), &template(&alice))
    );

    // The same client_msg_id within 10 minutes is sent once, without error.
    let mut once = template(&alice);
    once["client_msg_id"] = json!("ORDER-1-SHIPPED");
    let first = post_api(&s, TEMPLATE_SEND, &tok, &once, T0);
    let again = post_api(&s, TEMPLATE_SEND, &tok, &once, T0 + 9 * 60_000);
    assert_eq!(
        (again["errcode"].as_i64(), &again["msgid"]),
        (Some(0), &first["msgid"])
    );
    assert_eq!(s.sent_messages().len(), 2);
    let tok = access_token(&s, T0 + 11 * 60_000);
    let later = post_api(&s, TEMPLATE_SEND, &tok, &once, T0 + 11 * 60_000);
    assert_ne!(later["msgid"], first["msgid"]);
    assert_eq!(s.sent_messages().len(), 3);
}

#[test]
fn template_messages_get_wechats_errcodes() {
    let s = sim();
    let tok = access_token(&s, T0);
    let alice = openid(&s, 0);
    let errcode =
        |body: &serde_json::Value| post_api(&s, TEMPLATE_SEND, &tok, body, T0)["errcode"].clone();
    assert_eq!(
        post_api(&s, TEMPLATE_SEND, "nope", &template(&alice), T0)["errcode"],
        40001
    );
    let expired = post_api(&s, TEMPLATE_SEND, &tok, &template(&alice), T0 + 7200 * 1000);
    assert_eq!(expired["errcode"], 42001);
    assert_eq!(
        call(
            &s,
            "POST",
            &format!("{TEMPLATE_SEND}?access_token={tok}"),
            "not json",
            T0
        )
        .json_body(),
        json!({"errcode": 47001, "errmsg": "data format error"})
    );
    for broken in [
        json!({"touser": alice, "template_id": "TPL_ORDER_SHIPPED"}),
        json!({"touser": alice, "template_id": "TPL_ORDER_SHIPPED", "data": ["x"]}),
        json!({"touser": alice, "template_id": "TPL_ORDER_SHIPPED", "data": {"k": "v"}}),
        json!({"touser": alice, "template_id": "TPL_ORDER_SHIPPED", "data": {"k": {"value": 3}}}),
        json!({"template_id": "TPL_ORDER_SHIPPED", "data": {}}),
    ] {
        assert_eq!(errcode(&broken), 47001, "{broken}");
    }
    assert_eq!(
        post_api(&s, TEMPLATE_SEND, &tok, &template("oSOMEONEelse"), T0),
        json!({"errcode": 40003, "errmsg": "invalid openid"})
    );
    let mut other = template(&alice);
    other["template_id"] = json!("TPL_NOT_ADDED");
    assert_eq!(errcode(&other), 40037);
    // Bob does not follow the account (the default users: Alice does).
    let bob = openid(&s, 1);
    assert_eq!(
        post_api(&s, TEMPLATE_SEND, &tok, &template(&bob), T0),
        json!({"errcode": 43004, "errmsg": "require subscribe"})
    );
    assert!(s.set_follows(1, true, T0));
    assert_eq!(errcode(&template(&bob)), 0);
    assert_eq!(
        s.sent_messages().len(),
        1,
        "only the accepted one is recorded"
    );
    assert_eq!(s.calls(TEMPLATE_SEND), 12);
}

fn text_to(to: &str, content: &str) -> serde_json::Value {
    json!({"touser": to, "msgtype": "text", "text": {"content": content}})
}

#[test]
fn custom_messages_need_the_48_hour_window_and_keep_to_its_5() {
    let s = sim();
    let alice = openid(&s, 0);
    let send = |now: u64| {
        post_api(
            &s,
            CUSTOM_SEND,
            &access_token(&s, now),
            &text_to(&alice, "hi"),
            now,
        )
    };
    assert_eq!(
        send(T0),
        json!({"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"})
    );
    assert!(s.record_interaction(0, T0));
    for i in 0..5 {
        assert_eq!(
            send(T0 + i * HOUR),
            json!({"errcode": 0, "errmsg": "ok"}),
            "message {i}"
        );
    }
    assert_eq!(
        send(T0 + 6 * HOUR),
        json!({"errcode": 45047, "errmsg": "out of response count limit"})
    );
    // A new message from the user opens a fresh window.
    s.record_interaction(0, T0 + 10 * HOUR);
    assert_eq!(send(T0 + 57 * HOUR)["errcode"], 0);
    assert_eq!(
        send(T0 + 58 * HOUR)["errcode"],
        45015,
        "48 h after the last message"
    );
    // Unfollowing closes the window too.
    s.record_interaction(0, T0 + 60 * HOUR);
    s.set_follows(0, false, T0 + 60 * HOUR);
    assert_eq!(send(T0 + 61 * HOUR)["errcode"], 45015);
    let log = s.sent_messages();
    assert_eq!(log.len(), 6);
    assert!(log
        .iter()
        .all(|m| m.kind == MessageKind::Custom && m.msgid.is_none()));
    assert_eq!(log[0].body, text_to(&alice, "hi"));
    assert_eq!(log[0].sent_ms, T0);
}

#[test]
fn custom_messages_get_wechats_errcodes() {
    let s = sim();
    let tok = access_token(&s, T0);
    let alice = openid(&s, 0);
    s.record_interaction(0, T0);
    let send =
        |body: serde_json::Value| post_api(&s, CUSTOM_SEND, &tok, &body, T0)["errcode"].clone();
    assert_eq!(send(text_to("oSOMEONEelse", "hi")), 40003);
    let article = json!({"title": "Happy Day", "description": "Is Really A Happy Day", "url": "https://a.example/1", "picurl": "https://a.example/1.jpg"});
    assert_eq!(
        post_api(
            &s,
            CUSTOM_SEND,
            &tok,
            &json!({"touser": alice, "msgtype": "news", "news": {"articles": [article, article]}}),
            T0
        ),
        json!({"errcode": 45008, "errmsg": "article size out of limit"})
    );
    assert_eq!(
        send(json!({"touser": alice, "msgtype": "text", "text": {}})),
        47001
    );
    assert_eq!(
        send(json!({"touser": alice, "msgtype": "news", "news": {"articles": []}})),
        47001
    );
    assert_eq!(
        send(json!({"touser": alice, "text": {"content": "hi"}})),
        47001
    );
    assert_eq!(
        call(
            &s,
            "POST",
            &format!("{CUSTOM_SEND}?access_token={tok}"),
            "{",
            T0
        )
        .json_body()["errcode"],
        47001
    );
    assert_eq!(
        send(json!({"touser": alice, "msgtype": "telegram", "telegram": {}})),
        40008
    );
    assert_eq!(
        send(
            json!({"touser": alice, "msgtype": "image", "image": {"media_id": "MEDIA_never_uploaded"}})
        ),
        40007
    );
    assert_eq!(
        s.sent_messages().len(),
        0,
        "refused messages use no quota and are not recorded"
    );
    assert_eq!(
        send(json!({"touser": alice, "msgtype": "news", "news": {"articles": [article]}})),
        0
    );
    assert_eq!(send(text_to(&alice, "hello")), 0);
    assert_eq!(s.sent_messages().len(), 2);
}

/// A multipart/form-data body of `(name, filename, content type, bytes)`
/// parts, as curl's `-F` builds it.
fn multipart(boundary: &str, parts: &[(&str, &str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, content_type, bytes) in parts {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .into_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").into_bytes());
    body
}

const BOUNDARY: &str = "------------------------wxmpsim7d1f0";

/// Uploads `bytes` as `filename` (`content_type`) in part `media`.
fn upload(
    s: &Sim,
    token: &str,
    kind: &str,
    filename: &str,
    content_type: &str,
    bytes: &[u8],
    now: u64,
) -> serde_json::Value {
    let req = SimRequest::new(
        "POST",
        &format!("/cgi-bin/media/upload?access_token={token}&type={kind}"),
        multipart(BOUNDARY, &[("media", filename, content_type, bytes)]),
    )
    .with_header(
        "Content-Type",
        &format!("multipart/form-data; boundary={BOUNDARY}"),
    );
    respond(s, &req, now).json_body()
}

/// Bytes that look like a PNG file (the simulator keeps them as they are).
fn fake_png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..len.saturating_sub(8)).map(|i| (i * 7 % 251) as u8));
    bytes
}

fn media_get(s: &Sim, token: &str, id: &str, now: u64) -> SimResponse {
    get_api(s, &format!("/cgi-bin/media/get?media_id={id}"), token, now)
}

#[test]
fn media_round_trips_through_a_multipart_upload() {
    let s = sim();
    let tok = access_token(&s, T0);
    // Binary content with CR LF and dashes inside, as real files have.
    let mut image = fake_png(4096);
    image.extend(b"\r\n--not-the-boundary\r\n");
    let up = upload(
        &s,
        &tok,
        "image",
        "photo.PNG",
        "application/octet-stream",
        &image,
        T0,
    );
    assert_eq!(
        (up["type"].as_str(), up["created_at"].as_u64()),
        (Some("image"), Some(T0 / 1000)),
        "{up}"
    );
    let id = up["media_id"].as_str().unwrap();
    let got = media_get(&s, &tok, id, T0 + 1000);
    assert_eq!((got.status, got.content_type), (200, "image/png"));
    assert_eq!(got.body, image);
    assert!(got.headers.contains(&(
        "content-disposition".into(),
        format!("attachment; filename=\"{id}.png\"")
    )));
    // Other fields may come first; the content type alone can name the format.
    let req = SimRequest::new(
        "POST",
        &format!("/cgi-bin/media/upload?access_token={tok}&type=voice"),
        multipart(
            BOUNDARY,
            &[
                ("note", "a.txt", "text/plain", b"x"),
                ("media", "blob", "audio/mpeg", b"ID3sound"),
            ],
        ),
    )
    .with_header(
        "content-type",
        &format!("multipart/form-data; boundary=\"{BOUNDARY}\""),
    );
    let voice = respond(&s, &req, T0).json_body();
    let got = media_get(&s, &tok, voice["media_id"].as_str().unwrap(), T0);
    assert_eq!(
        (got.content_type, got.body.as_slice()),
        ("audio/mpeg", &b"ID3sound"[..])
    );
    // Temporary media live 3 days.
    let tok = access_token(&s, T0 + 72 * HOUR);
    assert_eq!(
        media_get(&s, &tok, id, T0 + 72 * HOUR).json_body(),
        json!({"errcode": 40007, "errmsg": "invalid media_id"})
    );
    assert_eq!(
        media_get(&s, &tok, "MEDIA_made_up", T0 + 72 * HOUR).json_body()["errcode"],
        40007
    );
    assert_eq!(media_get(&s, "nope", id, T0).json_body()["errcode"], 40001);
}

#[test]
fn media_uploads_get_wechats_errcodes() {
    let s = sim();
    let tok = access_token(&s, T0);
    let png = fake_png(100);
    let code = |kind: &str, name: &str, ct: &str, bytes: &[u8]| {
        upload(&s, &tok, kind, name, ct, bytes, T0)["errcode"].clone()
    };
    assert_eq!(
        upload(&s, &tok, "file", "a.png", "image/png", &png, T0),
        json!({"errcode": 40004, "errmsg": "invalid media type"})
    );
    assert_eq!(code("voice", "a.png", "image/png", &png), 40005);
    // The file name's extension decides before the part's content type.
    let named = upload(&s, &tok, "image", "a.png", "image/jpeg", &png, T0);
    let got = media_get(&s, &tok, named["media_id"].as_str().unwrap(), T0);
    assert_eq!(got.content_type, "image/png");
    assert_eq!(
        code("thumb", "a.png", "image/png", &png),
        40005,
        "thumbs are JPEG"
    );
    assert_eq!(code("image", "a.jpg", "image/jpeg", b""), 40006);
    assert_eq!(
        upload(
            &s,
            &tok,
            "thumb",
            "t.jpg",
            "image/jpeg",
            &vec![0xff; 64 * 1024 + 1],
            T0
        ),
        json!({"errcode": 45001, "errmsg": "media size out of limit"})
    );
    assert_eq!(
        code("thumb", "t.jpg", "image/jpeg", &vec![0xff; 64 * 1024]),
        json!(null)
    );
    assert_eq!(
        code("voice", "v.amr", "audio/amr", &vec![1; 2 * 1024 * 1024 + 1]),
        45001
    );
    assert_eq!(
        code(
            "image",
            "big.jpg",
            "image/jpeg",
            &vec![1; 10 * 1024 * 1024 + 1]
        ),
        45001
    );
    // No part named `media`, no multipart body at all, or a broken one.
    let missing = |req: SimRequest| respond(&s, &req, T0).json_body();
    let url = format!("/cgi-bin/media/upload?access_token={tok}&type=image");
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    assert_eq!(
        missing(
            SimRequest::new(
                "POST",
                &url,
                multipart(BOUNDARY, &[("file", "a.png", "image/png", &png)])
            )
            .with_header("content-type", &ct)
        ),
        json!({"errcode": 41005, "errmsg": "media data missing"})
    );
    assert_eq!(
        missing(SimRequest::new("POST", &url, png.clone()))["errcode"],
        41005
    );
    assert_eq!(
        missing(SimRequest::new("POST", &url, png.clone()).with_header("content-type", &ct))
            ["errcode"],
        41005
    );
    assert_eq!(
        missing(SimRequest::new("GET", &url, Vec::new()))["errcode"],
        43002
    );
}

#[test]
fn media_storage_keeps_the_newest_64_files_and_64_mib() {
    let s = sim();
    let tok = access_token(&s, T0);
    let upload_id = |name: &str, content_type: &str, bytes: &[u8]| {
        let up = upload(&s, &tok, "image", name, content_type, bytes, T0);
        up["media_id"].as_str().unwrap().to_owned()
    };
    let ids: Vec<String> = (0..65)
        .map(|i| upload_id(&format!("{i}.png"), "image/png", &fake_png(64)))
        .collect();
    assert_eq!(
        media_get(&s, &tok, &ids[0], T0).json_body()["errcode"],
        40007,
        "the oldest is evicted"
    );
    assert_eq!(media_get(&s, &tok, &ids[1], T0).status, 200);
    assert_eq!(media_get(&s, &tok, &ids[64], T0).body, fake_png(64));
    // Seven 10 MiB images exceed 64 MiB: the oldest make room.
    let big: Vec<String> = (0..7u8)
        .map(|i| upload_id("big.jpg", "image/jpeg", &vec![i; 10 * 1024 * 1024]))
        .collect();
    let kept = |id: &String| {
        media_get(&s, &tok, id, T0)
            .content_type
            .starts_with("image/")
    };
    assert!(!kept(&big[0]));
    assert!(big[1..].iter().all(kept));
    assert_eq!(
        ids.iter().filter(|id| kept(id)).count(),
        0,
        "the small ones went first"
    );
}

const QR_CREATE: &str = "/cgi-bin/qrcode/create";

fn show_qrcode(s: &Sim, ticket: &str, now: u64) -> SimResponse {
    let mut url = url::Url::parse("http://sim/cgi-bin/showqrcode").unwrap();
    url.query_pairs_mut().append_pair("ticket", ticket);
    call(s, "GET", url.as_str(), "", now)
}

/// The PNG's pixels as grey levels, and its width and height.
fn decode_png(bytes: &[u8]) -> (Vec<u8>, u32, u32) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    pixels.truncate(info.buffer_size());
    (pixels, info.width, info.height)
}

#[test]
fn qr_codes_are_created_and_shown_as_real_png_images() {
    let s = sim();
    let tok = access_token(&s, T0);
    let temp = post_api(
        &s,
        QR_CREATE,
        &tok,
        &json!({"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 123}}}),
        T0,
    );
    assert_eq!(temp["expire_seconds"], 60, "the default: {temp}");
    let url = temp["url"].as_str().unwrap();
    assert!(
        url.starts_with("http://weixin.qq.com/q/") && url.len() > 30,
        "{url}"
    );
    let ticket = temp["ticket"].as_str().unwrap();

    // No access_token needed; the ticket URL-encoded.
    let image = show_qrcode(&s, ticket, T0 + 59_000);
    assert_eq!((image.status, image.content_type), (200, "image/png"));
    assert_eq!(&image.body[..8], b"\x89PNG\r\n\x1a\n");
    let (pixels, width, height) = decode_png(&image.body);
    assert_eq!(width, height);
    let mut grid =
        rqrr::PreparedImage::prepare_from_greyscale(width as usize, height as usize, |x, y| {
            pixels[y * width as usize + x]
        });
    let grids = grid.detect_grids();
    assert_eq!(grids.len(), 1);
    let (_, content) = grids[0].decode().unwrap();
    assert_eq!(content, url, "the image encodes the ticket's url");
    assert_eq!(show_qrcode(&s, ticket, T0 + 60_000).status, 404, "expired");
    assert_eq!(show_qrcode(&s, "gQmadeup", T0).status, 404);

    let capped = post_api(
        &s,
        QR_CREATE,
        &tok,
        &json!({"expire_seconds": 9_999_999, "action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "invite:42"}}}),
        T0,
    );
    assert_eq!(capped["expire_seconds"], 2_592_000);
    let permanent = post_api(
        &s,
        QR_CREATE,
        &tok,
        &json!({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "poster"}}}),
        T0,
    );
    assert!(permanent.get("expire_seconds").is_none(), "{permanent}");
    let ticket = permanent["ticket"].as_str().unwrap();
    assert_eq!(show_qrcode(&s, ticket, T0 + 365 * 24 * HOUR).status, 200);
    assert_eq!(s.calls("/cgi-bin/showqrcode"), 4);
}

#[test]
fn qr_codes_get_wechats_errcodes() {
    let s = sim();
    let tok = access_token(&s, T0);
    let create = |action: &str, scene: serde_json::Value| {
        post_api(
            &s,
            QR_CREATE,
            &tok,
            &json!({"action_name": action, "action_info": {"scene": scene}}),
            T0,
        )
    };
    let code = |action: &str, scene: serde_json::Value| create(action, scene)["errcode"].clone();
    assert_eq!(
        create("QR_FOREVER", json!({"scene_id": 1})),
        json!({"errcode": 40052, "errmsg": "invalid action name"})
    );
    assert_eq!(
        create("QR_SCENE", json!({"scene_id": 0})),
        json!({"errcode": 40053, "errmsg": "invalid action info"})
    );
    assert_eq!(
        code("QR_SCENE", json!({"scene_id": 4_294_967_296u64})),
        40053
    );
    assert_eq!(code("QR_SCENE", json!({"scene_id": -5})), 40053);
    assert_eq!(code("QR_SCENE", json!({"scene_str": "x"})), 40053);
    assert_eq!(code("QR_LIMIT_SCENE", json!({"scene_id": 100_001})), 40053);
    assert_eq!(code("QR_LIMIT_STR_SCENE", json!({"scene_str": ""})), 40053);
    assert_eq!(
        code("QR_STR_SCENE", json!({"scene_str": "x".repeat(65)})),
        40053
    );
    assert!(code("QR_SCENE", json!({"scene_id": 4_294_967_295u64})).is_null());
    assert!(code("QR_LIMIT_SCENE", json!({"scene_id": 100_000})).is_null());
    assert!(code("QR_STR_SCENE", json!({"scene_str": "码".repeat(64)})).is_null());
    assert_eq!(
        post_api(&s, QR_CREATE, "nope", &json!({}), T0)["errcode"],
        40001
    );
}

#[test]
fn user_info_answers_followers_in_full_and_others_in_brief() {
    let s = sim();
    let tok = access_token(&s, T0);
    let info = |user: &str| {
        get_api(
            &s,
            &format!("/cgi-bin/user/info?openid={user}&lang=zh_CN"),
            &tok,
            T0,
        )
        .json_body()
    };
    let c = s.config().clone();
    assert_eq!(
        info(&c.users[0].openid),
        json!({
            "subscribe": 1, "openid": c.users[0].openid, "language": "zh_CN", "subscribe_time": 1_690_000_000,
            "unionid": c.users[0].unionid, "remark": "", "groupid": 0, "tagid_list": [],
            "subscribe_scene": "ADD_SCENE_SEARCH", "qr_scene": 0, "qr_scene_str": "",
            // No nickname or avatar since 2021-12-27: the keys stay, empty.
            "nickname": "", "sex": 0, "city": "", "province": "", "country": "", "headimgurl": "",
        })
    );
    assert_eq!(
        info(&c.users[1].openid),
        json!({"subscribe": 0, "openid": c.users[1].openid})
    );
    assert_eq!(
        info("oSOMEONEelse"),
        json!({"errcode": 40003, "errmsg": "invalid openid"})
    );
    s.set_follows(1, true, T0 + 5_000);
    let bob = info(&c.users[1].openid);
    assert_eq!(
        (bob["subscribe"].as_i64(), bob["subscribe_time"].as_u64()),
        (Some(1), Some(T0 / 1000 + 5))
    );
    assert!(bob.get("unionid").is_none(), "Bob has none");
    assert_eq!(
        get_api(&s, "/cgi-bin/user/info?openid=x", "nope", T0).json_body()["errcode"],
        40001
    );
}

#[test]
fn server_ip_lists_come_from_the_config() {
    let s = Sim::new(SimConfig {
        callback_ips: vec!["203.0.113.0/25".into()],
        ..SimConfig::default()
    });
    let tok = access_token(&s, T0);
    assert_eq!(
        get_api(&s, "/cgi-bin/getcallbackip", &tok, T0).json_body(),
        json!({"ip_list": ["203.0.113.0/25"]})
    );
    assert_eq!(
        get_api(&s, "/cgi-bin/get_api_domain_ip", &tok, T0).json_body(),
        json!({"ip_list": SimConfig::default().api_domain_ips})
    );
    assert_eq!(
        get_api(&s, "/cgi-bin/getcallbackip", "nope", T0).json_body()["errcode"],
        40001
    );
}

#[test]
fn callback_check_answers_the_parts_asked_for() {
    let s = sim();
    let tok = access_token(&s, T0);
    let check = |action: &str, operator: &str| {
        post_api(
            &s,
            "/cgi-bin/callback/check",
            &tok,
            &json!({"action": action, "check_operator": operator}),
            T0,
        )
    };
    assert_eq!(
        check("all", "DEFAULT"),
        json!({
            "dns": [{"ip": "111.161.64.40", "real_operator": "UNICOM"}],
            "ping": [{"ip": "111.161.64.40", "from_operator": "UNICOM", "package_loss": "0%", "time": "23.079ms"}],
        })
    );
    assert_eq!(
        check("dns", "CAP"),
        json!({"dns": [{"ip": "111.161.64.40", "real_operator": "UNICOM"}]})
    );
    assert_eq!(
        check("ping", "CHINANET")["ping"][0]["from_operator"],
        "CHINANET"
    );
    assert!(check("ping", "CHINANET").get("dns").is_none());
    assert_eq!(
        check("trace", "DEFAULT"),
        json!({"errcode": 40202, "errmsg": "invalid action"})
    );
    assert_eq!(
        check("all", "MOBILE"),
        json!({"errcode": 40203, "errmsg": "invalid check_operator"})
    );
    s.set_callback_reachable(false);
    assert_eq!(check("ping", "UNICOM")["ping"][0]["package_loss"], "100%");
    s.set_callback_reachable(true);
    assert_eq!(check("ping", "UNICOM")["ping"][0]["package_loss"], "0%");
}

/// The rid WeChat appends: the Unix time in hex, then two groups of 8 hex digits.
fn assert_rid(errmsg: &str, now: u64) {
    let rid = errmsg.rsplit_once(" rid: ").unwrap().1;
    let groups: Vec<&str> = rid.split('-').collect();
    assert_eq!(groups.len(), 3, "{errmsg}");
    assert!(groups.iter().all(|g| g.len() == 8
        && g.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())));
    assert_eq!(u64::from_str_radix(groups[0], 16).unwrap(), now / 1000);
}

#[test]
fn the_ip_allow_list_names_the_callers_address() {
    let s = sim();
    let tok = access_token(&s, T0);
    let req = |ip: Option<&str>| {
        let r = SimRequest::new(
            "GET",
            &format!("/cgi-bin/getcallbackip?access_token={tok}"),
            Vec::new(),
        );
        match ip {
            Some(ip) => r.with_client_ip(ip.parse().unwrap()),
            None => r,
        }
    };
    s.inject("/cgi-bin/getcallbackip", Fault::IpNotAllowed, 1);
    let r = respond(&s, &req(Some("203.0.113.7")), T0).json_body();
    assert_eq!(r["errcode"], 40164);
    let msg = r["errmsg"].as_str().unwrap();
    assert!(
        msg.starts_with("invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist rid: "),
        "{msg}"
    );
    assert_rid(msg, T0);
    // An IPv4-mapped peer (a dual-stack listener) reads as its IPv4 address;
    // the errcode fault with 40164 says the same; in process, 127.0.0.1.
    s.inject(
        "/cgi-bin/getcallbackip",
        Fault::Errcode {
            errcode: 40164,
            errmsg: None,
        },
        2,
    );
    let msg =
        respond(&s, &req(Some("::ffff:198.51.100.2")), T0 + 5000).json_body()["errmsg"].clone();
    assert!(
        msg.as_str().unwrap().starts_with(
            "invalid ip 198.51.100.2 ipv6 ::ffff:198.51.100.2, not in whitelist rid: "
        ),
        "{msg}"
    );
    assert_rid(msg.as_str().unwrap(), T0 + 5000);
    let msg = respond(&s, &req(None), T0).json_body()["errmsg"].clone();
    assert!(
        msg.as_str()
            .unwrap()
            .starts_with("invalid ip 127.0.0.1 ipv6 ::ffff:127.0.0.1,"),
        "{msg}"
    );
    // An explicit errmsg is kept; then the endpoint answers again.
    s.inject(
        "/cgi-bin/getcallbackip",
        Fault::Errcode {
            errcode: 40164,
            errmsg: Some("invalid ip 10.0.0.1, not in whitelist".into()),
        },
        1,
    );
    assert_eq!(
        respond(&s, &req(None), T0).json_body()["errmsg"],
        "invalid ip 10.0.0.1, not in whitelist"
    );
    assert!(respond(&s, &req(None), T0)
        .json_body()
        .get("ip_list")
        .is_some());
    assert_eq!(s.calls("/cgi-bin/getcallbackip"), 5);
}

#[test]
fn every_new_endpoint_is_counted_and_can_fail() {
    let s = sim();
    for path in [
        TEMPLATE_SEND,
        CUSTOM_SEND,
        QR_CREATE,
        "/cgi-bin/showqrcode",
        "/cgi-bin/media/upload",
        "/cgi-bin/media/get",
        "/cgi-bin/user/info",
        "/cgi-bin/getcallbackip",
        "/cgi-bin/get_api_domain_ip",
        "/cgi-bin/callback/check",
    ] {
        s.inject(
            path,
            Fault::Errcode {
                errcode: -1,
                errmsg: None,
            },
            1,
        );
        s.inject(path, Fault::Drop, 1);
        let r = call(&s, "POST", path, "{}", T0);
        assert_eq!(
            r.json_body(),
            json!({"errcode": -1, "errmsg": "system error"}),
            "{path}"
        );
        assert_eq!(
            s.handle(&SimRequest::new("POST", path, Vec::new()), T0),
            Reply::Drop,
            "{path}"
        );
        let own = call(&s, "POST", path, "{}", T0);
        assert_ne!(
            own.json_body()["errmsg"],
            "no such endpoint in wxmp-sim",
            "{path}"
        );
        assert_eq!(s.calls(path), 3, "{path}");
    }
}
