//! Serving HTTP like `spin up`: route by the manifest's triggers, a fresh
//! instance per request from the pre-instantiated component, one log line
//! per request, and a graceful stop on Ctrl-C or SIGTERM — with every
//! client bounded ([`Limits`]): a header deadline (which also closes idle
//! keep-alive connections), a cap on open connections, bodies buffered
//! before an instance is taken (with their own deadline), a cap on
//! instances answered with `503 busy`, and a wall-clock deadline that ends
//! an instance whatever it is doing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use bytes::Bytes;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full, Limited};
use hyper::body::{Body as _, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::WasiHttpView;

use crate::app::App;
use crate::limits::Limits;
use crate::log::{Log, RequestId, RequestLine};
use crate::manifest::RouteMatch;
use crate::metrics::{Metrics, Shard};
use crate::state::HostState;
use crate::stats::Stats;
use crate::trace::Trace;

/// Epoch ticks per second: how often a running guest yields to the other
/// requests on its thread and its deadline is checked.
const TICKS_PER_SEC: u64 = 10;
/// The largest request head hyper reads (the component itself answers
/// 414/431 JSON below this: URL 8 KiB, headers 32 KiB).
const MAX_HEAD_BYTES: usize = 64 * 1024;

type Body = UnsyncBoxBody<Bytes, anyhow::Error>;

/// What every serving thread shares.
struct Shared {
    app: Arc<App>,
    log: Log,
    limits: Limits,
    /// One permit per instance that may run.
    instances: Arc<Semaphore>,
    /// Prometheus metrics (`--metrics-listen`), or `None`.
    metrics: Option<Arc<Metrics>>,
}

/// What one serving thread's requests share: its own timing and metric
/// shards (never written from another core) and its clone of the log.
struct Lane {
    stats: Arc<Stats>,
    metrics: Option<Arc<Shard>>,
    log: Log,
}

/// Serves `app` on `listener` until `shutdown` resolves: one serving
/// thread per core, each with its own single-threaded runtime, so a
/// request's connection, instance and response stay on one thread (no work
/// stealing, no cross-core wake-ups). Connections are accepted here, within
/// the connection cap, and dealt to the serving threads in turn.
pub(crate) async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    log: Log,
    limits: Limits,
    metrics: Option<Arc<Metrics>>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let engine = app.engine.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(1000 / TICKS_PER_SEC));
        engine.increment_epoch();
    });
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let instances = Arc::new(Semaphore::new(limits.max_instances as usize));
    if let Some(m) = &metrics {
        m.watch_pools(
            instances.clone(),
            limits.max_instances as usize,
            connections.clone(),
            limits.max_connections,
        );
    }
    let shared = Arc::new(Shared {
        instances,
        app: app.clone(),
        log: log.clone(),
        limits,
        metrics,
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut lanes = Vec::new();
    let mut serving = Vec::new();
    for i in 0..threads {
        let (lane, dealt) = tokio::sync::mpsc::unbounded_channel();
        lanes.push(lane);
        let (shared, stopped) = (shared.clone(), stopped.clone());
        serving.push(
            std::thread::Builder::new()
                .name(format!("wxmp-serve-{i}"))
                .spawn(move || serve_thread(shared, dealt, stopped))?,
        );
    }
    tokio::select! {
        () = deal(&listener, &lanes, &connections, &log) => {}
        () = shutdown => {}
    }
    // New connections are refused from here on; open ones finish.
    drop(listener);
    log.info("shutting down: finishing requests in flight");
    let _ = stop.send(true);
    let _ = tokio::task::spawn_blocking(move || {
        for thread in serving {
            let _ = thread.join();
        }
    })
    .await;
    if let Some(line) = app.stats.summary() {
        log.info(&line);
    }
    log.flush();
    Ok(())
}

/// A connection on its way to a serving thread, with its place under the cap.
type Accepted = (std::net::TcpStream, SocketAddr, OwnedSemaphorePermit);

/// Accepts connections and hands them to the serving threads round-robin;
/// over the connection cap, answers `503` at once and closes.
async fn deal(
    listener: &TcpListener,
    lanes: &[UnboundedSender<Accepted>],
    connections: &Arc<Semaphore>,
    log: &Log,
) {
    let mut next = 0;
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait, don't spin.
                log.warn(&format!("accept: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            // Past the refusals' own cap the socket is just dropped.
            if let Ok(refusal) = refusals.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    refuse(stream).await;
                    drop(refusal);
                });
            }
            continue;
        };
        if let Ok(stream) = stream.into_std() {
            let _ = lanes[next].send((stream, peer, permit));
            next = (next + 1) % lanes.len();
        }
    }
}

