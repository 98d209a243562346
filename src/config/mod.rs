//! Configuration of `smsgw serve`: the one table of options and every way options arrive.
//!
//! Owns option names, defaults, help texts and the validation of their syntax ([`OPTIONS`]);
//! `argv` reads the command line, `uci` reads the UCI file (`/etc/config/smsgw`) that CGI mode
//! and `smsgw status` use. The `serve --help` text, docs/options.md and the init script's option
//! lists all derive from (or are tested against) [`OPTIONS`]. It does not open devices or
//! sockets, and the only files it reads are the secret files named on the command line
//! (`--hilink-password-file`, `--forward-token-file`: [`ServeConfig::read_secret_files`], once,
//! at the end of [`parse_serve`]); callers pass the UCI text.

pub mod argv;
pub mod uci;

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

pub use argv::parse_serve;

/// Default HTTP port: 8767 spells "SMS" on a phone keypad; 80/443 stay LuCI's.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8767";
pub const DEFAULT_SPOOL: &str = "/var/spool/sms";
pub const DEFAULT_TOKEN_FILE: &str = "/etc/smsgw/token";
/// The UCI file CGI mode and `smsgw status` read (`$SMSGW_CONFIG` overrides it).
pub const DEFAULT_UCI_FILE: &str = "/etc/config/smsgw";
/// How an option takes its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `--name VALUE` / `option name 'VALUE'`; an empty value means "unset" or the default.
    Value,
    /// Repeatable: `--name A --name B` / `list name 'A'`.
    List,
    /// No value: `--name` / `option name '1'`.
    Flag,
}

/// One `serve` option: the command-line flag is `--NAME`, the UCI option is NAME with `_` for
/// `-` (see [`is_uci_name`]).
#[derive(Clone, Copy, Debug)]
pub struct OptionSpec {
    pub name: &'static str,
    pub kind: Kind,
    /// The default as a user would write it (empty: unset).
    pub default: &'static str,
    pub help: &'static str,
}

const fn opt(
    name: &'static str,
    kind: Kind,
    default: &'static str,
    help: &'static str,
) -> OptionSpec {
    OptionSpec {
        name,
        kind,
        default,
        help,
    }
}

use Kind::{Flag, List, Value};

