//! CGI mode: the same binary run by uhttpd (`GATEWAY_INTERFACE` set, symlinked as
//! `/www/cgi-bin/sms`) answers one `/cgi-bin/sms` request from the environment and stdin.
//!
//! Owns the CGI side: reading the UCI file (`/etc/config/smsgw`, or `$SMSGW_CONFIG`; parsed by
//! `config::uci`), the CGI environment and response format. The storm guard's state lives in `SPOOL/.http-guard`, locked with
//! `flock` so concurrent CGI processes agree. There is no sender thread here: the daemon picks the
//! file up from `outgoing/`. Must not talk to the modem.

use super::guard::{GuardClock, Refusal, StormGuard};
use super::{auth, Gateway, GuardStore, HttpRequest, Policy, Reply};
use crate::config::{uci, DEFAULT_UCI_FILE};
use crate::spool::Spool;
use crate::status::GatewayStatus;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// File in the spool root holding the CGI storm-guard state.
pub const GUARD_FILE: &str = ".http-guard";

/// Seconds since boot (`CLOCK_BOOTTIME`: counts suspend, never stepped by NTP or `date`).
fn boot_seconds() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the valid, exclusively borrowed `ts`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    // on failure 0: treated like a reboot, the guard's time stands still (never expires early)
    if rc == 0 {
        u64::try_from(ts.tv_sec).unwrap_or(0)
    } else {
        0
    }
}

/// The CGI guard: state in a file, one `flock`ed read-modify-write per call; time is the
/// [`GuardClock`] kept in the same file, never the wall clock.
struct FileGuard {
    path: PathBuf,
    limit: u32,
    window: u64,
    /// Seconds since boot ([`boot_seconds`]; injected in tests).
    boot_clock: fn() -> u64,
}

