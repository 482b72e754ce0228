//! Configuration from Spin variables, parsed once per request into typed
//! values. A malformed value does not stop the component: each setting keeps
//! its own problem, so only the routes that need it answer `500 config`,
//! and `/healthz` lists every problem.

use base64::engine::general_purpose::GeneralPurposeConfig;
use base64::engine::{DecodePaddingMode, GeneralPurpose};
use base64::Engine;
use std::fmt;
use std::sync::{Arc, OnceLock};

use url::Url;

use super::error::Error;
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

/// Every variable wxmp reads, in the order the README documents them.
pub const VARIABLES: &[&str] = &[
    "app_id",
    "app_secret",
    "token",
    "encoding_aes_key",
    "public_url",
    "allowed_origins",
    "session_secret",
    "admin_key",
    "token_mode",
    "api_base",
    "api_fallback_base",
    "oauth_base",
    "message_webhook",
    "demo",
    "jssdk_script_url",
];

/// How the access_token is obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenMode {
    /// `POST /cgi-bin/stable_token`: the same token while valid, so several
    /// services can share an account without invalidating each other.
    Stable,
    /// `GET /cgi-bin/token`: every fetch invalidates the previous token.
    Classic,
}

/// One setting: its value, or the problem (naming the variable) that stops it.
pub type Setting<T> = Result<T, String>;

/// Where variables come from (Spin's `variables::get` in the component).
type Source = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The configuration, read and parsed lazily: a variable is fetched and
/// parsed the first time a route needs it. Each request gets a fresh
/// component instance, so reading all fifteen eagerly would pay fifteen host
/// calls and several URL parses for settings most routes never look at.
#[derive(Clone)]
pub struct Config {
    source: Source,
    cells: Cells,
}

/// Each setting, parsed once.
#[derive(Clone, Default)]
struct Cells {
    app_id: OnceLock<Setting<AppId>>,
    app_secret: OnceLock<Setting<AppSecret>>,
    token: OnceLock<Setting<ServerToken>>,
    aes_key: OnceLock<Setting<Option<AesKey>>>,
    public_url: OnceLock<Setting<Url>>,
    allowed_origins: OnceLock<Setting<AllowedOrigins>>,
    session_secret: OnceLock<Setting<SessionSecret>>,
    admin_key: OnceLock<Setting<Option<AdminKey>>>,
    token_mode: OnceLock<Setting<TokenMode>>,
    api_base: OnceLock<Setting<Url>>,
    api_fallback_base: OnceLock<Setting<Option<Url>>>,
    oauth_base: OnceLock<Setting<Url>>,
    message_webhook: OnceLock<Setting<Option<Url>>>,
    demo: OnceLock<Setting<bool>>,
    jssdk_script_url: OnceLock<Setting<Url>>,
}

/// Never prints values: several are secrets.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config").finish_non_exhaustive()
    }
}

