//! CGI mode: the same binary run by uhttpd (`GATEWAY_INTERFACE` set, symlinked as
//! `/www/cgi-bin/sms`) answers one `/cgi-bin/sms` request from the environment and stdin.
//!
//! Owns reading the UCI file (`/etc/config/smsgw`, or `$SMSGW_CONFIG`) into a `ServeConfig`, and
//! the CGI response format. The storm guard's state lives in `SPOOL/.http-guard`, locked with
//! `flock` so concurrent CGI processes agree. There is no sender thread here: the daemon picks the
//! file up from `outgoing/`. Must not talk to the modem.

use super::guard::{Refusal, StormGuard};
use super::{auth, Gateway, GuardStore, HttpRequest, Policy, Reply};
use crate::config::{self, ServeConfig};
use crate::spool::Spool;
use crate::status::GatewayStatus;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const DEFAULT_UCI_FILE: &str = "/etc/config/smsgw";
/// File in the spool root holding the CGI storm-guard state.
pub const GUARD_FILE: &str = ".http-guard";

/// Splits one UCI line into words, honouring single and double quotes.
fn uci_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c == '#' && !in_word => break,
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// The UCI options CGI mode uses; others (modem, retention...) belong to the daemon and are
/// skipped, so a newer package's extra options never break CGI.
const CGI_OPTIONS: [&str; 9] = [
    "spool",
    "token",
    "token_file",
    "no_auth",
    "allow_client",
    "allow_recipient",
    "max_parts",
    "rate_limit",
    "duplicate_window",
];

/// Reads the `config smsgw` section of a UCI file into `serve` options (rule: `foo_bar` <->
/// `--foo-bar`, a `list` repeats the option, `no_auth '1'` <-> `--no-auth`, empty = unset).
pub fn parse_uci(text: &str) -> Result<ServeConfig, String> {
    parse_uci_options(text, &CGI_OPTIONS)
}

/// Like [`parse_uci`], keeping only the UCI options named in `wanted`.
pub fn parse_uci_options(text: &str, wanted: &[&str]) -> Result<ServeConfig, String> {
    let mut args: Vec<String> = Vec::new();
    let mut in_section = false;
    for line in text.lines() {
        let w = uci_words(line);
        match w.first().map(String::as_str) {
            Some("config") => in_section = w.get(1).map(String::as_str) == Some("smsgw"),
            Some("option") | Some("list") if in_section => {
                let (Some(name), Some(value)) = (w.get(1), w.get(2)) else {
                    continue;
                };
                if value.is_empty() || !wanted.contains(&name.as_str()) {
                    continue;
                }
                if name == "no_auth" {
                    if value == "1" || value == "true" || value == "yes" || value == "on" {
                        args.push("--no-auth".into());
                    }
                    continue;
                }
                let mut opt = String::from("--");
                opt.extend(name.chars().map(|c| if c == '_' { '-' } else { c }));
                args.push(opt);
                args.push(value.clone());
            }
            _ => {}
        }
    }
    config::parse_serve(&args)
}

/// The CGI guard: state in a file, one `flock`ed read-modify-write per call; Unix-time seconds.
struct FileGuard {
    path: PathBuf,
    limit: u32,
    window: u64,
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
        let mut g = StormGuard::from_text(self.limit, self.window, &text);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        f(&mut g, now);
        let written = file
            .seek(SeekFrom::Start(0))
            .and_then(|_| file.set_len(0))
            .and_then(|_| file.write_all(g.to_text().as_bytes()));
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
                    eprintln!("smsgw cgi: storm guard unavailable: {e}");
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
    if length > super::server::MAX_BODY_BYTES {
        return Err(Reply::text(413, "request body too large"));
    }
    let mut body = Vec::with_capacity(length);
    let _ = super::read_capped(stdin, length, &mut body);
    Ok(HttpRequest {
        method: env("REQUEST_METHOD").unwrap_or_else(|| "GET".into()),
        path: "/cgi-bin/sms".into(),
        query: env("QUERY_STRING").unwrap_or_default(),
        peer: env("REMOTE_ADDR").and_then(|a| a.parse().ok()),
        authorization: env("HTTP_AUTHORIZATION"),
        accept: env("HTTP_ACCEPT"),
        content_type: env("CONTENT_TYPE"),
        body,
    })
}

/// Answers one CGI request; the exit code is 0 whenever a response was written.
pub fn cgi_main() -> i32 {
    let reply = cgi_reply();
    let mut out = format!(
        "Status: {} {}\r\nContent-Type: {}\r\nCache-Control: no-store\r\n",
        reply.code,
        super::reason(reply.code),
        reply.content_type()
    );
    if let Some(s) = reply.retry_after {
        out.push_str(&format!("Retry-After: {s}\r\n"));
    }
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
    let cfg = match fs::read_to_string(&path) {
        Ok(text) => match parse_uci(&text) {
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
    };
    let gateway = Gateway {
        policy,
        spool,
        status: Arc::new(GatewayStatus::default()),
        guard: Box::new(guard),
    };
    match request_from_env(&mut std::io::stdin().lock()) {
        Ok(req) => gateway.handle(&req),
        Err(reply) => reply,
    }
}

fn unavailable(why: &str) -> Reply {
    eprintln!("smsgw cgi: {why}");
    Reply::text(503, "SMS gateway not configured (see the router's log)")
}

#[cfg(test)]
mod tests {
    use super::*;

    const UCI: &str = "
config smsgw 'main'
\toption enabled '1'
\toption device '/dev/ttyUSB0'
\toption pin ''
\tlist init 'AT^CURC=0'
\toption listen '0.0.0.0:8767'
\toption spool \"/var/spool/sms\"
\toption token 'abc def'   # comment
\toption no_auth '0'
\tlist allow_client '127.0.0.0/8'
\tlist allow_client '192.168.1.0/24'
\tlist allow_recipient ''
\toption rate_limit '60'
\toption duplicate_window '300'
\toption max_parts '6'

config other 'x'
\toption spool '/elsewhere'
";

    #[test]
    fn reads_the_uci_contract() {
        let c = parse_uci(UCI).unwrap();
        assert_eq!(c.spool, "/var/spool/sms");
        assert_eq!(c.token.as_deref(), Some("abc def"));
        assert!(!c.no_auth);
        assert_eq!(c.allow_clients, vec!["127.0.0.0/8", "192.168.1.0/24"]);
        assert!(c.allow_recipients.is_empty());
        assert_eq!(c.rate_limit_per_hour, 60);
        assert_eq!(c.duplicate_window.as_secs(), 300);
        assert_eq!(c.pin, None);
        let c = parse_uci("config smsgw 'main'\n option no_auth '1'\n").unwrap();
        assert!(c.no_auth);
    }

    #[test]
    fn bad_uci_is_an_error_not_a_panic() {
        assert!(parse_uci("config smsgw\n option rate_limit 'lots'\n").is_err());
        assert!(parse_uci("config smsgw\n option future_opt '1'\n").is_ok());
        assert!(parse_uci("config smsgw\n option 'unterminated\n\u{0}\n list\n").is_ok());
    }
}
