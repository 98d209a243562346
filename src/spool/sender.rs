//! The sender loop: picks claimed spool files in order, encodes them with `pdu::encode_submit`, sends
//! every part through the `SmsSender`, and finishes each message in `sent/` or `failed/` with
//! smsd-style result headers; retries transient errors with backoff, bounds `sent/` and `failed/`,
//! runs the event hook without blocking the queue, and watches `outgoing/` with inotify. It must not
//! speak AT or parse HTTP.

use super::deliveries::Deliveries;
use super::format::{self, SpoolFile};
use super::{
    take_next, Claim, Spool, FAILED, HDR_ATTEMPTS, HDR_CONCAT_REF, HDR_PARTS_SENT, HDR_RETRY_AT,
    MAX_FILE_BYTES, OUTGOING, SENT,
};
use crate::config::ServeConfig;
use crate::delivery::{record, Now, Part, SentMessage};
use crate::modem::{spawn_named, SendError, SmsSender};
use crate::pdu::{self, EncodeOptions};
use crate::status::GatewayStatus;
use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Look at `outgoing/` at least this often even without a notification.
const RESCAN: Duration = Duration::from_secs(1);
/// Look for orphaned claims of dead processes this often.
const RECOVER_EVERY: Duration = Duration::from_secs(60);
/// One listing of `outgoing/` serves the messages taken within this time. With a real modem (seconds
/// per SMS) every message still starts from a fresh listing, so a new `Priority: high` file goes
/// next; with an instant modem and a backlog of thousands, the sender no longer lists, stats and
/// reads every waiting file once per message (which took CPU from the HTTP workers in a burst).
const LISTING_FOR: Duration = Duration::from_millis(250);

/// The sender's current listing of `outgoing/` (what `Spool::scan` found takeable).
#[derive(Default)]
pub(super) struct Listing {
    queue: Vec<super::QueueEntry>,
    next_retry: Option<SystemTime>,
    taken: Option<Instant>,
    /// When retention last ran, and whether a message was finished since.
    pruned: Option<Instant>,
    unpruned: bool,
    /// Where sent parts are recorded and matched with delivery reports (none in some tests).
    pub(super) deliveries: Option<Arc<Deliveries>>,
}

/// Bounds `sent/` and `failed/` (count and age).
fn retention(spool: &Spool, cfg: &ServeConfig, now: SystemTime) {
    prune(&spool.dir(SENT), cfg.keep_sent, cfg.keep_days, now);
    prune(&spool.dir(FAILED), cfg.keep_failed, cfg.keep_days, now);
}

/// Deterministic pause points for crash tests: `SMSGW_FAULT=pause-before-claim|pause-after-claim|
/// pause-after-send` makes the sender announce `smsgw: fault: paused at X` and sleep there.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
    None,
    BeforeClaim,
    AfterClaim,
    AfterSend,
}

impl Fault {
    fn from_env() -> Fault {
        match std::env::var("SMSGW_FAULT").as_deref() {
            Ok("pause-before-claim") => Fault::BeforeClaim,
            Ok("pause-after-claim") => Fault::AfterClaim,
            Ok("pause-after-send") => Fault::AfterSend,
            _ => Fault::None,
        }
    }

