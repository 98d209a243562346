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

pub const INCOMING: &str = "incoming";
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

/// The incoming file of a received SMS (smstools3 incoming format, text as UTF-8).
pub fn incoming_file(sms: &ListedSms, received: SystemTime) -> String {
    let gsm = crate::pdu::is_gsm7(&sms.content);
    format!(
        "From: {}\nFrom_SMSC: \nSent: {}\nReceived: {}\nSubject: hilink\nAlphabet: {}\nLength: {}\n\n{}",
        one_line(sms.phone.trim_start_matches('+')),
        one_line(smsd_date(&sms.date)),
        timestamp(received, false),
        if gsm { "ISO" } else { "UCS2" },
        sms.content.chars().count(),
        sms.content
    )
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
    fn incoming_file_has_smsd_headers_then_the_text() {
        let sms = ListedSms {
            index: 40001,
            phone: "+491701234567".into(),
            content: "Grüße\nzwei".into(),
            date: "2026-11-28 10:00:00".into(),
            sms_type: 1,
            smstat: 0,
        };
        let f = incoming_file(&sms, UNIX_EPOCH);
        assert!(f.starts_with("From: 491701234567\nFrom_SMSC: \nSent: 26-11-28 10:00:00\nReceived: 70-01-01 00:00:00\n"), "{f}");
        assert!(
            f.contains("Alphabet: ISO\nLength: 10\n\nGrüße\nzwei"),
            "{f}"
        );
    }
}
