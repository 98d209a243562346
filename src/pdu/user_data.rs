//! TP-UDL + TP-UD decoding (3GPP TS 23.040 section 9.2.3.16 / 9.2.3.24), shared by all PDU types.
//!
//! Owns the interpretation of the user data length (septets for GSM 7-bit, octets otherwise), the
//! optional header and the text. Never panics: lengths are checked against the octets present.

use super::dcs::{Alphabet, DataCoding};
use super::reader::Reader;
use super::udh::{self, Concat};
use super::{gsm7, PduError};

/// Decoded user data of one PDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserData {
    pub coding: DataCoding,
    /// Concatenation info from the user data header, if any.
    pub concat: Option<Concat>,
    /// The text. For 8-bit data (and compressed data, which is not decompressed) this is the
    /// payload in upper-case hex.
    pub text: String,
    /// The payload octets after the header for 8-bit and compressed data (empty for text).
    pub data: Vec<u8>,
}

/// Splits off the header: (concatenation info, header octets including UDHL).
fn header(data: &[u8]) -> Result<(Option<Concat>, usize), PduError> {
    let udhl = usize::from(
        *data
            .first()
            .ok_or(PduError::Malformed("user data header missing"))?,
    );
    let h = data.get(1..1 + udhl).ok_or(PduError::Malformed(
        "user data header longer than user data",
    ))?;
    Ok((udh::parse_concat(h)?, 1 + udhl))
}

/// Reads TP-UDL and TP-UD; `udhi` is the TP-UDHI bit of the first octet.
pub fn read(r: &mut Reader<'_>, udhi: bool, dcs: u8) -> Result<UserData, PduError> {
    let coding = DataCoding::from_dcs(dcs);
    let udl = usize::from(r.octet("TP-UDL missing")?);
    let mut raw = Vec::new();
    let (concat, text) = if coding.alphabet == Alphabet::Gsm7 && !coding.compressed {
        let data = r.take((udl * 7).div_ceil(8), "user data shorter than TP-UDL")?;
        let (concat, start_bit) = if udhi {
            let (c, octets) = header(data)?;
            (c, octets * 8 + gsm7::fill_bits(octets))
        } else {
            (None, 0)
        };
        let count = udl
            .checked_sub(start_bit / 7)
            .ok_or(PduError::Malformed("user data header longer than TP-UDL"))?;
        let septets = gsm7::unpack(data, start_bit, count)
            .ok_or(PduError::Malformed("user data shorter than TP-UDL"))?;
        (concat, gsm7::decode_septets(&septets))
    } else {
        let data = r.take(udl, "user data shorter than TP-UDL")?;
        let (concat, skip) = if udhi { header(data)? } else { (None, 0) };
        let payload = data.get(skip..).unwrap_or(&[]);
        let text = if coding.alphabet == Alphabet::Ucs2 && !coding.compressed {
            decode_ucs2(payload)
        } else {
            let mut hex = String::with_capacity(payload.len() * 2);
            super::push_hex(payload, &mut hex);
            raw = payload.to_vec();
            hex
        };
        (concat, text)
    };
    Ok(UserData {
        coding,
        concat,
        text,
        data: raw,
    })
}

/// UTF-16BE (UCS-2 as sent in practice, surrogate pairs included) to text: an unpaired surrogate
/// or a dangling odd octet becomes U+FFFD.
pub fn decode_ucs2(octets: &[u8]) -> String {
    utf16be(octets, false).unwrap_or_default()
}

/// UTF-16BE to text, the one decoder for PDUs and spool files: with `strict`, `None` for an
/// unpaired surrogate or an odd octet; without, those become U+FFFD.
pub fn utf16be(octets: &[u8], strict: bool) -> Option<String> {
    let pairs = octets.chunks_exact(2);
    let odd = !pairs.remainder().is_empty();
    let units = pairs.map(|p| match p {
        [hi, lo] => u16::from_be_bytes([*hi, *lo]),
        _ => 0xFFFD,
    });
    let mut text = String::with_capacity(octets.len());
    for c in char::decode_utf16(units) {
        match c {
            Ok(c) => text.push(c),
            Err(_) if strict => return None,
            Err(_) => text.push(char::REPLACEMENT_CHARACTER),
        }
    }
    if odd {
        if strict {
            return None;
        }
        text.push(char::REPLACEMENT_CHARACTER);
    }
    Some(text)
}
