//! The modem thread: the only owner of the serial port and the clock. It opens the device when the
//! engine asks, writes what the engine transmits, feeds it what the port reads and the time, and
//! carries the engine's events out: answers to the blocking [`ModemHandle`] and [`UssdClient`],
//! received messages to the [`MessageSink`], modem facts to the shared status, the rejected-PIN
//! memory to its file.
//!
//! Owns no policy (that is `engine.rs`); it must not parse AT lines.

use super::bell::{Bell, Woken};
use super::engine::{Engine, EngineConfig, Event};
use super::inbox::Slot;
use super::{open_port, spawn_named, MessageSink, ModemPort, SendError, SmsSender};
use crate::config::ServeConfig;
use crate::pdu::SubmitPart;
use crate::status::GatewayStatus;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The rejected-PIN memory, in the spool's root.
pub const PIN_FILE: &str = ".pin-rejected";

/// The longest the loop waits for the port without looking at its timers.
const TICK: Duration = Duration::from_millis(100);
/// How often the simulated modem (no descriptor to wait on) is looked at for news of its own.
const SIM_TICK: Duration = Duration::from_millis(20);

/// What the handles ask the thread and what it answers; one `Condvar` for both directions, and
/// the doorbell that wakes the thread from its wait on the port.
#[derive(Default)]
struct Mailbox {
    slots: Mutex<Slots>,
    changed: Condvar,
    bell: Bell,
}

#[derive(Default)]
struct Slots {
    send: Option<(u64, SubmitPart, Instant)>,
    sent: Option<(u64, Result<u8, SendError>)>,
    ussd: Vec<(u64, String)>,
    ussd_done: Vec<(u64, Result<String, String>)>,
    next_id: u64,
    /// The process is stopping: a part still waiting for the modem is given back at once.
    stopping: bool,
}

impl Mailbox {
    /// A request was put in the slots: wake the modem thread wherever it waits.
    fn post(&self) {
        self.changed.notify_all();
        self.bell.ring();
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait_while<'a>(
        &'a self,
        slots: MutexGuard<'a, Slots>,
        wait: Duration,
        cond: &mut dyn FnMut(&mut Slots) -> bool,
    ) -> MutexGuard<'a, Slots> {
        // one instantiation of std's wait loop for the three waits
        match self.changed.wait_timeout_while(slots, wait, cond) {
            Ok((g, _)) => g,
            Err(p) => p.into_inner().0,
        }
    }
}

/// The blocking sending side of the modem thread (the spool's sender holds it).
pub struct ModemHandle {
    mailbox: Arc<Mailbox>,
    wait: Duration,
    answer_wait: Duration,
}

impl SmsSender for ModemHandle {
    fn send_part(&mut self, part: &SubmitPart) -> Result<u8, SendError> {
        let mut slots = self.mailbox.lock();
        slots.next_id = slots.next_id.wrapping_add(1);
        let id = slots.next_id;
        slots.sent = None;
        slots.send = Some((id, part.clone(), crate::at::deadline_after(self.wait)));
        self.mailbox.post();
        let mut slots = self.mailbox.wait_while(
            slots,
            self.answer_wait,
            &mut |s| !matches!(&s.sent, Some((r, _)) if *r == id),
        );
        match slots.sent.take() {
            Some((r, result)) if r == id => result,
            _ => {
                slots.send = None; // never picked up: withdraw it
                Err(SendError::Transient(
                    "the modem thread did not answer in time".into(),
                ))
            }
        }
    }
}

impl ModemHandle {
    /// A handle for USSD requests (any thread).
    pub fn ussd_client(&self) -> UssdClient {
        UssdClient {
            mailbox: self.mailbox.clone(),
        }
    }
}

/// Asks the modem thread for USSD (`*100#`); blocking.
#[derive(Clone)]
pub struct UssdClient {
    mailbox: Arc<Mailbox>,
}

impl UssdClient {
    /// The network's reply text, or why there is none. Waits behind a send in flight.
    pub fn request(&self, code: &str, wait: Duration) -> Result<String, String> {
        let mut slots = self.mailbox.lock();
        slots.next_id = slots.next_id.wrapping_add(1);
        let id = slots.next_id;
        slots.ussd.push((id, code.to_string()));
        self.mailbox.post();
        let mut slots = self.mailbox.wait_while(slots, wait, &mut |s| {
            !s.ussd_done.iter().any(|(r, _)| *r == id)
        });
        match slots.ussd_done.iter().position(|(r, _)| *r == id) {
            Some(pos) => slots.ussd_done.swap_remove(pos).1,
            None => {
                slots.ussd.retain(|(r, _)| *r != id);
                Err("the modem did not answer the USSD request in time".into())
            }
        }
    }

