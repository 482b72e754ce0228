//! `GET /healthz`: configuration health, without touching WeChat.

use serde_json::json;

use crate::http::{ApiError, Request, Response};
use crate::ports::Env;

/// `{"status":"ok"}`, or `"degraded"` with every configuration problem.
pub(crate) fn healthz(_req: &Request, env: &Env) -> Result<Response, ApiError> {
    let problems: Vec<String> = env
        .config
        .problems()
        .iter()
        .map(ToString::to_string)
        .collect();
    Ok(if problems.is_empty() {
        Response::json(200, &json!({ "status": "ok" }))
    } else {
        Response::json(200, &json!({ "status": "degraded", "problems": problems }))
    })
}
