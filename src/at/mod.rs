//! AT line protocol over any `Read + Write` (3GPP TS 27.007 / 27.005 framing).
//!
//! Owns byte framing (`\r\n` lines, the `> ` prompt that has no line end, echo), the split of
//! unsolicited result codes from command responses (done first, before anything interprets a line),
//! final result codes (`OK`, `ERROR`, `+CME ERROR`, `+CMS ERROR`) and per-command timeouts (with ESC
//! to abort a pending `AT+CMGS`). It must not know modem policy (PINs, registration, retries) nor
//! open devices: the caller hands it a stream. [`Digester`] is pure (bytes in, classified lines
//! out); [`AtPort`] is the thin I/O loop around it.

use std::fmt;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

/// Longest line kept; the rest of a longer line is dropped (garbage protection).
const MAX_LINE: usize = 600;
/// URCs kept until someone takes them; older ones are dropped first.
const MAX_URCS: usize = 64;
/// Info lines kept per command.
const MAX_RESPONSE_LINES: usize = 64;
/// Ctrl-Z ends a PDU; ESC aborts it.
pub const CTRL_Z: u8 = 0x1A;
pub const ESC: u8 = 0x1B;

/// The final result code that ends a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Final {
    Ok,
    Error,
    /// `+CME ERROR: <n>` (numeric with `AT+CMEE=1`).
    CmeError(u16),
    /// `+CMS ERROR: <n>`.
    CmsError(u16),
    /// Any other failure word (`NO CARRIER`, `COMMAND NOT SUPPORT`, verbose `+CME ERROR: text`).
    Other(String),
}

impl fmt::Display for Final {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Final::Ok => f.write_str("OK"),
            Final::Error => f.write_str("ERROR"),
            Final::CmeError(n) => write!(f, "+CME ERROR: {n}"),
            Final::CmsError(n) => write!(f, "+CMS ERROR: {n}"),
            Final::Other(s) => f.write_str(s),
        }
    }
}

/// Parses a line as a final result code.
pub fn parse_final(line: &str) -> Option<Final> {
    let coded = |rest: &str, make: fn(u16) -> Final| match rest.trim().parse::<u16>() {
        Ok(n) => make(n),
        Err(_) => Final::Other(line.to_string()),
    };
    if line == "OK" {
        Some(Final::Ok)
    } else if line == "ERROR" {
        Some(Final::Error)
    } else if let Some(rest) = line.strip_prefix("+CME ERROR:") {
        Some(coded(rest, Final::CmeError))
    } else if let Some(rest) = line.strip_prefix("+CMS ERROR:") {
        Some(coded(rest, Final::CmsError))
    } else if matches!(
        line,
        "NO CARRIER" | "BUSY" | "NO ANSWER" | "NO DIALTONE" | "COMMAND NOT SUPPORT"
    ) || line.starts_with("TOO MANY PARAMETERS")
    {
        Some(Final::Other(line.to_string()))
    } else {
        None
    }
}

/// URC prefixes: always unsolicited unless the pending command asked for that very prefix.
const URC_PREFIXES: &[&str] = &[
    "+CREG:", "+CGREG:", "+CEREG:", "+CMTI:", "+CMT:", "+CDS:", "+CDSI:", "+CBM:", "+CUSD:",
    "+CRING:", "+CLIP:", "+CSSU:", "+CSSI:", "+CGEV:", "+CIEV:", "+PACSP", "+STIN:", "RING",
];
/// URCs whose next line (the PDU) belongs to them.
const TWO_LINE_URCS: &[&str] = &["+CMT:", "+CDS:", "+CBM:"];

fn urc_prefix(line: &str) -> Option<&str> {
    if line.starts_with('^') {
        return Some(line.split(':').next().unwrap_or(line));
    }
    URC_PREFIXES
        .iter()
        .find(|p| line.starts_with(*p))
        .map(|p| p.trim_end_matches(':'))
}

/// The command the digester is waiting on.
#[derive(Clone, Debug, Default)]
struct Pending {
    /// Info prefix the command answers with (`+CREG` for `AT+CREG?`), upper case.
    prefix: String,
    /// `> ` expected (AT+CMGS before the PDU).
    prompt: bool,
    /// The PDU text written after the prompt: its echo is dropped.
    pdu_echo: Option<String>,
}

