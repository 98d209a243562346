//! The queue side of the spool: listing `outgoing/` (smsd's naming rules, priority order, retry
//! times as written), claiming a file (no-follow non-blocking open of a regular file, lock, rename
//! into `sending/`), recovery of claims left by dead processes, and moving a claim on (`sent/`,
//! `failed/`, back to `outgoing/`) without ever replacing another file.
//!
//! It reads files but never decides what to send or when (the sender does), and never reads a
//! clock: callers pass the time.

use super::clock::{Ages, Now};
use super::format::SpoolFile;
use super::{
    rename_noreplace, Spool, SpoolError, FAILED, HDR_ATTEMPTS, HDR_RETRY_AT, MAX_FILE_BYTES,
    OUTGOING, PART_PREFIX, SENDING, TMP,
};
use crate::http::read_capped;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirEntryExt, MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A file in `outgoing/` that may be taken (unless its retry time has not come).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueEntry {
    pub name: OsString,
    pub high: bool,
    pub mtime: SystemTime,
    /// `Retry_at:` as written (wall clock), and `Attempts:` so far.
    pub retry_at: Option<SystemTime>,
    pub attempts: u32,
    /// Inode number from the directory listing: a file listed again under the same name and
    /// inode is not opened again.
    pub ino: u64,
}

/// What a listing of `outgoing/` found.
#[derive(Default)]
pub struct Scan {
    pub queue: Vec<QueueEntry>,
    /// Entries that are not regular files (symlinks, FIFOs, sockets, devices): never opened.
    pub rejects: Vec<OsString>,
    /// `outgoing/` could not be read (removed with the rest of the spool?).
    pub unreadable: bool,
}

impl Scan {
    /// Messages waiting in `outgoing/` (retries not yet due included).
    pub fn depth(&self) -> u32 {
        self.queue.len() as u32
    }
}

/// A claimed message: its file sits in `sending/` and is locked until this is dropped.
pub struct Claim {
    pub name: OsString,
    pub bytes: Vec<u8>,
    _lock: File,
}

