//! The machine-code cache: compiling wxmp takes seconds, loading its
//! compiled form milliseconds. Loading means running native code from disk,
//! so the cache is kept where only this user can write (a directory of mode
//! 0700 that the user owns; anything looser is not used), each entry is
//! keyed by a SHA-256 of the component bytes and the engine's configuration,
//! carries a SHA-256 of its own contents that is checked before it is
//! loaded, and is written through a fresh, exclusively created temporary
//! file that is renamed into place.

use std::fs::{DirBuilder, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

/// Where the cache lives unless `--cache-dir` says otherwise:
/// `$XDG_CACHE_HOME/wxmp-host`, else `$HOME/.cache/wxmp-host`, else
/// `.spin/wxmp-host-cache` beside the manifest.
pub(crate) fn default_dir(manifest_dir: &Path) -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map_or_else(
            || manifest_dir.join(".spin").join("wxmp-host-cache"),
            |d| d.join("wxmp-host"),
        )
}

/// SHA-256 as a [`Hasher`], so the engine's compatibility hash (which
/// implements `Hash`) can be folded into a stable key.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        0
    }
}

/// The cache key of `component` compiled by `engine`.
pub(crate) fn key(engine: &Engine, component: &[u8]) -> String {
    let mut h = Sha256Hasher(Sha256::new());
    h.0.update(Sha256::digest(component));
    engine.precompile_compatibility_hash().hash(&mut h);
    hex::encode(h.0.finalize())
}

/// A cache directory fit to hold native code: created 0700 if missing,
/// owned by this user and writable by nobody else.
pub(crate) fn private_dir(dir: &Path) -> Result<&Path> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let meta = std::fs::metadata(dir)?;
    if meta.uid() != rustix::process::geteuid().as_raw() {
        bail!("{} is not owned by this user", dir.display());
    }
    if meta.mode() & 0o022 != 0 {
        bail!(
            "{} is writable by others (mode {:o})",
            dir.display(),
            meta.mode() & 0o777
        );
    }
    Ok(dir)
}

/// The compiled component under `key` in `dir`, if present and intact.
pub(crate) fn load(engine: &Engine, dir: &Path, key: &str) -> Result<Option<Component>> {
    let path = dir.join(format!("{key}.cwasm"));
    let Ok(bytes) = std::fs::read(&path) else {
        return Ok(None);
    };
    let meta = std::fs::metadata(&path)?;
    if meta.uid() != rustix::process::geteuid().as_raw() || meta.mode() & 0o022 != 0 {
        bail!("{} is not this user's own file", path.display());
    }
    let (digest, code) = bytes.split_at(bytes.len().min(32));
    if digest != Sha256::digest(code).as_slice() {
        bail!("{} does not match its checksum", path.display());
    }
    // SAFETY: `code` was written by `Component::serialize` of an engine with
    // this configuration (its hash is part of `key`), into a directory only
    // this user can write, and its checksum was verified just now.
    let component = unsafe { Component::deserialize(engine, code) }
        .map_err(anyhow::Error::from)
        .with_context(|| format!("loading {}", path.display()))?;
    Ok(Some(component))
}

/// Stores `component` under `key` in `dir`.
pub(crate) fn store(component: &Component, dir: &Path, key: &str) -> Result<()> {
    let code = component.serialize().map_err(anyhow::Error::from)?;
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("randomness: {e}"))?;
    let tmp = dir.join(format!("{key}.{}.tmp", hex::encode(random)));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    let written = file
        .write_all(&Sha256::digest(&code))
        .and_then(|()| file.write_all(&code))
        .and_then(|()| file.sync_all());
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, dir.join(format!("{key}.cwasm")))) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// The smallest component there is: the binary header alone.
    const EMPTY: &[u8] = b"\0asm\x0d\0\x01\0";

    fn component(engine: &Engine) -> Component {
        Component::new(engine, EMPTY).unwrap()
    }

    fn engine() -> Engine {
        let mut c = wasmtime::Config::new();
        c.wasm_component_model(true);
        Engine::new(&c).unwrap()
    }

    #[test]
    fn entries_round_trip_and_tampered_ones_are_refused() {
        let engine = engine();
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path().join("cache");
        let dir = private_dir(&cache).unwrap();
        assert_eq!(std::fs::metadata(dir).unwrap().mode() & 0o777, 0o700);
        let key = key(&engine, EMPTY);
        assert_ne!(key, super::key(&engine, b"\0asm"), "keyed by the bytes");
        assert!(load(&engine, dir, &key).unwrap().is_none());
        store(&component(&engine), dir, &key).unwrap();
        assert!(load(&engine, dir, &key).unwrap().is_some());
        let file = dir.join(format!("{key}.cwasm"));
        assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
        // One byte changed: refused, not loaded.
        let mut bytes = std::fs::read(&file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&file, &bytes).unwrap();
        assert!(load(&engine, dir, &key)
            .unwrap_err()
            .to_string()
            .contains("checksum"));
        // No temporary files left behind.
        let names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [format!("{key}.cwasm")]);
    }

    #[test]
    fn a_directory_others_can_write_is_not_used() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("shared");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(private_dir(&dir)
            .unwrap_err()
            .to_string()
            .contains("writable by others"));
    }
}
