//! SMS-STATUS-REPORT (3GPP TS 23.040 section 9.2.2.3): delivery reports for messages sent with
//! TP-SRR, and the TP-ST status table (9.2.3.15).
//!
//! Owns decoding the report and naming/classifying its status. Does not match a report to the
//! sent message (that is the engine's job: by TP-MR + recipient + time window).
//!
//! ```text
//! first octet: bits 1-0 MTI=10, bit 2 MMS (0 = more messages), bit 3 LP (loop prevention),
//!              bit 5 SRQ (0 = report on a SUBMIT, 1 = on a COMMAND), bit 6 UDHI
//! TP-MR        1 octet, matches the `+CMGS: <mr>` of the sent part (wraps at 255)
//! TP-RA        recipient address (as TP-DA of the SUBMIT)
//! TP-SCTS      7 octets: when the service centre received the SUBMIT
//! TP-DT        7 octets: when the status below was reached (delivery time for TP-ST 0)
//! TP-ST        1 octet, table below
//! TP-PI        optional: bit 0 TP-PID follows, bit 1 TP-DCS follows, bit 2 TP-UDL (+UD) follows,
//!              bit 7 extension (another PI octet follows, bits unused here)
//! then TP-PID, TP-DCS, TP-UDL, TP-UD as the PI says (TP-DCS absent = GSM 7-bit)
//!
//! TP-ST  0x00-0x1F  transaction completed: 0 received by the SME, 1 forwarded (unconfirmed),
//!                   2 replaced by the SC, 3-0x0F reserved, 0x10-0x1F SC-specific
//!        0x20-0x3F  temporary error, SC still trying: 0x20-0x25 named, 0x26-0x2F reserved,
//!                   0x30-0x3F SC-specific
//!        0x40-0x5F  permanent error, SC gave up: 0x40-0x49 named, 0x4A-0x4F reserved,
//!                   0x50-0x5F SC-specific
//!        0x60-0x7F  temporary error, SC gave up: 0x60-0x65 named (as 0x20-0x25), 0x66-0x6F
//!                   reserved, 0x70-0x7F SC-specific
//!        0x80-0xFF  reserved
//! ```
//!
//! Classification ([`DeliveryOutcome`]) follows gammu's rule order (smsd `DeliveryStatus`): below
//! 0x20 delivered; else the failure bit 0x40 first (so 0x60-0x65 "gave up" are failures); else the
//! bit 0x20 pending (not final: another report may follow). Every reserved value 0x80-0xFF counts
//! as failed and final (gammu leaves them "unknown"; a state needs an answer, and no further report
//! can be expected for a value the spec does not define).

use super::address::{self, Address};
use super::reader::Reader;
use super::timestamp::Timestamp;
use super::user_data::{self, UserData};
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
    /// Raw TP-ST; [`StatusReportPdu::delivery_status`] names it.
    pub status: u8,
    /// TP-MMS clear: the service centre has more messages waiting.
    pub more_messages: bool,
    /// TP-SRQ: the report is on an SMS-COMMAND, not on a SUBMIT.
    pub on_command: bool,
    /// Optional TP-PID (present when TP-PI says so).
    pub protocol_id: Option<u8>,
    /// Optional TP-DCS (present when TP-PI says so).
    pub dcs: Option<u8>,
    /// Optional TP-UDL/TP-UD (present when TP-PI says so and decodable).
    pub user_data: Option<UserData>,
}

impl StatusReportPdu {
    /// The named TP-ST.
    pub fn delivery_status(&self) -> DeliveryStatus {
        DeliveryStatus::from_octet(self.status)
    }

    /// Delivered, still pending, or failed.
    pub fn outcome(&self) -> DeliveryOutcome {
        DeliveryOutcome::of(self.status)
    }
}

/// What a status report says about the message, for its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// TP-ST 0x00-0x1F: the transaction completed (received, forwarded or replaced).
    Delivered,
    /// Temporary error, the service centre is still trying: not final, another report may follow.
    Pending,
    /// Permanent error, or a temporary one the service centre gave up on.
    Failed,
}

impl DeliveryOutcome {
    /// Classifies a TP-ST octet (gammu's rule order, see the module table).
    pub fn of(status: u8) -> DeliveryOutcome {
        // For 0x00-0x7F this is gammu's order (< 0x20, then bit 0x40, then bit 0x20); every
        // reserved value 0x80-0xFF is final and failed.
        match status {
            0x00..=0x1F => DeliveryOutcome::Delivered,
            0x20..=0x3F => DeliveryOutcome::Pending,
            _ => DeliveryOutcome::Failed,
        }
    }

    /// No further report will change this outcome.
    #[allow(dead_code)] // for the delivery-report engine; tested here
    pub fn is_final(self) -> bool {
        self != DeliveryOutcome::Pending
    }

    /// `delivered`, `pending` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Pending => "pending",
            DeliveryOutcome::Failed => "failed",
        }
    }
}

