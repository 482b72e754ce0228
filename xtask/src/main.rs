//! `cargo xtask <task>`: the project's set-up commands, so a fresh machine
//! with only rustup and cargo needs nothing else.
//!
//! - `sandbox [ARGS…]`: builds the component and runs `wxmp-host up --sandbox`
//!   (a simulated WeChat in-process, zero configuration).
//! - `test`: installs what the tests need (the wasm target; redis-server,
//!   nginx, Chromium, a CJK font and Node via apt-get when missing;
//!   playwright-core via npm), builds the component, the misbehaving test
//!   component (`testkit/stuck`) and the do-nothing one (`bench/floor`, "your
//!   app" beside wxmp in the mount tests), runs clippy and every Rust test,
//!   then the browser tests and the fuzz targets.
//! - `build`: installs the wasm target and builds the component only.
//! - `fuzz [SECS]`: runs every cargo-fuzz target for SECS seconds (default 5;
//!   `cargo xtask fuzz 600` for a real campaign), after replaying the saved
//!   regression inputs; installs cargo-fuzz when missing. Stable Rust, no
//!   sanitizer (the code under test is safe Rust: panics are what we hunt).
//! - `soak [SECS]`: the mixed-traffic soak through wxmp-host (default 600 s).
//! - `bench [ARGS…]`: the performance benchmark (docs/PERFORMANCE.md):
//!   builds the component, the no-op floor component (`bench/floor`),
//!   wxmp-host and the native reference in the `host` profile, installs wrk
//!   (and redis-server, unless `--stores` leaves Redis out) via apt-get when
//!   missing and the Node peer's packages (`bench/node-peer`, `npm ci`),
//!   and runs `wxmp-bench` (`--seconds`, `--connections`, `--threads`,
//!   `--burst`, `--stores memory,sqlite,redis`, `--out`).
//! - `compose`: builds the example consumer and composes it with wxmp
//!   (`wac plug`, installing wac-cli from crates.io when missing) into
//!   `target/composed.wasm`, and the consumer built against
//!   `wechat:mp@0.1.0` (tests/fixtures/compat) into `target/composed-0.1.0.wasm`.

