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
            local = format!("127.0.0.1:{port}");
            local.as_str()
        }
        None => s,
    };
    s.parse()
        .map_err(|_| format!("'{s}' is not an address of the form IP:PORT (e.g. 0.0.0.0:8767)"))
}

/// Options that take no value.
const FLAGS: &[&str] = &["no-auth"];

/// Parses `serve` arguments (after the subcommand word).
pub fn parse_serve(args: &[String]) -> Result<ServeConfig, String> {
    let mut cfg = ServeConfig::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        let Some(opt) = arg.strip_prefix("--") else {
            return Err(format!("unexpected argument '{arg}'"));
        };
        let (name, inline) = match opt.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (opt, None),
        };
        if FLAGS.contains(&name) {
            if inline.is_some() {
                return Err(format!("--{name} takes no value"));
            }
            set_flag(&mut cfg, name);
            i += 1;
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => {
                i += 1;
                args.get(i)
                    .cloned()
                    .ok_or_else(|| format!("--{name} needs a value"))?
            }
        };
        set_option(&mut cfg, name, value)?;
        i += 1;
    }
    Ok(cfg)
}

fn set_flag(cfg: &mut ServeConfig, name: &str) {
    if name == "no-auth" {
        cfg.no_auth = true;
    }
}

fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
    v.trim()
        .parse()
        .map_err(|_| format!("--{name}: '{v}' is not a valid number"))
}

fn non_empty(v: String) -> Option<String> {
    if v.trim().is_empty() {
        None
    } else {
        Some(v)
    }
}

fn set_option(cfg: &mut ServeConfig, name: &str, v: String) -> Result<(), String> {
    match name {
        "device" => cfg.device = v,
        "baud" => cfg.baud = number(name, &v)?,
        "pin" => cfg.pin = non_empty(v),
        "smsc" => cfg.smsc = non_empty(v),
        "init" => cfg.init.extend(non_empty(v)),
        "registration-timeout" => cfg.registration_timeout = Duration::from_secs(number(name, &v)?),
        "command-timeout" => cfg.command_timeout = Duration::from_secs(number(name, &v)?),
        "spool" => cfg.spool = v,
        "max-attempts" => cfg.max_attempts = number(name, &v)?,
        "keep-sent" => cfg.keep_sent = number(name, &v)?,
        "keep-failed" => cfg.keep_failed = number(name, &v)?,
        "keep-days" => cfg.keep_days = number(name, &v)?,
        "hook" => cfg.hook = non_empty(v),
        "hook-timeout" => cfg.hook_timeout = Duration::from_secs(number(name, &v)?),
        "max-parts" => cfg.max_parts = number(name, &v)?,
        "listen" => {
            parse_socket_addr(&v).map_err(|e| format!("--listen: {e}"))?;
            cfg.listen = v
        }
        "token" => cfg.token = non_empty(v),
        "token-file" => cfg.token_file = v,
        "allow-client" => cfg.allow_clients.extend(non_empty(v)),
        "allow-recipient" => cfg.allow_recipients.extend(non_empty(v)),
        "rate-limit" => cfg.rate_limit_per_hour = number(name, &v)?,
        "duplicate-window" => cfg.duplicate_window = Duration::from_secs(number(name, &v)?),
        "max-connections" => cfg.max_connections = number(name, &v)?,
        "request-timeout" => cfg.request_timeout = Duration::from_secs(number(name, &v)?),
        _ => return Err(format!("unknown option --{name}")),
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
