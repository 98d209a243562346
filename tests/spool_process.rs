//! Black-box spool tests against the real binary (`smsgw serve --device sim`): kill -9 at each step
//! of a send and restart, files dropped by other programs, two processes on one spool.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a finding

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

#[path = "common/modem_sim.rs"]
mod modem_sim;
use modem_sim::{ModemSim, SimOptions};

/// A running `smsgw serve` whose stderr goes to a file; killed (SIGKILL) on drop.
struct Gateway {
    child: Child,
    log: PathBuf,
}

impl Gateway {
    fn start(spool: &Path, tag: &str, fault: Option<&str>) -> Gateway {
        Gateway::start_with(spool, tag, fault, &["--device", "sim"])
    }

    fn start_with(spool: &Path, tag: &str, fault: Option<&str>, extra: &[&str]) -> Gateway {
        let log = spool.join(format!("{tag}.log"));
        let out = File::create(&log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_smsgw"));
        cmd.args(["serve", "--no-auth"])
            .args(["--listen", "127.0.0.1:0", "--spool"])
            .arg(spool.join("spool"))
            .args(extra) // last: may override the defaults
            .stdin(Stdio::null())
            // info lines go to stdout, errors to stderr (as procd logs them): one log of both
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        match fault {
            Some(f) => cmd.env("SMSGW_FAULT", f),
            None => cmd.env_remove("SMSGW_FAULT"),
        };
        Gateway {
            child: cmd.spawn().unwrap(),
            log,
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..600 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Drops a complete file into `outgoing/` the way scripts do (write elsewhere, rename in).
fn drop_file(root: &Path, name: &str, content: &[u8]) {
    let spool = root.join("spool");
    fs::create_dir_all(spool.join("outgoing")).unwrap();
    let tmp = root.join(format!("{name}.part"));
    fs::write(&tmp, content).unwrap();
    fs::rename(&tmp, spool.join("outgoing").join(name)).unwrap();
}

#[test]
fn kill_9_at_each_step_then_restart_loses_nothing() {
    for point in [
        "pause-before-claim",
        "pause-after-claim",
        "pause-after-send",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool");
        drop_file(dir.path(), "m1", b"To: 491721234567\n\nsurvives kill -9");
        let gw = Gateway::start(dir.path(), "first", Some(point));
        wait_for(point, || gw.log().contains("fault: paused at"));
        gw.kill9();
        match point {
            "pause-before-claim" => assert_eq!(names(&spool.join("outgoing")), vec!["m1"]),
            _ => assert_eq!(names(&spool.join("sending")), vec!["m1"], "{point}"),
        }
        let gw = Gateway::start(dir.path(), "second", None);
        // The record is moved first and rewritten with its result headers right after.
        wait_for("m1 in sent/ with its result", || {
            fs::read_to_string(spool.join("sent/m1")).is_ok_and(|s| s.contains("\nSent: "))
        });
        assert!(names(&spool.join("outgoing")).is_empty(), "{point}");
        assert!(names(&spool.join("sending")).is_empty(), "{point}");
        assert!(names(&spool.join("failed")).is_empty(), "{point}");
        let sent = fs::read_to_string(spool.join("sent/m1")).unwrap();
        assert!(sent.contains("\nSent: "), "{sent}");
        assert!(sent.ends_with("\n\nsurvives kill -9"), "{sent}");
        assert!(gw.log().contains("smsgw: sent m1 "), "{}", gw.log());
    }
}

#[test]
fn files_dropped_by_other_programs_are_sent() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let gw = Gateway::start(dir.path(), "gw", None);
    wait_for("spool dirs", || spool.join("sending").is_dir());
    // smstools' sendsms with non-Latin text: `Alphabet: UCS` and a UTF-16BE body.
    let mut ucs = b"To: 491721234567\nAlphabet: UCS\n\n".to_vec();
    ucs.extend("Привет".encode_utf16().flat_map(u16::to_be_bytes));
    drop_file(dir.path(), "send_ucs", &ucs);
    // A Windows-edited file with CRLF line ends and headers smsd knows but we ignore.
    drop_file(
        dir.path(),
        "crlf",
        b"From: nagios\r\nTo: +491721234567\r\nFlash: yes\r\nQueue: default\r\n\r\nhost down",
    );
    // A program writing straight into outgoing/, slowly: must not be taken half-written.
    let slow = spool.join("outgoing/slow");
    let mut f = File::create(&slow).unwrap();
    f.write_all(b"To: 491721234567\n\nfirst half").unwrap();
    f.flush().unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    f.write_all(b", second half").unwrap();
    drop(f);
    wait_for("all three in sent/", || {
        names(&spool.join("sent")) == vec!["crlf", "send_ucs", "slow"]
    });
    let slow = fs::read_to_string(spool.join("sent/slow")).unwrap();
    assert!(slow.ends_with("\n\nfirst half, second half"), "{slow}");
    let log = gw.log();
    assert!(log.contains("smsgw: sent crlf to +491721234567"), "{log}");
    assert!(
        log.contains("smsgw: sent send_ucs to +491721234567"),
        "{log}"
    );
}

#[test]
fn two_processes_never_send_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let a = Gateway::start(dir.path(), "a", None);
    let b = Gateway::start(dir.path(), "b", None);
    wait_for("spool dirs", || spool.join("sending").is_dir());
    let n = 60;
    for i in 0..n {
        drop_file(
            dir.path(),
            &format!("m{i:03}"),
            b"To: 491721234567\n\nonce only",
        );
    }
    wait_for("all in sent/", || names(&spool.join("sent")).len() == n);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for log in [a.log(), b.log()] {
        for line in log.lines() {
            if let Some(rest) = line.strip_prefix("smsgw: sent ") {
                let name = rest.split(' ').next().unwrap_or("").to_string();
                *counts.entry(name).or_default() += 1;
            }
        }
    }
    assert_eq!(counts.len(), n, "{counts:?}");
    assert!(counts.values().all(|&c| c == 1), "{counts:?}");
    assert!(names(&spool.join("failed")).is_empty());
}

fn write_script(path: &Path, body: &str) {
    fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

fn alive(pid: &str) -> bool {
    // A zombie is dead for our purpose (its parent, not smsgw, reaps it).
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| !s.split(") ").nth(1).unwrap_or("").starts_with('Z'))
}

#[test]
fn a_slow_hook_with_a_backlog_of_100_runs_a_few_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let running = dir.path().join("running");
    fs::create_dir(&running).unwrap();
    let hook = dir.path().join("hook.sh");
    let log = dir.path().join("hook.log");
    write_script(
        &hook,
        &format!(
            "mkdir {r}/$$\nls {r} | wc -l >> {l}\nsleep 0.2\nrmdir {r}/$$\n",
            r = running.display(),
            l = log.display()
        ),
    );
    for i in 0..100 {
        drop_file(
            dir.path(),
            &format!("m{i:03}"),
            b"To: 491721234567\n\nhook backlog",
        );
    }
    let gw = Gateway::start_with(
        dir.path(),
        "gw",
        None,
        &["--device", "sim", "--hook", hook.to_str().unwrap()],
    );
    let pid = gw.child.id();
    let mut max_threads = 0;
    wait_for("100 hooks", || {
        let threads = fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count());
        max_threads = max_threads.max(threads);
        fs::read_to_string(&log).is_ok_and(|l| l.lines().count() == 100)
    });
    assert_eq!(names(&spool.join("sent")).len(), 100);
    let most = fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse::<usize>().unwrap())
        .max()
        .unwrap();
    assert!(most <= 4, "{most} hooks ran at once");
    assert!(max_threads <= 24, "{max_threads} threads in the gateway");
}

