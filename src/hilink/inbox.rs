//! What the stick's inbox lists, in the modem layer's terms: an SMS becomes a `ReceivedSms` for
//! the spool's incoming store, a delivery confirmation (`SmsType` 7/8) a `ReceivedReport` for the
//! delivery tracker; both write their files durably before the backend deletes the message.
//!
//! Owns only these conversions (and HiLink's date format); it must not talk to the stick or
//! write files.

use super::sms::ListedSms;
use std::time::{SystemTime, UNIX_EPOCH};

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

/// A message from the stick's inbox as the modem layer hands received SMS to the spool's
/// incoming store (which writes the file, runs the hook, forwards it). The stick has already
/// joined multipart messages; its `Date` is its local time, taken as UTC (no zone is given).
pub fn received_sms(sms: &ListedSms) -> crate::modem::ReceivedSms {
    crate::modem::ReceivedSms {
        from: sms.phone.clone(),
        from_toa: type_of_address(&sms.phone),
        smsc: String::new(),
        sent: hilink_time(&sms.date),
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

/// The type-of-address octet of a listed number: 0x91 international (`+` and digits), 0x81
/// national digits, 0xD0 an alphanumeric sender name.
fn type_of_address(phone: &str) -> u8 {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match phone.strip_prefix('+') {
        Some(rest) if digits(rest) => 0x91,
        _ if digits(phone) => 0x81,
        _ => 0xD0,
    }
}

/// HiLink's `YYYY-MM-DD hh:mm:ss` (the stick's local time; no zone is given, taken as UTC).
fn hilink_time(date: &str) -> Option<crate::pdu::Timestamp> {
    let n = |a: usize, b: usize| date.get(a..b).and_then(|t| t.parse::<u16>().ok());
    let (year, month, day) = (n(0, 4)?, n(5, 7)?, n(8, 10)?);
    let (hour, minute, second) = (n(11, 13)?, n(14, 16)?, n(17, 19)?);
    let small = |v: u16| u8::try_from(v).ok();
    Some(crate::pdu::Timestamp {
        year,
        month: small(month)?,
        day: small(day)?,
        hour: small(hour)?,
        minute: small(minute)?,
        second: small(second)?,
        tz_quarters: 0,
    })
}

/// TP-ST of a confirmation with `SmsType` 8: the stick says the delivery failed but not why
/// (0x5F: "permanent error, service centre specific").
const CONFIRMED_FAILED: u8 = 0x5F;

/// A delivery confirmation (`SmsType` 7 delivered, 8 failed) as a status report on the message
/// the backend sent with id `reference`. The stick's `Date` is the time of both the service
/// centre and the delivery (it gives only one); a confirmation without one gets `received`.
pub fn received_report(
    sms: &ListedSms,
    reference: u8,
    received: SystemTime,
) -> crate::modem::ReceivedReport {
    let time = hilink_time(&sms.date)
        .or_else(|| hilink_time(&timestamp(received, true)))
        .unwrap_or(crate::pdu::Timestamp {
            year: 1970,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            tz_quarters: 0,
        });
    crate::modem::ReceivedReport {
        report: crate::pdu::StatusReportPdu {
            message_reference: reference,
            recipient: crate::pdu::Address {
                toa: type_of_address(&sms.phone),
                value: sms.phone.clone(),
            },
            timestamp: time,
            discharge_time: time,
            status: if sms.sms_type == 7 {
                0
            } else {
                CONFIRMED_FAILED
            },
            more_messages: false,
            on_command: false,
            protocol_id: None,
            dcs: None,
            user_data: None,
        },
        smsc: None,
    }
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
    fn a_confirmation_becomes_a_status_report_on_the_sent_message_id() {
        let sms = ListedSms {
            index: 40002,
            phone: "+491701234567".into(),
            date: "2026-11-28 10:00:05".into(),
            sms_type: 7,
            ..ListedSms::default()
        };
        let r = received_report(&sms, 12, UNIX_EPOCH).report;
        assert_eq!(r.message_reference, 12);
        assert_eq!(
            (r.recipient.value.as_str(), r.recipient.toa),
            ("+491701234567", 0x91)
        );
        assert_eq!(r.outcome(), crate::pdu::DeliveryOutcome::Delivered);
        let t = r.discharge_time;
        assert_eq!((t.year, t.month, t.day, t.second), (2026, 11, 28, 5));
        let failed = received_report(
            &ListedSms {
                sms_type: 8,
                date: String::new(),
                ..sms
            },
            3,
            UNIX_EPOCH + Duration::from_secs(1_795_000_000),
        )
        .report;
        assert_eq!(failed.outcome(), crate::pdu::DeliveryOutcome::Failed);
        // no date from the stick: the time it was read
        assert_eq!((failed.timestamp.year, failed.timestamp.day), (2026, 18));
    }
}
