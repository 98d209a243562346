//! Orderly stop: SIGTERM, SIGINT and SIGHUP (a closed terminal, or a `kill -HUP` meant as
//! "reload": there is nothing to reload, and its default action would end the process in the
//! middle of a send) are blocked in every thread (before any thread starts) except one waiting
//! thread, which runs the stop action (let the sender record the part in flight, then exit 0). The
//! handler only writes the signal number into a pipe that thread reads, so it also works when a
//! signal lands in a thread that unblocks everything while it waits: there it interrupts the wait,
//! which the AT layer retries.
//!
//! Owns the process's disposition of these three signals only. It must not know what stopping
//! means for the spool or the modem: `main` passes that in.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

/// The write end of the signal pipe (-1 before `prepare_stop_signals`).
static PIPE_W: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    let byte = sig as u8;
    // SAFETY: write(2) is async-signal-safe; one byte from a live stack variable. A full pipe
    // (signals far faster than the thread reads) loses only repeats of a stop already under way.
    unsafe {
        libc::write(
            PIPE_W.load(Ordering::Relaxed),
            (&byte as *const u8).cast(),
            1,
        )
    };
}

/// The signals a stop comes with.
fn stop_set() -> io::Result<libc::sigset_t> {
    // SAFETY: the set is initialised by sigemptyset before it is read.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        if libc::sigemptyset(&mut set) != 0
            || libc::sigaddset(&mut set, libc::SIGTERM) != 0
            || libc::sigaddset(&mut set, libc::SIGINT) != 0
            || libc::sigaddset(&mut set, libc::SIGHUP) != 0
        {
            return Err(io::Error::last_os_error());
        }
        Ok(set)
    }
}

fn mask(how: libc::c_int, set: &libc::sigset_t) -> io::Result<()> {
    // SAFETY: `set` is initialised; the old mask is not asked for.
    let r = unsafe { libc::pthread_sigmask(how, set, std::ptr::null_mut()) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(r))
    }
}

/// Installs the handler and blocks the stop signals in the calling thread and so in every thread
/// it starts afterwards. Returns the pipe end to pass to [`on_stop_signal`].
pub fn prepare_stop_signals() -> io::Result<OwnedFd> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 returns.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nothing else; the write end
    // lives for the rest of the process (the handler may run at any time).
    let read = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    PIPE_W.store(fds[1], Ordering::Relaxed);
    let set = stop_set()?;
    mask(libc::SIG_BLOCK, &set)?;
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction with a valid handler and an empty mask; the old action is
        // not asked for.
        let r = unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            act.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(sig, &act, std::ptr::null_mut())
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(read)
}

/// Starts the thread that takes the stop signals and then runs `on_stop` with the signal number.
pub fn on_stop_signal(pipe: OwnedFd, on_stop: Box<dyn FnOnce(i32) + Send>) -> io::Result<()> {
    crate::modem::spawn_named(
        "signals",
        Box::new(move || {
            if let Err(e) = stop_set().and_then(|s| mask(libc::SIG_UNBLOCK, &s)) {
                eprintln!("smsgw: cannot unblock SIGTERM in the signal thread: {e}");
            }
            let mut byte = 0u8;
            loop {
                // SAFETY: reads one byte into a live stack variable.
                let n = unsafe { libc::read(pipe.as_raw_fd(), (&mut byte as *mut u8).cast(), 1) };
                if n == 1 {
                    return on_stop(i32::from(byte));
                }
                if n == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                    return eprintln!("smsgw: signal pipe failed; SIGTERM will not stop cleanly");
                }
            }
        }),
    )
}
