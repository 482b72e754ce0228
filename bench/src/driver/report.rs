//! The benchmark's table and its targets (docs/PERFORMANCE.md, issues #9
//! and #19). Targets are reported, not asserted: a benchmark informs, the
//! tests decide.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use super::stores::Store;
use super::wrk::{Load, Shape};
use super::ROUTES;

/// One server's numbers.
#[derive(Clone, Debug)]
pub struct Measured {
    /// Warm loads, in `ROUTES` order.
    pub loads: Vec<Load>,
    /// Highest resident memory sampled under load, KiB.
    pub peak_rss_kib: u64,
    /// Resident memory after the loads, KiB.
    pub idle_rss_kib: u64,
    /// The cold burst's statuses.
    pub burst: BTreeMap<u16, usize>,
    /// Access-token fetches the burst caused.
    pub token_fetches: u64,
    /// jsapi_ticket fetches the burst caused.
    pub ticket_fetches: u64,
    /// wxmp-host's own timing line (instantiate / handle).
    pub timings: Option<String>,
    /// `/metrics` scrapes during the loads, when metrics were on.
    pub scrapes: Option<super::Scrapes>,
}

/// wxmp-host serving a component that does nothing (`bench/floor`).
#[derive(Clone, Debug)]
pub struct Floor {
    /// `GET /`, warm.
    pub load: Load,
    /// wxmp-host's timing line for it.
    pub timings: Option<String>,
}

/// wxmp-host serving the component on one store.
#[derive(Clone, Debug)]
pub struct HostRun {
    /// The key-value store (runtime config `default`).
    pub store: Store,
    /// What it measured.
    pub measured: Measured,
}

/// Everything one run measured.
#[derive(Clone, Debug)]
pub struct Report {
    /// The load.
    pub shape: Shape,
    /// wxmp-host serving the component, once per store.
    pub hosts: Vec<HostRun>,
    /// The native reference.
    pub native: Measured,
    /// The Node peer (`/jssdk/config` and `/wx` only, in
    /// [`super::peer::ROUTES`] order), or why it was not run.
    pub peer: Result<Measured, String>,
    /// The no-op component through wxmp-host, for scale.
    pub floor: Floor,
    /// The release component's size.
    pub component_bytes: u64,
    /// Clients in the cold burst.
    pub burst: usize,
    /// Extra wxmp-host arguments of this run (`--host-arg`, `--metrics`).
    pub host_args: Vec<String>,
}

/// A target and whether this run met it.
pub struct Check {
    /// What was aimed for.
    pub target: String,
    /// What was measured.
    pub measured: String,
    /// Met?
    pub met: bool,
}

/// Key-value operations and their latency for one backend, from
/// wxmp-host's timing line (`key-value sqlite 0.67 ops/request (get 9,
/// set 2), p50 3.1 µs, p99 9.0 µs, mean 3.4 µs`).
#[derive(Clone, Debug, PartialEq)]
pub struct KvLine {
    /// Operations per request, over every request the host served.
    pub per_request: f64,
    /// The operations by kind, as printed (`get 9, set 2`).
    pub ops: String,
    /// Median latency, µs.
    pub p50_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
    /// Mean, µs.
    pub mean_us: f64,
}

impl KvLine {
    /// `backend`'s part of `timings`, if it made any operation.
    pub fn parse(timings: &str, backend: &str) -> Option<Self> {
        let part = timings.split(&format!("key-value {backend} ")).nth(1)?;
        let part = part.split("; ").next()?;
        let (per_request, rest) = part.split_once(" ops/request (")?;
        let (ops, rest) = rest.split_once("), ")?;
        let after = |label: &str| -> Option<f64> {
            rest.split(label)
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        };
        Some(Self {
            per_request: per_request.parse().ok()?,
            ops: ops.to_owned(),
            p50_us: after("p50 ")?,
            p99_us: after("p99 ")?,
            mean_us: after("mean ")?,
        })
    }
}

/// `a` as a share of `b`.
fn share(a: f64, b: f64) -> f64 {
    a / b.max(f64::MIN_POSITIVE)
}

