//! The built-in simulated modem (`--device sim`): a quiet Huawei E3372 as an in-memory
//! `Read + Write` stream, so the real AT engine runs against it without hardware.
//!
//! Owns only the fake modem's side of the conversation (echo, the usual init answers, the `> `
//! prompt, `+CMGS: <mr>`) and the log line for each message it "sends" (via `pdu::describe`).
//! It must stay small (it ships in the router binary) and must not know the engine's internals.

use crate::pdu;
use std::io::{self, Read, Write};
use std::time::Duration;

const MAX_INPUT: usize = 4096;

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
}

impl Default for SimModem {
    fn default() -> Self {
        SimModem {
            input: Vec::new(),
            output: Vec::new(),
            echo: true,
            pdu_len: None,
            next_mr: 0,
        }
    }
}

impl SimModem {
    pub fn new() -> SimModem {
        SimModem::default()
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
        if let Some((_, answer)) = ANSWERS.iter().find(|(c, _)| *c == cmd) {
            self.say(answer);
        }
        self.say("OK");
    }

    fn pdu_done(&mut self, len: usize) {
        let hex = String::from_utf8_lossy(&self.input).trim().to_string();
        self.input.clear();
        self.pdu_len = None;
        self.next_mr = self.next_mr.wrapping_add(1);
        // one write per line (`eprintln!` writes each piece), and no panic on a closed stderr
        crate::errln!(
            "sim: sent SMS (AT+CMGS={len}, mr {}): {}",
            self.next_mr,
            pdu::describe(&hex)
        );
        let mr = format!("+CMGS: {}", self.next_mr);
        self.say(&mr);
        self.say("OK");
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
        if self.output.is_empty() {
            // Nothing unsolicited ever comes: behave like a serial read timeout.
            std::thread::sleep(Duration::from_millis(20));
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
    fn answers_like_a_quiet_e3372() {
        let t = Duration::from_secs(2);
        let mut at = AtPort::new(SimModem::new());
        assert_eq!(at.command("AT", t), Ok(vec![]));
        assert_eq!(at.command("ATE0", t), Ok(vec![]));
        assert_eq!(at.command("AT+CSQ", t), Ok(vec!["+CSQ: 22,99".to_string()]));
        assert_eq!(
            at.send_pdu(3, "00010003910000", t, t),
            Ok(vec!["+CMGS: 1".to_string()])
        );
        assert_eq!(
            at.send_pdu(3, "00010003910000", t, t),
            Ok(vec!["+CMGS: 2".to_string()])
        );
        assert!(at.take_urcs().is_empty());
    }
}
