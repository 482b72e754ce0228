//! Hostile clients against wxmp-host, as an attacker without credentials
//! would try them: thousands of slow sockets, a guest stuck in a loop, a
//! full instance pool, a connection flood, forged `spin-*` headers, store
//! floods on the real backends. Every answer is JSON, never a 500, and a
//! normal client keeps being served.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;

/// The heavy tests run one at a time: they measure latency on 2 cores.
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|p| p.into_inner())
}

fn stuck_host(args: &[&str]) -> (Host, TempDir) {
    let sim = SimHandle::start();
    let dir = temp_dir("stuck");
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    cfg.manifest = stuck_manifest(&dir);
    cfg.args = args.iter().map(|a| a.to_string()).collect();
    (Host::start_at("/ok", cfg), dir)
}

/// This test process opens thousands of sockets: lift its soft file limit.
fn raise_open_files() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    let _ = setrlimit(Resource::Nofile, limit);
}

/// A request head trickled forever.
const SLOW_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ";
/// A 64 KiB body declared and one byte of it sent: without bounds, enough
/// of these take every instance.
const SLOW_BODY: &[u8] =
    b"POST /wx?signature=s&timestamp=1&nonce=n HTTP/1.1\r\nhost: x\r\ncontent-length: 65536\r\n\r\n<";

/// Opens `n` connections to `addr` that each send `prefix` and then stall.
fn stalled(addr: std::net::SocketAddr, n: usize, prefix: &[u8]) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(prefix).unwrap();
            s
        })
        .collect()
}

