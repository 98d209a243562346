//! Files: the durable form of a message's parts in its spool file, and the smstools3-style
//! report file.
//!
//! Owns the headers this gateway adds to a message in `sent/` (`Message_id:` with every part's
//! reference as smsd's `messageids = 3` does, `Part_<n>:` lines, `State:`, `Report_state:`) and
//! reading them back at start, and the layout of `report/<id>`. Pure: `SpoolFile` in and out.
//!
//! ```text
//! Part_1: ref=17 sent=1764370000 status=0 at=1764370042 scts=2026-11-28T23:10:12+01:00
//!         dt=2026-11-28T23:10:40+01:00 report=report.k3j9x2     (one line)
//! Part_2: ref=18 sent=12 clock=unset timeout=yes
//! ```

use super::{Part, PartReport, Report, SentMessage};
use crate::pdu::{status_text, Timestamp};
use crate::spool::format::{normalize_number, yes, FormatError, SpoolFile};

pub const HDR_STATE: &str = "State";
pub const HDR_REPORT_STATE: &str = "Report_state";
/// The largest message this gateway sends has 255 parts; more `Part_` lines are not read.
const MAX_PARTS: usize = 255;

/// Writes the message's parts and state into its spool file.
/// A message without parts (sent as a whole text by a HiLink stick) keeps its `Message_id`.
pub fn write(file: &mut SpoolFile, msg: &SentMessage) -> Result<(), FormatError> {
    if !msg.parts.is_empty() {
        let refs: Vec<String> = msg.parts.iter().map(|p| p.reference.to_string()).collect();
        file.set_header("Message_id", &refs.join(" "))?;
    }
    if msg.total > 1 {
        file.set_header("Parts", &msg.total.to_string())?;
    }
    for (n, part) in msg.parts.iter().enumerate() {
        file.set_header(&format!("Part_{}", n + 1), &part_line(part))?;
    }
    file.set_header(HDR_STATE, msg.state().as_str())?;
    file.set_header(HDR_REPORT_STATE, msg.report_state().as_str())
}

fn part_line(p: &Part) -> String {
    let mut line = format!("ref={} sent={}", p.reference, p.sent_at);
    if !p.clock_sane {
        line.push_str(" clock=unset");
    }
    if let Some(r) = &p.report {
        // into the line itself (writing to a String cannot fail)
        let _ = std::fmt::Write::write_fmt(
            &mut line,
            format_args!(
                " status={} at={} scts={} dt={} report={}",
                r.status, r.received_at, r.submitted, r.discharged, r.file
            ),
        );
    }
    if p.timed_out {
        line.push_str(" timeout=yes");
    }
    line
}

/// Reads a message record back from its spool file named `id`. Files from before the `Part_`
/// lines (or from smsd) give their parts from `Message_id:` and `Sent:`. `None` when the file
/// is not a sent message (no `To:` or no references).
pub fn read(id: &str, file: &SpoolFile) -> Option<SentMessage> {
    let recipient = normalize_number(file.header("To")?, file.header("To_TOA")).ok()?;
    let report_requested = file.header("Report").is_some_and(yes);
    let mut parts = Vec::new();
    for n in 1..=MAX_PARTS {
        match file.header(&format!("Part_{n}")).and_then(parse_part) {
            Some(p) => parts.push(p),
            None => break,
        }
    }
    if parts.is_empty() {
        let sent_at = file.header("Sent").and_then(parse_smsd_time).unwrap_or(0);
        for r in file.header("Message_id")?.split_whitespace() {
            let Ok(reference) = r.parse::<u8>() else {
                break;
            };
            parts.push(Part {
                reference,
                sent_at,
                clock_sane: sent_at >= super::SANE_WALL,
                report: None,
                timed_out: false,
            });
        }
    }
    if parts.is_empty() {
        return None;
    }
    let total = file
        .header("Parts")
        .and_then(|v| v.parse::<u8>().ok())
        .unwrap_or(1)
        .max(u8::try_from(parts.len()).unwrap_or(u8::MAX));
    Some(SentMessage {
        id: id.to_string(),
        recipient,
        report_requested,
        total,
        parts,
    })
}

