//! Key-value backends behind `wasi:keyvalue`: in-memory, SQLite and Redis,
//! with Spin's semantics — `increment` is atomic and works only on a key
//! holding its counter; `swap` compares against what `cas.current()` read,
//! and without a read (or when the key was absent) it is a plain upsert.

mod memory;
mod redis_store;
mod sqlite;

use std::sync::Arc;

use anyhow::Result;

use crate::runtime_config::StoreSpec;

/// Outcome of a compare-and-swap.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Swap {
    /// Written.
    Done,
    /// The key changed since `current()`.
    Conflict,
}

/// One opened store.
#[derive(Clone)]
pub(crate) enum Backend {
    /// In-process map.
    Memory(Arc<memory::MemoryStore>),
    /// SQLite file.
    Sqlite(Arc<sqlite::SqliteStore>),
    /// Redis server.
    Redis(Arc<redis_store::RedisStore>),
}

impl Backend {
    /// Opens the store described by `spec` under `label`.
    pub(crate) async fn open(label: &str, spec: &StoreSpec) -> Result<Self> {
        Ok(match spec {
            StoreSpec::Memory => Self::Memory(Arc::default()),
            StoreSpec::Sqlite(path) => {
                Self::Sqlite(Arc::new(sqlite::SqliteStore::open(path, label)?))
            }
            StoreSpec::Redis(url) => {
                Self::Redis(Arc::new(redis_store::RedisStore::open(url).await?))
            }
        })
    }

    /// The backend's index in [`crate::metrics::BACKENDS`]: its metrics label.
    pub(crate) fn kind(&self) -> usize {
        match self {
            Self::Memory(_) => 0,
            Self::Sqlite(_) => 1,
            Self::Redis(_) => 2,
        }
    }

    /// A short description for the banner.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Memory(_) => "in-memory".into(),
            Self::Sqlite(s) => format!("SQLite {}", s.path().display()),
            Self::Redis(r) => format!("Redis {}", masked(r.url())),
        }
    }

    /// The value at `key`.
    pub(crate) async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match self {
            Self::Memory(m) => Ok(m.get(key)),
            // Inline on the calling thread (see `sqlite`): no thread hop.
            Self::Sqlite(s) => s.get(key).await,
            Self::Redis(r) => r.get(key).await,
        }
    }

    /// Stores `value` at `key`.
    pub(crate) async fn set(&self, key: &str, value: Vec<u8>) -> Result<()> {
        match self {
            Self::Memory(m) => {
                m.set(key, value);
                Ok(())
            }
            Self::Sqlite(s) => {
                let key = key.to_owned();
                s.clone().run(move |s| s.set(&key, &value)).await
            }
            Self::Redis(r) => r.set(key, value).await,
        }
    }

    /// Removes `key`.
    pub(crate) async fn delete(&self, key: &str) -> Result<()> {
        match self {
            Self::Memory(m) => {
                m.delete(key);
                Ok(())
            }
            Self::Sqlite(s) => {
                let key = key.to_owned();
                s.clone().run(move |s| s.delete(&key)).await
            }
            Self::Redis(r) => r.delete(key).await,
        }
    }

    /// True when `key` holds a value.
    pub(crate) async fn exists(&self, key: &str) -> Result<bool> {
        Ok(self.get(key).await?.is_some())
    }

    /// Every key.
    pub(crate) async fn keys(&self) -> Result<Vec<String>> {
        match self {
            Self::Memory(m) => Ok(m.keys()),
            Self::Sqlite(s) => s.clone().run(|s| s.keys()).await,
            Self::Redis(r) => r.keys().await,
        }
    }

    /// Atomically adds `delta` to the counter at `key`; returns the new value.
    pub(crate) async fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        match self {
            Self::Memory(m) => m.increment(key, delta),
            Self::Sqlite(s) => {
                let key = key.to_owned();
                s.clone().run(move |s| s.increment(&key, delta)).await
            }
            Self::Redis(r) => r.increment(key, delta).await,
        }
    }

    /// Writes `value` if `key` still holds `expected`. Like Spin, a swap
    /// without an expected value (the key was absent, or `current()` was
    /// never called) is a plain upsert.
    pub(crate) async fn swap(
        &self,
        key: &str,
        expected: Option<Vec<u8>>,
        value: Vec<u8>,
    ) -> Result<Swap> {
        let Some(expected) = expected else {
            self.set(key, value).await?;
            return Ok(Swap::Done);
        };
        match self {
            Self::Memory(m) => Ok(m.swap(key, &expected, value)),
            Self::Sqlite(s) => {
                let key = key.to_owned();
                s.clone()
                    .run(move |s| s.swap(&key, &expected, &value))
                    .await
            }
            Self::Redis(r) => r.swap(key, expected, value).await,
        }
    }
}

