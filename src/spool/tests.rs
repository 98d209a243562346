//! Unit tests of the spool queue and the sender loop with a fake modem and injected time.

use super::clock::{Ages, Now};
use super::format::SpoolFile;
use super::sender::Step;
use super::*;
use crate::config::ServeConfig;
use crate::modem::{SendError, SmsSender};
use crate::pdu::SubmitPart;
use crate::status::GatewayStatus;
use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

/// Answers from a script, then `Ok` forever; records every PDU.
#[derive(Default)]
struct FakeModem {
    script: VecDeque<Result<u8, SendError>>,
    sent: Vec<String>,
    /// Runs during each send (another program acting while a part is on the air).
    during: Option<Box<dyn FnMut() + Send>>,
    /// Answer `Transient` once the script is used up (a network that never comes back).
    then_transient: bool,
}

impl SmsSender for FakeModem {
    fn send_part(&mut self, part: &SubmitPart) -> Result<u8, SendError> {
        self.sent.push(part.hex.clone());
        if let Some(f) = self.during.as_mut() {
            f();
        }
        let rest = if self.then_transient {
            Err(SendError::Transient("no network".into()))
        } else {
            Ok(42)
        };
        self.script.pop_front().unwrap_or(rest)
    }
}

struct Rig {
    _dir: tempfile::TempDir,
    spool: Arc<Spool>,
    s: Sender<FakeModem>,
    /// The simulated clocks: `start` plus what the test advanced.
    start: Now,
}

impl Rig {
    fn new() -> Rig {
        Rig::with_cfg(ServeConfig::default())
    }

    fn with_cfg(cfg: ServeConfig) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        Rig::at(dir, cfg)
    }

    fn at(dir: tempfile::TempDir, cfg: ServeConfig) -> Rig {
        let spool = Arc::new(Spool::open(dir.path()).unwrap());
        let start = Now::real();
        let s = Sender::new(
            spool.clone(),
            FakeModem::default(),
            Arc::new(cfg),
            Arc::new(GatewayStatus::default()),
            Arc::new(AtomicBool::new(false)),
            start,
        );
        Rig {
            _dir: dir,
            spool,
            s,
            start,
        }
    }

    fn modem(&mut self) -> &mut FakeModem {
        &mut self.s.modem
    }

    fn status(&self) -> &GatewayStatus {
        &self.s.status
    }

    /// Both clocks moved by `later` (real time plus a simulated offset).
    fn now_plus(later: Duration) -> Now {
        let n = Now::real();
        Now {
            wall: n.wall + later,
            mono: n.mono + later,
        }
    }

    fn step_at(&mut self, now: SystemTime) -> Step {
        let later = now.duration_since(SystemTime::now()).unwrap_or_default();
        // A fresh listing per step: each test step sees `outgoing/` as it is now.
        self.s.forget_listing();
        self.s.step(Rig::now_plus(later))
    }

    /// One step that keeps the sender's listing, as the sender loop does.
    fn step_keep(&mut self) -> Step {
        self.s.step(Now::real())
    }

    fn step(&mut self) -> Step {
        self.step_at(SystemTime::now())
    }

    fn names(&self, dir: &str) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.spool.dir(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn read(&self, dir: &str, name: &str) -> SpoolFile {
        SpoolFile::parse(&fs::read(self.spool.dir(dir).join(name)).unwrap())
    }

    /// Drops a file as another program would (complete, via rename).
    fn drop_file(&self, name: &str, content: &[u8]) {
        let tmp = self.spool.root().join(name);
        fs::write(&tmp, content).unwrap();
        fs::rename(&tmp, self.spool.dir(OUTGOING).join(name)).unwrap();
    }

    fn recover(&self) -> usize {
        self.spool.recover(&Ages::new(self.start), Now::real())
    }
}

fn sms(to: &str, text: &str) -> OutgoingSms {
    OutgoingSms {
        to: to.into(),
        text: text.into(),
        ..OutgoingSms::default()
    }
}

#[test]
fn submit_writes_a_complete_file_and_nothing_else() {
    let r = Rig::new();
    let id = r.spool.submit(&sms("+491721234567", "hello")).unwrap();
    assert_eq!(r.names(OUTGOING), vec![id.clone()]);
    assert!(r.names(TMP).is_empty());
    let back = format::message_of(&r.read(OUTGOING, &id)).unwrap();
    assert_eq!(back, sms("+491721234567", "hello"));
}

#[test]
fn submit_refuses_bad_input_before_writing() {
    let r = Rig::new();
    for m in [
        sms("12ab", "x"),
        sms("123\nFlash: yes", "x"),
        sms("", "x"),
        sms("123", ""),
    ] {
        assert!(
            matches!(r.spool.submit(&m), Err(SpoolError::Invalid(_))),
            "{m:?}"
        );
    }
    assert!(r.names(OUTGOING).is_empty());
    assert!(r.names(TMP).is_empty());
}

