//! Per-request store data: what one component instance sees while it handles
//! one request. It carries the WASI and wasi-http contexts (the views
//! wasmtime-wasi needs) and the component's shared settings; the Spin imports
//! themselves are implemented on it in [`crate::imports`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::imports::outgoing_http::OutboundHooks;
use crate::kv::Backend;
use crate::log::Log;
use crate::outbound::OutboundPolicy;

/// What every request of one component shares.
pub(crate) struct ComponentShared {
    /// The component id.
    pub(crate) id: String,
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
}

impl HostState {
    /// Fresh state for one request.
    pub(crate) fn new(shared: Arc<ComponentShared>) -> Self {
        let wasi = WasiCtx::builder().inherit_stderr().build();
        let hooks = OutboundHooks::new(shared.outbound.clone(), shared.log.clone());
        Self {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks,
            shared,
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
