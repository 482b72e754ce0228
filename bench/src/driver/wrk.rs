//! The load generator: wrk (Debian's package), fixed duration and
//! connections, its latency distribution parsed from the text it prints.

use std::process::Command;

/// What one wrk run measured.
#[derive(Clone, Debug, Default)]
pub struct Load {
    /// Requests per second.
    pub rps: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Requests completed.
    pub requests: u64,
    /// Answers outside 2xx/3xx, plus socket errors.
    pub failures: u64,
    /// The server's CPU time (user + system) per request, µs: steadier
    /// than req/s on a shared machine, where wrk and the neighbours take
    /// what they take.
    pub cpu_us: f64,
    /// The store's own server's CPU time per request, µs (Redis), when it
    /// runs in a process of its own.
    pub store_cpu_us: Option<f64>,
}

/// How to load.
#[derive(Clone, Debug)]
pub struct Shape {
    /// wrk threads.
    pub threads: u32,
    /// Open connections.
    pub connections: u32,
    /// Seconds per run.
    pub seconds: u64,
}

/// Loads `url` (with extra `headers`) and parses wrk's report.
pub fn run(shape: &Shape, url: &str, headers: &[(&str, &str)]) -> Result<Load, String> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "--latency",
        "-t",
        &shape.threads.to_string(),
        "-c",
        &shape.connections.to_string(),
        "-d",
        &format!("{}s", shape.seconds),
    ]);
    for (k, v) in headers {
        cmd.args(["-H", &format!("{k}: {v}")]);
    }
    cmd.arg(url);
    let out = cmd
        .output()
        .map_err(|e| format!("wrk: {e} (cargo xtask bench installs it with apt-get)"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "wrk failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    parse(&text).ok_or_else(|| format!("unreadable wrk report:\n{text}"))
}

/// Reads req/s, p50, p99, totals and failures from wrk's text.
pub fn parse(text: &str) -> Option<Load> {
    let mut load = Load::default();
    for line in text.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("Requests/sec:"), Some(v)) => load.rps = v.parse().ok()?,
            (Some("50%"), Some(v)) => load.p50_ms = millis(v)?,
            (Some("99%"), Some(v)) => load.p99_ms = millis(v)?,
            (Some(n), Some("requests")) => load.requests = n.parse().ok()?,
            (Some("Non-2xx"), _) => {
                load.failures += line.rsplit(' ').next()?.parse::<u64>().ok()?;
            }
            (Some("Socket"), Some("errors:")) => {
                load.failures += line
                    .split(',')
                    .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                    .sum::<u64>();
            }
            _ => {}
        }
    }
    (load.rps > 0.0).then_some(load)
}

/// `812.00us`, `2.41ms` or `1.02s` in milliseconds.
fn millis(v: &str) -> Option<f64> {
    let (number, factor) = if let Some(n) = v.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    Some(number.parse::<f64>().ok()? * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_wrk_report() {
        let text = "Running 5s test @ http://127.0.0.1:3900/wx\n  2 threads and 64 connections\n  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency    17.53ms    5.75ms  37.10ms   69.08%\n    Req/Sec     1.83k   197.83     3.27k    87.13%\n  Latency Distribution\n     50%  812.00us\n     75%   21.67ms\n     90%   24.51ms\n     99%    1.02s\n  18408 requests in 5.10s, 5.35MB read\n  Socket errors: connect 0, read 2, write 0, timeout 1\n  Non-2xx or 3xx responses: 7\nRequests/sec:   3609.18\nTransfer/sec:      1.05MB\n";
        let load = parse(text).unwrap();
        assert_eq!(load.rps, 3609.18);
        assert!((load.p50_ms - 0.812).abs() < 1e-9);
        assert_eq!(load.p99_ms, 1020.0);
        assert_eq!(load.requests, 18408);
        assert_eq!(load.failures, 10);
        assert!(parse("wrk: connection refused").is_none());
    }
}
