//! Deterministic engine tests: the sans-I/O engine against the built-in simulated stick, with
//! simulated time and the real incoming store on a temporary spool.

use super::*;
use crate::config::ServeConfig;
use crate::modem::sim::SimModem;
use crate::modem::sim_storage::{submit_to_deliver, StoreOptions};
use crate::modem::MessageSink;
use crate::pdu::{encode_submit, EncodeOptions};
use crate::spool::incoming::{self, IncomingStore};
use crate::status::GatewayStatus;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

const SENDER: &str = "+491701234567";
const SCTS: [u8; 7] = [0x62, 0x11, 0x82, 0x21, 0x43, 0x00, 0x40];

/// The DELIVER PDUs `text` from `from` arrives as (one per part), with concatenation `reference`.
fn deliver(from: &str, text: &str, reference: u8) -> Vec<String> {
    let opts = EncodeOptions::default();
    let parts = encode_submit(from, text, &opts, reference).unwrap();
    parts
        .iter()
        .map(|p| submit_to_deliver(&p.hex, SCTS).unwrap())
        .collect()
}

/// What the driver would do, with a clock that only moves when told.
struct Rig {
    engine: Engine,
    sim: SimModem,
    now: Instant,
    root: PathBuf,
    store: IncomingStore,
    plugged: bool,
    /// Drop received messages without storing them (a crash before the write).
    crash_before_store: bool,
    /// Store received messages but never confirm (a crash before the delete).
    crash_before_delete: bool,
    sent: Vec<(u64, Result<u8, SendError>)>,
    ussd: Vec<Result<String, String>>,
    logs: Vec<String>,
    /// The stick answers `AT+CPIN?` with "SIM not inserted".
    no_sim: bool,
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("smsgw-engine-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn config() -> EngineConfig {
    EngineConfig {
        command: Duration::from_secs(2),
        cmgs: Duration::from_secs(12),
        poll_interval: Duration::from_secs(10),
        ..EngineConfig::default()
    }
}

impl Rig {
    fn new(name: &str, opts: StoreOptions) -> Rig {
        let root = tmp(name);
        Rig::with(root, SimModem::with_store(opts), Instant::now())
    }

    fn with(root: PathBuf, sim: SimModem, now: Instant) -> Rig {
        let cfg = ServeConfig {
            multipart_timeout: Duration::from_secs(600),
            ..ServeConfig::default()
        };
        let status = Arc::new(GatewayStatus::default());
        let store = IncomingStore::open(&root, &cfg, status, now).unwrap();
        Rig {
            engine: Engine::new(config(), now),
            sim,
            now,
            root,
            store,
            plugged: true,
            crash_before_store: false,
            crash_before_delete: false,
            sent: Vec::new(),
            ussd: Vec::new(),
            logs: Vec::new(),
            no_sim: false,
        }
    }

    /// The process dies and starts again: new engine and store, same stick and spool.
    fn restart(self) -> Rig {
        let mut sim = self.sim;
        sim.power_cycle();
        Rig::with(self.root, sim, self.now + Duration::from_secs(5))
    }

    /// Runs the conversation until `until` (simulated time).
    fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        for _ in 0..100_000 {
            let mut busy = false;
            while let Some(bytes) = self.engine.poll_transmit() {
                busy = true;
                if self.plugged {
                    let _ = self.sim.write_all(&bytes);
                }
            }
            while let Some(ev) = self.engine.poll_event() {
                busy = true;
                self.event(ev);
            }
            let mut out = if self.plugged {
                self.sim.take_output()
            } else {
                Vec::new()
            };
            if self.no_sim {
                let s = String::from_utf8_lossy(&out)
                    .replace("+CPIN: READY\r\n\r\nOK", "+CME ERROR: 10");
                out = s.into_bytes();
            }
            if !out.is_empty() {
                self.engine.handle_input(&out, self.now);
                continue;
            }
            if busy {
                continue;
            }
            let next = self.engine.poll_timeout().unwrap_or(until).max(self.now);
            if next > until {
                self.now = until;
                self.store.tick(self.now);
                return;
            }
            self.now = next;
            self.engine.handle_timeout(self.now);
            self.store.tick(self.now);
        }
        panic!("the engine never went quiet");
    }

