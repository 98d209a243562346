//! A scriptable Huawei E3372 on a real pseudo-terminal, modelled on the seed 000 transcript: echo on
//! at power-up, `^RSSI`/`^HCSQ`/`+CREG`/`^NWTIME` URCs at any time (also between a command and its
//! answer) until `AT^CURC=0`, PIN required / wrong PIN (a SIM with three tries), registration delay,
//! `+CMS ERROR` n times then OK, no answer to a PDU, unplug/replug (master closed, symlink removed,
//! then a new pty behind the same symlink), delivery reports after `store.report_delay` (see
//! `sim_storage.rs` for which numbers fail or never get one).
//!
//! Used by the integration tests (`#[path = "common/modem_sim.rs"] mod modem_sim;`) and by
//! `examples/modem_sim.rs` (the process other tests drive). It must not depend on smsgw internals:
//! it is the modem's side only, checked against what a real stick would say.
#![allow(dead_code)]

// The unit tests include this file too, next to the crate's own copy of the storage.
#[allow(clippy::duplicate_mod)]
#[path = "../../src/modem/sim_storage.rs"]
pub mod sim_storage;

use serialport::TTYPort;
use sim_storage::{SmsStore, StoreOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How the simulated stick behaves.
#[derive(Clone, Debug, Default)]
pub struct SimOptions {
    /// The SIM asks for this PIN at every power-up (three wrong tries lock it).
    pub pin: Option<String>,
    /// `(code, count)`: the first `count` PDUs are answered `+CMS ERROR: code`.
    pub cms_error: Option<(u16, u32)>,
    /// PDUs are swallowed without an answer (until ESC).
    pub no_answer: bool,
    /// Registration (home) this long after each power-up; searching before.
    pub register_after: Duration,
    /// URCs like a fresh E3372 (`^RSSI`, `^HCSQ`, `^NWTIME`) until `AT^CURC=0`.
    pub noise: bool,
    /// URCs that `AT^CURC=0` does not silence, injected even inside the `+CMGS` answer.
    pub loud: bool,
    /// Once: when the first PDU arrives, unplug without answering and replug after this.
    pub unplug_on_pdu: Option<Duration>,
    /// Message storage (ME from index 0, SM; `slots` 0 means 20).
    pub store: StoreOptions,
}

/// What the simulated stick saw.
#[derive(Clone, Debug, Default)]
pub struct SimLog {
    /// Every PDU received: (`AT+CMGS` length, hex).
    pub received: Vec<(usize, String)>,
    /// PDUs answered with `+CMGS: <mr>`.
    pub sent: Vec<(usize, String)>,
    pub sent_at: Vec<Instant>,
    /// `AT+CPIN=` commands received.
    pub pin_attempts: u32,
    /// ESCs that aborted a prompt or an unanswered PDU.
    pub esc_aborts: u32,
    /// Every command line received.
    pub commands: Vec<String>,
    /// Power-ups (1 + replugs).
    pub plugs: u32,
    pub replugged_at: Option<Instant>,
    /// Current pty slave path.
    pub slave: String,
}

/// Called for every PDU received: (`AT+CMGS` length, hex).
pub type PduHook = Box<dyn FnMut(usize, &str) + Send>;

struct Shared {
    log: Mutex<SimLog>,
    stop: AtomicBool,
    unplug: Mutex<Option<Duration>>,
    /// The stick's storage (flash and SIM: survives a replug).
    store: Mutex<SmsStore>,
    /// URCs waiting to be said (from `inject`).
    urcs: Mutex<Vec<String>>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Shared {
    fn log(&self) -> MutexGuard<'_, SimLog> {
        match self.log.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

/// A running simulated stick; dropping it unplugs it for good.
pub struct ModemSim {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    link: PathBuf,
}

/// A new pty: (master, slave kept open so the master never sees EIO between users, slave path).
/// Both ends are close-on-exec: a leaked master copy in a child process would keep the "stick"
/// plugged in after an unplug.
fn open_pty() -> std::io::Result<(TTYPort, std::fs::File, String)> {
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::os::unix::fs::OpenOptionsExt;
    let last = std::io::Error::last_os_error;
    // SAFETY: plain libc calls on a descriptor this function owns; the TTYPort takes it over.
    let (master, name) = unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        if m < 0 {
            return Err(last());
        }
        let master = TTYPort::from_raw_fd(m);
        if libc::grantpt(m) != 0 || libc::unlockpt(m) != 0 {
            return Err(last());
        }
        let mut buf = [0 as libc::c_char; 128];
        if libc::ptsname_r(m, buf.as_mut_ptr(), buf.len()) != 0 {
            return Err(last());
        }
        let name = std::ffi::CStr::from_ptr(buf.as_ptr())
            .to_string_lossy()
            .into_owned();
        (master, name)
    };
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(&name)?;
    // SAFETY: termios of a descriptor we own; a zeroed termios is a valid out-parameter.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(slave.as_raw_fd(), &mut t) == 0 {
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t);
        }
    }
    Ok((master, slave, name))
}