    /// At a stop (this client shares the modem thread's mailbox): a part still waiting for the
    /// modem, not yet in `AT+CMGS`, is answered "not sent" at once, so that a stop does not wait
    /// for a stick that is not there. A part on the air still finishes.
    pub fn stopping(&self) {
        self.mailbox.lock().stopping = true;
        self.mailbox.post();
    }
}

/// The engine's settings from the `serve` options.
pub fn engine_config(cfg: &ServeConfig, receive: bool) -> EngineConfig {
    let command = cfg
        .command_timeout
        .clamp(Duration::from_secs(1), Duration::from_secs(3600));
    EngineConfig {
        pin: cfg.pin.clone(),
        smsc: cfg.smsc.clone(),
        init: cfg.init.clone(),
        command,
        cmgs: command.saturating_mul(6),
        receive,
        poll_interval: cfg
            .poll_interval
            .clamp(Duration::from_secs(1), Duration::from_secs(3600)),
        rejected_pins: Vec::new(),
        ussd_timeout: Duration::from_secs(30),
    }
}

/// Starts the modem thread for `cfg.device` (`sim` = built-in simulated modem). Never fails: a
/// missing device is waited for inside the thread. `sink` receives messages (`None`: receiving
/// is off); `pin_file` remembers rejected PINs across restarts.
pub fn open(
    cfg: &ServeConfig,
    status: Arc<GatewayStatus>,
    sink: Option<Box<dyn MessageSink>>,
    pin_file: Option<PathBuf>,
) -> ModemHandle {
    let mut engine_cfg = engine_config(cfg, sink.is_some());
    if let Some(f) = &pin_file {
        engine_cfg.rejected_pins = read_pin_keys(f);
    }
    let wait = cfg
        .registration_timeout
        .clamp(Duration::from_secs(1), Duration::from_secs(86_400 * 30));
    let mailbox = Arc::new(Mailbox::default());
    let handle = ModemHandle {
        mailbox: mailbox.clone(),
        wait,
        // A send in flight at the deadline may still take one full AT+CMGS.
        answer_wait: wait + engine_cfg.command * 2 + engine_cfg.cmgs + Duration::from_secs(5),
    };
    let driver = Driver {
        device: cfg.device.clone(),
        baud: cfg.baud,
        status,
        sink,
        pin_file,
        port: None,
        mailbox,
        open_error: String::new(),
    };
    let engine = Engine::new(engine_cfg, Instant::now());
    if let Err(e) = spawn_named("modem", Box::new(move || driver.run(engine))) {
        crate::log_error!("cannot start the modem thread: {e}");
    }
    handle
}

fn read_pin_keys(path: &Path) -> Vec<String> {
    let text = crate::spool::read_text(path).unwrap_or_default();
    let mut keys = Vec::new();
    for l in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        keys.push(l.to_string());
    }
    keys
}

struct Driver {
    device: String,
    baud: u32,
    status: Arc<GatewayStatus>,
    sink: Option<Box<dyn MessageSink>>,
    pin_file: Option<PathBuf>,
    port: Option<Box<dyn ModemPort>>,
    mailbox: Arc<Mailbox>,
    /// The last reason the device could not be opened (logged when it changes).
    open_error: String,
}

