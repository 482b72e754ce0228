//! wxmp-host itself: refusing to start without required variables,
//! enforcing allowed_outbound_hosts, logging without secrets, sandbox mode.

// A test crate: unwraps are assertions, helpers are crate-local.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod common;

use std::time::Duration;

use common::*;

#[test]
fn a_missing_required_variable_stops_start_up_by_name() {
    let out = host_command()
        .args(["up", "-f"])
        .arg(repo().join("spin.toml"))
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .env("SPIN_VARIABLE_APP_ID", "wx1")
        .env("SPIN_VARIABLE_TOKEN", "tok123")
        .env("SPIN_VARIABLE_PUBLIC_URL", "https://m.example.com")
        .env("SPIN_VARIABLE_SESSION_SECRET", SESSION_SECRET)
        .env_remove("SPIN_VARIABLE_APP_SECRET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("required variable not set: app_secret (set SPIN_VARIABLE_APP_SECRET)"),
        "{err}"
    );
}

#[test]
fn bad_arguments_are_refused_with_usage() {
    let refused = |args: &[&str]| {
        let out = host_command().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = refused(&["up", "--listen"]);
    assert!(err.contains("'--listen <ADDRESS>'"), "{err}");
    let err = refused(&["up", "--bogus"]);
    assert!(err.contains("'--bogus'"), "{err}");
    assert!(err.contains("Usage: wxmp-host up"), "{err}");
    let err = refused(&["down"]);
    assert!(err.contains("unrecognized subcommand 'down'"), "{err}");
    let err = refused(&[]);
    assert!(err.contains("Usage: wxmp-host <COMMAND>"), "{err}");
}

#[test]
fn version_and_help_are_printed() {
    let out = host_command().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        concat!("wxmp-host ", env!("CARGO_PKG_VERSION"))
    );
    let out = host_command().args(["up", "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for option in [
        "--listen",
        "--runtime-config-file",
        "--sandbox",
        "--log",
        "--from",
    ] {
        assert!(help.contains(option), "{option} missing from:\n{help}");
    }
    assert!(help.contains("[default: 127.0.0.1:3000]"), "{help}");
}

#[test]
fn outbound_hosts_outside_the_allow_list_are_refused() {
    let sim = SimHandle::start();
    let dir = temp_dir("e2e-manifest");
    let mut cfg = HostConfig::new(&sim, Store::Memory);
    cfg.manifest = manifest_with_outbound(&dir, &["https://api.weixin.qq.com"]);
    let host = Host::start(cfg);
    let r = host.admin_token();
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (502, Some("upstream_unreachable"))
    );
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("allowed_outbound_hosts"),
        "{}",
        r.text()
    );
    assert!(
        sim.sim.all_calls().is_empty(),
        "nothing reached the simulator"
    );
    assert!(
        host.wait_log("refused: not in allowed_outbound_hosts"),
        "{}",
        host.log()
    );
}

#[test]
fn request_log_lines_carry_no_query_secrets() {
    let sim = SimHandle::start();
    let host = Host::start(HostConfig::new(&sim, Store::Memory));
    let mut b = Browser::new(&host);
    b.login("scope=snsapi_userinfo", "&sim_decision=allow");
    host.admin_token();
    let log = eventually(Duration::from_secs(5), "request log lines", || {
        let l = host.log();
        l.contains("GET /oauth/callback 302").then_some(l)
    });
    assert!(log.contains("GET /oauth/login 302"), "{log}");
    let c = sim.sim.config();
    let ticket_or_token = sim.sim.current_ticket(SimHandle::now_ms());
    for secret in [
        c.app_secret.as_str(),
        SESSION_SECRET,
        ADMIN_KEY,
        "?code=",
        "&code=",
        "state=",
        "access_token=",
    ]
    .into_iter()
    .chain(ticket_or_token.as_deref())
    {
        assert!(!log.contains(secret), "{secret:?} in the log:\n{log}");
    }
}

#[test]
fn sandbox_works_with_zero_configuration() {
    let port = free_port();
    let mut cmd = host_command();
    cmd.args([
        "up",
        "--sandbox",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "-f",
    ])
    .arg(repo().join("spin.toml"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SPIN_VARIABLE_") {
            cmd.env_remove(k);
        }
    }
    let (mut child, output) = spawn_logged(cmd);
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let health = eventually(Duration::from_secs(60), "sandbox to serve", || {
        if let Ok(Some(s)) = child.try_wait() {
            panic!("sandbox exited with {s}: {}", output.lock().unwrap());
        }
        try_request(addr, "GET", "/healthz", &[], b"").ok()
    });
    assert_eq!(health.json()["status"], "ok");
    let login = request(addr, "GET", "/oauth/login?scope=snsapi_base", &[], b"");
    assert_eq!(login.status, 302);
    let loc = login.location();
    assert!(loc.starts_with("http://127.0.0.1:"), "{loc}");
    let r = request(
        addr,
        "GET",
        &format!(
            "/jssdk/config?url={}",
            enc(&format!("http://127.0.0.1:{port}/"))
        ),
        &[],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(output
        .lock()
        .unwrap()
        .contains("sandbox: WeChat simulator at http://127.0.0.1:"));
    let _ = child.kill();
    let _ = child.wait();
}
