//! Black-box tests of the HTTP API against the real binary (`serve --device sim`) over loopback:
//! the seed's curl and busybox wget forms, every status code, auth, allowlists, storm guard.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a finding

mod http_support;
use http_support::*;
use std::process::Command;

fn curl(args: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl (scripts/install-deps installs it)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or((&text, ""));
    (body.to_string(), code.to_string())
}

#[test]
fn seed_curl_form_queues_the_message() {
    let s = Server::start(&[]);
    let (body, code) = curl(&[
        "-G",
        &s.url("/cgi-bin/sms"),
        "--data-urlencode",
        &format!("token={TOKEN}"),
        "--data-urlencode",
        &format!("phone={PHONE}"),
        "--data-urlencode",
        "message=Disk full on db1: Grüße € [ok] & 100% + more",
    ]);
    assert_eq!(code, "200", "{body}");
    assert!(body.starts_with("done "), "{body}");
    let files = wait_queued(&s.spool, 1);
    assert_eq!(files.len(), 1);
    assert!(files[0].contains(&format!("To: {PHONE}\n")), "{}", files[0]);
    assert!(
        files[0].ends_with("\n\nDisk full on db1: Grüße € [ok] & 100% + more"),
        "{}",
        files[0]
    );
}

#[test]
fn seed_busybox_wget_form_with_literal_plus() {
    let s = Server::start(&[]);
    let url = s.url(&format!(
        "/cgi-bin/sms?token={TOKEN}&phone=+491701234567&message=Backup+failed+on+host%20x"
    ));
    let out = Command::new("busybox")
        .args(["wget", "-q", "-O", "-", &url])
        .output()
        .expect("busybox");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("done "));
    let files = wait_queued(&s.spool, 1);
    assert!(files[0].contains("To: +491701234567\n"), "{}", files[0]);
    assert!(
        files[0].ends_with("\n\nBackup failed on host x"),
        "{}",
        files[0]
    );
}

#[test]
fn post_form_bearer_json_and_several_recipients() {
    let s = Server::start(&[]);
    let (body, code) = curl(&[
        "-H",
        &format!("Authorization: Bearer {TOKEN}"),
        "-H",
        "Accept: application/json",
        "--data-urlencode",
        "phone=+491701234567,+491711234567",
        "--data-urlencode",
        "message=hello",
        "--data-urlencode",
        "flash=1",
        &s.url("/cgi-bin/sms"),
    ]);
    assert_eq!(code, "200", "{body}");
    assert!(
        body.starts_with("{\"status\":\"done\",\"ids\":[\""),
        "{body}"
    );
    let ids = body.split_once("\"ids\":[").unwrap().1;
    assert_eq!(ids.matches("\",\"").count(), 1, "two ids: {body}");
    let files = wait_queued(&s.spool, 2);
    assert_eq!(files.len(), 2);
    // a big POST body makes curl send Expect: 100-continue
    let long = "x".repeat(1500);
    let (body, code) = curl(&[
        "-H",
        &format!("Authorization: Bearer {TOKEN}"),
        "--data-urlencode",
        &format!("phone={PHONE}"),
        "--data-urlencode",
        &format!("message={long}"),
        &s.url("/cgi-bin/sms"),
    ]);
    assert!(code == "413" || code == "200", "{code} {body}");
}

