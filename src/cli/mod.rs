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

pub mod status;

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
            for p in parts {
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

/// Appends `label`, then `value`, then a newline: every output line goes through these few
/// non-generic helpers (a `writeln!` per line costs several times their size on the router).
fn line(out: &mut String, label: &str, value: &str) {
    out.push_str(label);
    out.push_str(value);
    out.push('\n');
}

/// `label` and a decimal number.
fn line_num(out: &mut String, label: &str, n: u64) {
    out.push_str(label);
    crate::http::push_u64(out, n);
    out.push('\n');
}

/// Appends a value printed by its `Display`.
fn show(out: &mut String, value: &dyn std::fmt::Display) {
    let _ = write!(out, "{value}"); // writing to a String cannot fail
}

/// `label` and a value printed by its `Display`.
fn line_show(out: &mut String, label: &str, value: &dyn std::fmt::Display) {
    out.push_str(label);
    show(out, value);
    out.push('\n');
}

/// `label` and `0xHH`.
fn line_hex(out: &mut String, label: &str, b: u8) {
    out.push_str(label);
    out.push_str("0x");
    pdu::push_hex(&[b], out);
    out.push('\n');
}

fn write_user_data(out: &mut String, ud: &pdu::UserData) {
    let class = match ud.coding.class {
        Some(0) => " (class 0, flash)",
        Some(1) => " (class 1)",
        Some(2) => " (class 2, SIM)",
        Some(_) => " (class 3)",
        None => "",
    };
    out.push_str("coding:     ");
    show(out, &ud.coding.alphabet);
    line(out, class, "");
    if let Some(w) = ud.coding.message_waiting {
        let kind = ["voicemail", "fax", "e-mail", "other"][usize::from(w.kind & 3)];
        out.push_str("waiting:    ");
        line(out, kind, if w.active { " on" } else { " off" });
    }
    if let Some(c) = ud.concat {
        out.push_str("part:       ");
        crate::http::push_u64(out, c.seq.into());
        out.push('/');
        crate::http::push_u64(out, c.total.into());
        line_num(out, " ref ", c.reference.into());
    }
    if ud.coding.alphabet == pdu::Alphabet::EightBit || ud.coding.compressed {
        out.push_str("data:       ");
        out.push_str(&ud.text);
        out.push_str(" (");
        crate::http::push_u64(out, ud.data.len() as u64);
        line(out, " octets)", "");
        return;
    }
    out.push_str("text:       ");
    pdu::push_one_line(&ud.text, out);
    out.push('\n');
}

fn write_address(out: &mut String, label: &str, a: &pdu::Address) {
    out.push_str(label);
    show(out, a);
    out.push_str(" (");
    out.push_str(a.type_of_number().name());
    out.push_str(", TOA 0x");
    pdu::push_hex(&[a.toa], out);
    line(out, ")", "");
}

fn write_fields(out: &mut String, pdu: &pdu::DecodedPdu) {
    match &pdu.smsc {
        Some(a) => line_show(out, "smsc:       ", a),
        None => line(out, "smsc:       ", "(SIM default)"),
    }
    match &pdu.tpdu {
        pdu::Tpdu::Submit(s) => {
            line(out, "type:       ", "SMS-SUBMIT");
            line_show(out, "to:         ", &s.to);
            line_num(out, "reference:  ", s.message_reference.into());
            match s.validity {
                pdu::Validity::None => {}
                pdu::Validity::Relative(vp) => {
                    out.push_str("validity:   ");
                    crate::http::push_u64(out, pdu::relative_validity_minutes(vp).into());
                    out.push_str(" minutes (TP-VP ");
                    crate::http::push_u64(out, vp.into());
                    line(out, ")", "");
                }
                pdu::Validity::Absolute(t) => line_show(out, "validity:   until ", &t),
                pdu::Validity::Enhanced(_) => line(out, "validity:   ", "enhanced format"),
            }
            let report = if s.status_report_request {
                "requested"
            } else {
                "not requested"
            };
            line(out, "report:     ", report);
            write_user_data(out, &s.user_data);
        }
        pdu::Tpdu::Deliver(d) => {
            line(out, "type:       ", "SMS-DELIVER");
            write_address(out, "from:       ", &d.from);
            line_show(out, "time:       ", &d.timestamp);
            line_hex(out, "pid:        ", d.protocol_id);
            line_hex(out, "dcs:        ", d.dcs);
            for (set, flag) in [
                (d.more_messages, "more messages waiting"),
                (d.reply_path, "reply path"),
                (
                    d.status_report_indication,
                    "status report requested by sender",
                ),
            ] {
                if set {
                    line(out, "flag:       ", flag);
                }
            }
            write_user_data(out, &d.user_data);
        }
        pdu::Tpdu::StatusReport(s) => {
            line(out, "type:       ", "SMS-STATUS-REPORT");
            write_address(out, "recipient:  ", &s.recipient);
            line_num(out, "reference:  ", s.message_reference.into());
            line_show(out, "submitted:  ", &s.timestamp);
            line_show(out, "discharged: ", &s.discharge_time);
            out.push_str("status:     ");
            crate::http::push_u64(out, s.status.into());
            line(out, ",", s.delivery_status().smstools_text());
            line(out, "outcome:    ", s.outcome().as_str());
            if s.on_command {
                line(out, "flag:       ", "report on an SMS-COMMAND");
            }
            if let Some(pid) = s.protocol_id {
                line_hex(out, "pid:        ", pid);
            }
            if let Some(dcs) = s.dcs {
                line_hex(out, "dcs:        ", dcs);
            }
            if let Some(ud) = &s.user_data {
                write_user_data(out, ud);
            }
        }
    }
    line_num(out, "tpdu length: ", pdu.tpdu_len as u64);
}

/// `smsgw decode [LEN] HEX`: prints the fields of a PDU that starts with the SMSC field. With LEN
/// (as printed by `smsgw encode`), also checks it against the TPDU length.
pub fn decode(args: &[String]) -> i32 {
    let (len, hex) = match args {
        [hex] => (None, hex),
        [len, hex] => match len.parse::<usize>() {
            Ok(n) => (Some(n), hex),
            Err(_) => {
                crate::errln!("smsgw decode: LEN must be a number, got '{len}'");
                return 2;
            }
        },
        _ => {
            crate::errln!("usage: smsgw decode [LEN] HEX");
            return 2;
        }
    };
    let pdu = match pdu::decode(hex) {
        Ok(p) => p,
        Err(e) => {
            crate::errln!("smsgw decode: {e}");
            return 1;
        }
    };
    let mut out = String::with_capacity(512);
    write_fields(&mut out, &pdu);
    emit(&out);
    match len {
        Some(n) if n != pdu.tpdu_len => {
            crate::errln!(
                "smsgw decode: LEN {n} does not match the TPDU length {}",
                pdu.tpdu_len
            );
            1
        }
        _ => 0,
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
                opts.extend(it.next().cloned());
            }
        } else {
            words.push(a.clone());
        }
    }
    (opts, words)
}

