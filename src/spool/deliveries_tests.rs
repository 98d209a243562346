//! Tests of the delivery-report files: `report/`, the record in `sent/`, restart.

use super::deliveries::{Deliveries, REPORT};
use super::format::SpoolFile;
use super::{Spool, SENT};
use crate::delivery::tracker::{TrackerConfig, RACE_GRACE};
use crate::delivery::{MessageState, Now, Part, SentMessage};
use crate::pdu::{self, StatusReportPdu, Tpdu};
use crate::status::GatewayStatus;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

static DIRS: AtomicUsize = AtomicUsize::new(0);

struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        let n = DIRS.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("smsgw-deliv-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        Dir(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const T0: u64 = 1_795_900_000;

fn at(mono: u64) -> Now {
    Now {
        wall: T0 + mono,
        mono,
    }
}

fn open(root: &Path) -> (Deliveries, Arc<GatewayStatus>) {
    let spool = Arc::new(Spool::open(root).unwrap());
    let status = Arc::new(GatewayStatus::default());
    let d = Deliveries::open(spool, TrackerConfig::default(), status.clone()).unwrap();
    d.restore(d.now());
    (d, status)
}

/// A status report PDU (SMSC field first) for reference `mr` to `+4930123456` with `status`.
fn report_pdu(mr: u8, status: u8) -> StatusReportPdu {
    // 00 SMSC default | 06 first octet | MR | RA: 0A 91 9403214365 | SCTS 26-11-28 23:00:00 +01:00
    // | DT 23:00:30 | ST
    let hex = format!("0006{mr:02X}0A91940321436562118232000040621182320003 40{status:02X}")
        .replace(' ', "");
    match pdu::decode(&hex).unwrap().tpdu {
        Tpdu::StatusReport(r) => r,
        other => panic!("not a report: {other:?}"),
    }
}

fn message(id: &str, refs: &[u8], now: Now) -> SentMessage {
    SentMessage {
        id: id.into(),
        recipient: "+4930123456".into(),
        report_requested: true,
        total: refs.len() as u8,
        parts: refs.iter().map(|&r| Part::new(r, now)).collect(),
    }
}

/// Files `msg` into `sent/` the way the sender does.
fn file_it(d: &Deliveries, root: &Path, msg: &SentMessage) {
    let mut file = SpoolFile::parse(b"To: +4930123456\nReport: yes\n\nhello");
    d.file(msg, &mut file, |f| {
        fs::write(root.join(SENT).join(&msg.id), f.to_bytes().unwrap()).unwrap()
    });
}

fn read(path: PathBuf) -> SpoolFile {
    SpoolFile::parse(&fs::read(path).unwrap())
}

fn reports(root: &Path) -> Vec<SpoolFile> {
    let mut v: Vec<_> = fs::read_dir(root.join(REPORT))
        .unwrap()
        .map(|e| read(e.unwrap().path()))
        .collect();
    v.sort_by(|a, b| a.header("Message").cmp(&b.header("Message")));
    v
}

#[test]
fn a_report_updates_the_message_in_sent_and_names_it_in_report() {
    let dir = Dir::new();
    let (d, status) = open(&dir.0);
    let msg = message("m1", &[17], at(0));
    d.sent(&msg, at(0));
    file_it(&d, &dir.0, &msg);
    d.report(&report_pdu(17, 0), Some("+491722270333"), at(30))
        .unwrap();
    let sent = read(dir.0.join(SENT).join("m1"));
    assert_eq!(sent.header("State"), Some("delivered"));
    assert_eq!(sent.header("Report_state"), Some("received"));
    assert!(sent.header("Part_1").unwrap().contains("status=0"));
    assert_eq!(sent.body, b"hello");
    let r = reports(&dir.0);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].header("Message"), Some("m1"));
    assert_eq!(r[0].header("Part"), Some("1/1"));
    assert_eq!(r[0].header("From"), Some("4930123456"));
    assert_eq!(r[0].header("From_SMSC"), Some("491722270333"));
    assert!(String::from_utf8_lossy(&r[0].body)
        .contains("Status: 0,Ok,short message received by the SME"));
    assert_eq!(status.delivered.load(Ordering::Relaxed), 1);
    assert_eq!(status.reports.load(Ordering::Relaxed), 1);
    assert_eq!(status.delivery_seconds_count.load(Ordering::Relaxed), 1);
    assert_eq!(d.take_hook_events().len(), 1, "HOOK REPORT FILE once");
}

