//! End-to-end harness: wxmp-sim on loopback, wxmp-host processes running
//! the real spin.toml and the built component, a small HTTP/1.1 client with
//! a cookie jar, and a throwaway redis-server. Waits poll with deadlines.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wxmp_sim::{Sim, SimConfig};

#[path = "../../../tests/support/account.rs"]
mod account;
#[allow(unused_imports)]
pub use account::{account_vars, ADMIN_KEY, PUBLIC_URL, SESSION_SECRET};
/// The Token the simulator signs pushes with (hosts are configured with it).
pub const SERVER_TOKEN: &str = "simtoken";

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `f` every 20 ms until it returns Some or `within` passes.
pub fn eventually<T>(within: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// wxmp-sim served on loopback from its own runtime thread.
pub struct SimHandle {
    pub sim: Arc<Sim>,
    pub url: String,
    _rt: tokio::runtime::Runtime,
}

impl SimHandle {
    pub fn start() -> Self {
        Self::start_with(SimConfig::default())
    }

    pub fn start_with(cfg: SimConfig) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sim = Arc::new(Sim::new(cfg));
        let server = rt
            .block_on(wxmp_sim::server::start(
                "127.0.0.1:0".parse().unwrap(),
                sim.clone(),
            ))
            .unwrap();
        Self {
            sim,
            url: server.url(),
            _rt: rt,
        }
    }

    pub fn calls(&self, path: &str) -> u64 {
        self.sim.calls(path)
    }

    pub fn now_ms() -> u64 {
        wxmp_sim::server::now_ms()
    }
}

/// Where a host keeps its key-value data.
#[derive(Clone, Debug)]
pub enum Store {
    Memory,
    Sqlite(PathBuf),
    Redis(String),
}

/// A running wxmp-host process.
pub struct Host {
    child: Child,
    pub addr: SocketAddr,
    pub output: Arc<Mutex<String>>,
    _dir: TempDir,
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "wxmp-e2e-{tag}-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct HostConfig {
    pub manifest: PathBuf,
    pub store: Store,
    pub vars: HashMap<String, String>,
    pub args: Vec<String>,
}

impl HostConfig {
    pub fn new(sim: &SimHandle, store: Store) -> Self {
        let mut vars = account_vars(sim.sim.config(), SERVER_TOKEN);
        for (k, v) in [
            ("api_base", &sim.url),
            ("oauth_base", &sim.url),
            ("encoding_aes_key", &sim.sim.config().encoding_aes_key),
        ] {
            vars.insert(k.to_owned(), v.clone());
        }
        Self {
            manifest: repo().join("spin.toml"),
            store,
            vars,
            args: Vec::new(),
        }
    }
}

pub fn host_command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wxmp-host"))
}

impl Host {
    /// Starts a host and waits until `/healthz` answers.
    pub fn start(cfg: HostConfig) -> Self {
        Self::start_at("/healthz", cfg)
    }

