//! A scripted HTTP/1.1 server on loopback, for tests that need something
//! real at the other end of a socket (the app's message webhook, say): a
//! closure answers each request, optionally after a delay, and every
//! request is kept for the test to inspect. Built on hyper and tokio, so
//! the parsing is not ours to get wrong.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::http::{header_pairs, Resp};

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Received {
    /// The method.
    pub method: String,
    /// The path with its query.
    pub path: String,
    /// The headers, lowercase names.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

/// A `status` answer with a JSON (or empty) `body`.
pub fn json_reply(status: u16, body: &str) -> Resp {
    Resp {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

type Handler = dyn Fn(&Received) -> Resp + Send + Sync;

/// A server on a free loopback port, on its own runtime; it stops when
/// dropped (drop it outside any tokio runtime).
pub struct Server {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    _rt: tokio::runtime::Runtime,
}

impl Server {
    /// Serves `handler`'s answers at once.
    pub fn start(handler: impl Fn(&Received) -> Resp + Send + Sync + 'static) -> Self {
        Self::start_after(Duration::ZERO, handler)
    }

    /// Serves `handler`'s answers `delay` after each request has arrived
    /// (it is recorded on arrival).
    pub fn start_after(
        delay: Duration,
        handler: impl Fn(&Received) -> Resp + Send + Sync + 'static,
    ) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("bound address");
        let received = Arc::new(Mutex::new(Vec::new()));
        rt.spawn(accept(listener, Arc::new(handler), received.clone(), delay));
        Self {
            addr,
            received,
            _rt: rt,
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The requests so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many requests have arrived.
    pub fn count(&self) -> usize {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

async fn accept(
    listener: TcpListener,
    handler: Arc<Handler>,
    received: Arc<Mutex<Vec<Received>>>,
    delay: Duration,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (handler, received) = (handler.clone(), received.clone());
        tokio::spawn(async move {
            let service =
                service_fn(move |req| answer(req, handler.clone(), received.clone(), delay));
            // A client going away mid-exchange is the client's business.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    req: hyper::Request<Incoming>,
    handler: Arc<Handler>,
    received: Arc<Mutex<Vec<Received>>>,
    delay: Duration,
) -> Result<hyper::Response<Full<Bytes>>, hyper::Error> {
    let method = req.method().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let headers = header_pairs(req.headers());
    let body = req.into_body().collect().await?.to_bytes().to_vec();
    let request = Received {
        method,
        path,
        headers,
        body,
    };
    let reply = handler(&request);
    received
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(request);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut response = hyper::Response::builder().status(reply.status);
    for (k, v) in &reply.headers {
        response = response.header(k.as_str(), v.as_str());
    }
    Ok(response
        .body(Full::new(Bytes::from(reply.body)))
        .expect("a valid status and headers in the reply"))
}
