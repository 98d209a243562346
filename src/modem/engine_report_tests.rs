//! Deterministic delivery-report tests: the sans-I/O engine against the built-in simulated stick
//! (reports pushed as `+CDS` or stored in "SR"), with simulated time and the real report store
//! (`spool::deliveries`) on a temporary spool.

use super::*;
use crate::delivery::tracker::{TrackerConfig, RACE_GRACE};
use crate::delivery::{Now, Part, SentMessage};
use crate::modem::sim::SimModem;
use crate::modem::sim_storage::{submit_to_status_report, StoreOptions};
use crate::pdu::{encode_submit, EncodeOptions};
use crate::spool::deliveries::{Deliveries, REPORT};
use crate::spool::format::SpoolFile;
use crate::spool::{Spool, SENT};
use crate::status::GatewayStatus;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The wall clock at the start of every rig.
const T0: u64 = 1_795_900_000;
const TO: &str = "+491701234567";
/// The simulated network fails numbers ending in 13 and never reports to ones ending in 14.
const FAILING: &str = "+491701234513";
const SILENT: &str = "+491701234514";

struct Rig {
    engine: Engine,
    sim: SimModem,
    start: Instant,
    now: Instant,
    root: PathBuf,
    deliveries: Deliveries,
    status: Arc<GatewayStatus>,
    /// `+CMGS` answers by send id.
    answers: Vec<(u64, Result<u8, SendError>)>,
    next_id: u64,
    /// Hold reports back from the store (a crash before they are written).
    drop_reports: bool,
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("smsgw-reports-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sim(opts: StoreOptions) -> SimModem {
    SimModem::with_store(StoreOptions {
        slots: 20,
        report_delay: Duration::from_secs(2),
        ..opts
    })
}

fn open_deliveries(root: &Path, timeout: u64) -> (Deliveries, Arc<GatewayStatus>) {
    let spool = Arc::new(Spool::open(root).unwrap());
    let status = Arc::new(GatewayStatus::default());
    let cfg = TrackerConfig {
        report_timeout: timeout,
        ..TrackerConfig::default()
    };
    (
        Deliveries::open(spool, cfg, status.clone()).unwrap(),
        status,
    )
}

impl Rig {
    fn new(name: &str, opts: StoreOptions) -> Rig {
        Rig::with(tmp(name), sim(opts), Instant::now(), 3600)
    }

    fn with(root: PathBuf, sim: SimModem, start: Instant, timeout: u64) -> Rig {
        let (deliveries, status) = open_deliveries(&root, timeout);
        let cfg = EngineConfig {
            command: Duration::from_secs(2),
            cmgs: Duration::from_secs(12),
            poll_interval: Duration::from_secs(10),
            ..EngineConfig::default()
        };
        deliveries.restore(Now { wall: T0, mono: 0 });
        let mut rig = Rig {
            engine: Engine::new(cfg, start),
            sim,
            start,
            now: start,
            root,
            deliveries,
            status,
            answers: Vec::new(),
            next_id: 0,
            drop_reports: false,
        };
        rig.run_for(Duration::from_secs(3));
        rig
    }

    /// The tracker's clock at the rig's simulated time (a set wall clock).
    fn dnow(&self) -> Now {
        let s = self.now.duration_since(self.start).as_secs();
        Now {
            wall: T0 + s,
            mono: s,
        }
    }

    /// Runs the conversation until `d` has passed (simulated time).
    fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        for _ in 0..1_000_000 {
            self.sim.tick(self.now);
            let mut busy = false;
            while let Some(bytes) = self.engine.poll_transmit() {
                busy = true;
                let _ = self.sim.write_all(&bytes);
            }
            while let Some(ev) = self.engine.poll_event() {
                busy = true;
                self.event(ev);
            }
            let out = self.sim.take_output();
            if !out.is_empty() {
                self.engine.handle_input(&out, self.now);
                continue;
            }
            if busy {
                continue;
            }
            // The stick's next report is a timer too.
            let next = self
                .engine
                .poll_timeout()
                .unwrap_or(until)
                .min(self.now + Duration::from_millis(250))
                .max(self.now);
            if next > until {
                self.now = until;
                self.sim.tick(self.now);
                self.deliveries.tick(self.dnow());
                return;
            }
            self.now = next.max(self.now + Duration::from_millis(1));
            self.engine.handle_timeout(self.now);
            self.deliveries.tick(self.dnow());
        }
        panic!("the engine never went quiet");
    }