/// A store URL fit to print: any user name or password replaced by `***`
/// (`redis://:secret@host` → `redis://:***@host`); an unparsable one is
/// not printed at all.
pub(crate) fn masked(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return "(unparsable URL)".into();
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    if !url.username().is_empty() {
        let _ = url.set_username("***");
    }
    url.to_string()
}

/// Reads an 8-byte little-endian counter; anything else is not a counter.
fn counter(value: Option<&[u8]>) -> Result<i64> {
    match value {
        None => Ok(0),
        Some(v) => {
            let bytes: [u8; 8] = v.try_into().map_err(|_| {
                anyhow::anyhow!("increment on a key that does not hold an 8-byte counter")
            })?;
            Ok(i64::from_le_bytes(bytes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn exercise(b: Backend) {
        b.delete("k").await.unwrap();
        assert_eq!(b.get("k").await.unwrap(), None);
        b.set("k", b"v1".to_vec()).await.unwrap();
        assert_eq!(b.get("k").await.unwrap().as_deref(), Some(&b"v1"[..]));
        assert!(b.exists("k").await.unwrap());
        assert_eq!(
            b.swap("k", Some(b"other".to_vec()), b"v2".to_vec())
                .await
                .unwrap(),
            Swap::Conflict
        );
        assert_eq!(
            b.swap("k", Some(b"v1".to_vec()), b"v2".to_vec())
                .await
                .unwrap(),
            Swap::Done
        );
        assert_eq!(
            b.swap("new", None, b"x".to_vec()).await.unwrap(),
            Swap::Done
        );
        assert!(b.increment("k", 1).await.is_err(), "not a counter");
        b.delete("n").await.unwrap();
        assert_eq!(b.increment("n", 1).await.unwrap(), 1);
        assert_eq!(b.increment("n", 5).await.unwrap(), 6);
        assert!(b.keys().await.unwrap().contains(&"n".to_owned()));
        b.delete("k").await.unwrap();
        assert!(!b.exists("k").await.unwrap());
    }

    #[test]
    fn printed_urls_never_show_credentials() {
        assert_eq!(
            masked("redis://:hunter2@db.internal:6379/0"),
            "redis://:***@db.internal:6379/0"
        );
        assert_eq!(masked("redis://admin:hunter2@db"), "redis://***:***@db");
        assert_eq!(masked("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(masked("not a url :hunter2@"), "(unparsable URL)");
    }

    #[tokio::test]
    async fn memory_backend_follows_spin_semantics() {
        exercise(Backend::open("default", &StoreSpec::Memory).await.unwrap()).await;
    }

    #[tokio::test]
    async fn sqlite_backend_follows_spin_semantics_and_persists() {
        let dir = wxmp_testkit::temp_dir("kv");
        let path = dir.path().join("kv.db");
        let b = Backend::open("default", &StoreSpec::Sqlite(path.clone()))
            .await
            .unwrap();
        exercise(b).await;
        let b = Backend::open("default", &StoreSpec::Sqlite(path.clone()))
            .await
            .unwrap();
        assert_eq!(b.increment("n", 1).await.unwrap(), 7, "survives reopening");
        let other = Backend::open("other", &StoreSpec::Sqlite(path))
            .await
            .unwrap();
        assert_eq!(
            other.get("n").await.unwrap(),
            None,
            "labels do not share keys"
        );
    }

    #[tokio::test]
    async fn redis_backend_follows_spin_semantics() {
        // `cargo xtask test` installs redis-server; it runs on a throwaway port.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = wxmp_testkit::temp_dir("kv-redis");
        let server = wxmp_testkit::redis::RedisServer::start(port, dir.path())
            .expect("redis-server (installed by cargo xtask test)");
        let backend = Backend::open("default", &StoreSpec::Redis(server.url()))
            .await
            .unwrap();
        exercise(backend).await;
        drop(server);
    }

    #[tokio::test]
    async fn concurrent_increments_elect_exactly_one() {
        let dir = wxmp_testkit::temp_dir("kv-race");
        for spec in [
            StoreSpec::Memory,
            StoreSpec::Sqlite(dir.path().join("kv.db")),
        ] {
            let b = Backend::open("default", &spec).await.unwrap();
            let tasks: Vec<_> = (0..50)
                .map(|_| {
                    let b = b.clone();
                    tokio::spawn(async move { b.increment("lease", 1).await.unwrap() })
                })
                .collect();
            let mut results = Vec::new();
            for t in tasks {
                results.push(t.await.unwrap());
            }
            results.sort();
            assert_eq!(results, (1..=50).collect::<Vec<_>>());
        }
    }
}
