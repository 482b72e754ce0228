//! The store in memory, for the native tests and the benchmark's native
//! reference: one [`KeyValue`] that keeps Spin's counter rule, so code that
//! passes here would not fail on Spin's stores.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use wxmp::core::error::Error;
use wxmp::core::keys::Key;
use wxmp::ports::KeyValue;

/// A map behind a lock that, like Spin's SQLite and Redis stores, refuses
/// `increment` on a key holding anything but an 8-byte little-endian counter.
#[derive(Default)]
pub struct MemKv {
    map: Mutex<HashMap<String, Vec<u8>>>,
    /// While true, every operation fails with [`Error::Storage`], as an
    /// unreachable store does.
    pub down: AtomicBool,
    /// The keys `increment` was refused on (each a bug in the caller).
    pub violations: Mutex<Vec<String>>,
    /// How many calls of each kind the port served.
    pub calls: KvCalls,
}

/// Calls through the [`KeyValue`] port, by kind (relaxed atomics: cheap
/// enough for the benchmark's native reference, exact once threads joined).
#[derive(Default)]
pub struct KvCalls {
    get: AtomicU64,
    set: AtomicU64,
    delete: AtomicU64,
    increment: AtomicU64,
}

impl KvCalls {
    /// `(get, set, delete, increment)` so far.
    pub fn snapshot(&self) -> (u64, u64, u64, u64) {
        (
            self.get.load(Ordering::Relaxed),
            self.set.load(Ordering::Relaxed),
            self.delete.load(Ordering::Relaxed),
            self.increment.load(Ordering::Relaxed),
        )
    }

    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl MemKv {
    fn map(&self) -> MutexGuard<'_, HashMap<String, Vec<u8>>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check(&self) -> Result<(), Error> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Error::Storage("store unreachable".into()));
        }
        Ok(())
    }

    /// Every key stored.
    pub fn keys(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
    }

    /// The bytes at `key`, read past the [`KeyValue`] port (and its `down`).
    pub fn raw(&self, key: &str) -> Option<Vec<u8>> {
        self.map().get(key).cloned()
    }

    /// Stores `value` at `key` past the port, as another writer would.
    pub fn put(&self, key: &str, value: &[u8]) {
        self.map().insert(key.to_owned(), value.to_vec());
    }
}

impl KeyValue for MemKv {
    fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, Error> {
        KvCalls::count(&self.calls.get);
        self.check()?;
        Ok(self.map().get(key.as_str()).cloned())
    }

    fn set(&self, key: &Key, value: &[u8]) -> Result<(), Error> {
        KvCalls::count(&self.calls.set);
        self.check()?;
        self.map().insert(key.as_str().to_owned(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &Key) -> Result<(), Error> {
        KvCalls::count(&self.calls.delete);
        self.check()?;
        self.map().remove(key.as_str());
        Ok(())
    }

    fn increment(&self, key: &Key, delta: i64) -> Result<i64, Error> {
        KvCalls::count(&self.calls.increment);
        self.check()?;
        let key = key.as_str();
        let mut map = self.map();
        let current = match map.get(key).map(|v| <[u8; 8]>::try_from(v.as_slice())) {
            None => 0,
            Some(Ok(counter)) => i64::from_le_bytes(counter),
            Some(Err(_)) => {
                self.violations
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(key.to_owned());
                return Err(Error::Storage(format!(
                    "increment on non-counter key {key}"
                )));
            }
        };
        let next = current + delta;
        map.insert(key.to_owned(), next.to_le_bytes().to_vec());
        Ok(next)
    }
}
