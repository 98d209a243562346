//! Modem policy: session setup, sending SMS parts, status polling and recovery on a Huawei stick.
//!
//! Owns the modem thread (the only owner of the serial port): it waits for the device path, runs the
//! init sequence (`session.rs`), sends the parts it is handed with error classification (transient
//! vs permanent), keeps the cached modem status fresh, and reconnects when the device vanishes,
//! retrying the part in flight. Also the built-in simulated modem (`sim.rs`, `--device sim`).
//! It must not touch the spool, HTTP or PDU internals: it sends the hex it is given.

pub mod session;
pub mod sim;

use crate::at::{AtError, AtPort, Final};
use crate::config::ServeConfig;
use crate::pdu::SubmitPart;
use crate::status::{GatewayStatus, Registration};
use session::{InitError, Timeouts};
use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Why a part was not sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// Worth retrying later: no network, modem busy or gone, timeout, `+CMS ERROR` 38/41/42/47/331/332.
    Transient(String),
    /// Retrying will not help: invalid destination, barred, malformed PDU.
    Permanent(String),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Transient(m) => write!(f, "temporary failure: {m}"),
            SendError::Permanent(m) => write!(f, "permanent failure: {m}"),
        }
    }
}

/// Something that can put one SMS-SUBMIT PDU on the air. Blocking; may take seconds.
pub trait SmsSender: Send {
    /// Sends one part; returns the message reference from `+CMGS: <mr>`.
    fn send_part(&mut self, part: &SubmitPart) -> Result<u8, SendError>;

    /// Sends a whole text when the backend takes texts rather than PDUs (HiLink: the stick splits
    /// and encodes); returns the message id. `None`: this backend sends parts (`send_part`).
    fn send_text(&mut self, _to: &str, _text: &str) -> Option<Result<u8, SendError>> {
        None
    }
}

/// A byte stream to a modem (serial port or the simulated one). Only the three calls the AT layer
/// needs are in its vtable: a `dyn Read + Write` vtable would keep every provided `Read`/`Write`
/// method of both port types in the router binary (several KB).
pub trait ModemPort: Send {
    fn read_port(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    fn write_port(&mut self, buf: &[u8]) -> io::Result<usize>;
    fn flush_port(&mut self) -> io::Result<()>;
}

impl<T: Read + Write + Send> ModemPort for T {
    fn read_port(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read(buf)
    }
    fn write_port(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write(buf)
    }
    fn flush_port(&mut self) -> io::Result<()> {
        self.flush()
    }
}

impl Read for dyn ModemPort {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_port(buf)
    }
}

impl Write for dyn ModemPort {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_port(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.flush_port()
    }
}

/// How often status is refreshed when idle and registered.
const REFRESH: Duration = Duration::from_secs(60);
/// How often registration is re-checked while not registered.
const REGISTRATION_POLL: Duration = Duration::from_secs(1);
/// Attempts of one part inside the modem thread for transient `AT+CMGS` errors.
const SEND_ATTEMPTS: u32 = 3;
/// Wait between checks for the device path.
const DEVICE_POLL: Duration = Duration::from_millis(300);
/// Wait after a failed init before the next one.
const INIT_RETRY: Duration = Duration::from_secs(3);

/// Opens the serial device at `path` (8N1, `baud`), with a short read timeout for the AT loop.
pub fn open_serial(path: &str, baud: u32) -> Result<serialport::TTYPort, String> {
    if !Path::new(path).exists() {
        return Err(format!("{path} is not present"));
    }
    serialport::new(path, baud)
        .timeout(Duration::from_millis(100))
        .open_native()
        .map_err(|e| format!("{path}: {e}"))
}

/// Starts a detached named thread. The modem's and the spool's threads all start through this one
/// non-generic function: every `std::thread::Builder::spawn` instantiation costs about 0.6 KB in
/// the router binary.
pub fn spawn_named(name: &str, f: Box<dyn FnOnce() + Send>) -> io::Result<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map(|_| ())
}

/// Opens `device` (`sim` = built-in simulated modem) for direct AT use (`smsgw at`).
pub fn open_port(device: &str, baud: u32) -> Result<Box<dyn ModemPort>, String> {
    if device == "sim" {
        Ok(Box::new(sim::SimModem::new()))
    } else {
        Ok(Box::new(open_serial(device, baud)?))
    }
}