    fn event(&mut self, ev: Event) {
        match ev {
            Event::Open => self.engine.connected(self.now),
            Event::Sent { id, result } => self.answers.push((id, result)),
            Event::Report { slot, report } => {
                if self.drop_reports {
                    self.engine.not_stored(slot);
                    return;
                }
                let now = self.dnow();
                self.deliveries
                    .report(&report.report, report.smsc.as_deref(), now)
                    .unwrap();
                self.engine.stored(slot, self.now);
            }
            _ => {}
        }
    }

    /// Sends `text` to `to` as message `id` with a report request, the way the sender does:
    /// every part through the engine, recorded after its `+CMGS`, then filed in `sent/`.
    fn send(&mut self, id: &str, to: &str, text: &str) -> Vec<String> {
        let opts = EncodeOptions {
            status_report: true,
            ..EncodeOptions::default()
        };
        let parts = encode_submit(to, text, &opts, 7).unwrap();
        let mut msg = SentMessage {
            id: id.into(),
            recipient: to.into(),
            report_requested: true,
            total: parts.len() as u8,
            parts: Vec::new(),
        };
        for part in &parts {
            self.next_id += 1;
            let deadline = self.now + Duration::from_secs(60);
            self.engine
                .send(self.next_id, part.clone(), deadline, self.now);
            while !self.answers.iter().any(|(i, _)| *i == self.next_id) {
                self.run_for(Duration::from_millis(10));
            }
            let mr = match self.answers.iter().find(|(i, _)| *i == self.next_id) {
                Some((_, Ok(mr))) => *mr,
                other => panic!("part not sent: {other:?}"),
            };
            msg.parts.push(Part::new(mr, self.dnow()));
            self.deliveries.sent(&msg, self.dnow());
        }
        let mut file = SpoolFile::parse(format!("To: {to}\nReport: yes\n\n{text}").as_bytes());
        let path = self.root.join(SENT).join(id);
        self.deliveries.file(&msg, &mut file, |f| {
            std::fs::write(&path, f.to_bytes().unwrap()).unwrap()
        });
        parts.into_iter().map(|p| p.hex).collect()
    }

    fn record(&self, id: &str) -> SpoolFile {
        SpoolFile::parse(&std::fs::read(self.root.join(SENT).join(id)).unwrap())
    }

    fn state(&self, id: &str) -> (String, String) {
        let f = self.record(id);
        let h = |n| f.header(n).unwrap_or("").to_string();
        (h("State"), h("Report_state"))
    }

    fn reports(&self) -> Vec<SpoolFile> {
        std::fs::read_dir(self.root.join(REPORT))
            .unwrap()
            .map(|e| SpoolFile::parse(&std::fs::read(e.unwrap().path()).unwrap()))
            .collect()
    }

    fn count(&self, c: &crate::status::Counter) -> u32 {
        c.load(Ordering::Relaxed)
    }
}

fn states(s: &str, r: &str) -> (String, String) {
    (s.to_string(), r.to_string())
}

/// A report on the part `submit_hex` sent as `mr`, with `status`.
fn report_pdu(submit_hex: &str, mr: u8, status: u8) -> String {
    let scts = [0x62, 0x11, 0x82, 0x21, 0x00, 0x00, 0x00];
    let dt = [0x62, 0x11, 0x82, 0x21, 0x00, 0x50, 0x00];
    submit_to_status_report(submit_hex, mr, scts, dt, Some(status)).unwrap()
}

