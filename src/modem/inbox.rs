//! Reception as a job of the engine: which storages to poll, the `AT+CMGL=4` listing, and the
//! bookkeeping that makes "delete only after it is durable" hold.
//!
//! Polling every storage the modem offers is the backbone; `+CMTI`/`^SMMEMFULL` only make the
//! next poll come at once. A listed message is handed out once and stays "in hand" until the
//! driver says it is stored (then it is deleted) or not (then it is read again later). Bounded by
//! type (heapless). It must not do I/O, read a clock or know the spool.

use super::init::{Step, Steps};
use super::{ReceivedReport, ReceivedSms};
use crate::pdu::{self, Alphabet, Tpdu};
use std::time::{Duration, Instant};

/// A message storage of 27.005 `+CPMS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// The stick's own memory: where Huawei sticks put new SMS, from index 0.
    Me,
    /// The SIM.
    Sm,
    /// ME and SM together (only polled when neither is offered alone).
    Mt,
    /// Status reports (`+CDSI: "SR",<index>`).
    Sr,
}

impl Storage {
    pub fn as_str(self) -> &'static str {
        match self {
            Storage::Me => "ME",
            Storage::Sm => "SM",
            Storage::Mt => "MT",
            Storage::Sr => "SR",
        }
    }
}

/// At most this many messages are handed out and not yet stored or deleted.
const IN_HAND: usize = 64;

/// Where `(storage, index)` identifies one stored message.
pub type Slot = (Storage, u16);

#[derive(Debug)]
pub struct Inbox {
    enabled: bool,
    storages: heapless::Vec<Storage, 4>,
    /// The storage `AT+CPMS="X"` last selected for reading and deleting.
    current: Option<Storage>,
    /// The steps of the poll in progress.
    plan: Steps,
    /// Stored messages to delete, oldest first (the same type as `in_hand`: one copy of its code).
    deletes: heapless::Vec<Slot, IN_HAND>,
    in_hand: heapless::Vec<Slot, IN_HAND>,
    next_poll: Option<Instant>,
    /// (used, total) per storage, in `storages` order.
    counts: heapless::Vec<(u16, u16), 4>,
    /// Storages that could not be selected in this session.
    failed: heapless::Vec<Storage, 4>,
}

impl Inbox {
    pub fn new(enabled: bool) -> Inbox {
        Inbox {
            enabled,
            storages: heapless::Vec::new(),
            current: None,
            plan: Steps::new(),
            deletes: heapless::Vec::new(),
            in_hand: heapless::Vec::new(),
            next_poll: None,
            counts: heapless::Vec::new(),
            failed: heapless::Vec::new(),
        }
    }

    /// A new session: nothing selected, nothing in hand. Pending deletes are dropped too — after a
    /// replug the stick may have put a new message at the same index (Huawei reuses 0); a message
    /// that was stored but not deleted is read again and recognised by the store.
    pub fn reset(&mut self, _now: Instant) {
        self.current = None;
        self.plan.clear();
        self.deletes.clear();
        self.in_hand.clear();
        self.next_poll = None;
        self.failed.clear();
    }

    /// From `AT+CPMS=?`'s first list (`("ME","MT","SM","SR")`): ME and SM are polled; MT only
    /// when neither is there; SR (status reports) when offered. `None` (the command failed): ME
    /// and SM are tried.
    pub fn set_storages(&mut self, offered: Option<&str>) {
        self.storages.clear();
        let first = offered.map(|o| {
            let o = o.trim_start_matches('(');
            o.split(')').next().unwrap_or("").to_ascii_uppercase()
        });
        let has = |name: &str| first.as_deref().is_none_or(|f| f.contains(name));
        for (s, quoted) in [(Storage::Me, "\"ME\""), (Storage::Sm, "\"SM\"")] {
            if has(quoted) {
                let _ = self.storages.push(s);
            }
        }
        if self.storages.is_empty() {
            let _ = self.storages.push(Storage::Mt);
        }
        if first.as_deref().is_some_and(|f| f.contains("\"SR\"")) {
            let _ = self.storages.push(Storage::Sr);
        }
        self.counts.clear();
    }

    /// Where new messages should go (`AT+CPMS` mem3): the stick's memory when it has one.
    pub fn receive_storage(&self) -> Storage {
        self.storages.first().copied().unwrap_or(Storage::Me)
    }

    pub fn poll_now(&mut self, now: Instant) {
        if self.enabled {
            self.next_poll = Some(self.next_poll.map_or(now, |t| t.min(now)));
        }
    }

    pub fn next_poll(&self) -> Option<Instant> {
        if !self.deletes.is_empty() || !self.plan.is_empty() {
            return None; // work now, not a timer
        }
        self.next_poll
    }

