//! Modem: the sans-I/O engine (`engine.rs` with `init.rs`, `inbox.rs`, `ussd.rs`; parsers in
//! `session.rs`), the driver thread that owns the port and the clock (`driver.rs`), and the
//! built-in simulated modem (`sim.rs`, `sim_storage.rs`, `--device sim`).
//!
//! The backend boundary is this file: the spool sends through [`SmsSender`] (one PDU part at a
//! time, blocking), received messages leave as [`ReceivedSms`] through a [`MessageSink`], USSD goes
//! through [`driver::UssdClient`]. A backend that sends whole texts and lists/deletes messages by
//! index (HiLink) implements the same three. It must not touch the spool, HTTP or PDU internals.

mod bell;
pub mod driver;
pub mod engine;
pub mod inbox;
pub mod init;
pub mod session;
pub mod sim;
pub mod sim_storage;
mod tty;
pub use tty::speed as serial_speed;
pub mod ussd;

use crate::pdu::{Alphabet, Concat, SubmitPart, Timestamp};
use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::Instant;

/// Why a part was not sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// Worth retrying later: modem busy, timeout, transient `+CMS ERROR`s. Counts as an attempt.
    Transient(String),
    /// The modem could not try at all: not present, not set up, no network (a HiLink stick that
    /// cannot be reached or logged into). The message waits for the modem; no attempt counted.
    NotReady(String),
    /// Retrying will not help: invalid destination, barred, malformed PDU.
    Permanent(String),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Transient(m) | SendError::NotReady(m) => {
                write!(f, "temporary failure: {m}")
            }
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

/// One received SMS (or one part of a multipart one), decoded. A backend that reassembles by
/// itself (HiLink) hands out whole texts with `concat: None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedSms {
    /// The sender: `+` and digits for international numbers, digits, or an alphanumeric name.
    pub from: String,
    /// The sender's type-of-address octet (0x91 international, 0xD0 alphanumeric, ...).
    pub from_toa: u8,
    /// The service centre's number (empty when unknown).
    pub smsc: String,
    /// The service centre time stamp, with the sender network's zone.
    pub sent: Option<Timestamp>,
    pub alphabet: Alphabet,
    /// The text (8-bit data as hex).
    pub text: String,
    pub concat: Option<Concat>,
    pub flash: bool,
    /// Why the PDU could not be read (then `text` holds its hex).
    pub error: Option<String>,
}

/// A delivery report read from the modem (pushed `+CDS` or stored in "SR").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedReport {
    pub report: crate::pdu::StatusReportPdu,
    /// The service centre the report came from, when the PDU names it.
    pub smsc: Option<String>,
}

/// Where received messages go (the spool's incoming store). Called from the modem thread.
pub trait MessageSink: Send {
    /// Makes `sms` durable (a part waiting for its siblings counts); `Ok` only once it is on disk
    /// (or was already): the modem deletes the message after that. Storing the same message twice
    /// must not produce a second file (a crash between storing and deleting reads it again).
    fn store(&mut self, sms: &ReceivedSms, now: Instant) -> Result<(), String>;
    /// Time passed: multipart messages whose parts did not all arrive in time are written now.
    fn tick(&mut self, now: Instant);
    /// Makes a delivery report durable and matches it; `Ok` once it is on disk (the modem
    /// deletes it then). A sink that keeps no reports refuses them (they stay on the modem).
    fn report(&mut self, report: &ReceivedReport) -> Result<(), String> {
        let _ = report;
        Err("delivery reports are not kept".into())
    }
}

/// A byte stream to a modem (serial port or the simulated one). Only the three calls the driver
/// needs are in its vtable: a `dyn Read + Write` vtable would keep every provided `Read`/`Write`
/// method of both port types in the router binary (several KB).
pub trait ModemPort: Send {
    /// Reads what the modem said; `TimedOut`/`WouldBlock` when it said nothing.
    fn read_port(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    fn write_port(&mut self, buf: &[u8]) -> io::Result<usize>;
    fn flush_port(&mut self) -> io::Result<()>;
    /// The descriptor to `poll(2)` for input before reading; `None`: `read_port` does not block
    /// (the simulated modem's answers are there at once).
    fn input_fd(&self) -> Option<std::os::fd::RawFd>;
}

impl ModemPort for tty::Tty {
    fn read_port(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read(buf)
    }
    fn write_port(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write(buf)
    }
    fn flush_port(&mut self) -> io::Result<()> {
        self.flush()
    }
    fn input_fd(&self) -> Option<std::os::fd::RawFd> {
        Some(std::os::fd::AsRawFd::as_raw_fd(self))
    }
}

impl ModemPort for sim::SimModem {
    fn read_port(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_output(buf)
    }
    fn write_port(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write(buf)
    }
    fn flush_port(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn input_fd(&self) -> Option<std::os::fd::RawFd> {
        None
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

/// Opens the serial device at `path` (8N1, `baud`), with a short read timeout for the driver loop.
pub fn open_serial(path: &str, baud: u32) -> Result<tty::Tty, String> {
    if !Path::new(path).exists() {
        return Err(format!("{path} is not present"));
    }
    tty::Tty::open(path, baud).map_err(|e| format!("{path}: {e}"))
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
/// stick, see `crate::hilink`). Never fails: a missing device is waited for inside the modem
/// thread. `sink` receives messages on the AT backends (`None`: receiving is off); `pin_file`
/// remembers rejected PINs across restarts. The [`driver::UssdClient`] is there for the AT
/// backends (`None`: a HiLink stick, whose USSD this gateway does not speak).
pub fn open(
    cfg: &crate::config::ServeConfig,
    status: std::sync::Arc<crate::status::GatewayStatus>,
    sink: Option<Box<dyn MessageSink>>,
    pin_file: Option<std::path::PathBuf>,
) -> (Box<dyn SmsSender>, Option<driver::UssdClient>) {
    if crate::hilink::is_hilink(&cfg.device) {
        return (crate::hilink::open(cfg, status, sink), None);
    }
    let handle = driver::open(cfg, status, sink, pin_file);
    let ussd = handle.ussd_client();
    (Box::new(handle), Some(ussd))
}