/// A normal client's 40 requests to `addr` (`/healthz` and `page` in turn):
/// each must succeed, and the slowest must take under a second.
fn normal_client_is_served(addr: std::net::SocketAddr, page: &str) {
    let mut worst = Duration::ZERO;
    for i in 0..40 {
        let path = if i % 2 == 0 { "/healthz" } else { page };
        let started = Instant::now();
        let r = request(addr, "GET", path, &[], b"");
        worst = worst.max(started.elapsed());
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    assert!(
        worst < Duration::from_secs(1),
        "a normal request took {worst:?}"
    );
}

/// What a stalled socket got back within `within`: a status, or 0 when the
/// host just closed it.
fn outcome(mut s: TcpStream, within: Duration) -> u16 {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn thousands_of_slow_sockets_do_not_starve_a_normal_client() {
    let _one = heavy();
    raise_open_files();
    let sim = SimHandle::start();
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    cfg.args = ["--header-timeout", "4", "--body-timeout", "4"]
        .map(String::from)
        .to_vec();
    let host = Host::start(cfg);
    let page = format!("/jssdk/config?url={}", enc("https://m.example.com/p"));
    assert_eq!(host.get(&page).status, 200, "warm: token and ticket cached");

    // 1,000 sockets trickle their headers, 1,000 their bodies.
    let slow_heads = stalled(host.addr, 1_000, SLOW_HEAD);
    let slow_bodies = stalled(host.addr, 1_000, SLOW_BODY);
    normal_client_is_served(host.addr, &page);

    // The stalled ones are let go at their deadlines: slow heads closed,
    // slow bodies answered 408 JSON (and never an instance, never a 500).
    let statuses: Vec<u16> = slow_heads
        .into_iter()
        .take(50)
        .chain(slow_bodies.into_iter().take(50))
        .map(|s| outcome(s, Duration::from_secs(10)))
        .collect();
    assert!(statuses[..50].iter().all(|s| *s == 0), "{statuses:?}");
    assert!(statuses[50..].iter().all(|s| *s == 408), "{statuses:?}");
    let log = host.log();
    assert!(!log.contains(" 500 "), "{log}");
}

#[test]
fn idle_keep_alive_connections_are_closed_at_the_header_deadline() {
    let sim = SimHandle::start();
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    cfg.args = ["--header-timeout", "2"].map(String::from).to_vec();
    let host = Host::start(cfg);
    let mut s = TcpStream::connect(host.addr).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 12];
    s.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    let started = Instant::now();
    assert_eq!(outcome(s, Duration::from_secs(10)), 0);
    let idle = started.elapsed();
    assert!(
        idle >= Duration::from_millis(1_500) && idle < Duration::from_secs(5),
        "{idle:?}"
    );
}

#[test]
fn a_guest_stuck_in_a_loop_is_ended_at_the_deadline() {
    let _one = heavy();
    let (host, _dir) = stuck_host(&["--request-timeout", "2"]);
    let started = Instant::now();
    let looping = std::thread::spawn({
        let addr = host.addr;
        move || request(addr, "GET", "/loop", &[], b"")
    });
    // Meanwhile other requests are served (the looping guest yields every tick).
    std::thread::sleep(Duration::from_millis(300));
    let quick = Instant::now();
    assert_eq!(host.get("/ok").text(), "ok");
    assert!(
        quick.elapsed() < Duration::from_millis(500),
        "{:?}",
        quick.elapsed()
    );
    let r = looping.join().unwrap();
    let took = started.elapsed();
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (504, Some("deadline"))
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(4),
        "{took:?}"
    );
    // A guest that answers and then loops: the answer arrives at once, the
    // instance ends at the deadline.
    let started = Instant::now();
    assert_eq!(host.get("/late").text(), "late");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_full_instance_pool_answers_503_busy_with_retry_after() {
    let _one = heavy();
    let (host, _dir) = stuck_host(&["--max-instances", "2", "--request-timeout", "3"]);
    let loops: Vec<_> = (0..2)
        .map(|_| {
            let addr = host.addr;
            std::thread::spawn(move || request(addr, "GET", "/loop", &[], b"").status)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let r = host.get("/ok");
    assert_eq!((r.status, r.json()["error"].as_str()), (503, Some("busy")));
    assert_eq!(r.header("retry-after"), Some("1"));
    for l in loops {
        assert_eq!(l.join().unwrap(), 504);
    }
    // Freed at the deadline: served again.
    assert_eq!(host.get("/ok").text(), "ok");
}

#[test]
fn connections_over_the_cap_are_answered_503_and_closed() {
    let (host, _dir) = stuck_host(&["--max-connections", "8"]);
    let held: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(host.addr).unwrap())
        .collect();
    // Once the host has accepted all eight (on a loaded machine that takes
    // a moment), the ninth connection is refused.
    let r = eventually(Duration::from_secs(5), "the connection cap to bite", || {
        try_request(host.addr, "GET", "/ok", &[], b"")
            .ok()
            .filter(|r| r.status != 200)
    });
    assert_eq!((r.status, r.json()["error"].as_str()), (503, Some("busy")));
    assert_eq!(r.header("retry-after"), Some("1"));
    drop(held);
    assert_eq!(
        eventually(Duration::from_secs(5), "a free connection slot", || {
            try_request(host.addr, "GET", "/ok", &[], b"")
                .ok()
                .filter(|r| r.status == 200)
        })
        .text(),
        "ok"
    );
}

#[test]
fn a_clients_own_spin_headers_count_toward_the_limits() {
    let sim = SimHandle::start();
    let host = Host::start(HostConfig::new(&sim, Store::Memory));
    let big = "a".repeat(9 * 1024);
    for name in ["spin-path-info", "spin-full-url", "x-anything"] {
        let r = host.send("GET", "/healthz", &[(name, &big)], b"");
        assert_eq!(
            (r.status, r.json()["error"].as_str()),
            (431, Some("header_too_large")),
            "{name}"
        );
        assert!(r.header("x-request-id").is_some());
    }
}

#[test]
fn every_answer_carries_a_request_id_echoing_a_sane_one() {
    let sim = SimHandle::start();
    let host = Host::start(HostConfig::new(&sim, Store::Memory));
    let r = host.send("GET", "/healthz", &[("x-request-id", "req-42.a_b")], b"");
    assert_eq!(r.header("x-request-id"), Some("req-42.a_b"));
    for insane in ["has space", "<script>", &"x".repeat(65)] {
        let r = host.send("GET", "/nope", &[("x-request-id", insane)], b"");
        let id = r.header("x-request-id").unwrap();
        assert_ne!(id, insane);
        assert_eq!(id.len(), 16, "{id}");
    }
}

#[test]
fn safe_mode_refuses_plaintext_and_stale_or_replayed_pushes() {
    let sim = SimHandle::start();
    let hook = Webhook::start("", Duration::ZERO);
    let dir = temp_dir("safe");
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    cfg.manifest = manifest_allowing(&dir, &hook.url);
    cfg.vars.remove("message_mode"); // an EncodingAESKey alone means safe mode
    cfg.vars.insert("message_webhook".into(), hook.url.clone());
    let host = Host::start(cfg);
    let plain = sim_push(
        &sim,
        &host,
        serde_json::json!({"mode": "plain", "content": "a", "msg_id": 1}),
    );
    assert_eq!(plain["status"], 403, "{plain}");
    assert!(plain["body"]
        .as_str()
        .unwrap()
        .contains("encryption_required"));
    let safe = sim_push(
        &sim,
        &host,
        serde_json::json!({"mode": "safe", "content": "b", "msg_id": 2}),
    );
    assert_eq!(
        (safe["status"].as_u64(), safe["body"].as_str()),
        (Some(200), Some("success"))
    );
    // A stale push, signed and encrypted correctly, an hour old.
    let c = sim.sim.config();
    let then = SimHandle::now_ms() / 1000 - 3_600;
    let msg = wxmp_sim::push::text_message(c, 0, "old", then, 3);
    let p = wxmp_sim::push::build(c, wxmp_sim::push::Mode::Safe, &msg, then, "n3", [3; 16]);
    let r = host.send("POST", &format!("/wx?{}", p.query), &[], p.body.as_bytes());
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (403, Some("stale_push"))
    );
    assert_eq!(hook.count(), 1);
}

#[test]
fn the_sandbox_refuses_a_public_address_unless_told() {
    let out = host_command()
        .args(["up", "--sandbox", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("loopback only") && err.contains("--sandbox-on-public-address"),
        "{err}"
    );
    // The flag only goes with --sandbox.
    let out = host_command()
        .args(["up", "--sandbox-on-public-address"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Keys and bytes in a SQLite store file (Spin's table layout).
fn sqlite_usage(path: &std::path::Path) -> (usize, usize) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(
        "SELECT COUNT(*), COALESCE(SUM(LENGTH(key) + LENGTH(value)), 0) FROM spin_key_value",
        [],
        |r| Ok((r.get::<_, i64>(0)? as usize, r.get::<_, i64>(1)? as usize)),
    )
    .unwrap()
}

/// Keys and bytes (of keys and values) in a Redis database.
fn redis_usage(url: &str) -> (usize, usize) {
    let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
    let bytes = keys
        .iter()
        .map(|k| {
            let len: usize = redis::cmd("STRLEN").arg(k).query(&mut conn).unwrap_or(0);
            k.len() + len
        })
        .sum();
    (keys.len(), bytes)
}

/// Hostile logins (refused and accepted), forged callbacks and callbacks
/// with the attacker's own states, with a real login in between: what is
/// left in the store is the real user's session and its index, and at most
/// the used-state slots (docs/operate.md). The full 100,000 of each run
/// natively (`tests/store_bounds.rs`); here a few thousand go through
/// wxmp-host into the real backends.
fn flood(host: &Host, real_login: impl Fn()) {
    let huge = format!("/{}", "%E4%B8%AD".repeat(680));
    let state = "0123456789abcdef".repeat(5);
    for i in 0..1_500 {
        assert_eq!(
            host.get(&format!("/oauth/login?return_to={huge}")).status,
            400
        );
        assert_eq!(host.get("/oauth/login?return_to=/a").status, 302);
        let r = host.get(&format!("/oauth/callback?code=c{i}&state={state}"));
        assert_eq!(r.status, 400);
        if i == 700 {
            real_login();
        }
    }
    for i in 0..200 {
        let mut b = Browser::new(host);
        let start = b.get("/oauth/login");
        let s = query_of(&start.location(), "state").unwrap();
        assert_eq!(
            b.get(&format!("/oauth/callback?code=bogus{i}&state={s}"))
                .status,
            302
        );
    }
}

#[test]
fn floods_leave_sqlite_and_redis_stores_bounded() {
    let _one = heavy();
    let sim = SimHandle::start();
    let dir = temp_dir("flood");
    let db = dir.path().join("kv.db");
    let redis = Redis::start();
    for (store, usage) in [
        (
            Store::Sqlite(db.clone()),
            Box::new(|| sqlite_usage(&db)) as Box<dyn Fn() -> (usize, usize)>,
        ),
        (
            Store::Redis(redis.url.clone()),
            Box::new(|| redis_usage(&redis.url)),
        ),
    ] {
        let host = Host::start(HostConfig::new(&sim, store.clone()));
        let real = || {
            let mut b = Browser::new(&host);
            assert_eq!(b.login("return_to=/ok", "").status, 302);
            assert_eq!(b.get("/api/me").status, 200);
        };
        flood(&host, real);
        let (keys, bytes) = usage();
        // The real login's session and user index, and at most 201 used-state
        // slots (one per consumed state; 4,096 at the most).
        assert!(keys <= 2 + 201, "{store:?}: {keys} keys");
        assert!(bytes <= 2_048 + 201 * 120, "{store:?}: {bytes} bytes");
    }
}

/// nginx (from apt) running deploy/nginx/nginx.conf in front of `upstream`,
/// on a free port, stopped on drop.
struct Nginx {
    child: std::process::Child,
    addr: std::net::SocketAddr,
    _dir: TempDir,
}

impl Nginx {
    fn start(upstream: std::net::SocketAddr) -> Self {
        let dir = temp_dir("nginx");
        let port = free_port();
        let shipped = std::fs::read_to_string(repo().join("deploy/nginx/nginx.conf")).unwrap();
        let d = dir.path().display();
        // The shipped file as is, but for the addresses, and with the paths
        // a process outside /etc/nginx needs.
        let conf = shipped
            .replace("server 127.0.0.1:3000;", &format!("server {upstream};"))
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
            .replace(
                "http {",
                &format!(
                    "http {{\n    access_log off;\n    client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n    \
                     fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;"
                ),
            );
        assert_ne!(conf, shipped);
        let root = rustix::process::geteuid().is_root();
        let head = format!(
            "daemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n{}",
            if root { "user root;\n" } else { "" }
        );
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, format!("{head}{conf}")).unwrap();
        // Debian's nginx lives in /usr/sbin, which not every PATH has.
        let nginx = ["/usr/sbin/nginx", "/usr/local/sbin/nginx"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("nginx");
        let child = std::process::Command::new(nginx)
            .args(["-p", &d.to_string(), "-e", &format!("{d}/error.log"), "-c"])
            .arg(&path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nginx not found: `cargo xtask test` installs it (apt-get install nginx)");
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        eventually(Duration::from_secs(10), "nginx", || {
            try_request(addr, "GET", "/healthz", &[], b"")
                .ok()
                .filter(|r| r.status == 200)
        });
        Self {
            child,
            addr,
            _dir: dir,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// docs/deploy.md's answer for Spin users: a buffering proxy in front. The
/// shipped nginx configuration, in front of wxmp-host with its own limits
/// raised out of the way, under the same slow-client load.
#[test]
fn the_shipped_nginx_config_shields_the_host_from_slow_clients() {
    let _one = heavy();
    raise_open_files();
    let sim = SimHandle::start();
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    // As if the host had no defences of its own: nginx must do the work.
    cfg.args = [
        "--header-timeout",
        "600",
        "--body-timeout",
        "600",
        "--max-buffered-body",
        "0",
        "--max-instances",
        "50",
    ]
    .map(String::from)
    .to_vec();
    let host = Host::start(cfg);
    let nginx = Nginx::start(host.addr);
    let page = format!("/jssdk/config?url={}", enc("https://m.example.com/p"));
    let r = request(nginx.addr, "GET", &page, &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let slow_heads = stalled(nginx.addr, 1_000, SLOW_HEAD);
    let slow_bodies = stalled(nginx.addr, 1_000, SLOW_BODY);
    normal_client_is_served(nginx.addr, &page);
    // None of the slow bodies reached wxmp-host: nginx holds them.
    assert!(!host.log().contains("POST /wx"), "{}", host.log());
    drop((slow_heads, slow_bodies));
}

/// Under real Spin nothing buffers bodies for the component: its own body
/// deadline (10 s) ends a trickle. Here wxmp-host streams every body to it.
#[test]
fn the_components_own_body_deadline_ends_a_trickle() {
    let sim = SimHandle::start();
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    cfg.args = ["--max-buffered-body", "0", "--body-timeout", "600"]
        .map(String::from)
        .to_vec();
    let host = Host::start(cfg);
    let mut s = TcpStream::connect(host.addr).unwrap();
    s.write_all(b"POST /wx?signature=s&timestamp=1&nonce=n HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n<x")
        .unwrap();
    let started = Instant::now();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let answer = String::from_utf8_lossy(&buf);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("\"error\":\"body_timeout\"") && answer.contains("x-request-id"),
        "{answer}"
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(15),
        "{took:?}"
    );
}
