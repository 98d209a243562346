//! The real smsgw binary (`smsgw send`, `smsgw at`) against the simulated E3372 on a real
//! pseudo-terminal: PIN handling, registration wait, CMS errors, no answer, unplug/replug.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a finding

#[path = "common/modem_sim.rs"]
mod modem_sim;

use modem_sim::{ModemSim, SimOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TO: &str = "+4917012345";

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("smsgw-modem-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_smsgw"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn smsgw")
}

/// Waits for the child (killed after a generous liveness bound).
fn finish(mut child: Child) -> Run {
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let end = Instant::now() + Duration::from_secs(120);
    let code = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break st.code();
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

fn send(link: &Path, extra: &[&str], text: &str) -> Run {
    let mut args = vec![
        "send",
        "--device",
        link.to_str().expect("utf-8 path"),
        "--command-timeout",
        "1",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[TO, text]);
    finish(spawn(&args))
}

fn sim(name: &str, opts: SimOptions) -> (ModemSim, PathBuf) {
    let link = tmpdir(name).join("ttyUSB0");
    let sim = ModemSim::start(&link, opts, None).expect("pty");
    (sim, link)
}

/// What `smsgw encode` says the modem must receive.
fn expected_pdu(text: &str) -> (usize, String) {
    let r = finish(spawn(&["encode", "--to", TO, text]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let line = r.stdout.lines().next().unwrap_or("").to_string();
    let (len, hex) = line.split_once(' ').expect("LEN HEX");
    (len.parse().expect("length"), hex.to_string())
}

#[test]
fn sends_through_a_noisy_e3372_with_echo_and_urcs() {
    let (sim, link) = sim(
        "noisy",
        SimOptions {
            noise: true,
            loud: true,
            ..SimOptions::default()
        },
    );
    let r = send(&link, &["--registration-timeout", "20"], "Disk full on db1");
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert!(r.stdout.contains("message reference 1"), "{}", r.stdout);
    let log = sim.log();
    assert_eq!(log.sent, vec![expected_pdu("Disk full on db1")]);
    assert_eq!(log.pin_attempts, 0, "no PIN unless the SIM asks");
    for cmd in [
        "AT",
        "ATE0",
        "AT+CMEE=1",
        "AT+CPIN?",
        "AT^CURC=0",
        "AT+CMGF=0",
    ] {
        assert!(
            log.commands.iter().any(|c| c == cmd),
            "{cmd} in {:?}",
            log.commands
        );
    }
    let pos = |c: &str| log.commands.iter().position(|x| x == c);
    assert!(pos("ATE0") < pos("AT+CPIN?") && pos("AT+CPIN?") < pos("AT+CMGF=0"));
}

#[test]
fn pin_is_sent_once_when_the_sim_asks() {
    let (sim, link) = sim(
        "pin",
        SimOptions {
            pin: Some("1234".into()),
            noise: true,
            ..SimOptions::default()
        },
    );
    let r = send(
        &link,
        &["--pin", "1234", "--registration-timeout", "20"],
        "pin ok",
    );
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let log = sim.log();
    assert_eq!(log.pin_attempts, 1);
    assert_eq!(log.sent.len(), 1);
}

#[test]
fn wrong_pin_is_tried_exactly_once() {
    let (sim, link) = sim(
        "wrongpin",
        SimOptions {
            pin: Some("1234".into()),
            ..SimOptions::default()
        },
    );
    let r = send(
        &link,
        &["--pin", "9999", "--registration-timeout", "8"],
        "never",
    );
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("PIN"), "{}", r.stderr);
    let log = sim.log();
    assert_eq!(
        log.pin_attempts, 1,
        "a rejected PIN must never be sent twice"
    );
    let checks = log.commands.iter().filter(|c| *c == "AT+CPIN?").count();
    assert!(
        checks >= 2,
        "the engine re-initialised ({checks} PIN checks) without retrying the PIN"
    );
    assert!(log.received.is_empty());
}

#[test]
fn pin_needed_but_not_configured_sends_no_pin() {
    let (sim, link) = sim(
        "nopin",
        SimOptions {
            pin: Some("1234".into()),
            ..SimOptions::default()
        },
    );
    let r = send(&link, &["--registration-timeout", "5"], "never");
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("--pin"), "{}", r.stderr);
    assert_eq!(sim.log().pin_attempts, 0);
}

#[test]
fn waits_for_registration_then_sends() {
    let (sim, link) = sim(
        "register",
        SimOptions {
            register_after: Duration::from_secs(2),
            noise: true,
            ..SimOptions::default()
        },
    );
    let r = send(&link, &["--registration-timeout", "30"], "registered now");
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let log = sim.log();
    assert_eq!(log.sent.len(), 1);
    let creg_checks = log.commands.iter().filter(|c| *c == "AT+CREG?").count();
    assert!(creg_checks >= 2, "registration was polled ({creg_checks})");
}

#[test]
fn no_registration_is_a_temporary_failure() {
    let (sim, link) = sim(
        "noregister",
        SimOptions {
            register_after: Duration::from_secs(3600),
            ..SimOptions::default()
        },
    );
    let r = send(&link, &["--registration-timeout", "4"], "no network");
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("temporary failure"), "{}", r.stderr);
    assert!(r.stderr.contains("not registered"), "{}", r.stderr);
    assert!(sim.log().received.is_empty());
}

#[test]
fn transient_cms_errors_are_retried_until_success() {
    let (sim, link) = sim(
        "cms38",
        SimOptions {
            cms_error: Some((38, 2)),
            ..SimOptions::default()
        },
    );
    let r = send(&link, &["--registration-timeout", "30"], "third time lucky");
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let log = sim.log();
    assert_eq!(log.received.len(), 3);
    assert_eq!(log.sent.len(), 1);
}

#[test]
fn permanent_error_is_not_retried() {
    let (sim, link) = sim(
        "cms21",
        SimOptions {
            cms_error: Some((21, 5)),
            ..SimOptions::default()
        },
    );
    let r = send(&link, &["--registration-timeout", "30"], "rejected");
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("permanent failure"), "{}", r.stderr);
    assert!(r.stderr.contains("+CMS ERROR: 21"), "{}", r.stderr);
    assert_eq!(sim.log().received.len(), 1);
}