#[test]
fn every_error_code_with_a_human_line() {
    let s = Server::start(&["--rate-limit", "0"]);
    let cases: Vec<(String, u16, &str)> = vec![
        (
            format!("/cgi-bin/sms?token={TOKEN}&phone={PHONE}"),
            400,
            "missing",
        ),
        (
            format!("/cgi-bin/sms?token={TOKEN}&message=x"),
            400,
            "missing",
        ),
        (
            format!("/cgi-bin/sms?token={TOKEN}&phone={PHONE}&message=x%ZZ"),
            400,
            "escape",
        ),
        (
            format!("/cgi-bin/sms?token={TOKEN}&phone={PHONE}&message=%FF"),
            400,
            "UTF-8",
        ),
        (
            format!("/cgi-bin/sms?token={TOKEN}&phone=12ab&message=x"),
            400,
            "invalid phone",
        ),
        (
            format!("/cgi-bin/sms?phone={PHONE}&message=x"),
            401,
            "token required",
        ),
        (
            format!("/cgi-bin/sms?token=nope&phone={PHONE}&message=x"),
            403,
            "wrong token",
        ),
        (
            format!("/cgi-bin/sms?token={TOKEN}&phone=81190&message=x"),
            403,
            "not allowed",
        ),
        (sms_query(PHONE, &"long text ".repeat(200)), 413, "too long"),
        ("/nothing".into(), 404, "not found"),
    ];
    for (target, code, word) in cases {
        let r = s.get(&target);
        assert_eq!(r.code, code, "{target}: {r:?}");
        assert!(r.body.contains(word), "{target}: {}", r.body);
        assert_eq!(r.body.lines().count(), 1, "one line: {}", r.body);
    }
    let r = s.raw(b"DELETE /cgi-bin/sms HTTP/1.1\r\n\r\n");
    assert_eq!(r.code, 405);
    let r = s.raw(b"HEAD /cgi-bin/sms?phone=1&message=x HTTP/1.1\r\n\r\n");
    assert_eq!(r.code, 405, "HEAD must never send");
    let r = s.raw(b"POST /cgi-bin/sms HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
    assert_eq!(r.code, 400, "a JSON body without phone and message");
    let r = s.raw(
        b"POST /cgi-bin/sms HTTP/1.1\r\nContent-Type: text/xml\r\nContent-Length: 4\r\n\r\n<a/>",
    );
    assert_eq!(r.code, 415);
    let r = s.raw(b"POST /cgi-bin/sms HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    assert_eq!(r.code, 411);
    let r = s.raw(b"GET / HTTP/3.0\r\n\r\n");
    assert_eq!(r.code, 505);
    assert!(
        s.queued().is_empty(),
        "nothing may be queued: {:?}",
        s.queued()
    );
    let r = s.get(&format!("/cgi-bin/sms?token=nope&phone={PHONE}&message=x"));
    assert!(!r.body.contains(TOKEN) && !r.head.contains(TOKEN));
}

#[test]
fn spool_unavailable_is_503() {
    let s = Server::start(&[]);
    // The gateway re-creates a removed spool at once: replace it until the file wins the race.
    for _ in 0..100 {
        let _ = std::fs::remove_dir_all(&s.spool);
        if std::fs::write(&s.spool, b"not a directory").is_ok() {
            break;
        }
    }
    assert!(std::fs::metadata(&s.spool).unwrap().is_file());
    let r = s.get(&sms_query(PHONE, "x"));
    assert_eq!(r.code, 503, "{r:?}");
}

#[test]
fn header_injection_never_reaches_the_spool() {
    let s = Server::start(&[]);
    for phone in [
        "%2B49%0AFlash%3A%20yes",
        "%2B491701234567%0D%0AFlash:%20yes",
        "%2B491701234567%0A%0Aevil",
        "%2B49170%00123",
        "%2B491701234567%E2%80%A8",
    ] {
        let r = s.get(&format!(
            "/cgi-bin/sms?token={TOKEN}&phone={phone}&message=x"
        ));
        assert_eq!(r.code, 400, "{phone}: {r:?}");
    }
    for raw in [
        &b"GET /cgi-bin/sms?phone=1234567%0A&message=x HTTP/1.1\r\nX: a\rFlash: yes\r\n\r\n"[..],
        &b"GET /cgi-bin/sms?phone=1234567\nFlash: yes&message=x HTTP/1.1\r\n\r\n"[..],
    ] {
        let r = s.raw(raw);
        assert_eq!(r.code, 400, "{r:?}");
    }
    assert!(s.queued().is_empty(), "{:?}", s.queued());
    // headers inside the message are only text of the body
    let r = s.get(&sms_query(PHONE, "hi\n\nTo: +4900\nFlash: yes"));
    assert_eq!(r.code, 200);
    let files = wait_queued(&s.spool, 1);
    let head = files[0].split_once("\n\n").unwrap().0;
    assert!(addressed_to(&files[0], PHONE), "{head}");
    assert!(
        !head.contains("+4900") && !head.contains("Flash: yes"),
        "{head}"
    );
    assert_eq!(body_of(&files[0]), "hi\n\nTo: +4900\nFlash: yes");
}

#[test]
fn csrf_style_requests_without_token_are_refused() {
    let s = Server::start(&[]);
    // what an <img src> or an auto-submitted form sends from a LAN user's browser
    let img = "GET /cgi-bin/sms?phone=%2B900123456789&message=premium HTTP/1.1\r\nHost: router\r\nReferer: http://evil.example/\r\nAccept: image/avif,image/webp,*/*\r\nCookie: a=b\r\n\r\n";
    assert_eq!(s.raw(img.as_bytes()).code, 401);
    let form = "phone=%2B900123456789&message=premium";
    let post = format!("POST /cgi-bin/sms HTTP/1.1\r\nHost: router\r\nOrigin: http://evil.example\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}", form.len());
    let r = s.raw(post.as_bytes());
    assert_eq!(r.code, 401);
    assert_eq!(r.header("WWW-Authenticate").as_deref(), Some("Bearer"));
    assert!(s.queued().is_empty());
}

#[test]
fn client_allowlist_refuses_other_networks() {
    let s = Server::start(&["--allow-client", "10.0.0.0/8"]);
    for t in [sms_query(PHONE, "x"), "/status".into(), "/metrics".into()] {
        let r = s.get(&t);
        assert_eq!(r.code, 403, "{t}: {r:?}");
        assert!(r.body.contains("127.0.0.1 not allowed"));
    }
    assert!(s.queued().is_empty());
    let s = Server::start(&["--allow-client", "127.0.0.1/32"]);
    assert_eq!(s.get(&sms_query(PHONE, "x")).code, 200);
}

#[test]
fn recipient_allowlist_by_prefix() {
    let s = Server::start(&["--allow-recipient", "+49170", "--allow-recipient", "112233"]);
    assert_eq!(s.get(&sms_query("+491701234567", "a")).code, 200);
    assert_eq!(s.get(&sms_query("00491701234567", "b")).code, 200);
    assert_eq!(s.get(&sms_query("112233", "c")).code, 200);
    let r = s.get(&sms_query("+491711234567", "d"));
    assert_eq!(r.code, 403);
    let r = s.get(&sms_query("+491701234567,+441234567890", "e"));
    assert_eq!(r.code, 403, "one bad recipient refuses the request");
    assert_eq!(wait_queued(&s.spool, 3).len(), 3);
}

#[test]
fn rate_limit_answers_429_with_retry_after() {
    let s = Server::start(&["--rate-limit", "3"]);
    for i in 0..3 {
        assert_eq!(s.get(&sms_query(PHONE, &format!("alert {i}"))).code, 200);
    }
    let r = s.get(&sms_query(PHONE, "alert 3"));
    assert_eq!(r.code, 429, "{r:?}");
    assert!(r.body.contains("rate limit"), "{}", r.body);
    let retry: u64 = r.header("Retry-After").unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 3600);
    assert_eq!(wait_queued(&s.spool, 3).len(), 3);
    let m = s.get("/metrics").body;
    assert!(m.contains("smsgw_http_accepted_total 3"), "{m}");
    assert!(m.contains("smsgw_http_rejected_total 1"), "{m}");
}

#[test]
fn duplicate_window_answers_429() {
    let s = Server::start(&["--duplicate-window", "300"]);
    assert_eq!(s.get(&sms_query(PHONE, "disk full")).code, 200);
    let r = s.get(&sms_query(PHONE, "disk full"));
    assert_eq!(r.code, 429);
    assert!(r.body.contains("duplicate"), "{}", r.body);
    assert_eq!(s.get(&sms_query(PHONE, "disk ok")).code, 200);
    assert_eq!(s.get(&sms_query("+491711234567", "disk full")).code, 200);
    assert_eq!(wait_queued(&s.spool, 3).len(), 3);
}

#[test]
fn no_auth_is_an_explicit_opt_in() {
    let s = Server::start(&["--no-auth"]);
    let r = s.get(&format!("/cgi-bin/sms?phone={}&message=x", enc(PHONE)));
    assert_eq!(r.code, 200, "{r:?}");
    assert!(s.log_text().contains("--no-auth"));
}

#[test]
fn normal_messages_are_not_logged_as_errors() {
    // procd logs stdout at daemon.info and stderr at daemon.err
    let s = Server::start(&["--no-auth"]);
    assert!(s.stdout_text().contains("listening on"), "{}", s.log_text());
    assert!(!s.stderr_text().contains("listening on"));
    assert!(
        s.stderr_text().contains("--no-auth"),
        "a warning is for the admin: stderr"
    );
}

#[test]
fn generated_token_is_stored_logged_once_and_never_served() {
    let mut s = Server::start_without_token(&[]);
    let token_file = s.dir.join("token");
    let tf = token_file.to_str().unwrap().to_string();
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(token.len(), 32);
    let log = s.log_text();
    assert_eq!(log.matches(&token).count(), 1, "{log}");
    let ok = s.get(&format!(
        "/cgi-bin/sms?token={token}&phone={}&message=x",
        enc(PHONE)
    ));
    assert_eq!(ok.code, 200);
    assert_eq!(s.get(&sms_query(PHONE, "y")).code, 403);
    for p in ["/status", "/metrics"] {
        let r = s.get(p);
        assert_eq!(r.code, 200);
        assert!(!r.body.contains(&token));
    }
    // `smsgw status` shows it
    let out = Command::new(bin())
        .args([
            "status",
            "--listen",
            &format!("127.0.0.1:{}", s.port),
            "--token-file",
            &tf,
        ])
        .env("SMSGW_CONFIG", s.dir.join("none"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("token: {token}")), "{text}");
    assert!(text.contains("\"uptime_seconds\""), "{text}");
    assert!(s.alive());
}

#[test]
fn status_and_metrics_report_state() {
    let s = Server::start(&[]);
    let r = s.get("/status");
    assert_eq!(r.code, 200);
    assert_eq!(
        r.header("Content-Type").as_deref(),
        Some("application/json")
    );
    for k in [
        "\"version\"",
        "\"uptime_seconds\"",
        "\"state\"",
        "\"signal_dbm\"",
        "\"signal_quality\"",
        "\"registration\"",
        "\"operator\"",
        "\"queue_depth\"",
        "\"sent\"",
        "\"failed\"",
        "\"last_error\"",
    ] {
        assert!(r.body.contains(k), "{k} in {}", r.body);
    }
    let m = s.get("/metrics");
    assert_eq!(m.code, 200);
    assert!(m.body.contains("# TYPE smsgw_sent_total counter"));
    assert!(m.body.contains("\nsmsgw_up 1\n"));
    assert_eq!(
        s.raw(b"POST /status HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
            .code,
        405
    );
}

#[test]
fn the_seeds_exact_lines_work_unchanged_with_no_auth() {
    let s = Server::start(&["--no-auth"]);
    // 003 seed, verbatim apart from host and values
    let out = Command::new("curl")
        .args(["-G", "-s", &s.url("/cgi-bin/sms")])
        .args(["--data-urlencode", "phone=+491701234567"])
        .args(["--data-urlencode", "message=Grüße aus dem Rechenzentrum"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("done "));
    let out = Command::new("busybox")
        .args(["wget", "-q", "-O", "-"])
        .arg(s.url("/cgi-bin/sms?phone=+491711234567&message=Ping+failed"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("done "));
    let files = wait_queued(&s.spool, 2);
    assert_eq!(files.len(), 2);
    let mut bodies: Vec<String> = files.iter().map(|f| body_of(f)).collect();
    bodies.sort();
    assert_eq!(bodies, vec!["Grüße aus dem Rechenzentrum", "Ping failed"]);
}

/// procd logs an instance's stdout at `info` and its stderr at `err`: a routine line on stderr
/// would read `daemon.err` in `logread` for every message sent.
#[test]
fn routine_daemon_lines_go_to_stdout_and_problems_to_stderr() {
    let s = Server::start(&["--no-auth"]);
    let r = s.get("/cgi-bin/sms?phone=%2B491701234567&message=log+levels");
    assert_eq!(r.code, 200, "{}", r.body);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !s.stdout_text().contains("smsgw: sent ") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (out, err) = (s.stdout_text(), s.stderr_text());
    for routine in [
        "smsgw: listening on",
        "smsgw: modem: ready",
        "sim: sent SMS",
        "smsgw: sent ",
    ] {
        assert!(out.contains(routine), "{routine:?} not on stdout:\n{out}");
        assert!(!err.contains(routine), "{routine:?} on stderr:\n{err}");
    }
    assert!(
        err.contains("smsgw: warning: --no-auth"),
        "the warning is not on stderr:\n{err}"
    );
}

#[test]
fn a_missing_token_gets_the_same_401_line_on_every_route() {
    let s = Server::start(&[]);
    let post = |path: &str| {
        s.raw(
            format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}"
            )
            .as_bytes(),
        )
    };
    let answers = [
        s.get(&format!("/cgi-bin/sms?phone={PHONE}&message=x")),
        s.get("/messages"),
        s.get("/ussd?code=*100%23"),
        post("/alertmanager"),
    ];
    for r in &answers {
        assert_eq!(r.code, 401, "{}", r.body);
        // the header first: the form the docs recommend
        assert_eq!(
            r.body,
            "token required: add Authorization: Bearer ... or token=...\n"
        );
    }
}

/// A device that exists but is no serial port (here /dev/null): the log says why it cannot be used,
/// once, instead of only "waiting for device" while it is retried every 300 ms.
#[test]
fn a_device_that_cannot_be_opened_is_logged_with_the_reason_once() {
    let s = Server::start(&["--device", "/dev/null"]);
    let want = "smsgw: warning: modem: cannot open the device: /dev/null: Inappropriate ioctl for device (os error 25)\n";
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !s.stderr_text().contains(want) {
        assert!(std::time::Instant::now() < until, "{}", s.log_text());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_secs(1)); // three more tries
    assert_eq!(s.stderr_text().matches(want).count(), 1, "{}", s.log_text());
}

/// A spool that cannot take new messages (here its `tmp/` replaced by a file): `/status` says so
/// at the first 503 (it followed only the sender, which nothing woke), the log says why once, and
/// both recover with the first message accepted again.
#[test]
fn a_spool_refusing_messages_shows_in_status_and_log_at_once() {
    let s = Server::start(&[]);
    let tmp = s.spool.join("tmp");
    std::fs::remove_dir(&tmp).unwrap();
    std::fs::write(&tmp, "not a directory").unwrap();
    for _ in 0..2 {
        assert_eq!(s.get(&sms_query(PHONE, "refused")).code, 503);
    }
    let status = s.get("/status").body;
    assert!(status.contains("\"spool_writable\":false"), "{status}");
    let want =
        "smsgw: new messages refused (503): spool unavailable: Not a directory (os error 20)\n";
    assert_eq!(s.stderr_text().matches(want).count(), 1, "{}", s.log_text());
    std::fs::remove_file(&tmp).unwrap();
    std::fs::create_dir(&tmp).unwrap();
    assert_eq!(s.get(&sms_query(PHONE, "accepted")).code, 200);
    let status = s.get("/status").body;
    assert!(status.contains("\"spool_writable\":true"), "{status}");
}

/// A HiLink stick that cannot be reached is a problem: logged on stderr (procd's `err`), as the
/// AT modem's errors are, not among the routine lines on stdout.
#[test]
fn an_unreachable_hilink_stick_is_logged_as_a_warning() {
    let s = Server::start(&["--device", "http://127.0.0.1:1"]);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !s.log_text().contains("hilink: error") {
        assert!(std::time::Instant::now() < until, "{}", s.log_text());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let want = "smsgw: warning: hilink: error: HiLink stick: cannot connect";
    assert!(s.stderr_text().contains(want), "{}", s.log_text());
    assert!(!s.stdout_text().contains("hilink"), "{}", s.log_text());
}

/// A recipient prefix that is no number would refuse every message with 403: it stops the start
/// with one line instead. Several prefixes in one item (as a UCI option written `+49,+43`) count
/// one by one.
#[test]
fn a_recipient_prefix_that_is_no_number_stops_the_start_and_a_comma_list_is_split() {
    let out = std::process::Command::new(bin())
        .args([
            "serve",
            "--device",
            "sim",
            "--no-auth",
            "--allow-recipient",
            "+49x",
        ])
        .args(["--listen", "127.0.0.1:0", "--spool"])
        .arg(std::env::temp_dir().join(format!("smsgw-prefix-{}", std::process::id())))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--allow-recipient: '+49x' is not a number prefix"),
        "{err}"
    );
    let s = Server::start(&["--allow-recipient", "+43, +49170"]);
    assert_eq!(s.get(&sms_query(PHONE, "allowed")).code, 200);
    assert_eq!(s.get(&sms_query("+43123456789", "allowed")).code, 200);
    assert_eq!(s.get(&sms_query("+33123456789", "refused")).code, 403);
}
