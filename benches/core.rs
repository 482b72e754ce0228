//! Micro-benchmarks of the sans-IO core's hot paths, beside the parsers
//! (`cargo bench -p wxmp --bench core`). They catch regressions in one
//! function without building or serving the component; they are not
//! targets. The inputs are WeChat's own published examples (see
//! `tests/fixtures/vectors.json`), checked once before timing so a bench
//! never measures an error path by accident.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

use divan::{black_box, Bencher};

use wxmp::core::origin::AllowedOrigins;
use wxmp::core::types::{AppId, JsapiTicket, ServerToken, SessionSecret};
use wxmp::core::{crypto, jssdk, messages, state, xml};
use wxmp::http::Request;

fn main() {
    divan::main();
}

/// Tencent's WXBizMsgCrypt sample for Official Accounts: a text message.
const TOKEN: &str = "spamtest";
const ENCODING_AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APP_ID: &str = "wx2c2769f8efd9abc2";
const TIMESTAMP: &str = "1409735669";
const NONCE: &str = "1320562132";
const SIGNATURE: &str = "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a";
const ENCRYPT: &str = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";
const PLAINTEXT_XML: &str = "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>";

/// The JS-SDK documentation's example (appendix 1).
const JSAPI_TICKET: &str =
    "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg";
const JSSDK_TIMESTAMP: u64 = 1414587457;
const JSSDK_URL: &str = "http://mp.weixin.qq.com?params=value";

/// Parsing a plaintext push into fields: every `POST /wx` does it at least once.
#[divan::bench]
fn xml_parse_text_push(bencher: Bencher) {
    assert_eq!(xml::parse(PLAINTEXT_XML).unwrap().len(), 6);
    bencher.bench(|| xml::parse(black_box(PLAINTEXT_XML)));
}

/// A whole plaintext push as `POST /wx` opens it: signature, freshness, UTF-8 and XML.
#[divan::bench]
fn messages_open_plaintext_push(bencher: Bencher) {
    let token = ServerToken::new(TOKEN);
    let app_id = AppId::new(APP_ID);
    let query = messages::PushQuery {
        signature: SIGNATURE.into(),
        timestamp: TIMESTAMP.into(),
        nonce: NONCE.into(),
        encrypt_type: None,
        msg_signature: None,
    };
    let rules = messages::PushRules {
        token: &token,
        aes_key: None,
        app_id: &app_id,
        mode: messages::MessageMode::Plaintext,
        // Just after the push was signed, so it is fresh.
        now: TIMESTAMP.parse::<u64>().unwrap() + 1,
    };
    let body = PLAINTEXT_XML.as_bytes();
    let opened = messages::open(&rules, &query, body).unwrap();
    assert_eq!(opened.msg_type(), "text");
    bencher.bench(|| messages::open(black_box(&rules), black_box(&query), black_box(body)));
}

/// AES-256-CBC decryption of the `Encrypt` field: every safe-mode push pays it.
#[divan::bench]
fn crypto_decrypt_tencent_sample(bencher: Bencher) {
    let key = crypto::decode_aes_key(ENCODING_AES_KEY).unwrap();
    let app_id = AppId::new(APP_ID);
    assert_eq!(
        crypto::decrypt(&key, &app_id, ENCRYPT).unwrap(),
        PLAINTEXT_XML
    );
    bencher.bench(|| crypto::decrypt(black_box(&key), black_box(&app_id), black_box(ENCRYPT)));
}

/// Four query-parameter lookups: `/wx` looks up four parameters per request.
#[divan::bench]
fn query_param_four_lookups(bencher: Bencher) {
    let req = Request::new(
        "GET",
        &format!(
            "/wx?signature={SIGNATURE}&timestamp={TIMESTAMP}&nonce={NONCE}&echostr=5837397520665436492"
        ),
    );
    assert_eq!(
        req.query_param("echostr").as_deref(),
        Some("5837397520665436492")
    );
    // Local: a `Request` may hold a body stream, which is not `Sync`.
    bencher.bench_local(|| {
        let req = black_box(&req);
        (
            req.query_param(black_box("signature")),
            req.query_param(black_box("timestamp")),
            req.query_param(black_box("nonce")),
            req.query_param(black_box("echostr")),
        )
    });
}

/// Checking the page URL's origin and signing it: the work of every `/jssdk/config`.
#[divan::bench]
fn jssdk_page_url_and_sign(bencher: Bencher) {
    let allowed = AllowedOrigins::parse_list("http://mp.weixin.qq.com").unwrap();
    let ticket = JsapiTicket::new(JSAPI_TICKET);
    let app_id = AppId::new(APP_ID);
    let page = jssdk::page_url(JSSDK_URL, &allowed).unwrap();
    assert_eq!(
        jssdk::signature(&ticket, "Wm3WZYTPz0wzccnW", JSSDK_TIMESTAMP, page.as_str()),
        "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
    );
    bencher.bench(|| {
        let page = jssdk::page_url(black_box(JSSDK_URL), black_box(&allowed))?;
        Ok::<_, wxmp::core::error::Error>(jssdk::sign(
            black_box(&app_id),
            black_box(&ticket),
            page,
            black_box(JSSDK_TIMESTAMP),
            black_box([7; 16]),
        ))
    });
}

/// Verifying the OAuth `state` (hex decode, HMAC, expiry): every login callback does it.
#[divan::bench]
fn state_verify(bencher: Bencher) {
    let key = SessionSecret::new([0x5a; 32]).unwrap();
    let issued_at = 1_700_000_000;
    let s = state::issue(&key, state::LoginNonce::new([0x11; 16]), issued_at);
    let now = issued_at + 30;
    assert_eq!(state::verify(&key, &s, now).unwrap().issued_at, issued_at);
    bencher.bench(|| state::verify(black_box(&key), black_box(&s), black_box(now)));
}
