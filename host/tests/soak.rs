//! A soak: mixed traffic with random WeChat faults through wxmp-host for
//! `WXMP_SOAK_SECS` seconds (30 by default; `cargo xtask soak` runs 600).
//! Zero 500s, only expected statuses, flat memory, upstream calls far inside
//! WeChat's limits. The summary goes to target/soak-summary.txt.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use wxmp_sim::push::{self, Mode};
use wxmp_sim::Fault;

/// xorshift64*: deterministic per worker, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmRSS:")
                    .map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0))
            })
        })
        .unwrap_or(0)
}

#[test]
fn soak_mixed_traffic_with_random_faults() {
    let secs: u64 = std::env::var("WXMP_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    // Tokens that live 320 s enter WeChat's (and wxmp's) 5-minute refresh
    // window after 20 s, so the soak sees refreshes, and faults hit them.
    let sim = SimHandle::start_with(wxmp_sim::SimConfig {
        token_ttl_secs: 320,
        ..Default::default()
    });
    // Sessions and tokens live in Redis, so the host's RSS measures the host, not the data.
    let redis = Redis::start();
    let host = Host::start(HostConfig::new(&sim, Store::Redis(redis.url.clone())));
    let pid = host.pid();
    let stop = Arc::new(AtomicBool::new(false));
    let statuses: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let unexpected: Arc<Mutex<Vec<String>>> = Arc::default();
    let started = Instant::now();
    let warm_rss = Arc::new(Mutex::new(0u64));

    std::thread::scope(|s| {
        // Random faults on WeChat's side, a few per second.
        s.spawn(|| {
            let mut rng = Rng(0x5eed);
            let paths = [
                "/cgi-bin/stable_token",
                "/cgi-bin/ticket/getticket",
                "/sns/oauth2/access_token",
            ];
            while !stop.load(Ordering::Relaxed) {
                let fault = match rng.below(5) {
                    0 => Fault::Errcode {
                        errcode: -1,
                        errmsg: None,
                    },
                    1 => Fault::Errcode {
                        errcode: 40001,
                        errmsg: None,
                    },
                    2 => Fault::Status { status: 502 },
                    3 => Fault::Delay { ms: 300 },
                    _ => Fault::Drop,
                };
                sim.sim
                    .inject(paths[rng.below(3) as usize], fault, 1 + rng.below(2) as u32);
                std::thread::sleep(Duration::from_millis(400));
            }
        });
        s.spawn(|| {
            std::thread::sleep(Duration::from_secs((secs / 5).max(3)));
            *warm_rss.lock().unwrap() = rss_kib(pid);
        });
        for worker in 0..6u64 {
            let (host, sim, stop, statuses, unexpected) =
                (&host, &sim, &stop, &statuses, &unexpected);
            s.spawn(move || {
                let mut rng = Rng(0x9e37_79b9 ^ (worker + 1));
                let mut browser = Browser::new(host);
                let mut msg_id = worker * 1_000_000_000;
                while started.elapsed() < Duration::from_secs(secs) {
                    let (kind, status, allowed): (&str, u16, &[u16]) = match rng.below(10) {
                        0..=3 => {
                            let url = if rng.below(5) == 0 {
                                "https://evil.example/"
                            } else {
                                "https://m.example.com/p"
                            };
                            let r = host.get(&format!("/jssdk/config?url={}", enc(url)));
                            ("jssdk", r.status, &[200, 400, 502, 503, 504])
                        }
                        4 => {
                            let ts = rng.next().to_string();
                            let good = rng.below(2) == 0;
                            let sig = if good {
                                wxmp::core::verify::sorted_sha1(&[SERVER_TOKEN, &ts, "n"])
                            } else {
                                "0".repeat(40)
                            };
                            let r = host.get(&format!(
                                "/wx?signature={sig}&timestamp={ts}&nonce=n&echostr=e"
                            ));
                            ("verify", r.status, &[200, 403])
                        }
                        5 => {
                            msg_id += 1;
                            let now = SimHandle::now_ms() / 1000;
                            let xml = push::text_message(sim.sim.config(), 0, "soak", now, msg_id);
                            let mode = if rng.below(2) == 0 {
                                Mode::Plain
                            } else {
                                Mode::Safe
                            };
                            let p = push::build(
                                sim.sim.config(),
                                mode,
                                &xml,
                                now,
                                &format!("n{msg_id}"),
                                [1; 16],
                            );
                            let r = host.send(
                                "POST",
                                &format!("/wx?{}", p.query),
                                &[],
                                p.body.as_bytes(),
                            );
                            ("push", r.status, &[200])
                        }
                        6 => {
                            let start = browser.get("/oauth/login?return_to=%2F");
                            let back = browser.consent(&start.location(), "");
                            let r = browser.get(&back);
                            ("login", r.status, &[302])
                        }
                        7 | 8 => {
                            let r = browser.get("/api/me");
                            ("me", r.status, &[200, 401])
                        }
                        _ => {
                            let r = host.admin_token();
                            ("token", r.status, &[200, 502, 503, 504])
                        }
                    };
                    *statuses
                        .lock()
                        .unwrap()
                        .entry(format!("{kind} {status}"))
                        .or_default() += 1;
                    if !allowed.contains(&status) {
                        unexpected
                            .lock()
                            .unwrap()
                            .push(format!("{kind} answered {status}"));
                    }
                }
                let _ = stop;
            });
        }
        while started.elapsed() < Duration::from_secs(secs) {
            std::thread::sleep(Duration::from_millis(100));
        }
        stop.store(true, Ordering::Relaxed);
    });

    let end_rss = rss_kib(pid);
    let warm = *warm_rss.lock().unwrap();
    let statuses = statuses.lock().unwrap().clone();
    let total: u64 = statuses.values().sum();
    let elapsed = started.elapsed().as_secs_f64();
    let calls = sim.sim.all_calls();
    let per_min = |path: &str| calls.get(path).copied().unwrap_or(0) as f64 * 60.0 / elapsed;
    let summary = format!(
        "soak: {secs} s, {total} requests ({:.0}/s), statuses {statuses:?}\n\
         upstream calls {calls:?}\n\
         stable_token {:.1}/min, getticket {:.1}/min (WeChat allows 10,000/min)\n\
         host RSS {warm} KiB after warm-up → {end_rss} KiB at the end\n",
        total as f64 / elapsed,
        per_min("/cgi-bin/stable_token"),
        per_min("/cgi-bin/ticket/getticket"),
    );
    let _ = std::fs::write(repo().join("target/soak-summary.txt"), &summary);
    let _ = std::fs::write(repo().join("target/soak-host.log"), host.log());
    eprintln!("{summary}");
    let unexpected = unexpected.lock().unwrap();
    assert!(
        unexpected.is_empty(),
        "unexpected answers: {:?}\n{summary}",
        &unexpected[..unexpected.len().min(20)]
    );
    assert!(
        !statuses.keys().any(|k| k.ends_with(" 500")),
        "a 500 from our own code\n{summary}"
    );
    assert!(
        total > secs * 20,
        "too little traffic to mean anything\n{summary}"
    );
    assert!(
        end_rss <= warm + warm / 2 + 32 * 1024,
        "memory grew\n{summary}"
    );
    if secs >= 30 {
        assert!(
            calls.get("/cgi-bin/stable_token").copied().unwrap_or(0) >= 2,
            "no token refresh happened\n{summary}"
        );
    }
    assert!(
        per_min("/cgi-bin/stable_token") < 600.0 && per_min("/cgi-bin/ticket/getticket") < 600.0,
        "{summary}"
    );
}