    /// Starts a host and waits until `ready_path` answers (any status).
    pub fn start_at(ready_path: &str, cfg: HostConfig) -> Self {
        let dir = TempDir::new("host");
        let runtime_config = dir.0.join("runtime-config.toml");
        let store = match &cfg.store {
            Store::Memory => "type = \"memory\"".to_owned(),
            Store::Sqlite(p) => format!("type = \"spin\"\npath = \"{}\"", p.display()),
            Store::Redis(url) => format!("type = \"redis\"\nurl = \"{url}\""),
        };
        std::fs::write(
            &runtime_config,
            format!("[key_value_store.default]\n{store}\n"),
        )
        .unwrap();
        let port = free_port();
        let mut cmd = host_command();
        cmd.arg("up")
            .arg("-f")
            .arg(&cfg.manifest)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"));
        cmd.arg("--runtime-config-file")
            .arg(&runtime_config)
            .args(&cfg.args);
        for (k, v) in &cfg.vars {
            cmd.env(format!("SPIN_VARIABLE_{}", k.to_ascii_uppercase()), v);
        }
        let (child, output) = spawn_logged(cmd);
        let mut host = Self {
            child,
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
            output,
            _dir: dir,
        };
        let addr = host.addr;
        let out = host.output.clone();
        let child = &mut host.child;
        eventually(Duration::from_secs(60), "wxmp-host to serve", || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("wxmp-host exited with {status}:\n{}", out.lock().unwrap());
            }
            try_request(addr, "GET", ready_path, &[], b"")
                .ok()
                .filter(|r| r.status == 200 || r.status == 403)
        });
        host
    }

    pub fn get(&self, path: &str) -> Resp {
        request(self.addr, "GET", path, &[], b"")
    }

    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        request(self.addr, method, path, headers, body)
    }

    pub fn log(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// `GET /api/token` with the admin key.
    pub fn admin_token(&self) -> Resp {
        self.send(
            "GET",
            "/api/token",
            &[("authorization", &format!("Bearer {ADMIN_KEY}"))],
            b"",
        )
    }

    /// The process id (for /proc readings).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True once `needle` shows up in the output (within 5 s): log lines
    /// arrive through a pipe, after the response that caused them.
    pub fn wait_log(&self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Kills the process at once, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the process the way Ctrl-C does and waits for it.
    pub fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(self.child.id().to_string())
            .status();
        eventually(Duration::from_secs(15), "wxmp-host to exit", || {
            self.child.try_wait().ok().flatten()
        });
        // The pipes drain after the exit: wait until the output stops growing.
        let mut last = self.log();
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(50));
            let now = self.log();
            if now.len() == last.len() {
                break;
            }
            last = now;
        }
        last
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `cmd` with stdout and stderr collected into one buffer.
pub fn spawn_logged(mut cmd: Command) -> (Child, Arc<Mutex<String>>) {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null());
    let mut child = cmd.spawn().expect("spawn");
    let output = Arc::new(Mutex::new(String::new()));
    for pipe in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let output = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut o = output.lock().unwrap();
                o.push_str(&line);
                o.push('\n');
            }
        });
    }
    (child, output)
}

/// A response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "status {} body not JSON: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn location(&self) -> String {
        self.header("location")
            .unwrap_or_else(|| panic!("no location; status {} {}", self.status, self.text()))
            .to_owned()
    }
}

pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    try_request(addr, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// One HTTP/1.1 exchange on a fresh connection.
pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("bad response: {:?}", String::from_utf8_lossy(&raw)),
        )
    })
}