/// Hands out a setting or the `Error::Config` that names its problem.
pub fn need<T>(setting: &Setting<T>) -> Result<&T, Error> {
    setting
        .as_ref()
        .map_err(|problem| Error::Config(problem.clone()))
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

    fn get(&self, name: &str) -> Option<String> {
        (self.source)(name).filter(|v| !v.trim().is_empty())
    }

    fn required(&self, name: &str) -> Setting<String> {
        self.get(name).ok_or_else(|| format!("{name}: not set"))
    }

    /// An optional setting: unset is `Ok(None)`, a value must parse.
    fn optional<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Setting<T>,
    ) -> Setting<Option<T>> {
        self.get(name).map(|v| parse(&v)).transpose()
    }

    /// A URL setting that falls back to `default` when unset.
    fn url_or(
        &self,
        name: &str,
        default: &str,
        parse: fn(&str, &str) -> Setting<Url>,
    ) -> Setting<Url> {
        parse(name, self.get(name).as_deref().unwrap_or(default))
    }

    /// `app_id`.
    pub fn app_id(&self) -> &Setting<AppId> {
        self.cells
            .app_id
            .get_or_init(|| self.required("app_id").and_then(|v| parse_app_id(&v)))
    }

    /// `app_secret`.
    pub fn app_secret(&self) -> &Setting<AppSecret> {
        self.cells.app_secret.get_or_init(|| {
            self.required("app_secret")
                .map(|v| AppSecret::new(v.trim()))
        })
    }

    /// `token` (server configuration Token).
    pub fn token(&self) -> &Setting<ServerToken> {
        self.cells
            .token
            .get_or_init(|| self.required("token").and_then(|v| parse_server_token(&v)))
    }

    /// `encoding_aes_key`, decoded; `Ok(None)` when unset (plaintext mode only).
    pub fn aes_key(&self) -> &Setting<Option<AesKey>> {
        self.cells
            .aes_key
            .get_or_init(|| self.optional("encoding_aes_key", decode_aes_key))
    }

    /// `public_url`.
    pub fn public_url(&self) -> &Setting<Url> {
        self.cells.public_url.get_or_init(|| {
            self.required("public_url")
                .and_then(|v| parse_base_url("public_url", &v))
        })
    }

    /// `allowed_origins`, defaulting to the origin of `public_url`.
    pub fn allowed_origins(&self) -> &Setting<AllowedOrigins> {
        self.cells.allowed_origins.get_or_init(|| {
            match (self.get("allowed_origins"), self.public_url()) {
                (Some(list), _) => {
                    AllowedOrigins::parse_list(&list).map_err(|e| format!("allowed_origins: {e}"))
                }
                (None, Ok(url)) => Ok(AllowedOrigins::new(Origin::of(url).into_iter().collect())),
                (None, Err(_)) => Err(
                    "allowed_origins: defaults to public_url's origin, which is not usable".into(),
                ),
            }
        })
    }

    /// `session_secret`.
    pub fn session_secret(&self) -> &Setting<SessionSecret> {
        self.cells.session_secret.get_or_init(|| {
            self.required("session_secret").and_then(|v| {
                SessionSecret::new(v.into_bytes()).ok_or_else(|| {
                    format!(
                        "session_secret: must be at least {} bytes",
                        SessionSecret::MIN_LEN
                    )
                })
            })
        })
    }

    /// `admin_key`; `Ok(None)` disables `GET /api/token`.
    pub fn admin_key(&self) -> &Setting<Option<AdminKey>> {
        self.cells
            .admin_key
            .get_or_init(|| self.optional("admin_key", parse_admin_key))
    }

    /// `token_mode`.
    pub fn token_mode(&self) -> &Setting<TokenMode> {
        self.cells.token_mode.get_or_init(|| {
            match self.get("token_mode").as_deref().map(str::trim) {
                None | Some("stable") => Ok(TokenMode::Stable),
                Some("classic") => Ok(TokenMode::Classic),
                Some(other) => Err(format!(
                    "token_mode: {other:?} is neither \"stable\" nor \"classic\""
                )),
            }
        })
    }

    /// `api_base`.
    pub fn api_base(&self) -> &Setting<Url> {
        self.cells
            .api_base
            .get_or_init(|| self.url_or("api_base", DEFAULT_API_BASE, parse_base_url))
    }

    /// `api_fallback_base`; `Ok(None)` when there is none.
    pub fn api_fallback_base(&self) -> &Setting<Option<Url>> {
        self.cells.api_fallback_base.get_or_init(|| {
            // WeChat's standby host only backs WeChat's own host: with api_base
            // pointed elsewhere (a proxy, the simulator) the default fallback is
            // dropped, also when a manifest spells the default out.
            let official_api = self
                .get("api_base")
                .is_none_or(|v| same_url(&v, DEFAULT_API_BASE));
            match self.get("api_fallback_base").as_deref() {
                Some(v) if v.trim() == "none" => Ok(None),
                Some(v) if !official_api && same_url(v, DEFAULT_API_FALLBACK_BASE) => Ok(None),
                Some(v) => parse_base_url("api_fallback_base", v).map(Some),
                None if official_api => {
                    parse_base_url("api_fallback_base", DEFAULT_API_FALLBACK_BASE).map(Some)
                }
                None => Ok(None),
            }
        })
    }

    /// `oauth_base`.
    pub fn oauth_base(&self) -> &Setting<Url> {
        self.cells
            .oauth_base
            .get_or_init(|| self.url_or("oauth_base", DEFAULT_OAUTH_BASE, parse_base_url))
    }

    /// `message_webhook`; `Ok(None)` when pushes are only acknowledged.
    pub fn message_webhook(&self) -> &Setting<Option<Url>> {
        self.cells
            .message_webhook
            .get_or_init(|| self.optional("message_webhook", |v| parse_url("message_webhook", v)))
    }

    /// `demo`: serve the demo page at `/` (off in production).
    pub fn demo(&self) -> &Setting<bool> {
        self.cells
            .demo
            .get_or_init(|| match self.get("demo").as_deref().map(str::trim) {
                None | Some("false") => Ok(false),
                Some("true") => Ok(true),
                Some(other) => Err(format!("demo: {other:?} is neither \"true\" nor \"false\"")),
            })
    }

    /// `jssdk_script_url`: the jweixin script the demo page loads.
    pub fn jssdk_script_url(&self) -> &Setting<Url> {
        self.cells
            .jssdk_script_url
            .get_or_init(|| self.url_or("jssdk_script_url", DEFAULT_JSSDK_SCRIPT_URL, parse_url))
    }

    /// Every problem, one line per variable, for `/healthz`.
    pub fn problems(&self) -> Vec<String> {
        fn p<T>(s: &Setting<T>) -> Option<String> {
            s.as_ref().err().cloned()
        }
        [
            p(self.app_id()),
            p(self.app_secret()),
            p(self.token()),
            p(self.aes_key()),
            p(self.public_url()),
            p(self.allowed_origins()),
            p(self.session_secret()),
            p(self.admin_key()),
            p(self.token_mode()),
            p(self.api_base()),
            p(self.api_fallback_base()),
            p(self.oauth_base()),
            p(self.message_webhook()),
            p(self.demo()),
            p(self.jssdk_script_url()),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim().trim_end_matches('/').eq_ignore_ascii_case(b)
}

fn parse_app_id(raw: &str) -> Setting<AppId> {
    let v = raw.trim();
    if v.is_empty()
        || v.len() > 64
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err("app_id: must be letters, digits, '_' or '-' (e.g. wx + 16 hex digits)".into());
    }
    Ok(AppId::new(v))
}

