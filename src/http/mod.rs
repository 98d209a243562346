//! HTTP endpoint for LAN hosts and the CGI mode that answers the same request.
//!
//! Owns request handling for `/cgi-bin/sms` (query and form bodies), auth, client and recipient
//! allowlists, the alert-storm guard, `/status` and `/metrics`, and the hardened connection layer
//! and the response writer. It must not write spool files itself or talk to the
//! modem: it calls `Spool::submit` and reads `GatewayStatus`.
//!
//! Layout: `query` (pure parameter parsing), `auth`, `cidr`, `guard` (pure storm guard),
//! `render` (`/status`, `/metrics`), `head` (pure request-head parser), `server` (accept loop
//! and worker pool), `connection` (one connection: bounded reads, deadline), `response` (the
//! response writer), `cgi` (CGI environment). This file holds the policy: the shared request
//! handler [`Gateway`].

pub mod alertmanager;
pub mod auth;
pub mod cgi;
pub mod cidr;
mod connection;
pub mod guard;
pub mod head;
mod inbox;
mod messages;
pub mod query;
pub mod render;
mod response;
mod send;
pub mod server;
mod ussd;

use crate::config::ServeConfig;
use crate::json::ObjectWriter;

use crate::spool::Spool;
use crate::status::GatewayStatus;
use cidr::Cidr;
use guard::{Refusal, StormGuard};
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub use cgi::cgi_main;
pub use response::reason;
pub use send::Source;

/// Without a recipient allowlist, numbers need at least this many digits: premium-rate short
/// codes (3–6 digits) are refused.
pub const MIN_FULL_NUMBER_DIGITS: usize = 7;
/// Longest accepted request body.
pub const MAX_BODY_BYTES: usize = query::MAX_QUERY_BYTES;

/// Who may send what: everything the handler needs besides the spool and the guard.
#[derive(Clone, Debug)]
pub struct Policy {
    /// `None` = `--no-auth`.
    pub token: Option<String>,
    pub clients: Vec<Cidr>,
    /// Allowed recipient prefixes (empty = any full-length number).
    pub recipients: Vec<String>,
    pub max_parts: usize,
    /// Request delivery reports when the request does not say (`--report`).
    pub report: bool,
    /// Default recipients of `/alertmanager` (`--alert-to`), already syntax-checked.
    pub alert_to: Vec<String>,
}

impl Policy {
    /// Builds the policy from `serve` options (the token must already be resolved).
    pub fn new(cfg: &ServeConfig, token: Option<String>) -> Result<Policy, String> {
        // Several prefixes in one item (`+49,+43`) are split; anything but digits after an
        // optional `+` would match no number and refuse every message, so it stops the start.
        let mut recipients = Vec::with_capacity(cfg.allow_recipients.len());
        for p in cfg.allow_recipients.iter().flat_map(|item| item.split(',')) {
            let p = p.trim();
            let digits = p.strip_prefix('+').unwrap_or(p);
            if p.is_empty() {
                continue;
            }
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err([
                    "--allow-recipient: '",
                    p,
                    "' is not a number prefix (digits, + first if international)",
                ]
                .concat());
            }
            recipients.push(p.to_string());
        }
        Ok(Policy {
            token: if cfg.no_auth { None } else { token },
            clients: cidr::parse_allowlist(&cfg.allow_clients)?,
            recipients,
            max_parts: cfg.max_parts,
            report: cfg.report,
            alert_to: if cfg.alert_to.is_empty() {
                Vec::new()
            } else {
                query::parse_recipients(&cfg.alert_to.join(","))
                    .map_err(|e| ["--alert-to: ", &e.to_string()].concat())?
            },
        })
    }

    /// Whether `number` (already syntax-checked) may receive messages.
    pub fn recipient_allowed(&self, number: &str) -> bool {
        if self.recipients.is_empty() {
            let digits = number.strip_prefix('+').unwrap_or(number);
            return digits.len() >= MIN_FULL_NUMBER_DIGITS;
        }
        let intl = |n: &str| -> String {
            match n.strip_prefix('+') {
                Some(rest) => {
                    let mut s = String::from("00");
                    s.push_str(rest);
                    s
                }
                None => n.to_string(),
            }
        };
        let n = intl(number);
        self.recipients.iter().any(|p| n.starts_with(&intl(p)))
    }
}

/// The storm guard's home: in memory (daemon) or in a locked file (CGI mode).
pub trait GuardStore: Send + Sync {
    fn admit(&self, recipients: &[String], text: &str) -> Result<(), Refusal>;
    fn release(&self, recipients: &[String], text: &str);
}

/// The daemon's in-memory guard; time is whole seconds since start.
pub struct MemoryGuard {
    started: Instant,
    guard: Mutex<StormGuard>,
}

impl MemoryGuard {
    pub fn new(limit_per_hour: u32, window_secs: u64) -> MemoryGuard {
        MemoryGuard {
            started: Instant::now(),
            guard: Mutex::new(StormGuard::new(limit_per_hour, window_secs)),
        }
    }
    fn with<T>(&self, f: impl FnOnce(&mut StormGuard) -> T) -> T {
        match self.guard.lock() {
            Ok(mut g) => f(&mut g),
            Err(p) => f(&mut p.into_inner()),
        }
    }
}

