//! wxmp-host for operators: Prometheus metrics on their own listener
//! (`--metrics-listen`) counting exactly what was served, outbound calls
//! with WeChat's errcode, the instance pool; structured logs
//! (`--log-format json`) whose every line is JSON and whose request lines
//! list the upstream calls; and never a token in either.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use common::*;

/// One scrape, parsed: series (name and sorted labels) → value.
struct Scrape {
    text: String,
    series: BTreeMap<(String, BTreeMap<String, String>), f64>,
}

impl Scrape {
    fn parse(text: String) -> Self {
        let mut series = BTreeMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (key, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match key.split_once('{') {
                Some((name, rest)) => {
                    let rest = rest.strip_suffix('}').unwrap();
                    let labels = rest
                        .split("\",")
                        .filter(|kv| !kv.is_empty())
                        .map(|kv| {
                            let (k, v) = kv.split_once("=\"").unwrap();
                            (k.to_owned(), v.trim_end_matches('"').to_owned())
                        })
                        .collect();
                    (name.to_owned(), labels)
                }
                None => (key.to_owned(), BTreeMap::new()),
            };
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                v => v
                    .parse()
                    .unwrap_or_else(|_| panic!("bad value in {line:?}")),
            };
            let previous = series.insert((name, labels), value);
            assert!(previous.is_none(), "duplicate series {line:?}");
        }
        Self { text, series }
    }

    /// The value of `name{labels}`; 0 when the series is absent.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.series
            .get(&(name.to_owned(), labels))
            .copied()
            .unwrap_or(0.0)
    }

    /// Every series of `name`.
    fn all(&self, name: &str) -> Vec<(&BTreeMap<String, String>, f64)> {
        self.series
            .iter()
            .filter(|((n, _), _)| n == name)
            .map(|((_, l), v)| (l, *v))
            .collect()
    }
}

