//! The matcher: the table of sent parts still waiting for a report, and the rules that pair a
//! status report with one of them.
//!
//! Owns matching (TP-MR + recipient, newest unmatched part first, a follow-up of a "still trying"
//! report goes to the part that got it), the report timeout (`report: none`), and reports that
//! come before the part they are about was recorded (held for a grace time, then unmatched). It
//! must not read clocks or touch files: it answers with [`Change`]s the spool carries out.
//!
//! Matching never looks at the service centre's number or compares its time stamps with the
//! gateway's clock (other SMSC numbers and time zones in reports are common); the only window is
//! the report timeout, measured on the monotonic clock.

use super::{delivery_seconds, iso, same_number, Now, Part, PartReport, Report, SentMessage};
use crate::pdu::DeliveryOutcome;

/// Default `--report-timeout`: two days. A service centre retries an undeliverable message for
/// up to its validity period (often 1 to 3 days) before it sends the final report.
pub const DEFAULT_REPORT_TIMEOUT: u64 = 48 * 3600;
/// How long a report waits for the part it is about when it came first (the `+CMGS` answer and
/// the report race on a fast network, or the part is recorded by another thread).
pub const RACE_GRACE: u64 = 120;
/// At most this many parts wait for reports; beyond it the oldest message gives up (`none`).
pub const MAX_OPEN_PARTS: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackerConfig {
    /// Seconds after sending a part without a final report before it counts as `report: none`.
    pub report_timeout: u64,
    /// Seconds an unmatched report waits for its part to be recorded.
    pub race_grace: u64,
    pub max_open_parts: usize,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            report_timeout: DEFAULT_REPORT_TIMEOUT,
            race_grace: RACE_GRACE,
            max_open_parts: MAX_OPEN_PARTS,
        }
    }
}

/// What the spool has to do after the tracker learnt something.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Rewrite the message's record (in `sent/`, or when it gets there) with this state;
    /// `previous` is the state before, so a caller can count transitions.
    Record {
        message: SentMessage,
        previous: super::MessageState,
    },
    /// The report in `report/<file>` is about part `part` (1-based) of `message`.
    Matched {
        file: String,
        message: String,
        part: usize,
        total: u8,
        outcome: DeliveryOutcome,
        /// Submit to status time by the service centre's own time stamps.
        delivery_seconds: Option<u64>,
    },
    /// No sent part was found for the report in `report/<file>`; it stays there unmatched.
    Unmatched { file: String },
}

#[derive(Debug)]
struct Slot {
    /// Registration order: larger is newer (never the wall clock, which can step).
    seq: u64,
    /// Monotonic second at which a part without a final report times out.
    deadline: u64,
}

#[derive(Debug)]
struct Open {
    msg: SentMessage,
    slots: Vec<Slot>,
}

#[derive(Debug)]
struct Held {
    report: Report,
    until: u64,
}

/// Sent messages waiting for reports, and reports waiting for their message.
#[derive(Debug)]
pub struct Tracker {
    cfg: TrackerConfig,
    open: Vec<Open>,
    held: Vec<Held>,
    seq: u64,
}

impl Tracker {
    pub fn new(cfg: TrackerConfig) -> Tracker {
        Tracker {
            cfg,
            open: Vec::new(),
            held: Vec::new(),
            seq: 0,
        }
    }

    /// Messages that still wait for a report.
    #[cfg(test)]
    pub fn open_messages(&self) -> usize {
        self.open.len()
    }

    /// The tracker's view of a message it still follows.
    pub fn message(&self, id: &str) -> Option<&SentMessage> {
        self.open.iter().find(|o| o.msg.id == id).map(|o| &o.msg)
    }

    /// Rebuilds the table at start from the records in `sent/` (any order). A part sent while
    /// the clock was set keeps the rest of its timeout; one sent before (or now unset) gets a
    /// full timeout from now.
    pub fn restore(&mut self, messages: Vec<SentMessage>, now: Now) {
        // Oldest first, as (time, index) keys: the spool sorts those already, and every element
        // type sorted by its own key is another copy of the sort code in the router binary.
        let mut order: Vec<(u64, usize)> = messages
            .iter()
            .map(|m| m.parts.first().map_or(0, |p| p.sent_at))
            .zip(0..)
            .collect();
        order.sort_unstable();
        for (_, i) in order {
            let msg = match messages.get(i) {
                Some(m) if m.awaits_report() => m.clone(),
                _ => continue,
            };
            self.open.retain(|o| o.msg.id != msg.id);
            let mut slots = Vec::new();
            for p in &msg.parts {
                slots.push(Slot {
                    seq: self.next_seq(),
                    deadline: self.deadline(p, now),
                });
            }
            self.open.push(Open { msg, slots });
        }
    }