/// Opens the modem named by `cfg.device` (`sim` = built-in simulated modem, `http://…` = a HiLink
/// stick, see `crate::hilink`).
/// Never fails: a missing device is waited for inside the modem thread.
pub fn open(cfg: &ServeConfig, status: Arc<GatewayStatus>) -> Box<dyn SmsSender> {
    if crate::hilink::is_hilink(&cfg.device) {
        return crate::hilink::open(cfg, status);
    }
    let mailbox = Arc::new(Mailbox::default());
    let timeouts = Timeouts::from_config(cfg);
    let wait = cfg
        .registration_timeout
        .clamp(Duration::from_secs(1), Duration::from_secs(86_400 * 30));
    let handle = ModemHandle {
        mailbox: mailbox.clone(),
        wait,
        // A send in flight at the deadline may still take one full AT+CMGS.
        answer_wait: wait + timeouts.command * 2 + timeouts.cmgs + Duration::from_secs(5),
        // (bounded: wait <= 30 days, command <= 1 hour)
    };
    let engine = Engine {
        cfg: cfg.clone(),
        timeouts,
        status,
        port: None,
        pin_rejected: false,
        registered: false,
        retry_at: Instant::now(),
        next_refresh: Instant::now(),
        problem: "modem not initialised yet".into(),
        state: String::new(),
    };
    let spawned = spawn_named("modem", Box::new(move || engine.run(mailbox)));
    if let Err(e) = spawned {
        eprintln!("smsgw: cannot start the modem thread: {e}");
    }
    Box::new(handle)
}

struct Request {
    id: u64,
    part: SubmitPart,
    /// After this the part is answered `Transient` unless it is already on its way.
    deadline: Instant,
    mailbox: Arc<Mailbox>,
}

/// The one-slot exchange between the handle and the modem thread (`send_part` takes `&mut self`,
/// so at most one request is outstanding). Lighter than a channel in the router binary.
#[derive(Default)]
struct Mailbox {
    slots: Mutex<Slots>,
    changed: Condvar,
}

#[derive(Default)]
struct Slots {
    request: Option<Request>,
    reply: Option<(u64, Result<u8, SendError>)>,
    next_id: u64,
}

impl Mailbox {
    fn lock(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The modem thread's side: waits up to `wait` for a request.
    fn take_request(&self, wait: Duration) -> Option<Request> {
        let slots = self.lock();
        let (mut slots, _) = self
            .changed
            .wait_timeout_while(slots, wait, |s| s.request.is_none())
            .unwrap_or_else(|p| p.into_inner());
        slots.request.take()
    }

    fn reply(&self, id: u64, result: Result<u8, SendError>) {
        self.lock().reply = Some((id, result));
        self.changed.notify_all();
    }
}

struct ModemHandle {
    mailbox: Arc<Mailbox>,
    wait: Duration,
    answer_wait: Duration,
}

impl SmsSender for ModemHandle {
    fn send_part(&mut self, part: &SubmitPart) -> Result<u8, SendError> {
        let mut slots = self.mailbox.lock();
        slots.next_id = slots.next_id.wrapping_add(1);
        let id = slots.next_id;
        slots.reply = None;
        slots.request = Some(Request {
            id,
            part: part.clone(),
            deadline: crate::at::deadline_after(self.wait),
            mailbox: self.mailbox.clone(),
        });
        self.mailbox.changed.notify_all();
        let (mut slots, _) = self
            .mailbox
            .changed
            .wait_timeout_while(
                slots,
                self.answer_wait,
                |s| !matches!(&s.reply, Some((r, _)) if *r == id),
            )
            .unwrap_or_else(|p| p.into_inner());
        match slots.reply.take() {
            Some((r, result)) if r == id => result,
            _ => {
                // Never picked up (or still in flight): withdraw it.
                slots.request = None;
                Err(SendError::Transient(
                    "the modem thread did not answer in time".into(),
                ))
            }
        }
    }
}

struct Job {
    req: Request,
    failures: u32,
    not_before: Instant,
}

impl Job {
    fn answer(self, result: Result<u8, SendError>) {
        // The caller may have given up; then nobody reads it.
        let mailbox = self.req.mailbox.clone();
        mailbox.reply(self.req.id, result);
    }
}

struct Engine {
    cfg: ServeConfig,
    timeouts: Timeouts,
    status: Arc<GatewayStatus>,
    port: Option<AtPort<Box<dyn ModemPort>>>,
    /// A PIN the SIM rejected is never sent again (three wrong PINs lock the SIM).
    pin_rejected: bool,
    registered: bool,
    retry_at: Instant,
    next_refresh: Instant,
    /// Why the modem is not usable right now (the answer to a part that times out waiting).
    problem: String,
    state: String,
}

impl Engine {
    fn run(mut self, mailbox: Arc<Mailbox>) {
        let mut job: Option<Job> = None;
        loop {
            if job.is_none() && Arc::strong_count(&mailbox) == 1 {
                return; // the handle is gone
            }
            let now = Instant::now();
            if let Some(j) = job.take() {
                if now >= j.req.deadline {
                    let why = format!("modem not ready: {}", self.problem);
                    j.answer(Err(SendError::Transient(why)));
                } else {
                    job = Some(j);
                }
            }
            if self.port.is_none() && now >= self.retry_at {
                self.connect();
            }
            if self.port.is_some() {
                match job.take() {
                    Some(j) if now >= j.not_before => {
                        job = self.attempt(j);
                        continue;
                    }
                    other => job = other,
                }
                if now >= self.next_refresh {
                    self.refresh();
                }
            }
            let pause = if job.is_some() {
                Duration::from_millis(100)
            } else if self.port.is_none() {
                self.retry_at
                    .saturating_duration_since(now)
                    .clamp(Duration::from_millis(50), Duration::from_secs(1))
            } else {
                Duration::from_millis(500)
            };
            if job.is_none() {
                if let Some(req) = mailbox.take_request(pause) {
                    job = Some(Job {
                        req,
                        failures: 0,
                        not_before: Instant::now(),
                    });
                    continue;
                }
            } else if self.port.is_none() {
                std::thread::sleep(pause);
            }
            // Read what came meanwhile (URCs) and notice a vanished device.
            if let Some(at) = self.port.as_mut() {
                let r = at.drain(Duration::ZERO);
                self.after_io(r);
            }
        }
    }

