//! The hook every outgoing wasi-http request goes through: it enforces the
//! component's `allowed_outbound_hosts` (the pure policy lives in
//! [`crate::outbound`]), logs the call, then sends it with wasi-http's
//! default client.

use std::sync::Arc;
use std::time::Instant;

use wasmtime_wasi_http::WasiHttpHooks;

use crate::log::Log;
use crate::outbound::OutboundPolicy;

/// The outbound hook: checks the allow-list, logs, then sends.
pub(crate) struct OutboundHooks {
    policy: Arc<OutboundPolicy>,
    log: Log,
}

impl OutboundHooks {
    /// A hook enforcing `policy` and logging to `log`.
    pub(crate) fn new(policy: Arc<OutboundPolicy>, log: Log) -> Self {
        Self { policy, log }
    }
}

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<wasmtime_wasi_http::WasiBody>,
    Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn std::future::Future<Output = SendResult> + Send> {
        let target = format!(
            "{} {}://{}{}",
            request.method(),
            request.uri().scheme_str().unwrap_or("https"),
            request.uri().authority().map(|a| a.as_str()).unwrap_or(""),
            request.uri().path()
        );
        if !self.policy.allows(request.uri()) {
            self.log.warn(&format!(
                "outbound {target} refused: not in allowed_outbound_hosts"
            ));
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let log = self.log.clone();
        drop(fut);
        Box::new(async move {
            use http_body_util::BodyExt;
            let started = Instant::now();
            let result = wasmtime_wasi_http::default_send_request(request, options).await;
            let took = started.elapsed();
            match &result {
                Ok((res, _)) => log.debug(&format!(
                    "outbound {target} {} {:.1}ms",
                    res.status().as_u16(),
                    took.as_secs_f64() * 1000.0
                )),
                Err(e) => log.info(&format!(
                    "outbound {target} failed: {e} {:.1}ms",
                    took.as_secs_f64() * 1000.0
                )),
            }
            let (res, io) = result?;
            Ok((
                res.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn std::future::Future<Output = _> + Send>,
            ))
        })
    }
}
