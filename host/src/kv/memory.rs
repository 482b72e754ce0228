//! The in-process store.

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::Result;

use super::{counter, Swap};

/// A map behind a lock.
#[derive(Default)]
pub(crate) struct MemoryStore(Mutex<HashMap<String, Vec<u8>>>);

impl MemoryStore {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<u8>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.map().get(key).cloned()
    }

    pub(super) fn set(&self, key: &str, value: Vec<u8>) {
        self.map().insert(key.to_owned(), value);
    }

    pub(super) fn delete(&self, key: &str) {
        self.map().remove(key);
    }

    pub(super) fn keys(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
    }

    pub(super) fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        let mut map = self.map();
        let next = counter(map.get(key).map(Vec::as_slice))? + delta;
        map.insert(key.to_owned(), next.to_le_bytes().to_vec());
        Ok(next)
    }

    pub(super) fn swap(&self, key: &str, expected: &[u8], value: Vec<u8>) -> Swap {
        let mut map = self.map();
        if map.get(key).map(Vec::as_slice) != Some(expected) {
            return Swap::Conflict;
        }
        map.insert(key.to_owned(), value);
        Swap::Done
    }
}
