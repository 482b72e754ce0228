//! Origin matching and return_to resolution: whatever is accepted really is
//! on an allowed origin (or the public URL's), and nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use url::Url;
use wxmp::core::jssdk;
use wxmp::core::mount::Prefix;
use wxmp::core::origin::{resolve_return_to, AllowedOrigins, Origin};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let allowed = AllowedOrigins::parse_list("https://m.example.com, http://localhost:3000")
        .expect("static list");
    let public = Url::parse("https://m.example.com").expect("static URL");
    let mount = Prefix::parse("/app").expect("static prefix");
    if let Ok(url) = resolve_return_to(Some(&text), &public, &mount, &allowed) {
        let origin = Origin::of(&url).expect("an http(s) origin");
        assert!(
            allowed.contains(&origin) || Origin::of(&public) == Some(origin),
            "{text:?} → {url}"
        );
        assert!(url.username().is_empty() && url.password().is_none());
    }
    if let Some(url) = allowed.check_url(&text) {
        assert!(allowed.contains(&Origin::of(&url).expect("origin")));
    }
    if let Ok(signed) = jssdk::page_url(&text, &allowed) {
        assert!(!signed.as_str().contains('#'));
    }
    let _ = Origin::parse(&text);
    let _ = AllowedOrigins::parse_list(&text);
});