/// The answer for a connection over the cap, sent before any request is
/// read (so it costs the host one write, not a parse).
fn over_capacity() -> Vec<u8> {
    let body = r#"{"error":"busy","message":"too many open connections; retry shortly"}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Refused connections being answered at once; more are dropped unanswered.
const MAX_REFUSALS: usize = 1024;

/// Answers `503 busy` and closes without reading the request — but only
/// after the client's bytes have been drained (≤ 64 KiB, ≤ 1 s): closing a
/// socket with unread input sends a reset, which can destroy the answer
/// before the client reads it.
async fn refuse(mut stream: tokio::net::TcpStream) {
    let answer = over_capacity();
    let linger = async {
        stream.write_all(&answer).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        let mut drained = 0;
        while drained < 64 * 1024 {
            match stream.read(&mut sink).await? {
                0 => break,
                n => drained += n,
            }
        }
        std::io::Result::Ok(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), linger).await;
}

/// A listening socket on `addr` (SO_REUSEADDR, so a restart need not wait
/// for the old connections' TIME_WAIT).
pub(crate) fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// One serving thread: serve the connections dealt to it, stop gracefully.
fn serve_thread(
    shared: Arc<Shared>,
    mut dealt: UnboundedReceiver<Accepted>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return shared.log.error(&format!("serving thread: {e}")),
    };
    runtime.block_on(async move {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let lane = Arc::new(Lane {
            stats: shared.app.stats.shard(),
            metrics: shared.metrics.as_ref().map(|m| m.shard()),
            log: shared.log.clone(),
        });
        loop {
            tokio::select! {
                next = dealt.recv() => {
                    let Some((stream, peer, permit)) = next else { break };
                    let Ok(stream) = tokio::net::TcpStream::from_std(stream) else { continue };
                    let _ = stream.set_nodelay(true);
                    let (shared2, lane) = (shared.clone(), lane.clone());
                    let service = service_fn(move |req| handle(shared2.clone(), lane.clone(), peer, req));
                    let conn = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(shared.limits.header_timeout())
                        .max_buf_size(MAX_HEAD_BYTES)
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service);
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        let _ = conn.await;
                        drop(permit);
                    });
                }
                _ = stopped.wait_for(|s| *s) => break,
            }
        }
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(Duration::from_secs(10)) => shared.log.warn("requests still running after 10 s; stopping anyway"),
        }
    });
}

/// One request: route it, run it, count it, and hand its log line to the
/// trace (written once its component has finished too) or write it now
/// (no component ran).
async fn handle(
    shared: Arc<Shared>,
    lane: Arc<Lane>,
    peer: SocketAddr,
    mut req: Request<Incoming>,
) -> Result<Response<Body>, std::convert::Infallible> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let matched = shared.app.manifest.route(&path);
    let trigger = matched.as_ref().map(|m| m.trigger);
    let served = matched.as_ref().and_then(|m| {
        append_spin_headers(&mut req, m, peer);
        shared.app.components.get(m.component)
    });
    let mut trace = None;
    let response = match served {
        Some(served) => serve_request(&shared, served, &lane, req, &mut trace)
            .await
            .unwrap_or_else(|e| {
                shared.log.error(&format!("{method} {path}: {e:#}"));
                host_error(500, "internal", "the component failed to answer")
            }),
        None => host_error(404, "not_found", "no route matches"),
    };
    let latency = started.elapsed();
    let status = response.status().as_u16();
    if let (Some(shard), Some(metrics)) = (&lane.metrics, &shared.metrics) {
        shard.request(metrics.route_slot(trigger), status, latency);
    }
    if shared.log.wants_requests() {
        let line = RequestLine {
            method,
            path,
            route: trigger,
            status,
            latency,
            peer,
            request_id: RequestId::of(response.headers()),
            upstream: Vec::new(),
        };
        match trace {
            Some(trace) => trace.answered(line, &lane.log),
            None => lane.log.request(line),
        }
    }
    Ok(response)
}

/// Appends the headers Spin 4 appends for the matched route, after every
/// header the client sent (which are all kept, forged `spin-*` ones too:
/// the component trusts only the last value of each, Spin's).
fn append_spin_headers<B>(req: &mut Request<B>, matched: &RouteMatch<'_>, peer: SocketAddr) {
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_owned();
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |pq| pq.as_str().to_owned());
    for (name, value) in matched.spin_headers(&host, &target, peer) {
        if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
            req.headers_mut().append(name, value);
        }
    }
}

