//! An example consumer of `wechat:mp`: a small HTTP handler of its own that
//! renders a page with a signed `wx.config` payload and a WeChat login link,
//! answers WeChat's server verification, finishes a login with the user's
//! profile, answers pushes, and calls WeChat's API (user info, QR codes,
//! template messages) — all through wxmp's WIT interfaces, not its HTTP
//! routes, and without ever holding the account's access_token. Compose it
//! with wxmp:
//!
//! ```text
//! wac plug wxmp_consumer.wasm --plug wxmp.wasm -o composed.wasm
//! ```

use std::io::Write as _;

use wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

mod bindings {
    wit_bindgen::generate!({
        world: "example:consumer/consumer",
        path: ["../../wit", "wit"],
        generate_all,
    });
}

use bindings::wechat::mp::{api, jssdk, messages, oauth, token, types, userinfo, verify};

/// Where the login sends users back to (a page of this app).
const REDIRECT_URI: &str = "https://m.example.com/consumer/callback";
/// A fixed state, fine for an example; real apps sign and store theirs.
const STATE: &str = "consumerstate1";

struct Consumer;

wasi::http::proxy::export!(Consumer);

impl wasi::exports::http::incoming_handler::Guest for Consumer {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let target = request.path_with_query().unwrap_or_else(|| "/".into());
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let param = |name: &str| {
            query
                .split('&')
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| *k == name)
                .map(|(_, v)| decode(v))
        };
        let (status, content_type, body) = match path {
            "/" => page(&param("url").unwrap_or_else(|| "https://m.example.com/".into())),
            "/verify" => match (
                param("signature"),
                param("timestamp"),
                param("nonce"),
                param("echostr"),
            ) {
                (Some(s), Some(t), Some(n), Some(e)) => match verify::check_signature(&s, &t, &n) {
                    Ok(()) => (200, "text/plain", e),
                    Err(err) => (403, "text/plain", describe(&err)),
                },
                _ => (
                    400,
                    "text/plain",
                    "signature, timestamp, nonce and echostr are required".into(),
                ),
            },
            "/callback" => match param("code") {
                Some(code) => login(&code),
                None => (400, "text/plain", "code is required".into()),
            },
            "/user" => match param("openid") {
                Some(openid) => wechat_api(
                    "GET",
                    "cgi-bin/user/info",
                    &format!("openid={openid}&lang=zh_CN"),
                    None,
                    Vec::new(),
                ),
                None => (400, "text/plain", "openid is required".into()),
            },
            "/callback-ips" => wechat_api("GET", "cgi-bin/getcallbackip", "", None, Vec::new()),
            "/token" => token_status(),
            "/token/renew" => token_renew(),
            "/qrcode" => qrcode(param("scene").and_then(|s| s.parse().ok()).unwrap_or(1)),
            "/template" => match (param("openid"), param("template_id")) {
                (Some(openid), Some(template)) => template_message(openid, template),
                _ => (
                    400,
                    "text/plain",
                    "openid and template_id are required".into(),
                ),
            },
            "/push" => {
                let push = messages::PushQuery {
                    signature: param("signature").unwrap_or_default(),
                    timestamp: param("timestamp").unwrap_or_default(),
                    nonce: param("nonce").unwrap_or_default(),
                    encrypt_type: param("encrypt_type"),
                    msg_signature: param("msg_signature"),
                };
                answer_push(push, read_body(request))
            }
            _ => (404, "text/plain", "not found".into()),
        };
        respond(out, status, content_type, body.as_bytes());
    }
}

