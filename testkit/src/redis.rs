//! A throwaway `redis-server` on loopback, without persistence: for the
//! host's Redis store tests, its end-to-end suites and the benchmark, so the
//! way one is started and known to be ready is written once.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`, killed when dropped.
pub struct RedisServer {
    child: Child,
    addr: SocketAddr,
}

impl RedisServer {
    /// Starts one on `127.0.0.1:port` working in `dir` (its log is
    /// `dir/redis-server.log`), returned once it answers `PING` (10 s at most).
    pub fn start(port: u16, dir: &Path) -> Result<Self, String> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log = dir.join("redis-server.log");
        let file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(dir)
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("redis-server: {e} (cargo xtask installs it with apt-get)"))?;
        let mut server = Self { child, addr };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "redis-server exited ({status}); see {}",
                    log.display()
                ));
            }
            if pong(addr) {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(server);
        Err(format!(
            "redis-server did not answer within 10 s; see {}",
            log.display()
        ))
    }

    /// Its URL, `redis://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Its process id (its CPU time is part of what a request costs).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True when a Redis server at `addr` answers `PING`.
fn pong(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut answer = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG\r\n"
}
