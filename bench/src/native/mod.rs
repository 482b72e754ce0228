//! The native reference: wxmp's own router and flows (the `wxmp` crate, not
//! a copy) behind hyper, with the configuration read once at start. It is
//! what the component would be without WebAssembly, so the benchmark can say
//! what the sandbox costs.
//!
//! Warm requests never block. A cold token fetch and the 20 ms lease polls
//! of its losers run on the tokio worker that took the request, which is
//! fine for a reference but not how to build a production server.

mod ports;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use wxmp::core::config::Config;
use wxmp::http::{limits, ApiError, Request, Response};
use wxmp::ports::Env;

pub use ports::{BlockingHttp, MemoryKv, OsRandom, StderrLog, SystemClock};

/// What every request shares.
pub struct Native {
    config: Config,
    kv: MemoryKv,
}

impl Native {
    /// A reference serving `config` with an empty store.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            kv: MemoryKv::default(),
        }
    }

    /// Answers one request exactly as the component's router would.
    pub fn answer(&self, request: Request) -> Response {
        let env = Env {
            config: &self.config,
            kv: &self.kv,
            http: &BlockingHttp,
            clock: &SystemClock,
            entropy: &OsRandom,
            log: &StderrLog,
        };
        wxmp::http::handle(request, &env)
    }
}

/// Serves `native` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, native: Arc<Native>) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let native = native.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let native = native.clone();
                async move { Ok::<_, Infallible>(respond(&native, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn respond(native: &Native, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let response = match read(req).await {
        Ok(request) => native.answer(request),
        Err(e) => e.into_response(),
    };
    let mut out = hyper::Response::builder().status(response.status);
    for (k, v) in &response.headers {
        out = out.header(k, v);
    }
    out.body(Full::new(Bytes::from(response.body)))
        .unwrap_or_else(|_| {
            let mut r = hyper::Response::new(Full::new(Bytes::new()));
            *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
}

/// hyper's request as wxmp's value, with the component's size limits.
async fn read(req: hyper::Request<Incoming>) -> Result<Request, ApiError> {
    let (head, body) = req.into_parts();
    let target = head
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    limits::check_head(
        target.len(),
        head.headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())),
    )?;
    // The body first: a `Request` may hold a stream, so it is built after
    // the last await.
    let body = Limited::new(body, limits::MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|_| limits::body_too_large())?
        .to_bytes()
        .to_vec();
    let mut request = Request::new(head.method.as_str(), &target).with_body(body);
    request.headers = head
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    Ok(request)
}