/// Every `serve` option, in the order of [`slot`]'s arms. The single list the argv parser, the
/// UCI reader, `serve --help`, docs/options.md and the init script derive from.
pub const OPTIONS: [OptionSpec; 37] = [
    opt("device", Value, "/dev/ttyUSB0", "AT port of the stick, `sim` for the built-in simulated modem, or `http://IP` of a stick in HiLink mode"),
    opt("baud", Value, "115200", "serial speed"),
    opt("pin", Value, "", "SIM PIN, sent only when the SIM asks for it"),
    opt("smsc", Value, "", "SMS centre number (empty: the one stored on the SIM)"),
    opt("init", List, "", "extra AT command sent after the basic init, e.g. `AT^CURC=0`"),
    opt("registration-timeout", Value, "60", "seconds to wait for network registration before a send counts as a transient failure"),
    opt("command-timeout", Value, "10", "seconds for one AT command (`AT+CMGS` waits six times this)"),
    opt("spool", Value, DEFAULT_SPOOL, "spool directory (smstools3 layout)"),
    opt("max-attempts", Value, "5", "send attempts before a message moves to `failed/`"),
    opt("keep-sent", Value, "200", "records kept in `sent/` (and received messages in `incoming/`)"),
    opt("keep-failed", Value, "200", "records kept in `failed/`"),
    opt("keep-days", Value, "7", "days records are kept in `sent/`, `failed/` and `incoming/`"),
    opt("hook", Value, "", "program run as `HOOK SENT|FAILED|RECEIVED|REPORT FILE` after each message and delivery report"),
    opt("hook-timeout", Value, "10", "seconds a hook may run before it is killed"),
    opt("max-parts", Value, "6", "most SMS parts one message may take"),
    opt("listen", Value, DEFAULT_LISTEN, "HTTP address `IP:PORT` (`[v6]:PORT` for IPv6)"),
    opt("token", Value, "", "API token; on OpenWrt the init script hands it to the daemon in a 0600 file, never on the command line (which `ps` shows): prefer `--token-file`"),
    opt("token-file", Value, DEFAULT_TOKEN_FILE, "file holding the API token (created 0600 with a random token at first start when missing)"),
    opt("no-auth", Flag, "", "accept requests without a token (any allowed client can send)"),
    opt("allow-client", List, "", "client network allowed to use HTTP (CIDR); none = loopback, 10/8, 172.16/12, 192.168/16, ::1, fc00::/7"),
    opt("allow-recipient", List, "", "recipient number prefix allowed, e.g. `+49`; none = any number of 7 digits or more"),
    opt("rate-limit", Value, "60", "messages accepted per hour, all clients together (0 = off)"),
    opt("duplicate-window", Value, "300", "seconds in which the same text to the same recipient is refused (0 = off)"),
    opt("max-connections", Value, "16", "HTTP connections served at once"),
    opt("request-timeout", Value, "10", "seconds to receive one whole HTTP request (also the write timeout)"),
    opt("hilink-user", Value, "", "login name of a HiLink stick's web UI (`admin` when only a password is given)"),
    opt("hilink-password", Value, "", "login password of a HiLink stick's web UI (empty: no login; `ps` shows it)"),
    opt("hilink-password-file", Value, "", "`--hilink-password` from the first line of a file, not shown by `ps`"),
    opt("no-receive", Flag, "", "do not read received SMS from the stick (they stay in its storage)"),
    opt("poll-interval", Value, "10", "seconds between listings of the stick's message storages (`+CMTI` makes the next one come at once)"),
    opt("multipart-timeout", Value, "3600", "seconds after the first part of a long received SMS when it is written with `Incomplete: yes` if parts are missing"),
    opt("alert-to", List, "", "recipient of `POST /alertmanager` notifications without `?phone=` (comma-separated numbers allowed)"),
    opt("forward-url", List, "", "`http://IP[:PORT][/PATH]` every received SMS and delivery report is POSTed to as JSON"),
    opt("forward-token", Value, "", "sent as `Authorization: Bearer` to the forward URLs (`ps` shows it)"),
    opt("forward-token-file", Value, "", "`--forward-token` from the first line of a file, not shown by `ps`"),
    opt("report", Flag, "", "ask for a delivery report on every message sent over HTTP unless the request says `report=0`"),
    opt("report-timeout", Value, "172800", "seconds after sending when a part whose delivery report never came counts as `report: none`"),
];

/// The UCI option of a flag name (`max-parts` -> `max_parts`).
#[cfg(test)]
pub fn uci_name(name: &str) -> String {
    name.replace('-', "_")
}

/// `uci` is the UCI name of flag `name` (compared in place: no string built per option).
pub fn is_uci_name(name: &str, uci: &str) -> bool {
    name.len() == uci.len()
        && name
            .bytes()
            .zip(uci.bytes())
            .all(|(n, u)| u == if n == b'-' { b'_' } else { n })
}

/// Why options were refused: one readable line each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    UnexpectedArgument(String),
    UnknownOption(String),
    NeedsValue(&'static str),
    TakesNoValue(&'static str),
    NotANumber {
        option: &'static str,
        value: String,
    },
    BadAddress(String),
    /// `--baud` is not a speed termios knows: the port could never be opened.
    BadBaud(u32),
    /// The UCI file cannot be read as UCI (line number, what is wrong).
    Uci {
        line: usize,
        problem: &'static str,
    },
    /// A secret file (`--hilink-password-file`, `--forward-token-file`) cannot be used: the
    /// whole line, naming the option and the file.
    SecretFile(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::UnexpectedArgument(a) => write!(f, "unexpected argument '{a}'"),
            ConfigError::UnknownOption(o) => write!(f, "unknown option --{o}"),
            ConfigError::NeedsValue(o) => write!(f, "--{o} needs a value"),
            ConfigError::TakesNoValue(o) => write!(f, "--{o} takes no value"),
            ConfigError::NotANumber { option, value } => {
                write!(f, "--{option}: '{value}' is not a valid number")
            }
            ConfigError::BadAddress(a) => write!(
                f,
                "'{a}' is not an address of the form IP:PORT (e.g. 0.0.0.0:8767)"
            ),
            ConfigError::BadBaud(b) => {
                write!(f, "--baud: {b} is not a serial speed (e.g. 9600, 115200)")
            }
            ConfigError::Uci { line, problem } => write!(f, "line {line}: {problem}"),
            ConfigError::SecretFile(line) => f.write_str(line),
        }
    }
}