    /// The next command of the reception job: deletes first (they free storage), then the poll.
    pub fn next_step(&mut self, now: Instant, interval: Duration) -> Option<Step> {
        if !self.enabled || self.storages.is_empty() {
            return None;
        }
        if let Some(&(m, i)) = self.deletes.first() {
            if self.current != Some(m) {
                return Some(Step::Select(m));
            }
            self.deletes.remove(0);
            return Some(Step::Delete(m, i));
        }
        if self.plan.is_empty() && self.next_poll.is_some_and(|t| now >= t) {
            self.next_poll = Some(now + interval);
            for &s in &self.storages {
                let _ = self.plan.push_back(Step::Select(s));
                let _ = self.plan.push_back(Step::List(s));
            }
        }
        let step = self.plan.pop_front()?;
        if let Step::List(m) = step {
            if self.current != Some(m) {
                let _ = self.plan.push_front(step);
                return Some(Step::Select(m));
            }
        }
        Some(step)
    }

    /// A step picked by [`Inbox::next_step`] that was not started.
    pub fn put_back(&mut self, step: Step) {
        match step {
            Step::Delete(m, i) => {
                let _ = self.deletes.insert(0, (m, i));
            }
            Step::Select(_) if !self.deletes.is_empty() && self.plan.is_empty() => {}
            other => {
                let _ = self.plan.push_front(other);
            }
        }
    }

    pub fn selected(&mut self, m: Storage, counts: Option<(u16, u16)>) {
        self.current = Some(m);
        if let (Some(c), Some(pos)) = (counts, self.storages.iter().position(|s| *s == m)) {
            while self.counts.len() <= pos {
                if self.counts.push((0, 0)).is_err() {
                    break;
                }
            }
            if let Some(slot) = self.counts.get_mut(pos) {
                *slot = c;
            }
        }
    }

    /// The storage cannot be selected: skip its listing (and deletes) this round. Returns whether
    /// this is the first failure of `m` in the session (a stick without that storage is logged
    /// once, not at every poll).
    pub fn select_failed(&mut self, m: Storage) -> bool {
        self.current = None;
        let first = !self.failed.contains(&m);
        if first {
            let _ = self.failed.push(m);
        }
        for _ in 0..self.plan.len() {
            if let Some(step) = self.plan.pop_front() {
                if !matches!(step, Step::List(s) if s == m) {
                    let _ = self.plan.push_back(step);
                }
            }
        }
        self.deletes.retain(|s| s.0 != m);
        first
    }

    /// (used, total) over the polled storages.
    pub fn usage(&self) -> (u16, u16) {
        self.counts.iter().fold((0, 0), |(u, t), (a, b)| {
            (u.saturating_add(*a), t.saturating_add(*b))
        })
    }

    /// The messages of an `AT+CMGL=4` answer that are not in hand yet; they are in hand after.
    pub fn listed(&mut self, m: Storage, lines: &[String]) -> Vec<(u16, Listed)> {
        let mut out = Vec::new();
        let mut index = None;
        for line in lines {
            if let Some(rest) = line.strip_prefix("+CMGL:") {
                index = rest
                    .split(',')
                    .next()
                    .and_then(|i| i.trim().parse::<u16>().ok());
                continue;
            }
            let Some(i) = index.take() else { continue };
            if self.in_hand.contains(&(m, i)) || self.in_hand.push((m, i)).is_err() {
                continue; // already handed out, or too many at once: the next poll
            }
            out.push((i, decode_listed(line)));
        }
        out
    }

    /// Stored: delete it from the modem.
    pub fn delete(&mut self, slot: Slot) {
        if self.deletes.push(slot).is_err() {
            self.release(slot); // read (and recognised) again next time
        }
    }

    pub fn deleted(&mut self, slot: Slot) {
        self.release(slot);
    }

    pub fn release(&mut self, slot: Slot) {
        self.in_hand.retain(|s| *s != slot);
    }
}

/// A PDU read from a storage: a message, or a delivery report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listed {
    Sms(ReceivedSms),
    Report(ReceivedReport),
}

/// A PDU from `AT+CMGL`, `+CMT` or `+CDS`: a status report when it is one, else a message. A
/// PDU that is not a readable SMS-DELIVER is kept as hex with an error, so it is not lost and
/// does not block the storage.
#[inline(never)] // two callers; one copy in the router binary
pub fn decode_listed(hex: &str) -> Listed {
    let bad = |why: String| {
        Listed::Sms(ReceivedSms {
            from: String::new(),
            from_toa: 0,
            smsc: String::new(),
            sent: None,
            alphabet: Alphabet::EightBit,
            text: hex.trim().to_string(),
            concat: None,
            flash: false,
            error: Some(why),
        })
    };
    let decoded = match pdu::decode(hex) {
        Ok(d) => d,
        Err(e) => return bad(format!("undecodable PDU: {e}")),
    };
    let smsc = decoded.smsc.map(|a| a.value);
    match decoded.tpdu {
        Tpdu::Deliver(d) => Listed::Sms(ReceivedSms {
            from: d.from.value,
            from_toa: d.from.toa,
            smsc: smsc.unwrap_or_default(),
            sent: Some(d.timestamp),
            alphabet: d.user_data.coding.alphabet,
            text: d.user_data.text,
            concat: d.user_data.concat,
            flash: d.user_data.coding.class == Some(0),
            error: None,
        }),
        Tpdu::StatusReport(report) => Listed::Report(ReceivedReport { report, smsc }),
        Tpdu::Submit(_) => bad("an SMS-SUBMIT in the inbox".into()),
    }
}
