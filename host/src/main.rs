//! wxmp-host: runs a Spin manifest (wxmp's spin.toml) like `spin up`, on the
//! wasmtime crates, where the Spin CLI is not available.
//!
//! ```text
//! wxmp-host up [-f spin.toml] [--listen 127.0.0.1:3000]
//!              [--runtime-config-file runtime-config.toml] [--sandbox] [--log info]
//! ```

mod app;
mod bindings;
mod kv;
mod log;
mod manifest;
mod outbound;
mod runtime_config;
mod sandbox;
mod server;
mod state;
mod variables;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};

use crate::log::{Level, Log};
use crate::runtime_config::StoreSpec;

const USAGE: &str = "usage: wxmp-host up [-f spin.toml] [--listen 127.0.0.1:3000] [--runtime-config-file FILE] [--sandbox] [--log error|warn|info|debug]";

struct Options {
    manifest: PathBuf,
    listen: SocketAddr,
    runtime_config: Option<PathBuf>,
    sandbox: bool,
    level: Level,
}

fn parse_args(args: Vec<String>) -> Result<Options> {
    let mut it = args.into_iter();
    if it.next().as_deref() != Some("up") {
        bail!("{USAGE}");
    }
    let mut o = Options {
        manifest: "spin.toml".into(),
        listen: "127.0.0.1:3000".parse()?,
        runtime_config: None,
        sandbox: false,
        level: Level::Info,
    };
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .with_context(|| format!("{name} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "-f" | "--from" | "--file" => o.manifest = value(&arg)?.into(),
            "--listen" => o.listen = value(&arg)?.parse().context("--listen takes ADDR:PORT")?,
            "--runtime-config-file" => o.runtime_config = Some(value(&arg)?.into()),
            "--sandbox" => o.sandbox = true,
            "--log" => {
                o.level = Level::parse(&value(&arg)?)
                    .with_context(|| format!("--log takes error, warn, info or debug\n{USAGE}"))?
            }
            "-h" | "--help" => bail!("{USAGE}"),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(o)
}

fn main() {
    let options = match parse_args(std::env::args().skip(1).collect()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("wxmp-host: {e:#}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = runtime.block_on(up(options)) {
        eprintln!("wxmp-host: {e:#}");
        std::process::exit(1);
    }
}

async fn up(o: Options) -> Result<()> {
    let log = Log::new(o.level);
    let manifest = manifest::Manifest::load(&o.manifest)?;
    let listener = tokio::net::TcpListener::bind(o.listen)
        .await
        .with_context(|| format!("cannot listen on {}", o.listen))?;
    let listen = listener.local_addr()?;

    let sandbox = if o.sandbox {
        Some(sandbox::start(listen).await?)
    } else {
        None
    };
    let overrides = sandbox
        .as_ref()
        .map(|s| s.overrides.clone())
        .unwrap_or_default();
    let values = variables::resolve(&manifest.variables, |k| std::env::var(k).ok(), &overrides)?;
    let mut stores = runtime_config::load(o.runtime_config.as_deref(), &manifest.dir)?;
    if sandbox.is_some() && o.runtime_config.is_none() {
        // A fresh simulator issues new tokens: start from an empty store.
        let path = manifest.dir.join(".spin").join("sandbox_key_value.db");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        stores.insert("default".into(), StoreSpec::Sqlite(path));
    }

    let engine = app::engine()?;
    let app = Arc::new(app::load(engine, manifest, &values, &stores, &log).await?);
    banner(&app, listen, sandbox.as_ref(), &values);
    server::serve(app, listener, log, shutdown_signal()).await
}

fn banner(
    app: &app::App,
    listen: SocketAddr,
    sandbox: Option<&sandbox::Sandbox>,
    values: &HashMap<String, String>,
) {
    println!(
        "wxmp-host: serving {} on http://{listen}",
        app.manifest.name
    );
    for (label, backend) in app.stores.iter() {
        println!("  key-value store {label}: {}", backend.describe());
    }
    if let Some(s) = sandbox {
        println!(
            "  sandbox: WeChat simulator at {} (app_id {})",
            s.server.url(),
            values.get("app_id").map_or("", String::as_str)
        );
        println!(
            "  open http://{listen}/ for the demo page; admin key for /api/token: {}",
            sandbox::ADMIN_KEY
        );
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
