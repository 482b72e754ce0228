//! The layering, checked: `core/` (pure) ← `flows/` (over `ports`) ←
//! `http/` ← `spin/`. Nothing under `src/core/` may reach a layer above it
//! or an IO crate, so the core stays testable with values alone.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

use std::path::{Path, PathBuf};

/// Modules of this crate that `core` must not use.
const ABOVE_CORE: &[&str] = &["ports", "flows", "http", "spin", "wit"];
/// Crates that do IO (WASI, Spin, wit-bindgen's runtime).
const IO_CRATES: &[&str] = &["wasi", "spin_sdk", "wit_bindgen"];

/// Every reference in `source` to a module above the core or to an IO crate:
/// `crate::flows::…`, `use crate::{core, http}`, `super::super::ports`,
/// `wasi::…`, `spin_sdk::…` (comments are skipped).
fn adapter_references(source: &str) -> Vec<String> {
    let code: String = source
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let starts_word = |at: usize| {
        code[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'))
    };
    let mut found = Vec::new();
    for krate in IO_CRATES {
        let needle = format!("{krate}::");
        for (at, _) in code.match_indices(&needle) {
            if starts_word(at) {
                found.push((at, needle.clone()));
            }
        }
    }
    for root in ["crate::", "super::super::"] {
        for (at, _) in code.match_indices(root) {
            if !starts_word(at) {
                continue;
            }
            let mut rest = &code[at + root.len()..];
            while let Some(r) = rest.strip_prefix("super::") {
                rest = r;
            }
            let first_names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => {
                    let end = group.find('}').unwrap_or(group.len());
                    group[..end]
                        .split(',')
                        .map(|item| item.trim().split("::").next().unwrap_or_default())
                        .collect()
                }
                None => vec![rest
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or_default()],
            };
            if first_names.iter().any(|n| ABOVE_CORE.contains(n)) {
                let end = if rest.starts_with('{') {
                    rest.find('}').map_or(rest.len(), |e| e + 1)
                } else {
                    rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                        .unwrap_or(rest.len())
                };
                found.push((at, format!("{root}{}", &rest[..end])));
            }
        }
    }
    found.sort();
    found.into_iter().map(|(_, r)| r).collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_checker_sees_every_way_of_reaching_an_adapter() {
    let bad =
        "use crate::flows::store;\nuse crate::{core, http};\nfn f() { super::super::ports::Env }\n\
               use spin_sdk::http::Fields;\nlet x = crate::spin::kv::SpinKv;\nuse crate::{wit};";
    assert_eq!(
        adapter_references(bad),
        [
            "crate::flows::store",
            "crate::{core, http}",
            "super::super::ports::Env",
            "spin_sdk::",
            "crate::spin::kv::SpinKv",
            "crate::{wit}"
        ]
    );
    let good = "use super::error::Error;\nuse crate::core::types::AppId;\n// crate::flows in a comment\nuse std::fmt;";
    assert!(adapter_references(good).is_empty());
}

#[test]
fn nothing_in_core_imports_ports_flows_http_or_spin() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core"),
        &mut files,
    );
    assert!(files.len() > 10, "found the core's files");
    let mut violations = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        for r in adapter_references(&source) {
            violations.push(format!("{}: {r}", file.display()));
        }
    }
    assert!(
        violations.is_empty(),
        "core reaches above itself:\n{}",
        violations.join("\n")
    );
}