    fn set_state(&mut self, state: &str) {
        if self.state != state {
            eprintln!("modem: {state}");
            self.state = state.to_string();
            let s = state.to_string();
            self.status.update_modem(|m| m.state = s);
        }
    }

    fn connect(&mut self) {
        let opened = if self.cfg.device == "sim" {
            open_port("sim", self.cfg.baud)
        } else {
            open_serial(&self.cfg.device, self.cfg.baud).map(|p| Box::new(p) as Box<dyn ModemPort>)
        };
        let port = match opened {
            Ok(p) => p,
            Err(e) => {
                self.problem = format!("waiting for device ({e})");
                self.set_state("waiting for device");
                self.retry_at = Instant::now() + DEVICE_POLL;
                return;
            }
        };
        self.set_state("initializing");
        let mut at = AtPort::new(port);
        let result = session::init(
            &mut at,
            &self.cfg,
            &self.timeouts,
            &mut self.pin_rejected,
            &self.status,
        );
        match result {
            Ok(registered) => {
                self.port = Some(at);
                self.registered = registered;
                self.handle_urcs();
                self.next_refresh = Instant::now() + self.refresh_interval();
                self.ready_state();
            }
            Err(InitError::Device(e)) => {
                self.problem = format!("device lost during init: {e}");
                self.set_state("waiting for device");
                self.retry_at = Instant::now() + DEVICE_POLL;
            }
            Err(InitError::Failed(e)) => {
                self.problem = e.clone();
                self.set_state(&format!("error: {e}"));
                self.retry_at = Instant::now() + INIT_RETRY;
            }
        }
    }

    fn ready_state(&mut self) {
        if self.registered {
            self.set_state("ready");
        } else {
            self.problem = "not registered to a network".into();
            self.set_state("waiting for network");
        }
    }

    fn refresh_interval(&self) -> Duration {
        if self.registered {
            REFRESH
        } else {
            REGISTRATION_POLL
        }
    }

    fn refresh(&mut self) {
        let Some(at) = self.port.as_mut() else {
            return;
        };
        let r = session::refresh(at, &self.timeouts, &self.status);
        self.after_init_step(r);
        self.next_refresh = Instant::now() + self.refresh_interval();
    }

    fn after_init_step(&mut self, r: Result<bool, InitError>) {
        match r {
            Ok(registered) => {
                self.registered = registered;
                self.handle_urcs();
                self.ready_state();
            }
            Err(InitError::Device(e)) => self.lost(&e),
            Err(InitError::Failed(e)) => {
                // The modem stopped answering sensibly: start over.
                self.problem = e.clone();
                self.port = None;
                self.retry_at = Instant::now();
                self.set_state(&format!("error: {e}"));
            }
        }
    }