fn parse_response(raw: &[u8]) -> Option<Resp> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body)?;
    }
    Some(Resp {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(
            std::str::from_utf8(&data[..line_end])
                .ok()?
                .split(';')
                .next()?
                .trim(),
            16,
        )
        .ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

#[path = "../../../tests/support/jar.rs"]
mod jar;
pub use jar::Jar;

impl Jar {
    /// Takes the cookies a response sets.
    pub fn absorb(&mut self, r: &Resp) {
        self.absorb_headers(r.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
}

/// A browser: follows wxmp's redirect to the simulator's authorize page and
/// back, keeping cookies.
pub struct Browser<'h> {
    pub host: &'h Host,
    pub jar: Jar,
}

impl<'h> Browser<'h> {
    pub fn new(host: &'h Host) -> Self {
        Self {
            host,
            jar: Jar::default(),
        }
    }

    pub fn get(&mut self, path: &str) -> Resp {
        self.send("GET", path, &[], b"")
    }

    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        let cookie = self.jar.header();
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if !cookie.is_empty() {
            all.push(("cookie", &cookie));
        }
        let r = self.host.send(method, path, &all, body);
        self.jar.absorb(&r);
        r
    }

    /// Visits WeChat's authorize URL (with `extra` query) and returns where
    /// WeChat sends the browser back, as a path on wxmp.
    pub fn consent(&mut self, authorize_url: &str, extra: &str) -> String {
        let url = format!("{}{extra}", authorize_url.split('#').next().unwrap());
        let parsed = url::Url::parse(&url).unwrap();
        let addr: SocketAddr = format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap())
            .parse()
            .unwrap();
        let path = format!("{}?{}", parsed.path(), parsed.query().unwrap_or_default());
        let r = request(addr, "GET", &path, &[], b"");
        assert_eq!(r.status, 302, "authorize: {}", r.text());
        r.location()
            .strip_prefix(PUBLIC_URL)
            .expect("back to public_url")
            .to_owned()
    }

    /// A whole login: `/oauth/login?…`, consent, callback. Returns the callback response.
    pub fn login(&mut self, query: &str, extra: &str) -> Resp {
        let start = self.get(&format!("/oauth/login?{query}"));
        assert_eq!(start.status, 302, "{}", start.text());
        let back = self.consent(&start.location(), extra);
        self.get(&back)
    }
}

/// A redis-server on a free loopback port, stopped on drop.
pub struct Redis {
    child: Child,
    pub url: String,
    pub port: u16,
    dir: TempDir,
}

impl Redis {
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    pub fn start_on(port: u16) -> Self {
        let dir = TempDir::new("redis");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .current_dir(&dir.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server not found: `cargo xtask test` installs it (apt-get install redis-server)");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        eventually(Duration::from_secs(10), "redis-server", || {
            TcpStream::connect(addr).ok()
        });
        Self {
            child,
            url: format!("redis://127.0.0.1:{port}"),
            port,
            dir,
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = &self.dir;
    }
}

/// The JS-SDK signature, recomputed independently of wxmp's code.
pub fn jssdk_signature(ticket: &str, nonce: &str, timestamp: u64, url: &str) -> String {
    use sha1::{Digest, Sha1};
    hex::encode(Sha1::digest(format!(
        "jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}"
    )))
}

pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn query_of(url: &str, name: &str) -> Option<String> {
    let full = if url.starts_with('/') {
        format!("http://x{url}")
    } else {
        url.to_owned()
    };
    url::Url::parse(&full)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A stand-in for the app's message webhook: records each JSON body and
/// answers with `reply` after `delay`.
pub struct Webhook {
    pub url: String,
    pub received: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Webhook {
    pub fn start(reply: &str, delay: Duration) -> Self {
        Self::start_with_status(200, reply, delay)
    }

    pub fn start_with_status(status: u16, reply: &str, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let (seen, reply) = (received.clone(), reply.to_owned());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (seen, reply) = (seen.clone(), reply.clone());
                std::thread::spawn(move || serve_hook(stream, &seen, status, &reply, delay));
            }
        });
        Self { url, received }
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

fn serve_hook(
    mut stream: TcpStream,
    seen: &Mutex<Vec<serde_json::Value>>,
    status: u16,
    reply: &str,
    delay: Duration,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let body = loop {
        let Ok(n) = stream.read(&mut chunk) else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(split) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..split]).to_ascii_lowercase();
            if head.contains("transfer-encoding: chunked") {
                if buf.ends_with(b"0\r\n\r\n") {
                    break dechunk(&buf[split + 4..]).unwrap_or_default();
                }
                continue;
            }
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= split + 4 + len {
                break buf[split + 4..split + 4 + len].to_vec();
            }
        }
    };
    if let Ok(v) = serde_json::from_slice(&body) {
        seen.lock().unwrap().push(v);
    }
    std::thread::sleep(delay);
    let _ = write!(stream, "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}", reply.len());
}

/// The repo's spin.toml with the webhook's origin added to the allow-list
/// (as a user does for their own `message_webhook`), in a temp directory.
pub fn manifest_allowing(dir: &TempDir, extra_host: &str) -> PathBuf {
    manifest_with_outbound(dir, &["{{ api_base }}", extra_host])
}

/// The repo's spin.toml with `allowed_outbound_hosts = hosts`, in `dir`.
pub fn manifest_with_outbound(dir: &TempDir, hosts: &[&str]) -> PathBuf {
    let list = hosts
        .iter()
        .map(|h| format!("\"{h}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let manifest = std::fs::read_to_string(repo().join("spin.toml"))
        .unwrap()
        .replace(
            r#"allowed_outbound_hosts = ["{{ api_base }}", "{{ api_fallback_base }}"]"#,
            &format!("allowed_outbound_hosts = [{list}]"),
        )
        .replace(
            "source = \"target/",
            &format!("source = \"{}/target/", repo().display()),
        );
    let path = dir.0.join("spin.toml");
    std::fs::write(&path, manifest).unwrap();
    path
}

/// Asks the simulator to push like WeChat (sign, encrypt, POST) and returns
/// `{"status", "body", "reply"}` (the reply opened as WeChat would).
pub fn sim_push(sim: &SimHandle, host: &Host, push: serde_json::Value) -> serde_json::Value {
    let mut push = push;
    push["url"] = serde_json::json!(format!("http://{}/wx", host.addr));
    let addr: SocketAddr = sim.url.trim_start_matches("http://").parse().unwrap();
    let r = request(
        addr,
        "POST",
        "/__sim/push",
        &[("content-type", "application/json")],
        push.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "sim push: {}", r.text());
    r.json()
}