impl Spool {
    /// Lists what `outgoing/` holds, in the order of `sort_queue`. `known` is the rest of an
    /// earlier listing, in that order: its files still there under the same name and inode are
    /// kept as they are, not opened and read again (files come in by rename or are written under
    /// a `.LOCK`, so new content is a new inode or a file that was not a candidate before). A
    /// backlog of thousands then costs one directory listing and one sort per refresh, not
    /// thousands of opens.
    pub(super) fn scan(&self, now: SystemTime, known: Vec<QueueEntry>) -> Scan {
        let dir = self.dir(OUTGOING);
        let mut scan = Scan::default();
        let list = listing(&dir).unwrap_or_else(|| {
            scan.unreadable = true;
            Vec::new()
        });
        let names: Vec<OsString> = list.iter().map(|e| e.file_name()).collect();
        // Names that have a `NAME.LOCK` companion (usually none, a few while writers work).
        let locked: Vec<&[u8]> = names
            .iter()
            .filter_map(|n| n.as_encoded_bytes().strip_suffix(b".LOCK"))
            .collect();
        // The known entries by inode (numbers sort much faster than names), and which are still here.
        let mut by_ino: Vec<(u64, usize)> = known.iter().map(|k| k.ino).zip(0..).collect();
        by_ino.sort_unstable();
        let mut still = vec![false; known.len()];
        let mut fresh = Vec::new();
        for (e, name) in list.iter().zip(&names) {
            if !is_candidate_name(name, &locked) {
                continue;
            }
            match e.file_type() {
                Ok(t) if t.is_file() => {}
                Ok(t) if !t.is_dir() => {
                    scan.rejects.push(name.clone());
                    continue;
                }
                _ => continue,
            }
            let ino = e.ino();
            let listed = by_ino
                .binary_search_by_key(&ino, |&(i, _)| i)
                .ok()
                .and_then(|i| by_ino.get(i))
                .map(|&(_, at)| at)
                .filter(|&at| known.get(at).is_some_and(|k| k.name == *name));
            if let Some(flag) = listed.and_then(|at| still.get_mut(at)) {
                *flag = true;
                continue;
            }
            let Ok((mut file, meta)) = open_regular(&dir.join(name)) else {
                continue;
            };
            if is_young_empty(&meta, now) {
                continue;
            }
            // sized from the file: one read and the one that sees the end (not 32-byte probes)
            let mut head = Vec::with_capacity(meta.len().min(4096) as usize);
            let _ = read_capped(&mut file, 4096, &mut head);
            let parsed = SpoolFile::parse(&head);
            let number = |h: &str| parsed.header(h).and_then(|v| v.parse::<u64>().ok());
            fresh.push(QueueEntry {
                name: name.clone(),
                high: parsed.is_high_priority(),
                mtime: meta.modified().unwrap_or(UNIX_EPOCH),
                retry_at: number(HDR_RETRY_AT)
                    .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s))),
                attempts: number(HDR_ATTEMPTS).map_or(0, |a| a.min(u64::from(u32::MAX)) as u32),
                ino,
            });
        }
        let mut here = still.into_iter();
        scan.queue = known;
        scan.queue.retain(|_| here.next().unwrap_or(false));
        scan.queue.append(&mut fresh);
        sort_queue(&mut scan.queue);
        scan
    }

    /// Claims `outgoing/NAME`: open it (never following a symlink, never blocking on a FIFO), check
    /// the opened file is a regular file, lock it, check it is still that file and nobody is
    /// writing it, read it, move it into `sending/` while holding the lock. `None` = not takeable.
    pub(super) fn claim(&self, name: &OsStr) -> Option<Claim> {
        let path = self.dir(OUTGOING).join(name);
        let (mut file, meta) = open_regular(&path).ok()?;
        file.try_lock().ok()?;
        if !same_file(&meta, &path) || being_written(&file, &meta) {
            return None;
        }
        let mut bytes = Vec::with_capacity(meta.len().min(MAX_FILE_BYTES + 1) as usize);
        read_capped(&mut file, MAX_FILE_BYTES as usize + 1, &mut bytes).ok()?;
        rename_noreplace(&path, &self.dir(SENDING).join(name)).ok()?;
        Some(Claim {
            name: name.to_os_string(),
            bytes,
            _lock: file,
        })
    }

    /// Moves what is not a regular file out of `outgoing/` into `failed/` as it is (the link or the
    /// FIFO itself: nothing is opened or copied). Returns where it went.
    pub(super) fn reject(&self, name: &OsStr) -> io::Result<OsString> {
        place(&self.dir(OUTGOING).join(name), &self.dir(FAILED), name)
    }

    /// Moves files left in `sending/` by a dead process (their lock is free) back to `outgoing/`
    /// (under a new name if `outgoing/` has a newer file of that name), and removes temporary files
    /// (`tmp/*`, `.smsgw-part-*`) older than an hour. Returns how many messages were recovered.
    pub fn recover(&self, ages: &Ages, now: Now) -> usize {
        let sending = self.dir(SENDING);
        let mut recovered = 0;
        for e in &entries(&sending) {
            let path = e.path();
            let Ok((file, meta)) = open_regular(&path) else {
                continue;
            };
            if file.try_lock().is_err() || !same_file(&meta, &path) {
                continue;
            }
            if place(&path, &self.dir(OUTGOING), &e.file_name()).is_ok() {
                recovered += 1;
            }
        }
        for dir in [TMP, OUTGOING, super::SENT, FAILED] {
            for e in &entries(&self.dir(dir)) {
                let name = e.file_name();
                if dir != TMP && !name.as_encoded_bytes().starts_with(PART_PREFIX.as_bytes()) {
                    continue;
                }
                let old = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|m| ages.age(m, now) > Duration::from_secs(3600));
                if old {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        recovered
    }

    /// Finishes a claim: writes `file` as the final content of `dest/NAME` (`sent/` or `failed/`;
    /// `NAME.NNNN` when that name is taken). The claimed inode is moved first (the message is then
    /// done for good), the rewritten content replaces it after; when that rewrite fails (full
    /// disk, or an oversized file read only in part) the original content stays.
    pub(super) fn finish(
        &self,
        claim: &Claim,
        dest: &str,
        file: &SpoolFile,
    ) -> io::Result<std::path::PathBuf> {
        let dest_dir = self.dir(dest);
        let from = self.dir(SENDING).join(&claim.name);
        let name = match place(&from, &dest_dir, &claim.name) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && self.ensure_dirs().is_ok() => {
                place(&from, &dest_dir, &claim.name)?
            }
            r => r?,
        };
        if claim.bytes.len() as u64 <= MAX_FILE_BYTES {
            if let Ok(bytes) = file.to_bytes() {
                let _ = self.write_atomic(&dest_dir, &name, &bytes, false, true);
            }
        }
        Ok(dest_dir.join(name))
    }

    /// Puts a claimed message back into `outgoing/` with updated headers (retry later), under a new
    /// name if a newer file took its name meanwhile. Returns the name it has now.
    pub(super) fn requeue(&self, claim: &Claim, file: &SpoolFile) -> Result<OsString, SpoolError> {
        let bytes = file
            .to_bytes()
            .map_err(|e| SpoolError::Invalid(e.to_string()))?;
        let out = self.dir(OUTGOING);
        let mut name = claim.name.clone();
        for _ in 0..3 {
            match self.write_atomic(&out, &name, &bytes, false, false) {
                Ok(()) => {
                    let _ = fs::remove_file(self.dir(SENDING).join(&claim.name));
                    return Ok(name);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    name = renamed(&claim.name);
                }
                Err(e) => {
                    self.set_writable(false);
                    return Err(e.into());
                }
            }
        }
        Err(io::Error::from(io::ErrorKind::AlreadyExists).into())
    }
}