    fn event(&mut self, ev: Event) {
        match ev {
            Event::Open => {
                if self.plugged {
                    self.engine.connected(self.now);
                } else {
                    self.engine.open_failed("not present", self.now);
                }
            }
            Event::Received { slot, sms } => {
                if self.crash_before_store {
                    return;
                }
                self.store.store(&sms, self.now).unwrap();
                if !self.crash_before_delete {
                    self.engine.stored(slot, self.now);
                }
            }
            Event::Sent { id, result } => self.sent.push((id, result)),
            Event::Ussd { result, .. } => self.ussd.push(result),
            Event::Log(_, line) => self.logs.push(line),
            _ => {}
        }
    }

    fn inbox(&self) -> Vec<String> {
        incoming::list(&self.root)
            .iter()
            .map(|(id, _)| {
                let f = incoming::read(&self.root, id).unwrap();
                String::from_utf8_lossy(&f.body).into_owned()
            })
            .collect()
    }

    fn unplug(&mut self) {
        self.plugged = false;
        self.engine.disconnected("unplugged", self.now);
    }

    fn replug(&mut self) {
        self.sim.power_cycle();
        self.plugged = true;
    }
}

fn slots(n: usize) -> StoreOptions {
    StoreOptions {
        slots: n,
        ..StoreOptions::default()
    }
}

#[test]
fn init_sets_up_receiving_and_the_hint_brings_a_message_within_a_second() {
    let mut rig = Rig::new("hint", slots(20));
    rig.run_for(Duration::from_secs(3));
    assert_eq!(rig.engine.info.state, ModemState::Ready);
    let cmds = rig.sim.commands.clone();
    for c in [
        "AT+CPMS=?",
        "AT+CPMS=\"ME\",\"ME\",\"ME\"",
        "AT+CSMS=0",
        "AT+CNMI=2,1,0,2,0",
    ] {
        assert!(cmds.iter().any(|x| x == c), "{c} missing from {cmds:?}");
    }
    assert!(
        !cmds.iter().any(|c| c.starts_with("AT+CMGL=\"")),
        "never text mode"
    );
    for pdu in deliver(SENDER, "Server down", 0) {
        rig.sim.inject(&pdu);
    }
    rig.run_for(Duration::from_millis(900));
    assert_eq!(rig.inbox(), vec!["Server down"]);
    assert_eq!(rig.sim.store().stored(), 0, "deleted once on disk");
}

#[test]
fn hint_lost_message_is_still_received_by_polling() {
    let opts = StoreOptions {
        slots: 20,
        lose_hints: true,
        ..StoreOptions::default()
    };
    let mut rig = Rig::new("nohint", opts);
    rig.run_for(Duration::from_secs(3));
    for pdu in deliver(SENDER, "ACK", 0) {
        rig.sim.inject(&pdu);
    }
    rig.run_for(Duration::from_secs(1));
    assert!(rig.inbox().is_empty(), "no hint: not before the poll");
    rig.run_for(Duration::from_secs(10));
    assert_eq!(rig.inbox(), vec!["ACK"], "within one poll interval");
}

#[test]
fn a_missing_device_is_logged_once_not_at_every_retry() {
    let mut rig = Rig::new("unplugged-log", slots(20));
    rig.run_for(Duration::from_secs(3));
    rig.unplug();
    rig.logs.clear();
    // about thirty attempts to open the device
    rig.run_for(Duration::from_secs(10));
    assert_eq!(rig.engine.info.state, ModemState::WaitingForDevice);
    assert_eq!(rig.logs, vec!["modem: waiting for device".to_string()]);
    rig.replug();
    rig.run_for(Duration::from_secs(3));
    assert_eq!(rig.engine.info.state, ModemState::Ready);
    assert_eq!(rig.logs.last().map(String::as_str), Some("modem: ready"));
}

#[test]
fn a_missing_sim_is_logged_once_not_at_every_retry() {
    let mut rig = Rig::new("nosim", slots(20));
    rig.no_sim = true;
    rig.run_for(Duration::from_secs(120));
    assert!(
        matches!(rig.engine.info.state, ModemState::Error(_)),
        "{:?}",
        rig.engine.info.state
    );
    let problems: Vec<_> = rig.logs.iter().filter(|l| l.contains("error")).collect();
    assert_eq!(problems.len(), 1, "{:?}", rig.logs);
    assert!(rig.logs.len() <= 2, "{:?}", rig.logs);
    // The SIM arrives: ready is logged, and a later problem is logged again.
    rig.no_sim = false;
    rig.run_for(Duration::from_secs(60));
    assert_eq!(rig.engine.info.state, ModemState::Ready);
    assert_eq!(rig.logs.last().map(String::as_str), Some("modem: ready"));
    rig.no_sim = true;
    rig.unplug();
    rig.replug();
    rig.run_for(Duration::from_secs(60));
    let problems = rig.logs.iter().filter(|l| l.contains("error")).count();
    assert_eq!(problems, 2, "{:?}", rig.logs);
}