impl GuardStore for MemoryGuard {
    fn admit(&self, recipients: &[String], text: &str) -> Result<(), Refusal> {
        let now = self.started.elapsed().as_secs();
        self.with(|g| g.admit(now, recipients, text))
    }
    fn release(&self, recipients: &[String], text: &str) {
        self.with(|g| g.release(recipients, text))
    }
}

/// One HTTP request as the handler sees it (built by the server or from CGI variables).
#[derive(Clone, Debug, Default)]
pub struct HttpRequest {
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Raw (still %-encoded) query string.
    pub query: String,
    pub peer: Option<IpAddr>,
    pub authorization: Option<String>,
    pub accept: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// What to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub body: String,
    pub json: bool,
    pub retry_after: Option<u64>,
}

impl Reply {
    pub(crate) fn text(code: u16, body: &str) -> Reply {
        let mut body = String::from(body);
        if !body.ends_with('\n') {
            body.push('\n');
        }
        Reply {
            code,
            body,
            json: false,
            retry_after: None,
        }
    }

    /// A 200 with a JSON object (a newline is added).
    fn json(mut body: String) -> Reply {
        body.push('\n');
        Reply {
            code: 200,
            body,
            json: true,
            retry_after: None,
        }
    }

    /// An error or success line, as JSON when the client asked for it.
    pub(crate) fn line(code: u16, msg: &str, json: bool) -> Reply {
        if !json {
            return Reply::text(code, msg);
        }
        let mut b = String::new();
        ObjectWriter::new(&mut b)
            .str("status", "error")
            .u64("code", u64::from(code))
            .str("error", msg)
            .end();
        b.push('\n');
        Reply {
            code,
            body: b,
            json: true,
            retry_after: None,
        }
    }

    pub fn content_type(&self) -> &'static str {
        if self.json {
            "application/json"
        } else {
            "text/plain; charset=utf-8"
        }
    }
}

/// Appends `n` in decimal (no `core::fmt`: the router build counts every byte).
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    for &d in digits.get(i..).unwrap_or(&[]) {
        out.push(char::from(d));
    }
}

