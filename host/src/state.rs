//! Per-request store data: what one component instance sees while it handles
//! one request. It carries the WASI and wasi-http contexts (the views
//! wasmtime-wasi needs) and the component's shared settings; the Spin imports
//! themselves are implemented on it in [`crate::imports`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::imports::outgoing_http::{OutboundHooks, Recorder};
use crate::kv::Backend;
use crate::log::{ComponentStderr, Format, Log};
use crate::metrics::Shard;
use crate::outbound::OutboundPolicy;
use crate::stats::Stats;
use crate::trace::Trace;

/// What every request of one component shares.
pub(crate) struct ComponentShared {
    /// The component id (a log field in JSON mode).
    pub(crate) id: Arc<str>,
    /// Component variables, rendered.
    pub(crate) variables: HashMap<String, String>,
    /// Labels the component may open.
    pub(crate) allowed_stores: HashSet<String>,
    /// Every configured store.
    pub(crate) stores: Arc<BTreeMap<String, Backend>>,
    /// Outbound allow-list.
    pub(crate) outbound: Arc<OutboundPolicy>,
    /// The log.
    pub(crate) log: Log,
}

/// A request's store data.
pub(crate) struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    /// Resources handed to the guest (WASI's, wasi-http's, buckets, CAS handles).
    pub(crate) table: ResourceTable,
    hooks: OutboundHooks,
    /// The component's settings, shared by all its requests.
    pub(crate) shared: Arc<ComponentShared>,
    /// The serving thread's metrics, when `--metrics-listen` is on.
    pub(crate) metrics: Option<Arc<Shard>>,
    /// The serving thread's timings (key-value operations go there).
    pub(crate) stats: Option<Arc<Stats>>,
}

impl HostState {
    /// Fresh state for one request: its outbound calls go to `trace` (for
    /// the request line) and to the metrics, when there are those; its
    /// key-value operations to the metrics and to `stats`.
    pub(crate) fn new(
        shared: Arc<ComponentShared>,
        trace: Option<Arc<Trace>>,
        metrics: Option<Arc<Shard>>,
        stats: Option<Arc<Stats>>,
    ) -> Self {
        let mut wasi = WasiCtx::builder();
        match shared.log.format() {
            // The component's lines go straight to the host's stderr.
            Format::Text => wasi.inherit_stderr(),
            // Each line becomes a JSON object in the host's log.
            Format::Json => {
                wasi.stderr(ComponentStderr::new(shared.log.clone(), shared.id.clone()))
            }
        };
        let outbound = metrics.as_ref().map(|m| m.outbound.clone());
        let record = (trace.is_some() || outbound.is_some()).then_some(Recorder {
            trace,
            metrics: outbound,
        });
        let hooks = OutboundHooks::new(shared.outbound.clone(), shared.log.clone(), record);
        Self {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks,
            shared,
            metrics,
            stats,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}
