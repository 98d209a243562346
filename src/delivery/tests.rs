//! Tests of the delivery state machine, the matcher (simulated time) and the record files.

use super::record;
use super::tracker::{Change, Tracker, TrackerConfig};
use super::*;
use crate::pdu::Timestamp;
use crate::spool::format::SpoolFile;

const T0: u64 = 1_764_370_000; // 2025-11-28, a set clock
const HOUR: u64 = 3600;

fn now(mono: u64) -> Now {
    Now {
        wall: T0 + mono,
        mono,
    }
}

fn ts(hour: u8, minute: u8, second: u8, tz_quarters: i8) -> Timestamp {
    Timestamp {
        year: 2026,
        month: 11,
        day: 28,
        hour,
        minute,
        second,
        tz_quarters,
    }
}

fn report(file: &str, reference: u8, to: &str, status: u8) -> Report {
    Report {
        file: file.into(),
        reference,
        recipient: to.into(),
        status,
        submitted: ts(23, 0, 0, 4),
        discharged: ts(23, 0, 30, 4),
    }
}

fn tracker() -> Tracker {
    Tracker::new(TrackerConfig::default())
}

/// The message snapshot of the last `Record` change.
fn recorded(changes: &[Change]) -> &SentMessage {
    changes
        .iter()
        .rev()
        .find_map(|c| match c {
            Change::Record { message, .. } => Some(message),
            _ => None,
        })
        .expect("a Record change")
}

fn matched(changes: &[Change]) -> Option<(&str, usize)> {
    changes.iter().find_map(|c| match c {
        Change::Matched { message, part, .. } => Some((message.as_str(), *part)),
        _ => None,
    })
}

#[test]
fn numbers_match_across_international_prefixes_and_national_form() {
    assert!(same_number("+491721234567", "+491721234567"));
    assert!(same_number("+491721234567", "00491721234567"));
    assert!(same_number("01721234567", "+491721234567"));
    assert!(same_number("+491721234567", "1721234567"));
    assert!(same_number("01721234567", "1721234567"));
    assert!(!same_number("+491721234567", "+491721234568"));
    assert!(!same_number("+491721234567", "+431721234567"));
    // short numbers: digit for digit only
    assert!(same_number("1234", "1234"));
    assert!(!same_number("+491234", "01234"));
    assert!(!same_number("", "+49"));
}

#[test]
fn delivery_time_uses_the_service_centres_stamps_in_any_zone() {
    // same zone: 30 s
    assert_eq!(
        delivery_seconds(&ts(23, 0, 0, 4), &ts(23, 0, 30, 4)),
        Some(30)
    );
    // discharge stamped in another zone (+00:00, an hour "earlier" on the dial): still 30 s
    assert_eq!(
        delivery_seconds(&ts(23, 0, 0, 4), &ts(22, 0, 30, 0)),
        Some(30)
    );
    // negative or garbage: none
    assert_eq!(delivery_seconds(&ts(23, 0, 30, 4), &ts(23, 0, 0, 4)), None);
    let mut bad = ts(23, 0, 0, 0);
    bad.month = 13;
    assert_eq!(delivery_seconds(&bad, &ts(23, 0, 0, 0)), None);
}

#[test]
fn part_states_follow_the_tp_st_classes() {
    let mut p = Part::new(1, now(0));
    assert_eq!(p.state(), MessageState::Sent);
    assert_eq!(p.report_state(true), ReportState::Pending);
    assert_eq!(p.report_state(false), ReportState::NotRequested);
    let with = |status| PartReport {
        status,
        received_at: T0,
        submitted: String::new(),
        discharged: String::new(),
        file: "r".into(),
    };
    for (status, state, report) in [
        (0, MessageState::Delivered, ReportState::Received),
        (31, MessageState::Delivered, ReportState::Received),
        (32, MessageState::Sent, ReportState::Pending),
        (63, MessageState::Sent, ReportState::Pending),
        (64, MessageState::Failed, ReportState::Received),
        (96, MessageState::Failed, ReportState::Received),
        (101, MessageState::Failed, ReportState::Received),
        (127, MessageState::Failed, ReportState::Received),
    ] {
        p.report = Some(with(status));
        assert_eq!(p.state(), state, "status {status}");
        assert_eq!(p.report_state(true), report, "status {status}");
    }
}

