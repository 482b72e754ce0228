//! The key-value stores wxmp-host is measured with (issue #19): SQLite
//! (what `wxmp-host up` and `spin up` use by default), Redis (what several
//! hosts share; a local `redis-server` started for the run) and the
//! in-memory test store. Each run gets an empty store.

use std::path::{Path, PathBuf};

use wxmp_testkit::redis::RedisServer;

use super::procs::free_addr;

/// A store wxmp-host can be run with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// `type = "memory"`: wxmp-host's in-process map (a test backend).
    Memory,
    /// `type = "spin"`: a SQLite file, the default.
    Sqlite,
    /// `type = "redis"`: a redis-server on loopback.
    Redis,
}

impl Store {
    /// Every store, in report order.
    pub const ALL: [Store; 3] = [Store::Memory, Store::Sqlite, Store::Redis];

    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Store::Memory => "in-memory",
            Store::Sqlite => "SQLite",
            Store::Redis => "Redis",
        }
    }

    /// The backend's name in wxmp-host's timing line (its metrics label).
    pub fn backend(self) -> &'static str {
        match self {
            Store::Memory => "memory",
            Store::Sqlite => "sqlite",
            Store::Redis => "redis",
        }
    }

    /// `memory,sqlite,redis` → the stores (`None` on an unknown name).
    pub fn parse_list(list: &str) -> Option<Vec<Store>> {
        let mut stores = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let store = Store::ALL.into_iter().find(|s| s.backend() == name)?;
            if !stores.contains(&store) {
                stores.push(store);
            }
        }
        (!stores.is_empty()).then_some(stores)
    }
}

/// A store ready for one wxmp-host: an empty SQLite file in a fresh
/// directory, or a fresh redis-server (stopped on drop).
pub struct Backing {
    /// Which store.
    pub store: Store,
    redis: Option<RedisServer>,
    sqlite: Option<PathBuf>,
}

impl Backing {
    /// Prepares `store`, with its files under `work`.
    pub fn start(store: Store, work: &Path) -> Result<Self, String> {
        let mut backing = Self {
            store,
            redis: None,
            sqlite: None,
        };
        match store {
            Store::Memory => {}
            Store::Sqlite => {
                // Absolute: wxmp-host reads the runtime config's `path`
                // relative to the config file, not to our directory (a
                // relative `--root` once sent every run to the same stale
                // file under target/bench/target/).
                let dir = std::path::absolute(work.join("sqlite"))
                    .map_err(|e| format!("{}: {e}", work.display()))?;
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                backing.sqlite = Some(dir.join("kv.db"));
            }
            Store::Redis => {
                let port = free_addr()?.port();
                backing.redis = Some(RedisServer::start(port, work)?);
            }
        }
        Ok(backing)
    }

    /// The runtime-config file's text for this store as `default`.
    pub fn runtime_config(&self) -> String {
        let table = "[key_value_store.default]\n";
        match (&self.sqlite, &self.redis) {
            (Some(path), _) => format!(
                "{table}type = \"spin\"\npath = {:?}\n",
                path.display().to_string()
            ),
            (_, Some(redis)) => format!("{table}type = \"redis\"\nurl = \"{}\"\n", redis.url()),
            _ => format!("{table}type = \"memory\"\n"),
        }
    }

    /// The redis-server's process id, when there is one (its CPU time is
    /// part of what a request costs).
    pub fn pid(&self) -> Option<u32> {
        self.redis.as_ref().map(RedisServer::pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_lists_parse() {
        assert_eq!(
            Store::parse_list("memory,sqlite,redis"),
            Some(Store::ALL.to_vec())
        );
        assert_eq!(
            Store::parse_list("sqlite, memory,sqlite"),
            Some(vec![Store::Sqlite, Store::Memory])
        );
        assert_eq!(Store::parse_list("postgres"), None);
        assert_eq!(Store::parse_list(""), None);
    }

    #[test]
    fn the_sqlite_file_is_named_absolutely_and_starts_empty() {
        let work = Path::new("target/bench-store-test");
        let stale = work.join("sqlite/kv.db");
        std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
        std::fs::write(&stale, b"a previous run's store").unwrap();
        let backing = Backing::start(Store::Sqlite, work).unwrap();
        let config = backing.runtime_config();
        let path = config
            .split("path = ")
            .nth(1)
            .and_then(|p| p.trim().strip_prefix('"')?.strip_suffix('"'))
            .unwrap();
        assert!(Path::new(path).is_absolute(), "{config}");
        assert!(
            path.ends_with("target/bench-store-test/sqlite/kv.db"),
            "{path}"
        );
        assert!(!stale.exists(), "the last run's store was left in place");
        std::fs::remove_dir_all(work).unwrap();
    }
}
