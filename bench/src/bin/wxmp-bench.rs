//! `wxmp-bench [--seconds 10] [--connections 64] [--threads 2] [--burst 100]
//! [--stores memory,sqlite,redis] [--root DIR] [--out FILE] [--metrics]
//! [--host-arg ARG]…`: the whole benchmark in one run (see
//! docs/PERFORMANCE.md). `cargo xtask bench` builds everything and runs it.

use std::path::PathBuf;

use wxmp_bench::driver::{self, stores::Store, wrk::Shape, Options};

fn main() {
    let bins = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_default();
    let mut opts = Options {
        root: std::env::current_dir().unwrap_or_default(),
        work: PathBuf::new(),
        bins,
        shape: Shape {
            threads: 2,
            connections: 64,
            seconds: 10,
        },
        burst: 100,
        host_args: Vec::new(),
        metrics: false,
        stores: Store::ALL.to_vec(),
    };
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--metrics" {
            opts.metrics = true;
            continue;
        }
        let value = args.next().unwrap_or_default();
        let number = || value.parse::<u64>().ok().filter(|n| *n > 0);
        match (flag.as_str(), number()) {
            ("--seconds", Some(n)) => opts.shape.seconds = n,
            ("--connections", Some(n)) => opts.shape.connections = n as u32,
            ("--threads", Some(n)) => opts.shape.threads = n as u32,
            ("--burst", Some(n)) => opts.burst = n as usize,
            ("--root", _) if !value.is_empty() => opts.root = PathBuf::from(&value),
            ("--out", _) if !value.is_empty() => out = Some(PathBuf::from(&value)),
            ("--host-arg", _) if !value.is_empty() => opts.host_args.push(value),
            ("--stores", _) if Store::parse_list(&value).is_some() => {
                opts.stores = Store::parse_list(&value).unwrap_or_default();
            }
            _ => {
                eprintln!("usage: wxmp-bench [--seconds N] [--connections N] [--threads N] [--burst N] [--stores memory,sqlite,redis] [--root DIR] [--out FILE] [--metrics] [--host-arg ARG]…");
                std::process::exit(2);
            }
        }
    }
    opts.work = opts.root.join("target/bench");
    match driver::run(&opts) {
        Ok(report) => {
            let text = report.to_string();
            println!("{text}");
            let out = out.unwrap_or_else(|| opts.work.join("report.md"));
            if let Err(e) = std::fs::write(&out, &text) {
                eprintln!("wxmp-bench: {}: {e}", out.display());
            }
        }
        Err(e) => {
            eprintln!("wxmp-bench: {e}");
            std::process::exit(1);
        }
    }
}
