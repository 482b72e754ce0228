//! `wxmp-sim [--listen 127.0.0.1:8090]`: WeChat's API and OAuth consent on
//! loopback, for local development and for other apps' CI.

use std::net::SocketAddr;
use std::sync::Arc;

use wxmp_sim::{Sim, SimConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut listen: SocketAddr = "127.0.0.1:8090".parse().expect("static address");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--listen", Some(addr)) => match addr.parse() {
                Ok(a) => listen = a,
                Err(e) => fail(&format!("--listen {addr}: {e}")),
            },
            _ => fail("usage: wxmp-sim [--listen ADDR]"),
        }
    }
    let sim = Arc::new(Sim::new(SimConfig::default()));
    let server = match wxmp_sim::server::start(listen, sim.clone()).await {
        Ok(s) => s,
        Err(e) => fail(&format!("cannot listen on {listen}: {e}")),
    };
    let c = sim.config();
    println!("wxmp-sim: WeChat simulator on {}", server.url());
    println!(
        "  app_id={} app_secret={}  (test credentials)",
        c.app_id, c.app_secret
    );
    println!(
        "  control API: {}/__sim/calls, /__sim/fault, /__sim/reset",
        server.url()
    );
    let _ = tokio::signal::ctrl_c().await;
}

fn fail(message: &str) -> ! {
    eprintln!("wxmp-sim: {message}");
    std::process::exit(2);
}