use std::process::{exit, Command};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().cloned().unwrap_or_default();
    let result = match task.as_str() {
        "sandbox" => build_component().and_then(|()| {
            // The `test` profile, like `cargo xtask test`'s build of
            // wxmp-host: either command after the other compiles nothing heavy.
            let mut run = vec![
                "run",
                "--locked",
                "--profile",
                "test",
                "-p",
                "wxmp-host",
                "--",
                "up",
                "--sandbox",
            ];
            run.extend(args[1..].iter().map(String::as_str));
            cargo(&run)
        }),
        "test" => build_component()
            .and_then(|()| build_wasm("wxmp-stuck"))
            .and_then(|()| build_wasm("wxmp-floor"))
            .and_then(|()| compose())
            .and_then(|()| ensure_apt("redis-server", &["redis-server"]))
            // Debian puts nginx in /usr/sbin, which not every PATH has.
            .and_then(|()| ensure_apt("/usr/sbin/nginx", &["nginx"]))
            .and_then(|()| lint())
            .and_then(|()| cargo(&["test", "--workspace", "--locked"]))
            .and_then(|()| sandbox_build_is_shared())
            .and_then(|()| browser_tests())
            .and_then(|()| fuzz(5))
            .map(|()| {
                let summary = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/soak-summary.txt");
                if let Ok(text) = std::fs::read_to_string(summary) {
                    eprintln!("{text}");
                }
            }),
        "build" => build_component(),
        "bench" => build_component()
            .and_then(|()| build_wasm("wxmp-floor"))
            .and_then(|()| ensure_apt("wrk", &["wrk"]))
            .and_then(|()| npm_ci(concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/node-peer")))
            .and_then(|()| {
                if bench_uses_redis(&args[1..]) {
                    ensure_apt("redis-server", &["redis-server"])
                } else {
                    Ok(())
                }
            })
            .and_then(|()| {
                cargo(&[
                    "build",
                    "--locked",
                    "--profile",
                    "host",
                    "-p",
                    "wxmp-host",
                    "-p",
                    "wxmp-bench",
                ])
            })
            .and_then(|()| {
                let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
                let mut run_args = vec![
                    "run",
                    "--locked",
                    "--profile",
                    "host",
                    "-p",
                    "wxmp-bench",
                    "--bin",
                    "wxmp-bench",
                    "--",
                    "--root",
                    root,
                ];
                run_args.extend(args[1..].iter().map(String::as_str));
                cargo(&run_args)
            }),
        "compose" => build_component().and_then(|()| compose()),
        "fuzz" => fuzz(number_arg(&args, 5)),
        "soak" => build_component().and_then(|()| {
            let secs = number_arg(&args, 600).to_string();
            run(cargo_command()
                .args([
                    "test",
                    "--locked",
                    "-p",
                    "wxmp-host",
                    "--test",
                    "soak",
                    "--",
                    "--nocapture",
                ])
                .env("WXMP_SOAK_SECS", secs))
        }),
        _ => {
            eprintln!("usage: cargo xtask <sandbox|test|build|compose|bench [ARGS]|fuzz [SECS]|soak [SECS]>");
            exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("xtask {task}: {e}");
        exit(1);
    }
}

/// The component, as `spin build` makes it.
fn build_component() -> Result<(), String> {
    run(Command::new("rustup").args(["target", "add", "wasm32-wasip2"]))?;
    build_wasm("wxmp")
}

/// Builds `package` for wasm32-wasip2 in the release profile.
fn build_wasm(package: &str) -> Result<(), String> {
    cargo(&[
        "build",
        "--locked",
        "--target",
        "wasm32-wasip2",
        "--release",
        "-p",
        package,
    ])
}

fn number_arg(args: &[String], default: u64) -> u64 {
    args.get(1).and_then(|a| a.parse().ok()).unwrap_or(default)
}

/// Replays `fuzz/regressions/<target>/` (inputs that once crashed), then
/// fuzzes each target for `secs` seconds.
fn fuzz(secs: u64) -> Result<(), String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz");
    if !Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        cargo(&["install", "cargo-fuzz", "--version", "0.13.2", "--locked"])?;
    }
    let list = Command::new("cargo")
        .args(["fuzz", "list"])
        .current_dir(dir)
        .output()
        .map_err(|e| e.to_string())?;
    let targets = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    if targets.is_empty() {
        return Err("cargo fuzz list found no targets".into());
    }
    for t in &targets {
        let regressions = format!("{dir}/regressions/{t}");
        if std::path::Path::new(&regressions).is_dir() {
            run(Command::new("cargo")
                .args([
                    "fuzz",
                    "run",
                    "-s",
                    "none",
                    t,
                    &regressions,
                    "--",
                    "-runs=0",
                ])
                .current_dir(dir))?;
        }
        let time = format!("-max_total_time={secs}");
        run(Command::new("cargo")
            .args(["fuzz", "run", "-s", "none", t, "--", &time])
            .current_dir(dir))?;
    }
    Ok(())
}

/// The workspace's `[lints]` (missing docs, unreachable `pub`, `unwrap`
/// outside tests) and clippy's defaults, as errors: natively for every
/// target, and for the component's wasm32-only code.
///
/// Natively, clippy runs as the compiler of the workspace's own crates in a
/// `cargo test --no-run` (what `cargo clippy` itself does, with `cargo
/// check`): dependencies are then compiled once, for the lint and the tests
/// alike, where a separate `cargo clippy` would check wasmtime and cranelift
/// a second time — a third of CI on two cores. Only the workspace's crates
/// are compiled twice (the tests build them again with plain rustc, so
/// `cargo xtask sandbox` finds them built).
fn lint() -> Result<(), String> {
    run(Command::new("rustup").args(["component", "add", "clippy"]))?;
    let driver = Command::new("rustup")
        .args(["which", "clippy-driver"])
        .output()
        .map_err(|e| format!("rustup which clippy-driver: {e}"))?;
    let driver = String::from_utf8_lossy(&driver.stdout).trim().to_owned();
    if driver.is_empty() {
        return Err("rustup has no clippy-driver for this toolchain".into());
    }
    run(cargo_command()
        .args([
            "test",
            "--workspace",
            "--all-targets",
            "--locked",
            "--no-run",
        ])
        .env("RUSTC_WORKSPACE_WRAPPER", driver)
        // `cargo clippy -- -D warnings` hands its arguments to the driver
        // this way.
        .env(
            "CLIPPY_ARGS",
            "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__",
        ))?;
    cargo(&[
        "clippy",
        "--locked",
        "--target",
        "wasm32-wasip2",
        "-p",
        "wxmp",
        "--",
        "-D",
        "warnings",
    ])
}

