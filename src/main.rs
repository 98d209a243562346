//! smsgw: one static binary that takes HTTP GETs from LAN hosts, queues them in a file spool and sends
//! them as SMS through a GSM stick in AT/PDU mode.
//!
//! This file only wires: it picks the mode (CGI, daemon, diagnostic subcommand), builds the shared
//! pieces and starts the threads. Logic lives in the modules.

mod at;
mod civil;
mod cli;
mod config;
mod delivery;
mod forward;
mod hilink;
mod http;
mod integrations;
mod json;
mod log;
mod modem;
mod net;
mod pdu;
mod shutdown;
mod spool;
mod status;

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const USAGE: &str = "usage: smsgw <command> [options]
  serve --device PATH|sim --listen ADDR:PORT --spool DIR [--token-file F | --no-auth] ...
        (smsgw serve --help lists every option)
  encode [--to NUMBER] [--smsc NUMBER] [--flash] [--report] TEXT
  decode HEX
  at [--device PATH] CMD
  send [--device PATH] TO TEXT
  ussd [--device PATH] [--listen ADDR:PORT] CODE   (through the running daemon when there is one)
  inbox [--spool DIR] [list | show ID | delete ID]
  status [--listen ADDR:PORT]
Run as a CGI program (GATEWAY_INTERFACE set) it answers GET /cgi-bin/sms.";

fn main() -> ExitCode {
    if std::env::var_os("GATEWAY_INTERFACE").is_some() {
        return code(http::cgi_main());
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        errln!("{USAGE}");
        return ExitCode::from(2);
    };
    match cmd.as_str() {
        "serve" if rest.iter().any(|a| a == "--help" || a == "-h") => {
            let _ = log::out(&config::serve_help());
            ExitCode::SUCCESS
        }
        "serve" => match config::parse_serve(rest) {
            Ok(cfg) => serve(cfg),
            Err(e) => fail(&e),
        },
        "encode" => code(cli::encode(rest)),
        "decode" => code(cli::decode(rest)),
        "at" => code(cli::at(rest)),
        "send" => code(cli::send(rest)),
        "ussd" => code(cli::ussd(rest)),
        "inbox" => code(cli::inbox(rest)),
        "status" => code(cli::status(rest)),
        "-h" | "--help" | "help" => {
            let _ = log::out(&[USAGE, "\n"].concat());
            ExitCode::SUCCESS
        }
        "-V" | "--version" => {
            let _ = log::out(concat!("smsgw ", env!("CARGO_PKG_VERSION"), "\n"));
            ExitCode::SUCCESS
        }
        other => fail(&format_args!("unknown command '{other}'\n{USAGE}")),
    }
}

fn serve(cfg: config::ServeConfig) -> ExitCode {
    let cfg = Arc::new(cfg);
    log::daemon_mode();
    // Before any thread starts, so that only the signal thread ever takes SIGTERM/SIGINT/SIGHUP.
    let signals = match shutdown::prepare_stop_signals() {
        Ok(s) => s,
        Err(e) => return fail(&format_args!("cannot block SIGTERM: {e}")),
    };
    // Everything that can refuse the start before the spool and the modem are touched.
    let listening = match http::listen(&cfg) {
        Ok(l) => l,
        Err(e) => return fail(&e),
    };
    let status = Arc::new(status::GatewayStatus::default());
    let spool = match spool::Spool::open(Path::new(&cfg.spool)) {
        Ok(s) => Arc::new(s),
        Err(e) => return fail(&format_args!("spool {}: {e}", cfg.spool)),
    };
    if let Err(e) = forward::start(
        Path::new(&cfg.spool),
        &cfg.forward_urls,
        cfg.forward_token.clone(),
    ) {
        return fail(&e);
    }
    let pin_file = Some(Path::new(&cfg.spool).join(modem::driver::PIN_FILE));
    let tracking = delivery::tracker::TrackerConfig {
        report_timeout: cfg.report_timeout.as_secs(),
        ..Default::default()
    };
    let deliveries =
        match spool::deliveries::Deliveries::open(spool.clone(), tracking, status.clone()) {
            Ok(d) => Arc::new(d),
            Err(e) => return fail(&format_args!("spool {}: report: {e}", cfg.spool)),
        };
    deliveries.restore(deliveries.now());
    let sink: Option<Box<dyn modem::MessageSink>> = if !cfg.no_receive {
        let now = std::time::Instant::now();
        match spool::incoming::IncomingStore::open(spool.root(), &cfg, status.clone(), now) {
            Ok(store) => Some(Box::new(spool::deliveries::WithReports {
                messages: store,
                deliveries: deliveries.clone(),
            })),
            Err(e) => return fail(&format_args!("spool {}: incoming: {e}", cfg.spool)),
        }
    } else {
        None
    };
    let (modem, ussd) = modem::open(&cfg, status.clone(), sink, pin_file);
    let stop = Arc::new(AtomicBool::new(false));
    let sender = spool::Sender::new(
        spool.clone(),
        modem,
        cfg.clone(),
        status.clone(),
        stop.clone(),
        spool::Now::real(),
    )
    .with_deliveries(deliveries);
    // Started through the one spawn helper (a `Builder::spawn` of its own is ~0.6 KB more); the
    // flag says when it has returned.
    let finished = Arc::new(AtomicBool::new(false));
    let done = finished.clone();
    let run = move || {
        sender.run();
        done.store(true, Ordering::SeqCst);
    };
    if let Err(e) = modem::spawn_named("sender", Box::new(run)) {
        return fail(&format_args!("cannot start sender thread: {e}"));
    }
    // A stop finishes the part in flight (bounded by the modem's command timeout), records it,
    // then exits 0; messages accepted meanwhile wait in outgoing/ for the next start.
    let wake = spool.clone();
    let modem_thread = ussd.clone();
    // A part in flight is answered within six command timeouts (`AT+CMGS`); then we go anyway.
    let bound = cfg.command_timeout.saturating_mul(6) + std::time::Duration::from_secs(5);
    let stopping = shutdown::on_stop_signal(
        signals,
        Box::new(move |sig| {
            crate::log_info!("signal {sig}: stopping after the message in flight");
            stop.store(true, Ordering::SeqCst);
            wake.poke();
            if let Some(m) = &modem_thread {
                m.stopping();
            }
            let started = std::time::Instant::now();
            while !finished.load(Ordering::SeqCst) && started.elapsed() < bound {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            crate::log_info!("stopped");
            std::process::exit(0);
        }),
    );
    if let Err(e) = stopping {
        return fail(&format_args!("cannot start the signal thread: {e}"));
    }
    match http::serve(&cfg, listening, spool, status, ussd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(msg: &dyn std::fmt::Display) -> ExitCode {
    log_error!("{msg}");
    ExitCode::from(1)
}

fn code(c: i32) -> ExitCode {
    ExitCode::from(c.clamp(0, 255) as u8)
}
