//! Every WeChat answer parser on arbitrary bodies and statuses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wxmp::core::{messages, oauth, token, userinfo};

fuzz_target!(|data: &[u8]| {
    let status = data
        .first()
        .map_or(200, |b| if b % 4 == 0 { 500 } else { 200 });
    let body = data.get(1..).unwrap_or_default();
    let _ = token::parse_token(status, body);
    let _ = token::parse_ticket(status, body);
    let _ = oauth::parse_grant(status, body);
    let _ = oauth::parse_check(status, body);
    let _ = userinfo::parse_userinfo(status, body);
    let _ = messages::parse_reply(body);
});
