//! Durable message spool in the smstools3 layout under one root: `outgoing/` (queue), `sending/`
//! (claimed, being sent), `sent/`, `failed/`, `tmp/` (atomic writes on the same filesystem).
//!
//! Owns the spool's directories (created again when removed), atomic submission (one buffer, one
//! write, fsync, rename without replacing, directory fsync) and unique message ids. The queue
//! (`queue`: listing, claiming, recovery, finishing), the file format (`format`) and the sender
//! (`sender` with `retention`, `hook`, `watch`) live in the sub-modules. It must not parse HTTP or
//! speak AT: the sender hands encoded parts to an `SmsSender`.

mod clock;
pub mod deliveries;
#[cfg(test)]
mod deliveries_tests;
pub mod format;
mod hook;
pub mod incoming;
pub mod outbox;
mod queue;
mod reassembly;
mod retention;
mod sender;
mod watch;

pub use clock::Now;
pub(crate) use queue::read_text;
pub use queue::{take_next, QueueEntry};
pub use sender::Sender;

use crate::pdu;
use std::ffi::{CString, OsStr, OsString};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
const DIRS: [&str; 5] = [OUTGOING, SENDING, SENT, FAILED, TMP];

/// Prefix of the sender's temporary dot files in `outgoing/`, `sent/`, `failed/`.
const PART_PREFIX: &str = ".smsgw-part-";

/// Larger files are not SMS text; they are failed without being read whole.
pub const MAX_FILE_BYTES: u64 = 64 * 1024;

/// Our own header: attempts made so far (smsd ignores unknown headers).
pub const HDR_ATTEMPTS: &str = "Attempts";
/// Our own header: not before this UNIX time (retry backoff; capped at the backoff on reading).
pub const HDR_RETRY_AT: &str = "Retry_at";
/// Our own headers: a multi-part message interrupted by a transient error resumes after the parts
/// already sent, with the same concatenation reference.
pub const HDR_PARTS_SENT: &str = "Parts_sent";
pub const HDR_CONCAT_REF: &str = "Concat_ref";

/// Creates `path` (never an existing file) with mode 0600, writes `bytes` and fsyncs it: the
/// first half of every durable spool write (the caller renames or links it into place).
/// `sync` false: the file is on a filesystem in memory, where fsync is a no-op.
pub(crate) fn create_synced(path: &Path, bytes: &[u8], sync: bool) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    if sync {
        f.sync_all()?;
    }
    Ok(())
}

