//! Diagnostic subcommands (`encode`, `decode`, `at`, `send`, `status`): argument handling and output.
//!
//! Owns only the translation between command-line words and module calls, and what is printed.
//! It must not hold protocol logic: encoding lives in `pdu`, AT in `at`/`modem`.
//! Each function returns the process exit code (0 ok, 1 failure, 2 usage).

use crate::at::{AtError, AtPort};
use crate::config::{self, ServeConfig};
use crate::modem::{self, SmsSender as _};
use crate::pdu::{self, EncodeOptions};
use crate::spool::incoming;
use std::fmt::Write as _;

mod decode;
use decode::line;
pub mod status;

pub use decode::decode;

/// Writes command output to stdout; a closed pipe (`| head -1`) is not worth a panic.
fn emit(text: &str) {
    let _ = crate::log::out(text);
}

/// Destination used by `smsgw encode` without `--to`: an 11-digit international number, the
/// common case, so LEN matches a typical real message. Pass `--to` for the exact PDU.
pub const ENCODE_DEFAULT_TO: &str = "+10000000000";

const ENCODE_USAGE: &str =
    "usage: smsgw encode [--to NUMBER] [--smsc NUMBER] [--flash] [--report] \
[--ucs2] [--validity VP] [--max-parts N] [--ref N] [--] TEXT";

/// A decimal option value no larger than `max` (one non-generic parser for every option).
fn number_arg(flag: &str, v: &str, max: usize) -> Result<usize, i32> {
    match v.parse::<usize>() {
        Ok(n) if n <= max => Ok(n),
        _ => {
            crate::errln!("smsgw encode: {flag} needs a number in range, got '{v}'");
            Err(2)
        }
    }
}
use crate::status::GatewayStatus;
use std::sync::Arc;

/// `smsgw encode [--to NUMBER] [--smsc NUMBER] [--flash] [--report] TEXT`: one `LEN HEXPDU` line per part.
///
/// Extra options: `--ucs2` (force UCS-2), `--validity VP` (raw relative TP-VP octet),
/// `--max-parts N` (default 6, as `serve`), `--ref N` (concatenation reference, default 0).
pub fn encode(args: &[String]) -> i32 {
    match encode_inner(args) {
        Ok(()) => 0,
        Err(code) => code,
    }
}

fn encode_inner(args: &[String]) -> Result<(), i32> {
    let mut opts = EncodeOptions::default();
    let mut to = String::from(ENCODE_DEFAULT_TO);
    let mut reference: u8 = 0;
    let mut text: Option<&str> = None;
    let mut it = args.iter();
    let mut options_done = false;
    while let Some(a) = it.next() {
        let flag = a.as_str();
        if options_done || !flag.starts_with("--") {
            if text.is_some() {
                crate::errln!("smsgw encode: unexpected argument '{a}' (quote the text)");
                return Err(2);
            }
            text = Some(a);
            continue;
        }
        match flag {
            "--" => options_done = true,
            "--flash" => opts.flash = true,
            "--report" => opts.status_report = true,
            "--ucs2" => opts.force_ucs2 = true,
            "--to" | "--smsc" | "--validity" | "--max-parts" | "--ref" => {
                let Some(v) = it.next() else {
                    crate::errln!("smsgw encode: {flag} needs a value");
                    return Err(2);
                };
                match flag {
                    "--to" => to = v.clone(),
                    "--smsc" => opts.smsc = Some(v.clone()),
                    // The range checks make the casts lossless.
                    "--validity" => opts.validity = Some(number_arg(flag, v, 255)? as u8),
                    "--max-parts" => opts.max_parts = number_arg(flag, v, usize::MAX)?,
                    _ => reference = number_arg(flag, v, 255)? as u8,
                }
            }
            _ => {
                crate::errln!("smsgw encode: unknown option '{flag}'\n{ENCODE_USAGE}");
                return Err(2);
            }
        }
    }
    let Some(text) = text else {
        crate::errln!("{ENCODE_USAGE}");
        return Err(2);
    };
    match pdu::encode_submit(&to, text, &opts, reference) {
        Ok(parts) => {
            let mut out = String::with_capacity(parts.len() * 360);
            for p in &parts {
                crate::http::push_u64(&mut out, p.tpdu_len as u64);
                line(&mut out, " ", &p.hex);
            }
            emit(&out);
            Ok(())
        }
        Err(e) => {
            crate::errln!("smsgw encode: {e}");
            Err(1)
        }
    }
}

