//! The Redis store: several wxmp-host processes share tokens, leases and
//! sessions through it. Counters are Redis integers (`INCRBY`, atomic on the
//! server); compare-and-swap is a small Lua script.

use anyhow::{Context, Result};
use redis::aio::ConnectionManager;
use redis::AsyncCommands;

use super::Swap;

const SWAP: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 else return 0 end";

/// A Redis connection that reconnects by itself after an outage.
pub(crate) struct RedisStore {
    conn: ConnectionManager,
    url: String,
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port[/db]`).
    pub(crate) async fn open(url: &str) -> Result<Self> {
        let shown = super::masked(url);
        let client = redis::Client::open(url).with_context(|| format!("Redis URL {shown}"))?;
        let conn = ConnectionManager::new(client)
            .await
            .with_context(|| format!("connecting to {shown}"))?;
        Ok(Self {
            conn,
            url: url.to_owned(),
        })
    }

    /// The server URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(super) async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.conn.clone().get(key).await?)
    }

    pub(super) async fn set(&self, key: &str, value: Vec<u8>) -> Result<()> {
        let _: () = self.conn.clone().set(key, value).await?;
        Ok(())
    }

    pub(super) async fn delete(&self, key: &str) -> Result<()> {
        let _: () = self.conn.clone().del(key).await?;
        Ok(())
    }

    pub(super) async fn keys(&self) -> Result<Vec<String>> {
        let mut conn = self.conn.clone();
        let mut keys = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, page): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("COUNT")
                .arg(500)
                .query_async(&mut conn)
                .await?;
            keys.extend(page);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }

    pub(super) async fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        Ok(self.conn.clone().incr(key, delta).await?)
    }

    pub(super) async fn swap(&self, key: &str, expected: Vec<u8>, value: Vec<u8>) -> Result<Swap> {
        let done: i64 = redis::Script::new(SWAP)
            .key(key)
            .arg(expected)
            .arg(value)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(if done == 1 {
            Swap::Done
        } else {
            Swap::Conflict
        })
    }
}
