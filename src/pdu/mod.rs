//! SMS PDU codec (3GPP TS 23.040 / 23.038): pure bytes in, values out.
//!
//! Owns the SMS-SUBMIT encoder (addresses, DCS, validity, status-report request, 7-bit packing,
//! UCS-2, concatenation UDH and splitting), the decoders for SMS-SUBMIT, SMS-DELIVER and
//! SMS-STATUS-REPORT (with the TP-ST table), and the USSD string codec (`ussd`). It must not do I/O, read clocks, allocate without bound or panic on any input:
//! everything that comes from outside returns a `PduError`.
//!
//! Layout (smoltcp `wire/` style, spec tables in each file's doc comment): `gsm7` alphabet tables
//! and septet packing, `address`, `dcs`, `udh`, `timestamp`, `split`, `user_data`, and one file per
//! PDU type (`submit`, `deliver`, `status_report`). This file holds the public entry points.

mod address;
mod dcs;
mod deliver;
mod gsm7;
mod reader;
mod split;
mod status_report;
mod submit;
mod timestamp;
mod udh;
mod user_data;
#[allow(dead_code)] // the engine's USSD job is its caller; until it lands only tests are
pub mod ussd;

// Re-exported as the module's public vocabulary; not every item is used by this binary yet.
#[allow(unused_imports)]
pub use address::{Address, TypeOfNumber};
#[allow(unused_imports)]
pub use dcs::{Alphabet, DataCoding, MessageWaiting};
pub use deliver::DeliverPdu;
#[allow(unused_imports)]
pub use status_report::{status_text, DeliveryOutcome, DeliveryStatus, StatusReportPdu};
pub use submit::{relative_validity_minutes, SubmitPdu, Validity};
#[allow(unused_imports)]
pub use timestamp::Timestamp;
#[allow(unused_imports)]
pub use udh::Concat;
pub use user_data::{utf16be, UserData};

use reader::Reader;
use std::fmt;

/// Options for [`encode_submit`].
#[derive(Clone, Debug)]
pub struct EncodeOptions {
    /// SMSC number; `None` writes `00` (use the SIM's default).
    pub smsc: Option<String>,
    /// Class 0 ("flash") message.
    pub flash: bool,
    /// Request a status report (TP-SRR).
    pub status_report: bool,
    /// Relative validity period, raw TP-VP octet (TS 23.040 9.2.3.12.1); `None` = no TP-VP.
    pub validity: Option<u8>,
    /// Longest accepted message, in parts (values above 255 act as 255); longer text is refused,
    /// never truncated.
    pub max_parts: usize,
    /// Always use UCS-2 even when GSM 7-bit would do.
    pub force_ucs2: bool,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            smsc: None,
            flash: false,
            status_report: false,
            validity: None,
            max_parts: 6,
            force_ucs2: false,
        }
    }
}

/// One part of an encoded message, ready for the modem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmitPart {
    /// Value for `AT+CMGS=<len>`: TPDU octets, i.e. everything after the SMSC field.
    pub tpdu_len: usize,
    /// Upper-case hex of the whole PDU, SMSC field first, exactly what is written before Ctrl-Z.
    pub hex: String,
}

/// Why a message or PDU was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PduError {
    /// The number is empty, too long, or has characters other than digits and a leading `+`.
    InvalidNumber(String),
    /// The text is empty.
    EmptyText,
    /// The text needs more parts than allowed.
    TooLong { parts: usize, max_parts: usize },
    /// A PDU to decode is malformed.
    Malformed(&'static str),
}

impl fmt::Display for PduError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PduError::InvalidNumber(n) => write!(
                f,
                "invalid phone number '{n}': use digits with an optional leading +"
            ),
            PduError::EmptyText => write!(f, "message text is empty"),
            PduError::TooLong { parts, max_parts } => write!(
                f,
                "message too long: needs {parts} SMS parts, at most {max_parts} allowed"
            ),
            PduError::Malformed(why) => write!(f, "malformed PDU: {why}"),
        }
    }
}

impl std::error::Error for PduError {}

/// Checks a destination number: digits with an optional leading `+`, 1..=20 digits.
pub fn validate_number(number: &str) -> Result<(), PduError> {
    if !is_digits(number.strip_prefix('+').unwrap_or(number)) {
        return Err(PduError::InvalidNumber(number.to_string()));
    }
    Ok(())
}

