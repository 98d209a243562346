//! Delivery reports and message state, pure: what was sent (each part's TP-MR, recipient and send
//! time), what the network reported back, and the `state` the contract exposes.
//!
//! Owns the per-part and per-message state machine ([`PartState`], [`MessageState`],
//! [`ReportState`]), the matcher that pairs an SMS-STATUS-REPORT with the part it reports on
//! ([`tracker::Tracker`]), the durable form of a message's parts in its spool file
//! ([`record`]) and the smstools3-style report file ([`record::report_file`]). It does no I/O and
//! reads no clock: times come in as [`Now`]. The spool writes the files, the engine decodes the
//! PDUs, HTTP renders the state.

pub mod record;
pub mod tracker;

#[cfg(test)]
mod tests;

use crate::pdu::{DeliveryOutcome, Timestamp};

/// Seconds since the Unix epoch before which the wall clock is taken as unset (a router without a
/// real-time clock boots in 1970 until NTP answers): 2024-01-01.
pub const SANE_WALL: u64 = 1_704_067_200;

/// One reading of the clocks, in seconds: `wall` goes into files and outputs, `mono` (any
/// monotonic origin, e.g. the process start) measures waits, so a clock step moves no deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    pub wall: u64,
    pub mono: u64,
}

impl Now {
    /// The wall clock looks set (not the 1970 of a router that has not reached NTP yet).
    pub fn wall_is_sane(self) -> bool {
        self.wall >= SANE_WALL
    }
}

/// The state of a message or a part, as `GET /messages/<id>` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageState {
    /// Waiting in `outgoing/`.
    Queued,
    /// Claimed by the sender; some parts may be out already.
    Sending,
    /// Accepted by the network (every part has a `+CMGS` reference); no final report (yet).
    Sent,
    /// Every part reported delivered.
    Delivered,
    /// Sending failed, or a report said a part cannot be delivered.
    Failed,
}

impl MessageState {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Queued => "queued",
            MessageState::Sending => "sending",
            MessageState::Sent => "sent",
            MessageState::Delivered => "delivered",
            MessageState::Failed => "failed",
        }
    }
}

/// Where the delivery report of a part or message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportState {
    /// The message was sent without TP-SRR: it ends `sent`.
    NotRequested,
    /// Requested, no final report yet (a "still trying" one may have come).
    Pending,
    /// A final report arrived (for every part, at message level).
    Received,
    /// Requested, but none came within `--report-timeout`: the state stays `sent`.
    None,
}

impl ReportState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportState::NotRequested => "not requested",
            ReportState::Pending => "pending",
            ReportState::Received => "received",
            ReportState::None => "none",
        }
    }
}

/// One sent part: its reference from `+CMGS`, when it went out, and the last report on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// TP-MR (`+CMGS: <mr>`).
    pub reference: u8,
    /// Wall time of the `+CMGS` answer (seconds since the epoch).
    pub sent_at: u64,
    /// Whether the wall clock looked set when the part went out (see [`SANE_WALL`]).
    pub clock_sane: bool,
    /// The last report on this part, if any.
    pub report: Option<PartReport>,
    /// No final report came within the report timeout.
    pub timed_out: bool,
}

/// What the last status report on a part said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartReport {
    /// TP-ST.
    pub status: u8,
    /// Wall time the report was handled here.
    pub received_at: u64,
    /// TP-SCTS of the report as text (ISO 8601, `2026-11-28T23:10:12+01:00`): when the service centre
    /// took the part; identical in every report on the same part.
    pub submitted: String,
    /// TP-DT as text: when the status was reached (the delivery time for status 0).
    pub discharged: String,
    /// File name of the report in `report/`.
    pub file: String,
}

impl Part {
    pub fn new(reference: u8, now: Now) -> Part {
        Part {
            reference,
            sent_at: now.wall,
            clock_sane: now.wall_is_sane(),
            report: None,
            timed_out: false,
        }
    }

    pub fn outcome(&self) -> Option<DeliveryOutcome> {
        self.report.as_ref().map(|r| DeliveryOutcome::of(r.status))
    }

    /// A final report arrived: nothing can change this part any more.
    pub fn is_final(&self) -> bool {
        self.outcome().is_some_and(DeliveryOutcome::is_final)
    }

    pub fn state(&self) -> MessageState {
        match self.outcome() {
            Some(DeliveryOutcome::Delivered) => MessageState::Delivered,
            Some(DeliveryOutcome::Failed) => MessageState::Failed,
            Some(DeliveryOutcome::Pending) | None => MessageState::Sent,
        }
    }

    pub fn report_state(&self, requested: bool) -> ReportState {
        if self.is_final() {
            ReportState::Received
        } else if !requested {
            ReportState::NotRequested
        } else if self.timed_out {
            ReportState::None
        } else {
            ReportState::Pending
        }
    }
}

/// A sent (or being sent) message as the delivery side knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentMessage {
    /// The spool file name: the id `done <id>` answered.
    pub id: String,
    /// Destination as in `To:` (`+49…`, or national digits).
    pub recipient: String,
    /// TP-SRR was set.
    pub report_requested: bool,
    /// Number of parts of the whole message.
    pub total: u8,
    /// The parts sent so far, in order.
    pub parts: Vec<Part>,
}