    fn pause(self, at: Fault) {
        if self != Fault::None && self == at {
            let name = match at {
                Fault::None => "None",
                Fault::BeforeClaim => "BeforeClaim",
                Fault::AfterClaim => "AfterClaim",
                Fault::AfterSend => "AfterSend",
            };
            eprintln!("smsgw: fault: paused at {name}");
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}

/// The sender loop: takes files from `outgoing/`, sends them, moves them to `sent/` or `failed/`.
/// Runs forever.
pub fn run_sender(
    spool: Arc<Spool>,
    mut modem: Box<dyn SmsSender>,
    cfg: &ServeConfig,
    status: Arc<GatewayStatus>,
    deliveries: Arc<Deliveries>,
) {
    let fault = Fault::from_env();
    if !watch_outgoing(&spool) {
        eprintln!("smsgw: inotify unavailable, rescanning outgoing/ every second");
    }
    let mut reference = getrandom::u32().map(|v| v as u8).unwrap_or(0);
    let recovered = spool.recover(SystemTime::now());
    if recovered > 0 {
        eprintln!("smsgw: recovered {recovered} interrupted message(s) from sending/");
    }
    retention(&spool, cfg, SystemTime::now());
    let mut last_recover = Instant::now();
    let mut listing = Listing {
        deliveries: Some(deliveries.clone()),
        ..Listing::default()
    };
    loop {
        for path in deliveries.take_hook_events() {
            run_hook(cfg, "REPORT", &path);
        }
        let now = SystemTime::now();
        if last_recover.elapsed() >= RECOVER_EVERY {
            spool.recover(now);
            last_recover = Instant::now();
        }
        let step = send_next(
            &spool,
            modem.as_mut(),
            cfg,
            &status,
            fault,
            &mut reference,
            now,
            &mut listing,
        );
        if let Step::Idle(next_retry) = step {
            let wait = next_retry
                .and_then(|t| t.duration_since(now).ok())
                .map_or(RESCAN, |d| d.min(RESCAN));
            spool.wait(wait);
        }
    }
}

/// What one pass of the sender did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// One message was finished (sent, failed or requeued for retry).
    Worked,
    /// Nothing takeable; the earliest pending retry time, if any.
    Idle(Option<SystemTime>),
}

/// Claims and handles the first takeable message of the queue, from `listing` while it is fresh
/// (see [`LISTING_FOR`]), else from a new listing of `outgoing/`.
#[allow(clippy::too_many_arguments)]
pub(super) fn send_next(
    spool: &Spool,
    modem: &mut dyn SmsSender,
    cfg: &ServeConfig,
    status: &GatewayStatus,
    fault: Fault,
    reference: &mut u8,
    now: SystemTime,
    listing: &mut Listing,
) -> Step {
    let stale = listing.taken.is_none_or(|t| t.elapsed() >= LISTING_FOR);
    if listing.queue.is_empty() || stale {
        (listing.queue, listing.next_retry) = spool.scan(now);
        listing.taken = Some(Instant::now());
        status.queue_depth.store(spool.depth(), Ordering::Relaxed);
    }
    while let Some(entry) = take_next(&mut listing.queue) {
        fault.pause(Fault::BeforeClaim);
        // A file another sender took or that vanished since the listing is simply skipped.
        let Some(claim) = spool.claim(&entry.name) else {
            continue;
        };
        fault.pause(Fault::AfterClaim);
        *reference = reference.wrapping_add(1);
        let deliveries = listing.deliveries.as_deref();
        process(
            spool, &claim, modem, cfg, status, fault, *reference, deliveries,
        );
        let left = status.queue_depth.load(Ordering::Relaxed).saturating_sub(1);
        status.queue_depth.store(left, Ordering::Relaxed);
        // Retention after the send (not before it: it would delay the message), at most a few
        // times a second in a burst, and once more when the queue runs empty.
        listing.unpruned = true;
        if listing.pruned.is_none_or(|t| t.elapsed() >= LISTING_FOR) {
            retention(spool, cfg, now);
            listing.pruned = Some(Instant::now());
            listing.unpruned = false;
        }
        return Step::Worked;
    }
    if listing.unpruned {
        retention(spool, cfg, now);
        listing.unpruned = false;
    }
    listing.taken = None;
    Step::Idle(listing.next_retry)
}

#[allow(clippy::too_many_arguments)]
fn process(
    spool: &Spool,
    claim: &Claim,
    modem: &mut dyn SmsSender,
    cfg: &ServeConfig,
    status: &GatewayStatus,
    fault: Fault,
    reference: u8,
    deliveries: Option<&Deliveries>,
) {
    let mut file = SpoolFile::parse(&claim.bytes);
    if claim.bytes.len() as u64 > MAX_FILE_BYTES {
        let why = format!("file larger than {MAX_FILE_BYTES} bytes");
        return fail(spool, claim, file, &why, cfg, status);
    }
    let msg = match format::message_of(&file) {
        Ok(m) => m,
        Err(e) => return fail(spool, claim, file, &e.to_string(), cfg, status),
    };
    let opts = EncodeOptions {
        smsc: cfg.smsc.clone(),
        flash: msg.flash,
        status_report: msg.report,
        validity: msg.validity,
        max_parts: cfg.max_parts,
        force_ucs2: msg.ucs2,
    };
    // A retry of a partly sent message keeps its concatenation reference and skips what went out.
    let resume = |h: &str| file.header(h).and_then(|v| v.parse::<u8>().ok());
    let reference = resume(HDR_CONCAT_REF).unwrap_or(reference);
    let already = usize::from(resume(HDR_PARTS_SENT).unwrap_or(0));
    let parts = match pdu::encode_submit(&msg.to, &msg.text, &opts, reference) {
        Ok(p) => p,
        Err(e) => return fail(spool, claim, file, &e.to_string(), cfg, status),
    };
    // The parts sent so far (from an interrupted earlier try: their references are in Message_id).
    let id = claim.name.to_string_lossy().into_owned();
    let mut record = SentMessage {
        id: id.clone(),
        recipient: msg.to.clone(),
        report_requested: msg.report,
        total: u8::try_from(parts.len()).unwrap_or(u8::MAX),
        parts: record::read(&id, &file)
            .map(|r| r.parts)
            .unwrap_or_default(),
    };
    record.parts.truncate(already);
    let clock = || match deliveries {
        Some(d) => d.now(),
        None => Now {
            wall: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            mono: 0,
        },
    };
    for (i, part) in parts.iter().enumerate().skip(already) {
        match modem.send_part(part) {
            Ok(mr) => {
                let now = clock();
                record.parts.push(Part::new(mr, now));
                if let Some(d) = deliveries {
                    d.sent(&record, now);
                }
            }
            Err(SendError::Permanent(m)) => return fail(spool, claim, file, &m, cfg, status),
            Err(SendError::Transient(m)) => {
                if i > 0 {
                    let refs: Vec<String> = record
                        .parts
                        .iter()
                        .map(|p| p.reference.to_string())
                        .collect();
                    let _ = file.set_header(HDR_PARTS_SENT, &i.to_string());
                    let _ = file.set_header(HDR_CONCAT_REF, &reference.to_string());
                    let _ = file.set_header("Message_id", &refs.join(" "));
                }
                return retry(spool, claim, file, &m, cfg, status);
            }
        }
    }
    fault.pause(Fault::AfterSend);
    let now = SystemTime::now();
    let _ = file.set_header("Sent", &smsd_time(now));
    let name = claim.name.to_string_lossy();
    let finished = match deliveries {
        Some(d) => d.file(&record, &mut file, |f| spool.finish(claim, SENT, f)),
        None => {
            let _ = record::write(&mut file, &record);
            spool.finish(claim, SENT, &file)
        }
    };
    match finished {
        Ok(path) => {
            GatewayStatus::count(&status.sent);
            eprintln!("smsgw: sent {name} to {} ({} part(s))", msg.to, parts.len());
            run_hook(cfg, "SENT", &path);
        }
        Err(e) => {
            // Stays in sending/ and is recovered (and sent again: at-least-once) later.
            status.set_last_error(&format!("cannot move {name} to sent/: {e}"));
            eprintln!("smsgw: sent {name} but cannot move it to sent/: {e}");
        }
    }
}

fn retry(
    spool: &Spool,
    claim: &Claim,
    mut file: SpoolFile,
    reason: &str,
    cfg: &ServeConfig,
    status: &GatewayStatus,
) {
    let attempts = file
        .header(HDR_ATTEMPTS)
        .and_then(|a| a.parse::<u32>().ok())
        .unwrap_or(0)
        .saturating_add(1);
    let reason = one_line(reason);
    if attempts >= cfg.max_attempts.max(1) {
        let why = format!("{reason} (gave up after {attempts} attempts)");
        return fail(spool, claim, file, &why, cfg, status);
    }
    GatewayStatus::count(&status.retried);
    status.set_last_error(&reason);
    let now = SystemTime::now();
    let at = now + backoff(attempts);
    let at_secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let _ = file.set_header(HDR_ATTEMPTS, &attempts.to_string());
    let _ = file.set_header(HDR_RETRY_AT, &at_secs.to_string());
    let _ = file.set_header("Last_error", &reason);
    let name = claim.name.to_string_lossy();
    match spool.requeue(claim, &file) {
        Ok(()) => eprintln!(
            "smsgw: {name}: {reason}; attempt {attempts} of {}, retry in {} s",
            cfg.max_attempts,
            backoff(attempts).as_secs()
        ),
        Err(e) => eprintln!("smsgw: {name}: cannot requeue ({e}); recovered later"),
    }
}

fn fail(
    spool: &Spool,
    claim: &Claim,
    mut file: SpoolFile,
    reason: &str,
    cfg: &ServeConfig,
    status: &GatewayStatus,
) {
    let reason = one_line(reason);
    let now = SystemTime::now();
    let _ = file.set_header("Failed", &smsd_time(now));
    let _ = file.set_header("Fail_reason", &reason);
    let name = claim.name.to_string_lossy();
    GatewayStatus::count(&status.failed);
    status.set_last_error(&format!("{name}: {reason}"));
    match spool.finish(claim, FAILED, &file) {
        Ok(path) => {
            eprintln!("smsgw: failed {name}: {reason}");
            run_hook(cfg, "FAILED", &path);
        }
        Err(e) => eprintln!("smsgw: failed {name} ({reason}) and cannot move it: {e}"),
    }
}

/// Wait before attempt `attempts + 1`: 10 s, 20 s, 40 s ... at most 10 minutes.
pub fn backoff(attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(6);
    Duration::from_secs((10u64 << exp).min(600))
}

/// A header-safe single line: control characters become spaces, at most 200 characters.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect::<String>()
        .trim()
        .to_string()
}

