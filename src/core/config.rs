//! Configuration from Spin variables, parsed lazily into typed values.
//!
//! The settings are one table ([`settings!`] below): each line names the
//! variable, its type and how it is read, and the variable list, the parsed
//! cells, the accessors and `/healthz`'s problem list all follow from it.
//! Adding a setting is one line plus its parser.
//!
//! A malformed value does not stop the component: each setting keeps its
//! own [`Problem`], so only the routes that need it answer `500 config`, and
//! `/healthz` lists every problem. A problem names the variable and the
//! reason, never the value (several are secrets, and URLs may carry
//! credentials).

use std::fmt;
use std::sync::{Arc, OnceLock};

use url::Url;

use super::crypto::decode_aes_key;
use super::domain_check::VerifyFile;
use super::error::Error;
use super::gateway::ApiClients;
use super::messages::MessageMode;
use super::mount::Prefix;
use super::origin::{AllowedOrigins, Origin};
use super::types::{AdminKey, AesKey, AppId, AppSecret, ServerToken, SessionSecret};

/// WeChat's production API host.
pub const DEFAULT_API_BASE: &str = "https://api.weixin.qq.com";
/// WeChat's documented standby API host, used on transport errors.
pub const DEFAULT_API_FALLBACK_BASE: &str = "https://api2.weixin.qq.com";
/// WeChat's OAuth host.
pub const DEFAULT_OAUTH_BASE: &str = "https://open.weixin.qq.com";
/// WeChat's JS-SDK script, as its documentation names it.
pub const DEFAULT_JSSDK_SCRIPT_URL: &str = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js";

/// How the access_token is obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenMode {
    /// `POST /cgi-bin/stable_token`: the same token while valid, so several
    /// services can share an account without invalidating each other.
    Stable,
    /// `GET /cgi-bin/token`: every fetch invalidates the previous token.
    Classic,
}

/// What becomes of a webhook reply that arrives after the push's budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LateReply {
    /// Dropped (logged): WeChat already got `success`.
    None,
    /// Sent to the user as a customer-service message.
    CustomerService,
}

/// Why a variable cannot be used: the variable and the reason, never its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The variable's name.
    pub variable: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.reason)
    }
}

/// One setting: its value, or the problem that stops it.
pub type Setting<T> = Result<T, Problem>;

/// How one setting is read: from the configuration and its own variable
/// name, to the value or the reason it is unusable.
type Reader<T> = fn(&Config, &'static str) -> Result<T, String>;

/// Where variables come from (Spin's `variables::get` in the component).
type Source = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The configuration, read and parsed lazily: a variable is fetched and
/// parsed the first time a route needs it. Each request gets a fresh
/// component instance, so reading every variable eagerly would pay a host
/// call and a parse for settings most routes never look at.
#[derive(Clone)]
pub struct Config {
    source: Source,
    cells: Cells,
}

/// Never prints values: several are secrets.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config").finish_non_exhaustive()
    }
}

