//! Spin's runtime-config.toml, the key-value part:
//!
//! ```toml
//! [key_value_store.default]
//! type = "redis"                 # shared by several hosts
//! url = "redis://127.0.0.1:6379"
//!
//! [key_value_store.other]
//! type = "spin"                  # SQLite; path relative to this file
//! path = "data/kv.db"
//!
//! [key_value_store.scratch]
//! type = "memory"                # wxmp-host's in-process store (tests)
//! ```
//!
//! Without a file, `default` is SQLite at `.spin/sqlite_key_value.db` beside
//! the manifest, as `spin up` does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// Where one store label lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StoreSpec {
    /// In this process only.
    Memory,
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A Redis server.
    Redis(String),
}

#[derive(Deserialize)]
struct RawStore {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize, Default)]
struct Raw {
    #[serde(default)]
    key_value_store: BTreeMap<String, RawStore>,
}

/// The default store: SQLite beside the manifest.
pub(crate) fn default_store(manifest_dir: &Path) -> StoreSpec {
    StoreSpec::Sqlite(manifest_dir.join(".spin").join("sqlite_key_value.db"))
}

/// Reads the store table of a runtime config (`None`: no file given).
pub(crate) fn load(
    file: Option<&Path>,
    manifest_dir: &Path,
) -> Result<BTreeMap<String, StoreSpec>> {
    let mut stores = BTreeMap::from([("default".to_owned(), default_store(manifest_dir))]);
    let Some(file) = file else { return Ok(stores) };
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let base = file.parent().unwrap_or(Path::new("."));
    stores.extend(parse(&text, base).with_context(|| format!("in {}", file.display()))?);
    Ok(stores)
}

fn parse(text: &str, base: &Path) -> Result<BTreeMap<String, StoreSpec>> {
    let raw: Raw = toml::from_str(text).context("not a valid runtime config")?;
    raw.key_value_store
        .into_iter()
        .map(|(label, s)| {
            let spec = match s.kind.as_str() {
                "memory" => StoreSpec::Memory,
                "spin" | "sqlite" => match s.path {
                    Some(p) if p == ":memory:" => StoreSpec::Memory,
                    Some(p) => StoreSpec::Sqlite(base.join(p)),
                    None => StoreSpec::Sqlite(base.join(".spin").join("sqlite_key_value.db")),
                },
                "redis" => StoreSpec::Redis(s.url.with_context(|| {
                    format!("key_value_store.{label}: type \"redis\" needs url")
                })?),
                other => {
                    bail!("key_value_store.{label}: type {other:?} is not spin, redis or memory")
                }
            };
            Ok((label, spec))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spin_formats_parse() {
        let s = parse(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:6379\"\n\
             [key_value_store.b]\ntype = \"spin\"\npath = \"kv.db\"\n[key_value_store.c]\ntype = \"memory\"\n",
            Path::new("/cfg"),
        )
        .unwrap();
        assert_eq!(
            s["default"],
            StoreSpec::Redis("redis://127.0.0.1:6379".into())
        );
        assert_eq!(s["b"], StoreSpec::Sqlite("/cfg/kv.db".into()));
        assert_eq!(s["c"], StoreSpec::Memory);
        assert!(parse("[key_value_store.x]\ntype = \"redis\"\n", Path::new(".")).is_err());
        assert!(parse("[key_value_store.x]\ntype = \"dynamo\"\n", Path::new(".")).is_err());
    }

    #[test]
    fn default_is_sqlite_beside_the_manifest() {
        let s = load(None, Path::new("/app")).unwrap();
        assert_eq!(
            s["default"],
            StoreSpec::Sqlite("/app/.spin/sqlite_key_value.db".into())
        );
    }
}
