//! Diagnostic subcommands (`encode`, `decode`, `at`, `send`, `status`): argument handling and output.
//!
//! Owns only the translation between command-line words and module calls, and what is printed.
//! It must not hold protocol logic: encoding lives in `pdu`, AT in `at`/`modem`.
//! Each function returns the process exit code (0 ok, 1 failure, 2 usage).

use crate::pdu::{self, EncodeOptions};

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

/// `smsgw at CMD`.
pub fn at(_args: &[String]) -> i32 {
    eprintln!("smsgw at: not built yet");
    1
}

/// `smsgw send TO TEXT`.
pub fn send(_args: &[String]) -> i32 {
    eprintln!("smsgw send: not built yet");
    1
}

/// `smsgw status`: the API token and the running daemon's `/status` (see `http::status_cmd`).
pub fn status(args: &[String]) -> i32 {
    crate::http::status_cmd::status_main(args)
}