    /// The parts of `msg` went out (the sender's view after each `+CMGS` answer: every part so
    /// far, the last one new; parts from an earlier attempt of the same message are taken as they
    /// are). Returns the changes of a report that came before its part was recorded.
    pub fn sent(&mut self, msg: &SentMessage, now: Now) -> Vec<Change> {
        if !msg.report_requested {
            return Vec::new();
        }
        let mut changes = self.make_room();
        let i = match self.open.iter().position(|o| o.msg.id == msg.id) {
            // The same message sent again from the start (recovered after a crash) starts over.
            Some(i) if self.open[i].msg.parts.len() > msg.parts.len() => {
                self.open[i].msg.parts.clear();
                self.open[i].slots.clear();
                i
            }
            Some(i) => i,
            None => {
                self.open.push(Open {
                    msg: SentMessage {
                        parts: Vec::new(),
                        ..msg.clone()
                    },
                    slots: Vec::new(),
                });
                self.open.len() - 1
            }
        };
        let known = self.open[i].msg.parts.len();
        for part in msg.parts.iter().skip(known) {
            let slot = Slot {
                seq: self.next_seq(),
                deadline: self.deadline(part, now),
            };
            let open = &mut self.open[i];
            open.msg.parts.push(part.clone());
            open.slots.push(slot);
            // A held report about this part: the oldest one first.
            let held = self.held.iter().position(|h| {
                h.report.reference == part.reference
                    && same_number(&h.report.recipient, &msg.recipient)
            });
            if let Some(h) = held {
                let report = self.held.remove(h).report;
                let index = self.open[i].msg.parts.len() - 1;
                changes.extend(self.apply(i, index, report, now));
                // `apply` may have closed a finished message: nothing more to add then.
                if self.open.get(i).is_none_or(|o| o.msg.id != msg.id) {
                    break;
                }
            }
        }
        changes
    }

    /// Test shorthand: part `reference` of message `id` (of `total` parts) went out now.
    #[cfg(test)]
    pub fn sent_part(
        &mut self,
        id: &str,
        recipient: &str,
        report_requested: bool,
        total: u8,
        reference: u8,
        now: Now,
    ) -> Vec<Change> {
        let mut msg = self
            .message(id)
            .filter(|m| m.parts.len() < usize::from(total))
            .cloned()
            .unwrap_or(SentMessage {
                id: id.to_string(),
                recipient: recipient.to_string(),
                report_requested,
                total,
                parts: Vec::new(),
            });
        msg.parts.push(Part::new(reference, now));
        self.sent(&msg, now)
    }

    /// When a part without a final report times out: the report timeout after it was sent, by
    /// the wall clock when it was set then and is now, else from now.
    fn deadline(&self, part: &Part, now: Now) -> u64 {
        let spent = match part.clock_sane && now.wall_is_sane() {
            true => now.wall.saturating_sub(part.sent_at),
            false => 0,
        };
        now.mono + self.cfg.report_timeout.saturating_sub(spent)
    }

    /// A status report arrived (already written to `report/<report.file>`).
    pub fn report(&mut self, report: Report, now: Now) -> Vec<Change> {
        match self.find(&report) {
            Some((i, part)) => self.apply(i, part, report, now),
            None => {
                self.held.push(Held {
                    report,
                    until: now.mono + self.cfg.race_grace,
                });
                Vec::new()
            }
        }
    }

    /// Timeouts: held reports that found no part become unmatched; parts without a final report
    /// after the report timeout become `report: none`.
    pub fn tick(&mut self, now: Now) -> Vec<Change> {
        let mut changes = Vec::new();
        self.held.retain(|h| {
            let keep = h.until > now.mono;
            if !keep {
                changes.push(Change::Unmatched {
                    file: h.report.file.clone(),
                });
            }
            keep
        });
        for open in &mut self.open {
            let previous = open.msg.state();
            let mut changed = false;
            for (part, slot) in open.msg.parts.iter_mut().zip(&open.slots) {
                if slot.deadline <= now.mono && !part.is_final() && !part.timed_out {
                    part.timed_out = true;
                    changed = true;
                }
            }
            if changed {
                changes.push(Change::Record {
                    message: open.msg.clone(),
                    previous,
                });
            }
        }
        self.close_finished();
        changes
    }