/// New pty; `link` becomes a symlink to its slave (replaced atomically).
fn plug(link: &Path) -> std::io::Result<(TTYPort, std::fs::File, String)> {
    let (master, slave, name) = open_pty()?;
    let tmp = link.with_extension("sim-tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&name, &tmp)?;
    std::fs::rename(&tmp, link)?;
    Ok((master, slave, name))
}

impl ModemSim {
    /// Plugs the stick in: `link` points at the pty slave when this returns.
    pub fn start(
        link: &Path,
        opts: SimOptions,
        hook: Option<PduHook>,
    ) -> std::io::Result<ModemSim> {
        let (master, slave, name) = plug(link)?;
        let mut store_opts = opts.store.clone();
        if store_opts.slots == 0 {
            store_opts.slots = 20;
        }
        let shared = Arc::new(Shared {
            store: Mutex::new(SmsStore::new(store_opts)),
            urcs: Mutex::new(Vec::new()),
            log: Mutex::new(SimLog {
                plugs: 1,
                slave: name,
                ..SimLog::default()
            }),
            stop: AtomicBool::new(false),
            unplug: Mutex::new(None),
        });
        let (s, l) = (shared.clone(), link.to_path_buf());
        let thread = std::thread::Builder::new()
            .name("modem-sim".into())
            .spawn(move || run(s, l, opts, hook, master, slave))?;
        Ok(ModemSim {
            shared,
            thread: Some(thread),
            link: link.to_path_buf(),
        })
    }

    pub fn slave(&self) -> String {
        self.shared.log().slave.clone()
    }

    pub fn log(&self) -> SimLog {
        self.shared.log().clone()
    }

    /// An SMS-DELIVER (hex, SMSC field first) arrives from the network (`+CMTI` when asked for).
    pub fn inject(&self, pdu: &str) {
        let urcs = locked(&self.shared.store).deliver(pdu);
        locked(&self.shared.urcs).extend(urcs);
    }

    /// Messages on the stick now.
    pub fn stored(&self) -> usize {
        locked(&self.shared.store).stored()
    }

    /// Unplugs now (master closed, symlink removed) and replugs after `replug_after`.
    pub fn unplug(&self, replug_after: Duration) {
        if let Ok(mut u) = self.shared.unplug.lock() {
            *u = Some(replug_after);
        }
    }

    /// Waits until `pred` holds on the log (true) or `timeout` passes (false).
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&SimLog) -> bool) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if pred(&self.shared.log()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        pred(&self.shared.log())
    }
}

impl Drop for ModemSim {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.link);
    }
}

/// State that survives a replug (the SIM, the counters).
struct Persistent {
    pin_left: u32,
    cms_left: u32,
    unplug_once: Option<Duration>,
    mr: u8,
}

