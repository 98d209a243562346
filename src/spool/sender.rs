//! The send loop: a `Sender` takes files from `outgoing/` in order, encodes them with
//! `pdu::encode_submit`, sends every part through its `SmsSender`, and finishes each message in
//! `sent/` or `failed/` with smsd-style result headers; it retries transient errors with backoff on
//! the monotonic clock, keeps the state of a retry in memory when the spool cannot take it, and on
//! a stop request finishes only the part in flight.
//!
//! It must not speak AT or parse HTTP, and leaves directory work to `queue`, deleting old records
//! to `retention`, running hooks to `hook` and watching `outgoing/` to `watch`.

use super::clock::{Ages, Now};
use super::deliveries::Deliveries;
use super::format::{self, SpoolFile};
use super::hook::HookRunner;
use super::queue::Claim;
use super::{
    retention, take_next, QueueEntry, Spool, FAILED, HDR_ATTEMPTS, HDR_CONCAT_REF, HDR_PARTS_SENT,
    HDR_RETRY_AT, MAX_FILE_BYTES, SENT,
};
use crate::config::ServeConfig;
use crate::delivery::{self, record, Part, SentMessage};
use crate::modem::{SendError, SmsSender};
use crate::pdu::{self, EncodeOptions, SubmitPart};
use crate::status::GatewayStatus;
use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

#[path = "outcome.rs"]
mod outcome;

/// Look at `outgoing/` at least this often even without a notification.
const RESCAN: Duration = Duration::from_secs(1);
/// A message that waits for the modem (not present, no network) is tried again this often; a
/// serial modem's try itself waits up to `--registration-timeout` for the network.
const NOT_READY_WAIT: Duration = Duration::from_secs(10);
/// Look for orphaned claims of dead processes this often.
const RECOVER_EVERY: Duration = Duration::from_secs(60);
/// One listing of `outgoing/` serves the messages taken within this time. With a real modem (seconds
/// per SMS) every message still starts from a fresh listing, so a new `Priority: high` file goes
/// next; with an instant modem and a backlog of thousands, the sender no longer lists, stats and
/// reads every waiting file once per message (which took CPU from the HTTP workers in a burst).
const LISTING_FOR: Duration = Duration::from_millis(250);

impl SmsSender for Box<dyn SmsSender> {
    fn send_part(&mut self, part: &SubmitPart) -> Result<u8, SendError> {
        (**self).send_part(part)
    }
    fn send_text(&mut self, to: &str, text: &str) -> Option<Result<u8, SendError>> {
        (**self).send_text(to, text)
    }
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

