//! One file per route group, named after the WeChat area it serves.

pub mod health;
pub mod jssdk;
pub mod messages;
pub mod oauth;
pub mod session;
pub mod token;
pub mod verify;
pub mod web;

use super::error::ApiError;
use super::request::Request;

/// A required query parameter, or `400 missing_parameter`.
fn required(req: &Request, name: &str) -> Result<String, ApiError> {
    req.query_param(name).ok_or_else(|| ApiError::missing(name))
}
