//! The driver's own HTTP: a login through the simulator, cold bursts, and
//! the simulator's call counters.

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};

use wxmp_testkit::http::Jar;

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
    let mut jar = Jar::default();
    let mut url = format!("{base}/oauth/login?scope=snsapi_base&return_to=%2F");
    for _ in 0..4 {
        let cookie = jar.header();
        let mut req = agent.get(&url);
        if !cookie.is_empty() && url.starts_with(base) {
            req = req.header("cookie", &cookie);
        }
        let response = req.call().map_err(|e| format!("GET {url}: {e}"))?;
        let set = response.headers().get_all("set-cookie");
        jar.absorb_headers(
            set.iter()
                .filter_map(|v| Some(("set-cookie", v.to_str().ok()?))),
        );
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
    let cookie = jar.header();
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
