//! The SQLite store, in Spin's table layout (`spin_key_value(store, key,
//! value)`), so several labels and even several host processes can share a
//! file. Writes that read first run in `BEGIN IMMEDIATE` transactions,
//! which makes `increment` and `swap` atomic across processes too.
//!
//! Reads and writes take different paths (issue #19). The file is in WAL
//! mode, where a reader never waits for a writer, so a read runs inline on
//! the calling (serving) thread, on a pooled reader connection of its own
//! with no busy handler and its statement prepared once: a few microseconds,
//! no thread hop. Should SQLite answer `SQLITE_BUSY` all the same (another
//! process recovering the WAL, say), the read is retried on the blocking
//! pool, where waiting is allowed. Writes — which may wait for another
//! writer (`busy_timeout`) and sync the WAL at commit — always run on the
//! blocking pool, one at a time on the writer connection.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};

use super::{counter, Swap};

/// How long a write (or a read retried after `SQLITE_BUSY`) waits for
/// another connection's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle reader connections kept: the most reads in flight at once are one
/// per serving thread plus the rare retries, so a few suffice.
const MAX_IDLE_READERS: usize = 8;

const GET: &str = "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2";
const SET: &str = "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3) ON CONFLICT (store, key) DO UPDATE SET value = excluded.value";
const DELETE: &str = "DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2";
const KEYS: &str = "SELECT key FROM spin_key_value WHERE store = ?1";
const SWAP: &str =
    "UPDATE spin_key_value SET value = ?4 WHERE store = ?1 AND key = ?2 AND value = ?3";

/// One label's view of a SQLite file.
pub(crate) struct SqliteStore {
    /// Every write, and reads that may wait.
    writer: Mutex<Connection>,
    /// Idle reader connections (no busy handler), taken by inline reads.
    readers: Mutex<Vec<Connection>>,
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
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute(
            "CREATE TABLE IF NOT EXISTS spin_key_value (store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (store, key))",
            [],
        )?;
        let store = Self {
            writer: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
            label: label.to_owned(),
            path: path.to_path_buf(),
        };
        // One reader now, so a file that cannot be read fails at start-up.
        let reader = store.open_reader()?;
        store.idle_readers().push(reader);
        Ok(store)
    }

    /// The file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` off the async runtime (it may block).
    pub(super) async fn run<T: Send + 'static>(
        self: Arc<Self>,
        f: impl FnOnce(&Self) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        tokio::task::spawn_blocking(move || f(&self))
            .await
            .context("SQLite task")?
    }

    fn writer(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn idle_readers(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.readers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A reader connection: never waits for a lock (`SQLITE_BUSY` at once).
    fn open_reader(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open(&self.path)?;
        conn.busy_timeout(Duration::ZERO)?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    }

    /// The value at `key`: read inline on a pooled reader, or on the
    /// blocking pool when SQLite says another connection holds a lock.
    pub(super) async fn get(self: &Arc<Self>, key: &str) -> Result<Option<Vec<u8>>> {
        match self.read_now(key) {
            Err(e) if busy(&e) => {}
            read => return Ok(read?),
        }
        let key = key.to_owned();
        self.clone().run(move |s| s.read_waiting(&key)).await
    }

    /// Reads `key` on an idle reader (a new one when none is idle), which
    /// goes back to the pool afterwards; a reader that failed is dropped.
    fn read_now(&self, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
        let idle = self.idle_readers().pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open_reader()?,
        };
        let read = select(&conn, &self.label, key)?;
        let mut idle = self.idle_readers();
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        Ok(read)
    }

    /// Reads `key` on the writer connection, waiting up to [`BUSY_TIMEOUT`].
    fn read_waiting(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(select(&self.writer(), &self.label, key)?)
    }

    pub(super) fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        self.writer()
            .prepare_cached(SET)?
            .execute(params![self.label, key, value])?;
        Ok(())
    }

    pub(super) fn delete(&self, key: &str) -> Result<()> {
        self.writer()
            .prepare_cached(DELETE)?
            .execute(params![self.label, key])?;
        Ok(())
    }

    pub(super) fn keys(&self) -> Result<Vec<String>> {
        let conn = self.writer();
        let mut stmt = conn.prepare_cached(KEYS)?;
        let keys = stmt
            .query_map(params![self.label], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(keys)
    }

    pub(super) fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = select(&tx, &self.label, key)?;
        let next = counter(current.as_deref())? + delta;
        tx.prepare_cached(SET)?
            .execute(params![self.label, key, next.to_le_bytes().to_vec()])?;
        tx.commit()?;
        Ok(next)
    }

    pub(super) fn swap(&self, key: &str, expected: &[u8], value: &[u8]) -> Result<Swap> {
        let changed = self
            .writer()
            .prepare_cached(SWAP)?
            .execute(params![self.label, key, expected, value])?;
        Ok(if changed == 1 {
            Swap::Done
        } else {
            Swap::Conflict
        })
    }
}

/// `key`'s value under `label`, with the statement prepared once per
/// connection (and reset when it goes back to the cache, ending the read
/// transaction).
fn select(conn: &Connection, label: &str, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached(GET)?
        .query_row(params![label, key], |r| r.get(0))
        .optional()
}

/// True when SQLite refused because another connection holds a lock.
fn busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lock_errors_send_a_read_to_the_blocking_pool() {
        let refused = |code| rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None);
        assert!(busy(&refused(rusqlite::ffi::SQLITE_BUSY)));
        assert!(busy(&refused(rusqlite::ffi::SQLITE_LOCKED)));
        assert!(!busy(&refused(rusqlite::ffi::SQLITE_CORRUPT)));
        assert!(!busy(&rusqlite::Error::QueryReturnedNoRows));
    }

    #[tokio::test]
    async fn a_waiting_read_sees_what_an_inline_read_sees() {
        let dir = wxmp_testkit::temp_dir("kv-wait");
        let store = Arc::new(SqliteStore::open(&dir.path().join("kv.db"), "default").unwrap());
        store.set("k", b"v").unwrap();
        let key = "k".to_owned();
        let waited = store.clone().run(move |s| s.read_waiting(&key)).await;
        assert_eq!(waited.unwrap(), store.read_now("k").unwrap());
        assert_eq!(store.read_waiting("absent").unwrap(), None);
    }

    #[tokio::test]
    async fn reads_see_every_committed_write_and_reuse_their_readers() {
        let dir = wxmp_testkit::temp_dir("kv-readers");
        let store = Arc::new(SqliteStore::open(&dir.path().join("kv.db"), "default").unwrap());
        for i in 0..20u8 {
            store.set("k", &[i]).unwrap();
            assert_eq!(store.get("k").await.unwrap(), Some(vec![i]));
        }
        assert_eq!(store.increment("n", 2).unwrap(), 2);
        assert_eq!(
            store.get("n").await.unwrap(),
            Some(2i64.to_le_bytes().to_vec())
        );
        assert_eq!(
            store.idle_readers().len(),
            1,
            "one reader served every read"
        );
    }
}
