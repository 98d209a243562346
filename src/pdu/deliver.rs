//! SMS-DELIVER (3GPP TS 23.040 section 9.2.2.1): what the modem hands us for a received message.
//!
//! ```text
//! first octet: bits 1-0 MTI=00, bit 2 MMS (0 = more messages waiting), bit 5 SRI, bit 6 UDHI, bit 7 RP
//! TP-OA (numeric or alphanumeric), TP-PID, TP-DCS, TP-SCTS (7 octets), TP-UDL, TP-UD
//! ```

use super::address::{self, Address};
use super::reader::Reader;
use super::timestamp::Timestamp;
use super::user_data::{self, UserData};
use super::PduError;

/// A decoded SMS-DELIVER TPDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliverPdu {
    pub from: Address,
    pub protocol_id: u8,
    pub dcs: u8,
    /// Service centre time stamp, with the sender network's time zone.
    pub timestamp: Timestamp,
    /// TP-MMS clear: the service centre has more messages waiting.
    pub more_messages: bool,
    pub status_report_indication: bool,
    pub reply_path: bool,
    pub user_data: UserData,
}

/// Decodes a DELIVER TPDU (after the SMSC field), first octet included.
pub fn decode(r: &mut Reader<'_>) -> Result<DeliverPdu, PduError> {
    let first = r.octet("empty TPDU")?;
    let from = address::decode_address(r)?;
    let protocol_id = r.octet("TP-PID missing")?;
    let dcs = r.octet("TP-DCS missing")?;
    let timestamp = Timestamp::read(r, "TP-SCTS missing")?;
    let user_data = user_data::read(r, first & 0x40 != 0, dcs)?;
    Ok(DeliverPdu {
        from,
        protocol_id,
        dcs,
        timestamp,
        more_messages: first & 0x04 == 0,
        status_report_indication: first & 0x20 != 0,
        reply_path: first & 0x80 != 0,
        user_data,
    })
}