#[test]
fn a_message_is_delivered_only_when_every_part_is() {
    let mut t = tracker();
    for (i, mr) in [10u8, 11, 12].into_iter().enumerate() {
        assert!(t
            .sent_part("m1", "+491721234567", true, 3, mr, now(i as u64))
            .is_empty());
    }
    assert_eq!(
        t.message("m1").map(SentMessage::state),
        Some(MessageState::Sent)
    );
    let c = t.report(report("r1", 10, "+491721234567", 0), now(30));
    assert_eq!(recorded(&c).state(), MessageState::Sent);
    let c = t.report(report("r2", 12, "+491721234567", 0), now(31));
    assert_eq!(recorded(&c).state(), MessageState::Sent);
    let c = t.report(report("r3", 11, "+491721234567", 0), now(32));
    let msg = recorded(&c);
    assert_eq!(msg.state(), MessageState::Delivered);
    assert_eq!(msg.report_state(), ReportState::Received);
    assert_eq!(matched(&c), Some(("m1", 2)));
    assert_eq!(
        t.open_messages(),
        0,
        "a finished message is no longer followed"
    );
}

#[test]
fn multipart_with_one_part_failed_is_failed() {
    let mut t = tracker();
    t.sent_part("m", "+4930123456", true, 2, 200, now(0));
    t.sent_part("m", "+4930123456", true, 2, 201, now(1));
    let c = t.report(report("a", 200, "+4930123456", 0), now(10));
    assert_eq!(recorded(&c).state(), MessageState::Sent);
    let c = t.report(report("b", 201, "+4930123456", 0x46), now(11));
    let msg = recorded(&c);
    assert_eq!(msg.state(), MessageState::Failed);
    assert_eq!(msg.parts[0].state(), MessageState::Delivered);
    assert_eq!(msg.parts[1].state(), MessageState::Failed);
    assert!(c.iter().any(|c| matches!(
        c,
        Change::Matched {
            outcome: crate::pdu::DeliveryOutcome::Failed,
            part: 2,
            ..
        }
    )));
}

#[test]
fn a_message_still_being_sent_is_sending_even_when_a_report_came() {
    let mut t = tracker();
    t.sent_part("m", "+4930123456", true, 2, 5, now(0));
    let c = t.report(report("a", 5, "+4930123456", 0), now(3));
    assert_eq!(recorded(&c).state(), MessageState::Sending);
    let c = t.sent_part("m", "+4930123456", true, 2, 6, now(4));
    assert!(c.is_empty());
    let c = t.report(report("b", 6, "+4930123456", 0), now(5));
    assert_eq!(recorded(&c).state(), MessageState::Delivered);
}

#[test]
fn a_pending_report_is_followed_by_the_final_one_on_the_same_part() {
    let mut t = tracker();
    t.sent_part("m", "+4930123456", true, 1, 7, now(0));
    let c = t.report(report("p", 7, "+4930123456", 0x21), now(60));
    let msg = recorded(&c);
    assert_eq!(msg.state(), MessageState::Sent);
    assert_eq!(msg.report_state(), ReportState::Pending);
    assert_eq!(t.open_messages(), 1, "still waiting for the final report");
    let c = t.report(report("f", 7, "+4930123456", 0), now(600));
    let msg = recorded(&c);
    assert_eq!(msg.state(), MessageState::Delivered);
    assert_eq!(
        msg.parts[0].report.as_ref().map(|r| r.file.as_str()),
        Some("f")
    );
}

#[test]
fn a_final_report_goes_to_the_part_whose_pending_report_has_the_same_scts() {
    // Two messages to one number got the same reference (wrap). The older one got a "still
    // trying" report; its final report must not go to the newer message.
    let mut t = tracker();
    t.sent_part("old", "+4930123456", true, 1, 9, now(0));
    let mut pending = report("p", 9, "+4930123456", 0x22);
    pending.submitted = ts(20, 0, 0, 4);
    t.report(pending.clone(), now(10));
    t.sent_part("new", "+4930123456", true, 1, 9, now(HOUR));
    let mut fin = pending;
    fin.file = "f".into();
    fin.status = 0x62;
    let c = t.report(fin, now(HOUR + 10));
    assert_eq!(matched(&c), Some(("old", 1)));
    assert_eq!(recorded(&c).state(), MessageState::Failed);
    assert_eq!(
        t.message("new").map(SentMessage::state),
        Some(MessageState::Sent)
    );
}