/// 1 to 20 ASCII digits: the digits of a phone number (every number check goes through here).
pub fn is_digits(digits: &str) -> bool {
    !digits.is_empty() && digits.len() <= 20 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Encodes `text` to `to` as one or more SMS-SUBMIT PDUs. `reference` is the concatenation
/// reference used when the text needs several parts (the caller keeps it unique-ish).
///
/// GSM 7-bit (with the extension table) when every character fits, else UCS-2; 160/153 septets or
/// 70/67 UTF-16 units per part; escape and surrogate pairs are never split. Text needing more than
/// `opts.max_parts` parts (at most 255) is refused with [`PduError::TooLong`].
pub fn encode_submit(
    to: &str,
    text: &str,
    opts: &EncodeOptions,
    reference: u8,
) -> Result<Vec<SubmitPart>, PduError> {
    submit::encode(to, text, opts, reference)
}

/// How a text would be sent, without building PDUs (for limits and error messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessagePlan {
    pub alphabet: Alphabet,
    /// Septets (GSM 7-bit, escapes count 2) or UTF-16 units (UCS-2).
    pub units: usize,
    pub parts: usize,
}

/// The GSM 7-bit default alphabet (with its extension table) can carry `text`.
pub fn is_gsm7(text: &str) -> bool {
    gsm7::encode_text(text).is_some()
}

/// Alphabet, length and number of parts `encode_submit` would use for `text`.
pub fn plan(text: &str, opts: &EncodeOptions) -> MessagePlan {
    match gsm7::encode_text(text).filter(|_| !opts.force_ucs2) {
        Some(septets) => MessagePlan {
            alphabet: Alphabet::Gsm7,
            units: septets.len(),
            parts: split::count(
                &septets,
                split::GSM7_SINGLE,
                split::GSM7_PER_PART,
                split::gsm7_joins_next,
            ),
        },
        None => {
            let units: Vec<u16> = text.encode_utf16().collect();
            MessagePlan {
                alphabet: Alphabet::Ucs2,
                units: units.len(),
                parts: split::count(
                    &units,
                    split::UCS2_SINGLE,
                    split::UCS2_PER_PART,
                    split::utf16_joins_next,
                ),
            }
        }
    }
}

/// The transfer-layer part of a PDU, by message type (TP-MTI).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tpdu {
    Submit(SubmitPdu),
    Deliver(DeliverPdu),
    StatusReport(StatusReportPdu),
}

/// A whole PDU as seen in 27.005 PDU mode: SMSC field, then the TPDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedPdu {
    /// `None` when the SMSC field is `00` (SIM default).
    pub smsc: Option<Address>,
    /// Octets after the SMSC field: the `AT+CMGS=` length of a SUBMIT.
    pub tpdu_len: usize,
    pub tpdu: Tpdu,
}

/// Decodes a TPDU without SMSC field. MTI 00 is read as SMS-DELIVER, 01 as SMS-SUBMIT and 10 as
/// SMS-STATUS-REPORT (the directions a terminal sees); trailing octets are ignored.
pub fn decode_tpdu(tpdu: &[u8]) -> Result<Tpdu, PduError> {
    let mut r = Reader::new(tpdu);
    match r.peek().map(|first| first & 0x03) {
        None => Err(PduError::Malformed("empty TPDU")),
        Some(0b00) => deliver::decode(&mut r).map(Tpdu::Deliver),
        Some(0b01) => submit::decode(&mut r).map(Tpdu::Submit),
        Some(0b10) => status_report::decode(&mut r).map(Tpdu::StatusReport),
        Some(_) => Err(PduError::Malformed("reserved message type (TP-MTI 11)")),
    }
}

/// Decodes PDU octets that start with the SMSC field (as `AT+CMGR`/`+CMT`/`+CDS` give them).
pub fn decode_bytes(pdu: &[u8]) -> Result<DecodedPdu, PduError> {
    let mut r = Reader::new(pdu);
    let smsc = address::decode_smsc(&mut r)?;
    let rest = pdu.get(r.position()..).unwrap_or(&[]);
    Ok(DecodedPdu {
        smsc,
        tpdu_len: rest.len(),
        tpdu: decode_tpdu(rest)?,
    })
}

