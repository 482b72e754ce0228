//! The key-value port on `wasi:keyvalue/store` + `atomics` (draft2, in
//! Spin's world since 3.0), store `default`. `increment` is the atomic
//! primitive the single-flight lease is built on.

use crate::core::error::Error;
use crate::core::keys::Key;
use crate::ports::KeyValue;
use spin_sdk::wit::wasi::keyvalue::{atomics, store};

/// The `default` store, opened on first use: routes that never touch the
/// store (health, verification, the script) make no host call for it.
pub(crate) struct SpinKv {
    bucket: std::cell::OnceCell<Result<store::Bucket, Error>>,
}

impl SpinKv {
    /// A handle on `default`; opening failures surface on first use, as `Error::Storage`.
    pub(crate) fn open_default() -> Self {
        Self {
            bucket: std::cell::OnceCell::new(),
        }
    }

    fn bucket(&self) -> Result<&store::Bucket, Error> {
        self.bucket
            .get_or_init(|| store::open("default").map_err(storage_error))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl KeyValue for SpinKv {
    fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, Error> {
        self.bucket()?.get(key.as_str()).map_err(storage_error)
    }

    fn set(&self, key: &Key, value: &[u8]) -> Result<(), Error> {
        self.bucket()?
            .set(key.as_str(), value)
            .map_err(storage_error)
    }

    fn delete(&self, key: &Key) -> Result<(), Error> {
        self.bucket()?.delete(key.as_str()).map_err(storage_error)
    }

    fn increment(&self, key: &Key, delta: i64) -> Result<i64, Error> {
        atomics::increment(self.bucket()?, key.as_str(), delta).map_err(storage_error)
    }
}

fn storage_error(e: store::Error) -> Error {
    Error::Storage(match e {
        store::Error::NoSuchStore => {
            "no key-value store \"default\" (add key_value_stores = [\"default\"] to the component)"
                .into()
        }
        store::Error::AccessDenied => "access to key-value store \"default\" denied".into(),
        store::Error::Other(m) => m,
    })
}