#[test]
fn reference_wrap_past_255_with_several_messages_in_flight() {
    let mut t = tracker();
    let numbers = ["+491111111111", "+492222222222"];
    // 300 single-part messages alternating between two numbers: references 250..=255, 0, 1, ...
    let mut sent = Vec::new();
    for i in 0..300u64 {
        let mr = (250 + i) as u8;
        let to = numbers[(i % 2) as usize];
        let id = format!("m{i}");
        t.sent_part(&id, to, true, 1, mr, now(i));
        sent.push((id, to, mr));
    }
    // Every reference is now in flight for up to two messages on one number: the report goes
    // to the newest message without a report.
    let (id, to, mr) = sent[299].clone();
    let c = t.report(report("r299", mr, to, 0), now(400));
    assert_eq!(matched(&c), Some((id.as_str(), 1)));
    // m299 has reference (250 + 299) % 256 = 37; so has m43 (250 + 43 = 293), same number.
    let older = sent.iter().filter(|(_, n, m)| *n == to && *m == mr).count();
    assert_eq!(
        older, 2,
        "the wrap put two messages with one reference on one number"
    );
    let c = t.report(report("r43", mr, to, 0), now(401));
    assert_eq!(matched(&c), Some(("m43", 1)));
    // The same reference on the other number is a different message.
    let (id_other, to_other, _) = sent
        .iter()
        .find(|(_, n, m)| *n != to && *m == mr.wrapping_add(1))
        .cloned()
        .unwrap();
    let c = t.report(report("x", mr.wrapping_add(1), to_other, 0x40), now(402));
    assert_eq!(matched(&c), Some((id_other.as_str(), 1)));
    // A report for a number with that reference but no message: held, then unmatched.
    assert!(t
        .report(report("stray", mr, "+493333333333", 0), now(403))
        .is_empty());
    let c = t.tick(now(403 + RACE_GRACE_FOR_TESTS));
    assert_eq!(
        c,
        vec![Change::Unmatched {
            file: "stray".into()
        }]
    );
}

const RACE_GRACE_FOR_TESTS: u64 = super::tracker::RACE_GRACE;

#[test]
fn a_report_before_the_cmgs_answer_was_recorded_is_matched_when_the_part_appears() {
    let mut t = tracker();
    assert!(t
        .report(report("early", 42, "+4930123456", 0), now(0))
        .is_empty());
    assert!(t.tick(now(5)).is_empty(), "held, not given up yet");
    let c = t.sent_part("m", "+4930123456", true, 1, 42, now(6));
    assert_eq!(matched(&c), Some(("m", 1)));
    assert_eq!(recorded(&c).state(), MessageState::Delivered);
    assert!(t.tick(now(1000)).is_empty(), "the held report is gone");
}

#[test]
fn an_unmatched_report_is_kept_and_reported_after_the_grace_time() {
    let mut t = tracker();
    t.sent_part("m", "+4930123456", true, 1, 1, now(0));
    // wrong reference, and a right reference for another number
    assert!(t
        .report(report("a", 2, "+4930123456", 0), now(1))
        .is_empty());
    assert!(t
        .report(report("b", 1, "+4930999999", 0), now(2))
        .is_empty());
    assert_eq!(t.next_deadline(), Some(1 + RACE_GRACE_FOR_TESTS));
    let c = t.tick(now(1 + RACE_GRACE_FOR_TESTS));
    assert_eq!(c, vec![Change::Unmatched { file: "a".into() }]);
    let c = t.tick(now(2 + RACE_GRACE_FOR_TESTS));
    assert_eq!(c, vec![Change::Unmatched { file: "b".into() }]);
    assert_eq!(
        t.message("m").map(SentMessage::state),
        Some(MessageState::Sent)
    );
}

#[test]
fn a_network_that_never_reports_leaves_the_message_sent_with_report_none() {
    let cfg = TrackerConfig {
        report_timeout: 2 * HOUR,
        ..TrackerConfig::default()
    };
    let mut t = Tracker::new(cfg);
    t.sent_part("m", "+4930123456", true, 2, 1, now(0));
    t.sent_part("m", "+4930123456", true, 2, 2, now(10));
    assert!(t.tick(now(2 * HOUR - 1)).is_empty());
    let c = t.tick(now(2 * HOUR));
    let msg = recorded(&c);
    assert_eq!(msg.state(), MessageState::Sent);
    assert_eq!(msg.parts[0].report_state(true), ReportState::None);
    assert_eq!(msg.parts[1].report_state(true), ReportState::Pending);
    let c = t.tick(now(2 * HOUR + 10));
    let msg = recorded(&c);
    assert_eq!(msg.state(), MessageState::Sent);
    assert_eq!(msg.report_state(), ReportState::None);
    assert_eq!(t.open_messages(), 0);
    assert_eq!(t.next_deadline(), None);
    // A report after the timeout finds nothing.
    assert!(t
        .report(report("late", 1, "+4930123456", 0), now(3 * HOUR))
        .is_empty());
}

