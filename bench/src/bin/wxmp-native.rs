//! `wxmp-native [--listen 127.0.0.1:3100]`: wxmp's core served natively,
//! configured like Spin (`SPIN_VARIABLE_<NAME>`), for the benchmark.

use std::net::SocketAddr;
use std::sync::Arc;

use wxmp::core::config::Config;
use wxmp_bench::native::{serve, Native};

#[tokio::main]
async fn main() {
    let mut listen: SocketAddr = "127.0.0.1:3100".parse().expect("static address");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().map(|a| a.parse())) {
            ("--listen", Some(Ok(addr))) => listen = addr,
            _ => {
                eprintln!("usage: wxmp-native [--listen ADDR]");
                std::process::exit(2);
            }
        }
    }
    let config = Config::load(|name| {
        std::env::var(format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase())).ok()
    });
    for problem in config.problems() {
        eprintln!("wxmp-native: config: {problem}");
    }
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("wxmp-native: cannot listen on {listen}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("wxmp-native: serving on http://{listen}");
    tokio::select! {
        r = serve(listener, Arc::new(Native::new(config))) => {
            if let Err(e) = r {
                eprintln!("wxmp-native: {e}");
                std::process::exit(1);
            }
        }
        _ = tokio::signal::ctrl_c() => {}
    }
}