/// Moves `from` to `dir/name`, or to `dir/name.NNNN` when `dir/name` exists: never replaces a
/// file. Returns the name used.
fn place(from: &Path, dir: &Path, name: &OsStr) -> io::Result<OsString> {
    let mut target = name.to_os_string();
    for _ in 0..3 {
        match rename_noreplace(from, &dir.join(&target)) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => target = renamed(name),
            r => return r.map(|()| target),
        }
    }
    Err(io::Error::from(io::ErrorKind::AlreadyExists))
}

/// `name.NNNN` with 32 random bits in decimal (a name that is free with near certainty).
fn renamed(name: &OsStr) -> OsString {
    let mut n = name.to_os_string();
    let r = getrandom::u32().unwrap_or_else(|_| std::process::id());
    n.push(format!(".{r}"));
    n
}

/// Opens a spool file for reading without following a symlink and without blocking on a FIFO, and
/// checks that what was opened is a regular file. Returns it with its metadata.
pub(super) fn open_regular(path: &Path) -> io::Result<(File, fs::Metadata)> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if meta.is_file() {
        Ok((file, meta))
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ))
    }
}

/// A whole file (`fs::read` without its own copy of std's read-to-end code: every file read of
/// the spool goes through the gateway's one capped reader).
pub(crate) fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    read_capped(&mut File::open(path)?, usize::MAX, &mut bytes)?;
    Ok(bytes)
}

/// A whole UTF-8 file (`fs::read_to_string` without std's read-to-end code: the same reader as
/// [`read_file`]); not UTF-8 is `InvalidData`, with std's words.
pub(crate) fn read_text(path: &Path) -> io::Result<String> {
    String::from_utf8(read_file(path)?).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// The entries of `dir` (none when it cannot be read). Every listing of the spool goes through
/// this one non-generic loop (smaller than an iterator chain over `ReadDir` at each place).
pub(crate) fn entries(dir: &Path) -> Vec<fs::DirEntry> {
    listing(dir).unwrap_or_default()
}

/// The entries of `dir`; `None` when it cannot be read.
#[inline(never)]
fn listing(dir: &Path) -> Option<Vec<fs::DirEntry>> {
    fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).collect())
        .ok()
}

/// The order of [`take_next`], reversed: the entry to send next (`Priority: high` first, then
/// oldest first, then by name) is the greatest.
fn later(a: &QueueEntry, b: &QueueEntry) -> std::cmp::Ordering {
    a.high
        .cmp(&b.high)
        .then(b.mtime.cmp(&a.mtime))
        .then(b.name.cmp(&a.name))
}

/// Newest first: (time, name, index) keys in descending order. The listings of `incoming/` and
/// of the outgoing boxes share this one copy of the sort code (each element type sorted by its
/// own comparator is another ~1 KB in the router binary).
pub(crate) fn sort_newest_first(keys: &mut [(u64, String, usize)]) {
    keys.sort_unstable_by(|a, b| b.cmp(a));
}

/// Sorts a listing for [`take_next`] (the entry to send next last).
fn sort_queue(entries: &mut [QueueEntry]) {
    entries.sort_unstable_by(later);
}

/// Removes and returns the entry to send next from a listing sorted by [`sort_queue`].
pub fn take_next(entries: &mut Vec<QueueEntry>) -> Option<QueueEntry> {
    entries.pop()
}

/// smsd's rules for names in `outgoing/`: no dot files, no `*.LOCK`, nothing with a `NAME.LOCK`
/// companion (the writer still holds it). `locked`: the names that have such a companion (a
/// handful at most, so a backlog of n files costs n short checks, not n² comparisons).
pub fn is_candidate_name(name: &OsStr, locked: &[&[u8]]) -> bool {
    let b = name.as_encoded_bytes();
    if b.is_empty() || b.starts_with(b".") || b.ends_with(b".LOCK") {
        return false;
    }
    !locked.contains(&b)
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

/// The open file (`meta`) is still the one at `path` (not renamed away or replaced since).
fn same_file(meta: &fs::Metadata, path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|b| meta.dev() == b.dev() && meta.ino() == b.ino())
}

/// Somebody has the file open for writing (a program writing straight into `outgoing/`).
/// Linux refuses a read lease on a file that is open for writing; without lease support (not
/// root, lease-disabled) a file modified within the last two seconds counts as still being written.
fn being_written(file: &File, meta: &fs::Metadata) -> bool {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl lease commands on a file descriptor we own; no memory is passed.
    let r = unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) };
    if r == 0 {
        // SAFETY: as above. Failing to drop the lease only delays a writer by the lease break
        // time; the lock is released with the descriptor anyway.
        if unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK) } != 0 {
            eprintln!(
                "smsgw: cannot release a read lease: {}",
                io::Error::last_os_error()
            );
        }
        return false;
    }
    if io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN) {
        return true;
    }
    meta.modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .is_none_or(|age| age < Duration::from_secs(2))
}
