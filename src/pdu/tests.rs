//! Codec-level tests: worked vectors, the boundary cases of issue 2, round trips and robustness
//! (property tests over random text, bytes and hex).

use super::*;
use proptest::prelude::*;

const SMSC_DE: &str = "0791947101670000"; // +491710760000
const TS_0800_05: &str = "62111280005040"; // 2026-11-21 08:00:05 +01:00
const TS_0800_09: &str = "62111280009040"; // 2026-11-21 08:00:09 +01:00

fn opts() -> EncodeOptions {
    EncodeOptions::default()
}

fn submit_of(hex: &str) -> SubmitPdu {
    match decode(hex).unwrap().tpdu {
        Tpdu::Submit(s) => s,
        other => panic!("not a submit: {other:?}"),
    }
}

fn first_octet(part: &SubmitPart) -> u8 {
    let smsc_octets = usize::from(parse_hex(&part.hex).unwrap()[0]) + 1;
    parse_hex(&part.hex).unwrap()[smsc_octets]
}

/// Encodes, decodes every part and checks everything the modem and the recipient depend on.
fn round_trip(to: &str, text: &str, o: &EncodeOptions, reference: u8) -> Vec<SubmitPart> {
    let parts = encode_submit(to, text, o, reference).unwrap();
    let p = plan(text, o);
    assert_eq!(parts.len(), p.parts, "plan() agrees with encode_submit()");
    let mut joined = String::new();
    for (i, part) in parts.iter().enumerate() {
        let bytes = parse_hex(&part.hex).unwrap();
        let smsc_octets = usize::from(bytes[0]) + 1;
        assert_eq!(part.tpdu_len, bytes.len() - smsc_octets, "AT+CMGS length");
        assert!(part.tpdu_len <= 164, "a TPDU never exceeds 164 octets");
        let d = decode(&part.hex).unwrap();
        assert_eq!(d.tpdu_len, part.tpdu_len);
        let Tpdu::Submit(s) = d.tpdu else {
            panic!("not a submit")
        };
        assert_eq!(s.to.value, to);
        assert_eq!(s.user_data.coding.alphabet, p.alphabet);
        match (parts.len(), s.user_data.concat) {
            (1, None) => {}
            (n, Some(c)) => {
                assert_eq!(usize::from(c.total), n);
                assert_eq!(usize::from(c.seq), i + 1);
                assert_eq!(c.reference, u16::from(reference));
            }
            (n, c) => panic!("{n} parts but concat {c:?}"),
        }
        joined.push_str(&s.user_data.text);
    }
    assert_eq!(joined, text);
    parts
}

fn texts(parts: &[SubmitPart]) -> Vec<String> {
    parts
        .iter()
        .map(|p| submit_of(&p.hex).user_data.text)
        .collect()
}

// ---- worked vectors -------------------------------------------------------------------------

#[test]
fn classic_submit_vector_hellohello() {
    // The GSM 03.40 "hellohello" SMS-SUBMIT with relative validity 0xAA (4 days).
    let o = EncodeOptions {
        validity: Some(0xAA),
        ..opts()
    };
    let parts = encode_submit("+46708251358", "hellohello", &o, 0).unwrap();
    assert_eq!(
        parts,
        vec![SubmitPart {
            tpdu_len: 23,
            hex: "0011000B916407281553F80000AA0AE8329BFD4697D9EC37".into()
        }]
    );
    let s = submit_of(&parts[0].hex);
    assert_eq!(s.validity, Validity::Relative(0xAA));
    assert_eq!(relative_validity_minutes(0xAA), 4 * 24 * 60);
}

#[test]
fn classic_deliver_vector_hellohello() {
    let d =
        decode("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37").unwrap();
    assert_eq!(d.smsc.unwrap().value, "+27381000015");
    assert_eq!(d.tpdu_len, 28);
    let Tpdu::Deliver(m) = d.tpdu else {
        panic!("not a deliver")
    };
    assert_eq!(m.from.value, "27838890001");
    assert_eq!(m.timestamp.to_string(), "1999-03-29 15:16:59 +02:00");
    assert_eq!(m.user_data.text, "hellohello");
    assert_eq!(m.user_data.concat, None);
    assert!(!m.more_messages);
}

