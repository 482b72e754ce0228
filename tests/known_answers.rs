//! Published WeChat known-answer vectors (tests/fixtures/vectors.json): the
//! JS-SDK documentation's example and Tencent's WXBizMsgCrypt sample.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

use wxmp::core::jssdk;
use wxmp::core::types::{JsapiTicket, ServerToken};
use wxmp::core::verify;

fn vectors() -> serde_json::Value {
    serde_json::from_str(include_str!("fixtures/vectors.json")).expect("vectors.json")
}

#[test]
fn jssdk_documentation_example() {
    let v = &vectors()["jssdk"];
    let ticket = JsapiTicket::new(v["jsapi_ticket"].as_str().unwrap());
    let sig = jssdk::signature(
        &ticket,
        v["noncestr"].as_str().unwrap(),
        v["timestamp"].as_u64().unwrap(),
        v["url"].as_str().unwrap(),
    );
    assert_eq!(sig, v["signature"].as_str().unwrap());
}

#[test]
fn jssdk_example_signs_the_same_with_a_fragment() {
    let v = &vectors()["jssdk"];
    let ticket = JsapiTicket::new(v["jsapi_ticket"].as_str().unwrap());
    let url = format!("{}#section", v["url"].as_str().unwrap());
    let sig = jssdk::signature(
        &ticket,
        v["noncestr"].as_str().unwrap(),
        v["timestamp"].as_u64().unwrap(),
        jssdk::strip_fragment(&url),
    );
    assert_eq!(sig, v["signature"].as_str().unwrap());
}

#[test]
fn tencent_sample_url_signature() {
    let v = &vectors()["message_crypto"];
    let token = ServerToken::new(v["token"].as_str().unwrap());
    let (ts, nonce) = (
        v["timestamp"].as_str().unwrap(),
        v["nonce"].as_str().unwrap(),
    );
    assert_eq!(
        verify::server_signature(&token, ts, nonce),
        v["signature"].as_str().unwrap()
    );
    assert!(
        verify::check_server_signature(&token, v["signature"].as_str().unwrap(), ts, nonce).is_ok()
    );
}

#[test]
fn tencent_sample_msg_signature_covers_the_encrypt_field() {
    let v = &vectors()["message_crypto"];
    let parts = [
        v["token"].as_str().unwrap(),
        v["timestamp"].as_str().unwrap(),
        v["nonce"].as_str().unwrap(),
        v["encrypt"].as_str().unwrap(),
    ];
    assert_eq!(
        verify::sorted_sha1(&parts),
        v["msg_signature"].as_str().unwrap()
    );
}
