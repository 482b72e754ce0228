//! In-memory ports for native tests: wxmp-testkit's key-value store (with
//! Spin's increment rule), wxmp-sim behind an `HttpClient`, a manual or real
//! clock, seeded randomness and captured logs; wxmp-testkit's cookie jar on
//! wxmp's own requests.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use wxmp::core::config::Config;
use wxmp::core::error::Error;
use wxmp::http::{self, Request, Response};
use wxmp::ports::{Clock, Entropy, Env, HttpClient, Logger, OutboundRequest, OutboundResponse};
use wxmp_sim::{Reply, Sim, SimConfig, SimRequest};
#[allow(unused_imports)]
pub use wxmp_testkit::{http::Jar, kv::MemKv};

#[path = "account.rs"]
mod account;
#[allow(unused_imports)]
pub use account::{account_vars, ADMIN_KEY, PUBLIC_URL, SESSION_SECRET};

pub const API_BASE: &str = "http://api.sim";
pub const FALLBACK_BASE: &str = "http://api2.sim";
pub const OAUTH_BASE: &str = "http://open.sim";
pub const SERVER_TOKEN: &str = "spamtest";

/// Manual time that `sleep_ms` advances, or real time.
pub struct TestClock {
    manual: Option<AtomicU64>,
}

impl TestClock {
    pub fn manual(start_ms: u64) -> Self {
        Self {
            manual: Some(AtomicU64::new(start_ms)),
        }
    }

    pub fn real() -> Self {
        Self { manual: None }
    }

    pub fn advance(&self, ms: u64) {
        match &self.manual {
            Some(t) => {
                t.fetch_add(ms, Ordering::SeqCst);
            }
            None => std::thread::sleep(std::time::Duration::from_millis(ms)),
        }
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        match &self.manual {
            Some(t) => t.load(Ordering::SeqCst),
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as u64,
        }
    }

    fn sleep_ms(&self, ms: u64) {
        self.advance(ms);
    }
}

/// Deterministic but never-repeating bytes (splitmix64).
#[derive(Default)]
pub struct SeqEntropy(AtomicU64);

impl Entropy for SeqEntropy {
    fn fill(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let mut z = self
                .0
                .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::SeqCst)
                .wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }
}

#[derive(Default)]
pub struct Logs(pub Mutex<Vec<String>>);

impl Logger for Logs {
    fn log(&self, line: &str) {
        self.0.lock().unwrap().push(line.to_owned());
    }
}

/// A stand-in for the app's message webhook.
pub type Webhook = Arc<dyn Fn(&OutboundRequest) -> Result<OutboundResponse, Error> + Send + Sync>;

/// The address WeChat sees the native world's calls come from.
pub const EGRESS_IP: &str = "203.0.113.7";

/// The host of [`WEBHOOK_URL`].
pub const WEBHOOK_HOST: &str = "hook.test";
/// Where pushes are forwarded when a test sets `message_webhook`.
pub const WEBHOOK_URL: &str = "http://hook.test/wechat";

/// wxmp-sim answering the API and OAuth hosts in process, and a scripted
/// webhook on [`WEBHOOK_HOST`].
pub struct SimHttp {
    pub sim: Arc<Sim>,
    pub clock: Arc<TestClock>,
    pub unreachable: Mutex<HashSet<String>>,
    pub hosts_called: Mutex<Vec<String>>,
    pub webhook: Mutex<Option<Webhook>>,
}

impl HttpClient for SimHttp {
    fn send(&self, r: &OutboundRequest) -> Result<OutboundResponse, Error> {
        let url = url::Url::parse(&r.url).expect("absolute URL");
        let host = url.host_str().unwrap_or_default().to_owned();
        self.hosts_called.lock().unwrap().push(host.clone());
        if self.unreachable.lock().unwrap().contains(&host) {
            return Err(Error::Transport("connection refused".into()));
        }
        if host == WEBHOOK_HOST {
            let hook = self.webhook.lock().unwrap().clone();
            return match hook {
                Some(h) => h(r),
                None => Err(Error::Transport("connection refused".into())),
            };
        }
        let req = r.headers.iter().fold(
            SimRequest::new(
                r.method.as_str(),
                &r.url,
                r.body.clone().unwrap_or_default(),
            )
            .with_client_ip(EGRESS_IP.parse().unwrap()),
            |req, (k, v)| req.with_header(k, v),
        );
        match self.sim.handle(&req, self.clock.now_ms()) {
            Reply::Drop => Err(Error::Transport("connection reset by peer".into())),
            Reply::Respond { delay_ms, .. } if delay_ms >= r.timeouts.total_ms => {
                self.clock.advance(r.timeouts.total_ms);
                Err(Error::Timeout(format!(
                    "no complete answer within {} ms",
                    r.timeouts.total_ms
                )))
            }
            Reply::Respond { delay_ms, response } => {
                self.clock.advance(delay_ms);
                let mut headers =
                    vec![("content-type".to_owned(), response.content_type.to_owned())];
                headers.extend(response.headers);
                Ok(OutboundResponse {
                    status: response.status,
                    headers,
                    body: response.body,
                })
            }
        }
    }
}