#[test]
fn deliver_from_alphanumeric_sender_with_escapes() {
    let hex = format!("{SMSC_DE}04 0ED0D637396C7EBBCB 00 00 {TS_0800_05} 08 C83468C3C36F7C")
        .replace(' ', "");
    let d = decode(&hex).unwrap();
    assert_eq!(d.smsc.unwrap().value, "+491710760000");
    let Tpdu::Deliver(m) = d.tpdu else {
        panic!("not a deliver")
    };
    assert!(m.from.is_alphanumeric());
    assert_eq!(m.from.value, "Vodafone");
    assert_eq!(m.timestamp.to_string(), "2026-11-21 08:00:05 +01:00");
    assert_eq!(m.user_data.text, "Hi [x]");
    assert_eq!(
        describe(&hex),
        "SMS-DELIVER from Vodafone at 2026-11-21 08:00:05 +01:00, GSM 7-bit: Hi [x]"
    );
}

#[test]
fn deliver_ucs2_part_with_16_bit_reference() {
    let hex = format!(
        "{SMSC_DE}44 0C91947110325476 00 08 {TS_0800_05} 13 06080412340201 041F04400438043204350442"
    )
    .replace(' ', "");
    let Tpdu::Deliver(m) = decode(&hex).unwrap().tpdu else {
        panic!("not a deliver")
    };
    assert_eq!(m.from.value, "+491701234567");
    assert_eq!(m.user_data.coding.alphabet, Alphabet::Ucs2);
    assert_eq!(
        m.user_data.concat,
        Some(Concat {
            reference: 0x1234,
            total: 2,
            seq: 1
        })
    );
    assert_eq!(m.user_data.text, "Привет");
}

#[test]
fn deliver_gsm7_part_after_7_octet_header_has_no_fill_bits() {
    let hex =
        format!("{SMSC_DE}44 0C91947110325476 00 00 {TS_0800_05} 10 06080412340202 F0B09C0EA2DFDF")
            .replace(' ', "");
    let Tpdu::Deliver(m) = decode(&hex).unwrap().tpdu else {
        panic!("not a deliver")
    };
    assert_eq!(m.user_data.concat.map(|c| (c.seq, c.total)), Some((2, 2)));
    assert_eq!(m.user_data.text, "part two");
}

#[test]
fn status_report_delivered_and_failed() {
    let hex = format!("{SMSC_DE}062A0C91947110325476{TS_0800_05}{TS_0800_09}00");
    let d = decode(&hex).unwrap();
    let Tpdu::StatusReport(r) = d.tpdu else {
        panic!("not a status report")
    };
    assert_eq!(r.message_reference, 42);
    assert_eq!(r.recipient.value, "+491701234567");
    assert_eq!(r.timestamp.to_string(), "2026-11-21 08:00:05 +01:00");
    assert_eq!(r.discharge_time.to_string(), "2026-11-21 08:00:09 +01:00");
    assert_eq!(r.outcome(), DeliveryOutcome::Delivered);
    assert_eq!(r.delivery_status(), DeliveryStatus::Received);
    assert_eq!(
        describe(&hex),
        "SMS-STATUS-REPORT for +491701234567 ref 42: delivered (status 0,Ok,short message received by the SME) at 2026-11-21 08:00:09 +01:00"
    );
    let failed = format!("{SMSC_DE}062A0C91947110325476{TS_0800_05}{TS_0800_09}46");
    let Tpdu::StatusReport(r) = decode(&failed).unwrap().tpdu else {
        panic!("not a status report")
    };
    assert_eq!(r.outcome(), DeliveryOutcome::Failed);
    assert_eq!(status_text(r.status), "Error,SM validity period expired");
    let pending = format!("{SMSC_DE}062A0C91947110325476{TS_0800_05}{TS_0800_09}21");
    let Tpdu::StatusReport(r) = decode(&pending).unwrap().tpdu else {
        panic!("not a status report")
    };
    assert_eq!(r.outcome(), DeliveryOutcome::Pending);
    assert!(!r.outcome().is_final());
}

// ---- encoder fields -------------------------------------------------------------------------

#[test]
fn numbers_odd_even_international_national() {
    let p = &encode_submit("+491701234567", "a", &opts(), 0).unwrap()[0];
    assert_eq!(p.hex, "0001000C9194711032547600000161");
    let p = &encode_submit("+4917012345678", "a", &opts(), 0).unwrap()[0];
    assert!(p.hex.starts_with("0001000D91947110325476F8"), "{}", p.hex);
    let p = &encode_submit("0170123", "a", &opts(), 0).unwrap()[0];
    assert!(p.hex.starts_with("0001000781100721F3"), "{}", p.hex);
    let p = &encode_submit("01701234", "a", &opts(), 0).unwrap()[0];
    assert!(p.hex.starts_with("000100088110072143"), "{}", p.hex);
    for n in ["+491701234567", "0170123", "1", "+12345678901234567890"] {
        round_trip(n, "x", &opts(), 0);
    }
}