fn run(
    shared: Arc<Shared>,
    link: PathBuf,
    opts: SimOptions,
    mut hook: Option<PduHook>,
    master: TTYPort,
    slave: std::fs::File,
) {
    let mut keep = Persistent {
        pin_left: 3,
        cms_left: opts.cms_error.map_or(0, |c| c.1),
        unplug_once: opts.unplug_on_pdu,
        mr: 0,
    };
    let mut current = Some((master, slave));
    while let Some((mut master, slave)) = current.take() {
        let replug = serve(&shared, &opts, &mut keep, &mut hook, &mut master);
        drop(master);
        drop(slave);
        let _ = std::fs::remove_file(&link);
        let Some(after) = replug else { return };
        let end = Instant::now() + after;
        while Instant::now() < end {
            if shared.stop.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        match plug(&link) {
            Ok((m, s, name)) => {
                let mut log = shared.log();
                log.plugs += 1;
                log.slave = name;
                log.replugged_at = Some(Instant::now());
                current = Some((m, s));
            }
            Err(e) => eprintln!("modem_sim: replug failed: {e}"),
        }
    }
}

/// One power-up of the stick.
struct Stick<'a> {
    opts: &'a SimOptions,
    shared: &'a Shared,
    keep: &'a mut Persistent,
    powered: Instant,
    echo: bool,
    curc: bool,
    creg_n: u8,
    pin_ok: bool,
    input: Vec<u8>,
    pdu_len: Option<usize>,
    stuck: bool,
    out: Vec<u8>,
    unplug: Option<Duration>,
}

enum Reply {
    Lines(Vec<String>),
    Error(String),
    Prompt(usize),
}

