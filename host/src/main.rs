//! wxmp-host: runs a Spin manifest (wxmp's spin.toml) like `spin up`, on the
//! wasmtime crates, where the Spin CLI is not available.
//!
//! ```text
//! wxmp-host up [-f spin.toml] [--listen 127.0.0.1:3000]
//!              [--runtime-config-file runtime-config.toml] [--sandbox] [--log info]
//! ```
//!
//! The command line is [`Cli`]; options spelt like `spin up`'s (Spin 4.0.2)
//! where Spin has them. `wxmp-host up --help` lists them with their defaults.

mod app;
mod bindings;
mod compile_cache;
mod imports;
mod kv;
mod limits;
mod log;
mod manifest;
mod metrics;
mod outbound;
mod runtime_config;
mod sandbox;
mod server;
mod state;
mod stats;
mod trace;
mod variables;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::log::{Format, Level, Log};
use crate::runtime_config::StoreSpec;

/// Runs a Spin application manifest like `spin up`, on the wasmtime crates.
#[derive(Parser, Debug)]
#[command(name = "wxmp-host", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// wxmp-host's subcommands.
#[derive(Subcommand, Debug)]
enum Command {
    /// Start the application: serve its HTTP triggers (like `spin up`).
    Up(UpArgs),
}

/// `wxmp-host up`'s options. Spelt like `spin up`'s where Spin has the
/// option; each doc comment is its `--help` text.
#[derive(Args, Debug)]
struct UpArgs {
    /// The application manifest (spin.toml) to run.
    ///
    /// Unlike `spin up`, only a path to a manifest file (no directory,
    /// registry reference or bare .wasm). `--file` and `--from-file` are
    /// accepted too.
    #[arg(
        short = 'f',
        long = "from",
        alias = "file",
        alias = "from-file",
        value_name = "MANIFEST",
        default_value = "spin.toml"
    )]
    manifest: PathBuf,

    /// IP address and port to listen on.
    ///
    /// Port 0 picks a free port; the banner prints the one in use.
    #[arg(long, value_name = "ADDRESS", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,

    /// Runtime config file for the key-value stores (`[key_value_store.<label>]`).
    ///
    /// Default: none, and then store `default` is SQLite at
    /// `.spin/sqlite_key_value.db` beside the manifest, as `spin up` does
    /// (with `--sandbox`: a fresh `.spin/sandbox_key_value.db`).
    #[arg(long = "runtime-config-file", value_name = "RUNTIME_CONFIG_FILE")]
    runtime_config_file: Option<PathBuf>,

    /// Run against an in-process WeChat simulator, with every variable filled
    /// with test values (not in `spin up`). Its admin key is fixed and
    /// printed, so it listens on loopback only unless
    /// `--sandbox-on-public-address` is given too.
    ///
    /// Default: off.
    #[arg(long)]
    sandbox: bool,

    /// Let `--sandbox` listen on a non-loopback address (its admin key is
    /// public knowledge: only on a network you trust).
    ///
    /// Default: off.
    #[arg(long, requires = "sandbox")]
    sandbox_on_public_address: bool,

    /// How much to log to stderr.
    #[arg(long, value_enum, value_name = "LEVEL", default_value_t = Level::Info)]
    log: Level,

    /// How log lines are written: `text` (one readable line each) or
    /// `json` (one JSON object per line, the component's lines included).
    #[arg(long = "log-format", value_enum, value_name = "FORMAT", default_value_t = Format::Text)]
    log_format: Format,

    /// Serve Prometheus metrics at `GET /metrics` on this IP address and
    /// port, a listener of its own (not in `spin up`). Port 0 picks a free
    /// port; the banner prints the one in use.
    ///
    /// Default: off (no metrics are gathered, nothing listens).
    #[arg(long = "metrics-listen", value_name = "ADDRESS")]
    metrics_listen: Option<SocketAddr>,

    /// Where compiled components are cached (a directory only this user
    /// can write; a looser one is not used).
    ///
    /// Default: `$XDG_CACHE_HOME/wxmp-host`, else `~/.cache/wxmp-host`.
    #[arg(long = "cache-dir", value_name = "DIR")]
    cache_dir: Option<PathBuf>,

    #[command(flatten)]
    limits: limits::Limits,
}

fn main() {
    // Usage errors exit 2 (clap's), --help and --version exit 0.
    let Cli {
        command: Command::Up(args),
    } = Cli::parse();
    let format = args.log_format;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = runtime.block_on(up(args)) {
        log::fatal(format, &format!("{e:#}"));
        std::process::exit(1);
    }
}