/// The `serve --help` text, from [`OPTIONS`].
pub fn serve_help() -> String {
    let mut s = String::from(
        "usage: smsgw serve [options]\n\
         Options (UCI: option NAME with _ for -, a list repeats; docs/options.md):\n",
    );
    for o in &OPTIONS {
        s.push_str("  --");
        s.push_str(o.name);
        s.push_str(match o.kind {
            Value => " VALUE",
            List => " VALUE (repeatable)",
            Flag => "",
        });
        s.push_str("\n      ");
        s.push_str(o.help);
        if !o.default.is_empty() {
            s.push_str(" [");
            s.push_str(o.default);
            s.push(']');
        }
        s.push('\n');
    }
    s
}
/// Everything `smsgw serve` needs. Each module reads its own fields.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    // modem
    /// Serial device path, `sim` for the built-in simulated modem, or `http://IP` of a HiLink stick.
    pub device: String,
    pub baud: u32,
    pub pin: Option<String>,
    pub smsc: Option<String>,
    /// Extra init commands sent after the basic init (e.g. `AT^CURC=0`).
    pub init: Vec<String>,
    /// How long to wait for network registration before a send counts as a transient failure.
    pub registration_timeout: Duration,
    /// Timeout of one AT command (`AT+CMGS` waits six times this for its result).
    pub command_timeout: Duration,
    // spool
    pub spool: String,
    pub max_attempts: u32,
    pub keep_sent: usize,
    pub keep_failed: usize,
    pub keep_days: u64,
    /// Program run as `HOOK SENT|FAILED FILE`.
    pub hook: Option<String>,
    pub hook_timeout: Duration,
    // pdu
    pub max_parts: usize,
    // http
    pub listen: String,
    pub token: Option<String>,
    pub token_file: String,
    pub no_auth: bool,
    /// Client CIDRs allowed to talk to the HTTP endpoint (empty = built-in default list).
    pub allow_clients: Vec<String>,
    /// Recipient prefixes allowed (empty = any full-length number).
    pub allow_recipients: Vec<String>,
    /// Messages accepted per hour, all clients together (0 = unlimited).
    pub rate_limit_per_hour: u32,
    /// Same recipient + same text within this window is refused (0 = off).
    pub duplicate_window: Duration,
    /// Connections served at once; more wait in the kernel backlog.
    pub max_connections: usize,
    /// Deadline for receiving one whole HTTP request (head and body); also the write timeout.
    pub request_timeout: Duration,
    // hilink
    /// Login of a HiLink stick (`--device http://…`); no login when no password is set.
    pub hilink_user: Option<String>,
    pub hilink_password: Option<String>,
    /// Where [`parse_serve`] read `hilink_password` from when it was not given directly.
    pub hilink_password_file: Option<String>,
    // receiving
    /// Received SMS are not read (`--no-receive`).
    pub no_receive: bool,
    /// How often every storage is listed (`+CMTI` only makes the next poll come sooner).
    pub poll_interval: Duration,
    /// A multipart message still missing parts this long after its first part is written with
    /// `Incomplete: yes`.
    pub multipart_timeout: Duration,
    // integrations
    /// Recipients of `POST /alertmanager` without `?phone=` (each may be comma-separated).
    pub alert_to: Vec<String>,
    /// `http://IP[:PORT][/PATH]` targets for received SMS and delivery reports.
    pub forward_urls: Vec<String>,
    /// Sent as `Authorization: Bearer` to the forward URLs.
    pub forward_token: Option<String>,
    /// Where [`parse_serve`] read `forward_token` from when it was not given directly.
    pub forward_token_file: Option<String>,
    // delivery reports
    /// Ask for a delivery report on every message unless the request says `report=0`.
    pub report: bool,
    /// A part whose delivery report has not come this long after sending is `report: none`.
    pub report_timeout: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            device: "/dev/ttyUSB0".into(),
            baud: 115_200,
            pin: None,
            smsc: None,
            init: Vec::new(),
            registration_timeout: Duration::from_secs(60),
            command_timeout: Duration::from_secs(10),
            spool: DEFAULT_SPOOL.into(),
            max_attempts: 5,
            keep_sent: 200,
            keep_failed: 200,
            keep_days: 7,
            hook: None,
            hook_timeout: Duration::from_secs(10),
            max_parts: 6,
            listen: DEFAULT_LISTEN.into(),
            token: None,
            token_file: DEFAULT_TOKEN_FILE.into(),
            no_auth: false,
            allow_clients: Vec::new(),
            allow_recipients: Vec::new(),
            rate_limit_per_hour: 60,
            duplicate_window: Duration::from_secs(300),
            max_connections: 16,
            request_timeout: Duration::from_secs(10),
            hilink_user: None,
            hilink_password: None,
            hilink_password_file: None,
            no_receive: false,
            poll_interval: Duration::from_secs(10),
            multipart_timeout: Duration::from_secs(3600),
            alert_to: Vec::new(),
            forward_urls: Vec::new(),
            forward_token: None,
            forward_token_file: None,
            report: false,
            report_timeout: Duration::from_secs(crate::delivery::tracker::DEFAULT_REPORT_TIMEOUT),
        }
    }
}