impl FileGuard {
    /// One locked read-modify-write; `f` gets the state and the Unix time. (A `dyn` callback:
    /// admit and release share one copy of this code in the router binary.)
    fn update(&self, f: &mut dyn FnMut(&mut StormGuard, u64)) -> Result<(), String> {
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        // SAFETY: flock on an fd we own for the duration of the call; no memory is shared.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(format!("cannot lock {}", self.path.display()));
        }
        let mut raw = Vec::new();
        let _ = super::read_capped(&mut file, 1 << 20, &mut raw);
        // unreadable (not UTF-8) state starts afresh, as `read_to_string` did
        let text = String::from_utf8(raw).unwrap_or_default();
        let (mut g, last) = StormGuard::from_text(self.limit, self.window, &text);
        let clock = GuardClock::advance(last, (self.boot_clock)());
        f(&mut g, clock.now);
        let mut state = g.to_text();
        clock.push_text(&mut state);
        let written = file
            .seek(SeekFrom::Start(0))
            .and_then(|_| file.set_len(0))
            .and_then(|_| file.write_all(state.as_bytes()));
        written.map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

impl GuardStore for FileGuard {
    fn admit(&self, recipients: &[String], text: &str) -> Result<(), Refusal> {
        if self.limit == 0 && self.window == 0 {
            return Ok(());
        }
        let mut verdict = Ok(());
        match self.update(&mut |g, now| verdict = g.admit(now, recipients, text)) {
            Ok(()) => verdict,
            // fail closed: an unusable guard file must not let a storm through
            Err(e) => Err(Refusal::RateLimited {
                limit: self.limit,
                retry_after: {
                    crate::log_error!("cgi: storm guard unavailable: {e}");
                    60
                },
            }),
        }
    }
    fn release(&self, recipients: &[String], text: &str) {
        let _ = self.update(&mut |g, _| g.release(recipients, text));
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Builds the request from CGI variables (RFC 3875) and stdin.
fn request_from_env(stdin: &mut dyn Read) -> Result<HttpRequest, Reply> {
    let length = env("CONTENT_LENGTH")
        .map(|v| v.trim().parse::<usize>().unwrap_or(usize::MAX))
        .unwrap_or(0);
    if length > super::MAX_BODY_BYTES {
        return Err(Reply::text(413, "request body too large"));
    }
    let mut body = Vec::with_capacity(length);
    let _ = super::read_capped(stdin, length, &mut body);
    if body.len() < length {
        // stdin ended early (the client went away mid-body): never queue a cut message
        return Err(Reply::text(400, "incomplete request body"));
    }
    Ok(HttpRequest {
        method: env("REQUEST_METHOD").unwrap_or_else(|| "GET".into()),
        path: "/cgi-bin/sms".into(),
        query: env("QUERY_STRING").unwrap_or_default(),
        peer: env("REMOTE_ADDR").and_then(|a| crate::net::addr::parse_ip(&a)),
        authorization: env("HTTP_AUTHORIZATION"),
        accept: env("HTTP_ACCEPT"),
        content_type: env("CONTENT_TYPE"),
        body,
    })
}

/// Answers one CGI request; the exit code is 0 whenever a response was written.
pub fn cgi_main() -> i32 {
    let reply = cgi_reply();
    let mut out = String::from("Status: ");
    super::push_u64(&mut out, u64::from(reply.code));
    out.push(' ');
    out.push_str(super::reason(reply.code));
    out.push_str("\r\n");
    super::response::push_reply_headers(&mut out, &reply);
    out.push_str("\r\n");
    out.push_str(&reply.body);
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(out.as_bytes())
        .and_then(|_| stdout.flush())
    {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

fn cgi_reply() -> Reply {
    let path = env("SMSGW_CONFIG").unwrap_or_else(|| DEFAULT_UCI_FILE.into());
    let cfg = match crate::spool::read_text(Path::new(&path)) {
        Ok(text) => match uci::parse_uci(&text) {
            Ok(c) => c,
            Err(e) => return unavailable(&format!("{path}: {e}")),
        },
        Err(e) => return unavailable(&format!("{path}: {e}")),
    };
    let token = if cfg.no_auth {
        None
    } else {
        match cfg
            .token
            .clone()
            .or_else(|| auth::read_token_file(Path::new(&cfg.token_file)))
        {
            Some(t) => Some(t),
            // fail closed: no token configured and no --no-auth
            None => return unavailable("no token configured (set option token or no_auth)"),
        }
    };
    let policy = match Policy::new(&cfg, token) {
        Ok(p) => p,
        Err(e) => return unavailable(&format!("{path}: {e}")),
    };
    let spool = match Spool::open(Path::new(&cfg.spool)) {
        Ok(s) => Arc::new(s),
        Err(e) => return Reply::text(503, &format!("spool {}: {e}", cfg.spool)),
    };
    let guard = FileGuard {
        path: Path::new(&cfg.spool).join(GUARD_FILE),
        limit: cfg.rate_limit_per_hour,
        window: cfg.duplicate_window.as_secs(),
        boot_clock: boot_seconds,
    };
    let gateway = Gateway {
        policy,
        spool,
        status: Arc::new(GatewayStatus::default()),
        guard: Box::new(guard),
        ussd: None,
    };
    match request_from_env(&mut std::io::stdin().lock()) {
        Ok(req) => gateway.handle(&req),
        Err(reply) => reply,
    }
}

fn unavailable(why: &str) -> Reply {
    crate::log_error!("cgi: {why}");
    Reply::text(503, "SMS gateway not configured (see the router's log)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    static BOOT: AtomicU32 = AtomicU32::new(1000);

    fn fake_boot() -> u64 {
        u64::from(BOOT.load(Ordering::SeqCst))
    }

    #[test]
    fn cgi_guard_state_survives_clock_steps_and_reboots() {
        let dir = std::env::temp_dir().join(format!("smsgw-cgi-guard-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let guard = FileGuard {
            path: dir.join(GUARD_FILE),
            limit: 2,
            window: 300,
            boot_clock: fake_boot,
        };
        let to = |n: &str| vec![n.to_string()];
        assert!(guard.admit(&to("+491701234567"), "disk full").is_ok());
        // the wall clock is never read: a step of years either way changes nothing; a reboot
        // 10 s into the new boot counts as "10 s later"
        BOOT.store(10, Ordering::SeqCst);
        assert!(matches!(
            guard.admit(&to("00491701234567"), "disk full"),
            Err(Refusal::Duplicate { ago: 10, .. })
        ));
        assert!(guard.admit(&to("+491701234568"), "x").is_ok());
        assert!(matches!(
            guard.admit(&to("+491701234569"), "y"),
            Err(Refusal::RateLimited { .. })
        ));
        BOOT.store(10 + 3600, Ordering::SeqCst);
        assert!(guard.admit(&to("+491701234569"), "y").is_ok());
        let _ = fs::remove_dir_all(&dir);
    }
}
