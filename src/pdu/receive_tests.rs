//! Tests of the receiving side: SMS-DELIVER fields the engine relies on, SMS-STATUS-REPORT with
//! its optional parameters, and robustness of both decoders on truncated and bit-flipped input.

use super::*;
use proptest::prelude::*;

const SMSC_DE: &str = "0791947101670000"; // +491710760000
const TS_MINUS_5: &str = "6211128000500A"; // 2026-11-21 08:00:05 -05:00
const TS_PLUS_1: &str = "62111280005040"; // 2026-11-21 08:00:05 +01:00

fn deliver(hex: &str) -> DeliverPdu {
    match decode(&hex.replace(' ', "")).unwrap().tpdu {
        Tpdu::Deliver(d) => d,
        other => panic!("not a deliver: {other:?}"),
    }
}

fn report(hex: &str) -> StatusReportPdu {
    match decode(&hex.replace(' ', "")).unwrap().tpdu {
        Tpdu::StatusReport(r) => r,
        other => panic!("not a status report: {other:?}"),
    }
}

#[test]
fn deliver_flags_national_sender_and_negative_zone() {
    // FO 0xA0: MMS clear (more messages), SRI, RP; sender national 0170123 (TON 010)
    let d = deliver(&format!(
        "{SMSC_DE} A0 07A1100721F3 00 00 {TS_MINUS_5} 02 C834"
    ));
    assert_eq!(d.from.value, "0170123");
    assert_eq!(d.from.type_of_number(), TypeOfNumber::National);
    assert!(d.more_messages && d.status_report_indication && d.reply_path);
    assert_eq!(d.timestamp.tz_quarters, -20);
    assert_eq!(d.timestamp.to_string(), "2026-11-21 08:00:05 -05:00");
    assert_eq!(d.user_data.text, "Hi");
    let d = deliver(&format!("00 04 0C91947110325476 00 00 {TS_PLUS_1} 02 C834"));
    assert!(!d.more_messages && !d.status_report_indication && !d.reply_path);
}

#[test]
fn deliver_class_0_from_the_f0_group_and_message_waiting() {
    let d = deliver(&format!("00 04 0C91947110325476 00 F0 {TS_PLUS_1} 02 C834"));
    assert_eq!(d.user_data.coding.class, Some(0));
    assert_eq!(d.user_data.text, "Hi");
    let d = deliver(&format!("00 04 0C91947110325476 00 C8 {TS_PLUS_1} 02 C834"));
    let w = d.user_data.coding.message_waiting.unwrap();
    assert!(w.active && w.discard && w.kind == 0);
    assert_eq!(d.user_data.text, "Hi");
}

#[test]
fn deliver_8_bit_data_is_kept_as_bytes() {
    let d = deliver(&format!(
        "00 44 0C91947110325476 00 F5 {TS_PLUS_1} 0A 050003070201 DEADBEEF"
    ));
    assert_eq!(d.user_data.coding.alphabet, Alphabet::EightBit);
    assert_eq!(d.user_data.coding.class, Some(1));
    assert_eq!(d.user_data.data, vec![0xDE, 0xAD, 0xBE, 0xEF]);
    assert_eq!(d.user_data.text, "DEADBEEF");
    assert_eq!(
        d.user_data.concat.map(|c| (c.reference, c.seq)),
        Some((7, 1))
    );
}

#[test]
fn deliver_gsm7_after_a_port_element_uses_the_fill_bits() {
    // UDH 0B: port addressing (05 04 ...) then concat (00 03 ...): 12 octets -> 1 fill bit...
    // 12 * 8 = 96 bits, next septet boundary 98: 2 fill bits. "Hi" = C8 34 shifted by 2.
    let ud = {
        let mut septets = Vec::new();
        gsm7::pack(&gsm7::encode_text("Hi").unwrap(), 2, &mut septets);
        let mut h = String::new();
        push_hex(&septets, &mut h);
        h
    };
    let udl = 14 + 2; // 96 + 2 fill bits = 14 septets, then 2 characters
    let d = deliver(&format!(
        "00 44 0C91947110325476 00 00 {TS_PLUS_1} {udl:02X} 0B0504162300000003090302 {ud}"
    ));
    assert_eq!(
        d.user_data.concat.map(|c| (c.reference, c.total, c.seq)),
        Some((9, 3, 2))
    );
    assert_eq!(d.user_data.text, "Hi");
}