#[test]
fn reports_stored_in_sr_are_matched_and_then_deleted_from_the_stick() {
    let mut rig = Rig::new("sr", StoreOptions::default());
    assert!(rig.sim.commands.iter().any(|c| c == "AT+CNMI=2,1,0,2,0"));
    rig.send("ok", TO, "hello");
    rig.send("bad", FAILING, "hello");
    assert_eq!(rig.state("ok"), states("sent", "pending"));
    rig.run_for(Duration::from_secs(3));
    assert_eq!(rig.state("ok"), states("delivered", "received"));
    assert_eq!(rig.state("bad"), states("failed", "received"));
    assert!(rig.sim.commands.iter().any(|c| c == "AT+CPMS=\"SR\""));
    assert_eq!(rig.sim.store().stored(), 0, "deleted from SR once on disk");
    assert_eq!(rig.sim.store().deleted.len(), 2);
    assert_eq!(rig.reports().len(), 2);
    assert_eq!(rig.count(&rig.status.delivered), 1);
    assert_eq!(rig.count(&rig.status.undeliverable), 1);
}

#[test]
fn reports_are_pushed_as_cds_when_the_stick_refuses_sr_routing() {
    let opts = StoreOptions {
        push_reports_only: true,
        ..StoreOptions::default()
    };
    let mut rig = Rig::new("push", opts);
    let cmds = &rig.sim.commands;
    assert!(cmds.iter().any(|c| c == "AT+CNMI=2,1,0,2,0"));
    assert!(cmds.iter().any(|c| c == "AT+CNMI=2,1,0,1,0"), "{cmds:?}");
    assert!(
        !cmds.iter().any(|c| c.starts_with("AT+CNMA")),
        "CSMS=0: no ack"
    );
    rig.send("m", TO, "hello");
    rig.run_for(Duration::from_secs(3));
    assert_eq!(rig.state("m"), states("delivered", "received"));
    assert_eq!(rig.sim.store().stored(), 0);
}

#[test]
fn stored_reports_are_found_by_polling_when_the_hint_is_lost() {
    let opts = StoreOptions {
        lose_hints: true,
        ..StoreOptions::default()
    };
    let mut rig = Rig::new("nohint", opts);
    rig.send("m", TO, "hello");
    rig.run_for(Duration::from_secs(3));
    assert_eq!(rig.state("m"), states("sent", "pending"), "no hint yet");
    rig.run_for(Duration::from_secs(10));
    assert_eq!(rig.state("m"), states("delivered", "received"));
}

#[test]
fn a_report_not_yet_on_disk_stays_on_the_stick() {
    let mut rig = Rig::new("crash", StoreOptions::default());
    rig.send("m", TO, "hello");
    rig.drop_reports = true;
    rig.run_for(Duration::from_secs(3));
    assert_eq!(
        rig.sim.store().stored(),
        1,
        "not deleted before it is durable"
    );
    rig.drop_reports = false;
    rig.run_for(Duration::from_secs(11));
    assert_eq!(rig.state("m"), states("delivered", "received"));
    assert_eq!(rig.sim.store().stored(), 0);
}

#[test]
fn multipart_with_one_part_failed_is_failed() {
    let mut rig = Rig::new("multi", StoreOptions::default());
    let text = "x".repeat(300); // 2 parts
    let parts = rig.send("m", SILENT, &text);
    assert_eq!(parts.len(), 2);
    let record = rig.record("m");
    let refs: Vec<u8> = record
        .header("Message_id")
        .unwrap()
        .split(' ')
        .map(|r| r.parse().unwrap())
        .collect();
    let (now, store) = (rig.now, rig.sim.store());
    store.report_at(&report_pdu(&parts[0], refs[0], 0), now);
    store.report_at(&report_pdu(&parts[1], refs[1], 0x41), now);
    rig.run_for(Duration::from_secs(1));
    assert_eq!(rig.state("m"), states("failed", "received"));
    let record = rig.record("m");
    assert!(record.header("Part_1").unwrap().contains("status=0"));
    assert!(record.header("Part_2").unwrap().contains("status=65"));
}

