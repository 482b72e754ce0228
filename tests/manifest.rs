//! spin.toml agrees with the variables the component reads and with the
//! contract (required, secret, store, outbound hosts, route, source).

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

use std::collections::BTreeSet;

use wxmp::core::config::VARIABLES;

fn manifest() -> toml::Table {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/spin.toml"))
        .expect("spin.toml");
    text.parse().expect("spin.toml is TOML")
}

#[test]
fn declares_every_variable_with_the_contracts_flags() {
    let m = manifest();
    assert_eq!(m["spin_manifest_version"].as_integer(), Some(2));
    let vars = m["variables"].as_table().unwrap();
    let declared: BTreeSet<&str> = vars.keys().map(String::as_str).collect();
    assert_eq!(declared, VARIABLES.iter().copied().collect::<BTreeSet<_>>());
    let flag = |name: &str, f: &str| vars[name].get(f).and_then(|v| v.as_bool()).unwrap_or(false);
    let required: BTreeSet<&str> = VARIABLES
        .iter()
        .copied()
        .filter(|v| flag(v, "required"))
        .collect();
    assert_eq!(
        required,
        BTreeSet::from([
            "app_id",
            "app_secret",
            "token",
            "public_url",
            "session_secret"
        ])
    );
    let secret: BTreeSet<&str> = VARIABLES
        .iter()
        .copied()
        .filter(|v| flag(v, "secret"))
        .collect();
    assert_eq!(
        secret,
        BTreeSet::from([
            "app_secret",
            "token",
            "encoding_aes_key",
            "session_secret",
            "admin_key",
            "api_clients"
        ])
    );
    for (name, v) in vars {
        assert!(
            flag(name, "required") != v.get("default").is_some(),
            "{name}: exactly one of required / default"
        );
    }
}

#[test]
fn the_component_sees_every_variable_store_and_host_it_needs() {
    let m = manifest();
    let trigger = &m["trigger"]["http"].as_array().unwrap()[0];
    assert_eq!(trigger["route"].as_str(), Some("/..."));
    assert_eq!(trigger["component"].as_str(), Some("wxmp"));
    let c = m["component"]["wxmp"].as_table().unwrap();
    assert_eq!(
        c["source"].as_str(),
        Some("target/wasm32-wasip2/release/wxmp.wasm")
    );
    assert_eq!(
        c["key_value_stores"].as_array().unwrap()[0].as_str(),
        Some("default")
    );
    let hosts: Vec<&str> = c["allowed_outbound_hosts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h.as_str())
        .collect();
    assert_eq!(hosts, ["{{ api_base }}", "{{ api_fallback_base }}"]);
    let passed = c["variables"].as_table().unwrap();
    for v in VARIABLES {
        assert_eq!(
            passed[*v].as_str(),
            Some(format!("{{{{ {v} }}}}").as_str()),
            "{v}"
        );
    }
    assert!(c["build"]["command"]
        .as_str()
        .unwrap()
        .contains("--target wasm32-wasip2 --release"));
}

#[test]
fn the_two_accounts_example_passes_every_variable_to_each_account() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/two-accounts/spin.toml"
    ))
    .unwrap();
    let m: toml::Table = text.parse().expect("the example is TOML");
    let app_vars = m["variables"].as_table().unwrap();
    let wanted: BTreeSet<&str> = VARIABLES.iter().copied().collect();
    let mut accounts = 0;
    for (id, c) in m["component"].as_table().unwrap() {
        if !c["source"].as_str().unwrap().ends_with("/wxmp.wasm") {
            continue;
        }
        accounts += 1;
        let passed = c["variables"].as_table().unwrap();
        let names: BTreeSet<&str> = passed.keys().map(String::as_str).collect();
        assert_eq!(names, wanted, "component {id} passes every wxmp variable");
        for (name, template) in passed {
            let referenced = template
                .as_str()
                .unwrap()
                .trim_start_matches("{{")
                .trim_end_matches("}}")
                .trim();
            assert!(
                app_vars.contains_key(referenced),
                "{id}.{name} refers to {referenced}"
            );
            // Secrets stay secret under their account-specific names.
            if ["app_secret", "token", "session_secret"].contains(&name.as_str()) {
                assert_eq!(
                    app_vars[referenced]["secret"].as_bool(),
                    Some(true),
                    "{referenced}"
                );
            }
        }
        assert_eq!(
            c["key_value_stores"].as_array().unwrap()[0].as_str(),
            Some("default")
        );
    }
    assert_eq!(accounts, 2);
    let routes: Vec<&str> = m["trigger"]["http"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["route"].as_str().unwrap())
        .collect();
    assert_eq!(routes, ["/shop/...", "/blog/...", "/..."]);
}
