//! The built-in simulated modem (`--device sim`): a quiet Huawei E3372 as an in-memory
//! `Read + Write` stream, so the real AT engine runs against it without hardware.
//!
//! Owns only the fake modem's side of the conversation (echo, the usual init answers, the `> `
//! prompt, `+CMGS: <mr>`), the log line for each message it "sends" (via `pdu::describe`), and
//! its inbox (`sim_storage.rs`): a message whose text starts with `echo` comes back as a received
//! SMS from the number it was sent to, announced by `+CMTI`. USSD `*100#` answers a balance.
//! A part sent with a report request gets its delivery report [`REPORT_DELAY`] later (the rules
//! for failing and silent numbers are in `sim_storage.rs`).
//! It must stay small (it ships in the router binary) and must not know the engine's internals.

use super::sim_storage::{self, SmsStore, StoreOptions};
use crate::pdu;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

const MAX_INPUT: usize = 4096;
/// From `+CMGS` to the delivery report of `--device sim`.
pub const REPORT_DELAY: Duration = Duration::from_secs(2);

/// Commands with an information line before `OK` (a table is smaller than a `match` here).
const ANSWERS: &[(&str, &str)] = &[
    ("AT+CPIN?", "+CPIN: READY"),
    ("AT+CSQ", "+CSQ: 22,99"),
    ("AT+CREG?", "+CREG: 0,1"),
    ("AT+COPS?", "+COPS: 0,0,\"smsgw sim\",7"),
    ("AT+CGMI", "huawei"),
    ("AT+CGMM", "E3372 (simulated)"),
    ("AT+CGSN", "000000000000000"),
];

/// A well-behaved E3372 with a SIM that needs no PIN, registered at home.
#[derive(Debug)]
pub struct SimModem {
    input: Vec<u8>,
    /// What the modem "says", oldest first (a plain `Vec`: smaller than a `VecDeque` here).
    output: Vec<u8>,
    echo: bool,
    /// `Some(len)` after `AT+CMGS=<len>`: collecting the PDU until Ctrl-Z.
    pdu_len: Option<usize>,
    next_mr: u8,
    store: SmsStore,
    /// The latest time seen (`tick`, or the clock on a read): when a sent part's report is due.
    now: Option<Instant>,
    /// Every command line received (tests).
    #[cfg(test)]
    pub commands: Vec<String>,
}

impl Default for SimModem {
    fn default() -> Self {
        SimModem {
            input: Vec::new(),
            output: Vec::new(),
            echo: true,
            pdu_len: None,
            next_mr: 0,
            store: SmsStore::new(StoreOptions {
                slots: 20,
                report_delay: REPORT_DELAY,
                ..StoreOptions::default()
            }),
            now: None,
            #[cfg(test)]
            commands: Vec::new(),
        }
    }
}

impl SimModem {
    pub fn new() -> SimModem {
        SimModem::default()
    }

    /// A stick with these storage options (tests: small storage, lost hints, lagging counts).
    #[cfg(test)]
    pub fn with_store(opts: StoreOptions) -> SimModem {
        SimModem {
            store: SmsStore::new(opts),
            ..SimModem::default()
        }
    }

    /// An SMS-DELIVER (hex) arrives from the network.
    #[cfg(test)]
    pub fn inject(&mut self, pdu: &str) {
        for urc in self.store.deliver(pdu) {
            self.say(&urc);
        }
    }

    /// The stick restarts (unplug/replug): echo on, `AT+CNMI` back to 0; the storage stays.
    #[cfg(test)]
    pub fn power_cycle(&mut self) {
        self.echo = true;
        self.input.clear();
        self.output.clear();
        self.pdu_len = None;
        self.store.power_up();
    }

    /// Time passes to `now`: delivery reports that are due arrive.
    pub fn tick(&mut self, now: Instant) {
        self.now = Some(now);
        for urc in &self.store.due_reports(now) {
            self.say(urc);
        }
    }

    /// What the stick said since the last call (no waiting).
    #[cfg(test)]
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    #[cfg(test)]
    pub fn store(&mut self) -> &mut SmsStore {
        &mut self.store
    }

    fn say(&mut self, text: &str) {
        self.output.extend_from_slice(b"\r\n");
        self.output.extend_from_slice(text.as_bytes());
        self.output.extend_from_slice(b"\r\n");
    }