#[test]
fn cnmi_reset_after_replug_is_set_again() {
    let mut rig = Rig::new("replug", slots(20));
    rig.run_for(Duration::from_secs(3));
    assert_eq!(rig.sim.store().cnmi_mt, 1);
    rig.unplug();
    rig.run_for(Duration::from_secs(2));
    assert_eq!(rig.engine.info.state, ModemState::WaitingForDevice);
    rig.replug();
    assert_eq!(rig.sim.store().cnmi_mt, 0, "the stick forgot it");
    rig.run_for(Duration::from_secs(3));
    assert_eq!(rig.sim.store().cnmi_mt, 1, "set again after the re-init");
    for pdu in deliver(SENDER, "after replug", 0) {
        rig.sim.inject(&pdu);
    }
    rig.run_for(Duration::from_millis(900));
    assert_eq!(rig.inbox(), vec!["after replug"]);
}

#[test]
fn count_zero_with_a_message_present_is_still_listed() {
    let opts = StoreOptions {
        slots: 20,
        cpms_lag: true,
        ..StoreOptions::default()
    };
    let mut rig = Rig::new("lag", opts);
    rig.run_for(Duration::from_secs(3));
    for pdu in deliver(SENDER, "count says 0", 0) {
        rig.sim.inject(&pdu);
    }
    rig.run_for(Duration::from_millis(900));
    assert_eq!(rig.inbox(), vec!["count says 0"]);
}

#[test]
fn storage_full_is_emptied_and_the_networks_retries_land() {
    let mut rig = Rig::new("full", slots(2));
    rig.run_for(Duration::from_secs(3));
    let texts: Vec<String> = (0..6).map(|i| format!("message {i}")).collect();
    for t in &texts {
        for pdu in deliver(SENDER, t, 0) {
            rig.sim.inject(&pdu);
        }
    }
    assert!(rig.sim.store().waiting_in_network() > 0, "storage full");
    for _ in 0..10 {
        rig.run_for(Duration::from_secs(1));
        let urcs = rig.sim.store().retry();
        assert!(urcs
            .iter()
            .all(|u| u.starts_with("+CMTI") || u.starts_with("^SMMEMFULL")));
    }
    rig.run_for(Duration::from_secs(11));
    let mut got = rig.inbox();
    got.sort();
    assert_eq!(got, texts);
    assert_eq!(rig.sim.store().stored(), 0);
}

#[test]
fn parts_out_of_order_make_one_message() {
    let mut rig = Rig::new("order", slots(20));
    rig.run_for(Duration::from_secs(3));
    let long = "Disk full on db1. ".repeat(20);
    let mut parts = deliver(SENDER, &long, 42);
    assert!(parts.len() >= 3);
    parts.reverse();
    for pdu in &parts {
        rig.sim.inject(pdu);
    }
    rig.run_for(Duration::from_secs(2));
    assert_eq!(rig.inbox(), vec![long]);
}

#[test]
fn missing_part_is_written_incomplete_after_the_timeout() {
    let mut rig = Rig::new("missing", slots(20));
    rig.run_for(Duration::from_secs(3));
    let long = "x".repeat(400);
    let parts = deliver(SENDER, &long, 7);
    rig.sim.inject(&parts[0]);
    rig.sim.inject(&parts[2]);
    rig.run_for(Duration::from_secs(599));
    assert!(rig.inbox().is_empty());
    assert_eq!(
        rig.sim.store().stored(),
        0,
        "parts are on disk, not on the modem"
    );
    rig.run_for(Duration::from_secs(2));
    let ids = incoming::list(&rig.root);
    assert_eq!(ids.len(), 1);
    let f = incoming::read(&rig.root, &ids[0].0).unwrap();
    assert_eq!(f.header("Incomplete"), Some("yes"));
    assert_eq!(f.body.len(), 153 + (400 - 306));
}

