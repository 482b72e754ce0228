//! Which mount a request arrived under, decided deliberately: the
//! `base_path` variable when it is set; otherwise the route Spin matched,
//! read only from the values Spin itself appended (a client's forged
//! `spin-*` headers are ignored, see `spin_headers`); otherwise the root.

use super::spin_headers;
use crate::core::mount::Prefix;
use crate::ports::Env;

/// The request's mount prefix, and its path below it (`None` when the path
/// is not under the prefix: a request wxmp does not serve).
pub fn resolve(path: &str, headers: &[(String, String)], env: &Env) -> (Prefix, Option<String>) {
    // A malformed base_path is reported by /healthz; routing then follows
    // Spin's route, so /healthz itself stays reachable.
    let prefix = match env.config.base_path() {
        Ok(Some(configured)) => configured.clone(),
        _ => from_spin(headers).unwrap_or_default(),
    };
    let below = prefix.strip(path).map(str::to_owned);
    (prefix, below)
}

/// The prefix Spin's matched route gives, when Spin said so.
fn from_spin(headers: &[(String, String)]) -> Option<Prefix> {
    let raw = spin_headers::host_value(headers, "spin-raw-component-route")?;
    let component = spin_headers::host_value(headers, "spin-component-route")?;
    Prefix::of_spin_route(raw, component)
}
