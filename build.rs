//! Makes `wit/` self-contained: the `wxmp` world exports
//! `wasi:http/incoming-handler`, so its WASI dependencies must sit in
//! `wit/deps/`. They are not written or committed here; they are read from
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

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=wit/wechat-mp.wit");
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let deps = root.join("wit/deps");
    if WASI_DEPS.iter().all(|d| deps.join(d).is_dir()) {
        return;
    }
    let Some(spin_wit) = spin_sdk_wit_dir(&root) else {
        println!("cargo:warning=spin-sdk's WIT not found: wit/deps left as is");
        return;
    };
    for dep in WASI_DEPS {
        copy_dir(&spin_wit.join("deps").join(dep), &deps.join(dep));
    }
}

/// Asks cargo where the resolved spin-sdk package lives.
fn spin_sdk_wit_dir(root: &Path) -> Option<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version=1", "--offline"])
        .current_dir(root)
        .output()
        .ok()?;
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    meta["packages"].as_array()?.iter().find_map(|p| {
        (p["name"] == "spin-sdk" && p["version"] == "5.2.0")
            .then(|| {
                Path::new(p["manifest_path"].as_str()?)
                    .parent()
                    .map(|d| d.join("wit"))
            })
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