/// Reads the body (when small enough to buffer), takes an instance and runs
/// the component; the refusals along the way are JSON answers.
async fn serve_request(
    shared: &Shared,
    served: &crate::app::Served,
    lane: &Arc<Lane>,
    req: Request<Incoming>,
    trace: &mut Option<Arc<Trace>>,
) -> Result<Response<Body>> {
    let limits = &shared.limits;
    let streamed = req
        .body()
        .size_hint()
        .exact()
        .is_some_and(|len| len > limits.max_buffered_body as u64);
    if streamed {
        let Some(permit) = take_instance(shared) else {
            return Ok(busy(lane));
        };
        return run(served, lane, req, permit, limits.request_timeout(), trace).await;
    }
    let (parts, body) = req.into_parts();
    let collected = tokio::time::timeout(
        limits.body_timeout(),
        Limited::new(body, limits.max_buffered_body).collect(),
    )
    .await;
    let body = match collected {
        Err(_) => {
            return Ok(closing(host_error(
                408,
                "body_timeout",
                &format!(
                    "the body did not arrive within {} s",
                    limits.body_timeout_secs
                ),
            )))
        }
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return Ok(closing(host_error(
                413,
                "payload_too_large",
                &format!(
                    "a body without Content-Length may be at most {} bytes",
                    limits.max_buffered_body
                ),
            )))
        }
        Ok(Err(_)) => {
            return Ok(closing(host_error(
                400,
                "invalid_body",
                "the request body could not be read",
            )))
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let Some(permit) = take_instance(shared) else {
        return Ok(busy(lane));
    };
    let req = Request::from_parts(parts, Full::new(body));
    run(served, lane, req, permit, limits.request_timeout(), trace).await
}

/// The answer with `Connection: close`: the rest of an unread body must
/// not be taken for the next request.
fn closing(mut r: Response<Body>) -> Response<Body> {
    r.headers_mut().insert(
        "connection",
        hyper::header::HeaderValue::from_static("close"),
    );
    r
}

/// An instance slot, or `None` when all are in use.
fn take_instance(shared: &Shared) -> Option<OwnedSemaphorePermit> {
    shared.instances.clone().try_acquire_owned().ok()
}

/// `503 busy` with `Retry-After`: every instance is in use (counted).
fn busy(lane: &Lane) -> Response<Body> {
    if let Some(m) = &lane.metrics {
        m.busy();
    }
    let mut r = host_error(503, "busy", "too many requests in flight; retry shortly");
    r.headers_mut()
        .insert("retry-after", hyper::header::HeaderValue::from_static("1"));
    r
}

/// Runs one request in a fresh instance. The instance (and `permit`) live
/// until the guest returns or `deadline` passes, whichever comes first; a
/// guest past its deadline is trapped at the next epoch tick. When request
/// lines are logged, `trace` gets the request's trace: the calls the guest
/// makes, and the end of the guest, go there.
async fn run<B>(
    served: &crate::app::Served,
    lane: &Arc<Lane>,
    req: Request<B>,
    permit: OwnedSemaphorePermit,
    deadline: Duration,
    trace: &mut Option<Arc<Trace>>,
) -> Result<Response<Body>>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<wasmtime_wasi_http::Error>,
{
    let started = Instant::now();
    if lane.log.wants_requests() {
        *trace = Some(Arc::default());
    }
    // Tells the trace the guest is done when dropped: at the end of the
    // task below, or right here if the request never reaches the guest.
    let finished = Finished(trace.clone(), lane.clone());
    let state = HostState::new(
        served.shared.clone(),
        trace.clone(),
        lane.metrics.clone(),
        Some(lane.stats.clone()),
    );
    let mut store = Store::new(served.pre.engine(), state);
    store.set_epoch_deadline(1);
    // Every tick a running guest yields with tokio's `yield_now`, which
    // lets the runtime poll its I/O driver first: a plain re-wake would keep
    // a spinning guest at the head of the queue and starve the other
    // connections on its thread for dozens of ticks.
    store.epoch_deadline_callback(move |_| {
        Ok(if started.elapsed() >= deadline {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now()))
        })
    });
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let incoming = store
        .data_mut()
        .http()
        .new_incoming_request(Scheme::Http, req)?;
    let out = store.data_mut().http().new_response_outparam(sender)?;
    // Store set-up plus instantiation, without the wait for the task to run.
    let prepared = started.elapsed();
    let pre = served.pre.clone();
    let guest_lane = lane.clone();
    let guest = async move {
        let lane = guest_lane;
        let scheduled = Instant::now();
        let proxy = match pre.instantiate_async(&mut store).await {
            Ok(proxy) => proxy,
            Err(e)
                if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
                    .is_some() =>
            {
                return Err(Refused::Busy);
            }
            Err(e) => return Err(Refused::Failed(e.into())),
        };
        let instantiated = Instant::now();
        lane.stats
            .instantiate
            .record(prepared + (instantiated - scheduled));
        if let Some(m) = &lane.metrics {
            m.instantiate.observe(prepared + (instantiated - scheduled));
        }
        let handled = proxy
            .wasi_http_incoming_handler()
            .call_handle(&mut store, incoming, out)
            .await;
        let handled_at = Instant::now();
        lane.stats.handle.record(handled_at - instantiated);
        drop(store);
        let released = handled_at.elapsed();
        lane.stats.release.record(released);
        if let Some(m) = &lane.metrics {
            m.handle.observe(handled_at - instantiated);
            m.release.observe(released);
        }
        handled.map_err(|e| {
            if e.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) {
                Refused::Deadline
            } else {
                Refused::Failed(e.into())
            }
        })
    };
    let task = tokio::task::spawn(async move {
        let outcome = tokio::time::timeout(deadline, guest).await;
        drop(permit);
        // The instance is gone (returned, or dropped at the deadline):
        // every call it made has ended or been abandoned.
        drop(finished);
        outcome.unwrap_or(Err(Refused::Deadline))
    });
    match receiver.await {
        Ok(Ok(resp)) => Ok(resp.map(|b| b.map_err(anyhow::Error::from).boxed_unsync())),
        Ok(Err(e)) => Err(anyhow::anyhow!("guest answered with an error code: {e:?}")),
        Err(_) => match task.await? {
            Ok(()) => Err(anyhow::anyhow!("the guest never set a response")),
            Err(Refused::Busy) => Ok(busy(lane)),
            Err(Refused::Deadline) => Ok(host_error(
                504,
                "deadline",
                &format!(
                    "the component did not answer within {} s",
                    deadline.as_secs()
                ),
            )),
            Err(Refused::Failed(e)) => Err(e),
        },
    }
}