#[test]
fn a_message_without_a_requested_report_is_not_followed() {
    let mut t = tracker();
    assert!(t
        .sent_part("m", "+4930123456", false, 1, 3, now(0))
        .is_empty());
    assert_eq!(t.open_messages(), 0);
    assert_eq!(t.next_deadline(), None);
}

#[test]
fn national_and_international_forms_of_the_recipient_match() {
    let mut t = tracker();
    t.sent_part("nat", "01721234567", true, 1, 50, now(0));
    t.sent_part("int", "+491729999999", true, 1, 51, now(1));
    let c = t.report(report("a", 50, "+491721234567", 0), now(2));
    assert_eq!(matched(&c), Some(("nat", 1)));
    let c = t.report(report("b", 51, "01729999999", 0), now(3));
    assert_eq!(matched(&c), Some(("int", 1)));
}

#[test]
fn restart_between_send_and_report_still_matches_from_the_record() {
    let mut before = tracker();
    before.sent_part("m", "+4930123456", true, 2, 77, now(0));
    before.sent_part("m", "+4930123456", true, 2, 78, now(1));
    let c = before.report(report("a", 77, "+4930123456", 0), now(5));
    // The sender writes the record into the message's file in sent/.
    let mut file = SpoolFile::default();
    file.set_header("To", "+4930123456").unwrap();
    file.set_header("Report", "yes").unwrap();
    record::write(&mut file, recorded(&c)).unwrap();
    file.body = b"hello".to_vec();
    let bytes = file.to_bytes().unwrap();
    // Restart: a new process, a new monotonic origin, one hour later by the wall clock.
    let back = record::read("m", &SpoolFile::parse(&bytes)).unwrap();
    assert_eq!(&back, recorded(&c));
    let mut after = Tracker::new(TrackerConfig {
        report_timeout: 2 * HOUR,
        ..TrackerConfig::default()
    });
    let restart = Now {
        wall: T0 + HOUR,
        mono: 0,
    };
    after.restore(vec![back], restart);
    let c = after.report(report("b", 78, "+4930123456", 0), restart);
    assert_eq!(matched(&c), Some(("m", 2)));
    assert_eq!(recorded(&c).state(), MessageState::Delivered);
    // The timeout kept counting from the send (part 2 went out at T0 + 1): one hour and a second
    // left, not two hours.
    let mut again = Tracker::new(TrackerConfig {
        report_timeout: 2 * HOUR,
        ..TrackerConfig::default()
    });
    let back = record::read("m", &SpoolFile::parse(&bytes)).unwrap();
    again.restore(vec![back], restart);
    assert_eq!(again.next_deadline(), Some(HOUR + 1));
}

#[test]
fn a_part_sent_with_an_unset_clock_gets_a_full_timeout_after_restart() {
    let mut t = tracker();
    let boot = Now { wall: 40, mono: 0 };
    t.sent_part("m", "+4930123456", true, 1, 1, boot);
    let msg = t.message("m").unwrap().clone();
    assert!(!msg.parts[0].clock_sane);
    let mut file = SpoolFile::default();
    file.set_header("To", "+4930123456").unwrap();
    file.set_header("Report", "yes").unwrap();
    record::write(&mut file, &msg).unwrap();
    assert!(file.header("Part_1").unwrap().contains("clock=unset"));
    let back = record::read("m", &SpoolFile::parse(&file.to_bytes().unwrap())).unwrap();
    let mut after = tracker();
    // NTP has set the clock since: 56 years "passed", but the timeout starts now.
    after.restore(vec![back], now(100));
    assert_eq!(
        after.next_deadline(),
        Some(100 + super::tracker::DEFAULT_REPORT_TIMEOUT)
    );
}

#[test]
fn restore_skips_finished_and_unrequested_messages() {
    let mut t = tracker();
    let mut done = SentMessage {
        id: "d".into(),
        recipient: "+4930123456".into(),
        report_requested: true,
        total: 1,
        parts: vec![Part::new(1, now(0))],
    };
    done.parts[0].report = Some(PartReport {
        status: 0,
        received_at: T0,
        submitted: String::new(),
        discharged: String::new(),
        file: "r".into(),
    });
    let mut plain = done.clone();
    plain.id = "p".into();
    plain.report_requested = false;
    plain.parts[0].report = None;
    t.restore(vec![done, plain], now(10));
    assert_eq!(t.open_messages(), 0);
}

