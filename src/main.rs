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
mod http;
mod modem;
mod pdu;
mod spool;
mod status;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "usage: smsgw <command> [options]
  serve --device PATH|sim --listen ADDR:PORT --spool DIR [--token T | --no-auth] ...
  encode [--to NUMBER] [--smsc NUMBER] [--flash] [--report] TEXT
  decode HEX
  at [--device PATH] CMD
  send [--device PATH] TO TEXT
  ussd [--device PATH] CODE
  inbox [--spool DIR] [list | show ID | delete ID]
  status [--listen ADDR:PORT]
Run as a CGI program (GATEWAY_INTERFACE set) it answers GET /cgi-bin/sms.";

fn main() -> ExitCode {
    if std::env::var_os("GATEWAY_INTERFACE").is_some() {
        return code(http::cgi_main());
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match cmd.as_str() {
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
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        "-V" | "--version" => {
            println!("smsgw {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        other => fail(&format!("unknown command '{other}'\n{USAGE}")),
    }
}

fn serve(cfg: config::ServeConfig) -> ExitCode {
    let status = Arc::new(status::GatewayStatus::default());
    let spool = match spool::Spool::open(Path::new(&cfg.spool)) {
        Ok(s) => Arc::new(s),
        Err(e) => return fail(&format!("spool {}: {e}", cfg.spool)),
    };
    let pin_file = Some(Path::new(&cfg.spool).join(modem::driver::PIN_FILE));
    let tracking = delivery::tracker::TrackerConfig {
        report_timeout: cfg.report_timeout.as_secs(),
        ..Default::default()
    };
    let deliveries =
        match spool::deliveries::Deliveries::open(spool.clone(), tracking, status.clone()) {
            Ok(d) => Arc::new(d),
            Err(e) => return fail(&format!("spool {}: report: {e}", cfg.spool)),
        };
    deliveries.restore(deliveries.now());
    let sink: Option<Box<dyn modem::MessageSink>> = if cfg.receive {
        let now = std::time::Instant::now();
        match spool::incoming::IncomingStore::open(spool.root(), &cfg, status.clone(), now) {
            Ok(store) => Some(Box::new(spool::deliveries::WithReports {
                messages: store,
                deliveries: deliveries.clone(),
            })),
            Err(e) => return fail(&format!("spool {}: incoming: {e}", cfg.spool)),
        }
    } else {
        None
    };
    let modem: Box<dyn modem::SmsSender> =
        Box::new(modem::open(&cfg, status.clone(), sink, pin_file));
    {
        let (spool, status, cfg) = (spool.clone(), status.clone(), cfg.clone());
        let started = std::thread::Builder::new()
            .name("sender".into())
            .spawn(move || spool::run_sender(spool, modem, &cfg, status, deliveries));
        if let Err(e) = started {
            return fail(&format!("cannot start sender thread: {e}"));
        }
    }
    match http::serve(&cfg, spool, status) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("smsgw: {msg}");
    ExitCode::from(1)
}

fn code(c: i32) -> ExitCode {
    ExitCode::from(c.clamp(0, 255) as u8)
}
