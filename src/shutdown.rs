//! Orderly stop: SIGTERM and SIGINT are blocked in every thread (before any thread starts) and
//! taken by one thread with `sigwait`, which runs the stop action (let the sender record the part
//! in flight, then exit 0).
//!
//! Owns the process's signal mask for these two signals only. It must not know what stopping
//! means for the spool or the modem: `main` passes that in.

use std::io;

/// Blocks SIGTERM and SIGINT in the calling thread and so in every thread it starts afterwards.
/// Returns the set to wait for.
pub fn block_stop_signals() -> io::Result<libc::sigset_t> {
    // SAFETY: the set is initialised by sigemptyset before use; pthread_sigmask only reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        if libc::sigemptyset(&mut set) != 0
            || libc::sigaddset(&mut set, libc::SIGTERM) != 0
            || libc::sigaddset(&mut set, libc::SIGINT) != 0
        {
            return Err(io::Error::last_os_error());
        }
        let r = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        Ok(set)
    }
}

/// Starts a thread that waits for a signal of `set` and then runs `on_stop`.
pub fn on_stop_signal(set: libc::sigset_t, on_stop: Box<dyn FnOnce(i32) + Send>) -> io::Result<()> {
    crate::modem::spawn_named(
        "signals",
        Box::new(move || {
            let mut sig: libc::c_int = 0;
            // SAFETY: `set` is an initialised signal set, `sig` a valid out pointer.
            while unsafe { libc::sigwait(&set, &mut sig) } != 0 {}
            on_stop(sig);
        }),
    )
}
