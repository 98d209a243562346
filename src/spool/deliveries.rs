//! Delivery reports on disk: `report/<id>` files, the message records in `sent/` they update,
//! and the matcher's table rebuilt from `sent/` at start.
//!
//! Owns the I/O around the pure `delivery` core: a report is written to `report/` before it is
//! matched (so the modem may delete it then), a match rewrites the message's file in `sent/`
//! atomically, counters go to `GatewayStatus`. One lock orders the sender's "file the message in
//! `sent/`" against a report's "rewrite the message's record", so neither loses the other's
//! update. It must not speak AT or decode PDUs beyond reading a decoded report.

use super::format::SpoolFile;
use super::{Spool, MAX_FILE_BYTES, SENT};
use crate::delivery::record;
use crate::delivery::tracker::{Change, Tracker, TrackerConfig};
use crate::delivery::{MessageState, Now, Report, SentMessage};
use crate::modem::{MessageSink, ReceivedReport, ReceivedSms};
use crate::pdu::{DeliveryOutcome, StatusReportPdu};
use crate::status::GatewayStatus;
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Status reports, one file each (smstools3's `report` directory).
pub const REPORT: &str = "report";
/// Records of messages matched while they were still being sent, kept until the sender files
/// them; beyond this many the oldest is dropped (its report file still names the message).
const MAX_UNFILED: usize = 256;

struct Inner {
    tracker: Tracker,
    /// Record changes for messages not in `sent/` yet (a few at most: a `Vec` is smaller than
    /// a `HashMap` in the router binary).
    unfiled: Vec<SentMessage>,
    /// Paths for `HOOK REPORT FILE`, taken by whoever runs hooks.
    hook_queue: Vec<PathBuf>,
}

/// The delivery side of the spool, shared by the sender (parts sent, messages filed), the modem
/// (reports in) and HTTP (nothing: it reads the files).
pub struct Deliveries {
    spool: Arc<Spool>,
    status: Arc<GatewayStatus>,
    origin: Instant,
    inner: Mutex<Inner>,
}

impl Deliveries {
    /// Creates `report/`. Call [`Deliveries::restore`] before the first message goes out.
    pub fn open(
        spool: Arc<Spool>,
        cfg: TrackerConfig,
        status: Arc<GatewayStatus>,
    ) -> io::Result<Deliveries> {
        fs::create_dir_all(spool.dir(REPORT))?;
        let d = Deliveries {
            spool,
            status,
            origin: Instant::now(),
            inner: Mutex::new(Inner {
                tracker: Tracker::new(cfg),
                unfiled: Vec::new(),
                hook_queue: Vec::new(),
            }),
        };
        Ok(d)
    }

    /// Rebuilds the table of messages still waiting for reports from the records in `sent/`.
    pub fn restore(&self, now: Now) {
        let waiting = self.read_sent();
        self.lock().tracker.restore(waiting, now);
    }

    /// Both clocks, in the tracker's seconds.
    pub fn now(&self) -> Now {
        Now {
            wall: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            mono: self.origin.elapsed().as_secs(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Messages in `sent/` still waiting for a report.
    fn read_sent(&self) -> Vec<SentMessage> {
        let dir = self.spool.dir(SENT);
        let mut out = Vec::new();
        for entry in &super::queue::entries(&dir) {
            let name = entry.file_name();
            if name.as_bytes().starts_with(b".") {
                continue;
            }
            let Some(file) = read_small(&dir.join(&name)) else {
                continue;
            };
            let id = name.to_string_lossy();
            if let Some(msg) = record::read(&id, &file) {
                if msg.awaits_report() {
                    out.push(msg);
                }
            }
        }
        out
    }

    /// The sender got a `+CMGS` reference: `msg` holds every part sent so far.
    pub fn sent(&self, msg: &SentMessage, now: Now) {
        let mut inner = self.lock();
        let changes = inner.tracker.sent(msg, now);
        self.apply(&mut inner, changes);
    }

    /// Files a sent message: `file_it` writes `file` (with the record filled in) into `sent/`,
    /// under the lock that report updates take too. The record is the one reports updated if
    /// any, else `msg`.
    pub fn file<T>(
        &self,
        msg: &SentMessage,
        file: &mut SpoolFile,
        file_it: impl FnOnce(&SpoolFile) -> T,
    ) -> T {
        let mut inner = self.lock();
        let known = match inner.unfiled.iter().position(|m| m.id == msg.id) {
            Some(i) => Some(inner.unfiled.swap_remove(i)),
            None => inner.tracker.message(&msg.id).cloned(),
        };
        let record = known.filter(|m| m.parts.len() == msg.parts.len());
        let _ = record::write(file, record.as_ref().unwrap_or(msg));
        file_it(file)
    }

    /// A status report arrived: written to `report/` first (durable: the modem may delete its
    /// copy once this returns `Ok`), then matched.
    pub fn report(&self, pdu: &StatusReportPdu, smsc: Option<&str>, now: Now) -> io::Result<()> {
        let report = Report {
            file: self.new_report_name(now),
            reference: pdu.message_reference,
            recipient: pdu.recipient.value.clone(),
            status: pdu.status,
            submitted: pdu.timestamp,
            discharged: pdu.discharge_time,
        };
        let received =
            super::sender::smsd_time(UNIX_EPOCH + std::time::Duration::from_secs(now.wall));
        let file = record::report_file(&report, smsc, &received, None)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        self.write(REPORT, &report.file, &file)?;
        GatewayStatus::count(&self.status.reports);
        let mut inner = self.lock();
        let changes = inner.tracker.report(report, now);
        self.apply(&mut inner, changes);
        Ok(())
    }

    /// Time passed: report timeouts, held reports that found nothing.
    pub fn tick(&self, now: Now) {
        let mut inner = self.lock();
        if inner.tracker.next_deadline().is_some_and(|t| t <= now.mono) {
            let changes = inner.tracker.tick(now);
            self.apply(&mut inner, changes);
        }
    }

    /// Report files ready for `HOOK REPORT FILE` (matched, or given up as unmatched).
    pub fn take_hook_events(&self) -> Vec<PathBuf> {
        std::mem::take(&mut self.lock().hook_queue)
    }

    fn apply(&self, inner: &mut Inner, changes: Vec<Change>) {
        // The state of the message the last record was about (a `Matched` follows its record).
        let mut last_state = None;
        // ... and its recipient as the send request gave it (the report file holds digits)
        let mut last_to = None;
        for change in changes {
            match change {
                Change::Record { message, previous } => {
                    let state = message.state();
                    last_state = Some(state);
                    last_to = Some(message.recipient.clone());
                    if state != previous {
                        match state {
                            MessageState::Delivered => GatewayStatus::count(&self.status.delivered),
                            MessageState::Failed => {
                                GatewayStatus::count(&self.status.undeliverable)
                            }
                            _ => {}
                        }
                    }
                    if !self.rewrite_record(&message) {
                        inner.unfiled.retain(|m| m.id != message.id);
                        if inner.unfiled.len() >= MAX_UNFILED {
                            inner.unfiled.remove(0);
                        }
                        inner.unfiled.push(message);
                    }
                }
                Change::Matched {
                    file,
                    message,
                    part,
                    total,
                    outcome,
                    delivery_seconds,
                } => {
                    if outcome == DeliveryOutcome::Delivered {
                        if let Some(s) = delivery_seconds {
                            self.status.observe_delivery(s);
                        }
                    }
                    let path = self.spool.dir(REPORT).join(&file);
                    if let Some(mut f) = read_small(&path) {
                        let _ = f.set_header("Matched", "yes");
                        let _ = f.set_header("Message", &message);
                        let _ = f.set_header("Part", &format!("{part}/{total}"));
                        if let Err(e) = self.write(REPORT, &file, &f) {
                            crate::log_warn!(
                                "report {file}: cannot record its message {message}: {e}"
                            );
                        }
                        let state = last_state.map_or(outcome.as_str(), MessageState::as_str);
                        self.forward(&file, &f, last_to.take(), Some(message.clone()), state);
                    }
                    crate::log_info!(
                        "report {file}: message {message} part {part}/{total} {}",
                        outcome.as_str()
                    );
                    inner.hook_queue.push(path);
                }
                Change::Unmatched { file } => {
                    GatewayStatus::count(&self.status.reports_unmatched);
                    crate::log_warn!("report {file}: no sent message matches; kept unmatched");
                    let path = self.spool.dir(REPORT).join(&file);
                    if let Some(f) = read_small(&path) {
                        let outcome = f.header("Outcome").unwrap_or("").to_string();
                        self.forward(&file, &f, None, None, &outcome);
                    }
                    inner.hook_queue.push(path);
                }
            }
        }
    }

    /// Queues the report `file` (its parsed content `f`) for `--forward-url`: the recipient (`to`
    /// when the message is known, else the report's digits), the discharge time as the file has it, the message it was matched to and `status` (the
    /// message's state after it, or the report's outcome when unmatched).
    fn forward(
        &self,
        file: &str,
        f: &SpoolFile,
        to: Option<String>,
        message_id: Option<String>,
        status: &str,
    ) {
        let body = String::from_utf8_lossy(&f.body);
        let time = body
            .lines()
            .find_map(|l| l.strip_prefix("Discharge_timestamp:"))
            .unwrap_or("")
            .trim()
            .to_string();
        let event = crate::forward::ForwardEvent {
            kind: crate::forward::EventKind::Report,
            id: file.to_string(),
            to: to.or_else(|| f.header("From").map(String::from)),
            time,
            message_id,
            status: Some(status.to_string()),
            ..Default::default()
        };
        if let Err(e) = crate::forward::enqueue(self.spool.root(), &event) {
            crate::log_warn!("report {file}: cannot queue it for forwarding: {e}");
        }
    }

    /// Rewrites the message's record in `sent/`; false when it is not there (yet).
    fn rewrite_record(&self, msg: &SentMessage) -> bool {
        let path = self.spool.dir(SENT).join(&msg.id);
        let Some(mut file) = read_small(&path) else {
            return false;
        };
        if record::write(&mut file, msg).is_err() {
            return true;
        }
        if let Err(e) = self.write(SENT, &msg.id, &file) {
            crate::log_warn!("sent/{}: cannot record its delivery report: {e}", msg.id);
        }
        true
    }

    fn write(&self, dir: &str, name: &str, file: &SpoolFile) -> io::Result<()> {
        let bytes = file
            .to_bytes()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        self.spool
            .write_atomic(&self.spool.dir(dir), OsStr::new(name), &bytes, false, true)
    }

    /// `report-<seconds>-<random>`: unique across restarts of a router without a clock.
    fn new_report_name(&self, now: Now) -> String {
        let random =
            getrandom::u64().unwrap_or_else(|_| u64::from(std::process::id()) << 32 | now.mono);
        format!("report-{}-{random:016x}", now.wall)
    }
}

/// The modem's sink with delivery reports: messages go to the incoming store `S`, reports to
/// [`Deliveries`]; time passing reaches both.
pub struct WithReports<S> {
    pub messages: S,
    pub deliveries: Arc<Deliveries>,
}

impl<S: MessageSink> MessageSink for WithReports<S> {
    fn store(&mut self, sms: &ReceivedSms, now: Instant) -> Result<(), String> {
        self.messages.store(sms, now)
    }

    fn tick(&mut self, now: Instant) {
        self.messages.tick(now);
        self.deliveries.tick(self.deliveries.now());
    }

    fn report(&mut self, r: &ReceivedReport) -> Result<(), String> {
        let now = self.deliveries.now();
        self.deliveries
            .report(&r.report, r.smsc.as_deref(), now)
            .map_err(|e| format!("report/: {e}"))
    }
}

/// Reads and parses a spool file of at most [`MAX_FILE_BYTES`]; `None` when it is missing,
/// unreadable, not a regular file or larger.
pub(super) fn read_small(path: &Path) -> Option<SpoolFile> {
    let mut file = fs::File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    crate::http::read_capped(&mut file, MAX_FILE_BYTES as usize + 1, &mut bytes).ok()?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return None;
    }
    Some(SpoolFile::parse(&bytes))
}
