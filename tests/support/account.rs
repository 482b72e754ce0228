//! The deployment both test suites configure wxmp for (the native one in
//! `tests/support`, the end-to-end one in `host/tests/common`): one public
//! URL, two trusted origins, fixed secrets, and the simulator's account.

use std::collections::HashMap;

use wxmp_sim::SimConfig;

/// wxmp's external URL in tests.
pub const PUBLIC_URL: &str = "https://m.example.com";
/// The origins trusted as return_to and JS-SDK pages.
pub const ALLOWED_ORIGINS: &str = "https://m.example.com,http://localhost:3000";
/// `session_secret` in tests.
pub const SESSION_SECRET: &str = "test-session-secret-0123456789abcdef";
/// `admin_key` in tests.
pub const ADMIN_KEY: &str = "test-admin-key-0123456789";

/// Every variable but the WeChat bases and the server Token, which differ
/// between an in-process and a loopback simulator.
pub fn account_vars(sim: &SimConfig, token: &str) -> HashMap<String, String> {
    [
        ("app_id", sim.app_id.as_str()),
        ("app_secret", sim.app_secret.as_str()),
        ("token", token),
        ("public_url", PUBLIC_URL),
        ("allowed_origins", ALLOWED_ORIGINS),
        ("session_secret", SESSION_SECRET),
        ("admin_key", ADMIN_KEY),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}
