//! Black-box tests of the HiLink backend: the real binary (`serve --device http://127.0.0.1:P`)
//! against the HiLink stick simulator (scripts/lib/hilink_sim.py) over loopback — HTTP request to
//! SMS on the stick to `sent/`, received SMS to `incoming/` and off the stick, delivery
//! confirmations to the message's state, login problems in `/status`, `smsgw send`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a finding

#[path = "common/hilink_sim.rs"]
mod hilink_sim;
mod http_support;
use hilink_sim::{json_str, Sim};
use http_support::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// The spool files in `dir` (not the `.name` files a write in progress uses).
fn dir_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().is_file() && !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

fn send(server: &Server, text: &str) {
    let q: String = form_urlencoded_like(text);
    let r = server.get(&format!(
        "/cgi-bin/sms?phone=%2B491701234567&message={q}&token={TOKEN}"
    ));
    assert_eq!(r.code, 200, "{}", r.body);
    assert!(r.body.starts_with("done"), "{}", r.body);
}

fn form_urlencoded_like(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn http_requests_go_out_through_the_stick_once_each_and_land_in_sent() {
    let sim = Sim::start(&["--expire-after", "3"]);
    let server = Server::start(&["--device", &sim.url]);
    let long = "Long HiLink alert text. ".repeat(12);
    let texts = [
        "plain GSM text",
        "Grüße 😀 ✓",
        "if a < b && c > d",
        long.as_str(),
    ];
    for t in texts {
        send(&server, t);
    }
    wait_for("4 messages in sent/", || {
        dir_files(&server.spool.join("sent")).len() == 4
    });
    let st = sim.state();
    assert_eq!(st.count("sent"), 4, "{}", st.0);
    for t in texts {
        let once =
            st.0.matches(&format!("\"content\": \"{}\"", json_str(t)))
                .count();
        assert_eq!(once, 1, "{t}: {}", st.0);
    }
    assert!(st.has("125003"), "the session expired mid-queue: {}", st.0);
    for f in dir_files(&server.spool.join("sent")) {
        assert!(f.contains("\nMessage_id: "), "{f}");
    }
    assert_eq!(dir_files(&server.spool.join("failed")).len(), 0);
}

#[test]
fn received_sms_becomes_an_incoming_file_and_is_deleted_from_the_stick() {
    let sim = Sim::start(&[]);
    let server = Server::start(&["--device", &sim.url]);
    sim.inject("+491709998887", "Ping <from> the & stick");
    wait_for("incoming file", || {
        !dir_files(&server.spool.join("incoming")).is_empty()
    });
    let files = dir_files(&server.spool.join("incoming"));
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].starts_with("From: 491709998887\n"), "{}", files[0]);
    assert!(
        files[0].ends_with("\n\nPing <from> the & stick"),
        "{}",
        files[0]
    );
    wait_for("delete on the stick", || sim.state().count("inbox") == 0);
    assert_eq!(sim.state().list("deleted"), Some("[40000]"));
}

/// Sends `text` with a report request; returns the id the gateway answered.
fn send_with_report(server: &Server, text: &str) -> String {
    let r = server.get(&format!(
        "/cgi-bin/sms?phone=%2B491701234567&message={}&report=1&token={TOKEN}",
        form_urlencoded_like(text)
    ));
    assert_eq!(r.code, 200, "{}", r.body);
    r.body
        .trim()
        .strip_prefix("done ")
        .expect("done <id>")
        .to_string()
}

fn message_json(server: &Server, id: &str) -> String {
    server.get(&format!("/messages/{id}?token={TOKEN}")).body
}

#[test]
fn a_delivery_confirmation_makes_the_message_delivered() {
    let sim = Sim::start(&["--reports"]);
    let server = Server::start(&["--device", &sim.url]);
    let id = send_with_report(&server, "did it arrive?");
    wait_for("state delivered", || {
        message_json(&server, &id).contains("\"state\":\"delivered\"")
    });
    let m = message_json(&server, &id);
    assert!(m.contains("\"report\":\"received\""), "{m}");
    // the message's record is rewritten first, then the report file gets its match
    wait_for("the report file names its message", || {
        dir_files(&server.spool.join("report"))
            .iter()
            .any(|r| r.contains("Matched: yes"))
    });
    let reports = dir_files(&server.spool.join("report"));
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].contains(&format!("Message: {id}")),
        "{}",
        reports[0]
    );
    wait_for("confirmation deleted on the stick", || {
        sim.state().count("inbox") == 0
    });
    assert!(
        dir_files(&server.spool.join("incoming")).is_empty(),
        "a confirmation is no SMS"
    );
}

#[test]
fn a_failed_delivery_confirmation_makes_the_message_failed() {
    let sim = Sim::start(&["--reports", "--reports-fail"]);
    let server = Server::start(&["--device", &sim.url]);
    let id = send_with_report(&server, "this one bounces");
    wait_for("state failed", || {
        message_json(&server, &id).contains("\"state\":\"failed\"")
    });
}

#[test]
fn a_wrong_password_shows_in_status_and_the_message_waits() {
    let sim = Sim::start(&["--password", "right"]);
    let server = Server::start(&["--device", &sim.url, "--hilink-password", "wrong"]);
    send(&server, "waits for the login");
    wait_for("the login error in /status", || {
        server
            .get(&format!("/status?token={TOKEN}"))
            .body
            .contains("108006")
    });
    std::thread::sleep(Duration::from_secs(1));
    let st = sim.state();
    assert_eq!(st.number("wrong_logins"), 1, "login repeated: {}", st.0);
    assert_eq!(st.count("sent"), 0);
    assert_eq!(
        dir_files(&server.spool.join("failed")).len(),
        0,
        "a login problem is not a failed message"
    );
    // It waits for a working login, claimed, without using up its attempts.
    let waiting = dir_files(&server.spool.join("sending"));
    assert_eq!(waiting.len(), 1, "the message must wait");
    assert!(!waiting[0].contains("Attempts"), "{}", waiting[0]);
    assert!(
        server.stderr_text().contains("waits for the modem"),
        "{}",
        server.stderr_text()
    );
}

#[test]
fn smsgw_send_sends_through_a_stick_with_login() {
    let sim = Sim::start(&["--password", "pw"]);
    let out = Command::new(bin())
        .args([
            "send",
            "--device",
            &sim.url,
            "--hilink-password",
            "pw",
            "+491701234567",
            "from the CLI",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "sent: message id 1"
    );
    let st = sim.state();
    assert!(st.has("\"content\": \"from the CLI\""), "{}", st.0);
    assert_eq!(st.number("logins"), 1);
}

#[test]
fn a_host_name_device_is_refused_with_a_clear_status() {
    let server = Server::start(&["--device", "http://stick.lan"]);
    wait_for("the URL error in /status", || {
        server
            .get(&format!("/status?token={TOKEN}"))
            .body
            .contains("host names are not resolved")
    });
}
