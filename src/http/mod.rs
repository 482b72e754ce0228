//! The HTTP face as values: a [`Request`] in, a [`Response`] out. No WASI
//! types here, so every route is tested natively; `spin::handler` only moves
//! bytes between wasi:http and these values.

pub mod cookies;
pub mod error;
pub mod limits;
pub mod mount;
pub mod request;
pub mod request_id;
pub mod response;
pub mod router;
mod routes;
pub mod spin_headers;

pub use error::ApiError;

/// The first value of header `name` (lowercase) in a request's or a
/// response's headers.
fn first_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
pub use request::Request;
pub use response::Response;
pub use router::handle;
