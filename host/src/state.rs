//! Per-request store data and the host side of the Spin imports:
//! `fermyon:spin/variables`, `wasi:keyvalue/{store,atomics,batch}`, and the
//! outbound-HTTP hook that enforces `allowed_outbound_hosts`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::bindings::fermyon::spin::variables;
use crate::bindings::wasi::keyvalue::{atomics, batch, store};
use crate::kv::{Backend, Swap};
use crate::log::Log;
use crate::outbound::OutboundPolicy;

/// What every request of one component shares.
pub struct ComponentShared {
    /// The component id.
    pub id: String,
    /// Component variables, rendered.
    pub variables: HashMap<String, String>,
    /// Labels the component may open.
    pub allowed_stores: HashSet<String>,
    /// Every configured store.
    pub stores: Arc<BTreeMap<String, Backend>>,
    /// Outbound allow-list.
    pub outbound: Arc<OutboundPolicy>,
    /// The log.
    pub log: Log,
}

/// An open bucket.
pub struct Bucket {
    backend: Backend,
}

/// A compare-and-swap handle: `None` until `current()` reads the key.
pub struct Cas {
    backend: Backend,
    key: String,
    read: Option<Option<Vec<u8>>>,
}

/// The outbound hook: checks the allow-list, logs, then sends.
pub struct OutboundHooks {
    policy: Arc<OutboundPolicy>,
    log: Log,
}

/// A request's store data.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: OutboundHooks,
    shared: Arc<ComponentShared>,
}

impl HostState {
    /// Fresh state for one request.
    pub fn new(shared: Arc<ComponentShared>) -> Self {
        let wasi = WasiCtx::builder().inherit_stderr().build();
        let hooks = OutboundHooks {
            policy: shared.outbound.clone(),
            log: shared.log.clone(),
        };
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

impl variables::Host for HostState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, variables::Error>> {
        Ok(match self.shared.variables.get(&name) {
            Some(v) => Ok(v.clone()),
            None if crate::manifest::check_variable_name(&name).is_err() => {
                Err(variables::Error::InvalidName(name))
            }
            None => Err(variables::Error::Undefined(format!(
                "no variable {name:?} for component {}",
                self.shared.id
            ))),
        })
    }
}

fn kv_error(e: anyhow::Error) -> store::Error {
    store::Error::Other(format!("{e:#}"))
}

impl HostState {
    fn bucket(&self, b: &Resource<Bucket>) -> wasmtime::Result<Backend> {
        Ok(self.table.get(b)?.backend.clone())
    }
}

impl store::Host for HostState {
    async fn open(
        &mut self,
        identifier: String,
    ) -> wasmtime::Result<Result<Resource<Bucket>, store::Error>> {
        if !self.shared.allowed_stores.contains(&identifier) {
            return Ok(Err(store::Error::AccessDenied));
        }
        let Some(backend) = self.shared.stores.get(&identifier).cloned() else {
            return Ok(Err(store::Error::NoSuchStore));
        };
        Ok(Ok(self.table.push(Bucket { backend })?))
    }
}

impl store::HostBucket for HostState {
    async fn get(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, store::Error>> {
        Ok(self.bucket(&b)?.get(&key).await.map_err(kv_error))
    }

    async fn set(
        &mut self,
        b: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        Ok(self.bucket(&b)?.set(&key, value).await.map_err(kv_error))
    }

    async fn delete(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        Ok(self.bucket(&b)?.delete(&key).await.map_err(kv_error))
    }

    async fn exists(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<bool, store::Error>> {
        Ok(self.bucket(&b)?.exists(&key).await.map_err(kv_error))
    }

    async fn list_keys(
        &mut self,
        b: Resource<Bucket>,
        _cursor: Option<String>,
    ) -> wasmtime::Result<Result<store::KeyResponse, store::Error>> {
        Ok(self
            .bucket(&b)?
            .keys()
            .await
            .map(|keys| store::KeyResponse { keys, cursor: None })
            .map_err(kv_error))
    }

    async fn drop(&mut self, b: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(b)?;
        Ok(())
    }
}

impl atomics::Host for HostState {
    async fn increment(
        &mut self,
        b: Resource<Bucket>,
        key: String,
        delta: i64,
    ) -> wasmtime::Result<Result<i64, store::Error>> {
        Ok(self
            .bucket(&b)?
            .increment(&key, delta)
            .await
            .map_err(kv_error))
    }

    async fn swap(
        &mut self,
        cas: Resource<Cas>,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), atomics::CasError>> {
        let c = self.table.get(&cas)?;
        let (backend, key, expected) = (c.backend.clone(), c.key.clone(), c.read.clone().flatten());
        match backend.swap(&key, expected, value).await {
            Ok(Swap::Done) => {
                self.table.delete(cas)?;
                Ok(Ok(()))
            }
            Ok(Swap::Conflict) => Ok(Err(atomics::CasError::CasFailed(cas))),
            Err(e) => {
                self.table.delete(cas)?;
                Ok(Err(atomics::CasError::StoreError(kv_error(e))))
            }
        }
    }
}

impl atomics::HostCas for HostState {
    async fn new(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<Resource<Cas>, store::Error>> {
        let backend = self.bucket(&b)?;
        Ok(Ok(self.table.push(Cas {
            backend,
            key,
            read: None,
        })?))
    }

    async fn current(
        &mut self,
        cas: Resource<Cas>,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, store::Error>> {
        let c = self.table.get(&cas)?;
        let (backend, key) = (c.backend.clone(), c.key.clone());
        match backend.get(&key).await {
            Ok(v) => {
                self.table.get_mut(&cas)?.read = Some(v.clone());
                Ok(Ok(v))
            }
            Err(e) => Ok(Err(kv_error(e))),
        }
    }

    async fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for HostState {
    async fn get_many(
        &mut self,
        b: Resource<Bucket>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<(String, Option<Vec<u8>>)>, store::Error>> {
        let backend = self.bucket(&b)?;
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            match backend.get(&k).await {
                Ok(v) => out.push((k, v)),
                Err(e) => return Ok(Err(kv_error(e))),
            }
        }
        Ok(Ok(out))
    }

    async fn set_many(
        &mut self,
        b: Resource<Bucket>,
        kvs: Vec<(String, Vec<u8>)>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        let backend = self.bucket(&b)?;
        for (k, v) in kvs {
            if let Err(e) = backend.set(&k, v).await {
                return Ok(Err(kv_error(e)));
            }
        }
        Ok(Ok(()))
    }

    async fn delete_many(
        &mut self,
        b: Resource<Bucket>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        let backend = self.bucket(&b)?;
        for k in keys {
            if let Err(e) = backend.delete(&k).await {
                return Ok(Err(kv_error(e)));
            }
        }
        Ok(Ok(()))
    }
}