#[test]
fn sends_and_writes_smsd_result_headers() {
    let mut r = Rig::new();
    let id = r.spool.submit(&sms("+4917", "hi")).unwrap();
    assert_eq!(r.step(), Step::Worked);
    assert_eq!(r.modem().sent.len(), 1);
    assert_eq!(r.names(SENT), vec![id.clone()]);
    assert!(r.names(OUTGOING).is_empty() && r.names(SENDING).is_empty());
    let f = r.read(SENT, &id);
    assert_eq!(f.header("Message_id"), Some("42"));
    assert!(f.header("Sent").is_some_and(|s| s.len() == 17));
    assert_eq!(f.header("To"), Some("+4917"));
    assert_eq!(f.body, b"hi");
    assert_eq!(r.status().sent.load(Ordering::Relaxed), 1);
    assert_eq!(r.step(), Step::Idle(None));
    // The sender's rewrites never pass through tmp/ (only submissions in flight live there).
    assert!(r.names(TMP).is_empty());
}

#[test]
fn recovery_removes_only_stale_temporary_files() {
    let r = Rig::new();
    let stale = r.spool.dir(SENT).join(".smsgw-part-old");
    let fresh = r.spool.dir(FAILED).join(".smsgw-part-new");
    let other = r.spool.dir(SENT).join(".keep-me");
    for p in [&stale, &fresh, &other] {
        fs::write(p, b"x").unwrap();
    }
    let old = SystemTime::now() - Duration::from_secs(7200);
    for p in [&stale, &other] {
        File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    r.recover();
    assert!(!stale.exists());
    assert!(fresh.exists() && other.exists());
}

#[test]
fn high_priority_first_then_oldest() {
    let mut r = Rig::new();
    r.drop_file("a-old", b"To: 1\n\nold");
    let old = SystemTime::now() - Duration::from_secs(100);
    File::options()
        .write(true)
        .open(r.spool.dir(OUTGOING).join("a-old"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    r.drop_file("b-new", b"To: 1\n\nnew");
    r.drop_file("c-high", b"To: 1\nPriority: HIGH\n\nurgent");
    fs::write(r.spool.dir(OUTGOING).join("a-old.LOCK.LOCK"), b"").unwrap();
    let mut order = Vec::new();
    for i in 0..3 {
        assert_eq!(r.step(), Step::Worked);
        assert_eq!(r.status().queue_depth.load(Ordering::Relaxed), 2 - i);
        let sent = r.names(SENT);
        let new: Vec<_> = sent.into_iter().filter(|n| !order.contains(n)).collect();
        order.extend(new);
    }
    assert_eq!(order, vec!["c-high", "a-old", "b-new"]);
}

#[test]
fn transient_errors_retry_with_backoff_then_fail() {
    let mut r = Rig::new();
    Arc::make_mut(&mut r.s.cfg).max_attempts = 3;
    for _ in 0..3 {
        r.modem()
            .script
            .push_back(Err(SendError::Transient("no network".into())));
    }
    let id = r.spool.submit(&sms("+4917", "hi")).unwrap();
    let mut now = SystemTime::now();
    assert_eq!(r.step_at(now), Step::Worked);
    let f = r.read(OUTGOING, &id);
    assert_eq!(f.header(HDR_ATTEMPTS), Some("1"));
    assert_eq!(r.names(OUTGOING), vec![id.clone()]);
    assert!(r.names(TMP).is_empty() && r.names(SENDING).is_empty());
    assert!(f
        .header("Last_error")
        .is_some_and(|e| e.contains("no network")));
    // Not before its retry time.
    let Step::Idle(Some(at)) = r.step_at(now) else {
        panic!("expected a pending retry");
    };
    assert!(at > Instant::now() + Duration::from_secs(5));
    assert_eq!(r.modem().sent.len(), 1);
    now += Duration::from_secs(11);
    assert_eq!(r.step_at(now), Step::Worked);
    assert_eq!(r.read(OUTGOING, &id).header(HDR_ATTEMPTS), Some("2"));
    now += Duration::from_secs(3600);
    assert_eq!(r.step_at(now), Step::Worked);
    assert_eq!(r.modem().sent.len(), 3);
    assert_eq!(r.names(FAILED), vec![id.clone()]);
    let reason = r.read(FAILED, &id);
    let reason = reason.header("Fail_reason").unwrap();
    assert!(
        reason.contains("no network") && reason.contains("3 attempts"),
        "{reason}"
    );
    assert_eq!(r.status().retried.load(Ordering::Relaxed), 2);
    assert_eq!(r.status().failed.load(Ordering::Relaxed), 1);
}

#[test]
fn a_message_waits_for_a_missing_modem_without_using_up_its_attempts() {
    let mut r = Rig::new();
    Arc::make_mut(&mut r.s.cfg).max_attempts = 2;
    let missing = || {
        Err(SendError::NotReady(
            "modem not ready: waiting for device".into(),
        ))
    };
    for _ in 0..6 {
        r.modem().script.push_back(missing());
    }
    let first = r.spool.submit(&sms("+4917", "first")).unwrap();
    let t0 = SystemTime::now();
    let at = |s: u64| t0 + Duration::from_secs(s);
    assert_eq!(r.step_at(at(0)), Step::Worked);
    // Claimed and held, its file as written, not failed.
    assert_eq!(r.names(SENDING), vec![first.clone()]);
    let second = r.spool.submit(&sms("+4917", "second")).unwrap();
    // Nothing else is taken while it waits; it is tried again every 10 s, far more often than
    // its two attempts would allow.
    assert!(matches!(r.step_at(at(5)), Step::Idle(Some(_))));
    assert_eq!(r.names(OUTGOING), vec![second.clone()]);
    for k in 1..=6 {
        assert_eq!(r.step_at(at(11 * k)), Step::Worked);
        assert!(r.names(FAILED).is_empty(), "failed after try {k}");
    }
    assert_eq!(
        r.modem().sent.len(),
        7,
        "six tries without a modem, then the send"
    );
    assert_eq!(r.names(SENT), vec![first.clone()]);
    assert_eq!(
        r.read(SENT, &first).header(HDR_ATTEMPTS),
        None,
        "no attempt counted"
    );
    assert_eq!(r.step_at(at(70)), Step::Worked);
    assert_eq!(r.names(SENT).len(), 2, "then the next message");
    assert_eq!(r.status().retried.load(Ordering::Relaxed), 0);
    assert_eq!(r.status().failed.load(Ordering::Relaxed), 0);
}

#[test]
fn permanent_errors_fail_at_once() {
    let mut r = Rig::new();
    r.modem()
        .script
        .push_back(Err(SendError::Permanent("+CMS ERROR: 21".into())));
    let id = r.spool.submit(&sms("+4917", "hi")).unwrap();
    assert_eq!(r.step(), Step::Worked);
    let f = r.read(FAILED, &id);
    assert_eq!(f.header("Fail_reason"), Some("+CMS ERROR: 21"));
    assert!(f.header("Failed").is_some());
    assert!(r.names(OUTGOING).is_empty());
}

#[test]
fn unsendable_files_fail_with_a_reason_without_touching_the_modem() {
    let mut r = Rig::new();
    r.drop_file("badnum", b"To: 12ab\n\nx");
    r.drop_file("empty", b"To: 123\n\n");
    r.drop_file("binary", b"To: 123\nAlphabet: binary\n\n\x01");
    for _ in 0..3 {
        assert_eq!(r.step(), Step::Worked);
    }
    assert!(r.modem().sent.is_empty());
    assert_eq!(r.names(FAILED), vec!["badnum", "binary", "empty"]);
    let reason = r.read(FAILED, "badnum");
    assert!(reason.header("Fail_reason").unwrap().contains("12ab"));
}

#[test]
fn never_takes_dot_lock_or_open_files() {
    let mut r = Rig::new();
    let out = r.spool.dir(OUTGOING);
    fs::write(out.join(".hidden"), b"To: 1\n\nx").unwrap();
    fs::write(out.join("x.LOCK"), b"").unwrap();
    fs::write(out.join("locked"), b"To: 1\n\nx").unwrap();
    fs::write(out.join("locked.LOCK"), b"").unwrap();
    let mut writing = File::create(out.join("writing")).unwrap();
    writing.write_all(b"To: 1\n\nhalf").unwrap();
    // Old mtime so only the open-for-write check can hold it back.
    writing
        .set_modified(SystemTime::now() - Duration::from_secs(60))
        .unwrap();
    // `mktemp` placeholder of smstools' sendsms, about to be replaced by `mv`.
    fs::write(out.join("send_AbC123"), b"").unwrap();
    assert_eq!(r.step(), Step::Idle(None));
    assert!(r.modem().sent.is_empty());
    drop(writing);
    assert_eq!(r.step(), Step::Worked);
    assert_eq!(r.names(SENT), vec!["writing"]);
    fs::remove_file(out.join("locked.LOCK")).unwrap();
    assert_eq!(r.step(), Step::Worked);
    assert_eq!(r.names(SENT), vec!["locked", "writing"]);
    assert_eq!(r.step(), Step::Idle(None));
    // An empty file nobody filled for a minute is taken (and fails with a reason).
    assert_eq!(
        r.step_at(SystemTime::now() + Duration::from_secs(61)),
        Step::Worked
    );
    assert_eq!(r.names(FAILED), vec!["send_AbC123"]);
}

#[test]
fn a_file_locked_by_another_sender_is_not_taken_or_recovered() {
    let mut r = Rig::new();
    r.drop_file("m1", b"To: 1\n\nx");
    let other = File::open(r.spool.dir(OUTGOING).join("m1")).unwrap();
    other.try_lock().unwrap();
    assert_eq!(r.step(), Step::Idle(None));
    // The other sender claims it into sending/ and "dies" later.
    fs::rename(
        r.spool.dir(OUTGOING).join("m1"),
        r.spool.dir(SENDING).join("m1"),
    )
    .unwrap();
    assert_eq!(r.recover(), 0);
    assert_eq!(r.names(SENDING), vec!["m1"]);
    drop(other);
    assert_eq!(r.recover(), 1);
    assert_eq!(r.names(OUTGOING), vec!["m1"]);
    assert_eq!(r.step(), Step::Worked);
    assert_eq!(r.names(SENT), vec!["m1"]);
}

#[test]
fn retention_keeps_the_newest() {
    let mut r = Rig::new();
    Arc::make_mut(&mut r.s.cfg).keep_sent = 2;
    for i in 0..4 {
        r.spool.submit(&sms("1", &format!("m{i}"))).unwrap();
        assert_eq!(r.step(), Step::Worked);
    }
    assert_eq!(r.names(SENT).len(), 2);
    assert_eq!(r.status().sent.load(Ordering::Relaxed), 4);
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..400 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn hook_runs_with_event_and_file_without_blocking_the_queue() {
    let mut r = Rig::new();
    let root = r.spool.root().to_path_buf();
    let hook = root.join("hook.sh");
    let release = root.join("release");
    let log = root.join("hook.log");
    fs::write(
        &hook,
        format!(
            "#!/bin/sh\nwhile [ ! -e {} ]; do sleep 0.05; done\necho \"$1 $2\" >> {}\n",
            release.display(),
            log.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    Arc::make_mut(&mut r.s.cfg).hook = Some(hook.display().to_string());
    Arc::make_mut(&mut r.s.cfg).hook_timeout = Duration::from_secs(30);
    let a = r.spool.submit(&sms("1", "a")).unwrap();
    r.modem()
        .script
        .extend([Ok(1), Err(SendError::Permanent("barred".into()))]);
    let b = r.spool.submit(&sms("1", "b")).unwrap();
    // Both finish while the first hook is still blocked.
    assert_eq!(r.step(), Step::Worked);
    assert_eq!(r.step(), Step::Worked);
    assert_eq!(r.names(SENT).len() + r.names(FAILED).len(), 2);
    assert!(!log.exists());
    fs::write(&release, b"").unwrap();
    wait_for("hook log", || {
        fs::read_to_string(&log).is_ok_and(|l| l.lines().count() == 2)
    });
    let l = fs::read_to_string(&log).unwrap();
    // Ids are random: either message may have gone first.
    let (sent, failed) = (r.names(SENT), r.names(FAILED));
    assert!(sent.len() == 1 && failed.len() == 1);
    let mut both = vec![sent[0].clone(), failed[0].clone()];
    both.sort();
    let mut ids = vec![a, b];
    ids.sort();
    assert_eq!(both, ids);
    let sent = r.spool.dir(SENT).join(&sent[0]);
    let failed = r.spool.dir(FAILED).join(&failed[0]);
    assert!(l.contains(&format!("SENT {}", sent.display())), "{l}");
    assert!(l.contains(&format!("FAILED {}", failed.display())), "{l}");
}

#[test]
fn hook_is_killed_after_its_timeout() {
    let mut r = Rig::new();
    let root = r.spool.root().to_path_buf();
    let hook = root.join("hook.sh");
    let pidfile = root.join("hook.pid");
    fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho $$ > {}\nexec sleep 120\n",
            pidfile.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    Arc::make_mut(&mut r.s.cfg).hook = Some(hook.display().to_string());
    Arc::make_mut(&mut r.s.cfg).hook_timeout = Duration::from_secs(1);
    r.spool.submit(&sms("1", "a")).unwrap();
    assert_eq!(r.step(), Step::Worked);
    wait_for("hook pid", || {
        fs::read_to_string(&pidfile).is_ok_and(|p| p.ends_with('\n'))
    });
    let pid = fs::read_to_string(&pidfile).unwrap().trim().to_string();
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    wait_for("hook to be killed and reaped", || !proc_dir.exists());
}

/// ENOSPC on a real tiny filesystem: the writer gets `Full`, nothing half-written anywhere.
/// Needs permission to mount a tmpfs (root); prints a notice and checks nothing otherwise.
#[test]
fn full_disk_gives_full_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("full_disk test skipped: cannot mount a tmpfs here (not root?)");
        return;
    }
    let result = std::panic::catch_unwind(|| {
        let spool = Spool::open(dir.path()).unwrap();
        // Fill the filesystem, leaving less than one message.
        let filler = dir.path().join("filler");
        let mut f = File::create(&filler).unwrap();
        let chunk = vec![b'x'; 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
        let big = "y".repeat(8000);
        let err = spool.submit(&sms("+4917", &big)).unwrap_err();
        assert!(matches!(err, SpoolError::Full), "{err}");
        assert_eq!(fs::read_dir(spool.dir(OUTGOING)).unwrap().count(), 0);
        assert_eq!(fs::read_dir(spool.dir(TMP)).unwrap().count(), 0);
        // Space back: the same spool works again.
        drop(f);
        fs::remove_file(&filler).unwrap();
        spool.submit(&sms("+4917", &big)).unwrap();
        assert_eq!(fs::read_dir(spool.dir(OUTGOING)).unwrap().count(), 1);
    });
    let _ = std::process::Command::new("umount")
        .arg(dir.path())
        .status();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn unwritable_spool_is_unavailable_and_writes_nothing() {
    let r = Rig::new();
    // Injected error: tmp/ replaced by a plain file.
    fs::remove_dir(r.spool.dir(TMP)).unwrap();
    fs::write(r.spool.dir(TMP), b"").unwrap();
    let err = r.spool.submit(&sms("1", "x")).unwrap_err();
    assert!(matches!(err, SpoolError::Unavailable(_)), "{err}");
    assert!(r.names(OUTGOING).is_empty());
}

#[test]
fn a_partly_sent_message_resumes_with_the_same_reference() {
    let mut r = Rig::new();
    let text = "resume ".repeat(30); // 210 GSM characters: two parts with the real codec
    let opts = pdu::EncodeOptions::default();
    match pdu::encode_submit("+4917", &text, &opts, 1) {
        Ok(p) if p.len() >= 2 => {}
        _ => {
            eprintln!("skipped: the PDU codec in this tree does not split messages yet");
            return;
        }
    }
    r.modem()
        .script
        .extend([Ok(7), Err(SendError::Transient("modem gone".into())), Ok(8)]);
    let id = r.spool.submit(&sms("+4917", &text)).unwrap();
    assert_eq!(r.step(), Step::Worked);
    let f = r.read(OUTGOING, &id);
    assert_eq!(f.header(HDR_PARTS_SENT), Some("1"));
    assert!(f.header(HDR_CONCAT_REF).is_some());
    let later = SystemTime::now() + Duration::from_secs(3600);
    assert_eq!(r.step_at(later), Step::Worked);
    // Part 1 once, part 2 twice: the retry is byte-identical (same concatenation reference).
    assert_eq!(r.modem().sent.len(), 3);
    let sent = &r.s.modem.sent;
    assert_ne!(sent[0], sent[1]);
    assert_eq!(sent[1], sent[2]);
    assert_eq!(r.read(SENT, &id).header("Message_id"), Some("7 8"));
}

#[test]
fn oversized_files_fail_without_being_read_whole() {
    let mut r = Rig::new();
    let mut big = b"To: 1\n\n".to_vec();
    big.resize(MAX_FILE_BYTES as usize + 100, b'x');
    r.drop_file("huge", &big);
    assert_eq!(r.step(), Step::Worked);
    assert!(r.modem().sent.is_empty());
    assert_eq!(r.names(FAILED), vec!["huge"]);
    assert_eq!(fs::read(r.spool.dir(FAILED).join("huge")).unwrap(), big);
    assert!(r.status().last_error().contains("larger than"));
}

#[test]
fn one_listing_serves_a_burst_and_skips_files_gone_meanwhile() {
    let mut r = Rig::new();
    r.drop_file("a", b"To: 491721234567\n\nfirst");
    r.drop_file("b", b"To: 491721234567\n\nsecond");
    r.drop_file("c", b"To: 491721234567\n\nthird");
    let step = |r: &mut Rig| r.step_keep();
    assert_eq!(step(&mut r), Step::Worked);
    // Another sender takes one of the listed files before this one gets to it.
    let taken = r.names(OUTGOING)[0].clone();
    fs::remove_file(r.spool.dir(OUTGOING).join(&taken)).unwrap();
    assert_eq!(step(&mut r), Step::Worked);
    assert_eq!(step(&mut r), Step::Idle(None));
    assert_eq!(r.names(SENT).len(), 2, "each remaining file sent once");
    assert_eq!(r.modem().sent.len(), 2);
    assert!(r.names(OUTGOING).is_empty());
    assert_eq!(r.status().queue_depth.load(Ordering::Relaxed), 0);
}

#[test]
fn a_file_listed_before_is_not_opened_again() {
    let r = Rig::new();
    r.drop_file("a", b"To: 491721234567\n\nqueued");
    let first = r.spool.scan(SystemTime::now(), Vec::new()).queue;
    assert_eq!(first.len(), 1);
    assert!(!first[0].high);
    // What an earlier listing knew about this name and inode is taken as it is (a marker
    // that is not in the file shows it was not read again).
    let mut known = first.clone();
    known[0].high = true;
    let again = r.spool.scan(SystemTime::now(), known.clone()).queue;
    assert!(again[0].high, "the known entry was used");
    // Another inode under that name (a file moved over it) is read afresh.
    known[0].ino = known[0].ino.wrapping_add(1);
    let replaced = r.spool.scan(SystemTime::now(), known).queue;
    assert!(!replaced[0].high, "a different inode is read again");
}

#[test]
fn new_files_merged_into_a_kept_listing_come_in_queue_order() {
    let r = Rig::new();
    let base = SystemTime::now() - Duration::from_secs(1000);
    let put = |name: &str, high: bool, age: u64| {
        let prio = if high { "Priority: high\n" } else { "" };
        r.drop_file(name, format!("To: 491721234567\n{prio}\nx").as_bytes());
        let f = File::options()
            .write(true)
            .open(r.spool.dir(OUTGOING).join(name))
            .unwrap();
        f.set_modified(base + Duration::from_secs(age)).unwrap();
    };
    for (i, name) in ["k1", "k2", "k3", "k4", "k5"].into_iter().enumerate() {
        put(name, i == 2, 10 * i as u64);
    }
    let known = r.spool.scan(SystemTime::now(), Vec::new()).queue;
    // New files older, newer and in between the known ones, one of them urgent, one with the
    // same time as a known file (the name decides).
    put("n-old", false, 1);
    put("n-mid", false, 25);
    put("n-new", false, 99);
    put("n-urgent", true, 50);
    put("k0", false, 10);
    let merged = r.spool.scan(SystemTime::now(), known).queue;
    let fresh = r.spool.scan(SystemTime::now(), Vec::new()).queue;
    let names = |q: &[QueueEntry]| q.iter().map(|e| e.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&merged), names(&fresh));
    let order: Vec<_> = names(&merged).into_iter().rev().collect();
    assert_eq!(
        order,
        ["k3", "n-urgent", "k1", "n-old", "k0", "k2", "n-mid", "k4", "k5", "n-new"]
            .map(OsString::from)
    );
}

#[test]
fn a_spool_in_memory_is_told_apart_from_one_on_a_disk() {
    if Path::new("/dev/shm").is_dir() {
        assert!(in_memory(Path::new("/dev/shm")), "tmpfs");
    }
    assert!(!in_memory(Path::new("/proc")), "procfs is not tmpfs");
    assert!(
        !in_memory(Path::new("/no/such/dir")),
        "unknown: fsync as usual"
    );
}

#[test]
fn a_queued_file_replaced_by_a_rename_is_read_again() {
    let mut r = Rig::new();
    for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
        r.drop_file(name, b"To: 491721234567\n\nnormal");
        let age = SystemTime::now() - Duration::from_secs(300 - 100 * i as u64);
        File::options()
            .write(true)
            .open(r.spool.dir(OUTGOING).join(name))
            .unwrap()
            .set_modified(age)
            .unwrap();
    }
    assert_eq!(r.step(), Step::Worked);
    assert_eq!(r.names(SENT), vec!["a"]);
    // "c" (listed as the newest, normal priority) is replaced by a high-priority file.
    r.drop_file("c", b"To: 491721234567\nPriority: HIGH\n\nurgent");
    assert_eq!(r.step(), Step::Worked);
    assert_eq!(
        r.names(SENT),
        vec!["a", "c"],
        "the new content of c goes first"
    );
}

#[test]
fn retention_in_a_burst_catches_up_when_the_queue_runs_empty() {
    let mut r = Rig::new();
    Arc::make_mut(&mut r.s.cfg).keep_sent = 1;
    for i in 0..3 {
        r.drop_file(&format!("m{i}"), b"To: 491721234567\n\nburst");
    }
    let step = |r: &mut Rig| r.step_keep();
    while step(&mut r) == Step::Worked {}
    assert_eq!(r.modem().sent.len(), 3);
    assert_eq!(r.names(SENT).len(), 1, "bounded once the burst is over");
}

/// Mounts a 64 KiB tmpfs on a fresh directory; `None` (with a notice) where the kernel refuses.
fn tiny_tmpfs() -> Option<tempfile::TempDir> {
    let dir = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    if mounted {
        Some(dir)
    } else {
        eprintln!("skipped: cannot mount a tmpfs here (not root?)");
        None
    }
}

fn fill(dir: &Path) -> File {
    let mut f = File::create(dir.join("filler")).unwrap();
    let chunk = vec![b'x'; 1024];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    f
}

const TWO_PARTS: &str = "two part message text long enough to need a second part of the same SMS, \
    which is exactly what we want here to see part one going out once and only once, whatever \
    happens with the disk and the retries afterwards; a few more words to be sure it splits";

#[test]
fn a_retry_that_cannot_be_written_back_keeps_its_attempts_and_parts_and_ends_in_failed() {
    let Some(dir) = tiny_tmpfs() else { return };
    let mount = dir.path().to_path_buf();
    let cfg = ServeConfig {
        max_attempts: 3,
        ..ServeConfig::default()
    };
    let inner = mount.clone();
    let result = std::panic::catch_unwind(move || {
        let mount = inner;
        let mut r = Rig::at(dir, cfg);
        let urgent = OutgoingSms {
            priority_high: true, // taken first
            ..sms("+4917", TWO_PARTS)
        };
        let multi = r.spool.submit(&urgent).unwrap();
        let single = r
            .spool
            .submit(&sms("+4918", "accepted before the disk filled"))
            .unwrap();
        let _filler = fill(&mount);
        // Part 1 goes out, part 2 and every later try fail: the state cannot be written back.
        r.modem().script.push_back(Ok(1));
        r.modem().then_transient = true;
        let mut later = Duration::ZERO;
        for _ in 0..10 {
            later += Duration::from_secs(3600);
            r.step_at(SystemTime::now() + later);
            if r.names(FAILED).contains(&multi) {
                break;
            }
        }
        assert_eq!(r.names(FAILED), vec![multi.clone()], "ends in failed/");
        let first = r.s.modem.sent[0].clone();
        let part1_sent = r.s.modem.sent.iter().filter(|h| **h == first).count();
        assert_eq!(part1_sent, 1, "part 1 sent once: {:?}", r.s.modem.sent);
        // Three attempts at part 2, no more.
        assert_eq!(r.s.modem.sent.len(), 1 + 3);
        assert_eq!(r.status().failed.load(Ordering::Relaxed), 1);
        assert!(
            r.status().last_error().contains("3 attempts"),
            "{}",
            r.status().last_error()
        );
        // The message accepted before the disk filled is sent exactly once.
        r.modem().then_transient = false;
        assert_eq!(r.step(), Step::Worked);
        assert_eq!(r.names(SENT), vec![single]);
        assert_eq!(r.s.modem.sent.len(), 5);
        assert_eq!(r.step(), Step::Idle(None));
        assert!(r.names(SENDING).is_empty() && r.names(OUTGOING).is_empty());
    });
    let _ = std::process::Command::new("umount").arg(&mount).status();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn a_foreign_header_with_a_cr_is_refused_before_anything_is_sent() {
    let mut r = Rig::new();
    r.drop_file("cr", b"To: 491721234567\nX-Note: a\rb\n\nhello");
    assert_eq!(r.step(), Step::Worked);
    assert!(r.s.modem.sent.is_empty());
    assert_eq!(r.names(FAILED), vec!["cr"]);
    let f = r.read(FAILED, "cr");
    assert!(f
        .header("Fail_reason")
        .is_some_and(|w| w.contains("control character")));
}

#[test]
fn requeue_never_replaces_a_newer_file_with_the_same_name() {
    let mut r = Rig::new();
    r.drop_file("job", b"To: 491721234567\n\nolder");
    let out = r.spool.dir(OUTGOING);
    // While the older message is on the air, another program drops a new file of the same name.
    r.modem().during = Some(Box::new(move || {
        fs::write(out.join("job"), b"To: 491721234567\n\nnewer").unwrap();
    }));
    r.modem()
        .script
        .push_back(Err(SendError::Transient("no network".into())));
    assert_eq!(r.step(), Step::Worked);
    let names = r.names(OUTGOING);
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(r.read(OUTGOING, "job").body, b"newer");
    let requeued = names.iter().find(|n| *n != "job").unwrap();
    assert!(requeued.starts_with("job."), "{requeued}");
    assert_eq!(r.read(OUTGOING, requeued).body, b"older");
    assert_eq!(r.read(OUTGOING, requeued).header(HDR_ATTEMPTS), Some("1"));
}

#[test]
fn recovery_never_replaces_a_newer_file_with_the_same_name() {
    let r = Rig::new();
    fs::write(r.spool.dir(SENDING).join("job"), b"To: 1\n\nolder").unwrap();
    fs::write(r.spool.dir(OUTGOING).join("job"), b"To: 1\n\nnewer").unwrap();
    assert_eq!(r.recover(), 1);
    let names = r.names(OUTGOING);
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(r.read(OUTGOING, "job").body, b"newer");
    assert!(r.names(SENDING).is_empty());
}

#[test]
fn two_messages_in_the_same_second_and_pid_never_share_an_id() {
    let r = Rig::new();
    let mut ids: Vec<String> = (0..300)
        .map(|i| r.spool.submit(&sms("1", &format!("m{i}"))).unwrap())
        .collect();
    // A second spool object in the same process (its counter starts at 0 again, like a process
    // with the same pid after a reboot without RTC).
    let again = Spool::open(r.spool.root()).unwrap();
    ids.extend((0..300).map(|i| again.submit(&sms("1", &format!("n{i}"))).unwrap()));
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 600);
    assert_eq!(r.names(OUTGOING).len(), 600, "no file replaced another");
    // The primitive under it refuses to replace.
    let a = r.spool.root().join("a");
    fs::write(&a, b"x").unwrap();
    let target = r.spool.dir(OUTGOING).join(&ids[0]);
    let err = rename_noreplace(&a, &target).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    assert!(a.exists());
}

#[test]
fn parts_sent_beyond_the_part_count_fails_instead_of_counting_as_sent() {
    let mut r = Rig::new();
    r.drop_file("claims", b"To: 491721234567\nParts_sent: 200\n\none part");
    r.drop_file(
        "huge",
        b"To: 491721234567\nParts_sent: 99999999999\n\none part",
    );
    r.drop_file("all", b"To: 491721234567\nParts_sent: 1\n\none part");
    for _ in 0..3 {
        assert_eq!(r.step(), Step::Worked);
    }
    assert!(r.s.modem.sent.is_empty());
    assert!(r.names(SENT).is_empty());
    assert_eq!(r.names(FAILED), vec!["all", "claims", "huge"]);
    assert_eq!(r.status().sent.load(Ordering::Relaxed), 0);
    let why = r.read(FAILED, "claims");
    assert!(why
        .header("Fail_reason")
        .unwrap()
        .contains("Parts_sent: 200"));
}

#[test]
fn a_symlink_in_outgoing_is_moved_aside_unread_and_spool_files_are_0600() {
    use std::os::unix::fs::PermissionsExt;
    let mut r = Rig::new();
    let secret = r.spool.root().join("secret");
    fs::write(&secret, b"To: 491721234567\n\nroot password").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(&secret, r.spool.dir(OUTGOING).join("link")).unwrap();
    assert_eq!(r.step(), Step::Idle(None));
    assert!(r.s.modem.sent.is_empty());
    let moved = r.spool.dir(FAILED).join("link");
    assert!(fs::symlink_metadata(&moved)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read_link(&moved).unwrap(), secret);
    // Every file the spool writes is 0600.
    let id = r.spool.submit(&sms("1", "private")).unwrap();
    let mode = |p: PathBuf| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(r.spool.dir(OUTGOING).join(&id)), 0o600);
    assert_eq!(r.step(), Step::Worked);
    assert_eq!(mode(r.spool.dir(SENT).join(&id)), 0o600);
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn a_fifo_in_outgoing_does_not_hang_the_sender() {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut r = Rig::new();
        mkfifo(&r.spool.dir(OUTGOING).join("fifo"));
        r.drop_file("real", b"To: 491721234567\n\nafter the fifo");
        let first = r.step();
        // A FIFO swapped in after the listing: the claim opens it without blocking and refuses it.
        mkfifo(&r.spool.dir(OUTGOING).join("swapped"));
        let claim = r.spool.claim(std::ffi::OsStr::new("swapped"));
        done_tx
            .send((first, claim.is_none(), r.names(SENT), r.names(FAILED)))
            .unwrap();
    });
    let (first, refused, sent, failed) = done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the sender hung on a FIFO");
    assert_eq!(first, Step::Worked);
    assert!(refused);
    assert_eq!(sent, vec!["real"]);
    assert_eq!(failed, vec!["fifo"]);
}

#[test]
fn queue_depth_counts_only_regular_files() {
    let mut r = Rig::new();
    let out = r.spool.dir(OUTGOING);
    fs::create_dir(out.join("a-directory")).unwrap();
    mkfifo(&out.join("a-fifo"));
    r.drop_file("a-message", b"To: 491721234567\n\nx");
    assert_eq!(r.spool.scan(SystemTime::now(), Vec::new()).depth(), 1);
    assert_eq!(r.step(), Step::Worked);
    assert_eq!(r.status().queue_depth.load(Ordering::Relaxed), 0);
}

#[test]
fn rm_rf_of_the_spool_is_repaired_and_reported() {
    let mut r = Rig::new();
    let clear = |r: &Rig| {
        for d in [OUTGOING, SENDING, SENT, FAILED, TMP] {
            fs::remove_dir_all(r.spool.dir(d)).unwrap();
        }
    };
    clear(&r);
    let id = r.spool.submit(&sms("1", "after rm -rf")).unwrap();
    assert_eq!(r.step(), Step::Worked);
    assert_eq!(r.names(SENT), vec![id]);
    clear(&r);
    assert_eq!(r.step(), Step::Idle(None));
    for d in [OUTGOING, SENDING, SENT, FAILED, TMP] {
        assert!(r.spool.dir(d).is_dir(), "{d} re-created by the sender");
    }
    // A spool that cannot be repaired is reported.
    fs::remove_dir(r.spool.dir(TMP)).unwrap();
    fs::write(r.spool.dir(TMP), b"").unwrap();
    assert!(r.spool.submit(&sms("1", "x")).is_err());
    r.step();
    assert!(!r.status().spool_writable.load(Ordering::Relaxed));
    fs::remove_file(r.spool.dir(TMP)).unwrap();
    r.spool.submit(&sms("1", "x")).unwrap();
    r.step();
    assert!(r.status().spool_writable.load(Ordering::Relaxed));
}

#[test]
fn a_retry_never_waits_longer_than_its_backoff_after_the_clock_stepped_back() {
    let mut r = Rig::new();
    // Written under a clock a year ahead (or read after the clock stepped back a year).
    let year_ahead = SystemTime::now() + Duration::from_secs(365 * 86_400);
    let secs = year_ahead.duration_since(UNIX_EPOCH).unwrap().as_secs();
    r.drop_file(
        "later",
        format!("To: 491721234567\nAttempts: 1\nRetry_at: {secs}\n\nx").as_bytes(),
    );
    let start = Instant::now();
    let Step::Idle(Some(due)) = r.step() else {
        panic!("expected a pending retry");
    };
    assert!(
        due <= start + Duration::from_secs(11),
        "waits at most backoff(1) = 10 s"
    );
    assert_eq!(
        r.step_at(SystemTime::now() + Duration::from_secs(11)),
        Step::Worked
    );
    assert_eq!(r.names(SENT), vec!["later"]);
}

#[test]
fn retention_keeps_fresh_records_when_the_clock_jumps_forward() {
    let mut r = Rig::new();
    Arc::make_mut(&mut r.s.cfg).keep_days = 1;
    let first = r.spool.submit(&sms("1", "first")).unwrap();
    assert_eq!(r.step(), Step::Worked);
    // NTP sync: the wall clock jumps a year forward, the monotonic clock does not.
    let real = Now::real();
    let jumped = Now {
        wall: real.wall + Duration::from_secs(365 * 86_400),
        mono: real.mono,
    };
    r.spool.submit(&sms("1", "second")).unwrap();
    r.s.forget_listing();
    assert_eq!(r.s.step(jumped), Step::Worked);
    assert!(
        r.names(SENT).contains(&first),
        "fresh record kept after the jump"
    );
    assert_eq!(r.names(SENT).len(), 2);
    // Two days later by both clocks: both expire.
    let two_days = Duration::from_secs(2 * 86_400);
    let later = Now {
        wall: jumped.wall + two_days,
        mono: real.mono + two_days,
    };
    r.s.retention(later);
    assert!(r.names(SENT).is_empty(), "{:?}", r.names(SENT));
}