/// TP-ST by name (TS 23.040 9.2.3.15). Reserved and SC-specific values are `Unknown(code)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// 0x00: short message received by the SME.
    Received,
    /// 0x01: forwarded by the SC to the SME, but the SC cannot confirm delivery.
    ForwardedUnconfirmed,
    /// 0x02: replaced by the SC.
    Replaced,
    /// 0x20: still trying, congestion.
    TryingCongestion,
    /// 0x21: still trying, SME busy.
    TryingSmeBusy,
    /// 0x22: still trying, no response from SME.
    TryingNoResponse,
    /// 0x23: still trying, service rejected.
    TryingServiceRejected,
    /// 0x24: still trying, quality of service not available.
    TryingQosUnavailable,
    /// 0x25: still trying, error in SME.
    TryingSmeError,
    /// 0x40: remote procedure error.
    RemoteProcedureError,
    /// 0x41: incompatible destination.
    IncompatibleDestination,
    /// 0x42: connection rejected by SME.
    ConnectionRejected,
    /// 0x43: not obtainable.
    NotObtainable,
    /// 0x44: quality of service not available.
    QosUnavailable,
    /// 0x45: no interworking available.
    NoInterworking,
    /// 0x46: validity period expired.
    ValidityExpired,
    /// 0x47: deleted by the originating SME.
    DeletedByOriginator,
    /// 0x48: deleted by the SC administration.
    DeletedByAdministration,
    /// 0x49: the message does not exist.
    DoesNotExist,
    /// 0x60: gave up, congestion.
    GaveUpCongestion,
    /// 0x61: gave up, SME busy.
    GaveUpSmeBusy,
    /// 0x62: gave up, no response from SME.
    GaveUpNoResponse,
    /// 0x63: gave up, service rejected.
    GaveUpServiceRejected,
    /// 0x64: gave up, quality of service not available.
    GaveUpQosUnavailable,
    /// 0x65: gave up, error in SME.
    GaveUpSmeError,
    /// Any other value (reserved or specific to a service centre).
    Unknown(u8),
}

/// The named values, their codes and smstools3's `Status:` texts (src/pdu.c `explain_status`,
/// with its "sendr SME" typo read as "from SME").
const NAMED: [(u8, DeliveryStatus, &str); 25] = {
    use DeliveryStatus::*;
    [
        (0x00, Received, "Ok,short message received by the SME"),
        (
            0x01,
            ForwardedUnconfirmed,
            "Ok,short message forwarded by the SC to the SME but the SC is unable to confirm delivery",
        ),
        (0x02, Replaced, "Ok,short message replaced by the SC"),
        (0x20, TryingCongestion, "Still trying,congestion"),
        (0x21, TryingSmeBusy, "Still trying,SME busy"),
        (0x22, TryingNoResponse, "Still trying,no response from SME"),
        (0x23, TryingServiceRejected, "Still trying,service rejected"),
        (
            0x24,
            TryingQosUnavailable,
            "Still trying,quality of service not available",
        ),
        (0x25, TryingSmeError, "Still trying,error in SME"),
        (0x40, RemoteProcedureError, "Error,remote procedure error"),
        (
            0x41,
            IncompatibleDestination,
            "Error,incompatible destination",
        ),
        (0x42, ConnectionRejected, "Error,connection rejected by SME"),
        (0x43, NotObtainable, "Error,not obtainable"),
        (
            0x44,
            QosUnavailable,
            "Error,quality of service not available",
        ),
        (0x45, NoInterworking, "Error,no interworking available"),
        (0x46, ValidityExpired, "Error,SM validity period expired"),
        (
            0x47,
            DeletedByOriginator,
            "Error,SM deleted by originating SME",
        ),
        (
            0x48,
            DeletedByAdministration,
            "Error,SM deleted by SC administration",
        ),
        (0x49, DoesNotExist, "Error,SM does not exist"),
        (0x60, GaveUpCongestion, "Error,congestion"),
        (0x61, GaveUpSmeBusy, "Error,SME busy"),
        (0x62, GaveUpNoResponse, "Error,no response from SME"),
        (0x63, GaveUpServiceRejected, "Error,service rejected"),
        (
            0x64,
            GaveUpQosUnavailable,
            "Error,quality of service not available",
        ),
        (0x65, GaveUpSmeError, "Error,error in SME"),
    ]
};

impl DeliveryStatus {
    pub fn from_octet(status: u8) -> DeliveryStatus {
        NAMED
            .iter()
            .find(|(code, _, _)| *code == status)
            .map_or(DeliveryStatus::Unknown(status), |&(_, named, _)| named)
    }

    /// The TP-ST octet.
    #[allow(dead_code)] // for the delivery-report engine; tested here
    pub fn code(self) -> u8 {
        match self {
            DeliveryStatus::Unknown(code) => code,
            named => NAMED
                .iter()
                .find(|(_, n, _)| *n == named)
                .map_or(0xFF, |&(code, _, _)| code),
        }
    }