async fn up(o: UpArgs) -> Result<()> {
    if o.sandbox && !o.listen.ip().is_loopback() && !o.sandbox_on_public_address {
        anyhow::bail!(
            "--sandbox listens on loopback only (its admin key is fixed and printed); \
             {} is not a loopback address. Add --sandbox-on-public-address to allow it.",
            o.listen.ip()
        );
    }
    let log = Log::new(o.log, o.log_format);
    let manifest = manifest::Manifest::load(&o.manifest)?;
    log.set_routes(manifest.triggers.iter().map(|t| t.route.clone()).collect());
    let listener =
        server::listen(o.listen).with_context(|| format!("cannot listen on {}", o.listen))?;
    let listen = listener.local_addr()?;
    let metrics_listener = match o.metrics_listen {
        Some(addr) => Some(
            server::listen(addr)
                .with_context(|| format!("--metrics-listen: cannot listen on {addr}"))?,
        ),
        None => None,
    };

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
    let mut stores = runtime_config::load(o.runtime_config_file.as_deref(), &manifest.dir)?;
    if sandbox.is_some() && o.runtime_config_file.is_none() {
        // A fresh simulator issues new tokens: start from an empty store.
        let path = manifest.dir.join(".spin").join("sandbox_key_value.db");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        stores.insert("default".into(), StoreSpec::Sqlite(path));
    }

    let open_files = limits::raise_open_files();
    if let Some(n) = open_files.filter(|n| *n < o.limits.max_connections as u64 * 2 + 256) {
        log.warn(&format!(
            "the open-file limit is {n}: fewer than --max-connections {} clients fit (raise it with ulimit -n)",
            o.limits.max_connections
        ));
    }
    let engine = app::engine(o.limits.max_instances)?;
    let cache_dir = o
        .cache_dir
        .clone()
        .unwrap_or_else(|| compile_cache::default_dir(&manifest.dir));
    let app = Arc::new(app::load(engine, manifest, &values, &stores, &cache_dir, &log).await?);
    let metrics = match metrics_listener {
        Some(listener) => {
            let metrics =
                metrics::Metrics::new(app.manifest.triggers.iter().map(|t| t.route.as_str()));
            let at = listener.local_addr()?;
            tokio::spawn(metrics::serve(
                listener,
                Arc::new(metrics.registry()),
                log.clone(),
            ));
            Some((metrics, at))
        }
        None => None,
    };
    banner(
        &log,
        &app,
        listen,
        metrics.as_ref().map(|(_, at)| *at),
        sandbox.as_ref(),
        &values,
    );
    let metrics = metrics.map(|(m, _)| m);
    server::serve(app, listener, log, o.limits, metrics, shutdown_signal()).await
}