impl Report {
    /// The run on `store`, if it was measured.
    pub fn host(&self, store: Store) -> Option<&Measured> {
        self.hosts
            .iter()
            .find(|h| h.store == store)
            .map(|h| &h.measured)
    }

    /// Every performance target against this run.
    pub fn checks(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        let mut check = |target: String, measured: String, met: bool| {
            checks.push(Check {
                target,
                measured,
                met,
            })
        };
        let memory = self.host(Store::Memory);
        for (i, route) in ROUTES.iter().enumerate() {
            let native = &self.native.loads[i];
            let Some(m) = memory.map(|m| &m.loads[i]) else {
                break;
            };
            if *route == "GET /api/me" {
                continue;
            }
            check(
                format!("{route} in-memory ≥ 20,000 req/s"),
                format!("{:.0} req/s", m.rps),
                m.rps >= 20_000.0,
            );
            let target = format!("{route} in-memory ≥ 3× the Node peer");
            match self.peer_load(i) {
                Ok(p) => check(
                    target,
                    format!(
                        "{:.1}× ({:.0} vs {:.0} req/s)",
                        share(m.rps, p.rps),
                        m.rps,
                        p.rps
                    ),
                    m.rps >= 3.0 * p.rps,
                ),
                Err(why) => check(target, format!("not measured: {why}"), false),
            }
            let ratio = share(m.rps, native.rps);
            check(
                format!("{route} in-memory ≥ 25 % of native (aim 50 %)"),
                format!("{:.0} %", ratio * 100.0),
                ratio >= 0.25,
            );
        }
        for (i, route) in ROUTES.iter().enumerate() {
            let Some(m) = memory.map(|m| &m.loads[i]) else {
                break;
            };
            if let Some(s) = self.host(Store::Sqlite).map(|s| &s.loads[i]) {
                let (rps, p99) = (share(s.rps, m.rps), share(s.p99_ms, m.p99_ms));
                check(
                    format!("{route} SQLite ≥ 80 % of in-memory req/s"),
                    format!("{:.0} % ({:.0} vs {:.0})", rps * 100.0, s.rps, m.rps),
                    rps >= 0.8,
                );
                check(
                    format!("{route} SQLite p99 ≤ 1.25× in-memory p99"),
                    format!("{p99:.2}× ({:.2} vs {:.2} ms)", s.p99_ms, m.p99_ms),
                    p99 <= 1.25,
                );
            }
            if let Some(r) = self.host(Store::Redis).map(|r| &r.loads[i]) {
                let rps = share(r.rps, m.rps);
                check(
                    format!("{route} Redis ≥ 70 % of in-memory req/s"),
                    format!("{:.0} % ({:.0} vs {:.0})", rps * 100.0, r.rps, m.rps),
                    rps >= 0.7,
                );
            }
        }
        let floor = self.floor.load.p99_ms;
        for h in &self.hosts {
            for (route, load) in ROUTES.iter().zip(&h.measured.loads) {
                let ratio = share(load.p99_ms, floor);
                check(
                    format!(
                        "{route} {} p99 ≤ 1.25× the floor's ({floor:.2} ms)",
                        h.store.name()
                    ),
                    format!("{ratio:.2}× ({:.2} ms)", load.p99_ms),
                    ratio <= 1.25,
                );
            }
        }
        if let Some(p50) = self.instantiate_p50_us() {
            check(
                "per-request instantiation ≤ 20 µs (p50)".into(),
                format!("{p50:.1} µs"),
                p50 <= 20.0,
            );
        }
        check(
            "component ≤ 1 MiB".into(),
            format!("{} bytes", self.component_bytes),
            self.component_bytes <= 1 << 20,
        );
        for h in &self.hosts {
            let m = &h.measured;
            check(
                format!("wxmp-host ({}) RSS ≤ 150 MiB under load", h.store.name()),
                format!("{:.1} MiB", m.peak_rss_kib as f64 / 1024.0),
                m.peak_rss_kib <= 150 * 1024,
            );
            let ok = m.burst.get(&200) == Some(&self.burst);
            check(
                format!(
                    "cold burst of {} on {} → 1 token + 1 ticket fetch, all 200",
                    self.burst,
                    h.store.name()
                ),
                format!(
                    "{} + {}, {}",
                    m.token_fetches,
                    m.ticket_fetches,
                    statuses(&m.burst)
                ),
                ok && m.token_fetches == 1 && m.ticket_fetches == 1,
            );
        }
        checks
    }