    /// Sleeps at `at` (for an hour); a stop request ends the process from there.
    fn pause(self, at: Fault, stop: &AtomicBool) {
        if self != Fault::None && self == at {
            let name = match at {
                Fault::None => "None",
                Fault::BeforeClaim => "BeforeClaim",
                Fault::AfterClaim => "AfterClaim",
                Fault::AfterSend => "AfterSend",
            };
            crate::log_info!("fault: paused at {name}");
            for _ in 0..36_000 {
                if stop.load(Ordering::SeqCst) {
                    crate::log_info!("fault: stop requested while paused");
                    std::process::exit(0);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// What one step of the sender did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// One message was finished (sent, failed or requeued for retry).
    Worked,
    /// Nothing takeable; when the earliest pending retry is due, if any.
    Idle(Option<Instant>),
}

/// A claimed message whose retry state could not be written back to the spool (full disk): it
/// stays claimed in `sending/` and its state lives here until the next attempt.
struct Held {
    claim: Claim,
    file: SpoolFile,
    due: Instant,
}

/// The sender: the spool, the modem and everything the send loop keeps between messages.
pub struct Sender<M: SmsSender = Box<dyn SmsSender>> {
    pub(super) spool: Arc<Spool>,
    pub(super) modem: M,
    /// Shared with the daemon's other users (no copy of the whole configuration).
    pub(super) cfg: Arc<ServeConfig>,
    pub(super) status: Arc<GatewayStatus>,
    stop: Arc<AtomicBool>,
    pub(super) fault: Fault,
    reference: u8,
    /// Started with the first event (so tests may change `cfg` first).
    hooks: Option<HookRunner>,
    ages: Ages,
    /// The current listing of `outgoing/` and when it was taken.
    queue: Vec<QueueEntry>,
    listed: Option<Instant>,
    /// When retention last ran, and whether a message was finished since.
    pruned: Option<Instant>,
    unpruned: bool,
    /// When `sent/` and `failed/` need retention.
    records: [retention::Schedule; 2],
    /// Retry deadlines on the monotonic clock of files waiting in `outgoing/`, by name.
    due: Vec<(OsString, Instant)>,
    held: Vec<Held>,
    /// A held message waits for the modem to become ready (no other message is taken meanwhile).
    waiting_for_modem: bool,
    /// Where sent parts are recorded and matched with delivery reports.
    deliveries: Option<Arc<Deliveries>>,
}

impl<M: SmsSender> Sender<M> {
    /// A sender that stops taking messages once `stop` is set.
    pub fn new(
        spool: Arc<Spool>,
        modem: M,
        cfg: Arc<ServeConfig>,
        status: Arc<GatewayStatus>,
        stop: Arc<AtomicBool>,
        now: Now,
    ) -> Sender<M> {
        Sender {
            spool,
            modem,
            hooks: None,
            cfg,
            status,
            stop,
            fault: Fault::None,
            reference: getrandom::u32().map_or(0, |v| v as u8),
            ages: Ages::new(now),
            queue: Vec::new(),
            listed: None,
            pruned: None,
            unpruned: false,
            records: Default::default(),
            due: Vec::new(),
            held: Vec::new(),
            waiting_for_modem: false,
            deliveries: None,
        }
    }

    /// Records every sent part with `deliveries` (references, times, reports) and runs
    /// `HOOK REPORT FILE` for the reports it handled.
    pub fn with_deliveries(mut self, deliveries: Arc<Deliveries>) -> Sender<M> {
        self.deliveries = Some(deliveries);
        self
    }

    /// The send loop: runs until the stop flag is set and the message in flight is recorded.
    pub fn run(mut self) {
        self.fault = Fault::from_env();
        yield_to_requests();
        if !super::watch::watch_outgoing(&self.spool) {
            crate::log_warn!("inotify unavailable, rescanning outgoing/ every second");
        }
        let now = Now::real();
        let recovered = self.spool.recover(&self.ages, now);
        if recovered > 0 {
            crate::log_info!("recovered {recovered} interrupted message(s) from sending/");
        }
        self.retention(now);
        let mut last_recover = now.mono;
        while !self.stop.load(Ordering::SeqCst) {
            let now = Now::real();
            if now.mono.saturating_duration_since(last_recover) >= RECOVER_EVERY {
                self.spool.recover(&self.ages, now);
                last_recover = now.mono;
            }
            if let Step::Idle(next) = self.step(now) {
                let wait = next.map_or(RESCAN, |t| t.saturating_duration_since(now.mono));
                self.spool.wait(wait.min(RESCAN));
            }
        }
        // Held messages: one more try to write their state back before the process ends.
        for held in &self.held {
            if let Err(e) = self.spool.requeue(&held.claim, &held.file) {
                let name = held.claim.name.to_string_lossy();
                crate::log_error!("{name}: cannot record its retry state at stop ({e}); it starts over after restart");
            }
        }
    }

    /// Handles one message: a held retry that is due, else the first takeable file of the listing
    /// (a fresh listing when the last one is older than [`LISTING_FOR`]).
    pub(super) fn step(&mut self, now: Now) -> Step {
        let reports = self
            .deliveries
            .as_ref()
            .map(|d| d.take_hook_events())
            .unwrap_or_default();
        for path in reports {
            self.hook("REPORT", &path);
        }
        self.status
            .spool_writable
            .store(self.spool.writable(), Ordering::Relaxed);
        if let Some(i) = self.held.iter().position(|h| h.due <= now.mono) {
            let held = self.held.swap_remove(i);
            self.process(held.claim, held.file, now);
            return Step::Worked;
        }
        let stale = self
            .listed
            .is_none_or(|t| now.mono.saturating_duration_since(t) >= LISTING_FOR);
        let mut next_due = self.held.iter().map(|h| h.due).min();
        if self.waiting_for_modem && next_due.is_some() {
            // The rest stays queued in `outgoing/` until the modem takes the first one.
            return Step::Idle(next_due);
        }
        if self.queue.is_empty() || stale {
            let pending = self.refresh(now);
            next_due = next_due.min(pending).or(next_due.or(pending));
        }
        while let Some(entry) = take_next(&mut self.queue) {
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
            self.fault.pause(Fault::BeforeClaim, &self.stop);
            // A file another sender took or that vanished since the listing is simply skipped.
            let Some(claim) = self.spool.claim(&entry.name) else {
                let _ = self.spool.ensure_dirs();
                continue;
            };
            self.due.retain(|(n, _)| *n != entry.name);
            self.fault.pause(Fault::AfterClaim, &self.stop);
            let file = SpoolFile::parse(&claim.bytes);
            self.process(claim, file, now);
            let left = self
                .status
                .queue_depth
                .load(Ordering::Relaxed)
                .saturating_sub(1);
            self.status.queue_depth.store(left, Ordering::Relaxed);
            // Retention after the send (not before it: it would delay the message), at most a few
            // times a second in a burst, and once more when the queue runs empty.
            self.unpruned = true;
            if self
                .pruned
                .is_none_or(|t| now.mono.saturating_duration_since(t) >= LISTING_FOR)
            {
                self.retention(now);
            }
            return Step::Worked;
        }
        if self.unpruned {
            self.retention(now);
        }
        self.listed = None;
        Step::Idle(next_due)
    }

    /// The next step lists `outgoing/` afresh.
    #[cfg(test)]
    pub(super) fn forget_listing(&mut self) {
        self.listed = None;
        self.pruned = None;
    }

    /// Lists `outgoing/` again: moves away what is not a regular file, holds back files whose
    /// retry is not due. Returns the earliest retry deadline.
    fn refresh(&mut self, now: Now) -> Option<Instant> {
        let mut scan = self.spool.scan(now.wall, std::mem::take(&mut self.queue));
        let scan_depth = scan.depth();
        for name in &scan.rejects {
            let shown = name.to_string_lossy().into_owned();
            let why = "not a regular file (symlink, FIFO or device); moved aside unread";
            match self.spool.reject(name) {
                Ok(to) => crate::log_warn!("{shown}: {why} to failed/{}", to.to_string_lossy()),
                Err(e) => crate::log_error!("{shown}: {why}, but cannot move it: {e}"),
            }
            self.status
                .set_last_error_fmt(format_args!("{shown}: {why}"));
        }
        let mut due = Vec::new();
        let mut next: Option<Instant> = None;
        self.queue.clear();
        for e in std::mem::take(&mut scan.queue) {
            if let Some(at) = e.retry_at {
                // As written, but never longer than the backoff from now: a clock stepped back
                // (or a file written under a wrong clock) does not hold a retry back.
                let wait = at
                    .duration_since(now.wall)
                    .unwrap_or_default()
                    .min(backoff(e.attempts));
                let known = self.due.iter().find(|(n, _)| *n == e.name);
                let at = known.map_or(now.mono + wait, |(_, at)| *at);
                due.push((e.name.clone(), at));
                if at > now.mono {
                    next = Some(next.map_or(at, |n| n.min(at)));
                    continue;
                }
            }
            self.queue.push(e);
        }
        self.due = due;
        self.listed = Some(now.mono);
        if scan.unreadable {
            let _ = self.spool.ensure_dirs();
        }
        // The listing just taken, the held messages and the one in flight (none now): no second
        // listing of `outgoing/` and `sending/` for the count.
        let depth = scan_depth + self.held.len() as u32;
        self.status.queue_depth.store(depth, Ordering::Relaxed);
        next
    }

    /// Bounds `sent/` and `failed/` where their count may be over the limit or the hourly age
    /// check is due.
    pub(super) fn retention(&mut self, now: Now) {
        let cfg = &self.cfg;
        let dirs = [(SENT, cfg.keep_sent), (FAILED, cfg.keep_failed)];
        for (&(dir, keep), schedule) in dirs.iter().zip(&mut self.records) {
            if schedule.due(keep, cfg.keep_days, now) {
                let left =
                    retention::prune(&self.spool.dir(dir), keep, cfg.keep_days, &self.ages, now);
                schedule.pruned(left, now);
            }
        }
        self.pruned = Some(now.mono);
        self.unpruned = false;
    }

    /// A part of `record` went out with message reference `mr`: recorded, and handed to the
    /// delivery tracker (which then waits for its report when one was requested).
    fn part_sent(&self, record: &mut SentMessage, mr: u8) {
        let at = self.delivery_now(Now::real());
        record.parts.push(Part::new(mr, at));
        if let Some(d) = &self.deliveries {
            d.sent(record, at);
        }
    }

    fn process(&mut self, claim: Claim, mut file: SpoolFile, now: Now) {
        if claim.bytes.len() as u64 > MAX_FILE_BYTES {
            let why = format!("file larger than {MAX_FILE_BYTES} bytes");
            return self.fail(&claim, file, &why);
        }
        if file.to_bytes().is_err() {
            // A foreign file with a CR or NUL inside a header: its state could never be written
            // back, so it is refused before anything is sent.
            for h in &mut file.headers {
                h.1 = one_line(&h.1);
            }
            return self.fail(&claim, file, "a header contains a control character (CR?)");
        }
        let msg = match format::message_of(&file) {
            Ok(m) => m,
            Err(e) => return self.fail(&claim, file, &e.to_string()),
        };
        let opts = EncodeOptions {
            smsc: self.cfg.smsc.clone(),
            flash: msg.flash,
            status_report: msg.report,
            validity: msg.validity,
            max_parts: self.cfg.max_parts,
            force_ucs2: msg.ucs2,
        };
        // A backend that takes whole texts (HiLink) sends the message in one call.
        if let Some(result) = self.modem.send_text(&msg.to, &msg.text) {
            return match result {
                Ok(id) => {
                    // One part carrying the backend's message id: the stick's delivery
                    // confirmations come back with that id and are matched like status reports.
                    let mut record = SentMessage {
                        id: claim.name.to_string_lossy().into_owned(),
                        recipient: msg.to.clone(),
                        report_requested: msg.report,
                        total: 1,
                        parts: Vec::new(),
                    };
                    self.part_sent(&mut record, id);
                    self.sent(claim, file, &record, now)
                }
                Err(SendError::Permanent(m)) => self.fail(&claim, file, &m),
                Err(SendError::Transient(m)) => self.retry(claim, file, &m, now, true),
                Err(SendError::NotReady(m)) => self.wait_for_modem(claim, file, &m, now),
            };
        }
        // A retry of a partly sent message keeps its concatenation reference and skips what went out.
        self.reference = self.reference.wrapping_add(1);
        let reference = file
            .header(HDR_CONCAT_REF)
            .and_then(|v| v.parse::<u8>().ok())
            .unwrap_or(self.reference);
        let parts = match pdu::encode_submit(&msg.to, &msg.text, &opts, reference) {
            Ok(p) => p,
            Err(e) => return self.fail(&claim, file, &e.to_string()),
        };
        let already = match file.header(HDR_PARTS_SENT) {
            None => 0,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n < parts.len() => n,
                _ => {
                    let why = format!(
                        "{HDR_PARTS_SENT}: {v} does not fit a message of {} part(s) (damaged file); nothing sent",
                        parts.len()
                    );
                    return self.fail(&claim, file, &why);
                }
            },
        };
        // The parts sent so far (from an interrupted earlier try: their references are in
        // Message_id), then each new one as its `+CMGS` answer comes.
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
        for (i, part) in parts.iter().enumerate().skip(already) {
            if i > already && self.stop.load(Ordering::SeqCst) {
                // Stopping: record what went out; the rest follows after the restart.
                set_progress(&mut file, i, reference, &record);
                return self.retry(claim, file, "stopped between parts", now, false);
            }
            match self.modem.send_part(part) {
                Ok(mr) => self.part_sent(&mut record, mr),
                Err(e) => {
                    if i > 0 {
                        set_progress(&mut file, i, reference, &record);
                    }
                    return match e {
                        SendError::NotReady(m) => self.wait_for_modem(claim, file, &m, now),
                        SendError::Transient(m) => self.retry(claim, file, &m, now, true),
                        SendError::Permanent(m) => self.fail(&claim, file, &m),
                    };
                }
            }
        }
        self.sent(claim, file, &record, now);
    }
}

/// Lowers the calling thread's scheduling priority (nice 10; Linux keeps one per thread). When the
/// CPU is short, as in a burst of requests, HTTP clients waiting for their answer (and the rest of
/// the router) go first: the queue is on disk and a modem takes seconds per message anyway.
fn yield_to_requests() {
    // SAFETY: plain syscalls without pointers, on the calling thread only. A failure (a kernel
    // without per-thread nice) only leaves the sender at the normal priority: nothing to report.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        let _ = libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

/// Records how far a multi-part message got: parts sent, its concatenation reference, their
/// message references.
fn set_progress(file: &mut SpoolFile, sent: usize, reference: u8, record: &SentMessage) {
    // A plain loop into one line (no Vec of Strings, no join).
    let mut refs = String::new();
    for p in &record.parts {
        if !refs.is_empty() {
            refs.push(' ');
        }
        crate::http::push_u64(&mut refs, u64::from(p.reference));
    }
    let _ = file.set_header(HDR_PARTS_SENT, &sent.to_string());
    let _ = file.set_header(HDR_CONCAT_REF, &reference.to_string());
    let _ = file.set_header("Message_id", &refs);
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
pub fn smsd_time(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    // Days fit 32 bits for any year below about 270 000; later times are clamped there.
    let days = u32::try_from(secs / 86_400)
        .unwrap_or(u32::MAX)
        .min(100_000_000);
    let rem = (secs % 86_400) as u32;
    let (y, m, d) = crate::civil::civil_from_days(days);
    let mut out = *b"00-00-00 00:00:00";
    for (i, &v) in [y % 100, m, d, rem / 3600, rem / 60 % 60, rem % 60]
        .iter()
        .enumerate()
    {
        if let Some([hi, lo]) = out.get_mut(3 * i..3 * i + 2) {
            *hi = b'0' + (v / 10 % 10) as u8;
            *lo = b'0' + (v % 10) as u8;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
}
