//! The serial port to the modem: a tty opened 8N1 raw at a given speed, read and written through
//! `poll` with a short timeout (what the AT loop needs). Replaces the `serialport` crate in the
//! router binary (with `nix` it cost about 9 KB for these few system calls); it mirrors what
//! serialport 4.8.1 does on Linux: `O_NOCTTY`, `TIOCEXCL` + `flock`, `cfmakeraw` with
//! `CREAD | CLOCAL`, then parity/flow control off, 8 data bits, 1 stop bit, the speed via
//! `cfsetspeed`. It must not know AT or modem policy.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

/// An open tty; closed on drop.
#[derive(Debug)]
pub struct SerialPort {
    fd: OwnedFd,
    /// `poll` timeout of each read or write, in milliseconds.
    timeout_ms: libc::c_int,
}

/// The rates serialport accepts on Linux/musl and their `termios` constants (a table: a `match`
/// compiles to a much larger compare chain on MIPS).
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

/// `termios` speed constant of `baud`.
pub fn speed(baud: u32) -> Option<libc::speed_t> {
    SPEEDS.iter().find(|(b, _)| *b == baud).map(|&(_, s)| s)
}

fn check(r: libc::c_int) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn get_termios(fd: libc::c_int) -> io::Result<libc::termios> {
    // SAFETY: termios is plain data; tcgetattr fills it (the result is checked).
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: `t` is a valid out pointer for the call.
    check(unsafe { libc::tcgetattr(fd, &mut t) })?;
    Ok(t)
}

impl SerialPort {
    /// Opens `path` 8N1 raw at `speed` (from [`speed`]); reads and writes wait at most `timeout`
    /// each.
    pub fn open(path: &str, speed: libc::speed_t, timeout: Duration) -> io::Result<SerialPort> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
            .open(path)?;
        let port = SerialPort {
            fd: OwnedFd::from(file),
            timeout_ms: timeout.as_millis().min(60_000) as libc::c_int,
        };
        let fd = port.fd.as_raw_fd();
        // SAFETY: ioctl/flock/fcntl/tc* calls on a descriptor we own; termios structs are valid.
        unsafe {
            check(libc::ioctl(fd, libc::TIOCEXCL))?;
            check(libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB))?;
            let mut t = get_termios(fd)?;
            t.c_cflag |= libc::CREAD | libc::CLOCAL;
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(fd, libc::TCSANOW, &t);
            let actual = get_termios(fd)?;
            if (
                actual.c_iflag,
                actual.c_oflag,
                actual.c_lflag,
                actual.c_cflag,
            ) != (t.c_iflag, t.c_oflag, t.c_lflag, t.c_cflag)
            {
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
            check(libc::fcntl(fd, libc::F_SETFL, 0))?;
            let mut t = get_termios(fd)?;
            t.c_cflag &=
                !(libc::PARENB | libc::PARODD | libc::CRTSCTS | libc::CSIZE | libc::CSTOPB);
            t.c_cflag |= libc::CS8;
            t.c_iflag &= !(libc::INPCK | libc::IXON | libc::IXOFF);
            t.c_iflag |= libc::IGNPAR;
            check(libc::cfsetspeed(&mut t, speed))?;
            check(libc::tcsetattr(fd, libc::TCSANOW, &t))?;
        }
        Ok(port)
    }

    /// Waits for `events` like serialport does: timeout = `TimedOut`, hang-up = `BrokenPipe`.
    fn wait(&self, events: libc::c_short) -> io::Result<()> {
        let mut p = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut p, 1, self.timeout_ms) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n != 1 {
            return Err(io::ErrorKind::TimedOut.into());
        }
        if p.revents == events {
            Ok(())
        } else if p.revents & (libc::POLLHUP | libc::POLLNVAL) != 0 {
            Err(io::Error::from_raw_os_error(libc::EPIPE))
        } else {
            Err(io::Error::from_raw_os_error(libc::EIO))
        }
    }
}

impl Read for SerialPort {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.wait(libc::POLLIN)?;
        // SAFETY: reads at most `buf.len()` bytes into `buf`.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }
}

impl Write for SerialPort {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.wait(libc::POLLOUT)?;
        // SAFETY: writes at most `buf.len()` bytes from `buf`.
        let n = unsafe { libc::write(self.fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        // SAFETY: tcdrain on a descriptor we own.
        check(unsafe { libc::tcdrain(self.fd.as_raw_fd()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_and_missing_devices() {
        assert_eq!(speed(115_200), Some(libc::B115200));
        assert_eq!(speed(12_345), None);
        let e = SerialPort::open("/nonexistent/tty", libc::B9600, Duration::from_millis(100));
        assert_eq!(
            e.map(|_| ()).map_err(|e| e.kind()),
            Err(io::ErrorKind::NotFound)
        );
    }
}