    /// smstools3's text for the `Status: <code>,<text>` line of a report file, e.g.
    /// `Ok,short message received by the SME` or `Error,SM validity period expired`.
    pub fn smstools_text(self) -> &'static str {
        let DeliveryStatus::Unknown(code) = self else {
            return NAMED
                .iter()
                .find(|(_, named, _)| *named == self)
                .map_or("unknown", |&(_, _, text)| text);
        };
        match code {
            0x30..=0x3F => "Temporary error, SC specific, unknown",
            0x50..=0x5F | 0x70..=0x7F => "Permanent error, SC specific, unknown",
            _ => "unknown",
        }
    }
}

/// Human meaning of TP-ST: smstools3's status text (see [`DeliveryStatus::smstools_text`]).
pub fn status_text(status: u8) -> &'static str {
    DeliveryStatus::from_octet(status).smstools_text()
}

/// Decodes a STATUS-REPORT TPDU (after the SMSC field), first octet included.
///
/// The optional part after TP-ST is read leniently: a TP-PI that promises fields the PDU does not
/// hold (seen from some networks) leaves those fields `None` instead of refusing the report.
pub fn decode(r: &mut Reader<'_>) -> Result<StatusReportPdu, PduError> {
    let first = r.octet("empty TPDU")?;
    let message_reference = r.octet("TP-MR missing")?;
    let recipient = address::decode_address(r)?;
    let timestamp = Timestamp::read(r, "TP-SCTS missing")?;
    let discharge_time = Timestamp::read(r, "TP-DT missing")?;
    let status = r.octet("TP-ST missing")?;
    let mut report = StatusReportPdu {
        message_reference,
        recipient,
        timestamp,
        discharge_time,
        status,
        more_messages: first & 0x04 == 0,
        on_command: first & 0x20 != 0,
        protocol_id: None,
        dcs: None,
        user_data: None,
    };
    let pi = match r.optional_octet() {
        // Some SCs pad the report with 0xFF octets: not a TP-PI.
        Some(0xFF) | None => return Ok(report),
        Some(pi) => pi,
    };
    // TP-PI extension octets (bit 7) carry no fields this codec knows; skip them.
    let mut extension = pi;
    while extension & 0x80 != 0 {
        match r.optional_octet() {
            Some(next) => extension = next,
            None => return Ok(report),
        }
    }
    if pi & 0x01 != 0 {
        report.protocol_id = r.optional_octet();
    }
    if pi & 0x02 != 0 {
        report.dcs = r.optional_octet();
    }
    if pi & 0x04 != 0 {
        report.user_data = user_data::read(r, first & 0x40 != 0, report.dcs.unwrap_or(0)).ok();
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_codes_round_trip_and_unknown_keeps_its_code() {
        for status in 0..=u8::MAX {
            let named = DeliveryStatus::from_octet(status);
            assert_eq!(named.code(), status, "{named:?}");
        }
        assert_eq!(
            DeliveryStatus::from_octet(0x46),
            DeliveryStatus::ValidityExpired
        );
        assert_eq!(
            DeliveryStatus::from_octet(0x26),
            DeliveryStatus::Unknown(0x26)
        );
        assert_eq!(
            DeliveryStatus::from_octet(0x80),
            DeliveryStatus::Unknown(0x80)
        );
    }

    #[test]
    fn smstools3_status_texts() {
        assert_eq!(status_text(0), "Ok,short message received by the SME");
        assert_eq!(status_text(32), "Still trying,congestion");
        assert_eq!(status_text(34), "Still trying,no response from SME");
        assert_eq!(status_text(70), "Error,SM validity period expired");
        assert_eq!(status_text(101), "Error,error in SME");
        assert_eq!(status_text(50), "Temporary error, SC specific, unknown");
        assert_eq!(status_text(85), "Permanent error, SC specific, unknown");
        assert_eq!(status_text(120), "Permanent error, SC specific, unknown");
        for reserved in [3, 31, 38, 47, 74, 102, 111, 128, 255] {
            assert_eq!(status_text(reserved), "unknown", "{reserved}");
        }
    }

    #[test]
    fn classification_follows_gammus_rule_order() {
        use DeliveryOutcome::*;
        for status in 0..=u8::MAX {
            let want = match status {
                0..=31 => Delivered,
                32..=63 => Pending,
                64..=127 => Failed,
                _ => Failed, // reserved: final
            };
            assert_eq!(DeliveryOutcome::of(status), want, "status {status}");
        }
        // the "gave up" temporary errors are failures, not pending
        for status in 96..=101 {
            assert!(DeliveryOutcome::of(status).is_final());
            assert_eq!(DeliveryOutcome::of(status).as_str(), "failed");
        }
        assert!(!DeliveryOutcome::of(0x21).is_final());
    }
}