/// smsd's time stamp `yy-mm-dd hh:mm:ss` (UTC: the router has no time zone database).
/// Written digit by digit in 32-bit arithmetic (no `core::fmt`, no 64-bit division on the router).
pub fn smsd_time(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    // Days fit 32 bits for any year below about 270 000; later times are clamped there.
    let days = u32::try_from(secs / 86_400)
        .unwrap_or(u32::MAX)
        .min(100_000_000);
    let rem = (secs % 86_400) as u32;
    let (y, m, d) = crate::civil::civil_from_days(days);
    let mut out = *b"00-00-00 00:00:00";
    for (i, v) in [y % 100, m, d, rem / 3600, rem / 60 % 60, rem % 60]
        .into_iter()
        .enumerate()
    {
        if let Some([hi, lo]) = out.get_mut(3 * i..3 * i + 2) {
            *hi = b'0' + (v / 10 % 10) as u8;
            *lo = b'0' + (v % 10) as u8;
        }
    }
    out.iter().map(|&b| char::from(b)).collect()
}

/// Which files retention removes: beyond the newest `keep` (0 = no count limit) or older than
/// `keep_days` (0 = no age limit).
pub fn expired(
    mut files: Vec<(OsString, SystemTime)>,
    keep: usize,
    keep_days: u64,
    now: SystemTime,
) -> Vec<OsString> {
    let max_age = Duration::from_secs(keep_days.saturating_mul(86_400));
    let mut gone = Vec::new();
    files.retain(|(name, t)| {
        let old = keep_days > 0 && now.duration_since(*t).is_ok_and(|age| age > max_age);
        if old {
            gone.push(name.clone());
        }
        !old
    });
    while keep > 0 && files.len() > keep {
        let oldest = files
            .iter()
            .enumerate()
            .min_by(|(_, a), (_, b)| a.1.cmp(&b.1).then(a.0.cmp(&b.0)))
            .map(|(i, _)| i);
        match oldest {
            Some(i) => gone.push(files.swap_remove(i).0),
            None => break,
        }
    }
    gone
}

