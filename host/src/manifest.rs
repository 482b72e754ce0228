//! spin.toml (manifest version 2), read the way `spin up` reads it: the
//! application variables, HTTP triggers, and each component's source,
//! variables, key-value stores and allowed outbound hosts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// A declared application variable.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct VariableDecl {
    /// Must have a value at start-up.
    #[serde(default)]
    pub(crate) required: bool,
    /// Used when nothing else provides a value.
    #[serde(default)]
    pub(crate) default: Option<String>,
    /// Never printed.
    #[serde(default)]
    pub(crate) secret: bool,
    /// Free text.
    #[serde(default)]
    pub(crate) description: Option<String>,
}

/// One `[[trigger.http]]`.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct HttpTrigger {
    /// `/...`, `/prefix/...` or an exact path.
    pub(crate) route: String,
    /// The component id.
    pub(crate) component: String,
}

/// One `[component.<id>]`.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ComponentDecl {
    /// Path to the `.wasm`, relative to the manifest.
    pub(crate) source: String,
    /// Outbound HTTP allow-list, possibly with `{{ variable }}` templates.
    #[serde(default)]
    pub(crate) allowed_outbound_hosts: Vec<String>,
    /// Key-value store labels the component may open.
    #[serde(default)]
    pub(crate) key_value_stores: Vec<String>,
    /// Component variables: name → template over application variables.
    #[serde(default)]
    pub(crate) variables: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Triggers {
    #[serde(default)]
    http: Vec<HttpTrigger>,
}

#[derive(Debug, Deserialize)]
struct Application {
    name: String,
}

#[derive(Debug, Deserialize)]
struct Raw {
    spin_manifest_version: u32,
    application: Application,
    #[serde(default)]
    variables: BTreeMap<String, VariableDecl>,
    trigger: Triggers,
    #[serde(default)]
    component: BTreeMap<String, ComponentDecl>,
}

/// A parsed and checked manifest.
#[derive(Clone, Debug)]
pub(crate) struct Manifest {
    /// The application's name.
    pub(crate) name: String,
    /// The directory relative paths are resolved against.
    pub(crate) dir: PathBuf,
    /// Application variables.
    pub(crate) variables: BTreeMap<String, VariableDecl>,
    /// HTTP triggers, in manifest order.
    pub(crate) triggers: Vec<HttpTrigger>,
    /// Components by id.
    pub(crate) components: BTreeMap<String, ComponentDecl>,
}

impl Manifest {
    /// Reads and checks `path`.
    pub(crate) fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, &dir).with_context(|| format!("in {}", path.display()))
    }

    /// Parses manifest text; `dir` anchors relative paths.
    pub(crate) fn parse(text: &str, dir: &Path) -> Result<Self> {
        let raw: Raw = toml::from_str(text).context("not a valid Spin manifest")?;
        if raw.spin_manifest_version != 2 {
            bail!(
                "spin_manifest_version {} is not supported (only 2)",
                raw.spin_manifest_version
            );
        }
        for name in raw.variables.keys() {
            check_variable_name(name)?;
        }
        for (name, decl) in &raw.variables {
            if decl.required && decl.default.is_some() {
                bail!("variable {name}: required variables cannot have a default");
            }
        }
        if raw.trigger.http.is_empty() {
            bail!("no [[trigger.http]]: nothing to serve");
        }
        for t in &raw.trigger.http {
            if !raw.component.contains_key(&t.component) {
                bail!(
                    "trigger route {:?} names unknown component {:?}",
                    t.route,
                    t.component
                );
            }
            if !t.route.starts_with('/') {
                bail!("trigger route {:?} must start with '/'", t.route);
            }
        }
        Ok(Self {
            name: raw.application.name,
            dir: dir.to_path_buf(),
            variables: raw.variables,
            triggers: raw.trigger.http,
            components: raw.component,
        })
    }

    /// The component source path, resolved against the manifest directory.
    pub(crate) fn source_path(&self, component: &ComponentDecl) -> PathBuf {
        self.dir.join(&component.source)
    }

    /// The trigger serving `path`, as Spin picks it: an exact route beats
    /// a wildcard, the longest wildcard wins (`/prefix/...` matches the
    /// prefix and everything below it), and of equal routes the last.
    pub(crate) fn route(&self, path: &str) -> Option<RouteMatch<'_>> {
        self.triggers
            .iter()
            .enumerate()
            .filter_map(|(i, t)| route_match_len(&t.route, path).map(|len| (len, i, t)))
            .max_by_key(|(len, _, _)| *len)
            .map(|(_, trigger, t)| RouteMatch {
                trigger,
                component: &t.component,
                route: &t.route,
                path_info: t
                    .route
                    .strip_suffix("/...")
                    .and_then(|prefix| path.strip_prefix(prefix))
                    .unwrap_or_default()
                    .to_owned(),
            })
    }
}

/// The trigger a request matched, and what Spin tells the component of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RouteMatch<'a> {
    /// The trigger's index in [`Manifest::triggers`] (its route names the
    /// request in logs and metrics).
    pub(crate) trigger: usize,
    /// The component id.
    pub(crate) component: &'a str,
    /// The route as the manifest writes it (`/wechat/...`, `/wx`).
    pub(crate) route: &'a str,
    /// The part of the path the route's wildcard matched (`""` for an exact route).
    pub(crate) path_info: String,
}