/// `path` is on a filesystem that keeps nothing across a power cut (tmpfs or ramfs, like `/var`
/// on OpenWrt): `fsync` of its files and directories is a no-op there that still costs system
/// calls (for a directory an `open` as well) on every message.
fn in_memory(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: `c` is a valid NUL-terminated path and `st` is writable memory of the right type.
    if unsafe { libc::statfs(c.as_ptr(), st.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: statfs returned 0, so it filled `st`.
    let kind = unsafe { st.assume_init() }.f_type as u32;
    // ramfs: 0x858458f6 (linux/magic.h; the libc crate does not name it)
    kind == libc::TMPFS_MAGIC as u32 || kind == 0x8584_58f6
}

/// The spool directory tree plus the in-process "new message" signal.
pub struct Spool {
    root: PathBuf,
    wake: (Mutex<bool>, Condvar),
    seq: AtomicUsize,
    /// The last write to the spool (or re-creating its directories) worked.
    writable: AtomicBool,
    /// Every spool directory is on tmpfs/ramfs (checked when opened): writes skip the fsyncs.
    in_memory: bool,
}

impl Spool {
    /// Opens (creating if needed) the spool under `root`.
    pub fn open(root: &Path) -> Result<Spool, SpoolError> {
        let mut spool = Spool {
            root: root.to_path_buf(),
            wake: (Mutex::new(false), Condvar::new()),
            seq: AtomicUsize::new(0),
            writable: AtomicBool::new(true),
            in_memory: false,
        };
        spool.ensure_dirs()?;
        spool.in_memory = DIRS.iter().all(|d| in_memory(&spool.dir(d)));
        Ok(spool)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Creates whatever spool directory is missing (`rm -rf SPOOL/*` is how smstools users clear
    /// a queue). Records the outcome for [`Spool::writable`].
    pub fn ensure_dirs(&self) -> io::Result<()> {
        let made = DIRS
            .iter()
            .try_for_each(|d| fs::create_dir_all(self.dir(d)));
        self.set_writable(made.is_ok());
        made
    }

    /// False after a write to the spool failed for a reason other than the message itself, until
    /// one works again (for `/status`).
    pub fn writable(&self) -> bool {
        self.writable.load(Ordering::Relaxed)
    }

    fn set_writable(&self, ok: bool) {
        self.writable.store(ok, Ordering::Relaxed);
    }

    /// Writes the message atomically into `outgoing/` and wakes the sender. Returns the message id
    /// (the file name). Nothing is ever left half-written in `outgoing/`, and no existing file is
    /// ever replaced.
    pub fn submit(&self, msg: &OutgoingSms) -> Result<String, SpoolError> {
        pdu::validate_number(&msg.to).map_err(|e| SpoolError::Invalid(e.to_string()))?;
        if msg.text.is_empty() {
            return Err(SpoolError::Invalid("message text is empty".into()));
        }
        let bytes = format::file_of(msg)
            .and_then(|f| f.to_bytes())
            .map_err(|e| SpoolError::Invalid(e.to_string()))?;
        let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
        for _ in 0..3 {
            let id = self.new_id();
            match self.write_atomic(&self.dir(OUTGOING), OsStr::new(&id), &bytes, true, false) {
                Ok(()) => {
                    self.poke();
                    return Ok(id);
                }
                // Somebody else's file under this name (or a missing tree, re-created): new id.
                Err(e)
                    if e.kind() == io::ErrorKind::AlreadyExists
                        || (e.kind() == io::ErrorKind::NotFound && self.ensure_dirs().is_ok()) =>
                {
                    last = e
                }
                Err(e) => {
                    self.set_writable(false);
                    return Err(e.into());
                }
            }
        }
        self.set_writable(false);
        Err(last.into())
    }

    /// A message id: seconds, then 64 random bits in decimal (unique across processes with the same pid and
    /// clock, as on a router without RTC booting twice), falling back to pid and a counter.
    fn new_id(&self) -> String {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) as u64;
        let random = getrandom::u64().unwrap_or_else(|_| u64::from(std::process::id()) << 32 | seq);
        format!("smsgw-{secs}-{random}")
    }

    /// Writes `bytes` to `tmp/NAME` (new messages) or to a dot file `dir/.smsgw-part-NAME` (the
    /// sender's rewrites, so `tmp/` only ever holds submissions in flight) with mode 0600 in one
    /// write, fsyncs, renames to `dir/NAME` (replacing a file there only if `replace`: the sender's
    /// own file in `sent/`/`failed/`), fsyncs the directory. On any error the temporary file is
    /// removed and `dir/NAME` is untouched.
    fn write_atomic(
        &self,
        dir: &Path,
        name: &OsStr,
        bytes: &[u8],
        in_tmp: bool,
        replace: bool,
    ) -> io::Result<()> {
        let tmp = if in_tmp {
            self.dir(TMP).join(name)
        } else {
            let mut dot = OsString::from(PART_PREFIX);
            dot.push(name);
            dir.join(dot)
        };
        let written = create_synced(&tmp, bytes, !self.in_memory);
        let target = dir.join(name);
        let moved = written.and_then(|_| {
            if replace {
                fs::rename(&tmp, &target)
            } else {
                rename_noreplace(&tmp, &target)
            }
        });
        if let Err(e) = moved {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        // Persist the rename on flash (a no-op on tmpfs). Failure here is not a lost message.
        if !self.in_memory {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        self.set_writable(true);
        Ok(())
    }

    /// Wakes the sender (new file, or time to look again). A poke already pending is enough: the
    /// sender sees it before it waits again, so a burst of submissions costs one wake-up, not a
    /// futex call each.
    pub fn poke(&self) {
        if let Ok(mut flag) = self.wake.0.lock() {
            if !*flag {
                *flag = true;
                self.wake.1.notify_all();
            }
        }
    }

    /// Waits for a poke, at most `max` (a monotonic wait: clock steps do not change it).
    fn wait(&self, max: Duration) {
        if let Ok(flag) = self.wake.0.lock() {
            if let Ok((mut flag, _)) = self.wake.1.wait_timeout_while(flag, max, |f| !*f) {
                *flag = false;
            }
        }
    }
}

/// `rename(from, to)` that fails with `AlreadyExists` instead of replacing `to`
/// (`renameat2(RENAME_NOREPLACE)`; `link` + `unlink` where the filesystem lacks it).
pub(crate) fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    let nul = |_| io::Error::from(io::ErrorKind::InvalidInput);
    let f = CString::new(from.as_os_str().as_bytes()).map_err(nul)?;
    let t = CString::new(to.as_os_str().as_bytes()).map_err(nul)?;
    // SAFETY: both paths are valid NUL-terminated strings for the duration of the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ENOSYS | libc::EINVAL) => {
            fs::hard_link(from, to)?;
            fs::remove_file(from)
        }
        _ => Err(e),
    }
}

#[cfg(test)]
mod tests;
