//! Prometheus metrics on a listener of their own (`--metrics-listen`, off
//! by default): requests by manifest route and status class, latency
//! histograms, the instantiate / handle / release times the shutdown line
//! summarises, the instance pool, outbound calls by host, status and
//! WeChat errcode, and key-value operations by operation and backend.
//!
//! Recording is on the serving path, so it is kept to a few relaxed atomic
//! adds on counters owned by the serving thread ([`Shard`]: no lock, no
//! cache line shared with the other cores, nothing looked up by label).
//! A scrape adds the shards up and hands the totals to `prometheus-client`,
//! which writes the text exposition. Outbound calls, which take
//! milliseconds anyway, go through one small locked table.
//!
//! Every label is bounded: routes come from the manifest (`unmatched` for
//! a request no trigger took), status classes are five, key-value
//! operations and backends are fixed lists, and outbound hosts and
//! errcodes keep the first [`MAX_HOSTS`] / [`MAX_ERRCODES`] values seen,
//! the rest counted under `other`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::log::Log;
use crate::trace::Outcome;

/// Distinct outbound hosts given their own label value.
pub(crate) const MAX_HOSTS: usize = 32;
/// Distinct WeChat errcodes given their own label value.
pub(crate) const MAX_ERRCODES: usize = 64;
/// The route label of a request no trigger matched.
pub(crate) const UNMATCHED: &str = "unmatched";
/// Scrapers served at once.
const MAX_SCRAPERS: usize = 16;

/// Status classes, by `status / 100 - 1` (anything outside 100–599 counts as 5xx).
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Bucket bounds (nanoseconds) of request latency: 0.5 ms … 30 s.
const REQUEST_BOUNDS: &[u64] = &[
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
    30_000_000_000,
];
/// Bucket bounds of instantiate / handle / release: 5 µs … 30 s (a handler
/// that calls WeChat, or waits for a late webhook reply, takes seconds).
const INSTANCE_BOUNDS: &[u64] = &[
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    50_000_000,
    250_000_000,
    1_000_000_000,
    5_000_000_000,
    30_000_000_000,
];
/// Bucket bounds of key-value operations: 5 µs (in memory) … 10 s (a
/// store that stopped answering).
const KV_BOUNDS: &[u64] = &[
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    100_000_000,
    500_000_000,
    2_500_000_000,
    10_000_000_000,
];
/// Bucket bounds of outbound calls: 5 ms … 30 s.
const OUTBOUND_BOUNDS: &[u64] = &[
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
    30_000_000_000,
];

/// A key-value operation, as `wasi:keyvalue` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KvOp {
    /// `store.bucket.get`
    Get,
    /// `store.bucket.set`
    Set,
    /// `store.bucket.delete`
    Delete,
    /// `store.bucket.exists`
    Exists,
    /// `store.bucket.list-keys`
    ListKeys,
    /// `atomics.increment`
    Increment,
    /// `atomics.swap`
    Swap,
    /// `atomics.cas.current`
    CasCurrent,
    /// `batch.get-many`
    GetMany,
    /// `batch.set-many`
    SetMany,
    /// `batch.delete-many`
    DeleteMany,
}

impl KvOp {
    /// Every operation, in declaration order (`op as usize` indexes it).
    pub(crate) const ALL: [KvOp; 11] = [
        Self::Get,
        Self::Set,
        Self::Delete,
        Self::Exists,
        Self::ListKeys,
        Self::Increment,
        Self::Swap,
        Self::CasCurrent,
        Self::GetMany,
        Self::SetMany,
        Self::DeleteMany,
    ];

    /// The `op` label value.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Set => "set",
            Self::Delete => "delete",
            Self::Exists => "exists",
            Self::ListKeys => "list_keys",
            Self::Increment => "increment",
            Self::Swap => "swap",
            Self::CasCurrent => "cas_current",
            Self::GetMany => "get_many",
            Self::SetMany => "set_many",
            Self::DeleteMany => "delete_many",
        }
    }
}