pub(super) fn prune(dir: &Path, keep: usize, keep_days: u64, now: SystemTime) {
    let files = super::entries(dir)
        .into_iter()
        .filter(|e| !e.file_name().as_bytes().starts_with(b"."))
        .filter_map(|e| Some((e.file_name(), e.metadata().ok()?.modified().ok()?)))
        .collect();
    for name in expired(files, keep, keep_days, now) {
        let _ = std::fs::remove_file(dir.join(name));
    }
}

/// Runs `HOOK SENT|FAILED FILE` (smsd's eventhandler contract) on a helper thread that kills it
/// after `cfg.hook_timeout`; the queue never waits for it.
pub(super) fn run_hook(cfg: &ServeConfig, event: &'static str, path: &Path) {
    let Some(hook) = &cfg.hook else {
        return;
    };
    let pid = match spawn_hook(hook, event, path) {
        Ok(pid) => pid,
        Err(e) => {
            eprintln!("smsgw: hook {hook}: cannot start: {e}");
            return;
        }
    };
    let timeout = cfg.hook_timeout;
    let what = format!("{hook} {event} {}", path.display());
    let watcher = spawn_named(
        "hook",
        Box::new(move || {
            let started = Instant::now();
            loop {
                let mut st: libc::c_int = 0;
                // SAFETY: waits for our own child; `st` is a valid out pointer.
                let r = unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) };
                if r == pid {
                    if !(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0) {
                        eprintln!("smsgw: hook {what}: exit status {st:#x}");
                    }
                    return;
                }
                if r < 0 {
                    return eprintln!("smsgw: hook {what}: {}", std::io::Error::last_os_error());
                }
                if started.elapsed() >= timeout {
                    // SAFETY: signals and reaps our own child, which has not been reaped yet.
                    unsafe {
                        libc::kill(pid, libc::SIGKILL);
                        libc::waitpid(pid, &mut st, 0);
                    }
                    return eprintln!("smsgw: hook {what}: killed after {} s", timeout.as_secs());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }),
    );
    if let Err(e) = watcher {
        // Without a watcher the hook runs unsupervised; it is reaped as a zombie at exit.
        eprintln!("smsgw: hook: cannot start watcher thread: {e}");
    }
}

