//! The HTTP face as values: a [`Request`] in, a [`Response`] out. No WASI
//! types here, so every route is tested natively; `spin::handler` only moves
//! bytes between wasi:http and these values.

pub mod cookies;
pub mod error;
pub mod limits;
pub mod request;
pub mod request_id;
pub mod response;
pub mod router;
mod routes;
pub mod spin_headers;

pub use error::ApiError;
pub use request::Request;
pub use response::Response;
pub use router::handle;