/// Modem options shared by `at` and `send` (same names as `serve`).
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
    for cmd in &cmds {
        let result = at.command(cmd, modem::driver::engine_config(&cfg, false).command);
        let mut text = String::new();
        for urc in at.take_urcs() {
            text.push_str("URC: ");
            text.push_str(&urc);
            text.push('\n');
        }
        match result {
            Ok(lines) => {
                for l in lines {
                    text.push_str(&l);
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
                emit(&format!("sent: message id {id}\n"));
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
            Ok(mr) => emit(&format!(
                "sent part {}/{total}: message reference {mr}\n",
                i + 1
            )),
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
    let modem = modem::driver::open(&cfg, Arc::new(GatewayStatus::default()), None, None);
    let wait = cfg.registration_timeout + std::time::Duration::from_secs(40);
    match modem.ussd_client().request(code, wait) {
        Ok(reply) => {
            emit(&format!("{reply}\n"));
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
    let (opts, words) = split_options(args);
    let cfg = match config::parse_serve(&opts) {
        Ok(c) => c,
        Err(e) => {
            crate::errln!("smsgw inbox: {e}");
            return 2;
        }
    };
    let root = std::path::Path::new(&cfg.spool);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] | ["list"] => {
            let mut out = String::new();
            for (id, _) in incoming::list(root) {
                let Ok(f) = incoming::read(root, &id) else {
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
