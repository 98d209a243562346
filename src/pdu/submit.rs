//! SMS-SUBMIT (3GPP TS 23.040 section 9.2.2.2): the encoder the gateway sends with, and a decoder
//! for round trips and `smsgw decode`.
//!
//! ```text
//! SMSC field (27.005; 00 = SIM default)
//! TP-MTI/RD/VPF/SRR/UDHI/RP  first octet: bits 1-0 MTI=01, bit 2 RD, bits 4-3 VPF, bit 5 SRR,
//!                            bit 6 UDHI, bit 7 RP
//! TP-MR   message reference (0: the modem assigns one)
//! TP-DA   destination address (see address.rs)
//! TP-PID  protocol identifier (0)
//! TP-DCS  data coding scheme (see dcs.rs)
//! TP-VP   0, 1 (relative, VPF=10) or 7 (enhanced VPF=01, absolute VPF=11) octets
//! TP-UDL  septets (GSM 7-bit, UDH and fill bits included) or octets (UCS-2)
//! TP-UD   [UDH] [fill bits] text
//! AT+CMGS=<length> counts the TPDU octets: everything after the SMSC field.
//! ```

use super::address::{self, Address};
use super::dcs::{Alphabet, DataCoding};
use super::reader::Reader;
use super::timestamp::Timestamp;
use super::user_data::{self, UserData};
use super::{gsm7, split, udh, validate_number, EncodeOptions, PduError, SubmitPart};

/// TP-VP as found in a SUBMIT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    None,
    /// Raw relative TP-VP octet; see [`relative_validity_minutes`].
    Relative(u8),
    /// Enhanced format, raw octets.
    Enhanced([u8; 7]),
    Absolute(Timestamp),
}

/// Minutes a relative TP-VP octet stands for (TS 23.040 9.2.3.12.1).
pub fn relative_validity_minutes(vp: u8) -> u32 {
    let vp = u32::from(vp);
    match vp {
        0..=143 => (vp + 1) * 5,
        144..=167 => 12 * 60 + (vp - 143) * 30,
        168..=196 => (vp - 166) * 24 * 60,
        _ => (vp - 192) * 7 * 24 * 60,
    }
}

/// A decoded SMS-SUBMIT TPDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmitPdu {
    pub message_reference: u8,
    pub to: Address,
    pub protocol_id: u8,
    pub dcs: u8,
    pub validity: Validity,
    pub status_report_request: bool,
    pub reject_duplicates: bool,
    pub reply_path: bool,
    pub user_data: UserData,
}

const MTI_SUBMIT: u8 = 0x01;
const VPF_RELATIVE: u8 = 0x10;
const SRR: u8 = 0x20;
const UDHI: u8 = 0x40;

enum Body<'a> {
    Gsm7(&'a [u8]),
    Ucs2(&'a [u16]),
}

struct PartHeader<'a> {
    smsc: &'a [u8],
    to: &'a str,
    opts: &'a EncodeOptions,
    dcs: u8,
}

fn build_part(h: &PartHeader<'_>, concat: Option<[u8; 3]>, body: Body<'_>) -> SubmitPart {
    let mut tpdu = Vec::with_capacity(176);
    let mut first = MTI_SUBMIT;
    if h.opts.validity.is_some() {
        first |= VPF_RELATIVE;
    }
    if h.opts.status_report {
        first |= SRR;
    }
    if concat.is_some() {
        first |= UDHI;
    }
    tpdu.push(first);
    tpdu.push(0); // TP-MR
    address::encode_address(h.to, &mut tpdu);
    tpdu.push(0); // TP-PID
    tpdu.push(h.dcs);
    if let Some(vp) = h.opts.validity {
        tpdu.push(vp);
    }
    let udh_octets = if concat.is_some() {
        udh::CONCAT8_UDH_LEN
    } else {
        0
    };
    match body {
        Body::Gsm7(septets) => {
            let fill = gsm7::fill_bits(udh_octets);
            tpdu.push(((udh_octets * 8 + fill) / 7 + septets.len()) as u8);
            if let Some([r, total, seq]) = concat {
                udh::push_concat8(r, total, seq, &mut tpdu);
            }
            gsm7::pack(septets, fill, &mut tpdu);
        }
        Body::Ucs2(units) => {
            tpdu.push((udh_octets + units.len() * 2) as u8);
            if let Some([r, total, seq]) = concat {
                udh::push_concat8(r, total, seq, &mut tpdu);
            }
            for u in units {
                tpdu.extend_from_slice(&u.to_be_bytes());
            }
        }
    }
    let mut hex = String::with_capacity(2 * (h.smsc.len() + tpdu.len()));
    super::push_hex(h.smsc, &mut hex);
    super::push_hex(&tpdu, &mut hex);
    SubmitPart {
        tpdu_len: tpdu.len(),
        hex,
    }
}

