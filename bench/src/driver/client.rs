//! The driver's own HTTP: a login through the simulator, cold bursts, and
//! the simulator's call counters.

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};

/// A client that reports statuses instead of failing on them and never
/// follows redirects (the login walks them itself).
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into()
}

/// Signs in through `base`'s `/oauth/login` (snsapi_base, so the simulator
/// consents at once) and returns the `Cookie` header for `/api/me`.
pub fn login(base: &str) -> Result<String, String> {
    let agent = agent();
    let mut jar: BTreeMap<String, String> = BTreeMap::new();
    let mut url = format!("{base}/oauth/login?scope=snsapi_base&return_to=%2F");
    for _ in 0..4 {
        let cookie = cookie_header(&jar);
        let mut req = agent.get(&url);
        if !cookie.is_empty() && url.starts_with(base) {
            req = req.header("cookie", &cookie);
        }
        let response = req.call().map_err(|e| format!("GET {url}: {e}"))?;
        for set in response.headers().get_all("set-cookie") {
            let pair = set
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                jar.insert(k.trim().to_owned(), v.trim().to_owned());
            }
        }
        let status = response.status().as_u16();
        match response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
        {
            Some(next) if status == 302 => {
                url = next.split('#').next().unwrap_or(next).to_owned();
                if url.starts_with('/') {
                    url = format!("{base}{url}");
                }
            }
            _ => break,
        }
    }
    let cookie = cookie_header(&jar);
    let me = agent
        .get(&format!("{base}/api/me"))
        .header("cookie", &cookie)
        .call()
        .map_err(|e| format!("/api/me: {e}"))?;
    if me.status() != 200 {
        return Err(format!(
            "login through {base} did not sign in (/api/me {})",
            me.status()
        ));
    }
    Ok(cookie)
}

fn cookie_header(jar: &BTreeMap<String, String>) -> String {
    jar.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `n` clients released together on `url`; returns their statuses (0 when
/// a request failed outright), counted.
pub fn burst(url: &str, n: usize) -> BTreeMap<u16, usize> {
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (barrier, url) = (barrier.clone(), url.to_owned());
            std::thread::spawn(move || {
                let agent = agent();
                barrier.wait();
                agent.get(&url).call().map_or(0, |r| r.status().as_u16())
            })
        })
        .collect();
    let mut counts = BTreeMap::new();
    for t in threads {
        *counts.entry(t.join().unwrap_or(0)).or_default() += 1;
    }
    counts
}