/// The settings table: `name: Type = reader;`, in the README's order.
macro_rules! settings {
    ($($(#[$doc:meta])* $name:ident: $ty:ty = $read:expr;)*) => {
        /// Every variable wxmp reads, in the order the README documents them.
        pub const VARIABLES: &[&str] = &[$(stringify!($name)),*];

        /// Each setting, parsed once.
        #[derive(Clone, Default)]
        struct Cells {
            $($name: OnceLock<Setting<$ty>>,)*
        }

        impl Config {
            $(
                $(#[$doc])*
                pub fn $name(&self) -> &Setting<$ty> {
                    self.cells.$name.get_or_init(|| {
                        let read: Reader<$ty> = $read;
                        read(self, stringify!($name)).map_err(|reason| Problem {
                            variable: stringify!($name),
                            reason,
                        })
                    })
                }
            )*

            /// Every problem, one per variable, for `/healthz`.
            pub fn problems(&self) -> Vec<Problem> {
                let mut problems = Vec::new();
                $(
                    if let Err(p) = self.$name() {
                        problems.push(p.clone());
                    }
                )*
                problems
            }
        }
    };
}

settings! {
    /// `app_id`: the Official Account's AppID.
    app_id: AppId = |c, name| c.required(name).and_then(|v| parse_app_id(&v));
    /// `app_secret`: mints access tokens; never leaves the server.
    app_secret: AppSecret = |c, name| c.required(name).map(|v| AppSecret::new(v.trim()));
    /// `token`: the server-configuration Token that signs pushes.
    token: ServerToken = |c, name| c.required(name).and_then(|v| parse_server_token(&v));
    /// `encoding_aes_key`, decoded; `None` when unset (plaintext pushes only).
    encoding_aes_key: Option<AesKey> = |c, name| c.optional(name, decode_aes_key);
    /// `message_mode`: which pushes are accepted (default: safe with an
    /// `encoding_aes_key`, plaintext without).
    message_mode: MessageMode = |c, name| {
        let has_key = c.encoding_aes_key().as_ref().map(Option::is_some);
        match (c.raw(name).as_deref().map(str::trim), has_key) {
            (None, Ok(true)) => Ok(MessageMode::Safe),
            (None, Ok(false)) => Ok(MessageMode::Plaintext),
            (None, Err(_)) => Err("follows encoding_aes_key, which is not usable".into()),
            (Some("plaintext"), _) => Ok(MessageMode::Plaintext),
            (Some("compat"), Ok(true)) => Ok(MessageMode::Compat),
            (Some("safe"), Ok(true)) => Ok(MessageMode::Safe),
            (Some(mode @ ("compat" | "safe")), _) => Err(format!("{mode} needs a usable encoding_aes_key")),
            (Some(_), _) => Err("must be one of \"plaintext\", \"compat\", \"safe\"".into()),
        }
    };
    /// `public_url`: the site's external origin (`scheme://host[:port]`).
    public_url: Url = |c, name| c.required(name).and_then(|v| parse_origin_url(&v));
    /// `base_path`: where wxmp is mounted, when Spin's route should not
    /// decide (`/` for the root); `None` follows the route.
    base_path: Option<Prefix> = |c, name| c.optional(name, Prefix::parse);
    /// `allowed_origins`, defaulting to the origin of `public_url`.
    allowed_origins: AllowedOrigins = |c, name| match (c.raw(name), c.public_url()) {
        (Some(list), _) => AllowedOrigins::parse_list(&list),
        (None, Ok(url)) => Ok(AllowedOrigins::new(Origin::of(url).into_iter().collect())),
        (None, Err(_)) => Err("defaults to public_url's origin, which is not usable".into()),
    };
    /// `session_secret`: keys the MACs of states and session cookies.
    session_secret: SessionSecret = |c, name| {
        c.required(name).and_then(|v| {
            SessionSecret::new(v.into_bytes())
                .ok_or_else(|| format!("must be at least {} bytes", SessionSecret::MIN_LEN))
        })
    };
    /// `admin_key`; `None` disables the routes for trusted backends.
    admin_key: Option<AdminKey> = |c, name| c.optional(name, parse_admin_key);
    /// `api_clients`: named gateway clients with their keys and prefixes.
    api_clients: ApiClients = |c, name| c.raw(name).map_or(Ok(ApiClients::default()), |v| ApiClients::parse(&v));
    /// `token_mode`: how the access_token is fetched.
    token_mode: TokenMode = |c, name| {
        c.choice(name, &[("stable", TokenMode::Stable), ("classic", TokenMode::Classic)])
    };
    /// `api_base`: WeChat's API host (or a proxy, or the simulator).
    api_base: Url = |c, name| parse_base_url(c.raw(name).as_deref().unwrap_or(DEFAULT_API_BASE));
    /// `api_fallback_base`: tried when `api_base` cannot be reached.
    api_fallback_base: Option<Url> = |c, name| {
        // WeChat's standby host only backs WeChat's own host: with api_base
        // pointed elsewhere (a proxy, the simulator) the default fallback is
        // dropped, also when a manifest spells the default out.
        let official_api = c.raw("api_base").is_none_or(|v| same_url(&v, DEFAULT_API_BASE));
        match c.raw(name).as_deref() {
            Some(v) if v.trim() == "none" => Ok(None),
            Some(v) if !official_api && same_url(v, DEFAULT_API_FALLBACK_BASE) => Ok(None),
            Some(v) => parse_base_url(v).map(Some),
            None if official_api => parse_base_url(DEFAULT_API_FALLBACK_BASE).map(Some),
            None => Ok(None),
        }
    };
    /// `oauth_base`: WeChat's OAuth host.
    oauth_base: Url = |c, name| parse_base_url(c.raw(name).as_deref().unwrap_or(DEFAULT_OAUTH_BASE));
    /// `message_webhook`; `None` when pushes are only acknowledged.
    message_webhook: Option<Url> = |c, name| c.optional(name, parse_url);
    /// `late_reply`: what becomes of a webhook reply that comes after the
    /// push's time budget (`none`, the default, or `customer_service`).
    late_reply: LateReply = |c, name| {
        c.choice(name, &[("none", LateReply::None), ("customer_service", LateReply::CustomerService)])
    };
    /// `demo`: serve the demo page at `/` (off in production).
    demo: bool = |c, name| c.choice(name, &[("false", false), ("true", true)]);
    /// `jssdk_script_url`: the jweixin script the demo page loads.
    jssdk_script_url: Url = |c, name| parse_url(c.raw(name).as_deref().unwrap_or(DEFAULT_JSSDK_SCRIPT_URL));
    /// `domain_verify_file`: WeChat's domain check file to serve, if any.
    domain_verify_file: Option<VerifyFile> = |c, name| c.optional(name, VerifyFile::parse);
}

/// Hands out a setting or the `Error::Config` that names its problem.
pub fn need<T>(setting: &Setting<T>) -> Result<&T, Error> {
    setting
        .as_ref()
        .map_err(|problem| Error::Config(problem.to_string()))
}

impl Config {
    /// A configuration that reads variables through `get` when first needed
    /// (an unset or blank value counts as unset).
    pub fn load(get: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self {
            source: Arc::new(get),
            cells: Cells::default(),
        }
    }

    /// The variable's value, if set and not blank.
    fn raw(&self, name: &str) -> Option<String> {
        (self.source)(name).filter(|v| !v.trim().is_empty())
    }

    fn required(&self, name: &str) -> Result<String, String> {
        self.raw(name).ok_or_else(|| "not set".to_owned())
    }

    /// An optional setting: unset is `Ok(None)`, a value must parse.
    fn optional<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, String> {
        self.raw(name).map(|v| parse(&v)).transpose()
    }

    /// One of a few words; the first is the default.
    fn choice<T: Copy>(&self, name: &str, words: &[(&str, T)]) -> Result<T, String> {
        let Some(value) = self.raw(name) else {
            return Ok(words[0].1);
        };
        words
            .iter()
            .find(|(word, _)| *word == value.trim())
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                let names: Vec<String> = words.iter().map(|(w, _)| format!("{w:?}")).collect();
                format!("must be one of {}", names.join(", "))
            })
    }
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim().trim_end_matches('/').eq_ignore_ascii_case(b)
}

fn parse_app_id(raw: &str) -> Result<AppId, String> {
    let v = raw.trim();
    if v.is_empty()
        || v.len() > 64
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err("must be letters, digits, '_' or '-' (e.g. wx + 16 hex digits)".into());
    }
    Ok(AppId::new(v))
}

