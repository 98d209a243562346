//! Received messages and USSD over HTTP, end to end: the real daemon (`smsgw serve --device sim`),
//! whose simulated network sends a text starting with "echo" back as a received SMS and answers
//! USSD `*100#` with a balance. `GET /messages?box=inbox`, `GET`/`DELETE /messages/<id>`,
//! `GET /ussd`, and `smsgw ussd` asking the running daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a finding

mod http_support;

use http_support::{bin, free_port, sms_query, temp_dir, Server, TOKEN};
use std::process::Command;
use std::time::{Duration, Instant};

fn wait(what: &str, mut pred: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(30);
    while !pred() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn received(server: &Server) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(server.spool.join("incoming"))
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with("in-"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Sends `text` to the simulated network and waits until it came back as the `n`th message.
fn echo(server: &Server, text: &str, n: usize) {
    let r = server.get(&sms_query("+491701234567", text));
    assert_eq!(r.code, 200, "{}", r.body);
    wait("the echo to be received", || received(server).len() >= n);
}

fn delete(server: &Server, target: &str) -> http_support::Response {
    server.raw(format!("DELETE {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
}

/// The value of `"id":"…"` entries in a JSON list, in order.
fn ids(json: &str) -> Vec<String> {
    json.split("\"id\":\"")
        .skip(1)
        .filter_map(|s| s.split('"').next().map(str::to_string))
        .collect()
}

#[test]
fn inbox_lists_received_messages_newest_first_and_by_id() {
    let server = Server::start(&[]);
    echo(&server, "echo first", 1);
    echo(&server, "echo second", 2);
    let r = server.get(&format!("/messages?box=inbox&token={TOKEN}"));
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        r.header("Content-Type").as_deref(),
        Some("application/json")
    );
    let listed = ids(&r.body);
    assert_eq!(listed.len(), 2, "{}", r.body);
    let second = r.body.find("echo second").expect("second listed");
    let first = r.body.find("echo first").expect("first listed");
    assert!(second < first, "newest first: {}", r.body);
    for field in [
        "\"box\":\"inbox\"",
        "\"from\":\"+491701234567\"",
        "\"from_toa\":\"91 international",
        "\"sent\":\"20",
        "\"received\":\"20",
        "\"alphabet\":\"ISO\"",
        "\"length\":11",
        "\"incomplete\":false",
    ] {
        assert!(r.body.contains(field), "{field} missing in {}", r.body);
    }

    let limited = server.get(&format!("/messages?box=inbox&limit=1&token={TOKEN}"));
    assert_eq!(ids(&limited.body), listed[..1], "{}", limited.body);

    let one = server.get(&format!("/messages/{}?token={TOKEN}", listed[0]));
    assert_eq!(one.code, 200, "{}", one.body);
    assert!(one.body.starts_with('{') && one.body.contains("\"text\":\"echo second\""));
    // the entry of the list is the object of GET /messages/<id>
    assert!(
        r.body.contains(one.body.trim()),
        "{} vs {}",
        one.body,
        r.body
    );
}

#[test]
fn a_deleted_received_message_is_gone() {
    let server = Server::start(&[]);
    echo(&server, "echo delete me", 1);
    let id = received(&server).remove(0);
    let target = format!("/messages/{id}?token={TOKEN}");
    let r = delete(&server, &target);
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body, format!("deleted {id}\n"));
    assert!(received(&server).is_empty());
    assert_eq!(server.get(&target).code, 404);
    let again = delete(&server, &target);
    assert_eq!(again.code, 404);
    assert_eq!(again.body, "no such message\n");
}

#[test]
fn deleting_an_outgoing_message_is_refused() {
    let server = Server::start(&[]);
    let r = server.get(&sms_query("+491701234567", "keep me"));
    let id = r
        .body
        .trim()
        .strip_prefix("done ")
        .expect("queued")
        .to_string();
    let r = delete(&server, &format!("/messages/{id}?token={TOKEN}"));
    assert_eq!(r.code, 409, "{}", r.body);
    assert_eq!(r.body.lines().count(), 1);
    assert_eq!(
        server.get(&format!("/messages/{id}?token={TOKEN}")).code,
        200
    );
}

#[test]
fn traversal_ids_are_refused_and_touch_nothing() {
    let server = Server::start(&[]);
    echo(&server, "echo stay", 1);
    let victim = server.dir.join("token");
    std::fs::write(&victim, "x").unwrap();
    for id in [
        "../../token",
        "..%2F..%2Ftoken",
        "in-../../token",
        "in-0123456789abcdef/../../../token",
        "%2e%2e",
    ] {
        let target = format!("/messages/{id}?token={TOKEN}");
        let r = delete(&server, &target);
        assert!(
            (400..500).contains(&r.code) && r.body.lines().count() == 1,
            "{id}: {} {}",
            r.code,
            r.body
        );
        let r = server.get(&target);
        assert!((400..500).contains(&r.code), "{id}: {} {}", r.code, r.body);
    }
    assert!(victim.exists());
    assert_eq!(received(&server).len(), 1);
}

#[test]
fn inbox_ussd_and_delete_need_the_token() {
    let server = Server::start(&[]);
    echo(&server, "echo secret", 1);
    let id = received(&server).remove(0);
    for r in [
        server.get("/messages?box=inbox"),
        server.get(&format!("/messages/{id}")),
        delete(&server, &format!("/messages/{id}")),
        server.get("/ussd?code=*100%23"),
    ] {
        assert_eq!(r.code, 401, "{}", r.body);
        assert!(!r.body.contains("secret"));
    }
    assert_eq!(server.get("/ussd?code=*100%23&token=wrong").code, 403);
    assert_eq!(
        received(&server).len(),
        1,
        "nothing deleted without the token"
    );
    // Bearer works as for sending
    let r = server.raw(
        format!("GET /messages/{id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(r.code, 200, "{}", r.body);
}

#[test]
fn ussd_returns_the_network_reply() {
    let server = Server::start(&[]);
    let r = server.get(&format!("/ussd?code=*100%23&token={TOKEN}"));
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.body, "Balance: 12.34 EUR\nValid until 2027-01-31\n");
    let r = server.raw(
        format!(
            "GET /ussd?code=*101%23 HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\
             Authorization: Bearer {TOKEN}\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(
        r.body,
        "{\"status\":\"ok\",\"code\":\"*101#\",\"reply\":\"Your number is +4915550000000\"}\n"
    );
}

#[test]
fn a_refused_ussd_code_is_a_bad_gateway_line() {
    let server = Server::start(&[]);
    let r = server.get(&format!("/ussd?code=*999%23&token={TOKEN}"));
    assert_eq!(r.code, 502, "{}", r.body);
    assert_eq!(r.body.lines().count(), 1);
}

#[test]
fn bad_ussd_codes_are_refused_with_400() {
    let server = Server::start(&[]);
    for code in ["", "abc", "*100%23%3Brm", "%2A100%22", &"1".repeat(161)] {
        let r = server.get(&format!("/ussd?code={code}&token={TOKEN}"));
        assert_eq!(r.code, 400, "{code}: {}", r.body);
        assert_eq!(r.body.lines().count(), 1, "{}", r.body);
    }
    assert_eq!(server.get(&format!("/ussd?token={TOKEN}")).code, 400);
}

#[test]
fn ussd_with_a_hilink_stick_is_unavailable() {
    let dead = format!("http://127.0.0.1:{}", free_port());
    let server = Server::start(&["--device", &dead]);
    let r = server.get(&format!("/ussd?code=*100%23&token={TOKEN}"));
    assert_eq!(r.code, 503, "{}", r.body);
    assert_eq!(r.body.lines().count(), 1);
}

/// `smsgw ussd ARGS` without a UCI file.
fn ussd_cli(args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .arg("ussd")
        .args(args)
        .env("SMSGW_CONFIG", temp_dir("ussd-cli").join("none"))
        .output()
        .unwrap()
}

fn assert_succeeded_with(out: &std::process::Output, stdout: &str) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), stdout);
}

#[test]
fn ussd_command_asks_the_running_daemon() {
    let server = Server::start(&[]);
    let listen = format!("127.0.0.1:{}", server.port);
    // the device named here does not exist: only the daemon can answer
    let out = ussd_cli(&[
        "--device",
        "/dev/absent-stick",
        "--listen",
        &listen,
        "--token",
        TOKEN,
        "*100#",
    ]);
    assert_succeeded_with(&out, "Balance: 12.34 EUR\nValid until 2027-01-31\n");
    // a wrong token is the daemon's refusal, not a fallback to the device
    let out = ussd_cli(&[
        "--device", "sim", "--listen", &listen, "--token", "wrong", "*100#",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong token"));
}

#[test]
fn ussd_command_opens_the_device_when_no_daemon_answers() {
    let listen = format!("127.0.0.1:{}", free_port());
    let out = ussd_cli(&["--device", "sim", "--listen", &listen, "*101#"]);
    assert_succeeded_with(&out, "Your number is +4915550000000\n");
}

#[test]
fn ussd_without_a_modem_is_unavailable() {
    let server = Server::start(&["--device", "/dev/absent-stick"]);
    wait("the modem thread to wait for the device", || {
        server.get("/status").body.contains("waiting for device")
    });
    let r = server.get(&format!("/ussd?code=*100%23&token={TOKEN}"));
    assert_eq!(r.code, 503, "{}", r.body);
    assert_eq!(r.body, "no modem: waiting for device\n");
}

#[test]
fn ussd_command_on_a_hilink_stick_fails_at_once_instead_of_waiting_for_a_tty() {
    // no daemon answers at this address, so the command would open the device itself
    let listen = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(bin())
        .args([
            "ussd",
            "--device",
            "http://127.0.0.1:9",
            "--listen",
            &listen,
            "*100#",
        ])
        .env("SMSGW_CONFIG", temp_dir("ussd-hilink").join("none"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let finished = child.try_wait().unwrap().is_some();
    if !finished {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(finished, "still waiting after 10 s: {err}");
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err, "smsgw ussd: USSD is not available with this modem\n");
}
