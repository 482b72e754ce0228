//! The SQLite store, in Spin's table layout (`spin_key_value(store, key,
//! value)`), so several labels and even several host processes can share a
//! file. Writes that read first run in `BEGIN IMMEDIATE` transactions,
//! which makes `increment` and `swap` atomic across processes too.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{counter, Swap};

/// One label's view of a SQLite file.
pub(crate) struct SqliteStore {
    conn: Mutex<Connection>,
    label: String,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) `path` for `label`.
    pub(crate) fn open(path: &Path, label: &str) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute(
            "CREATE TABLE IF NOT EXISTS spin_key_value (store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (store, key))",
            [],
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
            label: label.to_owned(),
            path: path.to_path_buf(),
        })
    }

    /// The file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` off the async runtime (SQLite blocks).
    pub(super) async fn run<T: Send + 'static>(
        self: Arc<Self>,
        f: impl FnOnce(&Self) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        tokio::task::spawn_blocking(move || f(&self))
            .await
            .context("SQLite task")?
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
                params![self.label, key],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub(super) fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        self.conn().execute(
            "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3) ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
            params![self.label, key, value],
        )?;
        Ok(())
    }

    pub(super) fn delete(&self, key: &str) -> Result<()> {
        self.conn().execute(
            "DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2",
            params![self.label, key],
        )?;
        Ok(())
    }

    pub(super) fn keys(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT key FROM spin_key_value WHERE store = ?1")?;
        let keys = stmt
            .query_map(params![self.label], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(keys)
    }

    pub(super) fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: Option<Vec<u8>> = tx
            .query_row(
                "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
                params![self.label, key],
                |r| r.get(0),
            )
            .optional()?;
        let next = counter(current.as_deref())? + delta;
        tx.execute(
            "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3) ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
            params![self.label, key, next.to_le_bytes().to_vec()],
        )?;
        tx.commit()?;
        Ok(next)
    }

    pub(super) fn swap(&self, key: &str, expected: &[u8], value: &[u8]) -> Result<Swap> {
        let changed = self.conn().execute(
            "UPDATE spin_key_value SET value = ?4 WHERE store = ?1 AND key = ?2 AND value = ?3",
            params![self.label, key, expected, value],
        )?;
        Ok(if changed == 1 {
            Swap::Done
        } else {
            Swap::Conflict
        })
    }
}