type Page = (u16, &'static str, String);

/// Finishes a login: the code for a grant, the grant for the profile.
fn login(code: &str) -> Page {
    let grant = match oauth::exchange_code(code) {
        Ok(g) => g,
        Err(e) => return (502, "text/plain", describe(&e)),
    };
    match userinfo::get(&grant.access_token, &grant.openid, types::Lang::ZhCn) {
        Ok(p) => (
            200,
            "application/json",
            format!(
                r#"{{"openid":{},"unionid":{},"nickname":{}}}"#,
                json_str(&p.openid),
                p.unionid.as_deref().map_or("null".into(), json_str),
                p.nickname.as_deref().map_or("null".into(), json_str)
            ),
        ),
        Err(e) => (502, "text/plain", describe(&e)),
    }
}

/// Any WeChat API through wxmp, WeChat's answer as it came.
fn wechat_api(
    method: &str,
    path: &str,
    query: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Page {
    match api::call(method, path, query, content_type, &body) {
        Ok(a) => (
            a.status,
            "application/json",
            String::from_utf8_lossy(&a.body).into_owned(),
        ),
        Err(e) => (502, "text/plain", describe(&e)),
    }
}

/// How long the shared token lives; the token itself stays out of the page.
fn token_status() -> Page {
    match token::get() {
        Ok(t) => (
            200,
            "application/json",
            format!(r#"{{"expires_in":{}}}"#, t.expires_in),
        ),
        Err(e) => (502, "text/plain", describe(&e)),
    }
}

/// Reports the token rejected (as after a 40001) and takes the next one.
fn token_renew() -> Page {
    let renewed = token::get().and_then(|old| {
        token::invalidate(&old.value)?;
        token::get().map(|new| new.value != old.value)
    });
    match renewed {
        Ok(renewed) => (
            200,
            "application/json",
            format!(r#"{{"renewed":{renewed}}}"#),
        ),
        Err(e) => (502, "text/plain", describe(&e)),
    }
}

fn qrcode(scene: u32) -> Page {
    match api::create_qrcode(&api::QrScene::Id(scene), false, Some(600)) {
        Ok(c) => (
            200,
            "application/json",
            format!(
                r#"{{"ticket":{},"image_url":{}}}"#,
                json_str(&c.ticket),
                json_str(&c.image_url)
            ),
        ),
        Err(e) => (502, "text/plain", describe(&e)),
    }
}

fn template_message(touser: String, template_id: String) -> Page {
    let message = api::TemplateMessage {
        touser,
        template_id,
        url: Some("https://m.example.com/consumer/order".into()),
        miniprogram: None,
        data: vec![api::TemplateField {
            name: "keyword1".into(),
            value: "已发货".into(),
            color: None,
        }],
        client_msg_id: None,
    };
    match api::send_template(&message) {
        Ok(msgid) => (200, "application/json", format!(r#"{{"msgid":"{msgid}"}}"#)),
        Err(e) => (502, "text/plain", describe(&e)),
    }
}

/// Opens a push (verified, decrypted in safe mode) and answers with a
/// text reply, sealed the way the push came.
fn answer_push(query: messages::PushQuery, body: Vec<u8>) -> Page {
    let message = match messages::open(&query, &body) {
        Ok(m) => m,
        Err(e) => return (403, "text/plain", describe(&e)),
    };
    let reply = messages::Reply::Text(format!("consumer got a {} message", message.msg_type));
    match messages::seal(&message, &reply) {
        Ok(xml) => (200, "application/xml", xml),
        Err(e) => (500, "text/plain", describe(&e)),
    }
}

/// The request body (at most 64 KiB).
fn read_body(request: IncomingRequest) -> Vec<u8> {
    let mut out = Vec::new();
    let Ok(body) = request.consume() else {
        return out;
    };
    if let Ok(stream) = body.stream() {
        while let Ok(chunk) = stream.blocking_read(16 * 1024) {
            out.extend_from_slice(&chunk);
            if out.len() > 64 * 1024 {
                break;
            }
        }
    }
    out
}

/// `s` as a JSON string.
fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A page whose script calls `wx.config` with a payload wxmp signed.
fn page(url: &str) -> Page {
    let config = match jssdk::sign(url) {
        Ok(c) => c,
        Err(e) => return (502, "text/plain", describe(&e)),
    };
    let login = match oauth::authorize_url(REDIRECT_URI, types::Scope::SnsapiBase, STATE) {
        Ok(u) => u,
        Err(e) => return (502, "text/plain", describe(&e)),
    };
    let payload = format!(
        r#"{{"appId":"{}","timestamp":{},"nonceStr":"{}","signature":"{}","jsApiList":["updateAppMessageShareData"]}}"#,
        config.app_id, config.timestamp, config.nonce_str, config.signature
    );
    let html = format!(
        "<!doctype html><meta charset=\"utf-8\"><title>consumer</title>\
         <a id=\"login\" href=\"{}\">Log in with WeChat</a>\
         <script id=\"wx-config\" type=\"application/json\">{payload}</script>\
         <script>wx.config(JSON.parse(document.getElementById('wx-config').textContent));</script>",
        login.replace('&', "&amp;")
    );
    (200, "text/html; charset=utf-8", html)
}

fn describe(e: &types::Error) -> String {
    match e {
        types::Error::Upstream(u) => format!("WeChat errcode {}: {}", u.errcode, u.errmsg),
        other => format!("{other:?}"),
    }
}

/// Minimal percent-decoding for query values.
fn decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn respond(out: ResponseOutparam, status: u16, content_type: &str, body: &[u8]) {
    let headers =
        Fields::from_list(&[("content-type".to_owned(), content_type.as_bytes().to_vec())])
            .unwrap_or_else(|_| Fields::new());
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(status);
    let Ok(outgoing) = response.body() else {
        return;
    };
    ResponseOutparam::set(out, Ok(response));
    if let Ok(mut stream) = outgoing.write() {
        let _ = stream.write_all(body);
        let _ = stream.flush();
    }
    let _ = OutgoingBody::finish(outgoing, None);
}