#[test]
fn ucs2_unpaired_surrogates_and_odd_octets_read_as_replacement() {
    // "A", lone high surrogate, "B", lone low surrogate, then half a unit
    let d = deliver(&format!(
        "00 04 0C91947110325476 00 08 {TS_PLUS_1} 09 0041D83D0042DE0000"
    ));
    assert_eq!(d.user_data.text, "A\u{FFFD}B\u{FFFD}\u{FFFD}");
    let d = deliver(&format!(
        "00 04 0C91947110325476 00 08 {TS_PLUS_1} 04 D83DDE00"
    ));
    assert_eq!(d.user_data.text, "😀");
}

#[test]
fn escapes_follow_23038() {
    // ESC ESC reads as a space; an escaped code missing from the extension table reads as the
    // default-alphabet character (23.038 6.2.1.1); a known one as its extension character.
    assert_eq!(gsm7::decode_septets(&[0x41, 0x1B, 0x1B, 0x42]), "A B");
    assert_eq!(gsm7::decode_septets(&[0x1B, 0x61]), "a");
    assert_eq!(gsm7::decode_septets(&[0x1B, 0x65, 0x1B, 0x0A]), "€\u{0C}");
}

#[test]
fn status_report_optional_parameters() {
    let head = format!("{SMSC_DE} 06 2A 0C91947110325476 {TS_PLUS_1} {TS_MINUS_5} 46");
    let r = report(&head);
    assert_eq!((r.protocol_id, r.dcs, &r.user_data), (None, None, &None));
    assert_eq!(r.delivery_status(), DeliveryStatus::ValidityExpired);
    assert_eq!(r.discharge_time.to_string(), "2026-11-21 08:00:05 -05:00");
    assert!(!r.more_messages && !r.on_command); // FO 06: TP-MMS set, no more
                                                // TP-PI 07: PID, DCS (UCS-2), UDL + UD
    let r = report(&format!("{head} 07 00 08 04 04410442"));
    assert_eq!((r.protocol_id, r.dcs), (Some(0), Some(8)));
    assert_eq!(r.user_data.map(|u| u.text).as_deref(), Some("ст"));
    // TP-PI 04 without DCS: GSM 7-bit
    let r = report(&format!("{head} 04 02 C834"));
    assert_eq!(r.user_data.map(|u| u.text).as_deref(), Some("Hi"));
    // padding and a PI promising absent fields: the report itself is kept
    for tail in ["FFFFFF", "07", "0700", "8000", "80"] {
        let r = report(&format!("{head} {tail}"));
        assert_eq!(r.status, 0x46, "{tail}");
        assert_eq!(r.user_data, None, "{tail}");
    }
    // FO 22: TP-SRQ set, TP-MMS clear (more messages waiting)
    let r = report(&format!(
        "{SMSC_DE} 22 2A 0C91947110325476 {TS_PLUS_1} {TS_PLUS_1} 00"
    ));
    assert!(r.on_command && r.more_messages);
}

#[test]
fn status_report_23040_classes() {
    for (st, outcome, named) in [
        (0x00, DeliveryOutcome::Delivered, DeliveryStatus::Received),
        (
            0x01,
            DeliveryOutcome::Delivered,
            DeliveryStatus::ForwardedUnconfirmed,
        ),
        (0x02, DeliveryOutcome::Delivered, DeliveryStatus::Replaced),
        (
            0x10,
            DeliveryOutcome::Delivered,
            DeliveryStatus::Unknown(0x10),
        ),
        (
            0x21,
            DeliveryOutcome::Pending,
            DeliveryStatus::TryingSmeBusy,
        ),
        (
            0x30,
            DeliveryOutcome::Pending,
            DeliveryStatus::Unknown(0x30),
        ),
        (
            0x45,
            DeliveryOutcome::Failed,
            DeliveryStatus::NoInterworking,
        ),
        (0x61, DeliveryOutcome::Failed, DeliveryStatus::GaveUpSmeBusy),
        (
            0x65,
            DeliveryOutcome::Failed,
            DeliveryStatus::GaveUpSmeError,
        ),
        (0xA0, DeliveryOutcome::Failed, DeliveryStatus::Unknown(0xA0)),
    ] {
        let r = report(&format!(
            "00 06 01 0C91947110325476 {TS_PLUS_1} {TS_PLUS_1} {st:02X}"
        ));
        assert_eq!(
            (r.outcome(), r.delivery_status()),
            (outcome, named),
            "TP-ST {st:#04X}"
        );
    }
}

