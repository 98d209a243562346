//! SMS-STATUS-REPORT (3GPP TS 23.040 section 9.2.2.3): delivery reports for messages sent with
//! TP-SRR.
//!
//! ```text
//! first octet: bits 1-0 MTI=10, bit 2 MMS, bit 5 SRQ, bit 6 UDHI
//! TP-MR (matches the +CMGS: <mr> of the sent message), TP-RA recipient, TP-SCTS, TP-DT discharge
//! time, TP-ST status, then optional TP-PI / PID / DCS / UDL / UD (ignored here)
//! TP-ST: 0x00-0x1F delivered/completed, 0x20-0x3F temporary error (SC still trying),
//!        0x40-0x5F permanent error, 0x60-0x7F temporary error (SC gave up)
//! ```

use super::address::{self, Address};
use super::reader::Reader;
use super::timestamp::Timestamp;
use super::PduError;

/// A decoded SMS-STATUS-REPORT TPDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusReportPdu {
    /// TP-MR of the SUBMIT this reports on.
    pub message_reference: u8,
    pub recipient: Address,
    /// When the service centre received the SUBMIT.
    pub timestamp: Timestamp,
    /// When the status below was reached (e.g. delivery time).
    pub discharge_time: Timestamp,
    /// Raw TP-ST.
    pub status: u8,
}

impl StatusReportPdu {
    #[cfg(test)] // used by the tests only
    /// The message reached the recipient (TP-ST 0x00-0x1F).
    pub fn delivered(&self) -> bool {
        self.status < 0x20
    }

    #[cfg(test)] // used by the tests only
    /// No further reports will follow for this message (delivered or failed for good).
    pub fn is_final(&self) -> bool {
        !(0x20..0x40).contains(&self.status)
    }
}

/// Human meaning of TP-ST (TS 23.040 9.2.3.15).
pub fn status_text(status: u8) -> &'static str {
    // A short table searched linearly: a `match` over 0x00..=0x65 compiles to a jump table of
    // ~100 string slices on mipsel. 0x60..=0x65 mean the same as 0x20..=0x25 (no more attempts).
    const EXACT: [(u8, &str); 19] = [
        (0x00, "delivered"),
        (0x01, "forwarded, delivery unconfirmed"),
        (0x02, "replaced by the service centre"),
        (0x20, "congestion"),
        (0x21, "recipient busy"),
        (0x22, "no response from recipient"),
        (0x23, "service rejected"),
        (0x24, "quality of service not available"),
        (0x25, "error in recipient"),
        (0x40, "remote procedure error"),
        (0x41, "incompatible destination"),
        (0x42, "connection rejected by recipient"),
        (0x43, "not obtainable"),
        (0x44, "quality of service not available"),
        (0x45, "no interworking available"),
        (0x46, "validity period expired"),
        (0x47, "deleted by originating SME"),
        (0x48, "deleted by service centre administration"),
        (0x49, "message does not exist"),
    ];
    let key = if (0x60..=0x65).contains(&status) {
        status - 0x40
    } else {
        status
    };
    if let Some(&(_, text)) = EXACT.iter().find(|(code, _)| *code == key) {
        return text;
    }
    match status {
        0x03..=0x1F => "completed",
        0x26..=0x3F => "temporary error, still trying",
        0x4A..=0x5F => "permanent error",
        _ => "temporary error, no more attempts",
    }
}

/// Decodes a STATUS-REPORT TPDU (after the SMSC field), first octet included.
pub fn decode(r: &mut Reader<'_>) -> Result<StatusReportPdu, PduError> {
    let _first = r.octet("empty TPDU")?;
    let message_reference = r.octet("TP-MR missing")?;
    let recipient = address::decode_address(r)?;
    let timestamp = Timestamp::read(r, "TP-SCTS missing")?;
    let discharge_time = Timestamp::read(r, "TP-DT missing")?;
    let status = r.octet("TP-ST missing")?;
    Ok(StatusReportPdu {
        message_reference,
        recipient,
        timestamp,
        discharge_time,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::status_text;

    /// The table as first written (a `match`), kept as the reference for the compact version.
    fn reference(status: u8) -> &'static str {
        match status {
            0x00 => "delivered",
            0x01 => "forwarded, delivery unconfirmed",
            0x02 => "replaced by the service centre",
            0x03..=0x1F => "completed",
            0x20 | 0x60 => "congestion",
            0x21 | 0x61 => "recipient busy",
            0x22 | 0x62 => "no response from recipient",
            0x23 | 0x63 => "service rejected",
            0x24 | 0x44 | 0x64 => "quality of service not available",
            0x25 | 0x65 => "error in recipient",
            0x40 => "remote procedure error",
            0x41 => "incompatible destination",
            0x42 => "connection rejected by recipient",
            0x43 => "not obtainable",
            0x45 => "no interworking available",
            0x46 => "validity period expired",
            0x47 => "deleted by originating SME",
            0x48 => "deleted by service centre administration",
            0x49 => "message does not exist",
            0x26..=0x3F => "temporary error, still trying",
            0x4A..=0x5F => "permanent error",
            _ => "temporary error, no more attempts",
        }
    }

    #[test]
    fn every_status_octet_reads_as_the_spec_table() {
        for status in 0..=u8::MAX {
            assert_eq!(
                status_text(status),
                reference(status),
                "status 0x{status:02X}"
            );
        }
    }
}
