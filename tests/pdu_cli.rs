//! Black-box tests of `smsgw encode` and `smsgw decode`: output format (`LEN HEXPDU` per part),
//! exit codes and messages for refused input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a finding

use std::process::{Command, Output};

fn smsgw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smsgw"))
        .args(args)
        .env_remove("GATEWAY_INTERFACE")
        .output()
        .expect("run smsgw")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn encode_prints_len_and_hex_per_part() {
    let o = smsgw(&[
        "encode",
        "--to",
        "+46708251358",
        "--validity",
        "170",
        "hellohello",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "23 0011000B916407281553F80000AA0AE8329BFD4697D9EC37\n"
    );
    let long = "x".repeat(200);
    let o = smsgw(&["encode", "--to", "+491701234567", "--ref", "7", &long]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2);
    for (i, line) in lines.iter().enumerate() {
        let (len, hex) = line.split_once(' ').unwrap();
        // SMSC "00" is one octet; LEN counts the rest.
        assert_eq!(len.parse::<usize>().unwrap(), hex.len() / 2 - 1);
        assert!(hex.contains(&format!("05000307020{}", i + 1)), "{hex}");
    }
}

#[test]
fn encode_without_to_uses_the_documented_placeholder() {
    let o = smsgw(&["encode", "hi"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("0B910100000000F0"), "{}", stdout(&o));
}

#[test]
fn encode_refuses_bad_numbers_and_long_text() {
    let o = smsgw(&["encode", "--to", "+49 170 1234", "hi"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("invalid phone number"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
    let long = "a".repeat(153 * 6 + 1);
    let o = smsgw(&["encode", &long]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("needs 7 SMS parts, at most 6 allowed"),
        "{}",
        stderr(&o)
    );
    let o = smsgw(&["encode", "--max-parts", "7", &long]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o).lines().count(), 7);
    assert_eq!(smsgw(&["encode"]).status.code(), Some(2));
    assert_eq!(smsgw(&["encode", "--bogus", "x"]).status.code(), Some(2));
    assert_eq!(
        smsgw(&["encode", "--ref", "300", "x"]).status.code(),
        Some(2)
    );
}

#[test]
fn decode_round_trips_encode_output() {
    let o = smsgw(&[
        "encode",
        "--to",
        "0170123",
        "--flash",
        "--report",
        "Grüße ✓",
    ]);
    let out = stdout(&o);
    let (len, hex) = out.trim().split_once(' ').unwrap();
    let d = smsgw(&["decode", len, hex]);
    assert_eq!(d.status.code(), Some(0), "{}", stderr(&d));
    let text = stdout(&d);
    for want in [
        "type:       SMS-SUBMIT",
        "to:         0170123",
        "coding:     UCS-2 (class 0, flash)",
        "report:     requested",
        "text:       Grüße ✓",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    // a wrong LEN is reported
    let d = smsgw(&["decode", "99", hex]);
    assert_eq!(d.status.code(), Some(1));
    assert!(stderr(&d).contains("does not match"));
}

#[test]
fn decode_deliver_and_garbage() {
    let d = smsgw(&[
        "decode",
        "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
    ]);
    assert_eq!(d.status.code(), Some(0));
    let text = stdout(&d);
    assert!(text.contains("from:       27838890001"), "{text}");
    assert!(text.contains("time:       1999-03-29 15:16:59 +02:00"));
    assert!(text.contains("text:       hellohello"));
    let d = smsgw(&["decode", "0011zz"]);
    assert_eq!(d.status.code(), Some(1));
    assert!(stderr(&d).contains("malformed PDU"));
}

#[test]
fn decode_prints_status_report_status_text_and_outcome() {
    let d = smsgw(&[
        "decode",
        "0791947101670000062A0C91947110325476621112800050406211128000908046",
    ]);
    assert_eq!(d.status.code(), Some(0), "{}", stderr(&d));
    let text = stdout(&d);
    for want in [
        "type:       SMS-STATUS-REPORT",
        "recipient:  +491701234567 (international, TOA 0x91)",
        "reference:  42",
        "discharged: 2026-11-21 08:00:09 +02:00",
        "status:     70,Error,SM validity period expired",
        "outcome:    failed",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

#[test]
fn decode_prints_sender_kind_class_and_8_bit_data_as_hex() {
    let d = smsgw(&[
        "decode",
        "0791947101670000040DD0D432BBBC7EB70100F06211128000500A11CBF79C5E76EB40B54D19B4E1E1373E",
    ]);
    let text = stdout(&d);
    for want in [
        "from:       Telekom (alphanumeric, TOA 0xD0)",
        "time:       2026-11-21 08:00:05 -05:00",
        "coding:     GSM 7-bit (class 0, flash)",
        "text:       Kosten: 5€ [x]",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    let d = smsgw(&[
        "decode",
        "00440C919471103254760004621112800050400A050003070201DEADBEEF",
    ]);
    let text = stdout(&d);
    assert!(text.contains("part:       1/2 ref 7"), "{text}");
    assert!(text.contains("data:       DEADBEEF (4 octets)"), "{text}");
    assert!(!text.contains("text:"), "{text}");
}