extern "C" {
    static environ: *const *mut libc::c_char;
}

/// `posix_spawnp(HOOK, [HOOK, EVENT, FILE])` with stdin on /dev/null (std's `Command` costs tens of
/// KB on the router for this one call).
fn spawn_hook(hook: &str, event: &str, path: &Path) -> std::io::Result<libc::pid_t> {
    let nul = |_| std::io::Error::from(std::io::ErrorKind::InvalidInput);
    let prog = CString::new(hook).map_err(nul)?;
    let ev = CString::new(event).map_err(nul)?;
    let file = CString::new(path.as_os_str().as_bytes()).map_err(nul)?;
    let argv = [
        prog.as_ptr() as *mut libc::c_char,
        ev.as_ptr() as *mut libc::c_char,
        file.as_ptr() as *mut libc::c_char,
        std::ptr::null_mut(),
    ];
    let mut pid: libc::pid_t = 0;
    // SAFETY: all pointers are valid NUL-terminated strings / a NULL-terminated argv that outlive
    // the call; the file-actions object is initialised before use and destroyed after.
    let r = unsafe {
        let mut actions: libc::posix_spawn_file_actions_t = std::mem::zeroed();
        libc::posix_spawn_file_actions_init(&mut actions);
        libc::posix_spawn_file_actions_addopen(
            &mut actions,
            0,
            c"/dev/null".as_ptr(),
            libc::O_RDONLY,
            0,
        );
        let r = libc::posix_spawnp(
            &mut pid,
            prog.as_ptr(),
            &actions,
            std::ptr::null(),
            argv.as_ptr(),
            environ,
        );
        libc::posix_spawn_file_actions_destroy(&mut actions);
        r
    };
    if r == 0 {
        Ok(pid)
    } else {
        Err(std::io::Error::from_raw_os_error(r))
    }
}

