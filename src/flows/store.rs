//! JSON values in the key-value store. An unreadable value is a storage
//! error the caller can report, never a panic.

use crate::core::error::Error;
use crate::core::keys::Key;
use crate::ports::Env;

/// Reads the JSON value at `key`.
pub fn read<T: serde::de::DeserializeOwned>(env: &Env, key: &Key) -> Result<Option<T>, Error> {
    match env.kv.get(key)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Storage(format!("unreadable value at {key}: {e}"))),
    }
}

/// Writes `value` as JSON at `key`.
pub fn write<T: serde::Serialize>(env: &Env, key: &Key, value: &T) -> Result<(), Error> {
    let bytes = serde_json::to_vec(value).map_err(|e| Error::Storage(e.to_string()))?;
    env.kv.set(key, &bytes)
}
