//! Diagnostic subcommands (`encode`, `decode`, `at`, `send`, `status`): argument handling and output.
//!
//! Owns only the translation between command-line words and module calls, and what is printed.
//! It must not hold protocol logic: encoding lives in `pdu`, AT in `at`/`modem`.
//! Each function returns the process exit code (0 ok, 1 failure, 2 usage).

use crate::at::{AtError, AtPort};
use crate::config::{self, ServeConfig};
use crate::modem;
use crate::pdu::{self, EncodeOptions};
use crate::status::GatewayStatus;
use std::sync::Arc;

/// `smsgw encode [--to NUMBER] [--smsc NUMBER] [--flash] [--report] TEXT`: one `LEN HEXPDU` line per part.
pub fn encode(args: &[String]) -> i32 {
    let mut opts = EncodeOptions::default();
    let mut to = String::from("+10000000000");
    let mut text: Option<&str> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--to" | "--smsc" => {
                let Some(v) = it.next() else {
                    eprintln!("smsgw encode: {a} needs a value");
                    return 2;
                };
                if a == "--to" {
                    to = v.clone();
                } else {
                    opts.smsc = Some(v.clone());
                }
            }
            "--flash" => opts.flash = true,
            "--report" => opts.status_report = true,
            t if text.is_none() => text = Some(t),
            extra => {
                eprintln!("smsgw encode: unexpected argument '{extra}'");
                return 2;
            }
        }
    }
    let Some(text) = text else {
        eprintln!("usage: smsgw encode [--to NUMBER] [--smsc NUMBER] [--flash] [--report] TEXT");
        return 2;
    };
    match pdu::encode_submit(&to, text, &opts, 0) {
        Ok(parts) => {
            for p in parts {
                println!("{} {}", p.tpdu_len, p.hex);
            }
            0
        }
        Err(e) => {
            eprintln!("smsgw encode: {e}");
            1
        }
    }
}

/// `smsgw decode HEX`.
pub fn decode(_args: &[String]) -> i32 {
    eprintln!("smsgw decode: not built yet");
    1
}

/// Splits `serve`-style options (`--name VALUE`, `--name=VALUE`, flags) from positional words.
fn split_options(args: &[String]) -> (Vec<String>, Vec<String>) {
    let (mut opts, mut words) = (Vec::new(), Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a.starts_with("--") && a.len() > 2 {
            opts.push(a.clone());
            if !a.contains('=') && a != "--no-auth" {
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
            eprintln!("smsgw {cmd}: {e}");
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
        eprintln!("usage: smsgw at [--device PATH|sim] [--baud N] [--command-timeout SECS] CMD...");
        return 2;
    }
    let port = match modem::open_port(&cfg.device, cfg.baud) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("smsgw at: {e}");
            return 1;
        }
    };
    let mut at = AtPort::new(port);
    let mut code = 0;
    for cmd in &cmds {
        let result = at.command(cmd, modem::session::Timeouts::from_config(&cfg).command);
        for urc in at.take_urcs() {
            println!("URC: {urc}");
        }
        match result {
            Ok(lines) => {
                for l in lines {
                    println!("{l}");
                }
                println!("OK");
            }
            Err(AtError::Failed { result, .. }) => {
                println!("{result}");
                code = 1;
            }
            Err(e) => {
                eprintln!("smsgw at: {e}");
                return 1;
            }
        }
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
        eprintln!(
            "usage: smsgw send [--device PATH|sim] [--pin PIN] [serve modem options] TO TEXT"
        );
        return 2;
    };
    let opts = EncodeOptions {
        smsc: cfg.smsc.clone(),
        max_parts: cfg.max_parts,
        ..EncodeOptions::default()
    };
    let reference = getrandom::u32().map_or(0, |r| r as u8);
    let parts = match pdu::encode_submit(to, text, &opts, reference) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("smsgw send: {e}");
            return 1;
        }
    };
    let mut modem = modem::open(&cfg, Arc::new(GatewayStatus::default()));
    let total = parts.len();
    for (i, part) in parts.iter().enumerate() {
        match modem.send_part(part) {
            Ok(mr) => println!("sent part {}/{total}: message reference {mr}", i + 1),
            Err(e) => {
                eprintln!("smsgw send: part {}/{total}: {e}", i + 1);
                return 1;
            }
        }
    }
    0
}

/// `smsgw status`.
pub fn status(_args: &[String]) -> i32 {
    eprintln!("smsgw status: not built yet");
    1
}