#[test]
fn smsc_flash_report_validity_bits() {
    let o = EncodeOptions {
        smsc: Some("+491710760000".into()),
        flash: true,
        status_report: true,
        validity: Some(167),
        ..opts()
    };
    let p = &encode_submit("+491701234567", "a", &o, 0).unwrap()[0];
    // SMSC, FO = SUBMIT | VPF relative | SRR, MR, DA, PID, DCS 0x10 (flash 7-bit), VP, UDL, UD
    assert_eq!(
        p.hex,
        format!("{SMSC_DE}3100 0C91947110325476 00 10 A7 01 61").replace(' ', "")
    );
    assert_eq!(p.tpdu_len, 15);
    let s = submit_of(&p.hex);
    assert!(s.status_report_request);
    assert_eq!(s.user_data.coding.class, Some(0));
    let p = &encode_submit("+491701234567", "ж", &o, 0).unwrap()[0];
    assert_eq!(submit_of(&p.hex).dcs, 0x18);
    assert_eq!(
        describe(&p.hex),
        "SMS-SUBMIT to +491701234567 (report requested), UCS-2 flash: ж"
    );
}

#[test]
fn invalid_numbers_and_empty_text_are_refused() {
    for bad in [
        "",
        "+",
        "++49",
        "49 170",
        "0170-1",
        "abc",
        "123456789012345678901",
        "+a",
    ] {
        assert_eq!(
            encode_submit(bad, "x", &opts(), 0),
            Err(PduError::InvalidNumber(bad.into())),
            "{bad:?}"
        );
        assert!(validate_number(bad).is_err());
    }
    let o = EncodeOptions {
        smsc: Some("x1".into()),
        ..opts()
    };
    assert!(matches!(
        encode_submit("+49", "x", &o, 0),
        Err(PduError::InvalidNumber(_))
    ));
    assert_eq!(
        encode_submit("+49", "", &opts(), 0),
        Err(PduError::EmptyText)
    );
    assert!(validate_number("+12345678901234567890").is_ok());
}

// ---- alphabet choice ------------------------------------------------------------------------

#[test]
fn alphabet_choice() {
    assert_eq!(plan("€[]{}\\~^| ok @£$", &opts()).alphabet, Alphabet::Gsm7);
    assert_eq!(plan("€[]{}\\~^|", &opts()).units, 18);
    for t in ["สวัสดี", "Привет", "ok 😀", "ç", "`", "Grüße ✓"] {
        assert_eq!(plan(t, &opts()).alphabet, Alphabet::Ucs2, "{t}");
        round_trip("+491701234567", t, &opts(), 3);
    }
    let o = EncodeOptions {
        force_ucs2: true,
        ..opts()
    };
    let parts = round_trip("+491701234567", "plain", &o, 0);
    assert_eq!(submit_of(&parts[0].hex).dcs, 0x08);
}

// ---- splitting boundaries -------------------------------------------------------------------

#[test]
fn exactly_160_and_161_septets() {
    let parts = round_trip("+491701234567", &"a".repeat(160), &opts(), 0);
    assert_eq!(parts.len(), 1);
    assert_eq!(first_octet(&parts[0]), 0x01);
    assert_eq!(parts[0].tpdu_len, 13 + 140);
    let parts = round_trip("+491701234567", &"a".repeat(161), &opts(), 9);
    assert_eq!(parts.len(), 2);
    assert_eq!(first_octet(&parts[0]), 0x41);
    assert_eq!(
        texts(&parts).iter().map(|t| t.len()).collect::<Vec<_>>(),
        [153, 8]
    );
    // UDL = 7 header septets + text; 8 octets after "05 00 03 09 02 01"
    assert!(parts[0].hex.contains("A0050003090201"), "{}", parts[0].hex);
    assert!(parts[1].hex.contains("0F050003090202"), "{}", parts[1].hex);
    // an escape counts two: 159 + € = 161 septets -> two parts
    let parts = round_trip(
        "+491701234567",
        &format!("{}€", "a".repeat(159)),
        &opts(),
        0,
    );
    assert_eq!(parts.len(), 2);
    let parts = round_trip(
        "+491701234567",
        &format!("{}€", "a".repeat(158)),
        &opts(),
        0,
    );
    assert_eq!(parts.len(), 1);
}

