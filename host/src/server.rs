//! Serving HTTP like `spin up`: route by the manifest's triggers, a fresh
//! instance per request from the pre-instantiated component, one log line
//! per request, and a graceful stop on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use bytes::Bytes;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use wasmtime::Store;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::WasiHttpView;

use crate::app::App;
use crate::log::Log;
use crate::state::HostState;
use crate::stats::Stats;

/// Epoch ticks per second; a request may run this many seconds of guest time.
const TICKS_PER_SEC: u64 = 10;
const REQUEST_LIMIT_SECS: u64 = 30;

type Body = UnsyncBoxBody<Bytes, anyhow::Error>;

/// Serves `app` on `listener` until `shutdown` resolves: one serving
/// thread per core, each with its own single-threaded runtime, so a
/// request's connection, instance and response stay on one thread (no work
/// stealing, no cross-core wake-ups). Connections are accepted here and
/// dealt to the serving threads in turn, so each holds the same number
/// (with one SO_REUSEPORT socket per thread, the kernel's hash split them
/// as unevenly as 60/40).
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    log: Log,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let engine = app.engine.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(1000 / TICKS_PER_SEC));
        engine.increment_epoch();
    });
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut lanes = Vec::new();
    let mut serving = Vec::new();
    for i in 0..threads {
        let (lane, connections) = tokio::sync::mpsc::unbounded_channel();
        lanes.push(lane);
        let (app, log, stopped) = (app.clone(), log.clone(), stopped.clone());
        serving.push(
            std::thread::Builder::new()
                .name(format!("wxmp-serve-{i}"))
                .spawn(move || serve_thread(app, connections, log, stopped))?,
        );
    }
    tokio::select! {
        () = deal(&listener, &lanes, &log) => {}
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

/// A connection on its way to a serving thread.
type Accepted = (std::net::TcpStream, SocketAddr);

/// Accepts connections and hands them to the serving threads round-robin.
async fn deal(listener: &TcpListener, lanes: &[UnboundedSender<Accepted>], log: &Log) {
    for next in (0..lanes.len()).cycle() {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait, don't spin.
                log.warn(&format!("accept: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if let Ok(stream) = stream.into_std() {
            let _ = lanes[next].send((stream, peer));
        }
    }
}

/// A listening socket on `addr` (SO_REUSEADDR, so a restart need not wait
/// for the old connections' TIME_WAIT).
pub fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
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
    app: Arc<App>,
    mut connections: UnboundedReceiver<Accepted>,
    log: Log,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return log.error(&format!("serving thread: {e}")),
    };
    runtime.block_on(async move {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let stats = app.stats.shard();
        loop {
            tokio::select! {
                dealt = connections.recv() => {
                    let Some((stream, peer)) = dealt else { break };
                    let Ok(stream) = tokio::net::TcpStream::from_std(stream) else { continue };
                    let _ = stream.set_nodelay(true);
                    let (app, log, stats) = (app.clone(), log.clone(), stats.clone());
                    let service = service_fn(move |req| handle(app.clone(), stats.clone(), log.clone(), peer, req));
                    let conn = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service);
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
                _ = stopped.wait_for(|s| *s) => break,
            }
        }
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(Duration::from_secs(10)) => log.warn("requests still running after 10 s; stopping anyway"),
        }
    });
}

async fn handle(
    app: Arc<App>,
    stats: Arc<Stats>,
    log: Log,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Body>, std::convert::Infallible> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = match app
        .manifest
        .route(&path)
        .and_then(|id| app.components.get(id))
    {
        Some(served) => run(served, &stats, req).await.unwrap_or_else(|e| {
            log.error(&format!("{method} {path}: {e:#}"));
            host_error(500, "internal", "the component failed to answer")
        }),
        None => host_error(404, "not_found", "no route matches"),
    };
    log.info(&format!(
        "{method} {path} {} {:.1}ms {peer}",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    ));
    Ok(response)
}

async fn run(
    served: &crate::app::Served,
    stats: &Arc<Stats>,
    req: Request<Incoming>,
) -> Result<Response<Body>> {
    let started = Instant::now();
    let mut store = Store::new(served.pre.engine(), HostState::new(served.shared.clone()));
    store.set_epoch_deadline(REQUEST_LIMIT_SECS * TICKS_PER_SEC);
    store.epoch_deadline_async_yield_and_update(REQUEST_LIMIT_SECS * TICKS_PER_SEC);
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let incoming = store
        .data_mut()
        .http()
        .new_incoming_request(Scheme::Http, req)?;
    let out = store.data_mut().http().new_response_outparam(sender)?;
    // Store set-up plus instantiation, without the wait for the task to run.
    let prepared = started.elapsed();
    let pre = served.pre.clone();
    let stats = stats.clone();
    let task = tokio::task::spawn(async move {
        let scheduled = Instant::now();
        let proxy = pre.instantiate_async(&mut store).await?;
        let instantiated = Instant::now();
        stats
            .instantiate
            .record(prepared + (instantiated - scheduled));
        let handled = proxy
            .wasi_http_incoming_handler()
            .call_handle(&mut store, incoming, out)
            .await;
        let handled_at = Instant::now();
        stats.handle.record(handled_at - instantiated);
        drop(store);
        stats.release.record(handled_at.elapsed());
        handled
    });
    match receiver.await {
        Ok(Ok(resp)) => Ok(resp.map(|b| b.map_err(anyhow::Error::from).boxed_unsync())),
        Ok(Err(e)) => Err(anyhow::anyhow!("guest answered with an error code: {e:?}")),
        Err(_) => match task.await {
            Ok(Ok(())) => Err(anyhow::anyhow!("the guest never set a response")),
            Ok(Err(e)) => {
                if e.to_string().contains("all instances") || format!("{e:?}").contains("pooling") {
                    return Ok(host_error(
                        503,
                        "busy",
                        "too many requests in flight; retry shortly",
                    ));
                }
                Err(e.into())
            }
            Err(e) => Err(e.into()),
        },
    }
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
