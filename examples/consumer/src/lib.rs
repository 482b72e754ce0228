//! An example consumer of `wechat:mp`: a small HTTP handler of its own that
//! renders a page with a signed `wx.config` payload and a WeChat login link,
//! and answers WeChat's server verification — all through wxmp's WIT
//! interfaces, not its HTTP routes. Compose it with wxmp:
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

use bindings::wechat::mp::{jssdk, oauth, types, verify};

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
            _ => (404, "text/plain", "not found".into()),
        };
        respond(out, status, content_type, body.as_bytes());
    }
}

/// A page whose script calls `wx.config` with a payload wxmp signed.
fn page(url: &str) -> (u16, &'static str, String) {
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
