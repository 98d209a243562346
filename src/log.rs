//! Log lines and command output that never panic.
//!
//! Daemon messages: [`log_info!`] writes `smsgw: ...` to stdout, [`log_warn!`] and
//! [`log_error!`] to stderr; the init script hands procd both streams (procd logs stdout at
//! `info`, stderr at `err`), so `logread` shows normal messages as `daemon.info`. Outside the
//! daemon (`smsgw send`, `ussd`, `at` open the modem themselves) stdout is the command's answer,
//! so routine lines go to stderr with the rest of the diagnostics. Command output
//! (`smsgw at`, `send`, `status`...) goes through [`out`], which reports a closed pipe instead of
//! panicking as `println!` does (the router build aborts on panic). Owns nothing else: it must
//! not decide what is worth logging.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Which stream, and the prefix after `smsgw: `.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// Set by `smsgw serve`: routine lines go to stdout (see the module doc).
static DAEMON: AtomicBool = AtomicBool::new(false);

/// Called once by the daemon before it starts its threads.
pub fn daemon_mode() {
    DAEMON.store(true, Ordering::Relaxed);
}

/// Writes one log line; errors (a closed log pipe) are ignored.
pub fn line(level: Level, args: fmt::Arguments<'_>) {
    let mut s = String::from(match level {
        Level::Info | Level::Error => "smsgw: ",
        Level::Warn => "smsgw: warning: ",
    });
    let _ = fmt::Write::write_fmt(&mut s, args);
    s.push('\n');
    let _ = match level {
        Level::Info if DAEMON.load(Ordering::Relaxed) => write_all(&mut io::stdout().lock(), &s),
        _ => write_all(&mut io::stderr().lock(), &s),
    };
}

fn write_all(w: &mut dyn Write, s: &str) -> io::Result<()> {
    w.write_all(s.as_bytes())?;
    w.flush()
}

/// Writes command output to stdout. `Err` means the reader is gone (closed pipe): the caller
/// may stop producing output; it never panics.
pub fn out(text: &str) -> io::Result<()> {
    write_all(&mut io::stdout().lock(), text)
}

/// Writes a message for the user to stderr (usage, errors of a command); never panics.
pub fn err(text: &str) {
    let _ = write_all(&mut io::stderr().lock(), text);
}

/// [`errln!`]'s body: one non-generic function formats, so each call site only builds its
/// arguments (a `format!` per site costs more on the router).
pub fn err_line(args: fmt::Arguments<'_>) {
    let mut s = String::new();
    let _ = fmt::Write::write_fmt(&mut s, args);
    s.push('\n');
    err(&s);
}

/// A normal daemon message: stdout, logged at `info` by procd.
#[macro_export]
macro_rules! log_info {
    ($($arg:tt)*) => { $crate::log::line($crate::log::Level::Info, format_args!($($arg)*)) };
}

/// Something the admin should look at: stderr, logged at `err` by procd.
#[macro_export]
macro_rules! log_warn {
    ($($arg:tt)*) => { $crate::log::line($crate::log::Level::Warn, format_args!($($arg)*)) };
}

/// A failure: stderr, logged at `err` by procd.
#[macro_export]
macro_rules! log_error {
    ($($arg:tt)*) => { $crate::log::line($crate::log::Level::Error, format_args!($($arg)*)) };
}

/// A line for the user on stderr (usage, a command's error), without the log prefix: what
/// `eprintln!` does, minus its panic when stderr is a closed pipe.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => { $crate::log::err_line(format_args!($($arg)*)) };
}