    fn after_io(&mut self, r: Result<(), AtError>) {
        match r {
            Ok(()) => self.handle_urcs(),
            Err(AtError::Io(e)) => self.lost(&e),
            Err(_) => {}
        }
    }

    fn lost(&mut self, why: &str) {
        self.port = None;
        self.registered = false;
        self.problem = format!("device lost ({why})");
        self.status.update_modem(|m| {
            m.registration = Registration::Unknown;
            m.signal_dbm = None;
            m.signal_quality = "unknown";
        });
        self.set_state("waiting for device");
        self.retry_at = Instant::now() + DEVICE_POLL;
    }

    /// URCs are collected by the AT layer; the ones that matter for status are applied here.
    fn handle_urcs(&mut self) {
        let Some(at) = self.port.as_mut() else {
            return;
        };
        for urc in at.take_urcs() {
            if let Some(stat) = session::parse_creg(&urc, false) {
                let reg = Registration::from_stat(stat);
                self.registered = reg.is_registered();
                self.status.update_modem(|m| m.registration = reg);
            } else if let Some(rssi) = session::parse_rssi_urc(&urc) {
                session::set_signal(&self.status, rssi);
            }
        }
    }

    /// One try at sending the job's part; returns the job when it must be tried again.
    fn attempt(&mut self, mut job: Job) -> Option<Job> {
        if !self.registered {
            if let Some(at) = self.port.as_mut() {
                let r = session::check_registration(at, &self.timeouts, &self.status);
                self.after_init_step(r);
            }
            if !self.registered || self.port.is_none() {
                job.not_before = Instant::now() + REGISTRATION_POLL;
                return Some(job);
            }
        }
        let at = self.port.as_mut()?;
        self.status.update_modem(|m| m.state = "sending".into());
        let result = session::send(at, &job.req.part, &self.timeouts);
        self.handle_urcs();
        self.status.update_modem(|m| m.state = "ready".into());
        match result {
            Ok(mr) => {
                job.answer(Ok(mr));
                None
            }
            Err(AtError::Io(e)) => {
                // The device vanished mid-send: reconnect and send this part again.
                self.lost(&e);
                Some(job)
            }
            Err(AtError::Timeout(cmd)) => {
                // ESC was sent; re-initialise before the next command.
                self.port = None;
                self.retry_at = Instant::now();
                job.answer(Err(SendError::Transient(format!(
                    "no answer to {cmd} within {} s",
                    self.timeouts.cmgs.as_secs()
                ))));
                None
            }
            Err(AtError::Failed { result, .. }) => self.failed(job, result),
        }
    }

    fn failed(&mut self, mut job: Job, result: Final) -> Option<Job> {
        let msg = format!("modem answered {result}");
        if !session::is_transient(&result) {
            job.answer(Err(SendError::Permanent(msg)));
            return None;
        }
        if matches!(result, Final::CmsError(331 | 332)) {
            self.registered = false;
        }
        job.failures += 1;
        let retry_at = Instant::now() + Duration::from_secs(1);
        if job.failures < SEND_ATTEMPTS && retry_at < job.req.deadline {
            eprintln!("modem: AT+CMGS failed ({result}), trying again");
            job.not_before = retry_at;
            Some(job)
        } else {
            job.answer(Err(SendError::Transient(msg)));
            None
        }
    }
}

#[cfg(test)]
#[path = "../../tests/common/modem_sim.rs"]
mod modem_sim;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdu::{encode_submit, EncodeOptions};

    fn wait_state(status: &GatewayStatus, want: &str) -> bool {
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end {
            if status.modem().state == want {
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
        let mut modem = open(&cfg, status.clone());
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
        let mut modem = open(&cfg, status.clone());
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
        assert_eq!(m.state, "ready");
    }

    #[test]
    fn missing_device_is_a_transient_failure() {
        let cfg = ServeConfig {
            device: "/nonexistent/smsgw-test-tty".into(),
            registration_timeout: Duration::from_secs(1),
            ..ServeConfig::default()
        };
        let status = Arc::new(GatewayStatus::default());
        let mut modem = open(&cfg, status.clone());
        let part = SubmitPart {
            tpdu_len: 1,
            hex: "0000".into(),
        };
        match modem.send_part(&part) {
            Err(SendError::Transient(m)) => assert!(m.contains("not present"), "{m}"),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(status.modem().state, "waiting for device");
    }
}
