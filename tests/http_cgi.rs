//! CGI mode: the binary run the way uhttpd runs `/www/cgi-bin/sms -> /usr/bin/smsgw`, with the
//! request in environment variables and the configuration in a UCI file (`SMSGW_CONFIG`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a finding

mod http_support;
use http_support::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Cgi {
    dir: PathBuf,
    spool: PathBuf,
    uci: PathBuf,
}

impl Cgi {
    fn new(extra_uci: &str) -> Cgi {
        let dir = temp_dir("cgi");
        let spool = dir.join("spool");
        let uci = dir.join("smsgw");
        std::fs::write(
            &uci,
            format!(
                "config smsgw 'main'\n\toption enabled '1'\n\toption device '/dev/ttyUSB0'\n\toption spool '{}'\n\toption token '{TOKEN}'\n\toption no_auth '0'\n\tlist allow_client '127.0.0.0/8'\n\tlist allow_client '192.168.1.0/24'\n\tlist allow_recipient ''\n\toption rate_limit '60'\n\toption duplicate_window '300'\n\toption max_parts '6'\n\toption hook ''\n{extra_uci}",
                spool.display()
            ),
        )
        .unwrap();
        Cgi { dir, spool, uci }
    }

    /// Runs one request; returns (Status code, whole stdout).
    fn run(
        &self,
        method: &str,
        query: &str,
        remote: &str,
        body: &[u8],
        env: &[(&str, &str)],
    ) -> (u16, String) {
        run_cgi(&self.uci, method, query, remote, body, env)
    }