/// Backend label values, indexed by [`crate::kv::Backend::kind`].
pub(crate) const BACKENDS: [&str; 3] = ["memory", "sqlite", "redis"];

/// A histogram with fixed bucket bounds, recorded with two relaxed atomic
/// adds (the `+Inf` count and the total are derived at scrape time).
pub(crate) struct Hist {
    bounds: &'static [u64],
    /// One per bound, then `+Inf`.
    counts: Box<[AtomicU64]>,
    sum_ns: AtomicU64,
}

impl Hist {
    fn new(bounds: &'static [u64]) -> Self {
        Self {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_ns: AtomicU64::new(0),
        }
    }

    /// Counts one duration.
    pub(crate) fn observe(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let i = self.bounds.partition_point(|b| *b < ns);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    fn add_to(&self, total: &mut Totals) {
        if total.counts.is_empty() {
            total.counts = vec![0; self.counts.len()];
        }
        for (t, c) in total.counts.iter_mut().zip(self.counts.iter()) {
            *t += c.load(Ordering::Relaxed);
        }
        total.sum_ns += self.sum_ns.load(Ordering::Relaxed);
    }
}

/// A histogram's counts added up over shards.
#[derive(Default)]
struct Totals {
    counts: Vec<u64>,
    sum_ns: u64,
}

impl Totals {
    fn of<'a>(hists: impl Iterator<Item = &'a Hist>) -> (Self, &'static [u64]) {
        let mut total = Self::default();
        let mut bounds: &'static [u64] = &[];
        for h in hists {
            bounds = h.bounds;
            h.add_to(&mut total);
        }
        if total.counts.is_empty() {
            total.counts = vec![0; bounds.len() + 1];
        }
        (total, bounds)
    }

    fn encode(
        &self,
        bounds: &[u64],
        mut encoder: prometheus_client::encoding::MetricEncoder<'_>,
    ) -> std::fmt::Result {
        let buckets: Vec<(f64, u64)> = bounds
            .iter()
            .map(|b| *b as f64 / 1e9)
            .chain(std::iter::once(f64::INFINITY))
            .zip(self.counts.iter().copied())
            .collect();
        encoder.encode_histogram::<NoLabelSet>(
            self.sum_ns as f64 / 1e9,
            self.counts.iter().sum(),
            &buckets,
            None,
        )
    }
}

/// One serving thread's metrics.
pub(crate) struct Shard {
    /// Per route slot, per status class.
    requests: Box<[[AtomicU64; 5]]>,
    /// Per route slot.
    latency: Box<[Hist]>,
    /// Store creation and instantiation.
    pub(crate) instantiate: Hist,
    /// The guest's handler.
    pub(crate) handle: Hist,
    /// Dropping the store (the instance's memory reset).
    pub(crate) release: Hist,
    /// `503 busy` answers: no instance was free.
    busy: AtomicU64,
    /// Per backend, per operation.
    kv: Box<[Hist]>,
    kv_errors: Box<[AtomicU64]>,
    /// The outbound table (shared by every thread).
    pub(crate) outbound: Arc<OutboundTable>,
}