    /// The next monotonic second at which [`Tracker::tick`] has something to do.
    pub fn next_deadline(&self) -> Option<u64> {
        let held = self.held.iter().map(|h| h.until);
        let parts = self.open.iter().flat_map(|o| {
            o.msg
                .parts
                .iter()
                .zip(&o.slots)
                .filter(|(p, _)| !p.is_final() && !p.timed_out)
                .map(|(_, s)| s.deadline)
        });
        held.chain(parts).min()
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The part a report is about: the one whose "still trying" report has the same service
    /// centre time stamp, else the newest part without any report, else the newest with a
    /// temporary one; always with the report's reference and recipient, not final, not timed out.
    fn find(&self, report: &Report) -> Option<(usize, usize)> {
        let submitted = iso(&report.submitted);
        let mut follow_up = None;
        let mut fresh: Option<(u64, usize, usize)> = None;
        let mut pending: Option<(u64, usize, usize)> = None;
        for (i, open) in self.open.iter().enumerate() {
            if !same_number(&open.msg.recipient, &report.recipient) {
                continue;
            }
            for (j, (part, slot)) in open.msg.parts.iter().zip(&open.slots).enumerate() {
                if part.reference != report.reference || part.is_final() || part.timed_out {
                    continue;
                }
                let best = match &part.report {
                    Some(r) if r.submitted == submitted => {
                        follow_up = Some((i, j));
                        continue;
                    }
                    Some(_) => &mut pending,
                    None => &mut fresh,
                };
                if best.is_none_or(|(seq, _, _)| slot.seq > seq) {
                    *best = Some((slot.seq, i, j));
                }
            }
        }
        follow_up.or(fresh.or(pending).map(|(_, i, j)| (i, j)))
    }

    fn apply(&mut self, i: usize, part: usize, report: Report, now: Now) -> Vec<Change> {
        let Some(open) = self.open.get_mut(i) else {
            return Vec::new();
        };
        let previous = open.msg.state();
        let outcome = DeliveryOutcome::of(report.status);
        let seconds = match outcome {
            DeliveryOutcome::Pending => None,
            _ => delivery_seconds(&report.submitted, &report.discharged),
        };
        if let Some(p) = open.msg.parts.get_mut(part) {
            p.report = Some(PartReport {
                status: report.status,
                received_at: now.wall,
                submitted: iso(&report.submitted),
                discharged: iso(&report.discharged),
                file: report.file.clone(),
            });
        }
        // The record first: whoever handles `Matched` knows the message's new state.
        let changes = vec![
            Change::Record {
                message: open.msg.clone(),
                previous,
            },
            Change::Matched {
                file: report.file,
                message: open.msg.id.clone(),
                part: part + 1,
                total: open.msg.total,
                outcome,
                delivery_seconds: seconds,
            },
        ];
        self.close_finished();
        changes
    }

    /// Forgets messages that wait for nothing any more (their record in `sent/` stays).
    fn close_finished(&mut self) {
        self.open.retain(|o| {
            let sending = o.msg.parts.len() < usize::from(o.msg.total);
            sending || o.msg.awaits_report()
        });
    }

    /// Keeps the table bounded: the oldest messages give up waiting (`report: none`).
    fn make_room(&mut self) -> Vec<Change> {
        let mut changes = Vec::new();
        while self.open.iter().map(|o| o.slots.len()).sum::<usize>() >= self.cfg.max_open_parts {
            let Some(oldest) = (0..self.open.len())
                .min_by_key(|&i| self.open[i].slots.first().map_or(0, |s| s.seq))
            else {
                break;
            };
            let mut open = self.open.remove(oldest);
            let previous = open.msg.state();
            for part in open.msg.parts.iter_mut().filter(|p| !p.is_final()) {
                part.timed_out = true;
            }
            changes.push(Change::Record {
                message: open.msg,
                previous,
            });
        }
        changes
    }
}
