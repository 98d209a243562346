//! Diagnostic subcommands (`encode`, `decode`, `at`, `send`, `status`): argument handling and output.
//!
//! Owns only the translation between command-line words and module calls, and what is printed.
//! It must not hold protocol logic: encoding lives in `pdu`, AT in `at`/`modem`.
//! Each function returns the process exit code (0 ok, 1 failure, 2 usage).

use crate::pdu::{self, EncodeOptions};

/// Destination used by `smsgw encode` without `--to`: an 11-digit international number, the
/// common case, so LEN matches a typical real message. Pass `--to` for the exact PDU.
pub const ENCODE_DEFAULT_TO: &str = "+10000000000";

const ENCODE_USAGE: &str =
    "usage: smsgw encode [--to NUMBER] [--smsc NUMBER] [--flash] [--report] \
[--ucs2] [--validity VP] [--max-parts N] [--ref N] [--] TEXT";

fn number_arg<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, i32> {
    v.parse().map_err(|_| {
        eprintln!("smsgw encode: {flag} needs a number in range, got '{v}'");
        2
    })
}

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
                eprintln!("smsgw encode: unexpected argument '{a}' (quote the text)");
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
                    eprintln!("smsgw encode: {flag} needs a value");
                    return Err(2);
                };
                match flag {
                    "--to" => to = v.clone(),
                    "--smsc" => opts.smsc = Some(v.clone()),
                    "--validity" => opts.validity = Some(number_arg(flag, v)?),
                    "--max-parts" => opts.max_parts = number_arg(flag, v)?,
                    _ => reference = number_arg(flag, v)?,
                }
            }
            _ => {
                eprintln!("smsgw encode: unknown option '{flag}'\n{ENCODE_USAGE}");
                return Err(2);
            }
        }
    }
    let Some(text) = text else {
        eprintln!("{ENCODE_USAGE}");
        return Err(2);
    };
    match pdu::encode_submit(&to, text, &opts, reference) {
        Ok(parts) => {
            for p in parts {
                println!("{} {}", p.tpdu_len, p.hex);
            }
            Ok(())
        }
        Err(e) => {
            eprintln!("smsgw encode: {e}");
            Err(1)
        }
    }
}

fn print_user_data(ud: &pdu::UserData) {
    let class = match ud.coding.class {
        Some(0) => " (class 0, flash)",
        Some(1) => " (class 1)",
        Some(2) => " (class 2, SIM)",
        Some(_) => " (class 3)",
        None => "",
    };
    println!("coding:     {}{class}", ud.coding.alphabet);
    if let Some(pdu::Concat {
        reference,
        total,
        seq,
    }) = ud.concat
    {
        println!("part:       {seq}/{total} ref {reference}");
    }
    println!("text:       {}", ud.text);
}

/// `smsgw decode [LEN] HEX`: prints the fields of a PDU that starts with the SMSC field. With LEN
/// (as printed by `smsgw encode`), also checks it against the TPDU length.
pub fn decode(args: &[String]) -> i32 {
    let (len, hex) = match args {
        [hex] => (None, hex),
        [len, hex] => match len.parse::<usize>() {
            Ok(n) => (Some(n), hex),
            Err(_) => {
                eprintln!("smsgw decode: LEN must be a number, got '{len}'");
                return 2;
            }
        },
        _ => {
            eprintln!("usage: smsgw decode [LEN] HEX");
            return 2;
        }
    };
    let pdu = match pdu::decode(hex) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("smsgw decode: {e}");
            return 1;
        }
    };
    match &pdu.smsc {
        Some(a) => println!("smsc:       {a}"),
        None => println!("smsc:       (SIM default)"),
    }
    match &pdu.tpdu {
        pdu::Tpdu::Submit(s) => {
            println!("type:       SMS-SUBMIT");
            println!("to:         {}", s.to);
            println!("reference:  {}", s.message_reference);
            match s.validity {
                pdu::Validity::None => {}
                pdu::Validity::Relative(vp) => println!(
                    "validity:   {} minutes (TP-VP {vp})",
                    pdu::relative_validity_minutes(vp)
                ),
                pdu::Validity::Absolute(t) => println!("validity:   until {t}"),
                pdu::Validity::Enhanced(_) => println!("validity:   enhanced format"),
            }
            println!(
                "report:     {}",
                if s.status_report_request {
                    "requested"
                } else {
                    "not requested"
                }
            );
            print_user_data(&s.user_data);
        }
        pdu::Tpdu::Deliver(d) => {
            println!("type:       SMS-DELIVER");
            println!("from:       {}", d.from);
            println!("time:       {}", d.timestamp);
            print_user_data(&d.user_data);
        }
        pdu::Tpdu::StatusReport(s) => {
            println!("type:       SMS-STATUS-REPORT");
            println!("recipient:  {}", s.recipient);
            println!("reference:  {}", s.message_reference);
            println!("submitted:  {}", s.timestamp);
            println!("discharged: {}", s.discharge_time);
            println!(
                "status:     0x{:02X} {}",
                s.status,
                pdu::status_text(s.status)
            );
        }
    }
    println!("tpdu length: {}", pdu.tpdu_len);
    match len {
        Some(n) if n != pdu.tpdu_len => {
            eprintln!(
                "smsgw decode: LEN {n} does not match the TPDU length {}",
                pdu.tpdu_len
            );
            1
        }
        _ => 0,
    }
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

/// `smsgw status`.
pub fn status(_args: &[String]) -> i32 {
    eprintln!("smsgw status: not built yet");
    1
}