impl Shard {
    /// Counts an answered request: `route` from [`Metrics::route_slot`].
    pub(crate) fn request(&self, route: usize, status: u16, latency: Duration) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        if let Some(row) = self.requests.get(route) {
            row[class].fetch_add(1, Ordering::Relaxed);
            self.latency[route].observe(latency);
        }
    }

    /// Counts a `503 busy`.
    pub(crate) fn busy(&self) {
        self.busy.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a key-value operation on backend `kind` ([`BACKENDS`]).
    pub(crate) fn kv(&self, kind: usize, op: KvOp, took: Duration, ok: bool) {
        let i = kind * KvOp::ALL.len() + op as usize;
        if let Some(h) = self.kv.get(i) {
            h.observe(took);
            if !ok {
                self.kv_errors[i].fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Outbound calls by host, status and errcode (a small locked table: calls
/// take milliseconds, a lock takes nanoseconds).
#[derive(Default)]
pub(crate) struct OutboundTable(Mutex<Outbound>);

#[derive(Default)]
struct Outbound {
    /// Host label values in the order first seen; index `MAX_HOSTS` is `other`.
    hosts: Vec<String>,
    errcodes: Vec<i64>,
    calls: BTreeMap<(usize, Outcome, ErrLabel), u64>,
    /// Per host slot (`MAX_HOSTS + 1` of them once used).
    durations: BTreeMap<usize, Hist>,
}

/// An errcode label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum ErrLabel {
    /// The answer was not JSON (or there was none).
    None,
    /// WeChat's errcode.
    Code(i64),
    /// An errcode past the first [`MAX_ERRCODES`].
    Other,
}

impl OutboundTable {
    /// Counts a call to `host` (`host:port`).
    pub(crate) fn record(
        &self,
        host: &str,
        outcome: Outcome,
        errcode: Option<i64>,
        took: Duration,
    ) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let slot = match t.hosts.iter().position(|h| h == host) {
            Some(i) => i,
            None if t.hosts.len() < MAX_HOSTS => {
                t.hosts.push(host.to_owned());
                t.hosts.len() - 1
            }
            None => MAX_HOSTS,
        };
        let err = match errcode {
            None => ErrLabel::None,
            Some(code) if t.errcodes.contains(&code) => ErrLabel::Code(code),
            Some(code) if t.errcodes.len() < MAX_ERRCODES => {
                t.errcodes.push(code);
                ErrLabel::Code(code)
            }
            Some(_) => ErrLabel::Other,
        };
        // A status outside HTTP's range would be a label of its own each.
        let outcome = match outcome {
            Outcome::Status(s) if !(100..=599).contains(&s) => Outcome::Failed,
            o => o,
        };
        *t.calls.entry((slot, outcome, err)).or_insert(0) += 1;
        t.durations
            .entry(slot)
            .or_insert_with(|| Hist::new(OUTBOUND_BOUNDS))
            .observe(took);
    }
}

#[cfg(test)]
impl OutboundTable {
    /// (host, status, errcode, calls) rows, for tests.
    pub(crate) fn snapshot(&self) -> Vec<(String, String, String, u64)> {
        let t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        t.calls
            .iter()
            .map(|((slot, outcome, err), n)| {
                (
                    t.hosts
                        .get(*slot)
                        .cloned()
                        .unwrap_or_else(|| "other".into()),
                    outcome.to_string(),
                    err.label(),
                    *n,
                )
            })
            .collect()
    }
}

impl ErrLabel {
    fn label(self) -> String {
        match self {
            Self::None => "none".to_owned(),
            Self::Code(c) => c.to_string(),
            Self::Other => "other".to_owned(),
        }
    }
}

/// The instance and connection pools, read at scrape time (recording
/// them costs the serving path nothing).
struct Pools {
    instances: Arc<Semaphore>,
    max_instances: usize,
    connections: Arc<Semaphore>,
    max_connections: usize,
}

/// Every metric of one host.
pub(crate) struct Metrics {
    /// Route label values: the manifest's routes (deduplicated), then `unmatched`.
    routes: Vec<String>,
    /// Trigger index → route slot.
    slot_of_trigger: Vec<usize>,
    shards: Mutex<Vec<Arc<Shard>>>,
    outbound: Arc<OutboundTable>,
    pools: OnceLock<Pools>,
}

impl Metrics {
    /// Metrics for a manifest whose triggers have `routes`, in order.
    pub(crate) fn new<'a>(routes: impl IntoIterator<Item = &'a str>) -> Arc<Self> {
        let mut names: Vec<String> = Vec::new();
        let mut slot_of_trigger = Vec::new();
        for route in routes {
            let slot = names.iter().position(|n| n == route).unwrap_or_else(|| {
                names.push(route.to_owned());
                names.len() - 1
            });
            slot_of_trigger.push(slot);
        }
        names.push(UNMATCHED.to_owned());
        Arc::new(Self {
            routes: names,
            slot_of_trigger,
            shards: Mutex::new(Vec::new()),
            outbound: Arc::default(),
            pools: OnceLock::new(),
        })
    }

    /// The route slot of trigger `trigger` (`None`: no trigger matched).
    pub(crate) fn route_slot(&self, trigger: Option<usize>) -> usize {
        trigger
            .and_then(|t| self.slot_of_trigger.get(t).copied())
            .unwrap_or(self.routes.len() - 1)
    }

    /// A new shard for one serving thread.
    pub(crate) fn shard(&self) -> Arc<Shard> {
        let routes = self.routes.len();
        let kv = BACKENDS.len() * KvOp::ALL.len();
        let shard = Arc::new(Shard {
            requests: (0..routes).map(|_| Default::default()).collect(),
            latency: (0..routes).map(|_| Hist::new(REQUEST_BOUNDS)).collect(),
            instantiate: Hist::new(INSTANCE_BOUNDS),
            handle: Hist::new(INSTANCE_BOUNDS),
            release: Hist::new(INSTANCE_BOUNDS),
            busy: AtomicU64::new(0),
            kv: (0..kv).map(|_| Hist::new(KV_BOUNDS)).collect(),
            kv_errors: (0..kv).map(|_| AtomicU64::new(0)).collect(),
            outbound: self.outbound.clone(),
        });
        self.shards
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(shard.clone());
        shard
    }

    /// Where the pool gauges read from (called once the server has them).
    pub(crate) fn watch_pools(
        &self,
        instances: Arc<Semaphore>,
        max_instances: usize,
        connections: Arc<Semaphore>,
        max_connections: usize,
    ) {
        let _ = self.pools.set(Pools {
            instances,
            max_instances,
            connections,
            max_connections,
        });
    }

    /// A registry that exposes these metrics.
    pub(crate) fn registry(self: &Arc<Self>) -> Registry {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Exposition(self.clone())));
        registry
    }

    /// The text exposition, as a scrape gets it.
    pub(crate) fn render(registry: &Registry) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, registry);
        out
    }
}