/// Where an option's value goes, and how it is read.
enum Slot<'a> {
    Text(&'a mut String),
    /// Empty (or blank) means unset.
    Optional(&'a mut Option<String>),
    /// Repeatable; blank values are skipped.
    List(&'a mut Vec<String>),
    U32(&'a mut u32),
    Usize(&'a mut usize),
    U64(&'a mut u64),
    Seconds(&'a mut Duration),
    Listen(&'a mut String),
    Flag(&'a mut bool),
}

fn slot(cfg: &mut ServeConfig, index: usize) -> Option<Slot<'_>> {
    // A match on the table index: smaller than a `match` on 25 strings.
    Some(match index {
        0 => Slot::Text(&mut cfg.device),
        1 => Slot::U32(&mut cfg.baud),
        2 => Slot::Optional(&mut cfg.pin),
        3 => Slot::Optional(&mut cfg.smsc),
        4 => Slot::List(&mut cfg.init),
        5 => Slot::Seconds(&mut cfg.registration_timeout),
        6 => Slot::Seconds(&mut cfg.command_timeout),
        7 => Slot::Text(&mut cfg.spool),
        8 => Slot::U32(&mut cfg.max_attempts),
        9 => Slot::Usize(&mut cfg.keep_sent),
        10 => Slot::Usize(&mut cfg.keep_failed),
        11 => Slot::U64(&mut cfg.keep_days),
        12 => Slot::Optional(&mut cfg.hook),
        13 => Slot::Seconds(&mut cfg.hook_timeout),
        14 => Slot::Usize(&mut cfg.max_parts),
        15 => Slot::Listen(&mut cfg.listen),
        16 => Slot::Optional(&mut cfg.token),
        17 => Slot::Text(&mut cfg.token_file),
        18 => Slot::Flag(&mut cfg.no_auth),
        19 => Slot::List(&mut cfg.allow_clients),
        20 => Slot::List(&mut cfg.allow_recipients),
        21 => Slot::U32(&mut cfg.rate_limit_per_hour),
        22 => Slot::Seconds(&mut cfg.duplicate_window),
        23 => Slot::Usize(&mut cfg.max_connections),
        24 => Slot::Seconds(&mut cfg.request_timeout),
        25 => Slot::Optional(&mut cfg.hilink_user),
        26 => Slot::Optional(&mut cfg.hilink_password),
        27 => Slot::Optional(&mut cfg.hilink_password_file),
        28 => Slot::Flag(&mut cfg.no_receive),
        29 => Slot::Seconds(&mut cfg.poll_interval),
        30 => Slot::Seconds(&mut cfg.multipart_timeout),
        31 => Slot::List(&mut cfg.alert_to),
        32 => Slot::List(&mut cfg.forward_urls),
        33 => Slot::Optional(&mut cfg.forward_token),
        34 => Slot::Optional(&mut cfg.forward_token_file),
        35 => Slot::Flag(&mut cfg.report),
        36 => Slot::Seconds(&mut cfg.report_timeout),
        _ => return None,
    })
}

impl ServeConfig {
    /// Sets option `OPTIONS[index]` from its text (a flag takes `1`/`true`/`yes`/`on` as set).
    fn set(&mut self, index: usize, v: &str) -> Result<(), ConfigError> {
        let name = OPTIONS.get(index).map_or("?", |o| o.name);
        let Some(slot) = slot(self, index) else {
            return Err(ConfigError::UnknownOption(name.to_string()));
        };
        let max = match slot {
            Slot::U32(_) => u64::from(u32::MAX),
            Slot::Usize(_) => usize::MAX as u64,
            _ => u64::MAX,
        };
        let number = || match v.trim().parse::<u64>() {
            Ok(n) if n <= max => Ok(n),
            _ => Err(ConfigError::NotANumber {
                option: name,
                value: v.to_string(),
            }),
        };
        let non_empty = || (!v.trim().is_empty()).then(|| v.to_string());
        match slot {
            Slot::Text(s) => *s = v.to_string(),
            Slot::Optional(s) => *s = non_empty(),
            Slot::List(l) => l.extend(non_empty()),
            // The range checks above make these casts lossless.
            Slot::U32(n) => *n = number()? as u32,
            Slot::Usize(n) => *n = number()? as usize,
            Slot::U64(n) => *n = number()?,
            Slot::Seconds(d) => *d = Duration::from_secs(number()?),
            Slot::Listen(s) => {
                parse_socket_addr(v)?;
                *s = v.to_string()
            }
            Slot::Flag(b) => *b = matches!(v.trim(), "1" | "true" | "yes" | "on"),
        }
        Ok(())
    }
}
impl ServeConfig {
    /// Fills `hilink_password` / `forward_token` from `--hilink-password-file` /
    /// `--forward-token-file` (the init script's 0600 files: argv is visible in `ps`). A secret
    /// given directly wins, and its file is then not read, as `--token` wins over `--token-file`.
    pub fn read_secret_files(&mut self) -> Result<(), ConfigError> {
        read_secret_file(
            "hilink-password-file",
            &self.hilink_password_file,
            &mut self.hilink_password,
        )?;
        read_secret_file(
            "forward-token-file",
            &self.forward_token_file,
            &mut self.forward_token,
        )
    }
}

/// Sets `secret`, when unset, from the file at `path`, when set: its first line without the line
/// end (`\n` or `\r\n`); anything else in the line, spaces included, is part of the secret. A
/// missing, unreadable or empty file is an error naming `option` and `path`.
#[inline(never)]
fn read_secret_file(
    option: &str,
    path: &Option<String>,
    secret: &mut Option<String>,
) -> Result<(), ConfigError> {
    let (None, Some(path)) = (&secret, path) else {
        return Ok(());
    };
    let text = crate::spool::read_text(std::path::Path::new(path)).unwrap_or_default();
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        return Err(ConfigError::SecretFile(format!(
            "--{option} {path}: cannot be read or is empty"
        )));
    }
    *secret = Some(line.to_string());
    Ok(())
}

/// Parses a listen/connect address `IP:PORT` (`[v6]:PORT` for IPv6; `localhost` means 127.0.0.1).
/// Host names are deliberately not resolved: that would link musl's whole DNS resolver (~25 KB)
/// into the router binary for no use on a LAN appliance.
pub fn parse_socket_addr(s: &str) -> Result<SocketAddr, ConfigError> {
    let s = s.trim();
    let local;
    let s = match s.strip_prefix("localhost:") {
        Some(port) => {
            local = ["127.0.0.1:", port].concat();
            local.as_str()
        }
        None => s,
    };
    crate::net::addr::parse_ip_port(s, None).ok_or_else(|| ConfigError::BadAddress(s.to_string()))
}

#[cfg(test)]
mod tests;