#[test]
fn exactly_70_and_71_units() {
    let parts = round_trip("+491701234567", &"ก".repeat(70), &opts(), 0);
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].tpdu_len, 13 + 140);
    let parts = round_trip("+491701234567", &"ก".repeat(71), &opts(), 1);
    assert_eq!(
        texts(&parts)
            .iter()
            .map(|t| t.chars().count())
            .collect::<Vec<_>>(),
        [67, 4]
    );
    // an emoji counts two units: 68 + 😀 = 70 fits, 69 + 😀 = 71 does not
    assert_eq!(plan(&format!("{}😀", "ก".repeat(68)), &opts()).parts, 1);
    assert_eq!(plan(&format!("{}😀", "ก".repeat(69)), &opts()).parts, 2);
}

#[test]
fn escape_pair_never_split_at_153_154() {
    // € would occupy septets 153 and 154 of part 1: it moves whole to part 2.
    let text = format!("{}€{}", "a".repeat(152), "b".repeat(20));
    let parts = round_trip("+491701234567", &text, &opts(), 0);
    let t = texts(&parts);
    assert_eq!(t[0], "a".repeat(152));
    assert!(t[1].starts_with('€'));
    // € at septets 152/153 stays in part 1.
    let text = format!("{}€{}", "a".repeat(151), "b".repeat(20));
    let t = texts(&round_trip("+491701234567", &text, &opts(), 0));
    assert!(t[0].ends_with('€'));
    assert_eq!(t[1], "b".repeat(20));
    // a run of escapes across the boundary
    let text = "[".repeat(100);
    let t = texts(&round_trip("+491701234567", &text, &opts(), 0));
    assert_eq!(
        t.iter().map(|p| p.chars().count()).collect::<Vec<_>>(),
        [76, 24]
    );
}

#[test]
fn surrogate_pair_never_split_at_67_68() {
    let text = format!("{}😀{}", "ก".repeat(66), "ข".repeat(10));
    let t = texts(&round_trip("+491701234567", &text, &opts(), 0));
    assert_eq!(t[0], "ก".repeat(66));
    assert!(t[1].starts_with('😀'));
    let text = format!("{}😀{}", "ก".repeat(65), "ข".repeat(10));
    let t = texts(&round_trip("+491701234567", &text, &opts(), 0));
    assert!(t[0].ends_with('😀'));
    let t = texts(&round_trip("+491701234567", &"😀".repeat(40), &opts(), 0));
    assert_eq!(
        t.iter().map(|p| p.chars().count()).collect::<Vec<_>>(),
        [33, 7]
    );
}

#[test]
fn part_limit_refuses_instead_of_truncating() {
    let o = opts(); // 6 parts
    assert_eq!(round_trip("+49", &"a".repeat(153 * 6), &o, 0).len(), 6);
    assert_eq!(
        encode_submit("+49", &"a".repeat(153 * 6 + 1), &o, 0),
        Err(PduError::TooLong {
            parts: 7,
            max_parts: 6
        })
    );
    assert_eq!(
        encode_submit("+49", &"ж".repeat(67 * 6 + 1), &o, 0),
        Err(PduError::TooLong {
            parts: 7,
            max_parts: 6
        })
    );
    let one = EncodeOptions {
        max_parts: 1,
        ..opts()
    };
    assert!(encode_submit("+49", &"a".repeat(160), &one, 0).is_ok());
    assert!(matches!(
        encode_submit("+49", &"a".repeat(161), &one, 0),
        Err(PduError::TooLong { parts: 2, .. })
    ));
    let many = EncodeOptions {
        max_parts: 1000,
        ..opts()
    };
    assert!(matches!(
        encode_submit("+49", &"a".repeat(153 * 256), &many, 0),
        Err(PduError::TooLong { max_parts: 255, .. })
    ));
}

// ---- decoder robustness ---------------------------------------------------------------------

#[test]
fn malformed_pdus_are_errors() {
    for bad in [
        "",
        "0",
        "zz",
        "00",
        "0001",
        "000100",
        "00010C91",
        "0003",
        "07919471",
        // UDL says 10 septets, 2 octets present
        "0001000C919471103254760000 0AE832",
        // UDHI with a header longer than the data
        "0041000C9194711032547600000A09050003",
    ] {
        let bad = bad.replace(' ', "");
        assert!(decode(&bad).is_err(), "{bad}");
        assert!(describe(&bad).starts_with("undecodable PDU"), "{bad}");
    }
}

// ---- properties -----------------------------------------------------------------------------

fn gsm_heavy_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::sample::select((0..128u8).map(gsm7::default_char).filter(|&c| c != '\u{1B}').collect::<Vec<_>>()),
        1 => prop::sample::select(gsm7::EXTENSION.iter().map(|&(_, c)| c).collect::<Vec<_>>()),
    ]
}