/// Marks a request's trace finished when dropped, however the task that
/// ran its guest ended (returned, timed out, panicked).
struct Finished(Option<Arc<Trace>>, Arc<Lane>);

impl Drop for Finished {
    fn drop(&mut self) {
        if let Some(trace) = self.0.take() {
            trace.finished(&self.1.log);
        }
    }
}

/// Why a guest produced no answer.
enum Refused {
    /// The instance pool was full.
    Busy,
    /// It ran past its deadline and was ended.
    Deadline,
    /// It trapped or failed.
    Failed(anyhow::Error),
}

/// A JSON error from the host itself (no component answered).
fn host_error(status: u16, code: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": code, "message": message }).to_string();
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(
            Full::new(Bytes::from(body))
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
        .unwrap_or_else(|_| {
            Response::new(
                Full::new(Bytes::new())
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_over_capacity_answer_is_well_formed_http() {
        let answer = over_capacity();
        let text = std::str::from_utf8(&answer).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(body.len(), length);
        let json: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
        assert_eq!(json["error"], "busy");
    }

    /// A client whose request is still arriving when the host refuses it
    /// reads the whole 503: the host drains instead of resetting.
    #[tokio::test]
    async fn a_refused_client_still_reads_its_503() {
        use std::io::{Read, Write};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            // The refusal is written (and the host done with it) first.
            std::thread::sleep(Duration::from_millis(200));
            s.write_all(b"GET /ok HTTP/1.1\r\nhost: x\r\n").unwrap();
            std::thread::sleep(Duration::from_millis(50));
            s.write_all(b"\r\n").unwrap();
            let mut answer = String::new();
            s.read_to_string(&mut answer).map(|_| answer)
        });
        let (stream, _) = listener.accept().await.unwrap();
        refuse(stream).await;
        let answer = tokio::task::spawn_blocking(move || client.join().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.ends_with(r#""busy","message":"too many open connections; retry shortly"}"#));
    }
}
