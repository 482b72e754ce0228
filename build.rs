//! Makes `wit/` self-contained: the `wxmp` world exports
//! `wasi:http/incoming-handler`, so its WASI dependencies must sit in
//! `wit/deps/`. They are not written or committed here; they are copied from
//! the WIT that the spin-sdk crate ships (the same files its bindings use).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The WASI 0.2.0 packages `wasi:http/incoming-handler@0.2.0` pulls in.
const WASI_DEPS: &[&str] = &[
    "http@0.2.0",
    "io@0.2.0",
    "clocks@0.2.0",
    "random@0.2.0",
    "cli@0.2.0",
    "filesystem@0.2.0",
    "sockets@0.2.0",
];

/// The component's shadow-stack size.
const WASM_STACK_BYTES: u32 = 128 * 1024;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=wit/wechat-mp.wit");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        // A 128 KiB shadow stack instead of Rust's 1 MiB default: every
        // request gets a fresh instance whose dirty pages the host resets,
        // and the stack sits below the data, so a smaller one shrinks what
        // is reset per request (docs/PERFORMANCE.md). wxmp's deepest path
        // (serde_json's 128-level limit) needs a fraction of it.
        println!("cargo:rustc-link-arg-cdylib=-zstack-size={WASM_STACK_BYTES}");
    }
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let Some(spin_wit) = registry_wit_dir().or_else(|| metadata_wit_dir(&root)) else {
        // spin-sdk is a wasm32-only dependency: a native-only build on a
        // fresh cargo cache has not downloaded it yet.
        println!(
            "cargo:warning=spin-sdk 5.2.0's WIT not found (it is downloaded for wasm32 builds): \
             run `cargo fetch --locked` or `cargo xtask build` once, then build again"
        );
        return;
    };
    // Tests check the built component against Spin's worlds from here.
    println!("cargo:rustc-env=WXMP_SPIN_SDK_WIT={}", spin_wit.display());
    let deps = root.join("wit/deps");
    if WASI_DEPS.iter().all(|d| deps.join(d).is_dir()) {
        return;
    }
    for dep in WASI_DEPS {
        copy_dir(&spin_wit.join("deps").join(dep), &deps.join(dep));
    }
}

/// Where cargo unpacks crates.io downloads: `$CARGO_HOME/registry/src/*/`.
fn registry_wit_dir() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    std::fs::read_dir(home.join("registry/src"))
        .ok()?
        .flatten()
        .map(|index| index.path().join("spin-sdk-5.2.0/wit"))
        .find(|wit| wit.join("deps").is_dir())
}

/// Asks cargo where the resolved spin-sdk lives (vendored or unusual
/// set-ups); this needs every workspace dependency to be available.
fn metadata_wit_dir(root: &Path) -> Option<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version=1", "--offline"])
        .current_dir(root)
        .output()
        .ok()?;
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    meta["packages"].as_array()?.iter().find_map(|p| {
        let is_sdk = p["name"] == "spin-sdk" && p["version"] == "5.2.0";
        let manifest = Path::new(p["manifest_path"].as_str()?);
        is_sdk
            .then(|| manifest.parent().map(|d| d.join("wit")))
            .flatten()
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create wit/deps");
    for entry in std::fs::read_dir(from).expect("read spin-sdk WIT dir") {
        let entry = entry.expect("read spin-sdk WIT entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy WIT file");
    }
}
