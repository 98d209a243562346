//! The modem engine, sans I/O: AT bytes and the time come in, bytes to write and events go out
//! (quinn-proto's pattern: [`Engine::handle_input`], [`Engine::handle_timeout`],
//! [`Engine::poll_timeout`], [`Engine::poll_transmit`], [`Engine::poll_event`]).
//!
//! Owns the whole policy of talking to a Huawei stick: the init sequence (`init.rs`), the jobs —
//! sending a part, polling the inbox (`inbox.rs`), refreshing the status, USSD (`ussd.rs`) — and
//! their fair scheduling, one AT command at a time, one command per line. It must not open
//! devices, read a clock, sleep, spawn threads or touch files: the driver thread (`driver.rs`)
//! does that and feeds the results in.

use super::inbox::{Inbox, Storage};
use super::init::{self, Step, Steps};
use super::ussd::UssdJob;
use super::{ReceivedReport, ReceivedSms, SendError};
use crate::at::{Digester, Final, Outcome, CTRL_Z, ESC};
use crate::pdu::SubmitPart;
use crate::status::{ModemInfo, ModemState, Registration};
use std::time::{Duration, Instant};

/// How often status is refreshed when idle and registered.
const REFRESH: Duration = Duration::from_secs(60);
/// How often registration is re-checked while not registered.
const REGISTRATION_POLL: Duration = Duration::from_secs(1);
/// Attempts of one part for transient `AT+CMGS` errors.
const SEND_ATTEMPTS: u32 = 3;
/// Wait between a failed open of the device and the next.
const DEVICE_POLL: Duration = Duration::from_millis(300);
/// Wait after a failed init before the next one.
const INIT_RETRY: Duration = Duration::from_secs(3);
/// Quiet time after the ESC that starts every init (a PDU prompt left open by a previous run).
const SETTLE: Duration = Duration::from_millis(200);

/// What the engine asks of its driver, or tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Open the device; answer with [`Engine::connected`] or [`Engine::open_failed`].
    Open,
    /// Close the port (the engine will ask to open it again).
    Close,
    /// The modem facts changed (state, signal, registration, storage).
    Info(ModemInfo),
    /// A log line for the operator: routine (`Info`) or worth a look (`Warn`).
    Log(crate::log::Level, String),
    /// The answer to [`Engine::send`].
    Sent {
        id: u64,
        result: Result<u8, SendError>,
    },
    /// An SMS (or one part of one) read from the modem. Make it durable, then call
    /// [`Engine::stored`] with `slot` (the modem deletes it only then) or [`Engine::not_stored`].
    Received {
        slot: Option<(Storage, u16)>,
        sms: ReceivedSms,
    },
    /// A delivery report read from the modem. Make it durable, then call [`Engine::stored`] with
    /// `slot` (the modem deletes it only then) or [`Engine::not_stored`].
    Report {
        slot: Option<(Storage, u16)>,
        report: ReceivedReport,
    },
    /// The answer to [`Engine::ussd`].
    Ussd {
        id: u64,
        result: Result<String, String>,
    },
    /// The SIM rejected a PIN: remember `key` across restarts.
    PinRejected { key: String },
}

#[derive(Debug)]
enum Link {
    /// No port; ask for one at `retry_at`.
    Closed {
        retry_at: Instant,
    },
    /// [`Event::Open`] was emitted; waiting for the driver.
    Opening,
    Open,
}

#[derive(Debug)]
struct SendJob {
    id: u64,
    part: SubmitPart,
    deadline: Instant,
    failures: u32,
    not_before: Instant,
}

/// The command on the wire.
#[derive(Debug)]
struct InFlight {
    step: Step,
    deadline: Instant,
    /// `AT+CMGS` after the prompt: the PDU is written, the result is awaited.
    pdu_written: bool,
}

/// Who got the last command: sends and everything else take turns when both wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Turn {
    Send,
    Other,
}

pub struct Engine {
    pub(super) cfg: EngineConfig,
    dig: Digester,
    link: Link,
    out: Vec<u8>,
    events: Vec<Event>,
    inflight: Option<InFlight>,
    settle_until: Option<Instant>,
    /// Init steps still to run (nothing else runs before they are done).
    pub(super) init: Steps,
    refresh: Steps,
    next_refresh: Instant,
    pub(super) registered: bool,
    pub(super) info: ModemInfo,
    info_dirty: bool,
    /// The problem state logged last, until the modem gets past it: retries that end in the same
    /// problem (and the "initializing" of each) are not logged again.
    logged_problem: Option<ModemState>,
    send: Option<SendJob>,
    turn: Turn,
    pub(super) inbox: Inbox,
    pub(super) ussd: UssdJob,
    /// SIM identity read before the PIN (keys the rejected-PIN memory).
    pub(super) iccid: String,
    /// Why the modem is not usable (the answer to a part that times out waiting).
    pub(super) problem: String,
    /// `<ds>` of `AT+CNMI`: 2 (reports stored in SR, `+CDSI`), lowered to 1 (pushed `+CDS`) and 0
    /// (none) when the stick refuses it.
    pub(super) cnmi_ds: u8,
}

