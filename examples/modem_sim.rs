//! `modem_sim --link PATH [--pin 1234] [--cms-error N:COUNT] [--no-answer] [--register-after SECS]
//! [--quiet] [--loud]`: a simulated Huawei E3372 on a pseudo-terminal for end-to-end tests.
//!
//! Prints `PTY <slave path>` as its first stdout line, then one line `CMGS <len> <hex>` per PDU
//! received (flushed). Runs until killed or stdin closes (stdin that cannot close, such as
//! /dev/null for `modem_sim ... &` in a script, is ignored). Stdin lines control it:
//! `unplug SECS` unplugs the stick (master closed, PATH removed) and replugs it after SECS behind
//! the same PATH; `deliver HEX` makes an SMS-DELIVER PDU (SMSC field first) arrive;
//! `submit HEX` makes the SMS-SUBMIT `smsgw encode --to SENDER TEXT` prints arrive as the
//! DELIVER from SENDER. Storage options: `--slots N` (default 20), `--lose-hints` (no `+CMTI`),
//! `--cpms-lag` (`AT+CPMS` counts a new message only from its second query).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a finding

#[path = "../tests/common/modem_sim.rs"]
mod modem_sim;

use modem_sim::{ModemSim, SimOptions};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

const USAGE: &str = "usage: modem_sim --link PATH [--pin 1234] [--cms-error N:COUNT] [--no-answer] [--register-after SECS] [--quiet] [--loud] [--slots N] [--lose-hints] [--cpms-lag]";

/// The service centre time stamp of injected messages: 26-11-28 12:34:00 +01:00.
const SCTS: [u8; 7] = [0x62, 0x11, 0x82, 0x21, 0x43, 0x00, 0x40];

fn parse(args: &[String]) -> Result<(PathBuf, SimOptions), String> {
    let mut link = None;
    let mut opts = SimOptions {
        noise: true,
        ..SimOptions::default()
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--link" => link = Some(PathBuf::from(value()?)),
            "--pin" => opts.pin = Some(value()?),
            "--cms-error" => {
                let v = value()?;
                let (code, count) = v.split_once(':').ok_or("--cms-error wants N:COUNT")?;
                let code = code.parse().map_err(|_| "--cms-error: bad code")?;
                let count = count.parse().map_err(|_| "--cms-error: bad count")?;
                opts.cms_error = Some((code, count));
            }
            "--no-answer" => opts.no_answer = true,
            "--register-after" => {
                let secs: f64 = value()?
                    .parse()
                    .map_err(|_| "--register-after: bad number")?;
                opts.register_after = Duration::from_secs_f64(secs.max(0.0));
            }
            "--quiet" => opts.noise = false,
            "--loud" => opts.loud = true,
            "--slots" => opts.store.slots = value()?.parse().map_err(|_| "--slots: bad number")?,
            "--lose-hints" => opts.store.lose_hints = true,
            "--cpms-lag" => opts.store.cpms_lag = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok((link.ok_or("--link is required")?, opts))
}

/// A pipe, socket or terminal on stdin can close (the parent ends); /dev/null or a file cannot.
fn stdin_can_close() -> bool {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::metadata("/proc/self/fd/0") else {
        return true;
    };
    let t = meta.file_type();
    t.is_fifo()
        || t.is_socket()
        || (t.is_char_device() && std::io::IsTerminal::is_terminal(&std::io::stdin()))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (link, opts) = match parse(&args) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("modem_sim: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let hook: modem_sim::PduHook = Box::new(|len: usize, hex: &str| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "CMGS {len} {hex}");
        let _ = out.flush();
    });
    let sim = match ModemSim::start(&link, opts, Some(hook)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("modem_sim: cannot create the pty: {e}");
            std::process::exit(1);
        }
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "PTY {}", sim.slave());
        let _ = out.flush();
    }
    if !stdin_can_close() {
        // `cmd &` in a script gets /dev/null as stdin: that is no request to stop.
        loop {
            std::thread::park();
        }
    }
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let line = line.trim();
        if let Some(secs) = line.strip_prefix("unplug") {
            let secs: f64 = secs.trim().parse().unwrap_or(2.0);
            sim.unplug(Duration::from_secs_f64(secs.max(0.0)));
        } else if let Some(hex) = line.strip_prefix("deliver ") {
            sim.inject(hex.trim());
        } else if let Some(hex) = line.strip_prefix("submit ") {
            match modem_sim::sim_storage::submit_to_deliver(hex.trim(), SCTS) {
                Some(pdu) => sim.inject(&pdu),
                None => eprintln!("modem_sim: not an SMS-SUBMIT: {hex}"),
            }
        }
    }
    drop(sim);
}