#[test]
fn a_report_that_comes_before_the_cmgs_answer_is_recorded_still_matches() {
    let mut rig = Rig::new("race", StoreOptions::default());
    // The part goes out, but the sender has not recorded its reference yet when the report is
    // read from the stick.
    let opts = EncodeOptions {
        status_report: true,
        ..EncodeOptions::default()
    };
    let part = encode_submit(SILENT, "race", &opts, 1).unwrap().remove(0);
    rig.engine
        .send(99, part.clone(), rig.now + Duration::from_secs(60), rig.now);
    rig.run_for(Duration::from_millis(500));
    let Some((_, Ok(mr))) = rig.answers.pop() else {
        panic!("not sent");
    };
    let now = rig.now;
    rig.sim
        .store()
        .report_at(&report_pdu(&part.hex, mr, 0), now);
    rig.run_for(Duration::from_secs(1));
    assert_eq!(rig.reports().len(), 1, "written before it is matched");
    // Now the sender records the part and files the message.
    let msg = SentMessage {
        id: "m".into(),
        recipient: SILENT.into(),
        report_requested: true,
        total: 1,
        parts: vec![Part::new(mr, rig.dnow())],
    };
    rig.deliveries.sent(&msg, rig.dnow());
    let mut file = SpoolFile::parse(format!("To: {SILENT}\nReport: yes\n\nrace").as_bytes());
    let path = rig.root.join(SENT).join("m");
    rig.deliveries.file(&msg, &mut file, |f| {
        std::fs::write(&path, f.to_bytes().unwrap()).unwrap()
    });
    assert_eq!(rig.state("m"), states("delivered", "received"));
    assert_eq!(rig.reports()[0].header("Message"), Some("m"));
}

#[test]
fn an_unmatched_report_is_kept_in_report_and_deleted_from_the_stick() {
    let mut rig = Rig::new("unmatched", StoreOptions::default());
    let opts = EncodeOptions {
        status_report: true,
        ..EncodeOptions::default()
    };
    let stranger = encode_submit("+4930555555", "?", &opts, 1)
        .unwrap()
        .remove(0);
    let now = rig.now;
    rig.sim
        .store()
        .report_at(&report_pdu(&stranger.hex, 200, 0), now);
    rig.run_for(Duration::from_secs(2));
    assert_eq!(rig.sim.store().stored(), 0);
    rig.run_for(Duration::from_secs(RACE_GRACE));
    let reports = rig.reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].header("Matched"), Some("no"));
    assert_eq!(rig.count(&rig.status.reports_unmatched), 1);
}

#[test]
fn a_restart_between_send_and_report_still_matches() {
    let mut rig = Rig::new("restart", StoreOptions::default());
    rig.send("m", TO, "hello");
    // The process dies before the report comes; the stick keeps it in SR meanwhile.
    let (root, mut sim, now) = (rig.root.clone(), rig.sim, rig.now);
    sim.tick(now + Duration::from_secs(3));
    sim.power_cycle();
    let mut rig = Rig::with(root, sim, now + Duration::from_secs(5), 3600);
    rig.run_for(Duration::from_secs(11));
    assert_eq!(rig.state("m"), states("delivered", "received"));
}

#[test]
fn a_network_that_never_reports_leaves_the_message_sent_with_report_none() {
    let root = tmp("silent");
    let mut rig = Rig::with(root, sim(StoreOptions::default()), Instant::now(), 60);
    rig.send("m", SILENT, "hello");
    rig.run_for(Duration::from_secs(59));
    assert_eq!(rig.state("m"), states("sent", "pending"));
    rig.run_for(Duration::from_secs(5));
    assert_eq!(rig.state("m"), states("sent", "none"));
    assert!(rig
        .record("m")
        .header("Part_1")
        .unwrap()
        .contains("timeout=yes"));
}

#[test]
fn reference_wrap_past_255_loses_no_report() {
    let mut rig = Rig::new("wrap", StoreOptions::default());
    rig.sim.store().opts.report_delay = Duration::from_secs(600);
    // 300 messages alternating between two numbers: the stick's references wrap, and every
    // reference is in flight for up to two messages on one number.
    for i in 0..300 {
        let to = if i % 2 == 0 { TO } else { "+4930123456" };
        rig.send(&format!("m{i:03}"), to, "wrap");
    }
    rig.run_for(Duration::from_secs(610));
    for i in 0..300 {
        assert_eq!(
            rig.state(&format!("m{i:03}")),
            states("delivered", "received"),
            "m{i:03}"
        );
    }
    assert_eq!(rig.count(&rig.status.reports), 300);
    assert_eq!(rig.count(&rig.status.reports_unmatched), 0);
}
