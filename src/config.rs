//! Command-line configuration of `smsgw serve` (and the defaults CGI mode shares).
//!
//! Owns option names, defaults and validation of their syntax. It does not open devices, files or
//! sockets, and it does not know UCI: the OpenWrt init script turns UCI into these options.
//! Every option is `--name VALUE` (or `--name=VALUE`); repeatable options collect into lists.

use std::net::SocketAddr;
use std::time::Duration;

/// Default HTTP port: 8767 spells "SMS" on a phone keypad; 80/443 stay LuCI's.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8767";
pub const DEFAULT_SPOOL: &str = "/var/spool/sms";
pub const DEFAULT_TOKEN_FILE: &str = "/etc/smsgw/token";

/// Everything `smsgw serve` needs. Each module reads its own fields.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    // modem
    /// Serial device path, or `sim` for the built-in simulated modem.
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
    /// Read received SMS (off with `--no-receive`).
    pub receive: bool,
    /// How often every storage is listed (`+CMTI` only makes the next poll come sooner).
    pub poll_interval: Duration,
    /// A multipart message still missing parts this long after its first part is written with
    /// `Incomplete: yes`.
    pub multipart_timeout: Duration,
    /// Ask for a delivery report on every message unless the request says `report=0`.
    pub report: bool,
    /// A part whose delivery report has not come this long after sending is `report: none`.
    pub report_timeout: Duration,
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
            receive: true,
            poll_interval: Duration::from_secs(10),
            multipart_timeout: Duration::from_secs(3600),
            report: false,
            report_timeout: Duration::from_secs(crate::delivery::tracker::DEFAULT_REPORT_TIMEOUT),
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
        }
    }
}

/// Parses a listen/connect address `IP:PORT` (`[v6]:PORT` for IPv6; `localhost` means 127.0.0.1).
/// Host names are deliberately not resolved: that would link musl's whole DNS resolver (~25 KB)
/// into the router binary for no use on a LAN appliance.
pub fn parse_socket_addr(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    let local;
    let s = match s.strip_prefix("localhost:") {
        Some(port) => {
            local = ["127.0.0.1:", port].concat();
            local.as_str()
        }
        None => s,
    };
    s.parse().map_err(|_| {
        [
            "'",
            s,
            "' is not an address of the form IP:PORT (e.g. 0.0.0.0:8767)",
        ]
        .concat()
    })
}

/// Parses `serve` arguments (after the subcommand word).
///
/// Written for size (it runs once, on the router): one loop, error texts joined with `concat`
/// rather than `format!`, and one non-generic number parser for every numeric option.
pub fn parse_serve(args: &[String]) -> Result<ServeConfig, String> {
    let mut cfg = ServeConfig::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let Some(opt) = arg.strip_prefix("--") else {
            return Err(["unexpected argument '", arg, "'"].concat());
        };
        let (name, inline) = match opt.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (opt, None),
        };
        // The options without a value.
        if name == "no-auth" || name == "no-receive" {
            if inline.is_some() {
                return Err(["--", name, " takes no value"].concat());
            }
            if name == "no-auth" {
                cfg.no_auth = true;
            } else {
                cfg.receive = false;
            }
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => match it.next() {
                Some(v) => v.as_str(),
                None => return Err(["--", name, " needs a value"].concat()),
            },
        };
        set_option(&mut cfg, name, value)?;
    }
    Ok(cfg)
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
}

/// Every option that takes a value, in the order of [`slot`]'s arms.
const OPTIONS: [&str; 26] = [
    "device",
    "baud",
    "pin",
    "smsc",
    "init",
    "registration-timeout",
    "command-timeout",
    "spool",
    "max-attempts",
    "keep-sent",
    "keep-failed",
    "keep-days",
    "hook",
    "hook-timeout",
    "max-parts",
    "listen",
    "token",
    "token-file",
    "allow-client",
    "allow-recipient",
    "rate-limit",
    "duplicate-window",
    "max-connections",
    "request-timeout",
    "poll-interval",
    "multipart-timeout",
];

fn slot<'a>(cfg: &'a mut ServeConfig, name: &str) -> Option<Slot<'a>> {
    // A table lookup then a match on the index: smaller than a `match` on 24 strings.
    Some(match OPTIONS.iter().position(|o| *o == name)? {
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
        18 => Slot::List(&mut cfg.allow_clients),
        19 => Slot::List(&mut cfg.allow_recipients),
        20 => Slot::U32(&mut cfg.rate_limit_per_hour),
        21 => Slot::Seconds(&mut cfg.duplicate_window),
        22 => Slot::Usize(&mut cfg.max_connections),
        23 => Slot::Seconds(&mut cfg.request_timeout),
        24 => Slot::Seconds(&mut cfg.poll_interval),
        25 => Slot::Seconds(&mut cfg.multipart_timeout),
        _ => return None,
    })
}

fn set_option(cfg: &mut ServeConfig, name: &str, v: &str) -> Result<(), String> {
    let Some(slot) = slot(cfg, name) else {
        return Err(["unknown option --", name].concat());
    };
    let max = match slot {
        Slot::U32(_) => u64::from(u32::MAX),
        Slot::Usize(_) => usize::MAX as u64,
        _ => u64::MAX,
    };
    let number = || match v.trim().parse::<u64>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(["--", name, ": '", v, "' is not a valid number"].concat()),
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
            parse_socket_addr(v).map_err(|e| ["--listen: ", &e].concat())?;
            *s = v.to_string()
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn parses_values_flags_and_lists() {
        let c = parse_serve(&args(&[
            "--device",
            "sim",
            "--listen=127.0.0.1:9",
            "--no-auth",
            "--init",
            "AT^CURC=0",
            "--init",
            "AT+CSCS=\"GSM\"",
            "--baud",
            "9600",
        ]))
        .unwrap();
        assert_eq!(c.device, "sim");
        assert_eq!(c.listen, "127.0.0.1:9");
        assert!(c.no_auth);
        assert_eq!(c.init, vec!["AT^CURC=0", "AT+CSCS=\"GSM\""]);
        assert_eq!(c.baud, 9600);
    }

    #[test]
    fn rejects_bad_input_with_a_message() {
        assert!(parse_serve(&args(&["--baud", "fast"]))
            .unwrap_err()
            .contains("not a valid number"));
        assert!(parse_serve(&args(&["--nope", "1"]))
            .unwrap_err()
            .contains("unknown option"));
        assert!(parse_serve(&args(&["--device"]))
            .unwrap_err()
            .contains("needs a value"));
        assert!(parse_serve(&args(&["stray"])).is_err());
        assert!(parse_serve(&args(&["--listen", "router.lan:80"]))
            .unwrap_err()
            .contains("IP:PORT"));
        assert!(parse_serve(&args(&["--no-auth=1"])).is_err());
    }

    #[test]
    fn socket_addresses_parse_without_dns() {
        assert_eq!(
            parse_socket_addr("localhost:8767").unwrap(),
            "127.0.0.1:8767".parse::<SocketAddr>().unwrap()
        );
        assert!(parse_socket_addr("[::1]:80").is_ok());
        assert!(parse_socket_addr("0.0.0.0").is_err());
    }

    #[test]
    fn empty_values_mean_unset() {
        let c = parse_serve(&args(&["--pin", "", "--token", " "])).unwrap();
        assert_eq!(c.pin, None);
        assert_eq!(c.token, None);
    }
}
