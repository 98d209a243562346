//! Black-box spool tests against the real binary (`smsgw serve --device sim`): kill -9 at each step
//! of a send and restart, files dropped by other programs, two processes on one spool.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

static DIRS: AtomicUsize = AtomicUsize::new(0);

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let n = DIRS.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("smsgw-spoolproc-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A running `smsgw serve` whose stderr goes to a file; killed (SIGKILL) on drop.
struct Gateway {
    child: Child,
    log: PathBuf,
}

impl Gateway {
    fn start(spool: &Path, tag: &str, fault: Option<&str>) -> Gateway {
        let log = spool.join(format!("{tag}.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_smsgw"));
        cmd.args(["serve", "--device", "sim", "--no-auth"])
            .args(["--listen", "127.0.0.1:0", "--spool"])
            .arg(spool.join("spool"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap());
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
        let dir = TempDir::new();
        let spool = dir.0.join("spool");
        drop_file(&dir.0, "m1", b"To: 491721234567\n\nsurvives kill -9");
        let gw = Gateway::start(&dir.0, "first", Some(point));
        wait_for(point, || gw.log().contains("fault: paused at"));
        gw.kill9();
        match point {
            "pause-before-claim" => assert_eq!(names(&spool.join("outgoing")), vec!["m1"]),
            _ => assert_eq!(names(&spool.join("sending")), vec!["m1"], "{point}"),
        }
        let gw = Gateway::start(&dir.0, "second", None);
        wait_for("m1 in sent/", || spool.join("sent/m1").exists());
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
    let dir = TempDir::new();
    let spool = dir.0.join("spool");
    let gw = Gateway::start(&dir.0, "gw", None);
    wait_for("spool dirs", || spool.join("sending").is_dir());
    // smstools' sendsms with non-Latin text: `Alphabet: UCS` and a UTF-16BE body.
    let mut ucs = b"To: 491721234567\nAlphabet: UCS\n\n".to_vec();
    ucs.extend("Привет".encode_utf16().flat_map(u16::to_be_bytes));
    drop_file(&dir.0, "send_ucs", &ucs);
    // A Windows-edited file with CRLF line ends and headers smsd knows but we ignore.
    drop_file(
        &dir.0,
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
    let dir = TempDir::new();
    let spool = dir.0.join("spool");
    let a = Gateway::start(&dir.0, "a", None);
    let b = Gateway::start(&dir.0, "b", None);
    wait_for("spool dirs", || spool.join("sending").is_dir());
    let n = 60;
    for i in 0..n {
        drop_file(
            &dir.0,
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
