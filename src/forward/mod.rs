//! Forwarding of received SMS and delivery reports to webhooks (`--forward-url`, repeatable).
//!
//! Owns the durable queue `SPOOL/forward/` (one file per pending event: the exact JSON body that is
//! POSTed, written atomically before [`enqueue`] returns) and the worker thread that delivers it
//! (`worker`: retries with backoff, bounded, survives restarts). It must not block the modem or
//! the sender: producers only write one small file; all network I/O happens on the worker's own
//! thread. It does not parse spool files: the receive and report paths hand over a
//! [`ForwardEvent`].
//!
//! Producer API (receive path, report path):
//! `forward::enqueue(spool_root, &ForwardEvent { kind: EventKind::Received, .. })`.
//! It writes nothing when forwarding is off (`SPOOL/forward/` does not exist).

pub mod http_post;
pub mod worker;

#[cfg(test)]
mod tests;

use crate::json::ObjectWriter;
use std::fs::{self, File};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

pub use worker::run_worker;

/// The queue directory under the spool root.
pub const FORWARD_DIR: &str = "forward";
/// Most events kept waiting; when full, the oldest pending event is dropped to make room (the
/// message itself stays in `incoming/` or `report/`: only its forward is lost).
pub const MAX_PENDING: usize = 500;
/// Temporary files in the queue directory start with this (the worker skips them).
#[allow(dead_code)] // producer API: the receive and report paths call it
const TMP_PREFIX: &str = ".tmp-";

/// What happened.
#[allow(dead_code)] // producer API: the receive and report paths call it
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EventKind {
    #[default]
    Received,
    Report,
}

#[allow(dead_code)] // producer API: the receive and report paths call it
impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Received => "received",
            EventKind::Report => "report",
        }
    }
}

/// One event to forward. Strings are passed through as the spool files hold them.
#[allow(dead_code)] // producer API: the receive and report paths call it
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForwardEvent {
    pub kind: EventKind,
    /// The file name in `SPOOL/incoming/` (received) or `SPOOL/report/` (report).
    pub id: String,
    /// Received: the sender (digits with `+`, or an alphanumeric name).
    pub from: Option<String>,
    /// Report: the recipient of the reported message.
    pub to: Option<String>,
    /// Received: the whole text (multipart reassembled).
    pub text: Option<String>,
    /// Received: the SMSC time stamp; report: the discharge time (as in the spool file).
    pub time: String,
    /// Report: the id the send answered (`done <id>`).
    pub message_id: Option<String>,
    /// Report: the message's state after it: `delivered`, `failed`, ...
    pub status: Option<String>,
    /// Received: parts were still missing after the multipart timeout.
    pub incomplete: bool,
}

#[allow(dead_code)] // producer API: the receive and report paths call it
impl ForwardEvent {
    /// The JSON body POSTed to each forward URL.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(128 + self.text.as_ref().map_or(0, String::len));
        let mut w = ObjectWriter::new(&mut out);
        w.str("event", self.kind.as_str()).str("id", &self.id);
        for (key, value) in [
            ("from", &self.from),
            ("to", &self.to),
            ("text", &self.text),
            ("message_id", &self.message_id),
            ("status", &self.status),
        ]
        .iter()
        {
            if let Some(v) = value {
                w.str(key, v);
            }
        }
        w.str("time", &self.time);
        if self.kind == EventKind::Received {
            w.bool("incomplete", self.incomplete);
        }
        w.end();
        out
    }
}

/// Wakes the worker when an event is queued (in-process; the worker also rescans on a timer).
static WAKE: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());
#[allow(dead_code)] // producer API: the receive and report paths call it
static SEQ: AtomicU32 = AtomicU32::new(0);

pub(crate) fn poke() {
    if let Ok(mut flag) = WAKE.0.lock() {
        *flag = true;
        WAKE.1.notify_all();
    }
}

/// Queues `ev` for every forward URL. Returns `Ok(false)` when forwarding is off (no
/// `SPOOL/forward/`), `Ok(true)` once the event is on disk. Never blocks on the network.
#[allow(dead_code)] // producer API: the receive and report paths call it
pub fn enqueue(spool_root: &Path, ev: &ForwardEvent) -> io::Result<bool> {
    let dir = spool_root.join(FORWARD_DIR);
    if !dir.is_dir() {
        return Ok(false);
    }
    make_room(&dir, MAX_PENDING.saturating_sub(1));
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // zero-padded: names sort in queue order
    let name = format!(
        "{secs:012}-{:010}-{}.json",
        SEQ.fetch_add(1, Ordering::Relaxed),
        std::process::id()
    );
    let tmp = dir.join(format!("{TMP_PREFIX}{name}"));
    // 0600 like every spool file: received texts are private
    let written = crate::spool::create_synced(&tmp, ev.to_json().as_bytes(), true)
        .and_then(|()| fs::rename(&tmp, dir.join(&name)));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    poke();
    Ok(true)
}

/// The pending event files, oldest first.
pub fn pending(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort_unstable();
    names
}

/// Drops the oldest events until at most `keep` remain; returns how many were dropped.
pub fn make_room(dir: &Path, keep: usize) -> usize {
    let names = pending(dir);
    let excess = names.len().saturating_sub(keep);
    let mut dropped = 0;
    for name in names.iter().take(excess) {
        if fs::remove_file(dir.join(name)).is_ok() {
            dropped += 1;
        }
    }
    if dropped > 0 {
        eprintln!("smsgw: forward queue full: dropped the {dropped} oldest pending event(s)");
    }
    dropped
}

/// Starts forwarding (`serve` with `--forward-url`): checks the URLs, creates `SPOOL/forward/`
/// and starts the worker thread. Without URLs it only warns about events left in the queue.
pub fn start(spool_root: &Path, urls: &[String], token: Option<String>) -> Result<(), String> {
    let dir = spool_root.join(FORWARD_DIR);
    if urls.is_empty() {
        if dir.is_dir() {
            eprintln!(
                "smsgw: {} exists but no --forward-url is set: events are queued there and not sent (remove the directory to stop that)",
                dir.display()
            );
        }
        return Ok(());
    }
    if let Some(bad) = urls.iter().find(|u| !http_post::valid_url(u)) {
        return Err([
            "--forward-url '",
            bad,
            "': want http://IP[:PORT][/PATH] (host names are not resolved; for HTTPS use the hook)",
        ]
        .concat());
    }
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (root, urls) = (spool_root.to_path_buf(), urls.to_vec());
    crate::modem::spawn_named(
        "forward",
        Box::new(move || run_worker(&root, &urls, token, Box::new(http_post::HttpPost))),
    )
    .map_err(|e| format!("cannot start the forward thread: {e}"))
}
