//! `wasi:keyvalue/{store,atomics,batch}`: a component opens the stores its
//! manifest lists (`key_value_stores`) and reads and writes them through the
//! configured [`Backend`] (memory, SQLite or Redis, see [`crate::kv`]).
//! Each operation is timed (two clock reads) into the serving thread's
//! timings, summed up per backend in the shutdown line ([`crate::stats`]),
//! and with `--metrics-listen` by operation and backend ([`crate::metrics`]).

use std::future::Future;
use std::time::Instant;

use wasmtime::component::Resource;

use crate::bindings::wasi::keyvalue::{atomics, batch, store};
use crate::kv::{Backend, Swap};
use crate::metrics::{KvOp, Shard};
use crate::state::HostState;
use crate::stats::Stats;

/// An open bucket.
#[allow(unreachable_pub)] // `bindings` re-exports it as the WIT resource type.
pub struct Bucket {
    backend: Backend,
}

/// A compare-and-swap handle: `None` until `current()` reads the key.
#[allow(unreachable_pub)] // `bindings` re-exports it as the WIT resource type.
pub struct Cas {
    backend: Backend,
    key: String,
    read: Option<Option<Vec<u8>>>,
}

fn kv_error(e: anyhow::Error) -> store::Error {
    store::Error::Other(format!("{e:#}"))
}

impl HostState {
    fn bucket(&self, b: &Resource<Bucket>) -> wasmtime::Result<Backend> {
        Ok(self.table.get(b)?.backend.clone())
    }
}

/// Where a store operation's time goes: the metrics and the serving
/// thread's timings, when there are those.
#[derive(Clone, Copy)]
struct Timers<'a> {
    metrics: Option<&'a Shard>,
    stats: Option<&'a Stats>,
}

impl HostState {
    fn timers(&self) -> Timers<'_> {
        Timers {
            metrics: self.metrics.as_deref(),
            stats: self.stats.as_deref(),
        }
    }
}

/// Runs one store operation, timing it into `timers` when there are any.
async fn timed<T>(
    timers: Timers<'_>,
    backend: &Backend,
    op: KvOp,
    run: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    if timers.metrics.is_none() && timers.stats.is_none() {
        return run.await;
    }
    let started = Instant::now();
    let result = run.await;
    let took = started.elapsed();
    if let Some(stats) = timers.stats {
        stats.kv(backend.kind(), op, took);
    }
    if let Some(metrics) = timers.metrics {
        metrics.kv(backend.kind(), op, took, result.is_ok());
    }
    result
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
        let backend = self.bucket(&b)?;
        let m = self.timers();
        Ok(timed(m, &backend, KvOp::Get, backend.get(&key))
            .await
            .map_err(kv_error))
    }

    async fn set(
        &mut self,
        b: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        let backend = self.bucket(&b)?;
        let m = self.timers();
        Ok(timed(m, &backend, KvOp::Set, backend.set(&key, value))
            .await
            .map_err(kv_error))
    }

    async fn delete(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        let backend = self.bucket(&b)?;
        let m = self.timers();
        Ok(timed(m, &backend, KvOp::Delete, backend.delete(&key))
            .await
            .map_err(kv_error))
    }

    async fn exists(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<bool, store::Error>> {
        let backend = self.bucket(&b)?;
        let m = self.timers();
        Ok(timed(m, &backend, KvOp::Exists, backend.exists(&key))
            .await
            .map_err(kv_error))
    }

    async fn list_keys(
        &mut self,
        b: Resource<Bucket>,
        _cursor: Option<String>,
    ) -> wasmtime::Result<Result<store::KeyResponse, store::Error>> {
        let backend = self.bucket(&b)?;
        let m = self.timers();
        Ok(timed(m, &backend, KvOp::ListKeys, backend.keys())
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
        let backend = self.bucket(&b)?;
        let m = self.timers();
        Ok(
            timed(m, &backend, KvOp::Increment, backend.increment(&key, delta))
                .await
                .map_err(kv_error),
        )
    }

    async fn swap(
        &mut self,
        cas: Resource<Cas>,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), atomics::CasError>> {
        let c = self.table.get(&cas)?;
        let (backend, key, expected) = (c.backend.clone(), c.key.clone(), c.read.clone().flatten());
        let m = self.timers();
        let swapped = timed(m, &backend, KvOp::Swap, backend.swap(&key, expected, value)).await;
        match swapped {
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
        let m = self.timers();
        let read = timed(m, &backend, KvOp::CasCurrent, backend.get(&key)).await;
        match read {
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
        let m = self.timers();
        let got = timed(m, &backend, KvOp::GetMany, async {
            let mut out = Vec::with_capacity(keys.len());
            for k in keys {
                let v = backend.get(&k).await?;
                out.push((k, v));
            }
            Ok(out)
        })
        .await;
        Ok(got.map_err(kv_error))
    }

    async fn set_many(
        &mut self,
        b: Resource<Bucket>,
        kvs: Vec<(String, Vec<u8>)>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        let backend = self.bucket(&b)?;
        let m = self.timers();
        let set = timed(m, &backend, KvOp::SetMany, async {
            for (k, v) in kvs {
                backend.set(&k, v).await?;
            }
            Ok(())
        })
        .await;
        Ok(set.map_err(kv_error))
    }

    async fn delete_many(
        &mut self,
        b: Resource<Bucket>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        let backend = self.bucket(&b)?;
        let m = self.timers();
        let deleted = timed(m, &backend, KvOp::DeleteMany, async {
            for k in keys {
                backend.delete(&k).await?;
            }
            Ok(())
        })
        .await;
        Ok(deleted.map_err(kv_error))
    }
}