impl Engine {
    pub fn new(cfg: EngineConfig, now: Instant) -> Engine {
        let inbox = Inbox::new(cfg.receive);
        Engine {
            cfg,
            dig: Digester::new(),
            link: Link::Closed { retry_at: now },
            out: Vec::new(),
            events: Vec::new(),
            inflight: None,
            settle_until: None,
            init: Steps::new(),
            refresh: Steps::new(),
            next_refresh: now,
            registered: false,
            info: ModemInfo::default(),
            info_dirty: false,
            logged_problem: None,
            send: None,
            turn: Turn::Other,
            inbox,
            ussd: UssdJob::default(),
            iccid: String::new(),
            problem: "modem not initialised yet".into(),
            cnmi_ds: 2,
        }
    }

    // ---- inputs -------------------------------------------------------------------------

    /// The driver opened the device.
    pub fn connected(&mut self, now: Instant) {
        self.link = Link::Open;
        self.dig = Digester::new();
        self.out.push(ESC);
        self.settle_until = Some(now + SETTLE);
        self.init = init::sequence(&self.cfg);
        self.refresh.clear();
        self.inbox.reset(now);
        self.set_state(ModemState::Initializing);
        self.drive(now);
    }

    /// The device could not be opened.
    pub fn open_failed(&mut self, why: &str, now: Instant) {
        self.problem = format!("waiting for device ({why})");
        self.link = Link::Closed {
            retry_at: now + DEVICE_POLL,
        };
        self.set_state(ModemState::WaitingForDevice);
        self.expire(now);
    }

    /// The port failed (read/write error, hang-up): the device is gone.
    pub fn disconnected(&mut self, why: &str, now: Instant) {
        self.inflight = None;
        self.settle_until = None;
        self.init.clear();
        self.out.clear();
        self.registered = false;
        self.problem = format!("device lost ({why})");
        self.info.registration = Registration::Unknown;
        self.info.signal_dbm = None;
        self.info.signal_quality = "unknown";
        self.link = Link::Closed {
            retry_at: now + DEVICE_POLL,
        };
        self.ussd
            .fail_waiting(&mut self.events, "the modem was unplugged");
        self.set_state(ModemState::WaitingForDevice);
    }

