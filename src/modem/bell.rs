//! The modem thread's doorbell: a non-blocking self-pipe that the sender and USSD callers ring
//! after posting a request, so the thread, waiting for the port's input, wakes at once instead
//! of at the end of its tick (a message handed over waited up to 100 ms for a serial port).
//!
//! Owns only the pipe and the `poll(2)` on it and the port; it must not know what was posted.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// The two ends of the pipe; `None` when the pipe could not be made (the thread then wakes at
/// its tick, as without a doorbell).
pub struct Bell(Option<(OwnedFd, OwnedFd)>);

/// What [`Bell::wait`] saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Woken {
    /// The port has input (or hung up: its read says which).
    Input,
    /// The bell rang, or the time was up.
    Other,
}

impl Default for Bell {
    fn default() -> Bell {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe2 writes two descriptors into the array it is given.
        let made = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
        if made != 0 {
            return Bell(None);
        }
        let [rd, wr] = fds;
        // SAFETY: both descriptors were just created by pipe2 and are owned by nobody else.
        Bell(Some(unsafe {
            (OwnedFd::from_raw_fd(rd), OwnedFd::from_raw_fd(wr))
        }))
    }
}

impl Bell {
    /// Wakes the waiting thread (a full pipe already does: the byte is not needed).
    pub fn ring(&self) {
        if let Some((_, wr)) = &self.0 {
            // SAFETY: writes one byte from a live buffer to a descriptor this bell owns.
            let _ = unsafe { libc::write(wr.as_raw_fd(), [1u8].as_ptr().cast(), 1) };
        }
    }

    /// Waits up to `timeout` for input on `port` (when given) or a ring; a ring is consumed.
    pub fn wait(&self, port: Option<RawFd>, timeout: Duration) -> Woken {
        let pollfd = |fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let bell = self.0.as_ref().map_or(-1, |(rd, _)| rd.as_raw_fd());
        // A negative descriptor is ignored by poll(2).
        let mut fds = [pollfd(bell), pollfd(port.unwrap_or(-1))];
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: two live pollfd entries, count 2.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
        let [bell_fd, port_fd] = fds;
        if n > 0 && bell_fd.revents != 0 {
            let mut drain = [0u8; 16];
            // SAFETY: reads at most 16 bytes into a live buffer from a descriptor this bell owns.
            while unsafe { libc::read(bell, drain.as_mut_ptr().cast(), drain.len()) } > 0 {}
        }
        if n > 0 && port_fd.revents != 0 {
            Woken::Input
        } else {
            Woken::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_ring_ends_the_wait_at_once_and_is_consumed() {
        let bell = Bell::default();
        bell.ring();
        bell.ring();
        let start = Instant::now();
        assert_eq!(bell.wait(None, Duration::from_secs(5)), Woken::Other);
        assert!(start.elapsed() < Duration::from_secs(4));
        // both rings were consumed: the next wait runs to its timeout
        let start = Instant::now();
        assert_eq!(bell.wait(None, Duration::from_millis(50)), Woken::Other);
        assert!(start.elapsed() >= Duration::from_millis(40));
    }

    #[test]
    fn input_on_the_port_is_reported() {
        let port = Bell::default();
        port.ring(); // the port: a pipe with a byte waiting
        let Some((rd, _)) = &port.0 else {
            panic!("no pipe");
        };
        let bell = Bell::default();
        assert_eq!(
            bell.wait(Some(rd.as_raw_fd()), Duration::from_secs(5)),
            Woken::Input
        );
    }
}