fn number() -> impl Strategy<Value = String> {
    (any::<bool>(), prop::collection::vec(0u8..10, 1..=20)).prop_map(|(plus, digits)| {
        let mut n = String::from(if plus { "+" } else { "" });
        n.extend(digits.iter().map(|d| char::from(b'0' + d)));
        n
    })
}

proptest! {
    #[test]
    fn round_trip_any_unicode(
        chars in prop::collection::vec(any::<char>(), 1..300),
        to in number(),
        reference: u8,
    ) {
        let text: String = chars.into_iter().collect();
        let o = EncodeOptions { max_parts: 255, ..opts() };
        round_trip(&to, &text, &o, reference);
    }

    #[test]
    fn round_trip_gsm_text_with_escapes(
        chars in prop::collection::vec(gsm_heavy_char(), 1..700),
        to in number(),
        reference: u8,
        flash: bool,
        report: bool,
    ) {
        let text: String = chars.into_iter().collect();
        let o = EncodeOptions { max_parts: 255, flash, status_report: report, ..opts() };
        let parts = round_trip(&to, &text, &o, reference);
        for p in &parts {
            let s = submit_of(&p.hex);
            prop_assert_eq!(s.user_data.coding.alphabet, Alphabet::Gsm7);
            prop_assert_eq!(s.status_report_request, report);
            prop_assert_eq!(s.user_data.coding.class == Some(0), flash);
        }
    }

    #[test]
    fn round_trip_mixed_with_emoji(
        chars in prop::collection::vec(prop_oneof![gsm_heavy_char(), Just('😀'), Just('ก'), Just('ж')], 1..400),
    ) {
        let text: String = chars.into_iter().collect();
        let o = EncodeOptions { max_parts: 255, ..opts() };
        round_trip("+66812345678", &text, &o, 77);
    }

    #[test]
    fn decoders_never_panic_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_bytes(&bytes);
        let _ = decode_tpdu(&bytes);
    }

    #[test]
    fn describe_never_panics_on_text(s in "\\PC{0,200}") {
        let d = describe(&s);
        prop_assert!(!d.contains('\n'));
    }

    #[test]
    fn truncated_and_mutated_pdus_never_panic(
        chars in prop::collection::vec(any::<char>(), 1..200),
        cut: usize,
        flip: (usize, u8),
    ) {
        let text: String = chars.into_iter().collect();
        let o = EncodeOptions { max_parts: 255, ..opts() };
        for p in encode_submit("+491701234567", &text, &o, 1).unwrap() {
            let mut bytes = parse_hex(&p.hex).unwrap();
            let _ = decode_bytes(&bytes[..cut % (bytes.len() + 1)]);
            let i = flip.0 % bytes.len();
            bytes[i] ^= flip.1;
            let _ = decode_bytes(&bytes);
            let mut hex = String::new();
            push_hex(&bytes, &mut hex);
            let _ = describe(&hex);
        }
    }
}

#[test]
fn describe_submit_parts_in_one_line() {
    let text = format!("{}\nline two", "a".repeat(160));
    let parts = encode_submit("+491701234567", &text, &opts(), 7).unwrap();
    assert_eq!(
        describe(&parts[1].hex),
        "SMS-SUBMIT to +491701234567, GSM 7-bit, part 2/2 ref 7: aaaaaaa\\nline two"
    );
    let single = encode_submit("0170123", "Disk full", &opts(), 0).unwrap();
    assert_eq!(
        describe(&single[0].hex),
        "SMS-SUBMIT to 0170123, GSM 7-bit: Disk full"
    );
    assert_eq!(
        describe("00zz"),
        "undecodable PDU (malformed PDU: not a hex digit): 00zz"
    );
}

#[test]
fn udh_fill_bits_at_every_length_mod_8() {
    for len in 1..=17usize {
        // two full parts, then a third part of `len` septets
        let text = format!("{}{}", "a".repeat(2 * 153), "b".repeat(len));
        let parts = round_trip("+491701234567", &text, &opts(), 5);
        let bytes = parse_hex(&parts[2].hex).unwrap();
        // SMSC 00, FO, MR, DA (2 + 6), PID, DCS, then UDL at offset 13, UD after it.
        assert_eq!(usize::from(bytes[13]), 7 + len, "UDL for {len}");
        let ud = &bytes[14..];
        assert_eq!(&ud[..6], &[5, 0, 3, 5, 3, 3]);
        // 6 header octets, then 1 fill bit and 7 bits per septet
        assert_eq!(
            ud.len(),
            6 + (1 + 7 * len).div_ceil(8),
            "UD octets for {len}"
        );
        // 'b' = 0x62 shifted past the fill bit: the first text octet is 0x62 << 1 = 0xC4.
        assert_eq!(ud[6], 0xC4);
    }
}
