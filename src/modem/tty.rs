//! The serial port: open a tty by path (exclusive, 8N1, raw, no flow control, the given speed) and
//! read/write it with a short timeout, in plain termios calls (as serialport 4.8.1 did, which this
//! replaces: the crate and its `nix` dependency cost about 7 KB in the router binary, most of it
//! a second table of errno texts).
//!
//! Owns only the descriptor and its settings; it must not know AT or the modem's state.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::time::Instant;

/// How long a read or write waits for the port (the driver loop's tick), in milliseconds.
const TIMEOUT_MS: libc::c_int = 100;

/// The speeds termios knows, with their constants.
const SPEEDS: [(u32, libc::speed_t); 30] = [
    (50, libc::B50),
    (75, libc::B75),
    (110, libc::B110),
    (134, libc::B134),
    (150, libc::B150),
    (200, libc::B200),
    (300, libc::B300),
    (600, libc::B600),
    (1200, libc::B1200),
    (1800, libc::B1800),
    (2400, libc::B2400),
    (4800, libc::B4800),
    (9600, libc::B9600),
    (19_200, libc::B19200),
    (38_400, libc::B38400),
    (57_600, libc::B57600),
    (115_200, libc::B115200),
    (230_400, libc::B230400),
    (460_800, libc::B460800),
    (500_000, libc::B500000),
    (576_000, libc::B576000),
    (921_600, libc::B921600),
    (1_000_000, libc::B1000000),
    (1_152_000, libc::B1152000),
    (1_500_000, libc::B1500000),
    (2_000_000, libc::B2000000),
    (2_500_000, libc::B2500000),
    (3_000_000, libc::B3000000),
    (3_500_000, libc::B3500000),
    (4_000_000, libc::B4000000),
];

/// The termios constant of `baud`, if it is one of the speeds termios knows.
pub fn speed(baud: u32) -> Option<libc::speed_t> {
    SPEEDS.iter().find(|(b, _)| *b == baud).map(|&(_, s)| s)
}

/// An open serial port.
pub struct Tty {
    fd: OwnedFd,
}

fn check(r: libc::c_int) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn failed(why: &'static str) -> io::Error {
    io::Error::other(why)
}

impl Tty {
    /// Opens `path` at `baud`: exclusive (`TIOCEXCL` and `flock`), raw, 8N1, no flow control,
    /// modem control lines ignored.
    pub fn open(path: &str, baud: u32) -> io::Result<Tty> {
        let Some(speed) = speed(baud) else {
            return Err(failed("Unsupported baud rate"));
        };
        let fd: OwnedFd = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
            .open(path)?
            .into();
        let raw = fd.as_raw_fd();
        // SAFETY: plain ioctl/flock/fcntl/termios calls on a descriptor `fd` owns and keeps open;
        // the termios structs are plain data, filled by tcgetattr before they are used.
        unsafe {
            check(libc::ioctl(raw, libc::TIOCEXCL))?;
            if libc::flock(raw, libc::LOCK_EX | libc::LOCK_NB) != 0 {
                let e = io::Error::last_os_error();
                return Err(if e.kind() == io::ErrorKind::WouldBlock {
                    failed("in use by another program")
                } else {
                    e
                });
            }
            let mut t: libc::termios = std::mem::zeroed();
            check(libc::tcgetattr(raw, &mut t))?;
            t.c_cflag |= libc::CREAD | libc::CLOCAL;
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(raw, libc::TCSANOW, &t);
            let mut a: libc::termios = std::mem::zeroed();
            libc::tcgetattr(raw, &mut a);
            if (a.c_iflag, a.c_oflag, a.c_lflag, a.c_cflag)
                != (t.c_iflag, t.c_oflag, t.c_lflag, t.c_cflag)
            {
                return Err(failed("Settings did not apply correctly"));
            }
            check(libc::fcntl(raw, libc::F_SETFL, 0))?;
            // no parity, no flow control, 8 data bits, 1 stop bit
            a.c_cflag &=
                !(libc::PARENB | libc::PARODD | libc::CRTSCTS | libc::CSIZE | libc::CSTOPB);
            a.c_cflag |= libc::CS8;
            a.c_iflag &= !(libc::INPCK | libc::IXON | libc::IXOFF);
            a.c_iflag |= libc::IGNPAR;
            check(libc::cfsetspeed(&mut a, speed))?;
            check(libc::tcsetattr(raw, libc::TCSANOW, &a))?;
        }
        Ok(Tty { fd })
    }

    /// Waits up to the timeout until the port is ready for `events`.
    fn wait(&self, events: libc::c_short) -> io::Result<()> {
        let mut p = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events,
            revents: 0,
        };
        // SAFETY: one live pollfd, count 1.
        match unsafe { libc::poll(&mut p, 1, TIMEOUT_MS) } {
            n if n < 0 => Err(io::Error::last_os_error()),
            0 => Err(io::ErrorKind::TimedOut.into()),
            _ if p.revents == events => Ok(()),
            _ if p.revents & (libc::POLLHUP | libc::POLLNVAL) != 0 => {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            _ => Err(failed("I/O error")),
        }
    }
}

impl AsRawFd for Tty {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}

fn done(n: isize) -> io::Result<usize> {
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

impl Read for Tty {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.wait(libc::POLLIN)?;
        // SAFETY: reads at most `buf.len()` bytes into `buf`.
        done(unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })
    }
}

impl Write for Tty {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.wait(libc::POLLOUT)?;
        // SAFETY: writes at most `buf.len()` bytes from `buf`.
        done(unsafe { libc::write(self.fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) })
    }

    /// Waits until everything written has left; an interrupted wait is retried within the timeout.
    fn flush(&mut self) -> io::Result<()> {
        let until = Instant::now() + std::time::Duration::from_millis(TIMEOUT_MS as u64);
        loop {
            // SAFETY: tcdrain on a descriptor this port owns.
            if unsafe { libc::tcdrain(self.fd.as_raw_fd()) } == 0 {
                return Ok(());
            }
            if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return Err(failed("flush failed"));
            }
            if Instant::now() >= until {
                return Err(failed("timeout for retrying flush reached"));
            }
        }
    }
}
