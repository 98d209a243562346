//! Durable message spool in the smstools3 layout: `outgoing/`, `sent/`, `failed/` under one root.
//!
//! Owns the smstools3 file format (`Header: value` lines, blank line, UTF-8 body), atomic submission
//! (tmp file + rename), pickup order, claiming, retries and retention, and the sender loop that feeds
//! the modem. It must not parse HTTP or speak AT: it hands encoded parts to an `SmsSender`.
//!
//! NOTE: minimal placeholder (tmp + rename, poll, send, move); the real spool replaces it behind
//! the same `Spool::submit` / `run_sender` interface.

use crate::config::ServeConfig;
use crate::modem::{SendError, SmsSender};
use crate::pdu::{self, EncodeOptions};
use crate::status::GatewayStatus;
use portable_atomic::{AtomicU64, Ordering};
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// A message to queue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutgoingSms {
    /// Destination: digits with optional leading `+` (validated before anything is written).
    pub to: String,
    pub text: String,
    pub flash: bool,
    pub report: bool,
    pub priority_high: bool,
}

/// Why a message could not be queued.
#[derive(Debug)]
pub enum SpoolError {
    /// The message itself is bad (maps to HTTP 400).
    Invalid(String),
    /// The disk is full (maps to HTTP 503).
    Full,
    /// Any other I/O failure of the spool (maps to HTTP 503).
    Unavailable(io::Error),
}

impl fmt::Display for SpoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpoolError::Invalid(m) => write!(f, "{m}"),
            SpoolError::Full => write!(f, "spool is full (no space left on device)"),
            SpoolError::Unavailable(e) => write!(f, "spool unavailable: {e}"),
        }
    }
}

impl From<io::Error> for SpoolError {
    fn from(e: io::Error) -> Self {
        if e.raw_os_error() == Some(libc::ENOSPC) {
            SpoolError::Full
        } else {
            SpoolError::Unavailable(e)
        }
    }
}

/// The spool directory tree plus the in-process "new message" signal.
pub struct Spool {
    root: PathBuf,
    wake: (Mutex<bool>, Condvar),
    seq: AtomicU64,
}

impl Spool {
    /// Opens (creating if needed) the spool under `root`.
    pub fn open(root: &Path) -> Result<Spool, SpoolError> {
        for d in ["outgoing", "sent", "failed", "tmp"] {
            fs::create_dir_all(root.join(d))?;
        }
        Ok(Spool {
            root: root.to_path_buf(),
            wake: (Mutex::new(false), Condvar::new()),
            seq: AtomicU64::new(0),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes the message atomically into `outgoing/` and wakes the sender. Returns the message id.
    pub fn submit(&self, msg: &OutgoingSms) -> Result<String, SpoolError> {
        pdu::validate_number(&msg.to).map_err(|e| SpoolError::Invalid(e.to_string()))?;
        let id = format!(
            "smsgw-{}-{}",
            std::process::id(),
            self.seq.fetch_add(1, Ordering::Relaxed)
        );
        let tmp = self.root.join("tmp").join(&id);
        let mut f = fs::File::create(&tmp)?;
        let body = format!("To: {}\n\n{}", msg.to, msg.text);
        if let Err(e) = f.write_all(body.as_bytes()).and_then(|_| f.sync_all()) {
            let _ = fs::remove_file(&tmp);
            return Err(e.into());
        }
        fs::rename(&tmp, self.root.join("outgoing").join(&id))?;
        self.poke();
        Ok(id)
    }

    fn poke(&self) {
        if let Ok(mut flag) = self.wake.0.lock() {
            *flag = true;
            self.wake.1.notify_all();
        }
    }

    fn wait(&self, max: Duration) {
        if let Ok(flag) = self.wake.0.lock() {
            if let Ok((mut flag, _)) = self.wake.1.wait_timeout_while(flag, max, |f| !*f) {
                *flag = false;
            }
        }
    }
}

/// The sender loop: takes files from `outgoing/`, sends them, moves them to `sent/` or `failed/`.
pub fn run_sender(
    spool: Arc<Spool>,
    mut modem: Box<dyn SmsSender>,
    cfg: &ServeConfig,
    status: Arc<GatewayStatus>,
) {
    let opts = EncodeOptions {
        smsc: cfg.smsc.clone(),
        max_parts: cfg.max_parts,
        ..EncodeOptions::default()
    };
    loop {
        let outgoing = spool.root.join("outgoing");
        let mut names: Vec<_> = match fs::read_dir(&outgoing) {
            Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.path()).collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        for path in names {
            let Ok(content) = fs::read_to_string(&path) else {
                continue;
            };
            let (head, body) = content.split_once("\n\n").unwrap_or((&content, ""));
            let to = head
                .lines()
                .find_map(|l| l.strip_prefix("To:"))
                .unwrap_or("")
                .trim()
                .to_string();
            let result = pdu::encode_submit(&to, body, &opts, 0)
                .map_err(|e| SendError::Permanent(e.to_string()))
                .and_then(|parts| {
                    parts
                        .iter()
                        .try_for_each(|p| modem.send_part(p).map(|_| ()))
                });
            let Some(name) = path.file_name() else {
                continue;
            };
            let dest = match result {
                Ok(()) => {
                    GatewayStatus::count(&status.sent);
                    "sent"
                }
                Err(e) => {
                    status.set_last_error(&e.to_string());
                    GatewayStatus::count(&status.failed);
                    "failed"
                }
            };
            let _ = fs::rename(&path, spool.root.join(dest).join(name));
        }
        spool.wait(Duration::from_millis(500));
    }
}