fn parse_part(line: &str) -> Option<Part> {
    let mut part = Part {
        reference: 0,
        sent_at: 0,
        clock_sane: true,
        report: None,
        timed_out: false,
    };
    let mut has_ref = false;
    let mut report = PartReport {
        status: 0,
        received_at: 0,
        submitted: String::new(),
        discharged: String::new(),
        file: String::new(),
    };
    let mut has_status = false;
    for field in line.split_whitespace() {
        let (key, value) = field.split_once('=')?;
        match key {
            "ref" => {
                part.reference = value.parse().ok()?;
                has_ref = true;
            }
            "sent" => part.sent_at = value.parse().ok()?,
            "clock" => part.clock_sane = value != "unset",
            "timeout" => part.timed_out = value == "yes",
            "status" => {
                report.status = value.parse().ok()?;
                has_status = true;
            }
            "at" => report.received_at = value.parse().ok()?,
            "scts" => report.submitted = value.to_string(),
            "dt" => report.discharged = value.to_string(),
            "report" => report.file = value.to_string(),
            _ => {}
        }
    }
    if has_status {
        part.report = Some(report);
    }
    has_ref.then_some(part)
}

/// smsd's `yy-mm-dd hh:mm:ss` (UTC, as this gateway writes it) to seconds since the epoch.
pub fn parse_smsd_time(v: &str) -> Option<u64> {
    let b = v.trim().as_bytes();
    if b.len() != 17 {
        return None;
    }
    let num = |i: usize| -> Option<u32> {
        let pair = b.get(i..i + 2)?;
        pair.iter()
            .all(u8::is_ascii_digit)
            .then(|| u32::from(pair[0] - b'0') * 10 + u32::from(pair[1] - b'0'))
    };
    let (y, mo, d) = (2000 + num(0)?, num(3)?, num(6)?);
    let (h, mi, s) = (num(9)?, num(12)?, num(15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let days = u64::try_from(crate::civil::days_from_civil(y, mo, d)).ok()?;
    Some(days * 86_400 + u64::from(h * 3600 + mi * 60 + s))
}

/// A service-centre time stamp as smsd writes it (`yy-mm-dd hh:mm:ss`, the centre's local time).
fn smsd_stamp(t: &Timestamp) -> String {
    format!(
        "{:02}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year % 100,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second
    )
}

/// The message a report was matched to: (message id, part number 1-based, parts).
pub type MatchedTo<'a> = (&'a str, usize, u8);

/// `report/<id>` in smstools3's layout. `received` is the handling time as smsd writes it;
/// `smsc` the service centre the report came from; `matched` adds this gateway's `Message:` and
/// `Part:` headers (absent = unmatched).
pub fn report_file(
    report: &Report,
    smsc: Option<&str>,
    received: &str,
    matched: Option<MatchedTo<'_>>,
) -> Result<SpoolFile, FormatError> {
    let digits = |n: &str| n.trim_start_matches('+').to_string();
    let mut f = SpoolFile::default();
    f.set_header("From", &digits(&report.recipient))?;
    if let Some(smsc) = smsc {
        f.set_header("From_SMSC", &digits(smsc))?;
    }
    f.set_header("Sent", &smsd_stamp(&report.submitted))?;
    f.set_header("Received", received)?;
    f.set_header("Alphabet", "ISO")?;
    let outcome = crate::pdu::DeliveryOutcome::of(report.status);
    f.set_header("Outcome", outcome.as_str())?;
    match matched {
        Some((id, part, total)) => {
            f.set_header("Message", id)?;
            f.set_header("Part", &format!("{part}/{total}"))?;
        }
        None => f.set_header("Matched", "no")?,
    }
    f.body = format!(
        "SMS STATUS REPORT\nMessage_id: {}\nDischarge_timestamp: {}\nStatus: {},{}\n",
        report.reference,
        smsd_stamp(&report.discharged),
        report.status,
        status_text(report.status)
    )
    .into_bytes();
    Ok(f)
}
