//! Durable message spool in the smstools3 layout under one root: `outgoing/` (queue), `sending/`
//! (claimed, being sent), `sent/`, `failed/`, `tmp/` (atomic writes on the same filesystem).
//!
//! Owns the smstools3 file format (`format`), atomic submission (tmp + fsync + rename), pickup order
//! and readiness checks, claiming (flock + rename into `sending/`) with crash recovery, and the
//! sender loop (`sender`: retries, result headers, retention, event hook). It must not parse HTTP or
//! speak AT: it hands encoded parts to an `SmsSender`.

pub mod deliveries;
#[cfg(test)]
mod deliveries_tests;
pub mod format;
pub mod incoming;
pub mod outbox;
mod reassembly;
mod sender;

pub use sender::run_sender;

use crate::pdu;
use format::SpoolFile;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A message to queue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutgoingSms {
    /// Destination: digits with optional leading `+` (validated before anything is written).
    pub to: String,
    pub text: String,
    pub flash: bool,
    pub report: bool,
    pub priority_high: bool,
    /// Relative validity, raw TP-VP octet (`None` = network default). Written as `Validity:`.
    pub validity: Option<u8>,
    /// Send as UCS-2 even when GSM 7-bit would do (`Alphabet: UCS2`).
    pub ucs2: bool,
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
        if e.raw_os_error() == Some(libc::ENOSPC) || e.raw_os_error() == Some(libc::EDQUOT) {
            SpoolError::Full
        } else {
            SpoolError::Unavailable(e)
        }
    }
}

/// Sub-directories of the spool root.
pub const OUTGOING: &str = "outgoing";
pub const SENDING: &str = "sending";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";
pub const TMP: &str = "tmp";

/// Prefix of the sender's temporary dot files in `outgoing/`, `sent/`, `failed/`.
const PART_PREFIX: &str = ".smsgw-part-";

/// Larger files are not SMS text; they are failed without being read whole.
pub const MAX_FILE_BYTES: u64 = 64 * 1024;

/// Our own header: attempts made so far (smsd ignores unknown headers).
pub const HDR_ATTEMPTS: &str = "Attempts";
/// Our own header: not before this UNIX time (retry backoff).
pub const HDR_RETRY_AT: &str = "Retry_at";
/// Our own headers: a multi-part message interrupted by a transient error resumes after the parts
/// already sent, with the same concatenation reference.
pub const HDR_PARTS_SENT: &str = "Parts_sent";
pub const HDR_CONCAT_REF: &str = "Concat_ref";

/// The spool directory tree plus the in-process "new message" signal.
pub struct Spool {
    root: PathBuf,
    wake: (Mutex<bool>, Condvar),
    seq: AtomicUsize,
}

