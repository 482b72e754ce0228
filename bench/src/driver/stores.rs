//! The key-value stores wxmp-host is measured with (issue #19): SQLite
//! (what `wxmp-host up` and `spin up` use by default), Redis (what several
//! hosts share; a local `redis-server` started for the run) and the
//! in-memory test store. Each run gets an empty store.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
    redis: Option<(Child, String)>,
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
                let dir = work.join("sqlite");
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                backing.sqlite = Some(dir.join("kv.db"));
            }
            Store::Redis => backing.redis = Some(start_redis(work)?),
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
            (_, Some((_, url))) => format!("{table}type = \"redis\"\nurl = \"{url}\"\n"),
            _ => format!("{table}type = \"memory\"\n"),
        }
    }

    /// The redis-server's process id, when there is one (its CPU time is
    /// part of what a request costs).
    pub fn pid(&self) -> Option<u32> {
        self.redis.as_ref().map(|(child, _)| child.id())
    }
}

impl Drop for Backing {
    fn drop(&mut self) {
        if let Some((child, _)) = &mut self.redis {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `redis-server` on a free loopback port, without persistence, once it
/// answers `PING`.
fn start_redis(work: &Path) -> Result<(Child, String), String> {
    let addr = free_addr()?;
    let port = addr.port().to_string();
    let log = work.join("redis-server.log");
    let file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut child = Command::new("redis-server")
        .args([
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(work)
        .stdout(file)
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("redis-server: {e} (cargo xtask bench installs it with apt-get)"))?;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "redis-server exited ({status}); see {}",
                log.display()
            ));
        }
        if pong(addr) {
            return Ok((child, format!("redis://{addr}")));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(format!(
        "redis-server did not answer within 10 s; see {}",
        log.display()
    ))
}

/// True when a Redis server at `addr` answers `PING`.
fn pong(addr: std::net::SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut answer = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG\r\n"
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
}
