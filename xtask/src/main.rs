//! `cargo xtask <task>`: the project's set-up commands, so a fresh machine
//! with only rustup and cargo needs nothing else.
//!
//! - `test`: installs the wasm target, builds the component, runs every test.
//! - `build`: installs the wasm target and builds the component only.

use std::process::{exit, Command};

fn main() {
    let task = std::env::args().nth(1).unwrap_or_default();
    let result = match task.as_str() {
        "test" => build_component().and_then(|()| cargo(&["test", "--workspace", "--locked"])),
        "build" => build_component(),
        _ => {
            eprintln!("usage: cargo xtask <test|build>");
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
    cargo(&[
        "build",
        "--locked",
        "--target",
        "wasm32-wasip2",
        "--release",
        "-p",
        "wxmp",
    ])
}

fn cargo(args: &[&str]) -> Result<(), String> {
    run(Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())).args(args))
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