/// Starts a thread that pokes the sender whenever something lands in `outgoing/` (moved in,
/// closed after writing, a `.LOCK` removed). Returns false when inotify is unavailable.
fn watch_outgoing(spool: &Arc<Spool>) -> bool {
    let Ok(path) = CString::new(spool.dir(OUTGOING).as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: plain syscalls; `path` is a valid NUL-terminated string for the call's duration.
    let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
    if fd < 0 {
        return false;
    }
    let mask = libc::IN_MOVED_TO | libc::IN_CLOSE_WRITE | libc::IN_DELETE;
    // SAFETY: as above.
    if unsafe { libc::inotify_add_watch(fd, path.as_ptr(), mask) } < 0 {
        // SAFETY: fd is ours and not used afterwards.
        unsafe { libc::close(fd) };
        return false;
    }
    let spool = spool.clone();
    spawn_named(
        "spool-watch",
        Box::new(move || {
            let mut buf = [0u8; 1024];
            loop {
                // SAFETY: reads into a buffer we own, at most its length.
                let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
                if n < 0
                    && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
                {
                    return;
                }
                spool.poke();
            }
        }),
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(1), Duration::from_secs(10));
        assert_eq!(backoff(2), Duration::from_secs(20));
        assert_eq!(backoff(4), Duration::from_secs(80));
        assert_eq!(backoff(50), Duration::from_secs(600));
        assert_eq!(backoff(0), Duration::from_secs(10));
    }

    #[test]
    fn smsd_time_format() {
        assert_eq!(smsd_time(UNIX_EPOCH), "70-01-01 00:00:00");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_248_019); // 2026-11-21 08:00:19 UTC
        assert_eq!(smsd_time(t), "26-11-21 08:00:19");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(smsd_time(leap), "00-02-29 00:00:00");
        let far = UNIX_EPOCH + Duration::from_secs(u64::MAX / 2);
        assert_eq!(smsd_time(far).len(), 17);
    }

    #[test]
    fn one_line_strips_control_characters() {
        assert_eq!(
            one_line("+CMS ERROR: 500\r\nTo: 1"),
            "+CMS ERROR: 500  To: 1"
        );
        assert_eq!(one_line(&"x".repeat(500)).len(), 200);
    }

    #[test]
    fn retention_bounds_count_and_age() {
        let now = UNIX_EPOCH + Duration::from_secs(100 * 86_400);
        let day = |d: u64| now - Duration::from_secs(d * 86_400);
        let files = vec![
            (OsString::from("a"), day(0)),
            (OsString::from("b"), day(1)),
            (OsString::from("c"), day(2)),
            (OsString::from("old"), day(30)),
        ];
        let mut by_count = expired(files.clone(), 2, 0, now);
        by_count.sort();
        assert_eq!(by_count, vec![OsString::from("c"), OsString::from("old")]);
        assert_eq!(
            expired(files.clone(), 0, 7, now),
            vec![OsString::from("old")]
        );
        assert!(expired(files, 0, 0, now).is_empty());
    }
}
