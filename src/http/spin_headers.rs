//! The headers Spin appends to a request for a wasi:http component, told
//! apart from the caller's. Spin keeps every header the client sent and then
//! appends its own (Spin 4's `crates/trigger-http/src/headers.rs`), so a
//! client can send forged `spin-*` copies first: for each name only the
//! last value is the host's. Only those values are exempt from the header
//! limits and trusted for routing.

/// The names Spin appends, in its order.
pub const NAMES: [&str; 7] = [
    "spin-path-info",
    "spin-full-url",
    "spin-matched-route",
    "spin-base-path",
    "spin-raw-component-route",
    "spin-component-route",
    "spin-client-addr",
];

/// For each header (lowercase names, in arrival order), whether the host
/// set it: the last value of each name Spin appends.
pub fn host_set<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<bool> {
    let names: Vec<&str> = names.into_iter().collect();
    let mut set = vec![false; names.len()];
    for spin in NAMES {
        if let Some(last) = names.iter().rposition(|n| n.eq_ignore_ascii_case(spin)) {
            set[last] = true;
        }
    }
    set
}

/// The host's value of `name` (one of [`NAMES`]) among `headers`.
pub fn host_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_value_of_each_spin_name_is_the_hosts() {
        let names = [
            "host",
            "spin-path-info",
            "x-other",
            "spin-component-route",
            "spin-path-info",
            "spin-full-url",
            "spin-component-route",
            "spin-client-addr",
        ];
        assert_eq!(
            host_set(names),
            [false, false, false, false, true, true, true, true]
        );
        let headers: Vec<(String, String)> = [("spin-path-info", "/forged"), ("spin-path-info", "/real")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(host_value(&headers, "spin-path-info"), Some("/real"));
        assert_eq!(host_value(&headers, "spin-full-url"), None);
    }
}