#[test]
fn a_report_while_the_message_is_still_being_filed_is_not_lost() {
    let dir = Dir::new();
    let (d, status) = open(&dir.0);
    let msg = message("m2", &[5], at(0));
    d.sent(&msg, at(0));
    // The report comes before the sender moved the file to sent/.
    d.report(&report_pdu(5, 0x46), None, at(1)).unwrap();
    file_it(&d, &dir.0, &msg);
    let sent = read(dir.0.join(SENT).join("m2"));
    assert_eq!(sent.header("State"), Some("failed"));
    assert!(sent.header("Part_1").unwrap().contains("status=70"));
    assert_eq!(status.undeliverable.load(Ordering::Relaxed), 1);
}

#[test]
fn a_restart_between_send_and_report_still_matches() {
    let dir = Dir::new();
    {
        let (d, _) = open(&dir.0);
        let msg = message("m3", &[200, 201], at(0));
        d.sent(&msg, at(0));
        file_it(&d, &dir.0, &msg);
    }
    let (d, _) = open(&dir.0);
    let now = d.now();
    d.report(&report_pdu(201, 0), None, now).unwrap();
    d.report(&report_pdu(200, 0), None, now).unwrap();
    let sent = read(dir.0.join(SENT).join("m3"));
    assert_eq!(sent.header("State"), Some("delivered"));
}

#[test]
fn an_unmatched_report_stays_in_report_after_the_grace_time() {
    let dir = Dir::new();
    let (d, status) = open(&dir.0);
    d.report(&report_pdu(99, 0), None, at(0)).unwrap();
    d.tick(at(RACE_GRACE - 1));
    assert_eq!(status.reports_unmatched.load(Ordering::Relaxed), 0);
    d.tick(at(RACE_GRACE));
    assert_eq!(status.reports_unmatched.load(Ordering::Relaxed), 1);
    let r = reports(&dir.0);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].header("Matched"), Some("no"));
    assert_eq!(r[0].header("Message"), None);
    assert_eq!(d.take_hook_events().len(), 1);
}

#[test]
fn a_message_sent_without_a_report_request_is_recorded_sent() {
    let dir = Dir::new();
    let (d, _) = open(&dir.0);
    let mut msg = message("m4", &[1, 2], at(0));
    msg.report_requested = false;
    d.sent(&msg, at(0));
    file_it(&d, &dir.0, &msg);
    let sent = read(dir.0.join(SENT).join("m4"));
    assert_eq!(sent.header("State"), Some(MessageState::Sent.as_str()));
    assert_eq!(sent.header("Report_state"), Some("not requested"));
    assert_eq!(sent.header("Message_id"), Some("1 2"));
}

/// The forward bodies queued when message `id` (one part, reference 9) gets a report `status`.
fn forwarded_report(id: &str, status: u8) -> Vec<String> {
    let dir = Dir::new();
    let (d, _) = open(&dir.0);
    let forward = dir.0.join(crate::forward::FORWARD_DIR);
    fs::create_dir_all(&forward).unwrap();
    let msg = message(id, &[9], at(0));
    d.sent(&msg, at(0));
    file_it(&d, &dir.0, &msg);
    d.report(&report_pdu(9, status), None, at(5)).unwrap();
    fs::read_dir(&forward)
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .collect()
}

#[test]
fn a_report_is_queued_for_forwarding_with_the_message_and_its_new_state() {
    let bodies = forwarded_report("m5", 0x46);
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let b = &bodies[0];
    assert!(b.contains("\"event\":\"report\""), "{b}");
    assert!(b.contains("\"message_id\":\"m5\""), "{b}");
    assert!(b.contains("\"status\":\"failed\""), "{b}");
    assert!(b.contains("\"time\":\"26-11-28 23:00:30\""), "{b}");
}

#[test]
fn a_forwarded_report_names_the_recipient_as_the_message_was_sent_to_it() {
    // `"to":"+4930123456"`, as `/messages` and the send request have it, not the report
    // file's bare digits
    let bodies = forwarded_report("m6", 0);
    assert!(bodies[0].contains("\"to\":\"+4930123456\""), "{bodies:?}");
}