/// What ended a pending command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Final(Final),
    /// The `> ` prompt for the PDU.
    Prompt,
}

/// Pure AT digester: feed raw bytes, get URCs, response lines and outcomes. Never panics and
/// never grows without bound, whatever the bytes.
#[derive(Debug, Default)]
pub struct Digester {
    line: Vec<u8>,
    overflow: bool,
    pending: Option<Pending>,
    /// A two-line URC waiting for its second line.
    urc_head: Option<String>,
    /// Oldest first; a `Vec` (at most `MAX_URCS`, so dropping the oldest is cheap): a
    /// `VecDeque<String>` drained into a `Vec` cost over 1 KB in the router binary.
    urcs: Vec<String>,
    lines: Vec<String>,
    outcome: Option<Outcome>,
    /// Bytes that arrived after the prompt, before the caller wrote the PDU.
    backlog: Vec<u8>,
    /// Set at the prompt: bytes go to the backlog until `begin_pdu`/`begin`/`abandon`.
    paused: bool,
}

/// Info prefix that a command line answers with: `AT+CREG?` -> `+CREG`, `AT^CURC=0` -> `^CURC`.
fn command_prefix(cmd: &str) -> String {
    let body = cmd.trim();
    let body = body
        .get(..2)
        .filter(|p| p.eq_ignore_ascii_case("AT"))
        .map_or(body, |_| body.get(2..).unwrap_or(""));
    body.chars()
        .take_while(|c| !matches!(c, '=' | '?' | ';'))
        .collect::<String>()
        .to_ascii_uppercase()
}

impl Digester {
    pub fn new() -> Digester {
        Digester::default()
    }

    /// Starts waiting for the answer to `cmd` (the command line as written, without `\r`).
    pub fn begin(&mut self, cmd: &str, prompt: bool) {
        self.pending = Some(Pending {
            prefix: command_prefix(cmd),
            prompt,
            pdu_echo: None,
        });
        self.lines.clear();
        self.outcome = None;
        self.replay();
    }

    fn replay(&mut self) {
        self.paused = false;
        let backlog = std::mem::take(&mut self.backlog);
        self.feed(&backlog);
    }

    /// After the prompt: the PDU was written, now wait for its final result.
    pub fn begin_pdu(&mut self, hex: &str) {
        let prefix = "+CMGS".to_string();
        self.pending = Some(Pending {
            prefix,
            prompt: false,
            pdu_echo: Some(hex.to_ascii_uppercase()),
        });
        self.outcome = None;
        self.replay();
    }

    /// Gives up on the pending command (timeout): late answers become stray lines.
    pub fn abandon(&mut self) {
        self.pending = None;
        self.outcome = None;
        self.replay();
    }

    /// The outcome of the pending command, once it has arrived.
    pub fn take_outcome(&mut self) -> Option<Outcome> {
        self.outcome.take()
    }

    /// Info lines received for the last command.
    pub fn take_lines(&mut self) -> Vec<String> {
        std::mem::take(&mut self.lines)
    }

    /// URCs collected so far (oldest first).
    pub fn take_urcs(&mut self) -> Vec<String> {
        std::mem::take(&mut self.urcs)
    }

    /// Feeds raw bytes from the modem.
    /// Bytes after a prompt wait (up to a bound) until the caller says what comes next.
    pub fn feed(&mut self, bytes: &[u8]) {
        for (i, &b) in bytes.iter().enumerate() {
            if self.paused {
                let rest = bytes.get(i..).unwrap_or(&[]);
                let room = (4 * MAX_LINE).saturating_sub(self.backlog.len());
                self.backlog
                    .extend_from_slice(rest.get(..room.min(rest.len())).unwrap_or(&[]));
                return;
            }
            self.feed_byte(b);
        }
    }

    fn feed_byte(&mut self, b: u8) {
        match b {
            b'\r' | b'\n' => self.end_line(),
            0x20..=0x7E => {
                if self.line.len() < MAX_LINE {
                    self.line.push(b);
                } else {
                    self.overflow = true;
                }
                self.check_prompt();
            }
            // Control characters, NUL, 8-bit garbage: dropped.
            _ => {}
        }
    }