#[test]
fn no_answer_times_out_and_aborts_with_esc() {
    let (sim, link) = sim(
        "noanswer",
        SimOptions {
            no_answer: true,
            ..SimOptions::default()
        },
    );
    let r = send(&link, &["--registration-timeout", "30"], "into the void");
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("temporary failure"), "{}", r.stderr);
    assert!(r.stderr.contains("no answer to AT+CMGS"), "{}", r.stderr);
    let log = sim.log();
    assert_eq!(log.received.len(), 1);
    assert!(log.esc_aborts >= 1, "ESC aborted the pending send");
}

#[test]
fn unplug_mid_send_resends_after_replug() {
    let (sim, link) = sim(
        "unplug",
        SimOptions {
            unplug_on_pdu: Some(Duration::from_secs(1)),
            noise: true,
            ..SimOptions::default()
        },
    );
    let r = send(
        &link,
        &["--registration-timeout", "30"],
        "survives a replug",
    );
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let log = sim.log();
    assert_eq!(log.plugs, 2);
    assert_eq!(
        log.received.len(),
        2,
        "sent once before the unplug, once after"
    );
    assert_eq!(log.sent, vec![expected_pdu("survives a replug")]);
    let (Some(replug), Some(sent)) = (log.replugged_at, log.sent_at.first()) else {
        panic!("no replug or no send: {log:?}");
    };
    // Liveness bound from the issue, not a speed measurement.
    assert!(sent.duration_since(replug) < Duration::from_secs(10));
}

#[test]
fn waits_for_the_device_to_appear() {
    let dir = tmpdir("late");
    let link = dir.join("ttyUSB0");
    let child = spawn(&[
        "send",
        "--device",
        link.to_str().expect("utf-8"),
        "--command-timeout",
        "1",
        "--registration-timeout",
        "30",
        TO,
        "late stick",
    ]);
    std::thread::sleep(Duration::from_millis(1500));
    let sim = ModemSim::start(&link, SimOptions::default(), None).expect("pty");
    let r = finish(child);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert!(r.stderr.contains("waiting for device"), "{}", r.stderr);
    assert_eq!(sim.log().sent.len(), 1);
}