impl Driver {
    fn run(mut self, mut engine: Engine) {
        let mut buf = [0u8; 512];
        loop {
            let now = Instant::now();
            {
                let mut slots = self.mailbox.lock();
                if let Some((id, part, deadline)) = slots.send.take() {
                    engine.send(id, part, deadline, now);
                }
                if slots.stopping {
                    engine.withdraw();
                }
                for (id, code) in &std::mem::take(&mut slots.ussd) {
                    engine.ussd(*id, code, now);
                }
            }
            if Arc::strong_count(&self.mailbox) == 1 && engine.idle() {
                return; // every handle is gone
            }
            engine.handle_timeout(now);
            if let Some(sink) = self.sink.as_mut() {
                sink.tick(now);
            }
            self.pump(&mut engine);
            let wait = engine
                .poll_timeout()
                .map_or(TICK, |t| t.saturating_duration_since(Instant::now()))
                .min(TICK);
            match self.port.as_mut() {
                Some(port) => {
                    // A port with a descriptor is read once poll says so; the bell ends the wait
                    // early when a request comes. The simulated modem is read at once.
                    let fd = port.input_fd();
                    if fd.is_some() && self.mailbox.bell.wait(fd, wait) != Woken::Input {
                        continue;
                    }
                    match port.read_port(&mut buf) {
                        Ok(0) => self.lost(&mut engine, "device closed"),
                        Ok(n) => engine.handle_input(buf.get(..n).unwrap_or(&[]), Instant::now()),
                        Err(e) if crate::at::is_quiet(&e) => {
                            if fd.is_none() {
                                self.mailbox.bell.wait(None, wait.min(SIM_TICK));
                            }
                        }
                        Err(e) => self.lost(&mut engine, &e.to_string()),
                    }
                }
                None => {
                    let slots = self.mailbox.lock();
                    drop(
                        self.mailbox.wait_while(slots, wait, &mut |s| {
                            s.send.is_none() && s.ussd.is_empty()
                        }),
                    );
                }
            }
        }
    }

    fn lost(&mut self, engine: &mut Engine, why: &str) {
        self.port = None;
        engine.disconnected(why, Instant::now());
    }

    /// Carries out everything the engine has to say until it is quiet.
    fn pump(&mut self, engine: &mut Engine) {
        loop {
            let mut busy = false;
            while let Some(bytes) = engine.poll_transmit() {
                busy = true;
                let Some(port) = self.port.as_mut() else {
                    continue;
                };
                let written = port.write_all_port(&bytes);
                if let Err(e) = written {
                    self.lost(engine, &e.to_string());
                }
            }
            while let Some(ev) = engine.poll_event() {
                busy = true;
                self.event(engine, ev);
            }
            if !busy {
                return;
            }
        }
    }

    fn event(&mut self, engine: &mut Engine, ev: Event) {
        match ev {
            Event::Open => match open_port(&self.device, self.baud) {
                Ok(p) => {
                    self.port = Some(p);
                    self.open_error.clear();
                    engine.connected(Instant::now());
                }
                Err(e) => {
                    // Why, once per reason (retried every 300 ms): the state alone says only
                    // "waiting for device", also for a path that exists but is no modem or is busy.
                    if self.open_error != e {
                        crate::log_warn!("modem: cannot open the device: {e}");
                    }
                    engine.open_failed(&e, Instant::now());
                    self.open_error = e;
                }
            },
            Event::Close => self.port = None,
            Event::Info(info) => self.status.update_modem(|m| *m = info),
            Event::Log(level, line) => crate::log::line(level, format_args!("{line}")),
            Event::Sent { id, result } => {
                let mut slots = self.mailbox.lock();
                slots.sent = Some((id, result));
                self.mailbox.changed.notify_all();
            }
            Event::Ussd { id, result } => {
                let mut slots = self.mailbox.lock();
                slots.ussd_done.push((id, result));
                self.mailbox.changed.notify_all();
            }
            Event::Received { slot, sms } => {
                let stored = match self.sink.as_mut() {
                    Some(sink) => sink.store(&sms, Instant::now()),
                    None => Err("receiving is off".into()),
                };
                kept(engine, slot, stored, "a received SMS");
            }
            Event::Report { slot, report } => {
                let stored = match self.sink.as_mut() {
                    Some(sink) => sink.report(&report),
                    None => Err("receiving is off".into()),
                };
                kept(engine, slot, stored, "a delivery report");
            }
            Event::PinRejected { key } => {
                if let Some(path) = &self.pin_file {
                    if let Err(e) = append_line(path, &key) {
                        crate::log_error!(
                            "cannot remember the rejected PIN in {}: {e}",
                            path.display()
                        );
                    }
                }
            }
        }
    }
}

/// Tells the engine whether what it read from `slot` is durable (then it is deleted there).
fn kept(engine: &mut Engine, slot: Option<Slot>, stored: Result<(), String>, what: &str) {
    match stored {
        Ok(()) => engine.stored(slot, Instant::now()),
        Err(e) => {
            crate::log_error!("cannot store {what} (left on the modem): {e}");
            engine.not_stored(slot);
        }
    }
}

/// Appends one line and makes it durable (the rejected-PIN memory must survive a power cut).
fn append_line(path: &PathBuf, line: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(format!("{line}\n").as_bytes())?;
    f.sync_all()
}

trait WriteAll {
    fn write_all_port(&mut self, bytes: &[u8]) -> std::io::Result<()>;
}

