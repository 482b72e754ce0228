//! One benchmark run: wxmp-sim in process, the no-op floor, then wxmp-host
//! serving the component once per key-value store (in-memory, SQLite,
//! Redis: all started, each cold-burst first, then every route loaded warm
//! on each store in turn, so the stores compared see the same VM weather),
//! then the native reference and the Node peer — and a report with the
//! targets.

pub mod client;
pub mod peer;
pub mod procs;
pub mod report;
pub mod stores;
pub mod wrk;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use procs::{free_addr, Server};
use report::{Floor, HostRun, Measured, Report};
use stores::{Backing, Store};
use wrk::{Load, Shape};
use wxmp_sim::server::SimServer;
use wxmp_sim::{Sim, SimConfig};

/// The server Token `/wx` is verified with.
const SERVER_TOKEN: &str = "benchtoken";
/// WeChat's endpoints whose calls the cold burst counts.
const TOKEN_PATHS: [&str; 2] = ["/cgi-bin/stable_token", "/cgi-bin/token"];
const TICKET_PATH: &str = "/cgi-bin/ticket/getticket";

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The repository (spin.toml and the built component).
    pub root: PathBuf,
    /// Where wxmp-host and wxmp-native are.
    pub bins: PathBuf,
    /// Scratch files and logs.
    pub work: PathBuf,
    /// Load shape.
    pub shape: Shape,
    /// Clients in the cold burst.
    pub burst: usize,
    /// Extra arguments for every wxmp-host started (`--host-arg`), e.g.
    /// `--log-format json` or `--log warn`.
    pub host_args: Vec<String>,
    /// Start wxmp-host with `--metrics-listen` and scrape `/metrics`
    /// every second during each load (Prometheus scrapes every 15 s by
    /// default: this is the heavier case).
    pub metrics: bool,
    /// The key-value stores wxmp-host is measured with (`--stores`).
    pub stores: Vec<Store>,
}

/// The routes loaded warm, in report order.
pub const ROUTES: [&str; 3] = ["GET /jssdk/config", "GET /wx", "GET /api/me"];