/// Sample PDUs of every received kind, for the mutation properties below.
const SAMPLES: [&str; 5] = [
    "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
    "0791947101670000440C919471103254760008621112800050400F060804123402010041D83DDE000042",
    "0791947101670000040DD0D432BBBC7EB70100006211128000500A11CBF79C5E76EB40B54D19B4E1E1373E",
    "0791947101670000062A0C919471103254766211128000504062111280009080460700080404410442",
    "00440C91947110325476000062111280005040100B050416230000000309030220D3",
];

#[test]
fn mutation_samples_are_valid_pdus() {
    for hex in SAMPLES {
        assert!(decode(hex).is_ok(), "{hex}");
    }
}

proptest! {
    #[test]
    fn one_line_escaping_matches_escape_default(text in "\\PC{0,40}|[\\x00-\\x1f\\x7f-\\u{a0}a\\\\]{0,40}") {
        let mut ours = String::new();
        push_one_line(&text, &mut ours);
        let want: String = text
            .chars()
            .map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() })
            .collect();
        prop_assert_eq!(ours, want);
    }

    #[test]
    fn received_pdus_never_panic_when_truncated_or_flipped(
        which in 0..SAMPLES.len(),
        cut: usize,
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4),
    ) {
        let Ok(mut bytes) = parse_hex(SAMPLES[which]) else { return Ok(()) };
        let _ = decode_bytes(&bytes[..cut % (bytes.len() + 1)]);
        for (at, mask) in flips {
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] ^= mask;
            }
        }
        let _ = decode_bytes(&bytes);
        let mut hex = String::new();
        push_hex(&bytes, &mut hex);
        prop_assert!(!describe(&hex).contains('\n'));
    }

    #[test]
    fn status_reports_with_random_tails_keep_their_core(
        mr: u8,
        st: u8,
        tail in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut bytes = parse_hex(&format!(
            "0006{mr:02X}0C91947110325476{TS_PLUS_1}{TS_MINUS_5}{st:02X}"
        )).unwrap();
        bytes.extend(&tail);
        let Ok(DecodedPdu { tpdu: Tpdu::StatusReport(r), .. }) = decode_bytes(&bytes) else {
            return Err(TestCaseError::fail("report refused"));
        };
        prop_assert_eq!((r.message_reference, r.status), (mr, st));
        prop_assert_eq!(r.recipient.value.as_str(), "+491701234567");
    }

    #[test]
    fn deliver_user_data_of_any_dcs_never_panics(
        first in any::<u8>().prop_map(|b| b & !0x03),
        dcs: u8,
        ud in prop::collection::vec(any::<u8>(), 0..160),
        udl: u8,
    ) {
        let mut bytes = parse_hex(&format!("00{first:02X}0C9194711032547600{dcs:02X}{TS_PLUS_1}{udl:02X}")).unwrap();
        bytes.extend(&ud);
        let _ = decode_bytes(&bytes);
    }
}

/// Seeds proptest found: an alphanumeric sender (or a report's recipient) decoded from flipped
/// bytes holds a line break, which `describe` (one log line) must escape.
#[test]
fn describe_stays_on_one_line_for_senders_with_line_breaks() {
    // SMS-DELIVER from the alphanumeric sender "A\nB" (septets 41 0A 42 packed: 41 85 10)
    let hex = "000406D04185100000621182214000000141";
    assert!(decode(hex).is_ok());
    assert!(!describe(hex).contains('\n'), "{}", describe(hex));
}
