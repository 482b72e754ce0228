//! The Node peer (`bench/node-peer`: the `wechat-jssdk` package behind
//! Express), started against the same simulator and loaded like wxmp-host,
//! so "≥ 3× the Node peer" compares two numbers from one run on one machine
//! instead of a figure measured elsewhere.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The routes the peer serves, as indices into [`super::ROUTES`]:
/// `/jssdk/config` and `/wx` (wechat-jssdk has no session API to compare
/// `/api/me` with).
pub const ROUTES: [usize; 2] = [0, 1];

/// Where the peer lives, if it can run here: `node` on the PATH and its
/// packages installed (`npm ci` in `bench/node-peer`, which `cargo xtask
/// bench` does). `Err` says why it is skipped.
pub fn installed(root: &Path) -> Result<PathBuf, String> {
    let dir = root.join("bench/node-peer");
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Err("`node` is not installed".into());
    }
    if !dir.join("node_modules/wechat-jssdk").is_dir() {
        return Err(format!(
            "its packages are not installed (`npm ci` in {})",
            dir.display()
        ));
    }
    Ok(dir)
}

/// `node server.js` listening on `addr`, using WeChat at `api` with these
/// credentials, keeping its token and signatures in `store_file` (removed
/// first, so the cold burst finds nothing cached).
pub fn command(
    dir: &Path,
    addr: SocketAddr,
    api: &str,
    app: (&str, &str),
    server_token: &str,
    store_file: &Path,
) -> Command {
    let _ = std::fs::remove_file(store_file);
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("server.js"))
        .env("PEER_LISTEN", addr.to_string())
        .env("WECHAT_API", api)
        .env("APP_ID", app.0)
        .env("APP_SECRET", app.1)
        .env("SERVER_TOKEN", server_token)
        .env("STORE_FILE", store_file)
        .env("NODE_ENV", "production");
    cmd
}
