//! Loading an application: resolve variables, open stores, compile each
//! component once (cached on disk) and pre-instantiate it with every import
//! a Spin HTTP component may use.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::compile_cache;
use crate::kv::Backend;
use crate::log::Log;
use crate::manifest::Manifest;
use crate::outbound::OutboundPolicy;
use crate::runtime_config::StoreSpec;
use crate::state::{ComponentShared, HostState};
use crate::stats::StatsRegistry;
use crate::variables;

/// Bytes of memory (and of tables) kept mapped per pooled instance slot.
pub(crate) const KEEP_RESIDENT_BYTES: usize = 1 << 20;

/// A component ready to serve.
pub(crate) struct Served {
    /// Pre-instantiated component.
    pub(crate) pre: ProxyPre<HostState>,
    /// Shared per-request context.
    pub(crate) shared: Arc<ComponentShared>,
}

/// Everything needed to answer requests.
pub(crate) struct App {
    /// The engine (its epoch is ticked for time limits).
    pub(crate) engine: Engine,
    /// The manifest.
    pub(crate) manifest: Manifest,
    /// Components by id.
    pub(crate) components: HashMap<String, Served>,
    /// Opened stores by label (for the banner).
    pub(crate) stores: Arc<BTreeMap<String, Backend>>,
    /// Request timings, summarised at shutdown.
    pub(crate) stats: StatsRegistry,
}

/// Builds the engine: component model, async, epoch interruption, and a
/// pool of `max_instances` instance slots.
pub(crate) fn engine(max_instances: u32) -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    // For profiling (docs/PERFORMANCE.md): name JIT code in /tmp/perf-PID.map.
    if std::env::var_os("WXMP_HOST_PERF_MAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(max_instances);
    pool.total_core_instances(max_instances * 4);
    pool.total_memories(max_instances * 2);
    pool.total_tables(max_instances * 4);
    pool.max_memory_size(256 << 20);
    // Reset a finished instance's memory and tables with memset/memcpy up to
    // these sizes instead of madvise: a fresh instance per request would
    // otherwise take a copy-on-write fault on every page it touches, each a
    // TLB shootdown across cores (docs/PERFORMANCE.md). wxmp touches about
    // 320 KiB per request; idle slots keep at most this much resident.
    pool.linear_memory_keep_resident(KEEP_RESIDENT_BYTES);
    pool.table_keep_resident(KEEP_RESIDENT_BYTES);
    // Where Linux has PAGEMAP_SCAN (6.7+), rewrite only the pages a request
    // dirtied: read-only data and untouched heap cost nothing per request.
    pool.pagemap_scan(wasmtime::Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    ax(Engine::new(&config))
}

/// wasmtime's error as anyhow's, to attach context.
fn ax<T>(r: wasmtime::Result<T>) -> Result<T> {
    r.map_err(anyhow::Error::from)
}

/// Loads `manifest` with `values` for its variables and `store_specs` for
/// its stores, compiling through the cache in `cache_dir`.
pub(crate) async fn load(
    engine: Engine,
    manifest: Manifest,
    values: &HashMap<String, String>,
    store_specs: &BTreeMap<String, StoreSpec>,
    cache_dir: &Path,
    log: &Log,
) -> Result<App> {
    let mut stores = BTreeMap::new();
    for (label, spec) in store_specs {
        let used = manifest
            .components
            .values()
            .any(|c| c.key_value_stores.contains(label));
        if used {
            stores.insert(
                label.clone(),
                Backend::open(label, spec)
                    .await
                    .with_context(|| format!("key-value store {label:?}"))?,
            );
        }
    }
    let stores = Arc::new(stores);

    let mut linker: Linker<HostState> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    crate::bindings::Host_::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;

    let mut components = HashMap::new();
    for (id, decl) in &manifest.components {
        for label in &decl.key_value_stores {
            if !stores.contains_key(label) {
                bail!("component {id} uses key-value store {label:?}, which the runtime config does not define");
            }
        }
        let variables = decl
            .variables
            .iter()
            .map(|(name, template)| {
                Ok((
                    name.clone(),
                    variables::render(template, values)
                        .with_context(|| format!("component {id} variable {name}"))?,
                ))
            })
            .collect::<Result<HashMap<_, _>>>()?;
        let hosts = decl
            .allowed_outbound_hosts
            .iter()
            .map(|t| variables::render(t, values))
            .collect::<Result<Vec<_>>>()
            .with_context(|| format!("component {id} allowed_outbound_hosts"))?;
        let outbound = OutboundPolicy::parse(&hosts).with_context(|| format!("component {id}"))?;
        let component = compile(&engine, &manifest.source_path(decl), cache_dir, log)?;
        let instance_pre = ax(linker.instantiate_pre(&component))
            .with_context(|| format!("component {id}: imports not provided"))?;
        let pre = ax(ProxyPre::new(instance_pre)).with_context(|| {
            format!("component {id} does not export wasi:http/incoming-handler")
        })?;
        let shared = ComponentShared {
            id: id.as_str().into(),
            variables,
            allowed_stores: decl.key_value_stores.iter().cloned().collect(),
            stores: stores.clone(),
            outbound: Arc::new(outbound),
            log: log.clone(),
        };
        components.insert(
            id.clone(),
            Served {
                pre,
                shared: Arc::new(shared),
            },
        );
    }
    Ok(App {
        engine,
        manifest,
        components,
        stores,
        stats: StatsRegistry::default(),
    })
}

/// Compiles `path`, reusing the machine-code cache in `cache_dir` when it
/// is private and the entry intact (see `compile_cache`).
fn compile(engine: &Engine, path: &Path, cache_dir: &Path, log: &Log) -> Result<Component> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "reading component {} (build it: cargo xtask build)",
            path.display()
        )
    })?;
    let key = compile_cache::key(engine, &bytes);
    let dir = match compile_cache::private_dir(cache_dir) {
        Ok(dir) => Some(dir),
        Err(e) => {
            log.warn(&format!("not using the compilation cache: {e:#}"));
            None
        }
    };
    if let Some(dir) = dir {
        match compile_cache::load(engine, dir, &key) {
            Ok(Some(c)) => return Ok(c),
            Ok(None) => {}
            Err(e) => log.warn(&format!("ignoring a compilation cache entry: {e:#}")),
        }
    }
    let component = ax(Component::new(engine, &bytes))
        .with_context(|| format!("compiling {}", path.display()))?;
    if let Some(dir) = dir {
        if let Err(e) = compile_cache::store(&component, dir, &key) {
            log.warn(&format!("could not cache the compiled component: {e:#}"));
        }
    }
    Ok(component)
}
