//! The benchmark's table and its targets (docs/PERFORMANCE.md). Targets are reported,
//! not asserted: a benchmark informs, the tests decide.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use super::wrk::{Load, Shape};

/// The Node `wechat-jssdk` peer measured on this machine (docs/PERFORMANCE.md), req/s.
pub const NODE_PEER_RPS: f64 = 6_100.0;

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

/// A route's warm numbers on both servers.
#[derive(Clone, Debug)]
pub struct RouteRow {
    /// `GET /wx`, …
    pub route: String,
    /// Through wxmp-host.
    pub wasm: Load,
    /// The native reference.
    pub native: Load,
}

impl RouteRow {
    /// Component throughput as a share of native.
    pub fn ratio(&self) -> f64 {
        self.wasm.rps / self.native.rps.max(1.0)
    }
}

/// Everything one run measured.
#[derive(Clone, Debug)]
pub struct Report {
    /// The load.
    pub shape: Shape,
    /// Warm routes.
    pub rows: Vec<RouteRow>,
    /// wxmp-host serving the component.
    pub host: Measured,
    /// The native reference.
    pub native: Measured,
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

impl Report {
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
        for row in self.rows.iter().filter(|r| r.route != "GET /api/me") {
            check(
                format!("{} through wxmp-host ≥ 20,000 req/s", row.route),
                format!("{:.0} req/s", row.wasm.rps),
                row.wasm.rps >= 20_000.0,
            );
            check(
                format!(
                    "{} ≥ 3× the Node peer ({NODE_PEER_RPS:.0} req/s)",
                    row.route
                ),
                format!("{:.1}×", row.wasm.rps / NODE_PEER_RPS),
                row.wasm.rps >= 3.0 * NODE_PEER_RPS,
            );
            check(
                format!("{} ≥ 25 % of native (aim 50 %)", row.route),
                format!("{:.0} %", row.ratio() * 100.0),
                row.ratio() >= 0.25,
            );
        }
        for row in &self.rows {
            check(
                format!(
                    "{} p99 ≤ 5 ms at {} connections",
                    row.route, self.shape.connections
                ),
                format!("{:.2} ms", row.wasm.p99_ms),
                row.wasm.p99_ms <= 5.0,
            );
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
        check(
            "wxmp-host RSS ≤ 150 MiB under load".into(),
            format!("{:.1} MiB", self.host.peak_rss_kib as f64 / 1024.0),
            self.host.peak_rss_kib <= 150 * 1024,
        );
        let ok = self.host.burst.get(&200) == Some(&self.burst);
        check(
            format!(
                "cold burst of {} → 1 token + 1 ticket fetch, all 200",
                self.burst
            ),
            format!(
                "{} + {}, {}",
                self.host.token_fetches,
                self.host.ticket_fetches,
                statuses(&self.host.burst)
            ),
            ok && self.host.token_fetches == 1 && self.host.ticket_fetches == 1,
        );
        checks
    }

    /// wxmp-host's median instantiation time, from its timing line.
    pub fn instantiate_p50_us(&self) -> Option<f64> {
        let line = self.host.timings.as_deref()?;
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
            "| route | wxmp-host req/s | p50 ms | p99 ms | CPU µs/req | native req/s | p50 ms | p99 ms | CPU µs/req | wasm/native |"
        )?;
        writeln!(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        for r in &self.rows {
            writeln!(
                f,
                "| `{}` | {:.0} | {:.2} | {:.2} | {:.1} | {:.0} | {:.2} | {:.2} | {:.1} | {:.0} % |",
                r.route,
                r.wasm.rps,
                r.wasm.p50_ms,
                r.wasm.p99_ms,
                r.wasm.cpu_us,
                r.native.rps,
                r.native.p50_ms,
                r.native.p99_ms,
                r.native.cpu_us,
                r.ratio() * 100.0
            )?;
        }
        writeln!(
            f,
            "floor, a Spin component that does nothing, through wxmp-host (`GET /`): {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {:.1} µs CPU/req",
            self.floor.load.rps, self.floor.load.p50_ms, self.floor.load.p99_ms, self.floor.load.cpu_us
        )?;
        writeln!(f)?;
        if let Some(t) = &self.host.timings {
            writeln!(f, "wxmp-host per request: {t}")?;
        }
        if let Some(t) = &self.floor.timings {
            writeln!(f, "floor per request: {t}")?;
        }
        if let Some(s) = &self.host.scrapes {
            writeln!(
                f,
                "metrics: {} scrapes of wxmp-host during the loads, {:.2} ms each on average, {} bytes",
                s.count,
                s.total_ms / s.count.max(1) as f64,
                s.bytes
            )?;
        }
        writeln!(
            f,
            "resident memory under load: wxmp-host {:.1} MiB (after: {:.1}), native {:.1} MiB",
            self.host.peak_rss_kib as f64 / 1024.0,
            self.host.idle_rss_kib as f64 / 1024.0,
            self.native.peak_rss_kib as f64 / 1024.0
        )?;
        writeln!(
            f,
            "component: {} bytes ({:.0} KiB)",
            self.component_bytes,
            self.component_bytes as f64 / 1024.0
        )?;
        for (name, m) in [("wxmp-host", &self.host), ("native", &self.native)] {
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