/// Decodes a hex PDU that starts with the SMSC field. Surrounding whitespace is ignored.
pub fn decode(hex: &str) -> Result<DecodedPdu, PduError> {
    decode_bytes(&parse_hex(hex)?)
}

/// Hex text to octets (either case, surrounding whitespace ignored).
pub fn parse_hex(hex: &str) -> Result<Vec<u8>, PduError> {
    let hex = hex.trim().as_bytes();
    if !hex.len().is_multiple_of(2) {
        return Err(PduError::Malformed("odd number of hex digits"));
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(PduError::Malformed("not a hex digit")),
    };
    // A plain loop: `chunks().map().collect::<Result<_, _>>()` costs ~300 bytes more on mipsel.
    let mut out = Vec::with_capacity(hex.len() / 2);
    let mut digits = hex.iter();
    while let (Some(&h), Some(&l)) = (digits.next(), digits.next()) {
        out.push(nibble(h)? << 4 | nibble(l)?);
    }
    Ok(out)
}

static HEX_DIGITS: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `bytes` as upper-case hex.
pub fn push_hex(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        out.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(b & 0x0F)]));
    }
}

fn push_user_data(ud: &UserData, out: &mut String) {
    out.push_str(", ");
    out.push_str(match ud.coding.alphabet {
        Alphabet::Gsm7 => "GSM 7-bit",
        Alphabet::EightBit => "8-bit data",
        Alphabet::Ucs2 => "UCS-2",
    });
    if ud.coding.class == Some(0) {
        out.push_str(" flash");
    }
    if let Some(c) = ud.concat {
        out.push_str(&format!(", part {}/{} ref {}", c.seq, c.total, c.reference));
    }
    out.push_str(": ");
    push_one_line(&ud.text, out);
}

/// `text` with its control characters escaped (see [`push_one_line`]).
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_one_line(text, &mut out);
    out
}

/// Appends `text` with its control characters escaped as Rust's `escape_default` does (`\n`,
/// `\r`, `\t`, else `\u{1b}`), so it stays on one line. Other characters, backslash included,
/// are copied as they are. (Hand-written: `escape_default` costs ~700 bytes more on mipsel.)
pub fn push_one_line(text: &str, out: &mut String) {
    const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // control characters (category Cc) are all below U+00A0: one or two hex digits
            c if c.is_control() => {
                let n = u32::from(c) as usize;
                out.push_str("\\u{");
                if n >= 16 {
                    out.push(char::from(LOWER_HEX[(n >> 4) & 0x0F]));
                }
                out.push(char::from(LOWER_HEX[n & 0x0F]));
                out.push('}');
            }
            c => out.push(c),
        }
    }
}

/// One-line human description of a hex PDU (SMSC prefix included), for logs and the simulated
/// modem: e.g. `SMS-SUBMIT to +491701234567, GSM 7-bit, part 1/2 ref 7: text`. Never fails: a bad
/// PDU is described as such. Control characters in the text are escaped (`\n`), so it stays one line.
pub fn describe(hex: &str) -> String {
    let pdu = match decode(hex) {
        Ok(p) => p,
        Err(e) => {
            let shown: String = hex.chars().take(80).filter(|c| !c.is_control()).collect();
            return format!("undecodable PDU ({e}): {shown}");
        }
    };
    let mut out = String::with_capacity(64 + hex.len());
    match &pdu.tpdu {
        Tpdu::Submit(s) => {
            out.push_str("SMS-SUBMIT to ");
            out.push_str(&s.to.value);
            if s.status_report_request {
                out.push_str(" (report requested)");
            }
            push_user_data(&s.user_data, &mut out);
        }
        Tpdu::Deliver(d) => {
            out.push_str("SMS-DELIVER from ");
            // an alphanumeric sender is 7-bit text and may hold a line break
            push_one_line(&d.from.to_string(), &mut out);
            out.push_str(&format!(" at {}", d.timestamp));
            push_user_data(&d.user_data, &mut out);
        }
        Tpdu::StatusReport(s) => out.push_str(&format!(
            "SMS-STATUS-REPORT for {} ref {}: {} (status {},{}) at {}",
            one_line(&s.recipient.to_string()),
            s.message_reference,
            s.outcome().as_str(),
            s.status,
            status_text(s.status),
            s.discharge_time
        )),
    }
    out
}

#[cfg(test)]
mod receive_tests;
#[cfg(test)]
mod tests;
