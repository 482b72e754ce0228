//! End-to-end harness: wxmp-sim on loopback, wxmp-host processes running
//! the real spin.toml and the built component, a browser (wxmp-testkit's
//! client and cookie jar), a stand-in message webhook and a throwaway
//! redis-server. Waits poll with deadlines.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wxmp_sim::{Sim, SimConfig};
#[allow(unused_imports)]
pub use wxmp_testkit::http::{request, try_request, Jar, Resp};
use wxmp_testkit::redis::RedisServer;
use wxmp_testkit::server::{json_reply, Server};
#[allow(unused_imports)]
pub use wxmp_testkit::{temp_dir, TempDir};

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
    /// WeChat rejects the token (40001) on the next call to `path`, once.
    pub fn reject_token_once(&self, path: &str) {
        self.sim.inject(
            path,
            wxmp_sim::Fault::Errcode {
                errcode: 40001,
                errmsg: None,
            },
            1,
        );
    }

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
            // Every form the simulator pushes (tests of safe mode set it).
            ("message_mode", &"compat".to_owned()),
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
        let dir = temp_dir("e2e-host");
        let runtime_config = dir.path().join("runtime-config.toml");
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
        // A free port can be taken by another test between our probe and
        // the host's bind: then try another one.
        for _attempt in 0..5 {
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
            let (mut child, output) = spawn_logged(cmd);
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let served = eventually(Duration::from_secs(60), "wxmp-host to serve", || {
                if let Ok(Some(status)) = child.try_wait() {
                    let out = output.lock().unwrap().clone();
                    if out.contains("Address already in use") {
                        return Some(false);
                    }
                    panic!("wxmp-host exited with {status}:\n{out}");
                }
                try_request(addr, "GET", ready_path, &[], b"")
                    .ok()
                    .filter(|r| r.status == 200 || r.status == 403)
                    .map(|_| true)
            });
            if served {
                return Self {
                    child,
                    addr,
                    output,
                    _dir: dir,
                };
            }
        }
        panic!("wxmp-host found no free port in 5 tries");
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
    pub url: String,
    pub port: u16,
    // Declared before the directory it works in: stopped first.
    _server: RedisServer,
    _dir: TempDir,
}

impl Redis {
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    pub fn start_on(port: u16) -> Self {
        let dir = temp_dir("e2e-redis");
        let server = RedisServer::start(port, dir.path()).unwrap_or_else(|e| {
            panic!("{e}: `cargo xtask test` installs redis-server (apt-get install redis-server)")
        });
        Self {
            url: server.url(),
            port,
            _server: server,
            _dir: dir,
        }
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

/// A stand-in for the app's message webhook (wxmp-testkit's server at
/// `url`): answers `reply` (JSON) with a status after a delay and keeps
/// each JSON body it gets.
pub struct Webhook {
    pub url: String,
    server: Server,
}

impl Webhook {
    pub fn start(reply: &str, delay: Duration) -> Self {
        Self::start_with_status(200, reply, delay)
    }

    pub fn start_with_status(status: u16, reply: &str, delay: Duration) -> Self {
        let reply = json_reply(status, reply);
        let server = Server::start_after(delay, move |_| reply.clone());
        Self {
            url: server.url("/hook"),
            server,
        }
    }

    /// The JSON bodies received so far, oldest first.
    pub fn received(&self) -> Vec<serde_json::Value> {
        self.server
            .received()
            .iter()
            .filter_map(|r| serde_json::from_slice(&r.body).ok())
            .collect()
    }

    /// How many JSON bodies it has received.
    pub fn count(&self) -> usize {
        self.received().len()
    }
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
    let path = dir.path().join("spin.toml");
    std::fs::write(&path, manifest).unwrap();
    path
}

/// Asks the simulator to push like WeChat (sign, encrypt, POST) and returns
/// `{"status", "body", "reply"}` (the reply opened as WeChat would).
pub fn sim_push(sim: &SimHandle, host: &Host, push: serde_json::Value) -> serde_json::Value {
    sim_push_to(sim, &format!("http://{}/wx", host.addr), push)
}

/// [`sim_push`] to any URL (wxmp mounted below a prefix).
pub fn sim_push_to(sim: &SimHandle, url: &str, push: serde_json::Value) -> serde_json::Value {
    let mut push = push;
    push["url"] = serde_json::json!(url);
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

/// A manifest serving the misbehaving test component at `/...`.
pub fn stuck_manifest(dir: &TempDir) -> std::path::PathBuf {
    let path = dir.path().join("spin.toml");
    std::fs::write(
        &path,
        format!(
            "spin_manifest_version = 2\n[application]\nname = \"stuck\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"stuck\"\n\
             [component.stuck]\nsource = \"{}/target/wasm32-wasip2/release/wxmp_stuck.wasm\"\n",
            repo().display()
        ),
    )
    .unwrap();
    path
}