    fn check_prompt(&mut self) {
        let waiting = matches!(&self.pending, Some(p) if p.prompt) && self.outcome.is_none();
        if waiting && (self.line == b"> " || self.line == b">") {
            self.line.clear();
            if let Some(p) = self.pending.as_mut() {
                p.prompt = false;
            }
            self.outcome = Some(Outcome::Prompt);
            self.paused = true;
        }
    }

    fn end_line(&mut self) {
        let raw = std::mem::take(&mut self.line);
        self.overflow = false;
        let text = String::from_utf8_lossy(&raw);
        let line = text.trim();
        if !line.is_empty() {
            self.classify(line.to_string());
        }
    }

    fn push_urc(&mut self, urc: String) {
        if self.urcs.len() >= MAX_URCS {
            self.urcs.remove(0);
        }
        self.urcs.push(urc);
    }

    fn classify(&mut self, line: String) {
        if let Some(head) = self.urc_head.take() {
            self.push_urc(format!("{head}\n{line}"));
            return;
        }
        let active = self.outcome.is_none();
        let pending = self.pending.as_ref().filter(|_| active);
        if let Some(p) = pending {
            let upper = line.to_ascii_uppercase();
            // Echo of the command line (echo on) or of the PDU.
            if upper.starts_with("AT") || p.pdu_echo.as_deref() == Some(upper.as_str()) {
                return;
            }
        }
        if let Some(fin) = parse_final(&line) {
            if pending.is_some() {
                self.pending = None;
                self.outcome = Some(Outcome::Final(fin));
            }
            // A final with nothing pending (late answer after a timeout) is dropped.
            return;
        }
        let claimed = match (urc_prefix(&line), pending) {
            (Some(prefix), Some(p)) => prefix.eq_ignore_ascii_case(&p.prefix),
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (None, None) => false,
        };
        if claimed {
            if self.lines.len() < MAX_RESPONSE_LINES {
                self.lines.push(line);
            }
        } else if TWO_LINE_URCS.iter().any(|p| line.starts_with(p)) {
            self.urc_head = Some(line);
        } else {
            self.push_urc(line);
        }
    }
}

/// Why a command did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AtError {
    /// The stream failed or closed: the device is gone (EIO, ENXIO, hang-up).
    Io(String),
    /// No final result within the command's timeout (for `AT+CMGS` an ESC was sent).
    Timeout(String),
    /// The modem answered with an error result code.
    Failed { command: String, result: Final },
}

impl fmt::Display for AtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AtError::Io(e) => write!(f, "modem I/O error: {e}"),
            AtError::Timeout(c) => write!(f, "no answer to {c}"),
            AtError::Failed { command, result } => write!(f, "{command}: {result}"),
        }
    }
}

impl std::error::Error for AtError {}

/// `now + t`, saturating instead of panicking on absurd timeouts.
pub fn deadline_after(t: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(t)
        .or_else(|| now.checked_add(Duration::from_secs(86_400 * 365)))
        .unwrap_or(now)
}

fn io_error(e: &io::Error) -> AtError {
    AtError::Io(e.to_string())
}

/// Runs AT commands over a stream whose reads return (or fail with `TimedOut`/`WouldBlock`)
/// after a short while; URCs seen on the way are collected for [`AtPort::take_urcs`].
pub struct AtPort<S> {
    io: S,
    dig: Digester,
}

impl<S: Read + Write> AtPort<S> {
    pub fn new(io: S) -> AtPort<S> {
        AtPort {
            io,
            dig: Digester::new(),
        }
    }

    #[cfg(test)] // used by the tests only
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// URCs collected so far (oldest first).
    pub fn take_urcs(&mut self) -> Vec<String> {
        self.dig.take_urcs()
    }

    /// Writes raw bytes (e.g. a lone ESC).
    pub fn write_raw(&mut self, bytes: &[u8]) -> Result<(), AtError> {
        self.io.write_all(bytes).map_err(|e| io_error(&e))
    }