fn check_parts(parts: usize, opts: &EncodeOptions) -> Result<(), PduError> {
    let max_parts = opts.max_parts.min(255);
    if parts > max_parts {
        return Err(PduError::TooLong { parts, max_parts });
    }
    Ok(())
}

/// See [`super::encode_submit`].
pub fn encode(
    to: &str,
    text: &str,
    opts: &EncodeOptions,
    reference: u8,
) -> Result<Vec<SubmitPart>, PduError> {
    validate_number(to)?;
    if let Some(smsc) = &opts.smsc {
        validate_number(smsc)?;
    }
    if text.is_empty() {
        return Err(PduError::EmptyText);
    }
    let mut smsc = Vec::with_capacity(12);
    address::encode_smsc(opts.smsc.as_deref(), &mut smsc);
    let gsm = if opts.force_ucs2 {
        None
    } else {
        gsm7::encode_text(text)
    };
    let alphabet = if gsm.is_some() {
        Alphabet::Gsm7
    } else {
        Alphabet::Ucs2
    };
    let header = PartHeader {
        smsc: &smsc,
        to,
        opts,
        dcs: DataCoding::encode(alphabet, opts.flash),
    };
    let concat =
        |i: usize, total: usize| (total > 1).then_some([reference, total as u8, i as u8 + 1]);
    match gsm {
        Some(septets) => {
            let parts = split::split(
                &septets,
                split::GSM7_SINGLE,
                split::GSM7_PER_PART,
                split::gsm7_joins_next,
            );
            check_parts(parts.len(), opts)?;
            let n = parts.len();
            Ok(parts
                .into_iter()
                .enumerate()
                .map(|(i, p)| build_part(&header, concat(i, n), Body::Gsm7(p)))
                .collect())
        }
        None => {
            let units: Vec<u16> = text.encode_utf16().collect();
            let parts = split::split(
                &units,
                split::UCS2_SINGLE,
                split::UCS2_PER_PART,
                split::utf16_joins_next,
            );
            check_parts(parts.len(), opts)?;
            let n = parts.len();
            Ok(parts
                .into_iter()
                .enumerate()
                .map(|(i, p)| build_part(&header, concat(i, n), Body::Ucs2(p)))
                .collect())
        }
    }
}

/// Decodes a SUBMIT TPDU (after the SMSC field), first octet included.
pub fn decode(r: &mut Reader<'_>) -> Result<SubmitPdu, PduError> {
    let first = r.octet("empty TPDU")?;
    let message_reference = r.octet("TP-MR missing")?;
    let to = address::decode_address(r)?;
    let protocol_id = r.octet("TP-PID missing")?;
    let dcs = r.octet("TP-DCS missing")?;
    let validity = match (first >> 3) & 0x03 {
        0b10 => Validity::Relative(r.octet("TP-VP missing")?),
        0b01 => {
            let b = r.take(7, "TP-VP missing")?;
            let mut o = [0u8; 7];
            o.copy_from_slice(b);
            Validity::Enhanced(o)
        }
        0b11 => Validity::Absolute(Timestamp::read(r, "TP-VP missing")?),
        _ => Validity::None,
    };
    let user_data = user_data::read(r, first & UDHI != 0, dcs)?;
    Ok(SubmitPdu {
        message_reference,
        to,
        protocol_id,
        dcs,
        validity,
        status_report_request: first & SRR != 0,
        reject_duplicates: first & 0x04 != 0,
        reply_path: first & 0x80 != 0,
        user_data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_minutes() {
        assert_eq!(relative_validity_minutes(0), 5);
        assert_eq!(relative_validity_minutes(143), 720);
        assert_eq!(relative_validity_minutes(167), 24 * 60);
        assert_eq!(relative_validity_minutes(0xAA), 4 * 24 * 60);
        assert_eq!(relative_validity_minutes(255), 63 * 7 * 24 * 60);
    }
}
