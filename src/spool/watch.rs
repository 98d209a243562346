//! Directory watch: a thread that pokes the sender whenever something lands in `outgoing/` (moved
//! in, closed after writing, a `.LOCK` removed), and watches it again when the directory is
//! removed and re-created.
//!
//! Owns only the inotify descriptor (closed when the thread ends). It must not read or move spool
//! files: the sender rescans every second anyway, this only makes it prompt.

use super::{Spool, OUTGOING};
use crate::modem::spawn_named;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;
use std::time::Duration;

const MASK: u32 = libc::IN_MOVED_TO | libc::IN_CLOSE_WRITE | libc::IN_DELETE;
/// At most one wake-up of the sender per this long from here.
const BATCH: Duration = Duration::from_millis(10);

/// Starts the watch thread. False when inotify is unavailable.
pub fn watch_outgoing(spool: &Arc<Spool>) -> bool {
    let Ok(path) = CString::new(spool.dir(OUTGOING).as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: plain syscall without pointers.
    let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
    if fd < 0 {
        return false;
    }
    // SAFETY: `fd` was just returned by inotify_init1 and is owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    if !add_watch(&fd, &path) {
        return false;
    }
    let spool = spool.clone();
    spawn_named(
        "spool-watch",
        Box::new(move || {
            let mut buf = [0u8; 4096];
            loop {
                // SAFETY: reads into a buffer we own, at most its length.
                let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n < 0 {
                    if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    return; // `fd` is closed here
                }
                if watch_gone(buf.get(..n as usize).unwrap_or_default()) {
                    // `outgoing/` was removed: create the tree again and watch the new one.
                    let _ = spool.ensure_dirs();
                    add_watch(&fd, &path);
                }
                spool.poke();
                // Events of the next few milliseconds wait in the kernel and come in one read: a
                // burst of files costs this thread (and each writer's rename) a wake-up per
                // batch, not per file. The first file after a quiet spell is seen at once.
                std::thread::sleep(BATCH);
            }
        }),
    )
    .is_ok()
}

fn add_watch(fd: &OwnedFd, path: &CString) -> bool {
    // SAFETY: `path` is a valid NUL-terminated string for the call's duration.
    unsafe { libc::inotify_add_watch(fd.as_raw_fd(), path.as_ptr(), MASK) >= 0 }
}

/// The events in `buf` include `IN_IGNORED` (the watched directory is gone).
fn watch_gone(mut buf: &[u8]) -> bool {
    // struct inotify_event { int wd; uint32_t mask, cookie, len; char name[len]; }
    while let (Some(mask), Some(len)) = (buf.get(4..8), buf.get(12..16)) {
        let word = |b: &[u8]| b.try_into().map_or(0, u32::from_ne_bytes);
        if word(mask) & libc::IN_IGNORED != 0 {
            return true;
        }
        buf = buf.get(16 + word(len) as usize..).unwrap_or_default();
    }
    false
}
