//! `smsgw decode [LEN] HEX`: prints the fields of a PDU (SMS-SUBMIT, SMS-DELIVER,
//! SMS-STATUS-REPORT) one per line. Owns only the output format; decoding is `pdu`'s.

use super::emit;
use crate::pdu;
use std::fmt::Write as _;

/// Appends `label`, then `value`, then a newline: every output line goes through these few
/// non-generic helpers (a `writeln!` per line costs several times their size on the router).
pub(super) fn line(out: &mut String, label: &str, value: &str) {
    out.push_str(label);
    out.push_str(value);
    out.push('\n');
}

/// `label` and a decimal number.
fn line_num(out: &mut String, label: &str, n: u64) {
    out.push_str(label);
    crate::http::push_u64(out, n);
    out.push('\n');
}

/// Appends a value printed by its `Display`.
fn show(out: &mut String, value: &dyn std::fmt::Display) {
    let _ = write!(out, "{value}"); // writing to a String cannot fail
}

/// `label` and a value printed by its `Display`.
fn line_show(out: &mut String, label: &str, value: &dyn std::fmt::Display) {
    out.push_str(label);
    show(out, value);
    out.push('\n');
}

/// `label` and `0xHH`.
fn line_hex(out: &mut String, label: &str, b: u8) {
    out.push_str(label);
    out.push_str("0x");
    pdu::push_hex(&[b], out);
    out.push('\n');
}

fn write_user_data(out: &mut String, ud: &pdu::UserData) {
    let class = match ud.coding.class {
        Some(0) => " (class 0, flash)",
        Some(1) => " (class 1)",
        Some(2) => " (class 2, SIM)",
        Some(_) => " (class 3)",
        None => "",
    };
    out.push_str("coding:     ");
    show(out, &ud.coding.alphabet);
    line(out, class, "");
    if let Some(w) = ud.coding.message_waiting {
        let kind = ["voicemail", "fax", "e-mail", "other"][usize::from(w.kind & 3)];
        out.push_str("waiting:    ");
        line(out, kind, if w.active { " on" } else { " off" });
    }
    if let Some(c) = ud.concat {
        out.push_str("part:       ");
        crate::http::push_u64(out, c.seq.into());
        out.push('/');
        crate::http::push_u64(out, c.total.into());
        line_num(out, " ref ", c.reference.into());
    }
    if ud.coding.alphabet == pdu::Alphabet::EightBit || ud.coding.compressed {
        out.push_str("data:       ");
        out.push_str(&ud.text);
        out.push_str(" (");
        crate::http::push_u64(out, ud.data.len() as u64);
        line(out, " octets)", "");
        return;
    }
    out.push_str("text:       ");
    pdu::push_one_line(&ud.text, out);
    out.push('\n');
}

fn write_address(out: &mut String, label: &str, a: &pdu::Address) {
    out.push_str(label);
    show(out, a);
    out.push_str(" (");
    out.push_str(a.type_of_number().name());
    out.push_str(", TOA 0x");
    pdu::push_hex(&[a.toa], out);
    line(out, ")", "");
}

fn write_fields(out: &mut String, pdu: &pdu::DecodedPdu) {
    match &pdu.smsc {
        Some(a) => line_show(out, "smsc:       ", a),
        None => line(out, "smsc:       ", "(SIM default)"),
    }
    match &pdu.tpdu {
        pdu::Tpdu::Submit(s) => {
            line(out, "type:       ", "SMS-SUBMIT");
            line_show(out, "to:         ", &s.to);
            line_num(out, "reference:  ", s.message_reference.into());
            match s.validity {
                pdu::Validity::None => {}
                pdu::Validity::Relative(vp) => {
                    out.push_str("validity:   ");
                    crate::http::push_u64(out, pdu::relative_validity_minutes(vp).into());
                    out.push_str(" minutes (TP-VP ");
                    crate::http::push_u64(out, vp.into());
                    line(out, ")", "");
                }
                pdu::Validity::Absolute(t) => line_show(out, "validity:   until ", &t),
                pdu::Validity::Enhanced(_) => line(out, "validity:   ", "enhanced format"),
            }
            let report = if s.status_report_request {
                "requested"
            } else {
                "not requested"
            };
            line(out, "report:     ", report);
            write_user_data(out, &s.user_data);
        }
        pdu::Tpdu::Deliver(d) => {
            line(out, "type:       ", "SMS-DELIVER");
            write_address(out, "from:       ", &d.from);
            line_show(out, "time:       ", &d.timestamp);
            line_hex(out, "pid:        ", d.protocol_id);
            line_hex(out, "dcs:        ", d.dcs);
            for &(set, flag) in &[
                (d.more_messages, "more messages waiting"),
                (d.reply_path, "reply path"),
                (
                    d.status_report_indication,
                    "status report requested by sender",
                ),
            ] {
                if set {
                    line(out, "flag:       ", flag);
                }
            }
            write_user_data(out, &d.user_data);
        }
        pdu::Tpdu::StatusReport(s) => {
            line(out, "type:       ", "SMS-STATUS-REPORT");
            write_address(out, "recipient:  ", &s.recipient);
            line_num(out, "reference:  ", s.message_reference.into());
            line_show(out, "submitted:  ", &s.timestamp);
            line_show(out, "discharged: ", &s.discharge_time);
            out.push_str("status:     ");
            crate::http::push_u64(out, s.status.into());
            line(out, ",", s.delivery_status().smstools_text());
            line(out, "outcome:    ", s.outcome().as_str());
            if s.on_command {
                line(out, "flag:       ", "report on an SMS-COMMAND");
            }
            if let Some(pid) = s.protocol_id {
                line_hex(out, "pid:        ", pid);
            }
            if let Some(dcs) = s.dcs {
                line_hex(out, "dcs:        ", dcs);
            }
            if let Some(ud) = &s.user_data {
                write_user_data(out, ud);
            }
        }
    }
    line_num(out, "tpdu length: ", pdu.tpdu_len as u64);
}

/// `smsgw decode [LEN] HEX`: prints the fields of a PDU that starts with the SMSC field. With LEN
/// (as printed by `smsgw encode`), also checks it against the TPDU length.
pub fn decode(args: &[String]) -> i32 {
    let (len, hex) = match args {
        [hex] => (None, hex),
        [len, hex] => match len.parse::<usize>() {
            Ok(n) => (Some(n), hex),
            Err(_) => {
                crate::errln!("smsgw decode: LEN must be a number, got '{len}'");
                return 2;
            }
        },
        _ => {
            crate::errln!("usage: smsgw decode [LEN] HEX");
            return 2;
        }
    };
    let pdu = match pdu::decode(hex) {
        Ok(p) => p,
        Err(e) => {
            crate::errln!("smsgw decode: {e}");
            return 1;
        }
    };
    let mut out = String::with_capacity(512);
    write_fields(&mut out, &pdu);
    emit(&out);
    match len {
        Some(n) if n != pdu.tpdu_len => {
            crate::errln!(
                "smsgw decode: LEN {n} does not match the TPDU length {}",
                pdu.tpdu_len
            );
            1
        }
        _ => 0,
    }
}
