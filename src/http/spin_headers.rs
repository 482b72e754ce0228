//! The headers Spin appends to a request for a wasi:http component, told
//! apart from the caller's. Spin keeps every header the client sent and then
//! appends its own (Spin 4's `crates/trigger-http/src/headers.rs`), so a
//! client can send forged `spin-*` copies first: for each name only the
//! last value is the host's. Spin 3.x and 4.x always append all seven, so
//! when any is missing the host is not Spin-like and no value is taken as
//! the host's (a client's lone `spin-path-info` is just a header). Only the
//! host's values are exempt from the header limits and trusted for routing.

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
/// set it: the last value of each name Spin appends, when all are there.
pub fn host_set<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<bool> {
    let names: Vec<&str> = names.into_iter().collect();
    let mut set = vec![false; names.len()];
    let last: Vec<Option<usize>> = NAMES
        .iter()
        .map(|spin| names.iter().rposition(|n| n.eq_ignore_ascii_case(spin)))
        .collect();
    if last.iter().all(Option::is_some) {
        for i in last.into_iter().flatten() {
            set[i] = true;
        }
    }
    set
}

/// The host's value of `name` (one of [`NAMES`]) among `headers`, when the
/// host set Spin's headers.
pub fn host_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let set = host_set(headers.iter().map(|(k, _)| k.as_str()));
    headers
        .iter()
        .zip(set)
        .rev()
        .find(|((k, _), host)| *host && k == name)
        .map(|((_, v), _)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_value_of_each_spin_name_is_the_hosts() {
        // A forged path-info and component-route first, then Spin's seven.
        let mut names = vec!["host", "spin-path-info", "x-other", "spin-component-route"];
        names.extend(NAMES);
        let mut expected = vec![false; 4];
        expected.extend([true; 7]);
        assert_eq!(host_set(names.iter().copied()), expected);
        let headers: Vec<(String, String)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                (
                    n.to_string(),
                    if i < 4 { "forged" } else { "real" }.to_string(),
                )
            })
            .collect();
        assert_eq!(host_value(&headers, "spin-path-info"), Some("real"));
        assert_eq!(host_value(&headers, "spin-component-route"), Some("real"));
    }

    #[test]
    fn without_all_of_spins_headers_none_is_the_hosts() {
        let names = ["host", "spin-path-info", "spin-full-url"];
        assert_eq!(host_set(names), [false, false, false]);
        let headers = vec![("spin-path-info".to_owned(), "/forged".to_owned())];
        assert_eq!(host_value(&headers, "spin-path-info"), None);
    }
}
