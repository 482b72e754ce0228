//! `POST /wx`: message and event push. Not implemented yet (its own issue).

use crate::http::{ApiError, Request, Response};
use crate::ports::Env;

/// Answers `501 not_implemented` until message push lands.
pub fn push(_req: &Request, _env: &Env) -> Result<Response, ApiError> {
    Err(ApiError::new(
        501,
        "not_implemented",
        "message and event push is not implemented yet",
    ))
}