/// Runs everything and returns the report.
pub fn run(opts: &Options) -> Result<Report, String> {
    std::fs::create_dir_all(&opts.work).map_err(|e| format!("{}: {e}", opts.work.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio: {e}"))?;
    let sim = Arc::new(Sim::new(SimConfig::default()));
    let sim_server = runtime
        .block_on(wxmp_sim::server::start(free_addr()?, sim.clone()))
        .map_err(|e| format!("wxmp-sim: {e}"))?;

    let component = opts.root.join("target/wasm32-wasip2/release/wxmp.wasm");
    let component_bytes = std::fs::metadata(&component)
        .map_err(|e| format!("{}: {e} (cargo xtask build)", component.display()))?
        .len();

    let floor = measure_floor(opts)?;
    // Every store's host runs at once (idle but for the one under load),
    // so each route is measured on the stores back to back.
    let mut backings = Vec::new();
    let mut hosts = Vec::new();
    for store in &opts.stores {
        let backing = Backing::start(*store, &opts.work)?;
        hosts.push(Running::start(opts, &sim_server, Target::Host(&backing))?);
        backings.push(backing);
    }
    for route in 0..ROUTES.len() {
        for host in &mut hosts {
            host.load(opts, route)?;
        }
    }
    let hosts = hosts
        .into_iter()
        .zip(&opts.stores)
        .map(|(host, store)| {
            Ok(HostRun {
                store: *store,
                measured: host.finish(opts)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    drop(backings);
    let mut native = Running::start(opts, &sim_server, Target::Native)?;
    for route in 0..ROUTES.len() {
        native.load(opts, route)?;
    }
    let native = native.finish(opts)?;
    let peer = match peer::installed(&opts.root) {
        Ok(dir) => {
            let mut peer = Running::start(opts, &sim_server, Target::Peer(&dir))?;
            for route in 0..peer::ROUTES.len() {
                peer.load(opts, route)?;
            }
            Ok(peer.finish(opts)?)
        }
        Err(why) => Err(why),
    };
    Ok(Report {
        shape: opts.shape.clone(),
        hosts,
        native,
        peer,
        floor,
        component_bytes,
        burst: opts.burst,
        host_args: host_args(opts),
    })
}

/// What a [`Running`] serves.
enum Target<'a> {
    /// wxmp-host with the component, on this store.
    Host(&'a Backing),
    /// The native reference, `wxmp-native`.
    Native,
    /// The Node peer, from this directory.
    Peer(&'a Path),
}

/// A server under test: wxmp-host on one store, the native reference or
/// the Node peer, cold-burst already, with what its loads measured.
struct Running {
    server: Server,
    /// wxmp-host's (not the native reference's or the peer's).
    host: bool,
    metrics_at: Option<SocketAddr>,
    /// The redis-server behind it, whose CPU counts too.
    store_pid: Option<u32>,
    /// Each route's URL and extra headers, in [`ROUTES`] order (the
    /// peer's: [`peer::ROUTES`]).
    runs: Vec<(String, Vec<(&'static str, String)>)>,
    loads: Vec<Load>,
    peak_rss_kib: u64,
    scrapes: Scrapes,
    burst: BTreeMap<u16, usize>,
    token_fetches: u64,
    ticket_fetches: u64,
}

impl Running {
    /// Starts `target` against the simulator, cold-bursts it on an empty
    /// store and (but for the peer) signs in.
    fn start(opts: &Options, sim: &SimServer, target: Target<'_>) -> Result<Self, String> {
        let addr = free_addr()?;
        let public_url = format!("http://{addr}");
        let config = sim.sim.config();
        let variables: HashMap<&str, String> = HashMap::from([
            ("app_id", config.app_id.clone()),
            ("app_secret", config.app_secret.clone()),
            ("token", SERVER_TOKEN.to_owned()),
            ("public_url", public_url.clone()),
            (
                "session_secret",
                "bench-session-secret-0123456789abcdef".to_owned(),
            ),
            ("api_base", sim.url()),
            ("oauth_base", sim.url()),
        ]);
        let mut metrics_at = None;
        let store = match target {
            Target::Host(backing) => Some(backing),
            _ => None,
        };
        let is_peer = matches!(target, Target::Peer(_));
        let (name, log, mut cmd) = match target {
            Target::Host(backing) => {
                let kind = backing.store.backend();
                let runtime_config = opts.work.join(format!("runtime-config-{kind}.toml"));
                std::fs::write(&runtime_config, backing.runtime_config())
                    .map_err(|e| format!("{}: {e}", runtime_config.display()))?;
                let (mut cmd, at) = host_up(opts, &opts.root.join("spin.toml"), addr)?;
                cmd.arg("--runtime-config-file").arg(&runtime_config);
                metrics_at = at;
                (
                    format!("wxmp-host ({})", backing.store.name()),
                    format!("wxmp-host-{kind}.log"),
                    cmd,
                )
            }
            Target::Native => {
                let mut cmd = Command::new(opts.bins.join("wxmp-native"));
                cmd.arg("--listen").arg(addr.to_string());
                ("wxmp-native".to_owned(), "wxmp-native.log".to_owned(), cmd)
            }
            Target::Peer(dir) => {
                let store_file = opts.work.join("node-peer-store.json");
                let app = (config.app_id.as_str(), config.app_secret.as_str());
                let cmd = peer::command(dir, addr, &sim.url(), app, SERVER_TOKEN, &store_file);
                ("Node peer".to_owned(), "node-peer.log".to_owned(), cmd)
            }
        };
        if !is_peer {
            for (k, v) in &variables {
                cmd.env(format!("SPIN_VARIABLE_{}", k.to_ascii_uppercase()), v);
            }
        }
        let server = Server::start(&name, cmd, addr, &opts.work.join(log))?;

        // Cold: the store is empty; every client needs the token and the ticket.
        let page = format!("{public_url}/pay/checkout?item=42");
        let jssdk = format!("{public_url}/jssdk/config?url={}", encode(&page));
        sim.sim.reset_calls();
        let burst = client::burst(&jssdk, opts.burst);
        let calls = sim.sim.all_calls();
        let token_fetches = TOKEN_PATHS
            .iter()
            .map(|p| calls.get(*p).copied().unwrap_or(0))
            .sum();
        let ticket_fetches = calls.get(TICKET_PATH).copied().unwrap_or(0);

        let (timestamp, nonce) = ("1700000000", "bench-nonce");
        let signature = wxmp::core::verify::sorted_sha1(&[SERVER_TOKEN, timestamp, nonce]);
        let wx = format!(
            "{public_url}/wx?signature={signature}&timestamp={timestamp}&nonce={nonce}&echostr=bench-echo"
        );
        let mut runs = vec![(jssdk, vec![]), (wx, vec![])];
        if !is_peer {
            let cookie = client::login(&public_url)?;
            runs.push((format!("{public_url}/api/me"), vec![("cookie", cookie)]));
        }
        Ok(Self {
            server,
            host: store.is_some(),
            metrics_at,
            store_pid: store.and_then(Backing::pid),
            runs,
            loads: Vec::new(),
            peak_rss_kib: 0,
            scrapes: Scrapes::default(),
            burst,
            token_fetches,
            ticket_fetches,
        })
    }

    /// Loads route `i` warm while sampling the server's memory.
    fn load(&mut self, opts: &Options, i: usize) -> Result<(), String> {
        let (url, headers) = &self.runs[i];
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let ((load, scraped), rss) = with_rss_sampling(self.server.pid(), || {
            with_scraping(self.metrics_at, || {
                run_load(opts, &self.server, self.store_pid, url, &headers)
            })
        });
        let load = load?;
        self.scrapes.add(&scraped?);
        self.peak_rss_kib = self.peak_rss_kib.max(rss);
        self.loads.push(load);
        Ok(())
    }

    /// Stops the server and gathers what it measured.
    fn finish(self, opts: &Options) -> Result<Measured, String> {
        let idle_rss_kib = self.server.rss_kib();
        let log = self.server.stop();
        let timings = timing_line(&log);
        if self.host && timings.is_none() {
            return Err(format!(
                "wxmp-host printed no timings at shutdown; see {}",
                opts.work.display()
            ));
        }
        Ok(Measured {
            loads: self.loads,
            peak_rss_kib: self.peak_rss_kib,
            idle_rss_kib,
            burst: self.burst,
            token_fetches: self.token_fetches,
            ticket_fetches: self.ticket_fetches,
            timings,
            scrapes: self.metrics_at.map(|_| self.scrapes),
        })
    }
}

/// wxmp-host serving the no-op component (`bench/floor`) from a manifest
/// of its own, loaded on `GET /` like the routes: what any Spin component
/// costs per request here before it does any work.
fn measure_floor(opts: &Options) -> Result<Floor, String> {
    let built = opts
        .root
        .join("target/wasm32-wasip2/release/wxmp_floor.wasm");
    // The manifest lives elsewhere, so its source must be absolute.
    let component = std::fs::canonicalize(&built).map_err(|e| {
        format!(
            "{}: {e} (cargo build --target wasm32-wasip2 --release -p wxmp-floor)",
            built.display()
        )
    })?;
    let manifest = opts.work.join("floor-spin.toml");
    let text = format!(
        "spin_manifest_version = 2\n\n[application]\nname = \"wxmp-floor\"\n\n\
         [[trigger.http]]\nroute = \"/...\"\ncomponent = \"floor\"\n\n\
         [component.floor]\nsource = {:?}\n",
        component.display().to_string()
    );
    std::fs::write(&manifest, text).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let addr = free_addr()?;
    let (cmd, metrics_at) = host_up(opts, &manifest, addr)?;
    let server = Server::start(
        "wxmp-host (floor)",
        cmd,
        addr,
        &opts.work.join("wxmp-host-floor.log"),
    )?;
    let (load, scraped) = with_scraping(metrics_at, || {
        run_load(opts, &server, None, &format!("{}/", server.url()), &[])
    });
    let load = load?;
    scraped?;
    let timings = timing_line(&server.stop());
    Ok(Floor { load, timings })
}

/// `wxmp-host up -f manifest --listen addr`, with `--host-arg`s and, when
/// asked for, `--metrics-listen` on a free port (returned).
fn host_up(
    opts: &Options,
    manifest: &Path,
    addr: SocketAddr,
) -> Result<(Command, Option<SocketAddr>), String> {
    let mut cmd = Command::new(opts.bins.join("wxmp-host"));
    cmd.arg("up")
        .arg("-f")
        .arg(manifest)
        .arg("--listen")
        .arg(addr.to_string())
        .args(&opts.host_args);
    let metrics = if opts.metrics {
        let at = free_addr()?;
        cmd.arg("--metrics-listen").arg(at.to_string());
        Some(at)
    } else {
        None
    };
    Ok((cmd, metrics))
}

/// Every extra wxmp-host argument of this run, for the report.
fn host_args(opts: &Options) -> Vec<String> {
    let mut args = opts.host_args.clone();
    if opts.metrics {
        args.push("--metrics-listen 127.0.0.1:<free port>, scraped every second".into());
    }
    args
}

/// `/metrics` scrapes made during loads.
#[derive(Clone, Debug, Default)]
pub struct Scrapes {
    /// How many.
    pub count: u64,
    /// Their total time, ms.
    pub total_ms: f64,
    /// The last one's size, bytes.
    pub bytes: usize,
}

impl Scrapes {
    fn add(&mut self, other: &Scrapes) {
        self.count += other.count;
        self.total_ms += other.total_ms;
        self.bytes = self.bytes.max(other.bytes);
    }
}

/// Runs `f` while scraping `GET /metrics` at `at` every second (nothing
/// when `at` is `None`); a failed scrape fails the run.
fn with_scraping<T>(at: Option<SocketAddr>, f: impl FnOnce() -> T) -> (T, Result<Scrapes, String>) {
    let Some(at) = at else {
        return (f(), Ok(Scrapes::default()));
    };
    let stop = Arc::new(AtomicBool::new(false));
    let scraper = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let agent = client::agent();
            let mut scrapes = Scrapes::default();
            while !stop.load(Ordering::Relaxed) {
                let started = std::time::Instant::now();
                let mut answer = agent
                    .get(&format!("http://{at}/metrics"))
                    .call()
                    .map_err(|e| format!("scraping {at}: {e}"))?;
                let body = answer
                    .body_mut()
                    .read_to_string()
                    .map_err(|e| format!("scraping {at}: {e}"))?;
                if !body.contains("wxmp_host_requests_total") {
                    return Err(format!("scraping {at}: no request counters in\n{body}"));
                }
                scrapes.count += 1;
                scrapes.total_ms += started.elapsed().as_secs_f64() * 1000.0;
                scrapes.bytes = body.len();
                std::thread::sleep(Duration::from_secs(1));
            }
            Ok(scrapes)
        })
    };
    let out = f();
    stop.store(true, Ordering::Relaxed);
    let scraped = scraper
        .join()
        .unwrap_or_else(|_| Err("the scraper panicked".into()));
    (out, scraped)
}

/// Loads `url` on `server` with wrk, counting the CPU time of `server` and
/// of the store's own process (`store_pid`); any failed request fails the
/// run.
fn run_load(
    opts: &Options,
    server: &Server,
    store_pid: Option<u32>,
    url: &str,
    headers: &[(&str, &str)],
) -> Result<Load, String> {
    let cpu_before = procs::cpu_ticks(server.pid());
    let store_before = store_pid.map_or(0, procs::cpu_ticks);
    let mut load = wrk::run(&opts.shape, url, headers)?;
    let ticks = procs::cpu_ticks(server.pid()).saturating_sub(cpu_before);
    let requests = load.requests.max(1) as f64;
    let per_request = |ticks: u64| ticks as f64 * 1e6 / procs::ticks_per_sec() / requests;
    load.cpu_us = per_request(ticks);
    load.store_cpu_us =
        store_pid.map(|pid| per_request(procs::cpu_ticks(pid).saturating_sub(store_before)));
    if load.failures > 0 {
        return Err(format!(
            "{}: {} failed requests loading {url}; see {}",
            server.name(),
            load.failures,
            server.log.display()
        ));
    }
    Ok(load)
}

/// wxmp-host's per-request timing line, printed when it stops (as text,
/// or as the `msg` of a JSON line with `--log-format json`).
fn timing_line(log: &str) -> Option<String> {
    let line = log
        .lines()
        .find(|l| l.contains(" instances; instantiate "))?;
    if line.starts_with('{') {
        let json: serde_json::Value = serde_json::from_str(line).ok()?;
        return json["msg"].as_str().map(str::to_owned);
    }
    Some(line.trim_start_matches("wxmp-host: ").to_owned())
}

/// Runs `f` while sampling `pid`'s resident memory every 100 ms; returns
/// `f`'s result and the highest sample.
fn with_rss_sampling<T>(pid: u32, f: impl FnOnce() -> T) -> (T, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(procs::status_kib(pid, "VmRSS:"), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let out = f();
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    (out, peak.load(Ordering::Relaxed))
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The machine, for the report's header.
pub fn machine() -> BTreeMap<&'static str, String> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned();
    BTreeMap::from([
        ("cpu", cpu),
        ("cores", cores.to_string()),
        ("kernel", kernel),
    ])
}
