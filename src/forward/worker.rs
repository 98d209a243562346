//! The forward worker: delivers `SPOOL/forward/` to every target URL, oldest first, retrying with
//! backoff, on its own thread.
//!
//! The decisions (what a status means, when a target is tried again, when an event is done) are
//! in [`Queue::pass`], which takes the time as an argument; the thread ([`run_worker`]) only
//! sleeps and calls it. The network is behind [`Transport`]. Delivery is at least once: which
//! targets already have an event is kept in memory, so after a restart every target gets the
//! pending events again. A target answering 2xx has the event; 408, 429, 5xx or no answer are
//! retried (that target waits 5 s, doubling up to 10 min, and keeps its order); any other status
//! means the target refuses this event: it is skipped for that target and logged.

use super::{make_room, pending, MAX_PENDING, WAKE};
use crate::http::read_capped;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// First retry delay of a failing target; doubles per failure.
pub const FIRST_RETRY: Duration = Duration::from_secs(5);
/// Longest retry delay.
pub const MAX_RETRY: Duration = Duration::from_secs(600);
/// The queue is rescanned at least this often (files put there by other processes).
const RESCAN: Duration = Duration::from_secs(60);
/// Event files larger than this are not ours: dropped unread.
const MAX_EVENT_BYTES: usize = 256 * 1024;

/// Sends one POST. Implemented by the gateway's HTTP client; tests use their own.
pub trait Transport {
    /// POSTs `body` (`application/json`) with `Authorization: Bearer` when `bearer` is set.
    /// Returns the response status, or a one-line reason when there was no answer.
    fn post(&mut self, url: &str, bearer: Option<&str>, body: &[u8]) -> Result<u16, String>;
}

/// What one attempt means for the event at that target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// The target refuses this event: retrying will not help.
    Refused,
    Retry,
}

pub fn classify(result: &Result<u16, String>) -> Outcome {
    match result {
        Ok(200..=299) => Outcome::Delivered,
        Ok(408 | 429) | Ok(500..=599) | Err(_) => Outcome::Retry,
        Ok(_) => Outcome::Refused,
    }
}

/// One forward URL and its retry state. Times are offsets from the worker's start.
#[derive(Clone, Debug)]
pub struct Target {
    pub url: String,
    failures: u32,
    retry_at: Option<Duration>,
}

impl Target {
    pub fn new(url: &str) -> Target {
        Target {
            url: url.to_string(),
            failures: 0,
            retry_at: None,
        }
    }

    fn waiting(&self, now: Duration) -> bool {
        self.retry_at.is_some_and(|t| now < t)
    }

    fn failed(&mut self, now: Duration) {
        let delay = FIRST_RETRY
            .saturating_mul(1u32 << self.failures.min(16))
            .min(MAX_RETRY);
        self.failures = self.failures.saturating_add(1);
        self.retry_at = Some(now + delay);
    }

    fn succeeded(&mut self) {
        self.failures = 0;
        self.retry_at = None;
    }
}

/// The queue directory, the targets and which targets already have which pending event.
pub struct Queue {
    dir: PathBuf,
    bearer: Option<String>,
    pub targets: Vec<Target>,
    /// (event file name, delivered-or-refused per target)
    done: Vec<(String, Vec<bool>)>,
}

impl Queue {
    pub fn new(dir: &Path, urls: &[String], bearer: Option<String>) -> Queue {
        let mut targets = Vec::with_capacity(urls.len());
        for u in urls {
            targets.push(Target::new(u));
        }
        Queue {
            dir: dir.to_path_buf(),
            bearer,
            targets,
            done: Vec::new(),
        }
    }

    /// Tries every pending event at every target that is not waiting; removes events every target
    /// has. Returns when to call again at the latest (a target's retry time).
    pub fn pass(&mut self, transport: &mut dyn Transport, now: Duration) -> Option<Duration> {
        make_room(&self.dir, MAX_PENDING);
        let names = pending(&self.dir);
        self.done.retain(|(n, _)| names.contains(n));
        for name in names.iter() {
            if self.targets.iter().all(|t| t.waiting(now)) {
                break;
            }
            let path = self.dir.join(name);
            let mut body = Vec::new();
            match fs::File::open(&path) {
                Ok(mut f) => {
                    if read_capped(&mut f, MAX_EVENT_BYTES + 1, &mut body).is_err() {
                        continue;
                    }
                }
                Err(_) => continue,
            }
            if body.len() > MAX_EVENT_BYTES {
                let _ = fs::remove_file(&path);
                continue;
            }
            let slot = match self.done.iter().position(|(n, _)| *n == *name) {
                Some(i) => i,
                None => {
                    self.done
                        .push((name.clone(), vec![false; self.targets.len()]));
                    self.done.len() - 1
                }
            };
            let Some((_, done)) = self.done.get_mut(slot) else {
                continue;
            };
            for (target, done) in self.targets.iter_mut().zip(done.iter_mut()) {
                if *done || target.waiting(now) {
                    continue;
                }
                let result = transport.post(&target.url, self.bearer.as_deref(), &body);
                match classify(&result) {
                    Outcome::Delivered => {
                        target.succeeded();
                        *done = true;
                    }
                    Outcome::Refused => {
                        target.succeeded();
                        *done = true;
                        let code = result.unwrap_or(0);
                        eprintln!(
                            "smsgw: forward {}: {name} refused with HTTP {code}; not retried",
                            target.url
                        );
                    }
                    Outcome::Retry => {
                        target.failed(now);
                        let why = match result {
                            Ok(code) => format!("HTTP {code}"),
                            Err(e) => e,
                        };
                        eprintln!("smsgw: forward {}: {why}; will retry", target.url);
                    }
                }
            }
            if done.iter().all(|&d| d) {
                let _ = fs::remove_file(&path);
                self.done.remove(slot);
            }
        }
        self.targets.iter().filter_map(|t| t.retry_at).min()
    }
}

/// Runs the worker forever (its own thread): a pass, then sleep until a target's retry time, a
/// new event, or the periodic rescan.
pub fn run_worker(
    spool_root: &Path,
    urls: &[String],
    bearer: Option<String>,
    mut transport: Box<dyn Transport + Send>,
) {
    let started = Instant::now();
    let mut queue = Queue::new(&spool_root.join(super::FORWARD_DIR), urls, bearer);
    loop {
        let now = started.elapsed();
        let next = queue.pass(transport.as_mut(), now);
        let sleep = next.map_or(RESCAN, |t| t.saturating_sub(started.elapsed()).min(RESCAN));
        if let Ok(flag) = WAKE.0.lock() {
            if let Ok((mut flag, _)) = WAKE.1.wait_timeout_while(flag, sleep, |f| !*f) {
                *flag = false;
            }
        }
    }
}
