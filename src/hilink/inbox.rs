//! Writes what the stick received into the spool: each SMS becomes `incoming/<name>` and each
//! delivery confirmation `report/<name>` (smstools3's formats), durably (write to `tmp/`, fsync,
//! rename) before the backend deletes it from the stick.
//!
//! Owns only these two file formats and the atomic write; it must not talk to the stick.

use super::sms::ListedSms;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

pub const REPORT: &str = "report";

/// `YY-MM-DD hh:mm:ss` (smsd's format) or, with `full_year`, `YYYY-MM-DD hh:mm:ss` (HiLink's), UTC.
pub fn timestamp(t: SystemTime, full_year: bool) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = (secs / 86_400).min(u64::from(u32::MAX / 2)) as u32;
    let rem = (secs % 86_400) as u32;
    let (y, m, d) = crate::civil::civil_from_days(days);
    let y = if full_year { y } else { y % 100 };
    format!(
        "{y:02}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// HiLink's `YYYY-MM-DD hh:mm:ss` to smsd's `YY-MM-DD hh:mm:ss` (unchanged when it is not that).
fn smsd_date(hilink: &str) -> &str {
    if hilink.len() == 19 && hilink.is_char_boundary(2) {
        hilink.get(2..).unwrap_or(hilink)
    } else {
        hilink
    }
}

/// A message from the stick's inbox as the modem layer hands received SMS to the spool's
/// incoming store (which writes the file, runs the hook, forwards it). The stick has already
/// joined multipart messages; its `Date` is its local time, taken as UTC (no zone is given).
pub fn received_sms(sms: &ListedSms) -> crate::modem::ReceivedSms {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let from_toa = match sms.phone.strip_prefix('+') {
        Some(rest) if digits(rest) => 0x91,
        _ if digits(&sms.phone) => 0x81,
        _ => 0xD0,
    };
    let n = |a: usize, b: usize| sms.date.get(a..b).and_then(|t| t.parse().ok());
    let sent = match (n(0, 4), n(5, 7), n(8, 10), n(11, 13), n(14, 16), n(17, 19)) {
        (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) => {
            Some(crate::pdu::Timestamp {
                year,
                month: month as u8,
                day: day as u8,
                hour: hour as u8,
                minute: minute as u8,
                second: second as u8,
                tz_quarters: 0,
            })
        }
        _ => None,
    };
    crate::modem::ReceivedSms {
        from: sms.phone.clone(),
        from_toa,
        smsc: String::new(),
        sent,
        alphabet: if crate::pdu::is_gsm7(&sms.content) {
            crate::pdu::Alphabet::Gsm7
        } else {
            crate::pdu::Alphabet::Ucs2
        },
        text: sms.content.clone(),
        concat: None,
        flash: false,
        error: None,
    }
}

/// The report file of a delivery confirmation (`SmsType` 7 delivered, 8 failed).
pub fn report_file(sms: &ListedSms, message_id: Option<u8>, received: SystemTime) -> String {
    let status = if sms.sms_type == 7 {
        "0,Ok,short message received by the SME"
    } else {
        "64,Failed,delivery failed (reported by the HiLink stick)"
    };
    let id = message_id.map_or(String::new(), |i| i.to_string());
    format!(
        "From: {}\nSent: {}\nReceived: {}\nSubject: hilink\n\nSMS STATUS REPORT\nMessage_id: {id}\nDischarge_timestamp: {}\nStatus: {status}\n",
        one_line(sms.phone.trim_start_matches('+')),
        one_line(smsd_date(&sms.date)),
        timestamp(received, false),
        one_line(smsd_date(&sms.date)),
    )
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Writes `content` as a new file in `root/dir` (`hilink.<index>.<random>`), durably.
pub fn write_new(root: &Path, dir: &str, index: u32, content: &str) -> io::Result<PathBuf> {
    let tmp_dir = root.join("tmp");
    let target_dir = root.join(dir);
    fs::create_dir_all(&tmp_dir)?;
    fs::create_dir_all(&target_dir)?;
    let rand = getrandom::u32().unwrap_or(index);
    let name = format!("hilink.{index}.{rand:08x}");
    let tmp = tmp_dir.join(format!(".{name}"));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(content.as_bytes())?;
        f.sync_all()?;
    }
    let path = target_dir.join(&name);
    fs::rename(&tmp, &path)?;
    if let Ok(d) = fs::File::open(&target_dir) {
        let _ = d.sync_all();
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_in_both_formats() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(timestamp(t, true), "2026-11-18 11:06:40");
        assert_eq!(timestamp(t, false), "26-11-18 11:06:40");
    }

    #[test]
    fn a_listed_message_becomes_a_received_sms_for_the_incoming_store() {
        let sms = ListedSms {
            index: 40001,
            phone: "+491701234567".into(),
            content: "Grüße\nzwei".into(),
            date: "2026-11-28 10:00:07".into(),
            sms_type: 1,
            smstat: 0,
        };
        let r = received_sms(&sms);
        assert_eq!((r.from.as_str(), r.from_toa), ("+491701234567", 0x91));
        assert_eq!(r.text, "Grüße\nzwei");
        assert_eq!(r.alphabet, crate::pdu::Alphabet::Gsm7);
        let t = r.sent.unwrap();
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2026, 11, 28, 10, 0, 7)
        );
        let named = received_sms(&ListedSms {
            phone: "Bank".into(),
            content: "Код 1234".into(),
            date: "garbage".into(),
            ..sms
        });
        assert_eq!(named.from_toa, 0xD0);
        assert_eq!(named.alphabet, crate::pdu::Alphabet::Ucs2);
        assert!(named.sent.is_none());
    }
    #[test]
    fn report_file_has_smsd_status_report_fields() {
        let sms = ListedSms {
            index: 40002,
            phone: "+4917\n01".into(),
            date: "2026-11-28 10:00:05".into(),
            sms_type: 7,
            ..ListedSms::default()
        };
        assert_eq!(
            report_file(&sms, Some(12), UNIX_EPOCH),
            "From: 4917 01\nSent: 26-11-28 10:00:05\nReceived: 70-01-01 00:00:00\nSubject: hilink\n\nSMS STATUS REPORT\nMessage_id: 12\nDischarge_timestamp: 26-11-28 10:00:05\nStatus: 0,Ok,short message received by the SME\n"
        );
        let failed = ListedSms { sms_type: 8, ..sms };
        let f = report_file(&failed, None, UNIX_EPOCH);
        assert!(f.contains("Message_id: \nDischarge"), "{f}");
        assert!(
            f.ends_with("Status: 64,Failed,delivery failed (reported by the HiLink stick)\n"),
            "{f}"
        );
    }
}