fn serve(
    shared: &Shared,
    opts: &SimOptions,
    keep: &mut Persistent,
    hook: &mut Option<PduHook>,
    master: &mut TTYPort,
) -> Option<Duration> {
    let mut stick = Stick {
        opts,
        shared,
        keep,
        powered: Instant::now(),
        echo: true,
        curc: true,
        creg_n: 0,
        pin_ok: opts.pin.is_none(),
        input: Vec::new(),
        pdu_len: None,
        stuck: false,
        out: Vec::new(),
        unplug: None,
    };
    locked(&shared.store).power_up();
    let mut last_noise = Instant::now();
    let mut last_retry = Instant::now();
    let mut was_registered = stick.registered();
    let mut buf = [0u8; 512];
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return None;
        }
        if let Some(d) = shared.unplug.lock().ok().and_then(|mut u| u.take()) {
            return Some(d);
        }
        match master.read(&mut buf) {
            Ok(n) => {
                for &b in buf.get(..n).unwrap_or(&[]) {
                    stick.byte(b, hook);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
        if let Some(d) = stick.unplug.take() {
            return Some(d);
        }
        let registered = stick.registered();
        if registered != was_registered && stick.creg_n > 0 {
            let stat = if registered { 1 } else { 2 };
            stick.say(&format!("+CREG: {stat},\"792D\",\"04947221\""));
        }
        was_registered = registered;
        if (opts.noise && stick.curc || opts.loud)
            && last_noise.elapsed() > Duration::from_millis(300)
        {
            last_noise = Instant::now();
            stick.say("^RSSI:20");
            stick.say("^HCSQ:\"LTE\",48,35,86,14");
        }
        let urcs = std::mem::take(&mut *locked(&shared.urcs));
        for u in urcs {
            stick.say(&u);
        }
        let reports = locked(&shared.store).due_reports(Instant::now());
        for u in reports {
            stick.say(&u);
        }
        if last_retry.elapsed() > Duration::from_secs(1) {
            last_retry = Instant::now();
            let urcs = locked(&shared.store).retry();
            for u in urcs {
                stick.say(&u);
            }
        }
        if !stick.out.is_empty() {
            let out = std::mem::take(&mut stick.out);
            if master.write_all(&out).is_err() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

impl Stick<'_> {
    fn registered(&self) -> bool {
        self.pin_ok && self.powered.elapsed() >= self.opts.register_after
    }

    fn say(&mut self, line: &str) {
        self.out.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(line.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    fn noisy(&self) -> bool {
        self.opts.noise && self.curc || self.opts.loud
    }

    fn byte(&mut self, b: u8, hook: &mut Option<PduHook>) {
        if let Some(len) = self.pdu_len {
            match b {
                0x1A => {
                    self.pdu_len = None;
                    let hex =
                        String::from_utf8_lossy(&std::mem::take(&mut self.input)).into_owned();
                    self.pdu(len, hex.trim(), hook);
                }
                0x1B => {
                    self.pdu_len = None;
                    self.input.clear();
                    self.shared.log().esc_aborts += 1;
                }
                _ => {
                    if self.echo {
                        self.out.push(b);
                    }
                    if self.input.len() < 4096 {
                        self.input.push(b);
                    }
                }
            }
            return;
        }
        match b {
            b'\r' => {
                let line = String::from_utf8_lossy(&std::mem::take(&mut self.input)).into_owned();
                self.command(line.trim());
            }
            b'\n' => {}
            0x1B if self.stuck => {
                self.stuck = false;
                self.shared.log().esc_aborts += 1;
            }
            0x1B => {}
            _ if self.input.len() < 4096 => self.input.push(b),
            _ => {}
        }
    }

    fn command(&mut self, line: &str) {
        if line.is_empty() {
            return;
        }
        if self.echo {
            self.out.extend_from_slice(line.as_bytes());
            self.out.push(b'\r');
        }
        self.shared.log().commands.push(line.to_string());
        if self.noisy() {
            // Between the echo and the answer, as the seed's stick does.
            self.say("^RSSI:21");
        }
        let upper = line.to_ascii_uppercase();
        let Some(body) = upper.strip_prefix("AT") else {
            self.say("ERROR");
            return;
        };
        let mut lines = Vec::new();
        for (i, sub) in body.split(';').enumerate() {
            let sub = if i > 0 && !sub.starts_with(['+', '^']) && !sub.is_empty() {
                format!("+{sub}")
            } else {
                sub.to_string()
            };
            // PIN values are case-sensitive digits; take them from the original line.
            let raw = line.get(2..).unwrap_or("");
            match self.sub(&sub, raw) {
                Reply::Lines(l) => lines.extend(l),
                Reply::Error(e) => {
                    self.say(&e);
                    return;
                }
                Reply::Prompt(len) => {
                    self.pdu_len = Some(len);
                    self.out.extend_from_slice(b"\r\n> ");
                    return;
                }
            }
        }
        for l in lines {
            self.say(&l);
        }
        self.say("OK");
        let reply = locked(&self.shared.store).take_ussd_reply();
        if let Some(reply) = reply {
            self.say(&reply);
        }
    }

    fn sub(&mut self, cmd: &str, raw: &str) -> Reply {
        let ok = |l: &[&str]| Reply::Lines(l.iter().map(|s| s.to_string()).collect());
        let need_sim = Reply::Error("+CME ERROR: 11".into());
        match cmd {
            "" | "Z" | "&F" => ok(&[]),
            "E0" => {
                self.echo = false;
                ok(&[])
            }
            "E1" => {
                self.echo = true;
                ok(&[])
            }
            "I" => ok(&[
                "Manufacturer: huawei",
                "Model: E3372",
                "Revision: 22.329.63.00.74",
                "IMEI: 866785033700732",
                "+GCAP: +CGSM,+DS,+ES",
            ]),
            "+CGMI" => ok(&["huawei"]),
            "+CGMM" => ok(&["E3372"]),
            "+CGSN" => ok(&["866785033700732"]),
            "+CIMI" if self.pin_ok => ok(&["520050314388175"]),
            "+CSQ" => ok(&["+CSQ: 22,99"]),
            "^CURC=0" => {
                self.curc = false;
                ok(&[])
            }
            "+CPIN?" => {
                if self.pin_ok {
                    ok(&["+CPIN: READY"])
                } else if self.keep.pin_left == 0 {
                    ok(&["+CPIN: SIM PUK"])
                } else {
                    ok(&["+CPIN: SIM PIN"])
                }
            }
            c if c.starts_with("+CPIN=") => {
                self.shared.log().pin_attempts += 1;
                let given = raw
                    .split_once('=')
                    .map_or("", |(_, v)| v)
                    .trim()
                    .trim_matches('"')
                    .to_string();
                if self.pin_ok {
                    Reply::Error("+CME ERROR: 3".into())
                } else if self.keep.pin_left == 0 {
                    Reply::Error("+CME ERROR: 12".into())
                } else if self.opts.pin.as_deref() == Some(given.as_str()) {
                    self.pin_ok = true;
                    self.keep.pin_left = 3;
                    ok(&[])
                } else {
                    self.keep.pin_left -= 1;
                    Reply::Error("+CME ERROR: 16".into())
                }
            }
            c if c.starts_with("+CMEE=") || c.starts_with("+CSCA=") || c == "+CMGF=0" => {
                if !self.pin_ok && !c.starts_with("+CMEE") {
                    need_sim
                } else {
                    ok(&[])
                }
            }
            c if c.starts_with("+CREG=") => {
                self.creg_n = c.get(6..).and_then(|n| n.parse().ok()).unwrap_or(0);
                ok(&[])
            }
            "+CREG?" => {
                let stat = if self.registered() { 1 } else { 2 };
                let line = if self.creg_n == 2 {
                    format!("+CREG: 2,{stat},\"792D\",\"04947221\"")
                } else {
                    format!("+CREG: {},{stat}", self.creg_n)
                };
                Reply::Lines(vec![line])
            }
            "+COPS?" => {
                if self.registered() {
                    ok(&["+COPS: 0,0,\"dtac\",7"])
                } else {
                    ok(&["+COPS: 0"])
                }
            }
            c if c.starts_with("+CMGS=") => {
                if !self.pin_ok {
                    return need_sim;
                }
                if !self.registered() {
                    return Reply::Error("+CMS ERROR: 331".into());
                }
                match c.get(6..).and_then(|n| n.trim().parse::<usize>().ok()) {
                    Some(n) if (7..=176).contains(&n) => Reply::Prompt(n),
                    _ => Reply::Error("+CMS ERROR: 304".into()),
                }
            }
            c => {
                let answer = locked(&self.shared.store).command(c);
                match answer {
                    Some(Ok(lines)) => Reply::Lines(lines),
                    Some(Err(e)) => Reply::Error(e),
                    None => Reply::Error("COMMAND NOT SUPPORT".into()),
                }
            }
        }
    }

    fn pdu(&mut self, len: usize, hex: &str, hook: &mut Option<PduHook>) {
        self.shared.log().received.push((len, hex.to_string()));
        if let Some(h) = hook.as_mut() {
            h(len, hex);
        }
        if !pdu_length_matches(len, hex) {
            self.say("+CMS ERROR: 304");
            return;
        }
        if let Some(after) = self.keep.unplug_once.take() {
            self.unplug = Some(after);
            return;
        }
        if self.opts.no_answer {
            self.stuck = true;
            return;
        }
        if self.keep.cms_left > 0 {
            self.keep.cms_left -= 1;
            let code = self.opts.cms_error.map_or(500, |c| c.0);
            self.say(&format!("+CMS ERROR: {code}"));
            return;
        }
        self.keep.mr = self.keep.mr.wrapping_add(1);
        let mr = self.keep.mr;
        {
            let mut log = self.shared.log();
            log.sent.push((len, hex.to_string()));
            log.sent_at.push(Instant::now());
        }
        self.say(&format!("+CMGS: {mr}"));
        locked(&self.shared.store).submitted(hex, mr, Instant::now());
        if self.noisy() {
            self.say("^NWTIME:18/12/13,06:20:04+28,00");
        }
        if self.opts.loud {
            self.say("+CREG: 5,\"792D\",\"04947221\"");
        }
        self.say("OK");
    }
}

/// The `AT+CMGS` length must be the PDU's octets after the SMSC field, as on a real modem.
pub fn pdu_length_matches(len: usize, hex: &str) -> bool {
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let Some(smsc) = hex.get(..2).and_then(|h| usize::from_str_radix(h, 16).ok()) else {
        return false;
    };
    hex.len() / 2 == 1 + smsc + len
}
