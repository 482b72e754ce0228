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
mod stats;
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
    let listener =
        server::listen(o.listen).with_context(|| format!("cannot listen on {}", o.listen))?;
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn repo() -> &'static Path {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
    }

    #[test]
    fn the_shipped_systemd_unit_passes_valid_arguments() {
        let unit =
            std::fs::read_to_string(repo().join("deploy/systemd/wxmp-host.service")).unwrap();
        let exec = unit
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .expect("ExecStart");
        let mut words = exec.split_whitespace();
        assert_eq!(words.next(), Some("/usr/local/bin/wxmp-host"));
        let o = parse_args(words.map(str::to_owned).collect()).unwrap();
        assert_eq!(o.manifest, Path::new("/opt/wxmp/spin.toml"));
        assert_eq!(o.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(
            o.runtime_config.as_deref(),
            Some(Path::new("/opt/wxmp/deploy/runtime-config.redis.toml"))
        );
        assert!(!o.sandbox);
        let env = std::fs::read_to_string(repo().join("deploy/systemd/wxmp.env.example")).unwrap();
        for line in env.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            let name = line
                .split('=')
                .next()
                .unwrap()
                .strip_prefix("SPIN_VARIABLE_")
                .expect("SPIN_VARIABLE_ prefix");
            manifest::check_variable_name(&name.to_ascii_lowercase()).unwrap();
        }
    }

    #[test]
    fn the_shipped_runtime_config_and_consumer_manifest_load() {
        let stores = runtime_config::load(
            Some(&repo().join("deploy/runtime-config.redis.toml")),
            Path::new("/app"),
        )
        .unwrap();
        assert_eq!(
            stores["default"],
            StoreSpec::Redis("redis://127.0.0.1:6379".into())
        );
        let consumer =
            manifest::Manifest::load(&repo().join("examples/consumer/spin.toml")).unwrap();
        assert_eq!(consumer.route("/verify"), Some("wxmp"));
        assert!(consumer
            .source_path(&consumer.components["wxmp"])
            .ends_with("examples/consumer/../../target/composed.wasm"));
    }

    #[test]
    fn arguments_are_parsed_strictly() {
        assert!(parse_args(vec![
            "up".into(),
            "--sandbox".into(),
            "--log".into(),
            "debug".into()
        ])
        .is_ok());
        for bad in [
            vec![],
            vec!["down".to_owned()],
            vec!["up".into(), "--log".into(), "loud".into()],
            vec!["up".into(), "--listen".into(), "nowhere".into()],
        ] {
            assert!(parse_args(bad.clone()).is_err(), "{bad:?}");
        }
    }
}