    fn outgoing(&self) -> usize {
        std::fs::read_dir(self.spool.join("outgoing"))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

impl Drop for Cgi {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run_cgi(
    uci: &Path,
    method: &str,
    query: &str,
    remote: &str,
    body: &[u8],
    env: &[(&str, &str)],
) -> (u16, String) {
    let mut cmd = Command::new(bin());
    cmd.env_clear()
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("REQUEST_METHOD", method)
        .env("QUERY_STRING", query)
        .env("REMOTE_ADDR", remote)
        .env("SCRIPT_NAME", "/cgi-bin/sms")
        .env("SMSGW_CONFIG", uci)
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let code = text
        .strip_prefix("Status: ")
        .and_then(|s| s.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no Status line: {text}"));
    assert!(text.contains("\r\nContent-Type: "), "{text}");
    assert!(text.contains("\r\n\r\n"), "{text}");
    (code, text)
}

#[test]
fn seed_query_is_queued_for_the_daemon() {
    let c = Cgi::new("");
    let q = format!("token={TOKEN}&phone=%2B491701234567&message=Disk+full+%C3%A4");
    let (code, out) = c.run("GET", &q, "192.168.1.20", b"", &[]);
    assert_eq!(code, 200, "{out}");
    assert!(
        out.split("\r\n\r\n").nth(1).unwrap().starts_with("done "),
        "{out}"
    );
    let files = wait_queued(&c.spool, 1);
    assert_eq!(files.len(), 1);
    assert!(addressed_to(&files[0], "+491701234567"), "{}", files[0]);
    assert_eq!(body_of(&files[0]), "Disk full ä");
}

#[test]
fn cgi_applies_the_same_rules() {
    let c = Cgi::new("");
    let lan = "192.168.1.20";
    assert_eq!(
        c.run("GET", "phone=%2B491701234567&message=x", lan, b"", &[])
            .0,
        401
    );
    assert_eq!(
        c.run(
            "GET",
            "token=bad&phone=%2B491701234567&message=x",
            lan,
            b"",
            &[]
        )
        .0,
        403
    );
    let q = format!("token={TOKEN}&phone=%2B491701234567&message=x");
    assert_eq!(
        c.run("GET", &q, "203.0.113.9", b"", &[]).0,
        403,
        "client allowlist"
    );
    let inj = format!("token={TOKEN}&phone=%2B49%0AFlash%3A%20yes&message=x");
    assert_eq!(c.run("GET", &inj, lan, b"", &[]).0, 400);
    assert_eq!(
        c.run(
            "GET",
            &format!("token={TOKEN}&phone=%2B491701234567&message=x%ZZ"),
            lan,
            b"",
            &[]
        )
        .0,
        400
    );
    assert_eq!(
        c.run(
            "GET",
            &format!("token={TOKEN}&phone=%2B491701234567"),
            lan,
            b"",
            &[]
        )
        .0,
        400
    );
    assert_eq!(
        c.run(
            "GET",
            &format!("token={TOKEN}&phone=81190&message=x"),
            lan,
            b"",
            &[]
        )
        .0,
        403
    );
    let long = "y".repeat(2000);
    assert_eq!(
        c.run(
            "GET",
            &format!("token={TOKEN}&phone=%2B491701234567&message={long}"),
            lan,
            b"",
            &[]
        )
        .0,
        413
    );
    assert_eq!(c.outgoing(), 0, "nothing may be queued");
    // bearer header and POST body through stdin
    let body = b"phone=%2B491701234567&message=posted";
    let (code, out) = c.run(
        "POST",
        "",
        lan,
        body,
        &[
            ("CONTENT_TYPE", "application/x-www-form-urlencoded"),
            ("HTTP_AUTHORIZATION", &format!("Bearer {TOKEN}")),
            ("HTTP_ACCEPT", "application/json"),
        ],
    );
    assert_eq!(code, 200, "{out}");
    assert!(
        out.contains("Content-Type: application/json") && out.contains("\"status\":\"done\""),
        "{out}"
    );
    assert_eq!(c.outgoing(), 1);
}

#[test]
fn storm_guard_state_is_shared_between_cgi_processes() {
    let c = Cgi::new("\toption rate_limit '3'\n");
    let lan = "127.0.0.1";
    let q = |m: &str| format!("token={TOKEN}&phone=%2B491701234567&message={m}");
    assert_eq!(c.run("GET", &q("a"), lan, b"", &[]).0, 200);
    let (code, out) = c.run("GET", &q("a"), lan, b"", &[]);
    assert_eq!(code, 429, "duplicate across processes: {out}");
    assert!(
        out.contains("duplicate") && out.contains("Retry-After: "),
        "{out}"
    );
    assert_eq!(c.run("GET", &q("b"), lan, b"", &[]).0, 200);
    assert_eq!(c.run("GET", &q("c"), lan, b"", &[]).0, 200);
    let (code, out) = c.run("GET", &q("d"), lan, b"", &[]);
    assert_eq!(code, 429, "{out}");
    assert!(out.contains("rate limit"), "{out}");
    assert_eq!(c.outgoing(), 3);
}

#[test]
fn misconfiguration_fails_closed() {
    let dir = temp_dir("cgi-bad");
    let q = "phone=%2B491701234567&message=x";
    let (code, _) = run_cgi(&dir.join("missing"), "GET", q, "127.0.0.1", b"", &[]);
    assert_eq!(code, 503);
    let uci = dir.join("smsgw");
    let spool = dir.join("spool");
    // no token and no no_auth: refuse rather than run open
    std::fs::write(&uci, format!("config smsgw 'main'\n\toption spool '{}'\n\toption token ''\n\toption token_file '{}'\n", spool.display(), dir.join("nofile").display())).unwrap();
    let (code, out) = run_cgi(&uci, "GET", q, "127.0.0.1", b"", &[]);
    assert_eq!(code, 503, "{out}");
    assert!(
        !spool.join("outgoing").exists()
            || std::fs::read_dir(spool.join("outgoing")).unwrap().count() == 0
    );
    // explicit no_auth works
    std::fs::write(
        &uci,
        format!(
            "config smsgw 'main'\n\toption spool '{}'\n\toption no_auth '1'\n",
            spool.display()
        ),
    )
    .unwrap();
    let (code, out) = run_cgi(&uci, "GET", q, "127.0.0.1", b"", &[]);
    assert_eq!(code, 200, "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The OpenWrt setup end to end: a web server runs `cgi-bin/sms`, a symlink to the binary.
/// busybox httpd stands in for uhttpd (same CGI/1.1 contract).
#[test]
fn symlinked_into_a_real_web_servers_cgi_bin() {
    let c = Cgi::new("");
    let www = c.dir.join("www");
    std::fs::create_dir_all(www.join("cgi-bin")).unwrap();
    std::os::unix::fs::symlink(bin(), www.join("cgi-bin/sms")).unwrap();
    let port = free_port();
    let mut httpd = Command::new("busybox")
        .args(["httpd", "-f", "-p", &format!("127.0.0.1:{port}"), "-h"])
        .arg(&www)
        .env("SMSGW_CONFIG", &c.uci)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("busybox httpd (scripts/install-deps installs busybox)");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < until,
            "busybox httpd did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // the seed's exact curl form
    let out = Command::new("curl")
        .args(["-G", "-s", &format!("http://127.0.0.1:{port}/cgi-bin/sms")])
        .args(["--data-urlencode", &format!("token={TOKEN}")])
        .args(["--data-urlencode", "phone=+491701234567"])
        .args(["--data-urlencode", "message=über CGI"])
        .output()
        .unwrap();
    let body = String::from_utf8_lossy(&out.stdout).to_string();
    let no_token = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!(
            "http://127.0.0.1:{port}/cgi-bin/sms?phone=%2B491701234567&message=x"
        ))
        .output()
        .unwrap();
    let _ = httpd.kill();
    let _ = httpd.wait();
    assert!(body.starts_with("done "), "{body}");
    assert_eq!(String::from_utf8_lossy(&no_token.stdout), "401");
    let files = wait_queued(&c.spool, 1);
    assert_eq!(files.len(), 1);
    assert_eq!(body_of(&files[0]), "über CGI");
}

#[test]
fn cgi_json_body_queues_like_the_daemon_and_refuses_bad_json() {
    let c = Cgi::new("");
    let (code, out) = c.run(
        "POST",
        "",
        "127.0.0.1",
        br#"{"phone": ["+491701234567"], "message": "from CGI as JSON", "flash": false}"#,
        &[
            ("CONTENT_TYPE", "application/json"),
            ("HTTP_AUTHORIZATION", &format!("Bearer {TOKEN}")),
        ],
    );
    assert_eq!(code, 200, "{out}");
    assert!(out.contains("done "), "{out}");
    assert_eq!(c.outgoing(), 1);
    let (code, out) = c.run(
        "POST",
        &format!("token={TOKEN}"),
        "127.0.0.1",
        br#"{"phone": "+491701234567", "message": true}"#,
        &[("CONTENT_TYPE", "application/json; charset=utf-8")],
    );
    assert_eq!(code, 400, "{out}");
    assert!(out.contains("field 'message' must be a string"), "{out}");
    assert_eq!(c.outgoing(), 1, "nothing more queued");
}

/// libfaketime (Debian `faketime`), if installed.
fn libfaketime() -> Option<String> {
    let dirs = std::fs::read_dir("/usr/lib").ok()?;
    dirs.flatten()
        .map(|d| d.path().join("faketime/libfaketime.so.1"))
        .find(|p| p.exists())
        .map(|p| p.display().to_string())
}

#[test]
fn cgi_storm_guard_is_not_reset_by_clock_steps() {
    let Some(lib) = libfaketime() else {
        eprintln!("SKIP: libfaketime not installed (apt-get install faketime)");
        return;
    };
    let c = Cgi::new("");
    let q = format!("token={TOKEN}&phone=%2B491701234567&message=disk+full");
    assert_eq!(c.run("GET", &q, "127.0.0.1", b"", &[]).0, 200);
    // the wall clock steps years back (RTC-less boot) and forward (NTP): same text, same
    // recipient (written the other way) is still a duplicate
    let q2 = format!("token={TOKEN}&phone=00491701234567&message=disk+full");
    for step in ["-5y", "+10y"] {
        let env = [
            ("LD_PRELOAD", lib.as_str()),
            ("FAKETIME", step),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ];
        let (code, out) = c.run("GET", &q2, "127.0.0.1", b"", &env);
        assert_eq!(code, 429, "after a {step} clock step: {out}");
        assert!(out.contains("duplicate"), "{out}");
    }
    assert_eq!(c.outgoing(), 1);
}

#[test]
fn token_written_with_uci_quoting_is_read_exactly() {
    // `uci set smsgw.main.token="it's"` exports as 'it'\''s'
    let c = Cgi::new("\toption token 'it'\\''s'\n");
    let ok = "token=it%27s&phone=%2B491701234567&message=x";
    assert_eq!(c.run("GET", ok, "127.0.0.1", b"", &[]).0, 200);
    let wrong = "token=it%5Cs&phone=%2B491701234567&message=y";
    assert_eq!(c.run("GET", wrong, "127.0.0.1", b"", &[]).0, 403);
}

#[test]
fn a_cgi_body_cut_short_is_refused_not_queued_cut() {
    // the client went away mid-body: uhttpd closes stdin before CONTENT_LENGTH bytes came
    let c = Cgi::new("");
    let body = format!("token={TOKEN}&phone=%2B491701234567&message=Disk+full+on+db");
    let (code, out) = c.run(
        "POST",
        "",
        "127.0.0.1",
        body.as_bytes(),
        &[
            ("CONTENT_LENGTH", "100"),
            ("CONTENT_TYPE", "application/x-www-form-urlencoded"),
        ],
    );
    assert_eq!(code, 400, "{out}");
    assert!(out.ends_with("incomplete request body\n"), "{out}");
    assert_eq!(c.outgoing(), 0);
}
