//! The Redis store: several wxmp-host processes share tokens, leases and
//! sessions through it. Counters are Redis integers (`INCRBY`, atomic on the
//! server); compare-and-swap is a small Lua script.

use std::collections::HashMap;
use std::thread::ThreadId;

use anyhow::{Context, Result};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;
use tokio::runtime::RuntimeFlavor;

use super::Swap;

/// How long one operation may take: while Redis is away the connection
/// manager keeps reconnecting, and a request should fail fast with `503
/// storage` (and `/healthz` stay quick) rather than wait for it.
const OP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Connection attempts per reconnection while Redis is away, and the longest
/// pause between two: short, so a request fails fast with `503 storage`
/// and the next one starts a fresh attempt.
const RECONNECT_RETRIES: usize = 2;
const RECONNECT_MAX_DELAY_MS: u64 = 500;

/// `op`, or an error once [`OP_TIMEOUT`] has passed.
async fn within<T>(op: impl std::future::Future<Output = redis::RedisResult<T>>) -> Result<T> {
    match tokio::time::timeout(OP_TIMEOUT, op).await {
        Ok(result) => Ok(result?),
        Err(_) => anyhow::bail!("Redis did not answer within {} s", OP_TIMEOUT.as_secs()),
    }
}

/// How every connection is managed: bounded connects and answers, few
/// quick reconnection attempts.
fn config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(OP_TIMEOUT)
        .set_response_timeout(OP_TIMEOUT)
        .set_number_of_retries(RECONNECT_RETRIES)
        .set_max_delay(RECONNECT_MAX_DELAY_MS)
}

const SWAP: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 else return 0 end";

/// A Redis connection that reconnects by itself after an outage.
///
/// Each serving thread (a current-thread runtime) gets a connection of its
/// own, driven by its own runtime: an operation then never hops to another
/// thread and back (issue #19). The shared connection, opened at start-up,
/// serves everything else, and a serving thread while its own cannot be
/// opened (Redis away), so failing fast and recovering stay its job.
pub(crate) struct RedisStore {
    conn: ConnectionManager,
    client: redis::Client,
    /// The serving threads' own connections.
    local: std::sync::Mutex<HashMap<ThreadId, ConnectionManager>>,
    url: String,
    /// The compare-and-swap script, hashed once (`EVALSHA`, loaded on
    /// first use).
    swap: redis::Script,
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port[/db]`).
    pub(crate) async fn open(url: &str) -> Result<Self> {
        let shown = super::masked(url);
        let client = redis::Client::open(url).with_context(|| format!("Redis URL {shown}"))?;
        let conn = ConnectionManager::new_with_config(client.clone(), config())
            .await
            .with_context(|| format!("connecting to {shown}"))?;
        Ok(Self {
            conn,
            client,
            local: std::sync::Mutex::default(),
            url: url.to_owned(),
            swap: redis::Script::new(SWAP),
        })
    }

    /// The server URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The calling serving thread's own connection (opened on its first
    /// operation), else the shared one.
    async fn conn(&self) -> ConnectionManager {
        let serving = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::CurrentThread);
        if !serving {
            return self.conn.clone();
        }
        let thread = std::thread::current().id();
        if let Some(conn) = self.locals().get(&thread) {
            return conn.clone();
        }
        let opened = tokio::time::timeout(
            OP_TIMEOUT,
            ConnectionManager::new_with_config(self.client.clone(), config()),
        )
        .await;
        match opened {
            Ok(Ok(conn)) => self.locals().entry(thread).or_insert(conn).clone(),
            _ => self.conn.clone(),
        }
    }

    fn locals(&self) -> std::sync::MutexGuard<'_, HashMap<ThreadId, ConnectionManager>> {
        self.local.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        within(self.conn().await.get(key)).await
    }

    pub(super) async fn set(&self, key: &str, value: Vec<u8>) -> Result<()> {
        within(self.conn().await.set::<_, _, ()>(key, value)).await
    }

    pub(super) async fn delete(&self, key: &str) -> Result<()> {
        within(self.conn().await.del::<_, ()>(key)).await
    }

    pub(super) async fn keys(&self) -> Result<Vec<String>> {
        let mut conn = self.conn.clone();
        let mut keys = Vec::new();
        let mut cursor = 0u64;
        loop {
            // Each page within the same bound as every other operation.
            let (next, page): (u64, Vec<String>) = within(
                redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("COUNT")
                    .arg(500)
                    .query_async(&mut conn),
            )
            .await?;
            keys.extend(page);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }

    pub(super) async fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        within(self.conn().await.incr(key, delta)).await
    }

    pub(super) async fn swap(&self, key: &str, expected: Vec<u8>, value: Vec<u8>) -> Result<Swap> {
        let mut conn = self.conn().await;
        let mut call = self.swap.key(key);
        call.arg(expected).arg(value);
        let done: i64 = within(call.invoke_async(&mut conn)).await?;
        Ok(if done == 1 {
            Swap::Done
        } else {
            Swap::Conflict
        })
    }
}