    /// Runs one command (`AT...`, without `\r`); returns its info lines on `OK`.
    pub fn command(&mut self, cmd: &str, timeout: Duration) -> Result<Vec<String>, AtError> {
        self.dig.begin(cmd, false);
        let mut line = Vec::with_capacity(cmd.len() + 1);
        line.extend_from_slice(cmd.as_bytes());
        line.push(b'\r');
        self.write_raw(&line)?;
        match self.wait(deadline_after(timeout)) {
            Ok(Outcome::Final(Final::Ok)) => Ok(self.dig.take_lines()),
            Ok(Outcome::Final(result)) => Err(AtError::Failed {
                command: cmd.to_string(),
                result,
            }),
            Ok(Outcome::Prompt) => {
                // Not expected here; leave the modem in command mode.
                let _ = self.write_raw(&[ESC]);
                Err(AtError::Timeout(cmd.to_string()))
            }
            Err(AtError::Timeout(_)) => {
                self.dig.abandon();
                Err(AtError::Timeout(cmd.to_string()))
            }
            Err(e) => Err(e),
        }
    }

    /// `AT+CMGS=<tpdu_len>`, `> `, hex PDU + Ctrl-Z, then the final result. Returns the info lines
    /// (`+CMGS: <mr>`). On a timeout ESC is written so the modem leaves the PDU prompt.
    pub fn send_pdu(
        &mut self,
        tpdu_len: usize,
        hex: &str,
        prompt_timeout: Duration,
        result_timeout: Duration,
    ) -> Result<Vec<String>, AtError> {
        let cmd = format!("AT+CMGS={tpdu_len}");
        self.dig.begin(&cmd, true);
        self.write_raw(format!("{cmd}\r").as_bytes())?;
        match self.wait(deadline_after(prompt_timeout)) {
            Ok(Outcome::Prompt) => {}
            Ok(Outcome::Final(result)) => {
                return Err(AtError::Failed {
                    command: cmd,
                    result,
                })
            }
            Err(AtError::Timeout(_)) => return Err(self.abort(&cmd)),
            Err(e) => return Err(e),
        }
        self.dig.begin_pdu(hex);
        let mut body = Vec::with_capacity(hex.len() + 1);
        body.extend_from_slice(hex.as_bytes());
        body.push(CTRL_Z);
        self.write_raw(&body)?;
        match self.wait(deadline_after(result_timeout)) {
            Ok(Outcome::Final(Final::Ok)) => Ok(self.dig.take_lines()),
            Ok(Outcome::Final(result)) => Err(AtError::Failed {
                command: cmd,
                result,
            }),
            Ok(Outcome::Prompt) => Err(self.abort(&cmd)),
            Err(AtError::Timeout(_)) => Err(self.abort(&cmd)),
            Err(e) => Err(e),
        }
    }

    fn abort(&mut self, cmd: &str) -> AtError {
        self.dig.abandon();
        match self.write_raw(&[ESC]) {
            Ok(()) => AtError::Timeout(cmd.to_string()),
            Err(e) => e,
        }
    }

    /// Reads whatever arrives within `wait` (URCs, late answers); detects a vanished device.
    pub fn drain(&mut self, wait: Duration) -> Result<(), AtError> {
        let deadline = deadline_after(wait);
        loop {
            if !self.read_some()? || Instant::now() >= deadline {
                return Ok(());
            }
        }
    }