impl WriteAll for Box<dyn ModemPort> {
    fn write_all_port(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let port: &mut dyn ModemPort = self.as_mut();
        port.write_all(bytes)?;
        port.flush()
    }
}

#[cfg(test)]
#[path = "../../tests/common/modem_sim.rs"]
mod modem_sim;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdu::{encode_submit, EncodeOptions};
    use crate::status::{ModemState, Registration};

    fn wait_state(status: &GatewayStatus, want: &str) -> bool {
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end {
            if status.modem().state.to_string() == want {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    #[test]
    fn pty_status_then_idle_unplug_and_replug() {
        let dir = std::env::temp_dir().join(format!("smsgw-engine-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let link = dir.join("ttyUSB0");
        let opts = modem_sim::SimOptions {
            noise: true,
            ..Default::default()
        };
        let sim = modem_sim::ModemSim::start(&link, opts, None);
        let Ok(sim) = sim else {
            panic!("cannot create a pty: {:?}", sim.err());
        };
        let cfg = ServeConfig {
            device: link.to_string_lossy().into_owned(),
            registration_timeout: Duration::from_secs(20),
            command_timeout: Duration::from_secs(1),
            ..ServeConfig::default()
        };
        let status = Arc::new(GatewayStatus::default());
        let mut modem = open(&cfg, status.clone(), None, None);
        assert!(wait_state(&status, "ready"), "{:?}", status.modem());
        let m = status.modem();
        assert_eq!(
            (m.manufacturer.as_str(), m.model.as_str(), m.imei.as_str()),
            ("huawei", "E3372", "866785033700732")
        );
        assert_eq!(m.operator, "dtac");
        // -69 dBm from `+CSQ: 22,99`, or -71 from a later `^RSSI:21` URC: both are the truth.
        assert!(
            matches!(m.signal_dbm, Some(-69 | -71)),
            "{:?}",
            m.signal_dbm
        );
        assert_eq!(m.signal_quality, "Excellent");
        assert_eq!(m.registration, Registration::Home);

        // Unplugged while idle: noticed without any send, then picked up again.
        sim.unplug(Duration::from_millis(800));
        assert!(
            wait_state(&status, "waiting for device"),
            "{:?}",
            status.modem()
        );
        assert!(wait_state(&status, "ready"), "{:?}", status.modem());
        let parts = encode_submit("+4917012345", "back", &EncodeOptions::default(), 0);
        let part = parts.unwrap_or_default().pop();
        let Some(part) = part else {
            panic!("no part");
        };
        assert_eq!(modem.send_part(&part), Ok(1));
        let log = sim.log();
        assert_eq!(log.plugs, 2);
        assert_eq!(log.sent.len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn sim_device_sends_and_reports_status() {
        let cfg = ServeConfig {
            device: "sim".into(),
            registration_timeout: Duration::from_secs(10),
            ..ServeConfig::default()
        };
        let status = Arc::new(GatewayStatus::default());
        let mut modem = open(&cfg, status.clone(), None, None);
        let parts = encode_submit("+4917012345", "hi", &EncodeOptions::default(), 0);
        let parts = parts.unwrap_or_default();
        assert_eq!(parts.len(), 1);
        for p in &parts {
            assert_eq!(modem.send_part(p), Ok(1));
            assert_eq!(modem.send_part(p), Ok(2));
        }
        let m = status.modem();
        assert_eq!(m.signal_dbm, Some(-69));
        assert_eq!(m.signal_quality, "Excellent");
        assert_eq!(m.registration, Registration::Home);
        assert_eq!(m.manufacturer, "huawei");
        assert_eq!(m.imei, "000000000000000");
        assert_eq!(m.operator, "smsgw sim");
        assert_eq!(m.state, ModemState::Ready);
    }

    #[test]
    fn missing_device_is_a_transient_failure() {
        let cfg = ServeConfig {
            device: "/nonexistent/smsgw-test-tty".into(),
            registration_timeout: Duration::from_secs(1),
            ..ServeConfig::default()
        };
        let status = Arc::new(GatewayStatus::default());
        let mut modem = open(&cfg, status.clone(), None, None);
        let part = SubmitPart {
            tpdu_len: 1,
            hex: "0000".into(),
        };
        match modem.send_part(&part) {
            Err(SendError::NotReady(m)) => assert!(m.contains("not present"), "{m}"),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(status.modem().state, ModemState::WaitingForDevice);
    }
}