/// Reads to the end, at most `cap` more bytes, in a plain loop: std's `take` + `read_to_end`
/// costs ~1.4 KB per reader type in the router binary, this a few hundred bytes.
pub fn read_capped<R: std::io::Read + ?Sized>(
    r: &mut R,
    cap: usize,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    let mut chunk = [0u8; 2048];
    let mut left = cap;
    while left > 0 {
        let buf = chunk.get_mut(..left.min(2048)).unwrap_or(&mut []);
        match r.read(buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(buf.get(..n).unwrap_or(&[]));
                left = left.saturating_sub(n);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The refusal for a client outside `--allow-client`.
fn client_not_allowed(peer: IpAddr) -> String {
    let mut s = String::from("client address ");
    cidr::push_ip(&mut s, peer);
    s.push_str(" not allowed");
    s
}

/// The request handler shared by the daemon and CGI mode.
pub struct Gateway {
    pub policy: Policy,
    pub spool: Arc<Spool>,
    pub status: Arc<GatewayStatus>,
    pub guard: Box<dyn GuardStore>,
    /// USSD through the daemon's modem thread (`None`: CGI mode, HiLink).
    pub ussd: Option<crate::modem::driver::UssdClient>,
}

impl Gateway {
    /// The token check of every route: `None` when the request may go on, else the 401/403
    /// answer.
    pub(crate) fn authorize(
        &self,
        query_token: Option<&str>,
        req: &HttpRequest,
        json: bool,
    ) -> Option<Reply> {
        let expected = self.policy.token.as_deref()?;
        match auth::check(expected, query_token, req.authorization.as_deref()) {
            auth::AuthOutcome::Ok => None,
            auth::AuthOutcome::Missing => Some(Reply::line(
                401,
                "token required: add Authorization: Bearer ... or token=...",
                json,
            )),
            auth::AuthOutcome::Wrong => Some(Reply::line(403, "wrong token", json)),
        }
    }

    /// Answers one request. Never panics; every refusal is counted in `status.rejected`.
    pub fn handle(&self, req: &HttpRequest) -> Reply {
        let json = query::wants_json(req.accept.as_deref());
        // an unknown peer (CGI without REMOTE_ADDR) is refused: fail closed
        let refused = match req.peer {
            Some(peer) if cidr::allowed(&self.policy.clients, peer) => None,
            Some(peer) => Some(client_not_allowed(peer)),
            None => Some("client address unknown".to_string()),
        };
        if let Some(why) = refused {
            GatewayStatus::count(&self.status.rejected);
            return Reply::line(403, &why, json);
        }
        let read_only = matches!(req.method.as_str(), "GET" | "HEAD");
        match req.path.as_str() {
            "/cgi-bin/sms" => {
                let reply = self.sms(req, json);
                if reply.code != 200 {
                    GatewayStatus::count(&self.status.rejected);
                }
                reply
            }
            "/alertmanager" => {
                let reply = self.alertmanager(req, json);
                if reply.code >= 400 {
                    GatewayStatus::count(&self.status.rejected);
                }
                reply
            }
            "/status" if read_only => Reply {
                code: 200,
                body: render::status_json(&self.status),
                json: true,
                retry_after: None,
            },
            "/metrics" if read_only => Reply {
                code: 200,
                body: render::metrics_text(&self.status),
                json: false,
                retry_after: None,
            },
            "/status" | "/metrics" => Reply::line(405, "method not allowed: use GET", json),
            p if p == "/messages" || p.starts_with("/messages/") => self.messages(req, json),
            "/ussd" => self.ussd(req, json),
            _ => Reply::line(
                404,
                "not found: use /cgi-bin/sms, /alertmanager, /messages, /ussd, /status or /metrics",
                json,
            ),
        }
    }
}

/// Why the HTTP daemon could not start: one readable line each.
#[derive(Debug)]
pub enum ServeError {
    /// `--listen` is not an address.
    Listen(crate::config::ConfigError),
    /// The socket could not be bound (address in use, no permission...).
    Bind { addr: String, error: std::io::Error },
    /// An `--allow-client` entry is not a network.
    Clients(String),
    /// No token and none could be made.
    Token(String),
    /// A worker thread could not be started.
    Worker(std::io::Error),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Listen(e) => write!(f, "--listen: {e}"),
            ServeError::Bind { addr, error } => write!(f, "cannot listen on {addr}: {error}"),
            ServeError::Clients(e) | ServeError::Token(e) => f.write_str(e),
            ServeError::Worker(e) => write!(f, "cannot start HTTP worker: {e}"),
        }
    }
}

/// What the daemon checks before anything else starts: the token, the client allowlist and the
/// bound `--listen` socket (an address in use must not leave a modem half set up behind it).
pub struct Listening {
    listener: std::net::TcpListener,
    policy: Policy,
}

/// Loads (or makes) the token, reads `--allow-client` and binds `--listen`.
pub fn listen(cfg: &ServeConfig) -> Result<Listening, ServeError> {
    let token = if cfg.no_auth {
        crate::log_warn!("--no-auth: any allowed client can send SMS");
        None
    } else {
        let (token, generated) =
            auth::load_or_create(cfg.token.as_deref(), Path::new(&cfg.token_file))
                .map_err(ServeError::Token)?;
        if generated {
            crate::log_info!(
                "generated API token {token} (stored in {}; shown by `smsgw status`)",
                cfg.token_file
            );
        }
        Some(token)
    };
    let policy = Policy::new(cfg, token).map_err(ServeError::Clients)?;
    let listener = server::bind(cfg)?;
    Ok(Listening { listener, policy })
}

/// Runs the HTTP daemon on what [`listen`] prepared (blocks).
pub fn serve(
    cfg: &ServeConfig,
    listening: Listening,
    spool: Arc<Spool>,
    status: Arc<GatewayStatus>,
    ussd: Option<crate::modem::driver::UssdClient>,
) -> Result<(), ServeError> {
    let gateway = Gateway {
        policy: listening.policy,
        spool,
        status,
        guard: Box::new(MemoryGuard::new(
            cfg.rate_limit_per_hour,
            cfg.duplicate_window.as_secs(),
        )),
        ussd,
    };
    let limits = server::Limits::from_config(cfg);
    server::serve_listener(listening.listener, Arc::new(gateway), limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(recipients: &[&str]) -> Policy {
        Policy {
            token: None,
            clients: Vec::new(),
            recipients: recipients.iter().map(|s| s.to_string()).collect(),
            max_parts: 6,
            report: false,
            alert_to: Vec::new(),
        }
    }

    #[test]
    fn short_numbers_need_an_allowlist_entry() {
        let p = policy(&[]);
        assert!(p.recipient_allowed("+491701234567"));
        assert!(p.recipient_allowed("1234567"));
        assert!(!p.recipient_allowed("81190"));
        assert!(!p.recipient_allowed("+123456"));
        let p = policy(&["+49170", "81190"]);
        assert!(p.recipient_allowed("+491701234567"));
        assert!(p.recipient_allowed("00491701234567"));
        assert!(p.recipient_allowed("81190"));
        assert!(!p.recipient_allowed("+491711234567"));
        let p = policy(&["0049"]);
        assert!(p.recipient_allowed("+4930123456"));
    }

    #[test]
    fn capped_reads_stop_at_the_cap() {
        let mut out = Vec::new();
        read_capped(&mut &[7u8; 5000][..], 4097, &mut out).unwrap();
        assert_eq!(out.len(), 4097);
        let mut out = Vec::new();
        read_capped(&mut &b"short"[..], 4097, &mut out).unwrap();
        assert_eq!(out, b"short");
    }

    #[test]
    fn decimal_digits() {
        for n in [0, 7, 10, 429, 65_535, u64::from(u32::MAX), u64::MAX] {
            let mut s = String::from("x");
            push_u64(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
    }
}