/// Splits `serve`-style options (`--name VALUE`, `--name=VALUE`, flags) from positional words.
fn split_options(args: &[String]) -> (Vec<String>, Vec<String>) {
    let (mut opts, mut words) = (Vec::new(), Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a.starts_with("--") && a.len() > 2 {
            opts.push(a.clone());
            if !a.contains('=') && a != "--no-auth" && a != "--no-receive" {
                if let Some(v) = it.next() {
                    opts.push(v.clone());
                }
            }
        } else {
            words.push(a.clone());
        }
    }
    (opts, words)
}

/// `serve` options of `at`, `send`, `ussd` and `inbox` (same names), and the other words.
fn modem_config(cmd: &str, args: &[String]) -> Result<(ServeConfig, Vec<String>), i32> {
    let (opts, words) = split_options(args);
    match config::parse_serve(&opts) {
        Ok(cfg) => Ok((cfg, words)),
        Err(e) => {
            crate::errln!("smsgw {cmd}: {e}");
            Err(2)
        }
    }
}

/// `smsgw at [--device PATH|sim] [--baud N] [--command-timeout S] CMD...`: runs each command and
/// prints the answer lines, the final result and any URCs seen (`URC: ...`).
pub fn at(args: &[String]) -> i32 {
    let (cfg, cmds) = match modem_config("at", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    if cmds.is_empty() {
        crate::errln!(
            "usage: smsgw at [--device PATH|sim] [--baud N] [--command-timeout SECS] CMD..."
        );
        return 2;
    }
    let port = match modem::open_port(&cfg.device, cfg.baud) {
        Ok(p) => p,
        Err(e) => {
            crate::errln!("smsgw at: {e}");
            return 1;
        }
    };
    let mut at = AtPort::new(port);
    let mut code = 0;
    let timeout = modem::driver::engine_config(&cfg, false).command;
    for cmd in &cmds {
        let result = at.command(cmd, timeout);
        let mut text = String::new();
        for urc in &at.take_urcs() {
            text.push_str("URC: ");
            text.push_str(urc);
            text.push('\n');
        }
        match result {
            Ok(lines) => {
                for l in &lines {
                    text.push_str(l);
                    text.push('\n');
                }
                text.push_str("OK\n");
            }
            Err(AtError::Failed { result, .. }) => {
                text.push_str(&result.to_string());
                text.push('\n');
                code = 1;
            }
            Err(e) => {
                crate::errln!("smsgw at: {e}");
                return 1;
            }
        }
        emit(&text);
    }
    code
}

/// `smsgw send [--device PATH|sim] [--pin P] [--smsc N] [--registration-timeout S] ... TO TEXT`:
/// sends one message through the full modem engine (init, PIN, registration, retries) and prints
/// the message reference of each part.
pub fn send(args: &[String]) -> i32 {
    let (cfg, words) = match modem_config("send", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let [to, text] = words.as_slice() else {
        crate::errln!(
            "usage: smsgw send [--device PATH|sim|http://IP] [--pin PIN] [serve modem options] TO TEXT"
        );
        return 2;
    };
    let opts = EncodeOptions {
        smsc: cfg.smsc.clone(),
        max_parts: cfg.max_parts,
        ..EncodeOptions::default()
    };
    // A rejected PIN is remembered for this run only; `serve` keeps it in the spool.
    let (mut modem, _) = modem::open(&cfg, Arc::new(GatewayStatus::default()), None, None);
    if let Some(result) = modem.send_text(to, text) {
        return match result {
            Ok(id) => {
                let _ = crate::log::out_fmt(format_args!("sent: message id {id}\n"));
                0
            }
            Err(e) => {
                crate::errln!("smsgw send: {e}");
                1
            }
        };
    }
    let reference = getrandom::u32().map_or(0, |r| r as u8);
    let parts = match pdu::encode_submit(to, text, &opts, reference) {
        Ok(p) => p,
        Err(e) => {
            crate::errln!("smsgw send: {e}");
            return 1;
        }
    };
    let total = parts.len();
    for (i, part) in parts.iter().enumerate() {
        match modem.send_part(part) {
            Ok(mr) => {
                let n = i + 1;
                let _ = crate::log::out_fmt(format_args!(
                    "sent part {n}/{total}: message reference {mr}\n"
                ));
            }
            Err(e) => {
                crate::errln!("smsgw send: part {}/{total}: {e}", i + 1);
                return 1;
            }
        }
    }
    0
}

/// `smsgw ussd [--device PATH|sim] [--pin P] ... CODE`: sends a USSD code (`*100#`) and prints
/// the network's reply: through the running daemon (`GET /ussd`, which owns the stick) when one
/// answers, else through the full modem engine on the device.
pub fn ussd(args: &[String]) -> i32 {
    let (cfg, words) = match modem_config("ussd", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let [code] = words.as_slice() else {
        crate::errln!(
            "usage: smsgw ussd [--device PATH|sim] [--listen ADDR:PORT] [--token T] [--pin PIN] \
             [serve modem options] CODE"
        );
        return 2;
    };
    if let Some(exit) = ussd_via_daemon(&cfg, &split_options(args).0, code) {
        return exit;
    }
    if crate::hilink::is_hilink(&cfg.device) {
        // not a tty to wait for: fail now, as the daemon answers for such a stick
        crate::errln!("smsgw ussd: {}", crate::hilink::NO_USSD);
        return 1;
    }
    let modem = modem::driver::open(&cfg, Arc::new(GatewayStatus::default()), None, None);
    let wait = cfg.registration_timeout + std::time::Duration::from_secs(40);
    match modem.ussd_client().request(code, wait) {
        Ok(reply) => {
            let _ = crate::log::out_fmt(format_args!("{reply}\n"));
            0
        }
        Err(e) => {
            crate::errln!("smsgw ussd: {e}");
            1
        }
    }
}

/// `GET /ussd` from the daemon configured in UCI (`SMSGW_CONFIG`), where `--listen`, `--token`,
/// `--token-file` and `--no-auth` on the command line win. `None` when no daemon answers.
fn ussd_via_daemon(given: &ServeConfig, opts: &[String], code: &str) -> Option<i32> {
    let (mut daemon, _) = status::daemon_config();
    let has = |name: &str| {
        opts.iter()
            .any(|o| o == name || o.strip_prefix(name).is_some_and(|r| r.starts_with('=')))
    };
    if has("--listen") {
        daemon.listen.clone_from(&given.listen);
    }
    if has("--token") {
        daemon.token.clone_from(&given.token);
    }
    if has("--token-file") {
        daemon.token_file.clone_from(&given.token_file);
    }
    daemon.no_auth |= given.no_auth;
    let addr = status::daemon_address(&daemon)?;
    let mut target = String::from("/ussd?code=");
    for b in code.bytes() {
        if b.is_ascii_alphanumeric() || b == b'*' {
            target.push(char::from(b));
        } else {
            target.push('%');
            pdu::push_hex(&[b], &mut target);
        }
    }
    let token = status::daemon_token(&daemon);
    let wait = std::time::Duration::from_secs(60);
    let (code, body) =
        status::daemon_get(addr, &target, token.as_deref(), "text/plain", wait).ok()?;
    if code == 200 {
        emit(&body);
        Some(0)
    } else {
        crate::errln!("smsgw ussd: the daemon answered: {}", body.trim());
        Some(1)
    }
}

const INBOX_USAGE: &str = "usage: smsgw inbox [--spool DIR] [list | show ID | delete ID]";

/// `smsgw inbox [--spool DIR] [list | show ID | delete ID]`: the received messages in
/// `SPOOL/incoming/`, newest first (`list`: one line each: id, sender, sent time, start of the
/// text), one whole (`show`), or removed (`delete`).
pub fn inbox(args: &[String]) -> i32 {
    let (cfg, words) = match modem_config("inbox", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let root = std::path::Path::new(&cfg.spool);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] | ["list"] => {
            let mut out = String::new();
            for (id, _) in &incoming::list(root) {
                let Ok(f) = incoming::read(root, id) else {
                    continue;
                };
                let text = String::from_utf8_lossy(&f.body);
                let first: String = text
                    .chars()
                    .take(40)
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect();
                let _ = writeln!(
                    out,
                    "{id}  {}  {}  {first}",
                    f.header("From").unwrap_or("?"),
                    f.header("Sent").unwrap_or("-")
                );
            }
            emit(&out);
            0
        }
        ["show", id] => match incoming::read(root, id) {
            Ok(f) => {
                emit(&String::from_utf8_lossy(&f.to_bytes().unwrap_or_default()));
                0
            }
            Err(e) => {
                crate::errln!("smsgw inbox: {id}: {e}");
                1
            }
        },
        ["delete", id] => match incoming::delete(root, id) {
            Ok(()) => 0,
            Err(e) => {
                crate::errln!("smsgw inbox: {id}: {e}");
                1
            }
        },
        _ => {
            crate::errln!("{INBOX_USAGE}");
            2
        }
    }
}

/// `smsgw status`: the API token and the running daemon's `/status` (see [`status`]).
pub fn status(args: &[String]) -> i32 {
    status::status_main(args)
}