fn parse_server_token(raw: &str) -> Setting<ServerToken> {
    let v = raw.trim();
    // WeChat's console accepts 3-32 letters and digits.
    if !(3..=32).contains(&v.len()) || !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(
            "token: must be 3 to 32 letters or digits, as in WeChat's server configuration".into(),
        );
    }
    Ok(ServerToken::new(v))
}

fn parse_admin_key(raw: &str) -> Setting<AdminKey> {
    let v = raw.trim();
    if v.len() < 16 {
        return Err("admin_key: must be at least 16 characters".into());
    }
    Ok(AdminKey::new(v))
}

/// Decodes the 43-character EncodingAESKey. Keys generated by WeChat may
/// carry non-zero bits after the 256th, which strict decoders reject.
pub fn decode_aes_key(raw: &str) -> Setting<AesKey> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let v = raw.trim();
    if v.len() != 43 {
        return Err(format!(
            "encoding_aes_key: must be 43 characters, found {}",
            v.len()
        ));
    }
    let bytes = LENIENT
        .decode(v)
        .map_err(|_| "encoding_aes_key: not base64 (letters, digits, '+' and '/')".to_string())?;
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "encoding_aes_key: does not decode to 32 bytes".to_string())?;
    Ok(AesKey::new(key))
}

fn parse_url(name: &str, raw: &str) -> Setting<Url> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("{name}: {raw:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{name}: {raw:?} must be an http(s) URL"));
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{name}: {raw:?} must not carry userinfo or a fragment"
        ));
    }
    Ok(url)
}

/// A base URL: no query, and no trailing slash so paths append cleanly.
fn parse_base_url(name: &str, raw: &str) -> Setting<Url> {
    let url = parse_url(name, raw)?;
    if url.query().is_some() {
        return Err(format!("{name}: {raw:?} must not have a query"));
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

    #[test]
    fn minimal_configuration_has_no_problems_and_sane_defaults() {
        let c = load(&good());
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        assert_eq!(c.token_mode(), &Ok(TokenMode::Stable));
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
        assert!(matches!(c.aes_key(), Ok(None)));
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
        let problems = c.problems();
        assert!(
            problems.contains(&"app_secret: not set".to_string()),
            "{problems:?}"
        );
        assert!(
            problems.contains(&"session_secret: must be at least 32 bytes".to_string()),
            "{problems:?}"
        );
        assert!(problems
            .contains(&"token_mode: \"fast\" is neither \"stable\" nor \"classic\"".to_string()));
        assert!(problems.contains(&"encoding_aes_key: must be 43 characters, found 8".to_string()));
        assert!(problems
            .iter()
            .any(|p| p.starts_with("public_url: \"not a url\" is not a URL")));
        assert_eq!(
            need(c.app_secret()).unwrap_err(),
            Error::Config("app_secret: not set".into())
        );
        // The app id is still usable: one bad variable does not spoil the rest.
        assert_eq!(need(c.app_id()).unwrap().as_str(), "wx2c2769f8efd9abc2");
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
    fn aes_key_decodes_leniently() {
        // Tencent's sample key ends in 'G', whose low bits are not zero.
        let key = decode_aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").unwrap();
        assert_eq!(&key.secret()[..4], &[0x69, 0xb7, 0x1d, 0x79]);
        assert!(decode_aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEF!").is_err());
    }

    #[test]
    fn bad_origins_and_urls_are_reported() {
        let mut pairs = good();
        pairs.push((
            "allowed_origins",
            "https://ok.example, https://bad.example/path",
        ));
        pairs.push(("message_webhook", "ftp://hooks.example"));
        pairs.push(("admin_key", "short"));
        pairs.push(("app_id", "wx 1"));
        let problems = load(&pairs).problems();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("app_id:"));
    }
}