/// The collector a scrape runs: totals over the shards, encoded.
struct Exposition(Arc<Metrics>);

impl std::fmt::Debug for Exposition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Exposition")
    }
}

fn counter(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    series: &[(Vec<(&str, String)>, u64)],
) -> std::fmt::Result {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in series {
        let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        ConstCounter::new(*value).encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

fn gauge(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: i64,
) -> std::fmt::Result {
    let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(value).encode(metric)
}

fn histogram<'h>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    series: impl IntoIterator<Item = (Vec<(&'static str, String)>, Vec<&'h Hist>)>,
) -> std::fmt::Result {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Histogram)?;
    for (labels, hists) in series {
        let (totals, bounds) = Totals::of(hists.into_iter());
        // An empty label set writes no braces at all.
        let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        totals.encode(bounds, metric.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for Exposition {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let m = &self.0;
        let shards: Vec<Arc<Shard>> = m.shards.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let sum = |f: &dyn Fn(&Shard) -> u64| shards.iter().map(|s| f(s)).sum::<u64>();

        let mut requests = Vec::new();
        for (slot, route) in m.routes.iter().enumerate() {
            for (class, name) in CLASSES.iter().enumerate() {
                let n = sum(&|s| s.requests[slot][class].load(Ordering::Relaxed));
                requests.push((
                    vec![("route", route.clone()), ("status", (*name).to_owned())],
                    n,
                ));
            }
        }
        counter(
            &mut encoder,
            "wxmp_host_requests",
            "Requests answered, by the manifest route that matched (unmatched: none did) and status class.",
            &requests,
        )?;
        histogram(
            &mut encoder,
            "wxmp_host_request_duration_seconds",
            "From a request's arrival to its answer's head, by manifest route.",
            m.routes.iter().enumerate().map(|(slot, route)| {
                (
                    vec![("route", route.clone())],
                    shards.iter().map(|s| &s.latency[slot]).collect(),
                )
            }),
        )?;
        for (name, help, pick) in [
            (
                "wxmp_host_instantiate_duration_seconds",
                "Store creation and instantiation of a request's component instance.",
                (|s: &Shard| &s.instantiate) as fn(&Shard) -> &Hist,
            ),
            (
                "wxmp_host_handle_duration_seconds",
                "The component's incoming-handler, until it returns (work after the answer included).",
                |s: &Shard| &s.handle,
            ),
            (
                "wxmp_host_release_duration_seconds",
                "Dropping a finished instance: its memory reset for the next request.",
                |s: &Shard| &s.release,
            ),
        ] {
            histogram(
                &mut encoder,
                name,
                help,
                [(Vec::new(), shards.iter().map(|s| pick(s)).collect())],
            )?;
        }

        if let Some(p) = m.pools.get() {
            let in_use = p
                .max_instances
                .saturating_sub(p.instances.available_permits());
            gauge(
                &mut encoder,
                "wxmp_host_instances_in_use",
                "Component instances running now (requests in flight, work after the answer included).",
                in_use as i64,
            )?;
            gauge(
                &mut encoder,
                "wxmp_host_instances_max",
                "The instance cap (--max-instances).",
                p.max_instances as i64,
            )?;
            let open = p
                .max_connections
                .saturating_sub(p.connections.available_permits());
            gauge(
                &mut encoder,
                "wxmp_host_connections_open",
                "Client connections open now.",
                open as i64,
            )?;
            gauge(
                &mut encoder,
                "wxmp_host_connections_max",
                "The connection cap (--max-connections).",
                p.max_connections as i64,
            )?;
        }
        counter(
            &mut encoder,
            "wxmp_host_instances_exhausted",
            "Requests answered 503 busy because every instance was in use.",
            &[(Vec::new(), sum(&|s| s.busy.load(Ordering::Relaxed)))],
        )?;

        {
            let t = m.outbound.0.lock().unwrap_or_else(|p| p.into_inner());
            let host = |slot: usize| t.hosts.get(slot).cloned().unwrap_or_else(|| "other".into());
            let calls: Vec<_> = t
                .calls
                .iter()
                .map(|((slot, outcome, err), n)| {
                    (
                        vec![
                            ("host", host(*slot)),
                            ("status", outcome.to_string()),
                            ("errcode", err.label()),
                        ],
                        *n,
                    )
                })
                .collect();
            counter(
                &mut encoder,
                "wxmp_host_outbound_requests",
                "Outbound calls by host:port, status (or refused / error / cancelled) and WeChat errcode (none: not a JSON answer).",
                &calls,
            )?;
            histogram(
                &mut encoder,
                "wxmp_host_outbound_duration_seconds",
                "Outbound calls, from sending to the answer's last byte, by host:port.",
                t.durations
                    .iter()
                    .map(|(slot, h)| (vec![("host", host(*slot))], vec![h])),
            )?;
        }

        let kv_series = |i: usize| {
            let (kind, op) = (i / KvOp::ALL.len(), KvOp::ALL[i % KvOp::ALL.len()]);
            vec![
                ("op", op.name().to_owned()),
                ("backend", BACKENDS[kind].to_owned()),
            ]
        };
        let used: Vec<usize> = (0..BACKENDS.len() * KvOp::ALL.len())
            .filter(|i| {
                shards.iter().any(|s| {
                    s.kv[*i]
                        .counts
                        .iter()
                        .any(|c| c.load(Ordering::Relaxed) > 0)
                })
            })
            .collect();
        histogram(
            &mut encoder,
            "wxmp_host_kv_duration_seconds",
            "Key-value operations by wasi:keyvalue operation and backend (the count is the number of operations).",
            used.iter()
                .map(|i| (kv_series(*i), shards.iter().map(|s| &s.kv[*i]).collect())),
        )?;
        let errors: Vec<_> = used
            .iter()
            .map(|i| {
                (
                    kv_series(*i),
                    sum(&|s| s.kv_errors[*i].load(Ordering::Relaxed)),
                )
            })
            .collect();
        counter(
            &mut encoder,
            "wxmp_host_kv_errors",
            "Key-value operations that failed, by operation and backend.",
            &errors,
        )
    }
}

/// Serves `GET /metrics` on `listener` (anything else is 404), a few
/// scrapers at a time, each bounded by a header deadline.
pub(crate) async fn serve(listener: TcpListener, registry: Arc<Registry>, log: Log) {
    let scrapers = Arc::new(Semaphore::new(MAX_SCRAPERS));
    loop {
        let (stream, _peer): (tokio::net::TcpStream, SocketAddr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                log.warn(&format!("metrics accept: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = scrapers.clone().try_acquire_owned() else {
            continue; // dropped: closed at once
        };
        let registry = registry.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                let registry = registry.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&req, &registry)) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(Duration::from_secs(60), conn).await;
            drop(permit);
        });
    }
}