#[test]
fn crash_after_writing_a_part_before_deleting_it_makes_no_duplicate() {
    let mut rig = Rig::new("crash-after", slots(20));
    rig.run_for(Duration::from_secs(3));
    rig.crash_before_delete = true;
    let long = "y".repeat(200);
    let parts = deliver(SENDER, &long, 9);
    rig.sim.inject(&parts[0]);
    for pdu in deliver(SENDER, "single", 0) {
        rig.sim.inject(&pdu);
    }
    rig.run_for(Duration::from_secs(2));
    assert_eq!(rig.inbox(), vec!["single"]);
    assert_eq!(rig.sim.store().stored(), 2, "not deleted before the crash");
    let mut rig = rig.restart();
    rig.run_for(Duration::from_secs(3));
    assert_eq!(rig.inbox(), vec!["single"], "no second file");
    assert_eq!(rig.sim.store().stored(), 0, "deleted after the restart");
    rig.sim.inject(&parts[1]);
    rig.run_for(Duration::from_secs(2));
    let mut got = rig.inbox();
    got.sort();
    assert_eq!(got, vec!["single".to_string(), long]);
}

#[test]
fn crash_before_writing_leaves_the_message_on_the_modem_for_the_next_start() {
    let mut rig = Rig::new("crash-before", slots(20));
    rig.run_for(Duration::from_secs(3));
    rig.crash_before_store = true;
    for pdu in deliver(SENDER, "keep me", 0) {
        rig.sim.inject(&pdu);
    }
    rig.run_for(Duration::from_secs(2));
    assert!(rig.inbox().is_empty());
    assert_eq!(rig.sim.store().stored(), 1);
    let mut rig = rig.restart();
    rig.run_for(Duration::from_secs(3));
    assert_eq!(rig.inbox(), vec!["keep me"]);
    assert_eq!(rig.sim.store().stored(), 0);
}

#[test]
fn an_alert_waits_at_most_one_command_behind_the_inbox() {
    let mut rig = Rig::new("fair", slots(20));
    rig.run_for(Duration::from_secs(3));
    for i in 0..5 {
        for pdu in deliver(SENDER, &format!("in {i}"), 0) {
            rig.sim.inject(&pdu);
        }
    }
    // The hints start a poll; the alert comes while the inbox is read and deleted.
    let out = rig.sim.take_output();
    rig.engine.handle_input(&out, rig.now);
    let _ = rig.engine.poll_transmit().map(|b| rig.sim.write_all(&b));
    let before = rig.sim.commands.len();
    let part = encode_submit("+4917012345", "ALERT", &EncodeOptions::default(), 0).unwrap();
    let deadline = rig.now + Duration::from_secs(60);
    rig.engine.send(1, part[0].clone(), deadline, rig.now);
    rig.run_for(Duration::from_secs(5));
    let after: Vec<&String> = rig.sim.commands[before..].iter().collect();
    let cmgs = after
        .iter()
        .position(|c| c.starts_with("AT+CMGS="))
        .unwrap();
    assert!(cmgs <= 1, "{after:?}");
    assert_eq!(rig.sent, vec![(1, Ok(1))]);
    assert_eq!(rig.inbox().len(), 5, "reception went on");
}

#[test]
fn ussd_is_packed_decoded_and_joined() {
    let mut rig = Rig::new("ussd", slots(20));
    rig.run_for(Duration::from_secs(3));
    rig.engine.ussd(1, "*100#", rig.now);
    rig.run_for(Duration::from_secs(2));
    assert!(rig
        .sim
        .commands
        .iter()
        .any(|c| c == "AT+CUSD=1,\"AA180C3602\",15"));
    assert_eq!(
        rig.ussd,
        vec![Ok("Balance: 12.34 EUR\nValid until 2027-01-31".to_string())]
    );
    rig.engine.ussd(2, "*555#", rig.now);
    rig.run_for(Duration::from_secs(2));
    assert!(matches!(rig.ussd.last(), Some(Err(e)) if e.contains("not support")));
}

#[test]
fn a_rejected_pin_is_never_sent_again_for_that_sim() {
    let key = init::pin_key("9999", "89490200001234567890");
    assert_ne!(key, init::pin_key("1234", "89490200001234567890"));
    assert_ne!(key, init::pin_key("9999", "89490200009999999999"));
    assert_eq!(key.len(), 16);
    assert!(!key.contains("9999"));
}
