//! Query and percent-decoding, cookies and limits on arbitrary request heads:
//! whatever comes in, the router answers with a status, never a panic, and a
//! query lookup finds what a full form-urlencoded parse finds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wxmp::http::Request;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (target, cookie) = text.split_once('\n').unwrap_or((&text, ""));
    let req = Request::new("GET", target).with_header("cookie", cookie);
    for name in [
        "url",
        "return_to",
        "scope",
        "state",
        "code",
        "signature",
        "",
    ] {
        let reference = url::form_urlencoded::parse(req.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned());
        assert_eq!(req.query_param(name), reference, "{target:?} / {name:?}");
    }
    for name in ["wxmp_session", "wxmp_login", ""] {
        let _ = req.cookie(name);
    }
    let headers: Vec<(&str, &[u8])> = vec![
        ("cookie", cookie.as_bytes()),
        ("content-length", target.as_bytes()),
    ];
    let _ = wxmp::http::limits::check_head(target.len(), headers);
});