fn scrape(at: SocketAddr) -> Scrape {
    let r = request(at, "GET", "/metrics", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    Scrape::parse(r.text())
}

/// `cfg` with metrics on a free loopback port; returns the port's address.
fn with_metrics(cfg: &mut HostConfig) -> SocketAddr {
    let at: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    cfg.args
        .extend(["--metrics-listen".to_owned(), at.to_string()]);
    at
}

/// The repo's spin.toml with wxmp mounted at `/wechat/...`, so other paths
/// match no trigger at all.
fn mounted_manifest(dir: &TempDir) -> std::path::PathBuf {
    let path = manifest_with_outbound(dir, &["{{ api_base }}"]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("route = \"/...\""), "{text}");
    std::fs::write(
        &path,
        text.replace("route = \"/...\"", "route = \"/wechat/...\""),
    )
    .unwrap();
    path
}

/// Ports this process listens on (from its socket inodes and /proc/net).
fn listening_ports(pid: u32) -> BTreeSet<u16> {
    let inodes: BTreeSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let mut ports = BTreeSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address, …, st (0A = LISTEN), …, inode
            if f.len() > 9 && f[3] == "0A" && inodes.contains(f[9]) {
                let port = f[1].rsplit(':').next().unwrap();
                ports.insert(u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    ports
}

fn sim_host_port(sim: &SimHandle) -> String {
    sim.url.trim_start_matches("http://").to_owned()
}

#[test]
fn metrics_count_exactly_the_requests_made_by_route_and_status_class() {
    let sim = SimHandle::start();
    let dir = temp_dir("e2e-ops");
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    cfg.manifest = mounted_manifest(&dir);
    let metrics = with_metrics(&mut cfg);
    let host = Host::start_at("/wechat/healthz", cfg);
    // The start-up probes are counted too: measure from here.
    let before = scrape(metrics);
    let (n, m, u) = (7, 5, 3);
    for _ in 0..n {
        assert_eq!(host.get("/wechat/healthz").status, 200);
    }
    for _ in 0..m {
        assert_eq!(host.get("/wechat/no/such/route?x=1").status, 404);
    }
    for _ in 0..u {
        assert_eq!(host.get("/elsewhere").status, 404);
    }
    let after = scrape(metrics);
    let delta =
        |name: &str, labels: &[(&str, &str)]| after.get(name, labels) - before.get(name, labels);
    let requests = "wxmp_host_requests_total";
    assert_eq!(
        delta(requests, &[("route", "/wechat/..."), ("status", "2xx")]),
        n as f64
    );
    assert_eq!(
        delta(requests, &[("route", "/wechat/..."), ("status", "4xx")]),
        m as f64
    );
    assert_eq!(
        delta(requests, &[("route", "unmatched"), ("status", "4xx")]),
        u as f64
    );
    // Every other series stayed where it was; no raw path became a label.
    for (labels, value) in after.all(requests) {
        let l: Vec<(&str, &str)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let expected = match (labels["route"].as_str(), labels["status"].as_str()) {
            ("/wechat/...", "2xx") => n,
            ("/wechat/...", "4xx") => m,
            ("unmatched", "4xx") => u,
            _ => 0,
        } as f64;
        assert_eq!(value - before.get(requests, &l), expected, "{labels:?}");
        assert!(
            ["/wechat/...", "unmatched"].contains(&labels["route"].as_str()),
            "{labels:?}"
        );
    }
    assert_eq!(
        after.all(requests).len(),
        2 * 5,
        "two routes × five classes"
    );
    let latency = "wxmp_host_request_duration_seconds_count";
    assert_eq!(delta(latency, &[("route", "/wechat/...")]), (n + m) as f64);
    assert_eq!(delta(latency, &[("route", "unmatched")]), u as f64);
    assert_eq!(
        delta(
            "wxmp_host_request_duration_seconds_bucket",
            &[("route", "/wechat/..."), ("le", "+Inf")]
        ),
        (n + m) as f64
    );
    // An instance per request the component served, none for the others.
    for timing in ["instantiate", "handle", "release"] {
        let name = format!("wxmp_host_{timing}_duration_seconds_count");
        assert_eq!(delta(&name, &[]), (n + m) as f64, "{timing}");
    }
    assert_eq!(after.get("wxmp_host_instances_max", &[]), 1000.0);
    assert_eq!(after.get("wxmp_host_connections_max", &[]), 8192.0);
    assert_eq!(after.get("wxmp_host_instances_exhausted_total", &[]), 0.0);
    assert!(!after.text.contains("no/such"), "{}", after.text);
    // The store was used (sessions, caches): timed by operation and backend.
    let kv = after.all("wxmp_host_kv_duration_seconds_count");
    assert!(!kv.is_empty(), "{}", after.text);
    assert!(kv.iter().all(|(l, _)| l["backend"] == "memory"), "{kv:?}");
    // Only GET /metrics is served there.
    for (method, path) in [("GET", "/"), ("GET", "/healthz"), ("POST", "/metrics")] {
        assert_eq!(
            request(metrics, method, path, &[], b"").status,
            404,
            "{method} {path}"
        );
    }
    // The shutdown line is still there.
    let out = host.stop();
    assert!(out.contains(" instances; instantiate p50 "), "{out}");
}

#[test]
fn outbound_calls_are_counted_by_host_status_and_errcode() {
    let sim = SimHandle::start();
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    let metrics = with_metrics(&mut cfg);
    let host = Host::start(cfg);
    let upstream = sim_host_port(&sim);
    let outbound = "wxmp_host_outbound_requests_total";

    assert_eq!(host.admin_token().status, 200);
    assert_eq!(sim.calls("/cgi-bin/stable_token"), 1);
    let s = scrape(metrics);
    assert_eq!(s.all(outbound).len(), 1, "{}", s.text);
    assert_eq!(
        s.get(
            outbound,
            &[("host", &upstream), ("status", "200"), ("errcode", "0")]
        ),
        1.0
    );
    assert_eq!(
        s.get(
            "wxmp_host_outbound_duration_seconds_count",
            &[("host", &upstream)]
        ),
        1.0
    );

    // WeChat rejects the token once on getticket: 40001, counted as such.
    sim.reject_token_once("/cgi-bin/ticket/getticket");
    let r = host.get(&format!(
        "/jssdk/config?url={}",
        enc("https://m.example.com/")
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    let s = scrape(metrics);
    let calls: u64 = sim.sim.all_calls().values().sum();
    assert_eq!(
        s.get(
            outbound,
            &[("host", &upstream), ("status", "200"), ("errcode", "40001")]
        ),
        1.0,
        "{}",
        s.text
    );
    assert_eq!(
        s.get(
            outbound,
            &[("host", &upstream), ("status", "200"), ("errcode", "0")]
        ),
        (calls - 1) as f64,
        "{}",
        s.text
    );
    assert_eq!(s.all(outbound).len(), 2, "{}", s.text);
    assert_eq!(
        s.get(
            "wxmp_host_outbound_duration_seconds_count",
            &[("host", &upstream)]
        ),
        calls as f64
    );
}

#[test]
fn a_full_pool_shows_in_the_gauge_and_the_exhausted_counter() {
    let sim = SimHandle::start();
    let dir = temp_dir("e2e-ops-stuck");
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    cfg.manifest = stuck_manifest(&dir);
    cfg.args = ["--max-instances", "2", "--request-timeout", "2"]
        .map(str::to_owned)
        .to_vec();
    let metrics = with_metrics(&mut cfg);
    let host = Host::start_at("/ok", cfg);
    let before = scrape(metrics);
    assert_eq!(before.get("wxmp_host_instances_in_use", &[]), 0.0);
    assert_eq!(before.get("wxmp_host_instances_max", &[]), 2.0);
    // Two guests answer, then spin until their deadline: both slots taken.
    let late: Vec<_> = (0..2)
        .map(|_| {
            let addr = host.addr;
            std::thread::spawn(move || request(addr, "GET", "/late", &[], b"").status)
        })
        .collect();
    for l in late {
        assert_eq!(l.join().unwrap(), 200);
    }
    let full = scrape(metrics);
    assert_eq!(
        full.get("wxmp_host_instances_in_use", &[]),
        2.0,
        "{}",
        full.text
    );
    let busy = host.get("/ok");
    assert_eq!(busy.status, 503);
    let exhausted = scrape(metrics).get("wxmp_host_instances_exhausted_total", &[]);
    assert_eq!(exhausted, 1.0);
    // Freed at the deadline.
    let freed = eventually(Duration::from_secs(10), "the instances to be ended", || {
        let s = scrape(metrics);
        (s.get("wxmp_host_instances_in_use", &[]) == 0.0).then_some(s)
    });
    let route = [("route", "/..."), ("status", "5xx")];
    assert_eq!(
        freed.get("wxmp_host_requests_total", &route)
            - before.get("wxmp_host_requests_total", &route),
        1.0,
        "the 503 (the two /late answered 200)"
    );
}

#[test]
fn without_metrics_listen_nothing_else_listens() {
    let sim = SimHandle::start();
    let host = Host::start(HostConfig::new(&sim, Store::Memory));
    assert_eq!(
        listening_ports(host.pid()),
        BTreeSet::from([host.addr.port()])
    );
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    let metrics = with_metrics(&mut cfg);
    let with = Host::start(cfg);
    assert_eq!(
        listening_ports(with.pid()),
        BTreeSet::from([with.addr.port(), metrics.port()])
    );
    assert!(
        with.wait_log(&format!("  metrics: http://{metrics}/metrics")),
        "{}",
        with.log()
    );
}

/// Every line of `log`, parsed (panics on one that is not JSON).
fn json_lines(log: &str) -> Vec<serde_json::Value> {
    log.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}\n{log}")))
        .collect()
}

#[test]
fn json_logs_are_one_object_per_line_with_request_and_upstream_fields() {
    let sim = SimHandle::start();
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    cfg.args = ["--log-format", "json"].map(str::to_owned).to_vec();
    let host = Host::start(cfg);
    let r = host.admin_token();
    assert_eq!(r.status, 200);
    let id = r.header("x-request-id").unwrap().to_owned();
    assert!(host.wait_log(r#""path":"/api/token""#), "{}", host.log());
    let missing = host.get("/no/such/thing");
    assert_eq!(missing.status, 404);
    let out = host.stop();
    let lines = json_lines(&out);
    for l in &lines {
        assert!(
            l["ts"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z') && t.len() == 24),
            "{l}"
        );
        assert!(
            ["error", "warn", "info", "debug"].contains(&l["level"].as_str().unwrap()),
            "{l}"
        );
        assert!(
            ["host", "component"].contains(&l["source"].as_str().unwrap()),
            "{l}"
        );
        assert!(l["msg"].is_string(), "{l}");
    }
    assert!(
        lines.iter().any(|l| l["msg"]
            .as_str()
            .unwrap()
            .starts_with("serving wxmp on http://")),
        "the banner, as JSON: {out}"
    );
    let token_line = lines
        .iter()
        .find(|l| l["msg"] == "request" && l["path"] == "/api/token")
        .unwrap();
    assert_eq!(token_line["request_id"], id.as_str());
    assert_eq!(token_line["method"], "GET");
    assert_eq!(token_line["route"], "/...");
    assert_eq!(token_line["status"], 200);
    assert!(
        token_line["latency_ms"].as_f64().unwrap() > 0.0,
        "{token_line}"
    );
    let upstream = token_line["upstream"].as_array().unwrap();
    assert_eq!(upstream.len(), 1, "{token_line}");
    assert_eq!(upstream[0]["method"], "POST");
    assert_eq!(upstream[0]["host"], sim_host_port(&sim));
    assert_eq!(upstream[0]["path"], "/cgi-bin/stable_token");
    assert_eq!(upstream[0]["status"], 200);
    assert_eq!(upstream[0]["errcode"], 0);
    assert!(upstream[0]["latency_ms"].as_f64().unwrap() > 0.0);
    // The component's own line for that call, as JSON, with its request id.
    let component = lines
        .iter()
        .find(|l| l["source"] == "component" && l["request_id"] == id.as_str())
        .unwrap_or_else(|| panic!("no component line for {id}: {out}"));
    assert_eq!(component["component"], "wxmp");
    let msg = component["msg"].as_str().unwrap();
    assert!(
        msg.starts_with("upstream POST ")
            && msg.contains("/cgi-bin/stable_token status=200 errcode=0"),
        "{msg}"
    );
    let missing_line = lines
        .iter()
        .find(|l| l["msg"] == "request" && l["path"] == "/no/such/thing")
        .unwrap();
    assert_eq!(missing_line["status"], 404);
    assert_eq!(missing_line["upstream"], serde_json::json!([]));
    assert_eq!(
        missing_line["request_id"],
        missing.header("x-request-id").unwrap()
    );
    assert!(
        out.contains(r#""msg":"shutting down: finishing requests in flight""#),
        "{out}"
    );
}

#[test]
fn text_request_lines_keep_their_form_and_list_upstream_calls() {
    let sim = SimHandle::start();
    let host = Host::start(HostConfig::new(&sim, Store::Memory));
    let r = host.admin_token();
    let id = r.header("x-request-id").unwrap().to_owned();
    let line = eventually(Duration::from_secs(5), "the request line", || {
        host.log()
            .lines()
            .find(|l| l.starts_with("wxmp-host: GET /api/token 200 "))
            .map(str::to_owned)
    });
    assert!(line.contains(" route=/... "), "{line}");
    assert!(line.contains(&format!(" request_id={id} ")), "{line}");
    let call = format!(
        "upstream=\"POST {}/cgi-bin/stable_token 200 errcode=0 ",
        sim_host_port(&sim)
    );
    assert!(line.contains(&call), "{line}");
    // The component's own line is unchanged, straight from its stderr.
    assert!(
        host.wait_log(&format!("wxmp: request_id={id} upstream POST ")),
        "{}",
        host.log()
    );
}

#[test]
fn no_token_or_ticket_ever_reaches_metrics_or_logs() {
    let sim = SimHandle::start();
    for format in ["text", "json"] {
        let mut cfg = HostConfig::new(&sim, Store::Memory);
        cfg.args = vec!["--log-format".into(), format.into()];
        let metrics = with_metrics(&mut cfg);
        let host = Host::start(cfg);
        let token = host.admin_token().json()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = host.get(&format!(
            "/jssdk/config?url={}",
            enc("https://m.example.com/")
        ));
        assert_eq!(r.status, 200, "{}", r.text());
        let api = host.send(
            "GET",
            "/api/wechat/cgi-bin/getcallbackip",
            &[("authorization", &format!("Bearer {ADMIN_KEY}"))],
            b"",
        );
        assert_eq!(api.status, 200, "{}", api.text());
        let ticket = sim.sim.current_ticket(SimHandle::now_ms()).unwrap();
        let text = scrape(metrics).text;
        assert!(
            !text.contains("/cgi-bin"),
            "paths are never labels:\n{text}"
        );
        let log = host.stop();
        assert!(
            log.contains("/cgi-bin/getcallbackip"),
            "the gateway call is on its request line: {log}"
        );
        for secret in [
            token.as_str(),
            ticket.as_str(),
            "ACCESS_TOKEN_",
            "TICKET_",
            "access_token=",
            ADMIN_KEY,
        ] {
            assert!(
                !text.contains(secret),
                "{format}: {secret:?} in the metrics:\n{text}"
            );
            assert!(
                !log.contains(secret),
                "{format}: {secret:?} in the log:\n{log}"
            );
        }
    }
}
