//! Checks the BUILT component (`target/wasm32-wasip2/release/wxmp.wasm`,
//! built by the test command before `cargo test`): it exports the six
//! `wechat:mp` interfaces and `wasi:http/incoming-handler`, and imports only
//! what both the oldest (Spin 3.0) and newest Spin world in spin-sdk 5.2's
//! WIT give an HTTP component, function by function.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

use std::path::{Path, PathBuf};

use wit_parser::{Resolve, WorldId, WorldItem, WorldKey};

fn wasm_path() -> PathBuf {
    if let Ok(p) = std::env::var("WXMP_WASM") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/wasm32-wasip2/release/wxmp.wasm")
}

fn component() -> (Resolve, WorldId) {
    let path = wasm_path();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build it first: cargo build --target wasm32-wasip2 --release",
            path.display()
        )
    });
    match wit_component::decode(&bytes).expect("decode component") {
        wit_component::DecodedWasm::Component(resolve, world) => (resolve, world),
        wit_component::DecodedWasm::WitPackage(..) => {
            panic!("expected a component, found a WIT package")
        }
    }
}

/// spin-sdk 5.2's own WIT directory, as build.rs found it.
fn spin_sdk_wit() -> PathBuf {
    PathBuf::from(env!("WXMP_SPIN_SDK_WIT"))
}

/// `(interface name with version, function names)` for a world's imports or exports.
fn interfaces(resolve: &Resolve, world: WorldId, imports: bool) -> Vec<(String, Vec<String>)> {
    let w = &resolve.worlds[world];
    let items = if imports { &w.imports } else { &w.exports };
    items
        .iter()
        .filter_map(|(key, item)| match (key, item) {
            (WorldKey::Interface(id), WorldItem::Interface { .. }) => {
                let funcs = resolve.interfaces[*id].functions.keys().cloned().collect();
                Some((resolve.id_of(*id).expect("named interface"), funcs))
            }
            _ => None,
        })
        .collect()
}

/// `ns:pkg/iface` and the semver-compatible track of its version (`0.2` for `0.2.3`).
fn track(name: &str) -> (String, String) {
    let (base, version) = name.split_once('@').unwrap_or((name, ""));
    let mut parts = version.split('.');
    let major = parts.next().unwrap_or("");
    let track = if major == "0" {
        format!("0.{}", parts.next().unwrap_or(""))
    } else {
        major.to_owned()
    };
    (base.to_owned(), track)
}

fn spin_world(resolve: &Resolve, package: &str, world: &str) -> WorldId {
    let pkg = resolve
        .package_names
        .iter()
        .find(|(n, _)| n.to_string() == package)
        .map(|(_, id)| *id)
        .unwrap_or_else(|| panic!("{package} in spin-sdk's WIT"));
    resolve.packages[pkg].worlds[world]
}

#[test]
fn exports_the_wechat_interfaces_and_the_http_handler() {
    let (resolve, world) = component();
    let exports: Vec<String> = interfaces(&resolve, world, false)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    for expected in [
        "wechat:mp/verify@0.1.1",
        "wechat:mp/oauth@0.1.1",
        "wechat:mp/userinfo@0.1.1",
        "wechat:mp/jssdk@0.1.1",
        "wechat:mp/token@0.1.1",
        "wechat:mp/types@0.1.1",
        "wechat:mp/messages@0.1.1",
        "wechat:mp/api@0.1.1",
        "wasi:http/incoming-handler@0.2.0",
    ] {
        assert!(
            exports.iter().any(|e| e == expected),
            "missing export {expected}; exports: {exports:?}"
        );
    }
}

#[test]
fn imports_only_what_spin_gives_an_http_component() {
    let (resolve, world) = component();
    let mut spin = Resolve::default();
    spin.push_dir(spin_sdk_wit()).expect("parse spin-sdk WIT");
    let hosts = [
        (
            "Spin 3.0",
            spin_world(&spin, "fermyon:spin@3.0.0", "http-trigger"),
        ),
        (
            "Spin 3.4+/4.x",
            spin_world(&spin, "spin:up@3.4.0", "http-trigger"),
        ),
    ];
    let imports = interfaces(&resolve, world, true);
    assert!(!imports.is_empty());
    eprintln!(
        "imports: {:?}",
        imports
            .iter()
            .map(|(n, f)| format!("{n} ({})", f.len()))
            .collect::<Vec<_>>()
    );
    for (host, spin_world) in hosts {
        let offered = interfaces(&spin, spin_world, true);
        for (name, funcs) in &imports {
            let wanted = track(name);
            let Some((_, host_funcs)) = offered.iter().find(|(n, _)| track(n) == wanted) else {
                panic!(
                    "{host} does not offer {name}; it offers {:?}",
                    offered.iter().map(|(n, _)| n).collect::<Vec<_>>()
                );
            };
            for f in funcs {
                assert!(
                    host_funcs.contains(f),
                    "{host}'s {name} has no function {f}"
                );
            }
        }
    }
}

#[test]
fn component_stays_under_one_mebibyte() {
    let size = std::fs::metadata(wasm_path())
        .expect("built component")
        .len();
    assert!(size <= 1024 * 1024, "component is {size} bytes");
}

#[test]
fn the_documented_import_list_is_the_real_one() {
    let (resolve, world) = component();
    let actual: Vec<String> = interfaces(&resolve, world, true)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/compose-wit.md"))
            .unwrap();
    let listed: Vec<String> = doc
        .split("<!-- imports:begin -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- imports:end -->").next())
        .expect("import list markers in docs/compose-wit.md")
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("- `")?
                .strip_suffix('`')
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        listed, actual,
        "docs/compose-wit.md's import list is out of date"
    );
}