impl RouteMatch<'_> {
    /// The route without its wildcard: Spin's `spin-component-route`.
    pub(crate) fn component_route(&self) -> &str {
        self.route.strip_suffix("/...").unwrap_or(self.route)
    }

    /// The headers Spin 4 appends for a wasi:http component, in its order
    /// (`crates/trigger-http/src/headers.rs`): the component reads its
    /// mount from them. `host` is the request's Host header, `path_and_query`
    /// its target.
    pub(crate) fn spin_headers(
        &self,
        host: &str,
        path_and_query: &str,
        client: std::net::SocketAddr,
    ) -> [(&'static str, String); 7] {
        [
            ("spin-path-info", self.path_info.clone()),
            ("spin-full-url", format!("http://{host}{path_and_query}")),
            ("spin-matched-route", self.route.to_owned()),
            ("spin-base-path", "/".to_owned()),
            ("spin-raw-component-route", self.route.to_owned()),
            ("spin-component-route", self.component_route().to_owned()),
            ("spin-client-addr", client.to_string()),
        ]
    }
}

fn route_match_len(route: &str, path: &str) -> Option<usize> {
    match route.strip_suffix("/...") {
        Some(prefix) => {
            let matches =
                path == prefix || path.starts_with(&format!("{prefix}/")) || prefix.is_empty();
            matches.then_some(prefix.len())
        }
        None => (route == path).then_some(route.len() + 1),
    }
}

/// Spin's rule: lowercase letters, digits and underscores, starting with a letter.
pub(crate) fn check_variable_name(name: &str) -> Result<()> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        bail!(
            "variable name {name:?}: use lowercase letters, digits and '_', starting with a letter"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
spin_manifest_version = 2
[application]
name = "t"
[variables]
a = { required = true }
b = { default = "x", secret = true }
[[trigger.http]]
route = "/..."
component = "c"
[[trigger.http]]
route = "/api/..."
component = "d"
[component.c]
source = "c.wasm"
[component.d]
source = "d.wasm"
key_value_stores = ["default"]
"#;

    #[test]
    fn parses_and_routes_by_longest_prefix() {
        let m = Manifest::parse(MINIMAL, Path::new("/app")).unwrap();
        let component = |path: &str| m.route(path).map(|r| r.component);
        assert_eq!(component("/"), Some("c"));
        assert_eq!(component("/wx"), Some("c"));
        assert_eq!(component("/api"), Some("d"));
        assert_eq!(component("/api/me"), Some("d"));
        assert_eq!(component("/apix"), Some("c"));
        assert_eq!(m.source_path(&m.components["c"]), Path::new("/app/c.wasm"));
        assert!(m.variables["b"].secret);
    }

    #[test]
    fn refuses_what_spin_refuses() {
        for (bad, why) in [
            (
                MINIMAL.replace("spin_manifest_version = 2", "spin_manifest_version = 1"),
                "version",
            ),
            (
                MINIMAL.replace("component = \"d\"", "component = \"zz\""),
                "unknown component",
            ),
            (
                MINIMAL.replace("a = { required = true }", "A = { required = true }"),
                "variable name",
            ),
            (
                MINIMAL.replace(
                    "a = { required = true }",
                    "a = { required = true, default = \"1\" }",
                ),
                "default",
            ),
            (
                MINIMAL.replace("route = \"/...\"", "route = \"...\""),
                "route",
            ),
        ] {
            assert!(Manifest::parse(&bad, Path::new(".")).is_err(), "{why}");
        }
    }

    #[test]
    fn the_projects_own_manifest_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spin.toml");
        let m = Manifest::load(&path).unwrap();
        assert_eq!(
            m.route("/oauth/callback").map(|r| r.component),
            Some("wxmp")
        );
        assert_eq!(m.components["wxmp"].key_value_stores, ["default"]);
    }

    #[test]
    fn matches_report_what_spin_4_appends() {
        let m = Manifest::parse(
            &MINIMAL
                .replace("route = \"/api/...\"", "route = \"/wechat/...\"")
                .replace(
                    "[component.c]",
                    "[[trigger.http]]\nroute = \"/MP_verify_x.txt\"\ncomponent = \"d\"\n[component.c]",
                ),
            Path::new("/app"),
        )
        .unwrap();
        let client: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
        let cases = [
            (
                "/wechat/oauth/login",
                "d",
                "/wechat/...",
                "/oauth/login",
                "/wechat",
            ),
            ("/wechat", "d", "/wechat/...", "", "/wechat"),
            ("/wechat/", "d", "/wechat/...", "/", "/wechat"),
            ("/shop/x", "c", "/...", "/shop/x", ""),
            (
                "/MP_verify_x.txt",
                "d",
                "/MP_verify_x.txt",
                "",
                "/MP_verify_x.txt",
            ),
        ];
        for (path, component, route, info, component_route) in cases {
            let r = m.route(path).unwrap();
            assert_eq!(
                (r.component, r.route, r.path_info.as_str()),
                (component, route, info),
                "{path}"
            );
            let headers = r.spin_headers("m.example.com", &format!("{path}?q=1"), client);
            let names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
            assert_eq!(names, wxmp::http::spin_headers::NAMES);
            assert_eq!(headers[1].1, format!("http://m.example.com{path}?q=1"));
            assert_eq!(headers[5].1, component_route, "{path}");
            assert_eq!(headers[6].1, "127.0.0.1:9");
        }
    }

    #[test]
    fn an_exact_route_beats_a_wildcard_and_the_last_of_equals_wins() {
        let text = MINIMAL.replace(
            "[component.c]",
            "[[trigger.http]]\nroute = \"/api/me\"\ncomponent = \"c\"\n[[trigger.http]]\nroute = \"/api/...\"\ncomponent = \"c\"\n[component.c]",
        );
        let m = Manifest::parse(&text, Path::new("/app")).unwrap();
        assert_eq!(m.route("/api/me").unwrap().route, "/api/me");
        assert_eq!(
            m.route("/api/x").unwrap().component,
            "c",
            "the later /api/... wins"
        );
    }
}
