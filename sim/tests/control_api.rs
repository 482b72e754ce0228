//! The simulator over loopback HTTP: WeChat paths and the `/__sim/` control API.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;

use wxmp_sim::{Sim, SimConfig};
use wxmp_testkit::http::try_request;

/// Status and body; status 0 when the connection ended without an answer.
fn call(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    try_request(addr, method, path, &[], body.as_bytes())
        .map_or((0, String::new()), |r| (r.status, r.text()))
}

/// A simulator served on `addr` from its own runtime (kept alive by the caller).
fn serve(addr: &str) -> (tokio::runtime::Runtime, Arc<Sim>, SocketAddr) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = Arc::new(Sim::new(SimConfig::default()));
    let server = rt
        .block_on(wxmp_sim::server::start(addr.parse().unwrap(), sim.clone()))
        .unwrap();
    let bound = server.addr;
    (rt, sim, bound)
}

#[test]
fn control_api_counts_injects_and_answers_like_wechat() {
    let (_rt, sim, addr) = serve("127.0.0.1:0");
    let c = sim.config().clone();
    let token_path = format!(
        "/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
        c.app_id, c.app_secret
    );

    let (status, body) = call(
        addr,
        "POST",
        "/__sim/fault",
        r#"{"path":"/cgi-bin/token","times":1,"fault":{"kind":"errcode","errcode":-1}}"#,
    );
    assert_eq!((status, body.as_str()), (200, r#"{"ok":true}"#));
    assert_eq!(
        call(addr, "GET", &token_path, "").1,
        r#"{"errcode":-1,"errmsg":"system error"}"#
    );
    let (_, ok) = call(addr, "GET", &token_path, "");
    assert!(
        ok.contains("\"access_token\":\"ACCESS_TOKEN_") && ok.contains("\"expires_in\":7200"),
        "{ok}"
    );

    call(
        addr,
        "POST",
        "/__sim/fault",
        r#"{"path":"/cgi-bin/token","fault":{"kind":"drop"}}"#,
    );
    assert_eq!(
        call(addr, "GET", &token_path, "").0,
        0,
        "connection dropped without an answer"
    );
    call(
        addr,
        "POST",
        "/__sim/fault",
        r#"{"path":"/cgi-bin/token","fault":{"kind":"status","status":502}}"#,
    );
    assert_eq!(call(addr, "GET", &token_path, "").0, 502);

    let (_, calls) = call(addr, "GET", "/__sim/calls", "");
    assert_eq!(calls, r#"{"/cgi-bin/token":4}"#);
    let (_, code) = call(
        addr,
        "POST",
        "/__sim/code",
        r#"{"user":1,"scope":"snsapi_base"}"#,
    );
    assert!(code.contains("\"code\":\"code_"), "{code}");
    assert_eq!(call(addr, "POST", "/__sim/fault", "not json").0, 400);
    assert_eq!(call(addr, "GET", "/__sim/nope", "").0, 404);
    call(addr, "POST", "/__sim/reset", "");
    assert_eq!(call(addr, "GET", "/__sim/calls", "").1, "{}");
}

/// This machine's address on its default route, if it has one.
fn non_loopback_ip() -> Option<std::net::IpAddr> {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    probe.connect("10.255.255.255:9").ok()?;
    let ip = probe.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn the_control_api_answers_loopback_callers_only() {
    let (_rt, _sim, addr) = serve("0.0.0.0:0");
    let port = addr.port();
    let loopback: SocketAddr = ([127, 0, 0, 1], port).into();
    assert_eq!(call(loopback, "GET", "/__sim/calls", "").0, 200);
    let ip = non_loopback_ip().expect("a machine with a network address besides loopback");
    let remote = SocketAddr::new(ip, port);
    let (status, body) = call(remote, "POST", "/__sim/revoke", "");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("loopback callers only"));
    // WeChat's own paths still answer everyone, as WeChat's do.
    assert_eq!(call(remote, "GET", "/cgi-bin/token", "").0, 200);
}