    /// Bytes read from the port.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        if !matches!(self.link, Link::Open) {
            return;
        }
        self.dig.feed(bytes);
        self.handle_urcs(now);
        if self.settle_until.is_some() {
            return;
        }
        while let Some(outcome) = self.dig.take_outcome() {
            self.on_outcome(outcome, now);
            self.handle_urcs(now);
        }
        self.drive(now);
    }

    /// Time passed: deadlines, retries and timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(t) = self.settle_until {
            if now >= t {
                self.settle_until = None;
                self.dig.abandon();
                let _ = self.dig.take_urcs();
            }
        }
        if let Some(f) = &self.inflight {
            if now >= f.deadline {
                if let Some(f) = self.inflight.take() {
                    self.dig.abandon();
                    self.on_timeout(f, now);
                }
            }
        }
        self.expire(now);
        self.ussd.expire(now, &mut self.events);
        if let Link::Closed { retry_at } = self.link {
            if now >= retry_at {
                // The state stays as it is until the device opens (`connected` says
                // "initializing"): a missing stick is one log line, not two per attempt.
                self.link = Link::Opening;
                self.events.push(Event::Open);
            }
        }
        self.drive(now);
    }

    /// Queues one part; answered by [`Event::Sent`] (a transient failure at `deadline` at the latest).
    pub fn send(&mut self, id: u64, part: SubmitPart, deadline: Instant, now: Instant) {
        if let Some(old) = self.send.take() {
            self.answer_send(
                old,
                Err(SendError::Transient("replaced by a newer part".into())),
            );
        }
        self.send = Some(SendJob {
            id,
            part,
            deadline,
            failures: 0,
            not_before: now,
        });
        self.drive(now);
    }

    /// Queues a USSD request; answered by [`Event::Ussd`].
    pub fn ussd(&mut self, id: u64, code: &str, now: Instant) {
        self.ussd
            .request(id, code, now + self.cfg.ussd_timeout, &mut self.events);
        self.drive(now);
    }

    /// The SMS read from `slot` is durable: delete it from the modem.
    pub fn stored(&mut self, slot: Option<(Storage, u16)>, now: Instant) {
        if let Some(slot) = slot {
            self.inbox.delete(slot);
        }
        self.drive(now);
    }

    /// The SMS from `slot` could not be stored: leave it on the modem, read it again later.
    pub fn not_stored(&mut self, slot: Option<(Storage, u16)>) {
        if let Some(slot) = slot {
            self.inbox.release(slot);
        }
    }

    // ---- outputs ------------------------------------------------------------------------

    /// Bytes to write to the port, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        (!self.out.is_empty()).then(|| std::mem::take(&mut self.out))
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        if self.info_dirty {
            self.info_dirty = false;
            return Some(Event::Info(self.info.clone()));
        }
        (!self.events.is_empty()).then(|| self.events.remove(0))
    }

    /// When [`Engine::handle_timeout`] must be called next (`None`: only on input).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut min = |x: Instant| t = Some(t.map_or(x, |y| y.min(x)));
        match self.link {
            Link::Closed { retry_at } => min(retry_at),
            Link::Opening => {}
            Link::Open => {
                if let Some(s) = self.settle_until {
                    min(s);
                }
                match &self.inflight {
                    Some(f) => min(f.deadline),
                    None if self.init.is_empty() && self.settle_until.is_none() => {
                        min(self.next_refresh);
                        if let Some(p) = self.inbox.next_poll() {
                            min(p);
                        }
                        if let Some(j) = &self.send {
                            min(j.not_before);
                        }
                    }
                    None => {}
                }
            }
        }
        if let Some(j) = &self.send {
            min(j.deadline);
        }
        if let Some(u) = self.ussd.deadline() {
            min(u);
        }
        t
    }

    /// Nothing is waiting for an answer (no part, no USSD).
    pub fn idle(&self) -> bool {
        self.send.is_none() && self.ussd.deadline().is_none()
    }

    // ---- internals ----------------------------------------------------------------------

    /// Gives up on the session: close the port and start again after `after`.
    pub(super) fn restart(&mut self, why: String, after: Duration, now: Instant) {
        self.problem = why.clone();
        self.inflight = None;
        self.settle_until = None;
        self.init.clear();
        self.registered = false;
        self.events.push(Event::Close);
        self.link = Link::Closed {
            retry_at: now + after,
        };
        self.set_state(ModemState::Error(why));
    }

    pub(super) fn push_event(&mut self, ev: Event) {
        self.events.push(ev);
    }

    /// No command for `d` (the SIM settling after its PIN); input is still read.
    pub(super) fn pause(&mut self, d: Duration, now: Instant) {
        self.settle_until = Some(now + d);
    }

    pub(super) fn ussd_answered(
        &mut self,
        form: super::ussd::UssdForm,
        r: Result<Vec<String>, String>,
        _now: Instant,
    ) {
        let r = r.map(|_| ());
        self.ussd.answered(form, r, &mut self.events);
    }

    pub(super) fn init_failed(&mut self, why: std::fmt::Arguments<'_>, now: Instant) {
        self.restart(std::fmt::format(why), INIT_RETRY, now);
    }

    /// Starts the next command if the line is free.
    fn drive(&mut self, now: Instant) {
        if !matches!(self.link, Link::Open)
            || self.inflight.is_some()
            || self.settle_until.is_some()
        {
            return;
        }
        if let Some(step) = self.init.pop_front() {
            if !matches!(step, Step::Done) {
                self.start(step, now);
                return;
            }
            self.session_up(now);
        }
        let send_ready = matches!(&self.send, Some(j) if now >= j.not_before);
        let other = self.next_other(now);
        match (send_ready, other) {
            (true, Some(step)) if self.turn == Turn::Send => self.start_other(step, now),
            (true, other) => {
                if let Some(step) = other {
                    self.put_back(step);
                }
                self.start_send(now);
            }
            (false, Some(step)) => self.start_other(step, now),
            (false, None) => {}
        }
    }

    fn start_other(&mut self, step: Step, now: Instant) {
        self.turn = Turn::Other;
        self.start(step, now);
    }

    /// Returns a step that was picked but not started to its queue.
    fn put_back(&mut self, step: Step) {
        match step {
            Step::Csq | Step::Creg | Step::Cops | Step::Cnmi => {
                let _ = self.refresh.push_front(step);
            }
            Step::Cusd(_) => self.ussd.put_back(step),
            other => self.inbox.put_back(other),
        }
    }

    /// The next non-send command: USSD, then reception, then status refresh.
    fn next_other(&mut self, now: Instant) -> Option<Step> {
        if let Some(step) = self.ussd.next_step() {
            return Some(step);
        }
        if let Some(step) = self.inbox.next_step(now, self.cfg.poll_interval) {
            return Some(step);
        }
        if self.refresh.is_empty() && now >= self.next_refresh {
            if self.registered {
                for step in [Step::Csq, Step::Creg, Step::Cops] {
                    let _ = self.refresh.push_back(step);
                }
                if self.cfg.receive {
                    // A stick that restarted behind our back has CNMI 0 again.
                    let _ = self.refresh.push_back(Step::Cnmi);
                }
            } else {
                let _ = self.refresh.push_back(Step::Creg);
            }
            let every = if self.registered {
                REFRESH
            } else {
                REGISTRATION_POLL
            };
            self.next_refresh = now + every;
        }
        self.refresh.pop_front()
    }

    fn start(&mut self, step: Step, now: Instant) {
        let (line, timeout) = match &step {
            Step::Cmgs => {
                let len = self.send.as_ref().map_or(0, |j| j.part.tpdu_len);
                (format!("AT+CMGS={len}"), self.cfg.command)
            }
            other => (init::command_line(self, other), self.cfg.command),
        };
        let timeout = match step {
            Step::Probe(_) => timeout.min(Duration::from_secs(2)),
            Step::List(_) => timeout.saturating_mul(3),
            _ => timeout,
        };
        self.dig.begin(&line, matches!(step, Step::Cmgs));
        self.out.extend_from_slice(line.as_bytes());
        self.out.push(b'\r');
        self.inflight = Some(InFlight {
            step,
            deadline: now + timeout,
            pdu_written: false,
        });
    }

    fn on_outcome(&mut self, outcome: Outcome, now: Instant) {
        let Some(mut f) = self.inflight.take() else {
            return;
        };
        match (outcome, &f.step) {
            (Outcome::Prompt, Step::Cmgs) if !f.pdu_written => {
                let hex = self
                    .send
                    .as_ref()
                    .map(|j| j.part.hex.clone())
                    .unwrap_or_default();
                self.dig.begin_pdu(&hex);
                self.out.extend_from_slice(hex.as_bytes());
                self.out.push(CTRL_Z);
                f.pdu_written = true;
                f.deadline = now + self.cfg.cmgs;
                self.inflight = Some(f);
            }
            (Outcome::Prompt, _) => {
                // Not expected: leave the PDU prompt and count it as a timeout.
                self.out.push(ESC);
                self.on_timeout(f, now);
            }
            (Outcome::Final(Final::Ok), Step::Cmgs) => {
                let lines = self.dig.take_lines();
                let mr = lines.iter().find_map(|l| super::session::parse_cmgs(l));
                self.sent(mr.unwrap_or(0));
            }
            (Outcome::Final(fin), Step::Cmgs) => self.send_failed(fin, now),
            (Outcome::Final(fin), _) => {
                let lines = self.dig.take_lines();
                let result = if fin == Final::Ok {
                    Ok(lines)
                } else {
                    Err(fin)
                };
                init::answered(self, f.step, result, now);
            }
        }
    }

    fn on_timeout(&mut self, f: InFlight, now: Instant) {
        match f.step {
            Step::Cmgs => {
                self.out.push(ESC);
                let secs = if f.pdu_written {
                    self.cfg.cmgs
                } else {
                    self.cfg.command
                };
                let cmd = self.send.as_ref().map_or(0, |j| j.part.tpdu_len);
                if let Some(job) = self.send.take() {
                    let why = format!("no answer to AT+CMGS={cmd} within {} s", secs.as_secs());
                    self.answer_send(job, Err(SendError::Transient(why)));
                }
                // ESC was sent; re-initialise before the next command.
                self.restart("no answer to AT+CMGS".into(), Duration::ZERO, now);
            }
            step => init::timed_out(self, step, now),
        }
    }

    /// Init (or refresh) reached its end: the session is up.
    pub(super) fn session_up(&mut self, now: Instant) {
        self.next_refresh = now
            + if self.registered {
                REFRESH
            } else {
                REGISTRATION_POLL
            };
        self.inbox.poll_now(now);
        self.ready_state();
    }
}

#[path = "engine_config.rs"]
mod config;
pub use config::EngineConfig;
#[path = "engine_send.rs"]
mod send;
#[path = "engine_state.rs"]
mod state;
#[path = "engine_urc.rs"]
mod urc;

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "engine_report_tests.rs"]
mod report_tests;