/// The README's two commands share one build: after the tests, building
/// wxmp-host the way `cargo xtask sandbox` does must compile nothing (the
/// features wxmp-host asks for in host/Cargo.toml keep it so).
fn sandbox_build_is_shared() -> Result<(), String> {
    let out = cargo_command()
        .args(["build", "--locked", "--profile", "test", "-p", "wxmp-host"])
        .output()
        .map_err(|e| e.to_string())?;
    let log = String::from_utf8_lossy(&out.stderr);
    let compiled: Vec<&str> = log
        .lines()
        .filter(|l| l.trim_start().starts_with("Compiling"))
        .collect();
    if !out.status.success() || !compiled.is_empty() {
        return Err(format!(
            "`cargo xtask sandbox` would rebuild after `cargo xtask test` ({} crates: {}); \
             align wxmp-host's dependency features with the workspace (host/Cargo.toml)\n{log}",
            compiled.len(),
            compiled.join(", ")
        ));
    }
    eprintln!("+ the sandbox's build of wxmp-host is the tests' build: nothing to compile");
    Ok(())
}

/// The example consumer plugged into wxmp: one component, `target/composed.wasm`.
fn compose() -> Result<(), String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    cargo(&[
        "build",
        "--locked",
        "--manifest-path",
        &format!("{root}/examples/consumer/Cargo.toml"),
        // A fixed place, whatever CARGO_TARGET_DIR says: wac reads it below.
        "--target-dir",
        &format!("{root}/target/consumer"),
        "--target",
        "wasm32-wasip2",
        "--release",
    ])?;
    if !Command::new("wac")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        cargo(&[
            "install",
            "wac-cli",
            "--version",
            "0.12.0",
            "--locked",
            "--no-default-features",
        ])?;
    }
    run(Command::new("wac").current_dir(root).args([
        "plug",
        "target/consumer/wasm32-wasip2/release/wxmp_consumer.wasm",
        "--plug",
        "target/wasm32-wasip2/release/wxmp.wasm",
        "-o",
        "target/composed.wasm",
    ]))?;
    // A consumer built against wechat:mp@0.1.0 before the `api` interface
    // (tests/fixtures/compat): today's wxmp must still plug into it.
    run(Command::new("wac").current_dir(root).args([
        "plug",
        "tests/fixtures/compat/consumer-0.1.0.wasm",
        "--plug",
        "target/wasm32-wasip2/release/wxmp.wasm",
        "-o",
        "target/composed-0.1.0.wasm",
    ]))
}

/// True unless the benchmark's `--stores` list leaves Redis out (all
/// three stores are measured by default).
fn bench_uses_redis(args: &[String]) -> bool {
    args.iter()
        .position(|a| a == "--stores")
        .and_then(|i| args.get(i + 1))
        .is_none_or(|list| list.split(',').any(|s| s.trim() == "redis"))
}

/// Installs Debian `packages` when `probe` is not on the PATH (the
/// multi-host tests need a real Redis, the browser tests Chromium, the
/// benchmark wrk). Whether the probe runs is what counts: `wrk --version`
/// exits 1.
fn ensure_apt(probe: &str, packages: &[&str]) -> Result<(), String> {
    if Command::new(probe).arg("--version").output().is_ok() {
        return Ok(());
    }
    eprintln!("{probe} not found; installing {packages:?} with apt-get");
    run(Command::new("apt-get").arg("update").arg("-q"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Headless Chromium against `wxmp-host up --sandbox` (built by `cargo test`).
fn browser_tests() -> Result<(), String> {
    ensure_apt("chromium", &["chromium", "fonts-wqy-zenhei"])?;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../web/test");
    npm_ci(dir)?;
    run(Command::new("node").arg("--test").current_dir(dir))
}

/// The Node packages `dir`'s package-lock.json pins (the browser tests'
/// playwright-core, the benchmark's Node peer), with Node and npm from
/// apt-get when missing.
fn npm_ci(dir: &str) -> Result<(), String> {
    ensure_apt("npm", &["nodejs", "npm"])?;
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir))
}

fn cargo(args: &[&str]) -> Result<(), String> {
    run(cargo_command().args(args))
}

/// The cargo that runs this xtask (`$CARGO`), for calls that need more
/// than arguments (environment, captured output).
fn cargo_command() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(cmd: &mut Command) -> Result<(), String> {
    eprintln!("+ {cmd:?}");
    let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}