impl SentMessage {
    /// `sending` until every part has a reference; then failed when any part failed, delivered
    /// when every part was delivered, else sent.
    pub fn state(&self) -> MessageState {
        if self.parts.len() < usize::from(self.total) {
            return MessageState::Sending;
        }
        let states = || self.parts.iter().map(Part::state);
        if states().any(|s| s == MessageState::Failed) {
            MessageState::Failed
        } else if !self.parts.is_empty() && states().all(|s| s == MessageState::Delivered) {
            MessageState::Delivered
        } else {
            MessageState::Sent
        }
    }

    /// Received when every part's final report came; none when one part's never came; pending
    /// while waiting.
    pub fn report_state(&self) -> ReportState {
        let req = self.report_requested;
        let states = || self.parts.iter().map(|p| p.report_state(req));
        if !req && states().all(|s| s != ReportState::Received) {
            ReportState::NotRequested
        } else if !self.parts.is_empty()
            && self.parts.len() >= usize::from(self.total)
            && states().all(|s| s == ReportState::Received)
        {
            ReportState::Received
        } else if states().any(|s| s == ReportState::None) {
            ReportState::None
        } else {
            ReportState::Pending
        }
    }

    /// Some part still waits for a report (and has not timed out).
    pub fn awaits_report(&self) -> bool {
        self.report_requested
            && self
                .parts
                .iter()
                .any(|p| p.report_state(true) == ReportState::Pending)
    }
}

/// A decoded status report as the matcher needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// File name under `report/` (written before matching, so nothing is lost).
    pub file: String,
    pub reference: u8,
    /// TP-RA as decoded (`+` for international numbers).
    pub recipient: String,
    pub status: u8,
    pub submitted: Timestamp,
    pub discharged: Timestamp,
}

/// Whether two numbers are the same subscriber: `+49…`, `0049…` and `49…` with an international
/// type are the same; a national number (`0172…`, or `172…` with a national type) matches an
/// international one ending in its significant digits (at least 6 of them); anything else must
/// be equal digit for digit.
pub fn same_number(a: &str, b: &str) -> bool {
    let (ai, ad) = canonical(a);
    let (bi, bd) = canonical(b);
    if ad.is_empty() || bd.is_empty() {
        return false;
    }
    match (ai, bi) {
        (true, true) | (false, false) => ad == bd,
        (true, false) => bd.len() >= 6 && ad.ends_with(bd),
        (false, true) => ad.len() >= 6 && bd.ends_with(ad),
    }
}

/// (international?, digits without `+`/`00` or a national trunk `0`).
fn canonical(n: &str) -> (bool, &str) {
    let n = n.trim();
    if let Some(d) = n.strip_prefix('+') {
        (true, d)
    } else if let Some(d) = n.strip_prefix("00") {
        (true, d)
    } else {
        (false, n.strip_prefix('0').unwrap_or(n))
    }
}

/// Seconds since the epoch as ISO 8601 UTC, `2026-11-28T22:10:31Z` (32-bit arithmetic).
pub fn iso_utc(secs: u64) -> String {
    let days = u32::try_from(secs / 86_400)
        .unwrap_or(u32::MAX)
        .min(100_000_000);
    let rem = (secs % 86_400) as u32;
    let (y, m, d) = crate::civil::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// A service-centre time stamp in ISO 8601 form with its zone, `2026-11-28T23:10:12+01:00`.
pub fn iso(t: &Timestamp) -> String {
    let mut s = t.to_string(); // `2026-11-28 23:10:12 +01:00`
    s.retain(|c| c != ' ');
    if s.len() > 10 && s.is_char_boundary(10) {
        s.insert(10, 'T');
    }
    s
}

/// Seconds from the service centre taking a part (TP-SCTS) to the reported status (TP-DT): both
/// stamped by the service centre, so the gateway's clock and the centre's time zone do not
/// matter. `None` when either time stamp is not a date or the difference is negative.
pub fn delivery_seconds(submitted: &Timestamp, discharged: &Timestamp) -> Option<u64> {
    let a = utc_seconds(submitted)?;
    let b = utc_seconds(discharged)?;
    u64::try_from(b - a).ok()
}

/// A time stamp as seconds since the epoch (UTC, its zone applied).
fn utc_seconds(t: &Timestamp) -> Option<i64> {
    let ok = (1..=12).contains(&t.month)
        && (1..=31).contains(&t.day)
        && t.hour < 24
        && t.minute < 60
        && t.second < 60;
    if !ok {
        return None;
    }
    let days =
        crate::civil::days_from_civil(u32::from(t.year), u32::from(t.month), u32::from(t.day));
    let local = i64::from(days) * 86_400
        + i64::from(t.hour) * 3600
        + i64::from(t.minute) * 60
        + i64::from(t.second);
    Some(local - i64::from(t.tz_quarters) * 900)
}