    fn command(&mut self, line: &str) {
        if self.echo {
            self.output.extend_from_slice(line.as_bytes());
            self.output.push(b'\r');
        }
        let cmd = line.trim().to_ascii_uppercase();
        #[cfg(test)]
        self.commands.push(cmd.clone());
        if !cmd.starts_with("AT") {
            return;
        }
        match cmd.as_str() {
            "ATE0" => self.echo = false,
            "ATE1" => self.echo = true,
            _ => {}
        }
        if let Some(len) = cmd.strip_prefix("AT+CMGS=") {
            match len.trim().parse::<usize>() {
                Ok(n) if (1..=200).contains(&n) => {
                    self.pdu_len = Some(n);
                    self.output.extend_from_slice(b"\r\n> ");
                }
                _ => self.say("+CMS ERROR: 304"),
            }
            return;
        }
        if let Some(answer) = cmd.get(2..).and_then(|c| self.store.command(c)) {
            match answer {
                Ok(lines) => {
                    for l in lines {
                        self.say(&l);
                    }
                    self.say("OK");
                }
                Err(e) => self.say(&e),
            }
            if let Some(reply) = self.store.take_ussd_reply() {
                self.say(&reply);
            }
            return;
        }
        if let Some((_, answer)) = ANSWERS.iter().find(|(c, _)| *c == cmd) {
            self.say(answer);
        }
        self.say("OK");
    }

    /// An SMS whose text starts with "echo" comes back from its recipient.
    fn echo_back(&mut self, hex: &str) {
        let Ok(decoded) = pdu::decode(hex) else {
            return;
        };
        let pdu::Tpdu::Submit(s) = decoded.tpdu else {
            return;
        };
        let text = s.user_data.text.trim_start();
        let echo = text
            .get(..4)
            .is_some_and(|w| w.eq_ignore_ascii_case("echo"));
        let first_part = s.user_data.concat.is_none_or(|c| c.seq == 1);
        if !echo || !first_part {
            return;
        }
        // 26-11-28 12:00:00 +00:00: a fixed time stamp keeps the sim deterministic.
        let scts = [0x62, 0x11, 0x82, 0x21, 0x00, 0x00, 0x00];
        if let Some(deliver) = sim_storage::submit_to_deliver(hex, scts) {
            for urc in &self.store.deliver(&deliver) {
                self.say(urc);
            }
        }
    }

    fn pdu_done(&mut self, len: usize) {
        let hex = String::from_utf8_lossy(&self.input).trim().to_string();
        self.input.clear();
        self.pdu_len = None;
        self.next_mr = self.next_mr.wrapping_add(1);
        // a routine line (stdout), written at once, no panic on a closed pipe
        crate::log_info!(
            "sim: sent SMS (AT+CMGS={len}, mr {}): {}",
            self.next_mr,
            pdu::describe(&hex)
        );
        let mr = format!("+CMGS: {}", self.next_mr);
        self.say(&mr);
        self.say("OK");
        let now = self.now.unwrap_or_else(Instant::now);
        self.store.submitted(&hex, self.next_mr, now);
        self.echo_back(&hex);
    }
}

impl Write for SimModem {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for &b in buf {
            match (self.pdu_len, b) {
                (Some(len), 0x1A) => self.pdu_done(len),
                (Some(_), 0x1B) => {
                    self.input.clear();
                    self.pdu_len = None;
                }
                (None, b'\r') => {
                    let line = String::from_utf8_lossy(&self.input).into_owned();
                    self.input.clear();
                    self.command(&line);
                }
                (None, b'\n' | 0x1B) => {}
                _ if self.input.len() < MAX_INPUT => self.input.push(b),
                _ => {}
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for SimModem {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = self.read_output(buf);
        if r.is_err() {
            // Behave like a serial read timeout (`AtPort` reads in a loop until its deadline).
            std::thread::sleep(Duration::from_millis(20));
        }
        r
    }
}

impl SimModem {
    /// What the modem has said so far, without waiting; `TimedOut` when nothing.
    pub fn read_output(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tick(Instant::now());
        if self.output.is_empty() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        let n = buf.len().min(self.output.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), self.output.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.output.drain(..n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::at::AtPort;

    #[test]
    fn answers_like_a_quiet_e3372_with_an_empty_inbox() {
        let t = Duration::from_secs(2);
        let mut at = AtPort::new(SimModem::new());
        assert_eq!(at.command("AT", t), Ok(vec![]));
        assert_eq!(at.command("ATE0", t), Ok(vec![]));
        assert_eq!(at.command("AT+CSQ", t), Ok(vec!["+CSQ: 22,99".to_string()]));
        assert_eq!(
            at.command("AT+CPMS=\"ME\"", t),
            Ok(vec!["+CPMS: 0,20,0,20,0,20".to_string()])
        );
        assert_eq!(at.command("AT+CMGL=4", t), Ok(vec![]));
        assert!(at.take_urcs().is_empty());
    }
}
