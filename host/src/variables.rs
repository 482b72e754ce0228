//! Variable values as Spin's environment provider gives them
//! (`SPIN_VARIABLE_<UPPER_NAME>`), defaults, required checks, and the
//! `{{ name }}` templates that component variables and allowed hosts use.

use std::collections::{BTreeMap, HashMap};

use anyhow::{bail, Result};

use crate::manifest::VariableDecl;

/// Resolves every application variable: an override (sandbox), then the
/// environment, then the default. A required variable without a value
/// stops start-up, named.
pub(crate) fn resolve(
    decls: &BTreeMap<String, VariableDecl>,
    env: impl Fn(&str) -> Option<String>,
    overrides: &HashMap<String, String>,
) -> Result<HashMap<String, String>> {
    let mut values = HashMap::new();
    let mut missing = Vec::new();
    for (name, decl) in decls {
        let from_env = env(&format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase()));
        match overrides
            .get(name)
            .cloned()
            .or(from_env)
            .or_else(|| decl.default.clone())
        {
            Some(v) => {
                values.insert(name.clone(), v);
            }
            None if decl.required => missing.push(name.clone()),
            None => {}
        }
    }
    if !missing.is_empty() {
        let hints: Vec<String> = missing
            .iter()
            .map(|n| format!("{n} (set SPIN_VARIABLE_{})", n.to_ascii_uppercase()))
            .collect();
        bail!(
            "required variable{} not set: {}",
            if missing.len() > 1 { "s" } else { "" },
            hints.join(", ")
        );
    }
    Ok(values)
}

/// Renders `{{ name }}` placeholders (spaces optional) from `values`.
pub(crate) fn render(template: &str, values: &HashMap<String, String>) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            bail!("unclosed '{{{{' in {template:?}");
        };
        let name = after[..end].trim();
        match values.get(name) {
            Some(v) => out.push_str(v),
            None => bail!(
                "{template:?} refers to variable {name:?}, which has no value or is not declared"
            ),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decls() -> BTreeMap<String, VariableDecl> {
        BTreeMap::from([
            (
                "app_id".into(),
                VariableDecl {
                    required: true,
                    ..Default::default()
                },
            ),
            (
                "app_secret".into(),
                VariableDecl {
                    required: true,
                    secret: true,
                    ..Default::default()
                },
            ),
            (
                "api_base".into(),
                VariableDecl {
                    default: Some("https://api.weixin.qq.com".into()),
                    ..Default::default()
                },
            ),
        ])
    }

    #[test]
    fn env_overrides_default_and_required_ones_must_be_set() {
        let env = |k: &str| match k {
            "SPIN_VARIABLE_APP_ID" => Some("wx1".to_owned()),
            "SPIN_VARIABLE_APP_SECRET" => Some("s".to_owned()),
            "SPIN_VARIABLE_API_BASE" => Some("http://127.0.0.1:9".to_owned()),
            _ => None,
        };
        let v = resolve(&decls(), env, &HashMap::new()).unwrap();
        assert_eq!(v["api_base"], "http://127.0.0.1:9");
        let v = resolve(
            &decls(),
            |k| (k == "SPIN_VARIABLE_APP_ID").then(|| "wx1".into()),
            &HashMap::from([("app_secret".into(), "o".into())]),
        )
        .unwrap();
        assert_eq!(v["api_base"], "https://api.weixin.qq.com");
        let err = resolve(&decls(), |_| None, &HashMap::new())
            .unwrap_err()
            .to_string();
        assert_eq!(err, "required variables not set: app_id (set SPIN_VARIABLE_APP_ID), app_secret (set SPIN_VARIABLE_APP_SECRET)");
    }

    #[test]
    fn templates_render_and_unknown_names_fail() {
        let v = HashMap::from([("api_base".to_owned(), "http://x".to_owned())]);
        assert_eq!(render("{{ api_base }}", &v).unwrap(), "http://x");
        assert_eq!(render("a{{api_base}}b", &v).unwrap(), "ahttp://xb");
        assert_eq!(render("plain", &v).unwrap(), "plain");
        assert!(render("{{ nope }}", &v).is_err());
        assert!(render("{{ api_base", &v).is_err());
    }
}
