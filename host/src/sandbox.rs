//! `--sandbox`: wxmp-sim in-process on a loopback port, and every variable
//! wxmp needs filled with test values, so `wxmp-host up --sandbox` works on
//! a fresh clone with zero configuration. The demo page may call the
//! simulator's control API from the sandbox's own origins (its "reject the
//! token once" button), no other page may.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use wxmp_sim::server::{ServerOptions, SimServer};
use wxmp_sim::{Sim, SimConfig};

/// The admin key printed in the banner, for `GET /api/token`.
pub(crate) const ADMIN_KEY: &str = "sandbox-admin-key-0123456789";
/// The server Token WeChat would sign pushes with.
pub(crate) const SERVER_TOKEN: &str = "sandboxtoken";

/// The running simulator and the variables that point wxmp at it.
pub(crate) struct Sandbox {
    /// The simulator.
    pub(crate) server: SimServer,
    /// Variable overrides.
    pub(crate) overrides: HashMap<String, String>,
}

/// Starts the simulator and prepares variables for serving on `listen`.
pub(crate) async fn start(listen: SocketAddr) -> Result<Sandbox> {
    let sim = Arc::new(Sim::new(SimConfig::default()));
    let options = ServerOptions {
        allowed_origins: origins(listen),
    };
    let server = wxmp_sim::server::start_with(
        "127.0.0.1:0".parse().expect("static address"),
        sim.clone(),
        options,
    )
    .await
    .context("starting the sandbox WeChat simulator")?;
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("randomness: {e}"))?;
    let public_url = format!("http://{listen}");
    let c = sim.config();
    let overrides = HashMap::from([
        ("app_id".to_owned(), c.app_id.clone()),
        ("app_secret".to_owned(), c.app_secret.clone()),
        ("token".to_owned(), SERVER_TOKEN.to_owned()),
        ("public_url".to_owned(), public_url.clone()),
        ("allowed_origins".to_owned(), public_url),
        ("session_secret".to_owned(), hex::encode(secret)),
        ("admin_key".to_owned(), ADMIN_KEY.to_owned()),
        ("api_base".to_owned(), server.url()),
        ("api_fallback_base".to_owned(), server.url()),
        ("oauth_base".to_owned(), server.url()),
        ("demo".to_owned(), "true".to_owned()),
        (
            "jssdk_script_url".to_owned(),
            format!("{}/open/js/jweixin-1.6.0.js", server.url()),
        ),
    ]);
    Ok(Sandbox { server, overrides })
}

/// The origins a browser on this machine sees the sandbox at: the listening
/// address, and `localhost` (and `127.0.0.1` when listening on every address).
fn origins(listen: SocketAddr) -> Vec<String> {
    let port = listen.port();
    let mut origins = vec![format!("http://{listen}")];
    let ip = listen.ip();
    if ip.is_unspecified() {
        origins.push(format!("http://127.0.0.1:{port}"));
    }
    if ip.is_loopback() || ip.is_unspecified() {
        origins.push(format!("http://localhost:{port}"));
    }
    origins
}

#[cfg(test)]
mod tests {
    use super::origins;

    #[test]
    fn the_simulator_trusts_the_sandbox_s_own_origins_only() {
        assert_eq!(
            origins("127.0.0.1:3000".parse().unwrap()),
            ["http://127.0.0.1:3000", "http://localhost:3000"]
        );
        assert_eq!(
            origins("[::1]:3000".parse().unwrap()),
            ["http://[::1]:3000", "http://localhost:3000"]
        );
        assert_eq!(
            origins("0.0.0.0:8080".parse().unwrap()),
            [
                "http://0.0.0.0:8080",
                "http://127.0.0.1:8080",
                "http://localhost:8080"
            ]
        );
        assert_eq!(
            origins("192.0.2.7:3000".parse().unwrap()),
            ["http://192.0.2.7:3000"]
        );
    }
}
