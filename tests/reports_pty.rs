//! Delivery reports end to end: the real daemon (`smsgw serve`) against the simulated E3372 on a
//! real pseudo-terminal. A message sent with `report=1` becomes `delivered` in
//! `GET /messages/<id>` when the stick's report arrives (stored in SR, or pushed as `+CDS`), and
//! `failed` for a number the simulated network cannot deliver to (ending in 13).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a finding

mod http_support;
#[path = "common/modem_sim.rs"]
mod modem_sim;
#[path = "common/pty_gateway.rs"]
mod pty_gateway;

use http_support::{Server, TOKEN};
use modem_sim::sim_storage::StoreOptions;
use pty_gateway::{serve, stick, wait};
use std::time::{Duration, Instant};

/// Sends `message` to `phone` with a report request; returns the id the gateway answered.
fn send(server: &Server, phone: &str, message: &str) -> String {
    let r = server.get(&format!(
        "/cgi-bin/sms?token={TOKEN}&phone={phone}&message={message}&report=1"
    ));
    assert_eq!(r.code, 200, "{}", r.body);
    r.body
        .split_whitespace()
        .nth(1)
        .expect("done <id>")
        .to_string()
}

fn message(server: &Server, id: &str) -> String {
    server.get(&format!("/messages/{id}?token={TOKEN}")).body
}

fn delivered_and_failed(store: StoreOptions, name: &str) {
    let (sim, link) = stick(name, store);
    // The hook appends its arguments to a file next to the pty.
    let dir = link.parent().expect("dir");
    let hook = dir.join("hook.sh");
    let calls = dir.join("hook-calls");
    std::fs::write(
        &hook,
        format!("#!/bin/sh\necho \"$1 $2\" >> {}\n", calls.display()),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let server = serve(&link, &["--hook", hook.to_str().expect("utf-8")]);
    wait("ready", Duration::from_secs(20), || {
        server.get("/status").body.contains("\"state\":\"ready\"")
    });
    let ok = send(&server, "%2B491701234567", "disk+full");
    let bad = send(&server, "%2B491701234513", "disk+full");
    wait("sent", Duration::from_secs(20), || {
        message(&server, &bad).contains("\"sent\":")
    });
    let sent = Instant::now();
    wait("delivered", Duration::from_secs(20), || {
        message(&server, &ok).contains("\"state\":\"delivered\"")
    });
    wait("failed", Duration::from_secs(20), || {
        message(&server, &bad).contains("\"state\":\"failed\"")
    });
    assert!(
        sent.elapsed() < Duration::from_secs(15),
        "within the simulated delay"
    );
    let body = message(&server, &bad);
    assert!(
        body.contains("\"status\":70,\"status_text\":\"Error,SM validity period expired\""),
        "{body}"
    );
    let body = message(&server, &ok);
    assert!(body.contains("\"report\":\"received\""), "{body}");
    // The reports are files in report/, the stick's storage is empty again.
    // (not the `.name` file of a report being rewritten at this moment)
    let reports = std::fs::read_dir(server.spool.join("report"))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            !name.to_string_lossy().starts_with('.')
        })
        .count();
    assert_eq!(reports, 2);
    wait("SR empty", Duration::from_secs(10), || sim.stored() == 0);
    let list = server
        .get(&format!("/messages?box=outbox&token={TOKEN}"))
        .body;
    assert!(
        list.starts_with('[') && list.contains(&ok) && list.contains(&bad),
        "{list}"
    );
    wait("two REPORT hooks", Duration::from_secs(10), || {
        let text = std::fs::read_to_string(&calls).unwrap_or_default();
        text.lines().filter(|l| l.starts_with("REPORT ")).count() == 2
    });
    let text = std::fs::read_to_string(&calls).unwrap_or_default();
    assert!(
        text.lines()
            .filter(|l| l.starts_with("REPORT "))
            .all(|l| l.contains("/report/report-")),
        "{text}"
    );
    let metrics = server.get("/metrics").body;
    assert!(
        metrics.contains("smsgw_messages_delivered_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("smsgw_messages_undeliverable_total 1"),
        "{metrics}"
    );
}

#[test]
fn a_report_stored_in_sr_makes_the_message_delivered_or_failed() {
    let store = StoreOptions {
        report_delay: Duration::from_secs(2),
        ..StoreOptions::default()
    };
    delivered_and_failed(store, "reports-sr");
}

#[test]
fn a_pushed_report_makes_the_message_delivered_or_failed() {
    let store = StoreOptions {
        report_delay: Duration::from_secs(2),
        push_reports_only: true,
        ..StoreOptions::default()
    };
    delivered_and_failed(store, "reports-cds");
}

#[test]
fn messages_need_the_token() {
    let (_sim, link) = stick("reports-auth", StoreOptions::default());
    let server = serve(&link, &[]);
    assert_eq!(server.get("/messages?box=outbox").code, 401);
    assert_eq!(
        server.get(&format!("/messages/nope?token={TOKEN}")).code,
        404
    );
    assert_eq!(
        server.get(&format!("/messages?limit=0&token={TOKEN}")).code,
        400
    );
}

#[test]
fn received_messages_are_listed_read_and_deleted_over_http() {
    let (sim, link) = stick("reports-inbox", StoreOptions::default());
    let server = serve(&link, &[]);
    wait("ready", Duration::from_secs(20), || {
        server.get("/status").body.contains("\"state\":\"ready\"")
    });
    // "hi" from +491701234567, as the network would deliver it.
    let scts = [0x62, 0x11, 0x82, 0x21, 0x43, 0x00, 0x40];
    let submit = "0001000C91947110325476000002E834";
    let deliver = modem_sim::sim_storage::submit_to_deliver(submit, scts).expect("a SUBMIT");
    sim.inject(&deliver);
    let inbox = || {
        server
            .get(&format!("/messages?box=inbox&token={TOKEN}"))
            .body
    };
    wait("listed", Duration::from_secs(20), || {
        inbox().contains("\"text\":\"hi\"")
    });
    let list = inbox();
    let id = list
        .split("\"id\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("an id")
        .to_string();
    let one = server.get(&format!("/messages/{id}?token={TOKEN}")).body;
    assert!(one.contains("\"from\":\"+491701234567\""), "{one}");
    let req = format!(
        "DELETE /messages/{id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(server.raw(req.as_bytes()).code, 200);
    assert_eq!(
        server.get(&format!("/messages/{id}?token={TOKEN}")).code,
        404
    );
    assert_eq!(server.raw(req.as_bytes()).code, 404);
}
