//! A blocking AT client over any `Read + Write` stream, for the diagnostic `smsgw at` command
//! (the daemon's modem engine drives the [`Digester`] itself, sans I/O).
//!
//! Owns the read/write loop with per-command timeouts and ESC to abort a pending `AT+CMGS`. It
//! must not know modem policy nor open devices: the caller hands it a stream.

use super::digester::{Digester, Outcome};
use super::result::Final;
use super::{deadline_after, ESC};
use std::fmt;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

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

    /// One read; `Ok(false)` when nothing arrived in the stream's own timeout.
    fn read_some(&mut self) -> Result<bool, AtError> {
        let mut buf = [0u8; 256];
        match self.io.read(&mut buf) {
            Ok(0) => Err(AtError::Io("device closed".into())),
            Ok(n) => {
                self.dig.feed(buf.get(..n).unwrap_or(&[]));
                Ok(true)
            }
            Err(e) if super::is_quiet(&e) => Ok(false),
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

    #[test]
    fn port_command_answers_and_times_out() {
        let t = Duration::from_secs(5);
        let mut p = port(
            &[b"AT+CSQ\r\r\n^RSSI:20\r\n+CSQ: 22,99\r\n\r\nOK\r\n"],
            false,
        );
        assert_eq!(p.command("AT+CSQ", t), Ok(vec!["+CSQ: 22,99".to_string()]));
        assert_eq!(p.take_urcs(), vec!["^RSSI:20"]);
        let short = Duration::from_millis(30);
        let mut p = port(&[b"AT+CSQ\r"], false);
        assert_eq!(
            p.command("AT+CSQ", short),
            Err(AtError::Timeout("AT+CSQ".into()))
        );
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
    }
}