#[test]
fn at_command_prints_answer_and_urcs() {
    let (sim, link) = sim(
        "at",
        SimOptions {
            noise: true,
            ..SimOptions::default()
        },
    );
    let r = finish(spawn(&[
        "at",
        "--device",
        link.to_str().expect("utf-8"),
        "AT+CSQ",
        "AT+NOPE",
    ]));
    assert_eq!(r.code, Some(1), "AT+NOPE fails: {}", r.stderr);
    assert!(r.stdout.contains("+CSQ: 22,99\nOK\n"), "{}", r.stdout);
    assert!(r.stdout.contains("URC: ^RSSI:21"), "{}", r.stdout);
    assert!(r.stdout.contains("COMMAND NOT SUPPORT"), "{}", r.stdout);
    assert!(sim.log().commands.iter().any(|c| c == "AT+CSQ"));
}

/// A daemon whose stick (`DIR/ttyUSB0`) is not plugged in, spool in `DIR/spool`, with one
/// message `msg` queued and claimed (waiting for the modem).
fn daemon_waiting_for_its_stick(name: &str, extra: &[&str]) -> (Child, PathBuf, PathBuf) {
    let dir = tmpdir(name);
    let (link, spool) = (dir.join("ttyUSB0"), dir.join("spool"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "--device", link.to_str().unwrap()];
    args.extend([
        "--spool",
        spool.to_str().unwrap(),
        "--listen",
        &listen,
        "--no-auth",
    ]);
    args.extend_from_slice(extra);
    let daemon = spawn(&args);
    wait_until("the spool", || spool.join("outgoing").is_dir());
    let tmp = spool.join("msg");
    std::fs::write(&tmp, "To: 4917012345\n\nwaits for the stick\n").unwrap();
    std::fs::rename(&tmp, spool.join("outgoing/msg")).unwrap();
    wait_until("the message claimed", || spool.join("sending/msg").exists());
    (daemon, link, spool)
}

fn wait_until(what: &str, f: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < end, "{what} within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The spool files in `spool/dir` (not the dot files of writes in progress).
fn files(spool: &Path, dir: &str) -> Vec<String> {
    std::fs::read_dir(spool.join(dir))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_message_queued_while_the_stick_is_missing_waits_for_it_instead_of_failing() {
    let extra = ["--command-timeout", "1", "--registration-timeout", "1"];
    let (mut daemon, link, spool) =
        daemon_waiting_for_its_stick("waits", &[&extra[..], &["--max-attempts", "1"]].concat());
    // Several tries of one second each: one attempt allowed, yet nothing fails.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        files(&spool, "failed").is_empty(),
        "{:?}",
        files(&spool, "failed")
    );
    assert_eq!(files(&spool, "sending"), ["msg"]);
    let sim = ModemSim::start(&link, SimOptions::default(), None).expect("pty");
    wait_until("the message sent once the stick is there", || {
        files(&spool, "sent") == ["msg"]
    });
    assert_eq!(sim.log().sent.len(), 1);
    let _ = daemon.kill();
    let _ = daemon.wait();
}

#[test]
fn a_stop_does_not_wait_for_a_stick_that_is_not_there() {
    // the default --registration-timeout (60 s): a part waits that long for the modem
    let (mut daemon, _, spool) = daemon_waiting_for_its_stick("stop-missing", &[]);
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: a signal to the child we started.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    let asked = Instant::now();
    let status = loop {
        if let Some(st) = daemon.try_wait().unwrap() {
            break st;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(10),
            "the stop waited for the modem"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        files(&spool, "outgoing"),
        ["msg"],
        "the message is back in the queue"
    );
    assert!(files(&spool, "sending").is_empty());
    assert!(files(&spool, "failed").is_empty());
}
