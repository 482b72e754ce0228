//! Size limits the component enforces itself, so they hold under any host.

use super::error::ApiError;

/// Longest request target (path + query).
pub const MAX_URL_BYTES: usize = 8 * 1024;
/// Longest single header (name + value).
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
/// All headers together.
pub const MAX_HEADERS_BYTES: usize = 32 * 1024;
/// Longest body read up front; longer declared bodies are left to stream
/// and only the API gateway takes them.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub use crate::core::gateway::{MAX_UPLOAD_BYTES, STREAM_DEADLINE_MS};
/// How long the component waits for a whole body (from the first read):
/// a trickling client holds an instance no longer than this.
pub const BODY_DEADLINE_MS: u64 = 10_000;

/// Checks the request line and headers before any body is read; returns
/// the declared `Content-Length`, if any.
pub fn check_head<'a>(
    target_len: usize,
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<Option<u64>, ApiError> {
    if target_len > MAX_URL_BYTES {
        return Err(ApiError::new(
            414,
            "uri_too_long",
            format!("the URL exceeds {MAX_URL_BYTES} bytes"),
        ));
    }
    let mut total = 0usize;
    let mut length = None;
    for (name, value) in headers {
        let size = name.len() + value.len();
        if size > MAX_HEADER_BYTES {
            return Err(ApiError::new(
                431,
                "header_too_large",
                format!("header {name} exceeds {MAX_HEADER_BYTES} bytes"),
            ));
        }
        total += size;
        if name.eq_ignore_ascii_case("content-length") {
            let declared = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok());
            if declared.is_some_and(|n| n > MAX_UPLOAD_BYTES) {
                return Err(ApiError::new(
                    413,
                    "payload_too_large",
                    format!("the body exceeds {MAX_UPLOAD_BYTES} bytes"),
                ));
            }
            length = length.or(declared);
        }
    }
    if total > MAX_HEADERS_BYTES {
        return Err(ApiError::new(
            431,
            "headers_too_large",
            format!("headers exceed {MAX_HEADERS_BYTES} bytes in all"),
        ));
    }
    Ok(length)
}

/// The error for a body over [`MAX_BODY_BYTES`] (declared or actually sent).
pub fn body_too_large() -> ApiError {
    ApiError::new(
        413,
        "payload_too_large",
        format!("the body exceeds {MAX_BODY_BYTES} bytes"),
    )
}

/// The error for a body that did not arrive within [`BODY_DEADLINE_MS`].
pub fn body_too_slow() -> ApiError {
    ApiError::new(
        408,
        "body_timeout",
        format!(
            "the body did not arrive within {} s",
            BODY_DEADLINE_MS / 1000
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(r: Result<Option<u64>, ApiError>) -> u16 {
        r.err().map_or(200, |e| e.status)
    }

    #[test]
    fn each_limit_has_its_status() {
        assert_eq!(status(check_head(MAX_URL_BYTES, [])), 200);
        assert_eq!(status(check_head(MAX_URL_BYTES + 1, [])), 414);
        let big = vec![b'a'; MAX_HEADER_BYTES];
        assert_eq!(status(check_head(10, [("x", &big[..])])), 431);
        let ok = vec![b'a'; MAX_HEADER_BYTES - 10];
        let many: Vec<(&str, &[u8])> = (0..5).map(|_| ("x", &ok[..])).collect();
        assert_eq!(status(check_head(10, many)), 431);
        assert_eq!(
            status(check_head(10, [("content-length", &b"10485761"[..])])),
            413
        );
        assert_eq!(
            check_head(10, [("Content-Length", &b"10485760"[..])]).unwrap(),
            Some(10_485_760)
        );
        assert_eq!(check_head(10, [("x", &b"1"[..])]).unwrap(), None);
    }
}
