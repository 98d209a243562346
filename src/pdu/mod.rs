//! SMS PDU codec (3GPP TS 23.040 / 23.038): pure bytes in, values out.
//!
//! Owns the SMS-SUBMIT encoder (addresses, DCS, validity, status-report request, 7-bit packing,
//! UCS-2, concatenation UDH and splitting) and the decoders for SMS-SUBMIT, SMS-DELIVER and
//! SMS-STATUS-REPORT. It must not do I/O, read clocks, allocate without bound or panic on any input:
//! everything that comes from outside returns a `PduError`.
//!
//! NOTE: placeholder encoder (UCS-2, single part) so other modules can be built against the final
//! interface; the real codec replaces the body of this module, not its signatures.

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
    /// Longest accepted message, in parts; longer text is refused, never truncated.
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
    let digits = number.strip_prefix('+').unwrap_or(number);
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PduError::InvalidNumber(number.to_string()));
    }
    Ok(())
}

/// Encodes `text` to `to` as one or more SMS-SUBMIT PDUs. `reference` is the concatenation
/// reference used when the text needs several parts (the caller keeps it unique-ish).
pub fn encode_submit(
    to: &str,
    text: &str,
    opts: &EncodeOptions,
    _reference: u8,
) -> Result<Vec<SubmitPart>, PduError> {
    validate_number(to)?;
    if text.is_empty() {
        return Err(PduError::EmptyText);
    }
    let units: Vec<u16> = text.encode_utf16().collect();
    if units.len() > 70 {
        return Err(PduError::TooLong {
            parts: units.len().div_ceil(67),
            max_parts: 1,
        });
    }
    let digits = to.strip_prefix('+').unwrap_or(to);
    let mut tpdu = vec![0x01, 0x00, digits.len() as u8];
    tpdu.push(if to.starts_with('+') { 0x91 } else { 0x81 });
    let d = digits.as_bytes();
    for pair in d.chunks(2) {
        let lo = pair[0] - b'0';
        let hi = if pair.len() > 1 { pair[1] - b'0' } else { 0xF };
        tpdu.push(hi << 4 | lo);
    }
    tpdu.extend([0x00, if opts.flash { 0x18 } else { 0x08 }]);
    tpdu.push((units.len() * 2) as u8);
    for u in units {
        tpdu.extend(u.to_be_bytes());
    }
    let mut hex = String::from("00");
    for b in &tpdu {
        hex.push_str(&format!("{b:02X}"));
    }
    Ok(vec![SubmitPart {
        tpdu_len: tpdu.len(),
        hex,
    }])
}

/// One-line human description of a hex PDU (SMSC prefix included), for logs and the simulated
/// modem: e.g. `SMS-SUBMIT to +4917012345 (UCS-2, part 1/2): text`. Never fails: a bad PDU is
/// described as such.
pub fn describe(hex: &str) -> String {
    format!("PDU {hex}")
}
