//! The simulated account's settings and users: what WeChat's console and
//! the account's followers would have decided before any call.

/// A user of the simulated account: someone who can log in through the
/// simulated consent page, follow the account and receive its messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimUser {
    /// The openid within the simulated account.
    pub openid: String,
    /// The unionid, if the account is bound to an Open Platform account.
    pub unionid: Option<String>,
    /// Nickname.
    pub nickname: String,
    /// 0, 1 or 2.
    pub sex: u8,
    /// Province.
    pub province: String,
    /// City.
    pub city: String,
    /// Country.
    pub country: String,
    /// Avatar URL.
    pub headimgurl: String,
    /// Whether the user follows the account at the start: `cgi-bin/user/info`
    /// answers `subscribe: 1` with the profile, template messages need it.
    pub follows: bool,
    /// When the user last followed (Unix seconds), `subscribe_time` in `user/info`.
    pub subscribe_time: u64,
}

/// The simulated account's settings.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The AppID the simulator accepts.
    pub app_id: String,
    /// The AppSecret the simulator accepts.
    pub app_secret: String,
    /// Lifetime of access tokens and tickets, in seconds.
    pub token_ttl_secs: u64,
    /// Lifetime of OAuth codes, in seconds.
    pub code_ttl_secs: u64,
    /// The server-configuration Token pushes are signed with.
    pub server_token: String,
    /// The EncodingAESKey safe-mode pushes are encrypted with.
    pub encoding_aes_key: String,
    /// The Official Account's original id (`gh_…`), the `ToUserName` of pushes.
    pub original_id: String,
    /// The users; the first one logs in unless `sim_user` picks another.
    pub users: Vec<SimUser>,
    /// The template ids the account has added (`message/template/send`
    /// answers 40037 for any other).
    pub template_ids: Vec<String>,
    /// What `cgi-bin/getcallbackip` lists: the addresses WeChat pushes from.
    pub callback_ips: Vec<String>,
    /// What `cgi-bin/get_api_domain_ip` lists: where api.weixin.qq.com resolves.
    pub api_domain_ips: Vec<String>,
    /// The address `callback/check` reports the account's callback domain
    /// resolving to.
    pub callback_server_ip: String,
    /// That address's operator as `callback/check` reports it
    /// (`CHINANET`, `UNICOM` or `CAP`).
    pub callback_server_operator: String,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            app_id: "wx5f2b3c4d5e6f7a8b".into(),
            app_secret: "sim0app0secret0000000000000000ab".into(),
            token_ttl_secs: 7200,
            code_ttl_secs: 300,
            server_token: "simtoken".into(),
            encoding_aes_key: "SimEncodingAesKey0123456789abcdefghijklmnop".into(),
            original_id: "gh_5f2b3c4d5e6f".into(),
            users: vec![
                // Alice follows the account; Bob only logs in through web
                // OAuth, so he can be told apart in `user/info` and messages.
                SimUser {
                    openid: "oSIMuser0000000000000000001".into(),
                    unionid: Some("uSIMunion000000000000000001".into()),
                    nickname: "微信用户 Alice".into(),
                    sex: 2,
                    province: "广东".into(),
                    city: "深圳".into(),
                    country: "中国".into(),
                    headimgurl: "https://thirdwx.qlogo.cn/sim/alice/132".into(),
                    follows: true,
                    subscribe_time: 1_690_000_000,
                },
                SimUser {
                    openid: "oSIMuser0000000000000000002".into(),
                    unionid: None,
                    nickname: "Bob".into(),
                    sex: 1,
                    province: "Beijing".into(),
                    city: "Beijing".into(),
                    country: "CN".into(),
                    headimgurl: "https://thirdwx.qlogo.cn/sim/bob/132".into(),
                    follows: false,
                    subscribe_time: 0,
                },
            ],
            template_ids: vec!["TPL_ORDER_SHIPPED".into()],
            callback_ips: vec![
                "106.55.206.146".into(),
                "106.55.206.211".into(),
                "101.226.103.0/25".into(),
            ],
            api_domain_ips: vec![
                "101.89.47.18".into(),
                "101.91.34.103".into(),
                "101.226.212.27".into(),
                "183.3.234.152".into(),
            ],
            callback_server_ip: "111.161.64.40".into(),
            callback_server_operator: "UNICOM".into(),
        }
    }
}
