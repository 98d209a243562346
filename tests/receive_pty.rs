//! Receiving end to end: the real daemon (`smsgw serve`) against the simulated E3372 on a real
//! pseudo-terminal — messages injected into the stick's storage (multipart out of order, UCS-2
//! with emoji, GSM extension characters, an alphanumeric sender), `+CMTI` lost or not, an unplug,
//! and the received files read back with `smsgw inbox` (the spool's own reader). Also the
//! rejected PIN that is not sent again after a restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a finding

mod http_support;
#[path = "common/modem_sim.rs"]
mod modem_sim;
#[path = "common/pty_gateway.rs"]
mod pty_gateway;

use http_support::{bin, temp_dir};
use modem_sim::sim_storage::{pack_ascii, submit_to_deliver, StoreOptions};
use modem_sim::{ModemSim, SimOptions};
use pty_gateway::{serve, stick, wait};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const SCTS: [u8; 7] = [0x62, 0x11, 0x82, 0x21, 0x43, 0x00, 0x40];

/// The DELIVER PDUs of `text` from `from`, via `smsgw encode` (one per part).
fn deliver(from: &str, text: &str) -> Vec<String> {
    let out = Command::new(bin())
        .args(["encode", "--ref", "77", "--to", from, text])
        .output()
        .expect("smsgw encode");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(_, hex)| submit_to_deliver(hex, SCTS).expect("a SUBMIT"))
        .collect()
}

/// "OK" from the alphanumeric sender "Info", built by hand (TON 101, 7 useful semi-octets).
fn alphanumeric_ok() -> String {
    let scts: String = SCTS.iter().map(|b| format!("{b:02X}")).collect();
    format!(
        "000407D0{}0000{scts}02{}",
        pack_ascii("Info"),
        pack_ascii("OK")
    )
}

fn inbox(spool: &Path) -> Vec<String> {
    let out = Command::new(bin())
        .args(["inbox", "--spool"])
        .arg(spool)
        .output()
        .expect("smsgw inbox");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.to_string())
        .collect()
}

fn show(spool: &Path, id: &str) -> String {
    let out = Command::new(bin())
        .args(["inbox", "--spool"])
        .arg(spool)
        .args(["show", id])
        .output()
        .expect("smsgw inbox show");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn received_messages_become_files_and_leave_the_stick() {
    let (sim, link) = stick("recv", StoreOptions::default());
    let server = serve(&link, &[]);
    wait("ready", Duration::from_secs(20), || {
        server.get("/status").body.contains("\"state\":\"ready\"")
    });
    let long = "Disk full on db1, load 12.5, please check {the} [logs] ~now~ €. ".repeat(4);
    let mut parts = deliver("+491701234567", &long);
    assert!(parts.len() >= 2);
    parts.reverse();
    for p in &parts {
        sim.inject(p);
    }
    for p in deliver("+66812345678", "สวัสดี 👋 ok") {
        sim.inject(&p);
    }
    sim.inject(&alphanumeric_ok());
    wait("three files", Duration::from_secs(20), || {
        inbox(&server.spool).len() == 3
    });
    wait("storage empty", Duration::from_secs(10), || {
        sim.stored() == 0
    });
    let lines = inbox(&server.spool);
    let find = |needle: &str| {
        let line = lines.iter().find(|l| l.contains(needle)).expect(needle);
        show(&server.spool, line.split_whitespace().next().unwrap_or(""))
    };
    let multi = find("491701234567");
    assert!(multi.contains("From_TOA: 91 international"), "{multi}");
    assert!(multi.contains("Sent: 26-11-28 12:34:00"), "{multi}");
    assert!(multi.ends_with(&format!("\n\n{long}")), "{multi}");
    assert!(!multi.contains("Incomplete"), "{multi}");
    let thai = find("66812345678");
    assert!(thai.contains("Alphabet: UCS2"), "{thai}");
    assert!(thai.ends_with("\n\nสวัสดี 👋 ok"), "{thai}");
    let alpha = find("Info");
    assert!(
        alpha.contains("From: Info\nFrom_TOA: D0 alphanumeric"),
        "{alpha}"
    );
    assert!(alpha.ends_with("\n\nOK"), "{alpha}");

    // Unplugged and back: the stick forgot CNMI; the engine sets it again.
    sim.unplug(Duration::from_millis(800));
    wait("replugged", Duration::from_secs(10), || {
        sim.log().plugs == 2
    });
    wait("ready again", Duration::from_secs(20), || {
        let cnmi = sim
            .log()
            .commands
            .iter()
            .filter(|c| c.starts_with("AT+CNMI=2,1"))
            .count();
        cnmi >= 2 && server.get("/status").body.contains("\"state\":\"ready\"")
    });
    for p in deliver("+491701234567", "after the replug") {
        sim.inject(&p);
    }
    wait("fourth file", Duration::from_secs(10), || {
        inbox(&server.spool).len() == 4
    });
    let status = server.get("/status").body;
    assert!(status.contains("\"received\":4"), "{status}");
}

#[test]
fn without_hints_the_poll_still_finds_the_message() {
    let store = StoreOptions {
        lose_hints: true,
        cpms_lag: true,
        ..StoreOptions::default()
    };
    let (sim, link) = stick("nohint", store);
    let server = serve(&link, &[]);
    wait("ready", Duration::from_secs(20), || {
        server.get("/status").body.contains("\"state\":\"ready\"")
    });
    for p in deliver("+491701234567", "no hint") {
        sim.inject(&p);
    }
    wait("the file", Duration::from_secs(10), || {
        inbox(&server.spool).len() == 1
    });
    // The file is on disk before the stick answers the AT+CMGD that follows it.
    wait("storage empty", Duration::from_secs(10), || {
        sim.stored() == 0
    });
}

#[test]
fn a_rejected_pin_is_not_sent_again_after_a_restart() {
    let link = temp_dir("pin").join("ttyUSB0");
    let opts = SimOptions {
        pin: Some("1234".into()),
        ..SimOptions::default()
    };
    let sim = ModemSim::start(&link, opts, None).expect("pty");
    let spool = temp_dir("pin-spool");
    let spool_arg = spool.to_str().expect("utf-8");
    for _ in 0..3 {
        let server = serve(&link, &["--pin", "9999", "--spool", spool_arg]);
        wait("the PIN check", Duration::from_secs(20), || {
            server.get("/status").body.contains("PIN")
        });
        drop(server);
    }
    assert_eq!(sim.log().pin_attempts, 1, "three starts, one try");
    let server = serve(&link, &["--pin", "1234", "--spool", spool_arg]);
    wait("ready", Duration::from_secs(20), || {
        server.get("/status").body.contains("\"state\":\"ready\"")
    });
    assert_eq!(sim.log().pin_attempts, 2, "a new PIN setting is tried");
}