/// One wxmp deployment (config + shared store) talking to one simulator.
pub struct World {
    pub sim: Arc<Sim>,
    pub kv: Arc<MemKv>,
    pub clock: Arc<TestClock>,
    pub http: Arc<SimHttp>,
    pub entropy: Arc<SeqEntropy>,
    pub logs: Arc<Logs>,
    pub vars: HashMap<String, String>,
    pub config: Config,
}

pub fn base_vars(sim: &SimConfig) -> HashMap<String, String> {
    let mut vars = account_vars(sim, SERVER_TOKEN);
    for (k, v) in [
        ("api_base", API_BASE),
        ("api_fallback_base", FALLBACK_BASE),
        ("oauth_base", OAUTH_BASE),
    ] {
        vars.insert(k.to_owned(), v.to_owned());
    }
    vars
}

impl World {
    /// A world with a manual clock at a fixed start time.
    pub fn new() -> Self {
        Self::with_clock(TestClock::manual(1_700_000_000_000), |_| {})
    }

    /// A world with the given clock and variable overrides.
    pub fn with_clock(clock: TestClock, tweak: impl FnOnce(&mut HashMap<String, String>)) -> Self {
        let sim = Arc::new(Sim::new(SimConfig::default()));
        let mut vars = base_vars(sim.config());
        tweak(&mut vars);
        let clock = Arc::new(clock);
        let config = {
            let vars = vars.clone();
            Config::load(move |k| vars.get(k).cloned())
        };
        let http = Arc::new(SimHttp {
            sim: sim.clone(),
            clock: clock.clone(),
            unreachable: Mutex::default(),
            hosts_called: Mutex::default(),
            webhook: Mutex::default(),
        });
        Self {
            sim,
            kv: Arc::default(),
            clock,
            http,
            entropy: Arc::default(),
            logs: Arc::default(),
            vars,
            config,
        }
    }

    /// Another instance of the same deployment: same store, sim and clock.
    pub fn sibling(&self) -> Self {
        Self {
            sim: self.sim.clone(),
            kv: self.kv.clone(),
            clock: self.clock.clone(),
            http: self.http.clone(),
            entropy: Arc::new(SeqEntropy(AtomicU64::new(
                self.entropy.0.load(Ordering::SeqCst) ^ 0xDEAD_BEEF,
            ))),
            logs: self.logs.clone(),
            vars: self.vars.clone(),
            config: {
                let vars = self.vars.clone();
                Config::load(move |k| vars.get(k).cloned())
            },
        }
    }

    pub fn env(&self) -> Env<'_> {
        Env {
            config: &self.config,
            kv: &*self.kv,
            http: &*self.http,
            clock: &*self.clock,
            entropy: &*self.entropy,
            log: &*self.logs,
        }
    }

    /// Handles `req`; the work left for after the answer (a late webhook
    /// reply) runs before this returns, as the component would run it.
    pub fn send(&self, req: Request) -> Response {
        let mut response = http::handle(req, &self.env());
        if let Some(work) = response.after.take() {
            work.run(&self.env());
        }
        response
    }

    pub fn get(&self, path_and_query: &str) -> Response {
        self.send(Request::new("GET", path_and_query))
    }

    /// Runs a login to the end; the jar and the callback response.
    pub fn login(&self, scope: &str, return_to: &str) -> (Jar, Response) {
        let mut jar = Jar::default();
        let start = self.get(&format!("/oauth/login?scope={scope}&return_to={return_to}"));
        jar.absorb(&start);
        let extra = if scope == "snsapi_userinfo" {
            "&sim_decision=allow"
        } else {
            ""
        };
        let callback = self.authorize(&location(&start), extra);
        let path = callback.strip_prefix(PUBLIC_URL).unwrap();
        let done = self.send(jar.on(Request::new("GET", path)));
        jar.absorb(&done);
        (jar, done)
    }

    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Follows WeChat's authorize URL on the simulator, as a browser would.
    pub fn authorize(&self, authorize_url: &str, extra: &str) -> String {
        let url = authorize_url.split('#').next().unwrap().to_owned() + extra;
        match self
            .sim
            .handle(&SimRequest::new("GET", &url, Vec::new()), self.now_ms())
        {
            Reply::Respond { response, .. } => {
                assert_eq!(
                    response.status,
                    302,
                    "sim authorize: {}",
                    String::from_utf8_lossy(&response.body)
                );
                response
                    .headers
                    .iter()
                    .find(|(k, _)| k == "location")
                    .unwrap()
                    .1
                    .clone()
            }
            Reply::Drop => panic!("sim dropped authorize"),
        }
    }
}

/// A [`Jar`] on wxmp's own requests (its `absorb` takes wxmp's responses).
pub trait JarOn {
    /// The request with this jar's cookies.
    fn on(&self, req: Request) -> Request;
}

impl JarOn for Jar {
    fn on(&self, req: Request) -> Request {
        if self.0.is_empty() {
            req
        } else {
            req.with_header("cookie", &self.header())
        }
    }
}

pub fn json(resp: &Response) -> serde_json::Value {
    serde_json::from_slice(&resp.body)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&resp.body)))
}

pub fn location(resp: &Response) -> String {
    resp.header("location")
        .unwrap_or_else(|| panic!("no location; status {}", resp.status))
        .to_owned()
}

pub fn query_of(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `s` percent-encoded for a query value.
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