    /// The Node peer's load of `ROUTES[i]`, or why there is none.
    pub fn peer_load(&self, i: usize) -> Result<&Load, String> {
        let peer = self.peer.as_ref().map_err(Clone::clone)?;
        super::peer::ROUTES
            .iter()
            .position(|r| *r == i)
            .and_then(|at| peer.loads.get(at))
            .ok_or_else(|| "the peer does not serve this route".into())
    }

    /// wxmp-host's median instantiation time (in-memory, else the first
    /// store's), from its timing line.
    pub fn instantiate_p50_us(&self) -> Option<f64> {
        let m = self
            .host(Store::Memory)
            .or_else(|| self.hosts.first().map(|h| &h.measured))?;
        let line = m.timings.as_deref()?;
        let after = line.split("instantiate p50 ").nth(1)?;
        after.split_whitespace().next()?.parse().ok()
    }
}

fn statuses(counts: &BTreeMap<u16, usize>) -> String {
    counts
        .iter()
        .map(|(s, n)| {
            format!(
                "{n}×{}",
                if *s == 0 {
                    "failed".into()
                } else {
                    s.to_string()
                }
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A ratio for the table, or `–` when there is nothing to compare with.
fn times(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "–".into(), |r| format!("{r:.2}×"))
}

/// A table row for `load` of `route` (served as `served`: "who | which
/// store"), with its ratios to the in-memory row, the floor and native.
#[allow(clippy::too_many_arguments)]
fn compared_row(
    f: &mut fmt::Formatter<'_>,
    route: &str,
    served: &str,
    load: &Load,
    cpu: &str,
    in_memory: Option<&Load>,
    floor_p99_ms: f64,
    native: &Load,
) -> fmt::Result {
    writeln!(
        f,
        "| `{route}` | {served} | {:.0} | {:.2} | {:.2} | {cpu} | {} | {} | {:.2}× | {:.0} % |",
        load.rps,
        load.p50_ms,
        load.p99_ms,
        in_memory.map_or_else(
            || "–".into(),
            |b| format!("{:.0} %", share(load.rps, b.rps) * 100.0)
        ),
        times(in_memory.map(|b| share(load.p99_ms, b.p99_ms))),
        share(load.p99_ms, floor_p99_ms),
        share(load.rps, native.rps) * 100.0
    )
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let machine = super::machine();
        writeln!(
            f,
            "wxmp benchmark: {} ({} cores, Linux {}); wrk -t{} -c{} -d{}s on the same cores, loopback",
            machine["cpu"],
            machine["cores"],
            machine["kernel"],
            self.shape.threads,
            self.shape.connections,
            self.shape.seconds
        )?;
        if !self.host_args.is_empty() {
            writeln!(f, "wxmp-host run with: {}", self.host_args.join(" "))?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "| route | served by | key-value store | req/s | p50 ms | p99 ms | CPU µs/req | req/s vs in-memory | p99 vs in-memory | p99 vs floor | of native |"
        )?;
        writeln!(f, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        let floor = self.floor.load.p99_ms;
        let memory = self.host(Store::Memory);
        for (i, route) in ROUTES.iter().enumerate() {
            let native = &self.native.loads[i];
            let base = memory.map(|m| &m.loads[i]);
            for h in &self.hosts {
                let l = &h.measured.loads[i];
                let cpu = match l.store_cpu_us {
                    Some(store) => format!("{:.1} + {store:.1} ({})", l.cpu_us, h.store.name()),
                    None => format!("{:.1}", l.cpu_us),
                };
                let served = format!("wxmp-host | {}", h.store.name());
                compared_row(f, route, &served, l, &cpu, base, floor, native)?;
            }
            writeln!(
                f,
                "| `{route}` | native reference | in-memory (in process) | {:.0} | {:.2} | {:.2} | {:.1} | – | – | {:.2}× | 100 % |",
                native.rps,
                native.p50_ms,
                native.p99_ms,
                native.cpu_us,
                share(native.p99_ms, floor)
            )?;
            if let Ok(p) = self.peer_load(i) {
                let served = "Node peer (wechat-jssdk, Express) | its own, in process";
                let cpu = format!("{:.1}", p.cpu_us);
                compared_row(f, route, served, p, &cpu, base, floor, native)?;
            }
        }
        if let Err(why) = &self.peer {
            writeln!(f, "Node peer not run: {why}")?;
        }
        writeln!(
            f,
            "floor, a Spin component that does nothing, through wxmp-host (`GET /`, no store): {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {:.1} µs CPU/req",
            self.floor.load.rps, self.floor.load.p50_ms, self.floor.load.p99_ms, self.floor.load.cpu_us
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "key-value operations through wxmp-host, over every request of each run (cold burst, login, the three loads; warm, `/jssdk/config` and `/api/me` make one `get` each and `/wx` none, tests/kv_calls.rs):"
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "| store | ops/request | p50 µs | p99 µs | mean µs | operations |"
        )?;
        writeln!(f, "|---|---:|---:|---:|---:|---|")?;
        for h in &self.hosts {
            let kv = h
                .measured
                .timings
                .as_deref()
                .and_then(|t| KvLine::parse(t, h.store.backend()));
            match kv {
                Some(kv) => writeln!(
                    f,
                    "| {} | {:.2} | {:.1} | {:.1} | {:.1} | {} |",
                    h.store.name(),
                    kv.per_request,
                    kv.p50_us,
                    kv.p99_us,
                    kv.mean_us,
                    kv.ops
                )?,
                None => writeln!(
                    f,
                    "| {} | – | – | – | – | not in the timing line |",
                    h.store.name()
                )?,
            }
        }
        writeln!(f)?;
        for h in &self.hosts {
            if let Some(t) = &h.measured.timings {
                writeln!(f, "wxmp-host ({}) per request: {t}", h.store.name())?;
            }
        }
        if let Some(t) = &self.floor.timings {
            writeln!(f, "floor per request: {t}")?;
        }
        for h in &self.hosts {
            if let Some(s) = &h.measured.scrapes {
                writeln!(
                    f,
                    "metrics ({}): {} scrapes of wxmp-host during the loads, {:.2} ms each on average, {} bytes",
                    h.store.name(),
                    s.count,
                    s.total_ms / s.count.max(1) as f64,
                    s.bytes
                )?;
            }
        }
        for h in &self.hosts {
            writeln!(
                f,
                "resident memory under load: wxmp-host ({}) {:.1} MiB (after: {:.1})",
                h.store.name(),
                h.measured.peak_rss_kib as f64 / 1024.0,
                h.measured.idle_rss_kib as f64 / 1024.0,
            )?;
        }
        writeln!(
            f,
            "resident memory under load: native {:.1} MiB",
            self.native.peak_rss_kib as f64 / 1024.0
        )?;
        if let Ok(p) = &self.peer {
            writeln!(
                f,
                "resident memory under load: Node peer {:.1} MiB",
                p.peak_rss_kib as f64 / 1024.0
            )?;
        }
        writeln!(
            f,
            "component: {} bytes ({:.0} KiB)",
            self.component_bytes,
            self.component_bytes as f64 / 1024.0
        )?;
        let runs = self
            .hosts
            .iter()
            .map(|h| (format!("wxmp-host ({})", h.store.name()), &h.measured))
            .chain([("native".to_owned(), &self.native)])
            .chain(
                self.peer
                    .as_ref()
                    .ok()
                    .map(|p| ("the Node peer".to_owned(), p)),
            );
        for (name, m) in runs {
            writeln!(
                f,
                "cold burst of {} on {name}: {} token + {} ticket fetches; {}",
                self.burst,
                m.token_fetches,
                m.ticket_fetches,
                statuses(&m.burst)
            )?;
        }
        writeln!(f)?;
        let mut lines = String::new();
        for c in self.checks() {
            let _ = writeln!(
                lines,
                "  [{}] {}: {}",
                if c.met { "met" } else { "MISSED" },
                c.target,
                c.measured
            );
        }
        write!(f, "targets:\n{lines}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(rps: &[f64]) -> Measured {
        Measured {
            loads: rps
                .iter()
                .map(|rps| Load {
                    rps: *rps,
                    p50_ms: 5.0,
                    p99_ms: 10.0,
                    requests: 1000,
                    ..Load::default()
                })
                .collect(),
            peak_rss_kib: 1024,
            idle_rss_kib: 1024,
            burst: BTreeMap::from([(200, 100)]),
            token_fetches: 1,
            ticket_fetches: 1,
            timings: None,
            scrapes: None,
        }
    }

    fn report(peer: Result<Measured, String>) -> Report {
        Report {
            shape: Shape {
                threads: 2,
                connections: 64,
                seconds: 4,
            },
            hosts: vec![HostRun {
                store: Store::Memory,
                measured: measured(&[9000.0, 10000.0, 7000.0]),
            }],
            native: measured(&[30000.0, 40000.0, 35000.0]),
            peer,
            floor: Floor {
                load: measured(&[20000.0]).loads.remove(0),
                timings: None,
            },
            component_bytes: 1000,
            burst: 100,
            host_args: Vec::new(),
        }
    }

    fn node_checks(report: &Report) -> Vec<(String, String, bool)> {
        report
            .checks()
            .into_iter()
            .filter(|c| c.target.contains("Node peer"))
            .map(|c| (c.target, c.measured, c.met))
            .collect()
    }

    #[test]
    fn the_node_target_divides_by_the_peer_measured_in_the_same_run() {
        let with_peer = report(Ok(measured(&[3000.0, 3500.0])));
        assert_eq!(
            node_checks(&with_peer),
            [
                (
                    "GET /jssdk/config in-memory ≥ 3× the Node peer".to_owned(),
                    "3.0× (9000 vs 3000 req/s)".to_owned(),
                    true
                ),
                (
                    "GET /wx in-memory ≥ 3× the Node peer".to_owned(),
                    "2.9× (10000 vs 3500 req/s)".to_owned(),
                    false
                ),
            ]
        );
        let text = with_peer.to_string();
        assert!(
            text.contains("| `GET /jssdk/config` | wxmp-host | in-memory | 9000 | 5.00 | 10.00 | 0.0 | 100 % | 1.00× | 1.00× | 30 % |"),
            "{text}"
        );
        assert!(
            text.contains(
                "| `GET /wx` | Node peer (wechat-jssdk, Express) | its own, in process | 3500 |"
            ),
            "{text}"
        );
        assert!(!text.contains("| `GET /api/me` | Node peer"), "{text}");
        assert!(
            text.contains("cold burst of 100 on the Node peer: 1 token + 1 ticket fetches"),
            "{text}"
        );

        let without = report(Err("`node` is not installed".into()));
        let checks = node_checks(&without);
        assert_eq!(checks.len(), 2);
        for (_, measured, met) in checks {
            assert_eq!(measured, "not measured: `node` is not installed");
            assert!(!met);
        }
        assert!(without
            .to_string()
            .contains("Node peer not run: `node` is not installed"));
    }

    #[test]
    fn reads_the_key_value_part_of_a_timing_line() {
        let line = "100 instances; instantiate p50 12.0 µs, p99 40.0 µs, mean 13.0 µs; handle p50 30.0 µs, p99 90.0 µs, mean 31.0 µs; release p50 5.0 µs, p99 9.0 µs, mean 5.5 µs; key-value sqlite 0.67 ops/request (get 60, set 7), p50 3.1 µs, p99 9.0 µs, mean 3.4 µs; per serving thread 50 / 50";
        let kv = KvLine::parse(line, "sqlite").unwrap();
        assert_eq!(
            kv,
            KvLine {
                per_request: 0.67,
                ops: "get 60, set 7".into(),
                p50_us: 3.1,
                p99_us: 9.0,
                mean_us: 3.4,
            }
        );
        assert_eq!(KvLine::parse(line, "redis"), None);
    }
}