fn banner(
    log: &Log,
    app: &app::App,
    listen: SocketAddr,
    metrics: Option<SocketAddr>,
    sandbox: Option<&sandbox::Sandbox>,
    values: &HashMap<String, String>,
) {
    log.banner(&format!(
        "wxmp-host: serving {} on http://{listen}",
        app.manifest.name
    ));
    for (label, backend) in app.stores.iter() {
        log.banner(&format!(
            "  key-value store {label}: {}",
            backend.describe()
        ));
    }
    if let Some(at) = metrics {
        log.banner(&format!("  metrics: http://{at}/metrics"));
    }
    if let Some(s) = sandbox {
        log.banner(&format!(
            "  sandbox: WeChat simulator at {} (app_id {})",
            s.server.url(),
            values.get("app_id").map_or("", String::as_str)
        ));
        log.banner(&format!(
            "  open http://{listen}/ for the demo page; admin key for /api/token: {}",
            sandbox::ADMIN_KEY
        ));
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

    use clap::CommandFactory;

    use super::*;

    fn repo() -> &'static Path {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
    }

    /// Parses `wxmp-host ARGS…` (without the program name) to `up`'s options.
    fn up_args(args: &[&str]) -> Result<UpArgs, clap::Error> {
        let Cli {
            command: Command::Up(o),
        } = Cli::try_parse_from(std::iter::once("wxmp-host").chain(args.iter().copied()))?;
        Ok(o)
    }

    #[test]
    fn the_shipped_systemd_unit_passes_valid_arguments() {
        let unit =
            std::fs::read_to_string(repo().join("deploy/systemd/wxmp-host.service")).unwrap();
        let exec = unit
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .expect("ExecStart");
        let words: Vec<&str> = exec.split_whitespace().collect();
        assert_eq!(words.first(), Some(&"/usr/local/bin/wxmp-host"));
        let o = up_args(&words[1..]).unwrap();
        assert_eq!(o.manifest, Path::new("/opt/wxmp/spin.toml"));
        assert_eq!(o.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(
            o.runtime_config_file.as_deref(),
            Some(Path::new("/opt/wxmp/deploy/runtime-config.redis.toml"))
        );
        assert!(!o.sandbox);
        assert_eq!(o.log, Level::Info);
        assert_eq!(o.log_format, Format::Text);
        assert_eq!(o.metrics_listen, None);
        assert_eq!(
            o.cache_dir.as_deref(),
            Some(Path::new("/var/cache/wxmp-host"))
        );
        assert_eq!(o.limits, limits::Limits::default());
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
        assert_eq!(consumer.route("/verify").map(|r| r.component), Some("wxmp"));
        assert!(consumer
            .source_path(&consumer.components["wxmp"])
            .ends_with("examples/consumer/../../target/composed.wasm"));
    }

    #[test]
    fn arguments_are_parsed_strictly() {
        let o = up_args(&["up", "--sandbox", "--log", "debug"]).unwrap();
        assert!(o.sandbox);
        assert_eq!(o.log, Level::Debug);
        let o = up_args(&["up"]).unwrap();
        assert_eq!(o.manifest, Path::new("spin.toml"));
        assert_eq!(o.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(o.runtime_config_file, None);
        assert!(!o.sandbox);
        assert_eq!(o.log, Level::Info);
        assert_eq!(o.log_format, Format::Text);
        assert_eq!(o.metrics_listen, None);
        assert_eq!(o.cache_dir, None);
        assert_eq!(o.limits, limits::Limits::default());
        let o = up_args(&[
            "up",
            "--log-format",
            "json",
            "--metrics-listen",
            "0.0.0.0:9100",
        ])
        .unwrap();
        assert_eq!(o.log_format, Format::Json);
        assert_eq!(o.metrics_listen, Some("0.0.0.0:9100".parse().unwrap()));
        for spelling in ["-f", "--from", "--file", "--from-file"] {
            let o = up_args(&["up", spelling, "a/spin.toml"]).unwrap();
            assert_eq!(o.manifest, Path::new("a/spin.toml"), "{spelling}");
        }
        for (bad, names) in [
            (&[][..], "Usage: wxmp-host <COMMAND>"),
            (&["down"][..], "'down'"),
            (&["up", "--log", "loud"][..], "--log"),
            (&["up", "--listen", "nowhere"][..], "--listen"),
            (&["up", "--listen"][..], "--listen"),
            (&["up", "--bogus"][..], "--bogus"),
            (&["up", "--sandbox=yes"][..], "--sandbox"),
            (&["up", "--log-format", "yaml"][..], "--log-format"),
            (&["up", "--metrics-listen", "9100"][..], "--metrics-listen"),
        ] {
            let e = up_args(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad:?} parsed"));
            assert_eq!(e.exit_code(), 2, "{bad:?}");
            let text = e.render().to_string();
            assert!(text.contains(names), "{bad:?}: {text}");
        }
    }

    #[test]
    fn up_help_lists_every_option_and_its_default() {
        let mut cli = Cli::command();
        cli.build();
        let up = cli.find_subcommand_mut("up").expect("up");
        let help = up.render_long_help().to_string();
        for arg in up.get_arguments() {
            let long = format!(
                "--{}",
                arg.get_long().expect("every option has a long name")
            );
            assert!(help.contains(&long), "{long} missing from:\n{help}");
            if ["help", "version"].contains(&arg.get_id().as_str()) {
                continue;
            }
            let defaults = arg.get_default_values();
            if arg.get_action().takes_values() && !defaults.is_empty() {
                let shown = defaults
                    .iter()
                    .map(|d| d.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(", ");
                assert!(
                    help.contains(&format!("[default: {shown}]")),
                    "{long}'s default {shown} missing from:\n{help}"
                );
            } else {
                let text = arg.get_long_help().or(arg.get_help()).expect(&long);
                assert!(
                    text.to_string().contains("Default: "),
                    "{long} says nothing about its default"
                );
            }
        }
        for expected in [
            "[default: spin.toml]",
            "[default: 127.0.0.1:3000]",
            "[default: info]",
            "[default: text]",
            "--metrics-listen",
            "--runtime-config-file",
            "--sandbox",
        ] {
            assert!(help.contains(expected), "{expected} missing from:\n{help}");
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