fn answer<B>(req: &Request<B>, registry: &Registry) -> Response<Full<Bytes>> {
    let (status, content_type, body) =
        if req.method() == hyper::Method::GET && req.uri().path() == "/metrics" {
            (
                200,
                prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
                Metrics::render(registry),
            )
        } else {
            (
                404,
                "text/plain; charset=utf-8",
                "not found: GET /metrics\n".to_owned(),
            )
        };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert("content-type", v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sample lines of `text` whose name and labels start with `prefix`.
    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn histograms_count_into_the_right_buckets() {
        let h = Hist::new(REQUEST_BOUNDS);
        h.observe(Duration::from_micros(500)); // on a bound: le="0.0005"
        h.observe(Duration::from_micros(501));
        h.observe(Duration::from_secs(60)); // past every bound: +Inf only
        let (t, _) = Totals::of([&h].into_iter());
        assert_eq!(t.counts[0], 1);
        assert_eq!(t.counts[1], 1);
        assert_eq!(t.counts[REQUEST_BOUNDS.len()], 1);
        assert_eq!(t.sum_ns, 500_000 + 501_000 + 60_000_000_000);
    }

    #[test]
    fn the_exposition_adds_up_shards_with_bounded_labels() {
        let m = Metrics::new(["/...", "/wx", "/..."]);
        assert_eq!(m.route_slot(Some(2)), 0, "equal routes share a label");
        assert_eq!(m.route_slot(None), 2);
        let (a, b) = (m.shard(), m.shard());
        a.request(m.route_slot(Some(0)), 200, Duration::from_millis(1));
        b.request(m.route_slot(Some(0)), 204, Duration::from_millis(3));
        b.request(m.route_slot(None), 404, Duration::from_millis(1));
        a.busy();
        a.kv(1, KvOp::Get, Duration::from_micros(30), true);
        b.kv(1, KvOp::Get, Duration::from_micros(30), false);
        for i in 0..(MAX_HOSTS + 3) {
            a.outbound.record(
                &format!("h{i}:443"),
                Outcome::Status(200),
                Some(0),
                Duration::from_millis(5),
            );
        }
        for code in 0..(MAX_ERRCODES as i64 + 5) {
            a.outbound.record(
                "h0:443",
                Outcome::Status(200),
                Some(40_000 + code),
                Duration::from_millis(5),
            );
        }
        a.outbound
            .record("h0:443", Outcome::Refused, None, Duration::ZERO);
        let text = Metrics::render(&m.registry());
        let v = |s: &str| value(&text, s).unwrap_or_else(|| panic!("{s} missing from\n{text}"));
        assert_eq!(
            v(r#"wxmp_host_requests_total{route="/...",status="2xx"}"#),
            2.0
        );
        assert_eq!(
            v(r#"wxmp_host_requests_total{route="unmatched",status="4xx"}"#),
            1.0
        );
        assert_eq!(
            v(r#"wxmp_host_requests_total{route="/wx",status="2xx"}"#),
            0.0
        );
        assert_eq!(
            v(r#"wxmp_host_request_duration_seconds_count{route="/..."}"#),
            2.0
        );
        assert_eq!(
            v(r#"wxmp_host_request_duration_seconds_bucket{route="/...",le="0.001"}"#),
            1.0
        );
        assert_eq!(
            v(r#"wxmp_host_request_duration_seconds_bucket{route="/...",le="+Inf"}"#),
            2.0
        );
        assert_eq!(
            v(r#"wxmp_host_request_duration_seconds_sum{route="/..."}"#),
            0.004
        );
        assert_eq!(v("wxmp_host_instances_exhausted_total"), 1.0);
        assert_eq!(
            v(r#"wxmp_host_kv_duration_seconds_count{op="get",backend="sqlite"}"#),
            2.0
        );
        assert_eq!(
            v(r#"wxmp_host_kv_errors_total{op="get",backend="sqlite"}"#),
            1.0
        );
        assert!(
            !text.contains(r#"backend="redis""#),
            "unused series are left out:\n{text}"
        );
        assert_eq!(
            v(r#"wxmp_host_outbound_requests_total{host="other",status="200",errcode="0"}"#),
            3.0
        );
        assert_eq!(
            v(r#"wxmp_host_outbound_requests_total{host="h0:443",status="200",errcode="other"}"#),
            6.0
        );
        assert_eq!(
            v(
                r#"wxmp_host_outbound_requests_total{host="h0:443",status="refused",errcode="none"}"#
            ),
            1.0
        );
        let hosts: std::collections::BTreeSet<&str> = text
            .lines()
            .filter(|l| l.starts_with("wxmp_host_outbound_requests_total{"))
            .filter_map(|l| l.split("host=\"").nth(1)?.split('"').next())
            .collect();
        assert_eq!(hosts.len(), MAX_HOSTS + 1, "{hosts:?}");
        assert!(
            text.contains("# TYPE wxmp_host_requests_total counter"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE wxmp_host_request_duration_seconds histogram"),
            "{text}"
        );
    }

    #[test]
    fn only_get_metrics_is_served() {
        let m = Metrics::new(["/..."]);
        let registry = m.registry();
        let get = |method: &str, path: &str| {
            let req = Request::builder()
                .method(method)
                .uri(path)
                .body(())
                .unwrap();
            answer(&req, &registry)
        };
        let ok = get("GET", "/metrics");
        assert_eq!(ok.status(), 200);
        assert_eq!(
            ok.headers()["content-type"],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        for (method, path) in [("GET", "/"), ("POST", "/metrics"), ("GET", "/metrics/x")] {
            assert_eq!(get(method, path).status(), 404, "{method} {path}");
        }
    }
    #[test]
    fn the_grafana_dashboard_reads_only_metrics_that_exist() {
        let m = Metrics::new(["/..."]);
        m.watch_pools(
            Arc::new(Semaphore::new(1)),
            1,
            Arc::new(Semaphore::new(1)),
            1,
        );
        let s = m.shard();
        s.request(0, 200, Duration::from_millis(1));
        s.kv(0, KvOp::Get, Duration::from_micros(5), false);
        s.outbound.record(
            "h:443",
            Outcome::Status(200),
            Some(0),
            Duration::from_millis(9),
        );
        let text = Metrics::render(&m.registry());
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/grafana/wxmp.json");
        let dashboard: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut exprs = Vec::new();
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                exprs.push(target["expr"].as_str().unwrap().to_owned());
            }
        }
        assert!(exprs.len() >= 15, "{exprs:?}");
        let mut names = std::collections::BTreeSet::new();
        for expr in &exprs {
            for (i, _) in expr.match_indices("wxmp_host_") {
                let name: String = expr[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                names.insert(name);
            }
        }
        assert!(names.len() >= 10, "{names:?}");
        for name in &names {
            assert!(
                text.lines()
                    .any(|l| l.starts_with(&format!("{name}{{"))
                        || l.starts_with(&format!("{name} "))),
                "the dashboard reads {name}, which is not exposed:\n{text}"
            );
        }
    }
}