#[test]
fn a_hook_timeout_kills_its_grandchildren_too() {
    let dir = tempfile::tempdir().unwrap();
    let hook = dir.path().join("hook.sh");
    let pids = dir.path().join("pids");
    write_script(
        &hook,
        &format!("sleep 300 &\necho $! > {}\nwait\n", pids.display()),
    );
    drop_file(dir.path(), "m1", b"To: 491721234567\n\nslow hook");
    let gw = Gateway::start_with(
        dir.path(),
        "gw",
        None,
        &[
            "--device",
            "sim",
            "--hook",
            hook.to_str().unwrap(),
            "--hook-timeout",
            "1",
        ],
    );
    wait_for("grandchild pid", || {
        fs::read_to_string(&pids).is_ok_and(|p| p.ends_with('\n'))
    });
    let grandchild = fs::read_to_string(&pids).unwrap().trim().to_string();
    assert!(alive(&grandchild));
    wait_for("the grandchild to be killed", || !alive(&grandchild));
    wait_for("the kill to be logged", || {
        gw.log().contains("killed after 1 s")
    });
}

/// A message that used up its attempts is in `failed/` with the count its reason gives (the file
/// kept the `Attempts:` of the attempt before).
#[test]
fn a_failed_message_records_the_attempts_it_gave_up_after() {
    let dir = tempfile::tempdir().unwrap();
    // every part refused with a temporary +CMS ERROR (a missing modem would not count)
    let link = dir.path().join("ttyUSB-cms");
    let opts = SimOptions {
        cms_error: Some((38, 1000)),
        ..SimOptions::default()
    };
    let _sim = ModemSim::start(&link, opts, None).unwrap();
    let args = [
        "--device",
        link.to_str().unwrap(),
        "--command-timeout",
        "1",
        "--max-attempts",
        "2",
    ];
    let _gw = Gateway::start_with(dir.path(), "attempts", None, &args);
    drop_file(
        dir.path(),
        "m",
        b"To: 491721234567\nAttempts: 1\nRetry_at: 0\n\nx",
    );
    let failed = dir.path().join("spool/failed/m");
    // moved first, then rewritten with the result headers
    let read = || fs::read_to_string(&failed).unwrap_or_default();
    wait_for("m in failed/ with its reason", || {
        read().contains("Fail_reason")
    });
    let text = read();
    assert!(text.contains("gave up after 2 attempts"), "{text}");
    assert!(text.contains("\nAttempts: 2\n"), "{text}");
}