    /// One read; `Ok(false)` when nothing arrived in the stream's own timeout.
    fn read_some(&mut self) -> Result<bool, AtError> {
        let mut buf = [0u8; 256];
        match self.io.read(&mut buf) {
            Ok(0) => Err(AtError::Io("device closed".into())),
            Ok(n) => {
                self.dig.feed(buf.get(..n).unwrap_or(&[]));
                Ok(true)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(io_error(&e)),
        }
    }

    fn wait(&mut self, deadline: Instant) -> Result<Outcome, AtError> {
        loop {
            if let Some(o) = self.dig.take_outcome() {
                return Ok(o);
            }
            if Instant::now() >= deadline {
                return Err(AtError::Timeout(String::new()));
            }
            self.read_some()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// Feeds a transcript; returns (urcs, info lines, outcome).
    fn digest(
        chunks: &[&[u8]],
        cmd: &str,
        prompt: bool,
    ) -> (Vec<String>, Vec<String>, Option<Outcome>) {
        let mut d = Digester::new();
        d.begin(cmd, prompt);
        for c in chunks {
            d.feed(c);
        }
        let o = d.take_outcome();
        (d.take_urcs(), d.take_lines(), o)
    }

    const SEED_CREG: &[u8] = b"\r\n^RSSI:20\r\nAT+CREG?\r\r\n^HCSQ:\"LTE\",48,35,86,14\r\n\r\n+CREG: 2,5,\"792D\",\"04947221\"\r\n\r\n^NWTIME:18/12/13,06:20:04+28,00\r\n\r\nOK\r\n\r\n+CREG: 5,\"007C\",\"00B19502\"\r\n";

    #[test]
    fn urcs_before_inside_and_after_a_response_are_separated() {
        let (urcs, lines, o) = digest(&[SEED_CREG], "AT+CREG?", false);
        assert_eq!(o, Some(Outcome::Final(Final::Ok)));
        assert_eq!(lines, vec!["+CREG: 2,5,\"792D\",\"04947221\""]);
        assert_eq!(
            urcs,
            vec![
                "^RSSI:20",
                "^HCSQ:\"LTE\",48,35,86,14",
                "^NWTIME:18/12/13,06:20:04+28,00",
                "+CREG: 5,\"007C\",\"00B19502\""
            ]
        );
    }

    #[test]
    fn every_split_point_gives_the_same_result() {
        let whole = digest(&[SEED_CREG], "AT+CREG?", false);
        for k in 0..=SEED_CREG.len() {
            let (a, b) = SEED_CREG.split_at(k);
            assert_eq!(digest(&[a, b], "AT+CREG?", false), whole, "split at {k}");
        }
        let bytes: Vec<&[u8]> = SEED_CREG.chunks(1).collect();
        assert_eq!(digest(&bytes, "AT+CREG?", false), whole);
    }

    #[test]
    fn echo_is_dropped_and_bare_info_lines_are_kept() {
        let (urcs, lines, o) = digest(
            &[b"AT+CGSN\r\r\n866785033700732\r\n\r\nOK\r\n"],
            "AT+CGSN",
            false,
        );
        assert!(urcs.is_empty());
        assert_eq!(lines, vec!["866785033700732"]);
        assert_eq!(o, Some(Outcome::Final(Final::Ok)));
    }

    #[test]
    fn prompt_without_newline_then_pdu_echo_and_result() {
        let mut d = Digester::new();
        d.begin("AT+CMGS=17", true);
        d.feed(b"AT+CMGS=17\r\r\n>");
        assert_eq!(
            d.take_outcome(),
            Some(Outcome::Prompt),
            "'>' without its space counts"
        );
        d.feed(b" ");
        assert_eq!(d.take_outcome(), None);
        d.begin_pdu("0011");
        d.feed(b"0011\x1a\r\n^RSSI:3\r\n+CMGS: 42\r\n\r\nOK\r\n");
        assert_eq!(d.take_outcome(), Some(Outcome::Final(Final::Ok)));
        assert_eq!(d.take_lines(), vec!["+CMGS: 42"]);
        assert_eq!(d.take_urcs(), vec!["^RSSI:3"]);
    }

    #[test]
    fn prompt_is_only_a_prompt_when_one_is_expected() {
        let (urcs, lines, o) = digest(&[b"\r\n> \r\n"], "AT", false);
        assert_eq!(o, None);
        assert!(urcs.is_empty());
        assert_eq!(lines, vec![">"]);
    }

    #[test]
    fn error_finals_are_parsed() {
        assert_eq!(parse_final("+CMS ERROR: 38"), Some(Final::CmsError(38)));
        assert_eq!(parse_final("+CME ERROR: 16"), Some(Final::CmeError(16)));
        assert_eq!(
            parse_final("+CME ERROR: incorrect password"),
            Some(Final::Other("+CME ERROR: incorrect password".into()))
        );
        assert_eq!(parse_final("ERROR"), Some(Final::Error));
        assert_eq!(
            parse_final("COMMAND NOT SUPPORT"),
            Some(Final::Other("COMMAND NOT SUPPORT".into()))
        );
        assert_eq!(parse_final("+CSQ: 1,2"), None);
        let (_, _, o) = digest(&[b"\r\n+CMS ERROR: 331\r\n"], "AT+CMGS=3", true);
        assert_eq!(o, Some(Outcome::Final(Final::CmsError(331))));
    }

    #[test]
    fn garbage_bytes_are_dropped_and_overlong_lines_bounded() {
        let (urcs, lines, o) = digest(
            &[b"\xff\x00\xfe\r\n+C\x00SQ: 2\xff2,99\r\n\x01OK\r\n"],
            "AT+CSQ",
            false,
        );
        assert!(urcs.is_empty());
        assert_eq!(lines, vec!["+CSQ: 22,99"]);
        assert_eq!(o, Some(Outcome::Final(Final::Ok)));
        let long = vec![b'A'; 10_000];
        let (urcs, _, _) = digest(&[b"\r\n", &long, b"\r\n"], "AT+X", false);
        assert!(urcs.is_empty());
        let mut d = Digester::new();
        d.feed(&long);
        d.feed(b"\r\n");
        assert_eq!(d.take_urcs().first().map(|u| u.len()), Some(MAX_LINE));
    }

    #[test]
    fn stray_finals_are_dropped_and_unsolicited_lines_collected() {
        let mut d = Digester::new();
        d.feed(b"\r\nOK\r\n\r\nRING\r\n\r\n+CMTI: \"ME\",3\r\n+CMT: ,23\r\n0791AB\r\n");
        assert_eq!(d.take_outcome(), None);
        assert_eq!(
            d.take_urcs(),
            vec!["RING", "+CMTI: \"ME\",3", "+CMT: ,23\n0791AB"]
        );
    }

    #[test]
    fn urc_store_is_bounded() {
        let mut d = Digester::new();
        for _ in 0..1000 {
            d.feed(b"^RSSI:9\r\n");
        }
        assert_eq!(d.take_urcs().len(), MAX_URCS);
    }

    /// A stream that serves scripted chunks, one per read, then times out.
    struct Script {
        reads: VecDeque<Vec<u8>>,
        written: Vec<u8>,
        fail_after: bool,
    }

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.reads.pop_front() {
                Some(c) => {
                    let n = c.len().min(buf.len());
                    buf[..n].copy_from_slice(&c[..n]);
                    if n < c.len() {
                        self.reads.push_front(c[n..].to_vec());
                    }
                    Ok(n)
                }
                None if self.fail_after => Err(io::Error::from_raw_os_error(libc::EIO)),
                None => {
                    std::thread::sleep(Duration::from_millis(1));
                    Err(io::ErrorKind::TimedOut.into())
                }
            }
        }
    }

    impl Write for Script {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn port(chunks: &[&[u8]], fail_after: bool) -> AtPort<Script> {
        AtPort::new(Script {
            reads: chunks
                .iter()
                .filter(|c| !c.is_empty())
                .map(|c| c.to_vec())
                .collect(),
            written: Vec::new(),
            fail_after,
        })
    }

    const SEND: &[u8] = b"AT+CMGS=17\r\r\n> 0011\x1a\r\n^RSSI:20\r\n+CMGS: 7\r\n+CREG: 1\r\nOK\r\n";

    #[test]
    fn port_sends_a_pdu_at_every_split() {
        let t = Duration::from_secs(5);
        for k in 0..=SEND.len() {
            let (a, b) = SEND.split_at(k);
            let mut p = port(&[a, b], false);
            let lines = p.send_pdu(17, "0011", t, t);
            assert_eq!(lines, Ok(vec!["+CMGS: 7".to_string()]), "split at {k}");
            assert_eq!(p.take_urcs(), vec!["^RSSI:20", "+CREG: 1"]);
            assert_eq!(p.get_mut().written, b"AT+CMGS=17\r0011\x1a");
        }
    }

    #[test]
    fn port_command_timeout_and_cmgs_timeout_sends_esc() {
        let short = Duration::from_millis(30);
        let mut p = port(&[b"AT+CSQ\r"], false);
        assert_eq!(
            p.command("AT+CSQ", short),
            Err(AtError::Timeout("AT+CSQ".into()))
        );
        let mut p = port(&[b"\r\n> "], false);
        assert_eq!(
            p.send_pdu(3, "00AABB", short, short),
            Err(AtError::Timeout("AT+CMGS=3".into()))
        );
        assert_eq!(p.get_mut().written.last(), Some(&ESC));
        let mut p = port(&[], false);
        assert!(p.send_pdu(3, "00AABB", short, short).is_err());
        assert_eq!(p.get_mut().written, b"AT+CMGS=3\r\x1b");
    }

    #[test]
    fn port_reports_errors_and_a_vanished_device() {
        let t = Duration::from_secs(5);
        let mut p = port(&[b"\r\n+CME ERROR: 16\r\n"], false);
        assert_eq!(
            p.command("AT+CPIN=\"1\"", t),
            Err(AtError::Failed {
                command: "AT+CPIN=\"1\"".into(),
                result: Final::CmeError(16)
            })
        );
        let mut p = port(&[b"\r\n+CSQ: 1"], true);
        assert!(matches!(p.command("AT+CSQ", t), Err(AtError::Io(_))));
        let mut p = port(&[b"^RSSI:1\r\n"], true);
        assert!(matches!(p.drain(t), Err(AtError::Io(_))));
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000), prompt in any::<bool>()) {
                let mut d = Digester::new();
                d.begin("AT+CMGS=5", prompt);
                d.feed(&bytes);
                let _ = d.take_outcome();
                prop_assert!(d.take_urcs().len() <= MAX_URCS);
                prop_assert!(d.take_lines().len() <= MAX_RESPONSE_LINES);
            }

            #[test]
            fn urcs_anywhere_in_a_send_are_separated(
                at in proptest::collection::vec(0usize..6, 0..6),
                cuts in proptest::collection::vec(1usize..8, 0..40),
            ) {
                // The answer to AT+CMGS as lines; URCs go in front of the chosen lines.
                let answer: [&[u8]; 6] = [b"AT+CMGS=17\r", b"\r\n> ", b"0011\x1a", b"\r\n+CMGS: 7\r\n", b"\r\n", b"OK\r\n"];
                let urc_text = ["^RSSI:20", "+CREG: 5,\"792D\",\"04947221\"", "^NWTIME:18/12/13,06:20:04+28,00"];
                let mut bytes = Vec::new();
                let mut expected = Vec::new();
                for (i, part) in answer.iter().enumerate() {
                    for (k, _) in at.iter().enumerate().filter(|(_, &a)| a == i) {
                        let u = urc_text[k % urc_text.len()];
                        bytes.extend_from_slice(format!("\r\n{u}\r\n").as_bytes());
                        expected.push(u.to_string());
                    }
                    bytes.extend_from_slice(part);
                }
                let mut chunks = Vec::new();
                let mut rest: &[u8] = &bytes;
                for c in cuts {
                    let (a, b) = rest.split_at(c.min(rest.len()));
                    chunks.push(a);
                    rest = b;
                }
                chunks.push(rest);
                let mut p = port(&chunks, false);
                let t = Duration::from_secs(5);
                prop_assert_eq!(p.send_pdu(17, "0011", t, t), Ok(vec!["+CMGS: 7".to_string()]));
                prop_assert_eq!(p.take_urcs(), expected);
            }

            #[test]
            fn random_chunking_is_invisible(cuts in proptest::collection::vec(0..SEED_CREG.len(), 0..8)) {
                let mut cuts = cuts;
                cuts.sort_unstable();
                let mut chunks: Vec<&[u8]> = Vec::new();
                let mut start = 0;
                for c in cuts {
                    chunks.push(&SEED_CREG[start..c]);
                    start = c;
                }
                chunks.push(&SEED_CREG[start..]);
                prop_assert_eq!(digest(&chunks, "AT+CREG?", false), digest(&[SEED_CREG], "AT+CREG?", false));
            }
        }
    }
}