#[test]
fn the_table_is_bounded_and_the_oldest_message_gives_up() {
    let mut t = Tracker::new(TrackerConfig {
        max_open_parts: 3,
        ..TrackerConfig::default()
    });
    for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
        assert!(t
            .sent_part(id, "+4930123456", true, 1, i as u8, now(0))
            .is_empty());
    }
    let c = t.sent_part("d", "+4930123456", true, 1, 9, now(1));
    let msg = recorded(&c);
    assert_eq!(msg.id, "a");
    assert_eq!(msg.report_state(), ReportState::None);
    assert_eq!(t.open_messages(), 3);
}

#[test]
fn records_from_before_part_lines_read_from_message_id_and_sent() {
    let file = SpoolFile::parse(
        b"To: 491721234567\nReport: yes\nSent: 26-11-28 23:00:00\nMessage_id: 17 18\nParts: 2\n\nhi",
    );
    let msg = record::read("x", &file).unwrap();
    assert_eq!(msg.recipient, "+491721234567");
    assert_eq!(msg.total, 2);
    assert_eq!(
        msg.parts.iter().map(|p| p.reference).collect::<Vec<_>>(),
        [17, 18]
    );
    assert_eq!(msg.parts[0].sent_at, 1_795_906_800);
    assert!(msg.awaits_report());
    assert!(record::read("y", &SpoolFile::parse(b"To: 1\n\nno refs")).is_none());
    assert!(record::read("z", &SpoolFile::parse(b"Message_id: 1\n\nno To")).is_none());
}

#[test]
fn smsd_times_parse_and_reject_garbage() {
    assert_eq!(
        record::parse_smsd_time("70-01-01 00:00:00"),
        Some(3_155_760_000),
        "two-digit years are 20xx"
    );
    assert_eq!(
        record::parse_smsd_time("00-01-01 00:00:00"),
        Some(946_684_800)
    );
    assert_eq!(record::parse_smsd_time("26-13-01 00:00:00"), None);
    assert_eq!(record::parse_smsd_time("26-1x-01 00:00:00"), None);
    assert_eq!(record::parse_smsd_time(""), None);
}

#[test]
fn damaged_part_lines_do_not_panic_and_stop_the_list() {
    let file = SpoolFile::parse(
        b"To: +4930123456\nReport: yes\nPart_1: ref=1 sent=5\nPart_2: ref=300 sent=5\nPart_3: ref=3\n\n",
    );
    let msg = record::read("m", &file).unwrap();
    assert_eq!(msg.parts.len(), 1);
}

#[test]
fn report_file_has_smstools3s_layout() {
    let r = Report {
        file: "r".into(),
        reference: 117,
        recipient: "+491721234567".into(),
        status: 0,
        submitted: ts(22, 26, 23, 4),
        discharged: ts(22, 27, 1, 4),
    };
    let f = record::report_file(
        &r,
        Some("+491722270333"),
        "26-11-28 21:26:29",
        Some(("msg1", 1, 2)),
    )
    .unwrap();
    let text = String::from_utf8(f.to_bytes().unwrap()).unwrap();
    assert_eq!(
        text,
        "From: 491721234567\nFrom_SMSC: 491722270333\nSent: 26-11-28 22:26:23\n\
         Received: 26-11-28 21:26:29\nAlphabet: ISO\nOutcome: delivered\nMessage: msg1\nPart: 1/2\n\n\
         SMS STATUS REPORT\nMessage_id: 117\nDischarge_timestamp: 26-11-28 22:27:01\n\
         Status: 0,Ok,short message received by the SME\n"
    );
    let f = record::report_file(&r, None, "x", None).unwrap();
    assert_eq!(f.header("Matched"), Some("no"));
    assert_eq!(f.header("From_SMSC"), None);
}

#[test]
fn a_resumed_message_brings_its_earlier_parts_along() {
    // Parts 1 and 2 went out before a transient error; after the restart the sender reports the
    // message with all three parts at once.
    let mut t = tracker();
    let msg = SentMessage {
        id: "m".into(),
        recipient: "+4930123456".into(),
        report_requested: true,
        total: 3,
        parts: vec![
            Part::new(1, now(0)),
            Part::new(2, now(1)),
            Part::new(3, now(500)),
        ],
    };
    assert!(t.sent(&msg, now(500)).is_empty());
    for (mr, file) in [(1, "a"), (2, "b"), (3, "c")] {
        t.report(report(file, mr, "+4930123456", 0), now(600));
    }
    assert_eq!(t.open_messages(), 0, "all three parts matched");
}

#[test]
fn iso_times() {
    assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(iso_utc(1_795_907_431), "2026-11-28T23:10:31Z");
    assert_eq!(iso(&ts(23, 0, 5, -20)), "2026-11-28T23:00:05-05:00");
}