/// `--listen` on a port in use: exit 1 with one clear line, before the spool is created or the
/// modem opened (a process about to exit must not start on the SIM or claim a message).
#[test]
fn a_listen_port_in_use_exits_1_before_the_spool_and_the_modem() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let link = dir.path().join("ttyUSB-sim");
    let sim = ModemSim::start(&link, SimOptions::default(), None).unwrap();
    let args = ["--device", link.to_str().unwrap(), "--listen", &addr];
    let mut gw = Gateway::start_with(dir.path(), "in-use", None, &args);
    let status = gw.child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{}", gw.log());
    let want = format!("smsgw: cannot listen on {addr}: Address already in use (os error 98)\n");
    let log = gw.log();
    assert!(log.ends_with(&want) && !log.contains("modem"), "{log}");
    assert!(!dir.path().join("spool").exists());
    assert!(sim.log().commands.is_empty());
}

/// The simulated stick holds the `+CMGS` answer while the gateway gets SIGTERM: the part in flight
/// is finished and recorded, the process exits 0, and a restart sends nothing again.
#[test]
fn sigterm_during_cmgs_sends_once_and_exits_0() {
    stop_signal_during_cmgs("-TERM");
}

/// SIGHUP (a closed terminal, a `kill -HUP` meant as reload) stops as SIGTERM does, instead of
/// killing the process between the modem's answer and the record.
#[test]
fn sighup_during_cmgs_sends_once_and_exits_0() {
    stop_signal_during_cmgs("-HUP");
}

fn stop_signal_during_cmgs(signal: &'static str) {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let link = dir.path().join("ttyUSB-sim");
    let gw_pid = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let pid_for_hook = gw_pid.clone();
    let hook: modem_sim::PduHook = Box::new(move |_, _| {
        let pid = pid_for_hook.load(std::sync::atomic::Ordering::SeqCst);
        if pid != 0 {
            let _ = Command::new("kill")
                .args([signal, &pid.to_string()])
                .status();
            std::thread::sleep(Duration::from_millis(500)); // the answer comes after the signal
        }
    });
    let sim = ModemSim::start(&link, SimOptions::default(), Some(hook)).unwrap();
    let device = ["--device", link.to_str().unwrap()];
    let mut gw = Gateway::start_with(dir.path(), "first", None, &device);
    gw_pid.store(gw.child.id(), std::sync::atomic::Ordering::SeqCst);
    // Two messages: the first is in flight at SIGTERM, the second must wait for the next start.
    drop_file(
        dir.path(),
        "m1",
        b"To: 491721234567\n\nin flight at SIGTERM",
    );
    let status = gw.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status:?} {}", gw.log());
    drop_file(dir.path(), "m2", b"To: 491721234567\n\nafter the stop");
    assert_eq!(names(&spool.join("sent")), vec!["m1"], "{}", gw.log());
    assert_eq!(sim.log().received.len(), 1);
    assert!(gw.log().contains("stopped"), "{}", gw.log());
    // Restart (no more signals): m2 goes out, m1 is not sent again.
    gw_pid.store(0, std::sync::atomic::Ordering::SeqCst);
    let gw = Gateway::start_with(dir.path(), "second", None, &device);
    wait_for("m2 in sent/", || spool.join("sent/m2").exists());
    assert_eq!(sim.log().received.len(), 2, "{}", gw.log());
    assert!(names(&spool.join("sending")).is_empty());
}
