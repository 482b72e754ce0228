//! The SpinKube example agrees with the variables the component reads: every
//! name is real, every required one is set, every secret comes from a Secret,
//! and the key-value store is shared (Redis).

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

use wxmp::core::config::VARIABLES;

const REQUIRED: [&str; 5] = [
    "app_id",
    "app_secret",
    "token",
    "public_url",
    "session_secret",
];
/// The variables spin.toml marks `secret = true` (tests/manifest.rs holds
/// that list to the contract).
fn secret_variables() -> Vec<String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/spin.toml")).unwrap();
    let manifest: toml::Table = text.parse().unwrap();
    manifest["variables"]
        .as_table()
        .unwrap()
        .iter()
        .filter(|(_, v)| v.get("secret").and_then(toml::Value::as_bool) == Some(true))
        .map(|(k, _)| k.clone())
        .collect()
}

#[test]
fn spinapp_example_is_complete_and_keeps_secrets_in_secrets() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/spinkube/spinapp.yaml"
    ))
    .unwrap();
    let app: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
    assert_eq!(
        app["apiVersion"].as_str(),
        Some("core.spinkube.dev/v1alpha1")
    );
    assert_eq!(app["kind"].as_str(), Some("SpinApp"));
    assert_eq!(
        app["spec"]["executor"].as_str(),
        Some("containerd-shim-spin")
    );
    let secret = secret_variables();
    let vars = app["spec"]["variables"].as_sequence().expect("variables");
    let mut names = Vec::new();
    for v in vars {
        let name = v["name"].as_str().unwrap();
        assert!(VARIABLES.contains(&name), "{name} is not a wxmp variable");
        let from_secret = v["valueFrom"]["secretKeyRef"]["name"].as_str() == Some("wxmp-secrets");
        assert_eq!(
            from_secret,
            secret.iter().any(|s| s == name),
            "{name}: secrets (and only secrets) come from the Secret"
        );
        assert!(
            from_secret || v["value"].as_str().is_some(),
            "{name} has no value"
        );
        names.push(name);
    }
    for r in REQUIRED {
        assert!(names.contains(&r), "required {r} missing");
    }
    let kv = &app["spec"]["runtimeConfig"]["keyValueStores"][0];
    assert_eq!(
        (kv["name"].as_str(), kv["type"].as_str()),
        (Some("default"), Some("redis"))
    );
    assert_eq!(kv["options"][0]["name"].as_str(), Some("url"));
}
