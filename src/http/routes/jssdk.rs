//! `GET /jssdk/config?url=…` and `POST /jssdk/config {"url"}`: a `wx.config`
//! payload for the page at `url`.

use serde::Deserialize;

use crate::core::method::Method;
use crate::flows::jssdk;
use crate::http::{ApiError, Request, Response};
use crate::ports::Env;

#[derive(Deserialize)]
struct ConfigRequest {
    url: String,
}

/// Signs the page URL given in the query (GET) or the JSON body (POST).
pub(crate) fn config(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let url = if req.method == Method::Post {
        serde_json::from_slice::<ConfigRequest>(&req.body)
            .map_err(|e| {
                ApiError::new(
                    400,
                    "invalid_json",
                    format!("expected {{\"url\": \"...\"}}: {e}"),
                )
            })?
            .url
    } else {
        req.query_param("url")
            .ok_or_else(|| ApiError::new(400, "invalid_url", "query parameter url is required"))?
    };
    Ok(Response::json(200, &jssdk::config_for(env, &url)?))
}
