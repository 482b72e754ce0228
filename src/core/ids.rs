//! Checks shared by the typed API helpers: the identifiers and URLs WeChat
//! takes in message bodies.

/// An id WeChat issues (openid, template id, media id, AppID): 1 to 128
/// characters of letters, digits, `_` and `-`.
pub(crate) fn check_id(id: &str) -> Result<(), ()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(()).ok_or(())
}

/// An absolute http(s) URL of at most 2,048 bytes.
pub(crate) fn check_url(raw: &str) -> Result<(), ()> {
    let ok = raw.len() <= 2048
        && url::Url::parse(raw)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    ok.then_some(()).ok_or(())
}