impl Spool {
    /// Opens (creating if needed) the spool under `root`.
    pub fn open(root: &Path) -> Result<Spool, SpoolError> {
        for d in [OUTGOING, SENDING, SENT, FAILED, TMP] {
            fs::create_dir_all(root.join(d))?;
        }
        Ok(Spool {
            root: root.to_path_buf(),
            wake: (Mutex::new(false), Condvar::new()),
            seq: AtomicUsize::new(0),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Writes the message atomically into `outgoing/` and wakes the sender. Returns the message id
    /// (the file name). Nothing is ever left half-written in `outgoing/`.
    pub fn submit(&self, msg: &OutgoingSms) -> Result<String, SpoolError> {
        pdu::validate_number(&msg.to).map_err(|e| SpoolError::Invalid(e.to_string()))?;
        if msg.text.is_empty() {
            return Err(SpoolError::Invalid("message text is empty".into()));
        }
        let bytes = format::file_of(msg)
            .and_then(|f| f.to_bytes())
            .map_err(|e| SpoolError::Invalid(e.to_string()))?;
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let id = format!(
            "smsgw-{secs}-{}-{}",
            std::process::id(),
            self.seq.fetch_add(1, Ordering::Relaxed)
        );
        self.write_atomic(&self.dir(OUTGOING), OsStr::new(&id), &bytes, true)?;
        self.poke();
        Ok(id)
    }

    /// Writes `bytes` to `tmp/NAME` (new messages) or to a dot file `dir/.smsgw-part-NAME` (the
    /// sender's rewrites, so `tmp/` only ever holds submissions in flight), fsyncs, renames to
    /// `dir/NAME`, fsyncs the directory. On any error the temporary file is removed and `dir/NAME`
    /// is untouched.
    fn write_atomic(
        &self,
        dir: &Path,
        name: &OsStr,
        bytes: &[u8],
        in_tmp: bool,
    ) -> Result<(), SpoolError> {
        let tmp = if in_tmp {
            self.dir(TMP).join(name)
        } else {
            let mut dot = OsString::from(PART_PREFIX);
            dot.push(name);
            dir.join(dot)
        };
        let written = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .and_then(|mut f| {
                f.write_all(bytes)?;
                f.sync_all()
            });
        if let Err(e) = written.and_then(|_| fs::rename(&tmp, dir.join(name))) {
            let _ = fs::remove_file(&tmp);
            return Err(e.into());
        }
        // Persist the rename on flash; a no-op on tmpfs. Failure here is not a lost message.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Wakes the sender (new file, or time to look again).
    pub fn poke(&self) {
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

    /// Lists what `outgoing/` holds that may be taken now (see `take_next` for the order). Also returns the earliest future retry time seen, if any.
    fn scan(&self, now: SystemTime) -> (Vec<QueueEntry>, Option<SystemTime>) {
        let dir = self.dir(OUTGOING);
        let mut names: Vec<OsString> = entries(&dir).iter().map(|e| e.file_name()).collect();
        names.sort_unstable(); // `is_candidate_name` binary-searches for `.LOCK` companions
        let mut entries = Vec::new();
        let mut next_retry: Option<SystemTime> = None;
        for name in &names {
            if !is_candidate_name(name, &names) {
                continue;
            }
            let path = dir.join(name);
            let Ok(meta) = fs::metadata(&path) else {
                continue;
            };
            if !meta.is_file() || is_young_empty(&meta, now) {
                continue;
            }
            let head = read_head(&path);
            let file = SpoolFile::parse(&head);
            if let Some(at) = retry_at(&file) {
                if at > now {
                    next_retry = Some(next_retry.map_or(at, |n| n.min(at)));
                    continue;
                }
            }
            entries.push(QueueEntry {
                name: name.clone(),
                high: file.is_high_priority(),
                mtime: meta.modified().unwrap_or(UNIX_EPOCH),
            });
        }
        (entries, next_retry)
    }

    /// Claims `outgoing/NAME`: flock, check it is still that file and nobody is writing it, read it,
    /// rename it into `sending/` while holding the lock. `None` = not takeable now.
    fn claim(&self, name: &OsStr) -> Option<Claim> {
        let path = self.dir(OUTGOING).join(name);
        let file = File::open(&path).ok()?;
        lock_exclusive(&file).ok()?;
        if !same_file(&file, &path) || being_written(&file) {
            return None;
        }
        let mut bytes = Vec::new();
        (&file)
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .ok()?;
        let sending = self.dir(SENDING).join(name);
        fs::rename(&path, &sending).ok()?;
        Some(Claim {
            name: name.to_os_string(),
            bytes,
            _lock: file,
        })
    }

    /// Moves files left in `sending/` by a dead process (their lock is free) back to `outgoing/`,
    /// and removes temporary files (`tmp/*`, `.smsgw-part-*`) older than an hour. Returns how many messages were recovered.
    pub fn recover(&self, now: SystemTime) -> usize {
        let sending = self.dir(SENDING);
        let mut recovered = 0;
        for e in entries(&sending) {
            let path = e.path();
            let Ok(file) = File::open(&path) else {
                continue;
            };
            if lock_exclusive(&file).is_err() || !same_file(&file, &path) {
                continue;
            }
            if fs::rename(&path, self.dir(OUTGOING).join(e.file_name())).is_ok() {
                recovered += 1;
            }
        }
        for dir in [TMP, OUTGOING, SENT, FAILED] {
            for e in entries(&self.dir(dir)) {
                if dir != TMP
                    && !e
                        .file_name()
                        .as_encoded_bytes()
                        .starts_with(PART_PREFIX.as_bytes())
                {
                    continue;
                }
                let old = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .is_some_and(|age| age > Duration::from_secs(3600));
                if old {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        recovered
    }

    /// Finishes a claim: writes `file` as the final content of `dest/NAME` (`sent/` or `failed/`).
    /// The claimed inode is moved first (the message is then done for good), the rewritten content
    /// replaces it after; a crash between the two leaves the original content in `dest/`.
    fn finish(&self, claim: &Claim, dest: &str, file: &SpoolFile) -> io::Result<PathBuf> {
        let dest_dir = self.dir(dest);
        let mut name = claim.name.clone();
        if dest_dir.join(&name).exists() {
            name.push(format!(".{}", self.seq.fetch_add(1, Ordering::Relaxed)));
        }
        let target = dest_dir.join(&name);
        fs::rename(self.dir(SENDING).join(&claim.name), &target)?;
        // An oversized file was read only in part: keep it as it was rather than truncate it.
        if claim.bytes.len() as u64 <= MAX_FILE_BYTES {
            if let Ok(bytes) = file.to_bytes() {
                let _ = self.write_atomic(&dest_dir, &name, &bytes, false);
            }
        }
        Ok(target)
    }

    /// Puts a claimed message back into `outgoing/` with updated headers (retry later).
    fn requeue(&self, claim: &Claim, file: &SpoolFile) -> Result<(), SpoolError> {
        let bytes = file
            .to_bytes()
            .map_err(|e| SpoolError::Invalid(e.to_string()))?;
        self.write_atomic(&self.dir(OUTGOING), &claim.name, &bytes, false)?;
        let _ = fs::remove_file(self.dir(SENDING).join(&claim.name));
        Ok(())
    }

    /// Number of messages waiting or being sent.
    pub fn depth(&self) -> u32 {
        let count = |d: &str| {
            entries(&self.dir(d))
                .iter()
                .filter(|e| {
                    let n = e.file_name();
                    let b = n.as_encoded_bytes();
                    !b.starts_with(b".") && !b.ends_with(b".LOCK")
                })
                .count() as u32
        };
        count(OUTGOING) + count(SENDING)
    }
}

/// The entries of `dir` (none when it cannot be read). Every listing of the spool goes through
/// this one non-generic loop (smaller than an iterator chain over `ReadDir` at each place).
#[inline(never)]
pub(crate) fn entries(dir: &Path) -> Vec<fs::DirEntry> {
    fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).collect())
        .unwrap_or_default()
}

/// A file in `outgoing/` that may be taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueEntry {
    pub name: OsString,
    pub high: bool,
    pub mtime: SystemTime,
}

/// Removes and returns the entry to send next: `Priority: high` first, then oldest first, then by
/// name. (Selection instead of a sort: queues are short and it keeps the binary small.)
pub fn take_next(entries: &mut Vec<QueueEntry>) -> Option<QueueEntry> {
    let first = entries
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| {
            b.high
                .cmp(&a.high)
                .then(a.mtime.cmp(&b.mtime))
                .then(a.name.cmp(&b.name))
        })
        .map(|(i, _)| i)?;
    Some(entries.swap_remove(first))
}

/// smsd's rules for names in `outgoing/`: no dot files, no `*.LOCK`, nothing with a `NAME.LOCK`
/// companion (the writer still holds it). `all` must be sorted (a backlog of n files then costs
/// n log n, not n² comparisons per scan).
pub fn is_candidate_name(name: &OsStr, all: &[OsString]) -> bool {
    let b = name.as_encoded_bytes();
    if b.is_empty() || b.starts_with(b".") || b.ends_with(b".LOCK") {
        return false;
    }
    let mut lock = name.to_os_string();
    lock.push(".LOCK");
    all.binary_search(&lock).is_err()
}

/// An empty file is a placeholder still to be filled (`mktemp` in `outgoing/` followed by `mv`
/// over it, as smstools' `sendsms` does) until it is a minute old.
fn is_young_empty(meta: &fs::Metadata, now: SystemTime) -> bool {
    meta.len() == 0
        && meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_none_or(|age| age < Duration::from_secs(60))
}

fn retry_at(file: &SpoolFile) -> Option<SystemTime> {
    let secs: u64 = file.header(HDR_RETRY_AT)?.parse().ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// The first 4 KiB of a file (enough for the headers).
fn read_head(path: &Path) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Ok(f) = File::open(path) {
        // `&File` like `claim`: one `read_to_end` instantiation in the binary, not two.
        let _ = (&f).take(4096).read_to_end(&mut buf);
    }
    buf
}

/// A claimed message: its file sits in `sending/` and is flocked until this is dropped.
struct Claim {
    name: OsString,
    bytes: Vec<u8>,
    _lock: File,
}

fn lock_exclusive(file: &File) -> io::Result<()> {
    // SAFETY: flock on a file descriptor we own; no memory is passed.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The open file is still the one at `path` (not renamed away or replaced since it was opened).
fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Somebody has the file open for writing (a program writing straight into `outgoing/`).
/// Linux refuses a read lease on a file that is open for writing; without lease support (not
/// root, lease-disabled) a file modified within the last two seconds counts as still being written.
fn being_written(file: &File) -> bool {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl lease commands on a file descriptor we own; no memory is passed.
    let r = unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) };
    if r == 0 {
        // SAFETY: as above.
        unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK) };
        return false;
    }
    if io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN) {
        return true;
    }
    file.metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .is_none_or(|age| age < Duration::from_secs(2))
}

#[cfg(test)]
mod tests;
