//! One file per route group, named after the WeChat area it serves.

pub(super) mod gateway;
pub(super) mod health;
pub(super) mod jssdk;
pub(super) mod messages;
pub(super) mod oauth;
pub(super) mod session;
pub(super) mod status;
pub(super) mod token;
pub(super) mod verify;
pub(super) mod web;

use super::error::ApiError;
use super::request::Request;

/// A required query parameter, or `400 missing_parameter`.
fn required(req: &Request, name: &str) -> Result<String, ApiError> {
    req.query_param(name).ok_or_else(|| ApiError::missing(name))
}