fn parse_server_token(raw: &str) -> Result<ServerToken, String> {
    let v = raw.trim();
    // WeChat's console accepts 3-32 letters and digits.
    if !(3..=32).contains(&v.len()) || !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(
            "must be 3 to 32 letters or digits, as in WeChat's server configuration".into(),
        );
    }
    Ok(ServerToken::new(v))
}

fn parse_admin_key(raw: &str) -> Result<AdminKey, String> {
    let v = raw.trim();
    if v.len() < 16 {
        return Err("must be at least 16 characters".into());
    }
    Ok(AdminKey::new(v))
}

/// An http(s) URL without userinfo or fragment. The reason never quotes
/// the value: it may hold credentials.
fn parse_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http(s) URL".into());
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err("must not carry userinfo or a fragment".into());
    }
    Ok(url)
}

/// The site's origin: `public_url` names scheme, host and port only; where
/// wxmp sits below it is the mount prefix's business.
fn parse_origin_url(raw: &str) -> Result<Url, String> {
    let url = parse_base_url(raw)?;
    if url.path() != "/" {
        return Err("must be the site's origin (scheme://host[:port]); wxmp's mount prefix comes from its Spin route or base_path".into());
    }
    Ok(url)
}

/// A base URL: no query, so paths append cleanly.
fn parse_base_url(raw: &str) -> Result<Url, String> {
    let url = parse_url(raw)?;
    if url.query().is_some() {
        return Err("must not have a query".into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Config {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load(move |k| map.get(k).cloned())
    }

    fn good() -> Vec<(&'static str, &'static str)> {
        vec![
            ("app_id", "wx2c2769f8efd9abc2"),
            ("app_secret", "0123456789abcdef0123456789abcdef"),
            ("token", "spamtest"),
            ("public_url", "https://m.example.com"),
            ("session_secret", "0123456789abcdef0123456789abcdef"),
        ]
    }

    fn problems(c: &Config) -> Vec<String> {
        c.problems().iter().map(Problem::to_string).collect()
    }

    #[test]
    fn minimal_configuration_has_no_problems_and_sane_defaults() {
        let c = load(&good());
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        assert_eq!(c.token_mode(), &Ok(TokenMode::Stable));
        assert_eq!(c.demo(), &Ok(false));
        assert_eq!(
            c.api_base().as_ref().unwrap().as_str(),
            "https://api.weixin.qq.com/"
        );
        assert_eq!(
            c.api_fallback_base()
                .as_ref()
                .unwrap()
                .as_ref()
                .unwrap()
                .as_str(),
            "https://api2.weixin.qq.com/"
        );
        assert_eq!(
            c.oauth_base().as_ref().unwrap().as_str(),
            "https://open.weixin.qq.com/"
        );
        let origins: Vec<String> = c
            .allowed_origins()
            .as_ref()
            .unwrap()
            .iter()
            .map(|o| o.to_string())
            .collect();
        assert_eq!(origins, ["https://m.example.com"]);
        assert!(matches!(c.encoding_aes_key(), Ok(None)));
        assert_eq!(c.message_mode(), &Ok(MessageMode::Plaintext));
        assert!(matches!(c.admin_key(), Ok(None)));
        assert!(matches!(c.message_webhook(), Ok(None)));
    }

    #[test]
    fn variables_are_read_when_first_needed_and_never_printed() {
        let reads = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let seen = reads.clone();
        let c = Config::load(move |k| {
            seen.lock().unwrap().push(k.to_owned());
            let v = match k {
                "app_id" => "wx2c2769f8efd9abc2",
                "app_secret" => "top-secret-app-secret",
                _ => return None,
            };
            Some(v.to_owned())
        });
        assert!(reads.lock().unwrap().is_empty());
        assert_eq!(need(c.app_id()).unwrap().as_str(), "wx2c2769f8efd9abc2");
        assert_eq!(need(c.app_id()).unwrap().as_str(), "wx2c2769f8efd9abc2");
        assert_eq!(*reads.lock().unwrap(), ["app_id"]);
        let _ = c.app_secret();
        assert!(!format!("{c:?}").contains("top-secret"));
        // /healthz looks at everything.
        assert!(!c.problems().is_empty());
        for name in VARIABLES {
            assert!(
                reads.lock().unwrap().iter().any(|r| r == name),
                "{name} never read"
            );
        }
    }

    #[test]
    fn missing_and_malformed_values_are_named_precisely() {
        let mut pairs = good();
        pairs.retain(|(k, _)| *k != "app_secret");
        pairs.push(("session_secret", "short"));
        pairs.push(("token_mode", "fast"));
        pairs.push(("encoding_aes_key", "tooshort"));
        pairs.push(("public_url", "not a url"));
        let c = load(&pairs);
        let problems = problems(&c);
        for expected in [
            "app_secret: not set",
            "session_secret: must be at least 32 bytes",
            "token_mode: must be one of \"stable\", \"classic\"",
            "encoding_aes_key: must be 43 characters, found 8",
            "public_url: not a URL (relative URL without a base)",
        ] {
            assert!(
                problems.iter().any(|p| p == expected),
                "{expected}: {problems:?}"
            );
        }
        assert_eq!(
            need(c.app_secret()).unwrap_err(),
            Error::Config("app_secret: not set".into())
        );
        // The app id is still usable: one bad variable does not spoil the rest.
        assert_eq!(need(c.app_id()).unwrap().as_str(), "wx2c2769f8efd9abc2");
    }

    #[test]
    fn problems_never_quote_a_value() {
        let mut pairs = good();
        let values = [
            (
                "message_webhook",
                "https://user:hunter2@hooks.example/x#frag",
            ),
            ("api_base", "ftp://secret-host.example"),
            ("public_url", "https://m.example.com/?key=leaky"),
            ("token_mode", "leaky-mode"),
            ("admin_key", "leaky"),
            (
                "allowed_origins",
                "https://ok.example,https://leaky.example/path",
            ),
            (
                "encoding_aes_key",
                "leaky!leaky!leaky!leaky!leaky!leaky!leaky!x",
            ),
        ];
        pairs.extend(values);
        let c = load(&pairs);
        let problems = problems(&c);
        // One each, plus message_mode, which follows the broken key.
        assert_eq!(problems.len(), values.len() + 1, "{problems:?}");
        for p in &problems {
            for word in ["hunter2", "secret-host", "leaky"] {
                assert!(!p.contains(word), "{p}");
            }
        }
    }

    #[test]
    fn empty_values_count_as_unset() {
        let mut pairs = good();
        pairs.push(("admin_key", ""));
        pairs.push(("token_mode", " "));
        let c = load(&pairs);
        assert!(matches!(c.admin_key(), Ok(None)));
        assert_eq!(c.token_mode(), &Ok(TokenMode::Stable));
    }

    #[test]
    fn overridden_api_base_has_no_fallback_unless_given() {
        let mut pairs = good();
        pairs.push(("api_base", "http://127.0.0.1:8080"));
        assert!(matches!(load(&pairs).api_fallback_base(), Ok(None)));
        pairs.push(("api_fallback_base", "http://127.0.0.1:8081"));
        let c = load(&pairs);
        assert_eq!(
            c.api_fallback_base().clone().unwrap().unwrap().as_str(),
            "http://127.0.0.1:8081/"
        );
        let mut pairs = good();
        pairs.push(("api_fallback_base", "none"));
        assert!(matches!(load(&pairs).api_fallback_base(), Ok(None)));
        // A manifest that spells out the default fallback, with api_base overridden.
        let mut pairs = good();
        pairs.push(("api_base", "http://127.0.0.1:8080"));
        pairs.push(("api_fallback_base", "https://api2.weixin.qq.com"));
        assert!(matches!(load(&pairs).api_fallback_base(), Ok(None)));
        let mut pairs = good();
        pairs.push(("api_base", "https://api.weixin.qq.com/"));
        pairs.push(("api_fallback_base", "https://api2.weixin.qq.com"));
        assert!(load(&pairs).api_fallback_base().clone().unwrap().is_some());
    }

    #[test]
    fn bad_origins_and_urls_are_reported_in_table_order() {
        let mut pairs = good();
        pairs.push((
            "allowed_origins",
            "https://ok.example, https://bad.example/path",
        ));
        pairs.push(("message_webhook", "ftp://hooks.example"));
        pairs.push(("admin_key", "short"));
        pairs.push(("app_id", "wx 1"));
        let problems = problems(&load(&pairs));
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("app_id:"));
        assert!(problems[1].starts_with("allowed_origins:"));
        assert!(problems[2].starts_with("admin_key:"));
        assert_eq!(problems[3], "message_webhook: must be an http(s) URL");
    }

    #[test]
    fn message_mode_follows_the_aes_key_unless_given() {
        const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut all = good();
            all.extend_from_slice(pairs);
            load(&all).message_mode().clone().map_err(|p| p.to_string())
        };
        assert_eq!(with(&[("encoding_aes_key", KEY)]), Ok(MessageMode::Safe));
        assert_eq!(with(&[]), Ok(MessageMode::Plaintext));
        assert_eq!(
            with(&[("encoding_aes_key", KEY), ("message_mode", "compat")]),
            Ok(MessageMode::Compat)
        );
        assert_eq!(
            with(&[("encoding_aes_key", KEY), ("message_mode", "plaintext")]),
            Ok(MessageMode::Plaintext)
        );
        assert_eq!(
            with(&[("message_mode", "safe")]),
            Err("message_mode: safe needs a usable encoding_aes_key".into())
        );
        assert_eq!(
            with(&[("encoding_aes_key", "bad")]),
            Err("message_mode: follows encoding_aes_key, which is not usable".into())
        );
        assert_eq!(
            with(&[("message_mode", "loud")]),
            Err("message_mode: must be one of \"plaintext\", \"compat\", \"safe\"".into())
        );
    }
}
