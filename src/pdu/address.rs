//! Address fields (3GPP TS 23.040 section 9.1.2.5) and the SMSC field of 27.005 PDU mode.
//!
//! Owns semi-octet (swapped BCD) numbers, the type-of-address octet and alphanumeric addresses.
//! Does not validate message text or know about PDU types.
//!
//! ```text
//! TP-DA / TP-OA / TP-RA:  [len = number of useful semi-octets] [TOA] [BCD digits, low nibble first, F pad]
//! SMSC (27.005):          [len = octets that follow, TOA included; 00 = SIM default] [TOA] [BCD ...]
//! TOA: 1 TON(3) NPI(4)    0x91 international/ISDN, 0x81 unknown/ISDN, 0xD0 alphanumeric (TON 101)
//! Semi-octets: 0-9 digits, A '*', B '#', C 'a', D 'b', E 'c', F filler
//! Alphanumeric: GSM 7-bit packed, len = semi-octets actually used (septets = len * 4 / 7)
//! ```

use super::reader::Reader;
use super::{gsm7, PduError};
use std::fmt;

pub const TOA_INTERNATIONAL: u8 = 0x91;
pub const TOA_UNKNOWN: u8 = 0x81;

/// A decoded address: the raw type-of-address octet and a readable value (`+` prefix for
/// international numbers, the text for alphanumeric senders).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub toa: u8,
    pub value: String,
}

/// Type of number (bits 6-4 of the type-of-address octet), in the order of its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeOfNumber {
    /// 000: unknown (numbers dialled as written, e.g. national format).
    Unknown,
    /// 001: international; the value carries a `+`.
    International,
    /// 010: national.
    National,
    /// 011: network specific (e.g. operator service numbers).
    NetworkSpecific,
    /// 100: subscriber number.
    Subscriber,
    /// 101: alphanumeric sender name, GSM 7-bit.
    Alphanumeric,
    /// 110: abbreviated number.
    Abbreviated,
    /// 111: reserved.
    Reserved,
}

impl TypeOfNumber {
    /// Lower-case name: `international`, `national`, `alphanumeric`, `network specific` ...
    pub fn name(self) -> &'static str {
        const NAMES: [&str; 8] = [
            "unknown",
            "international",
            "national",
            "network specific",
            "subscriber",
            "alphanumeric",
            "abbreviated",
            "reserved",
        ];
        NAMES.get(self as usize).copied().unwrap_or("reserved")
    }
}

impl Address {
    /// Type of number 101: an alphanumeric sender name such as `Vodafone`.
    #[allow(dead_code)] // for the receiving engine; tested here
    pub fn is_alphanumeric(&self) -> bool {
        self.type_of_number() == TypeOfNumber::Alphanumeric
    }

    pub fn type_of_number(&self) -> TypeOfNumber {
        match (self.toa >> 4) & 0x07 {
            0 => TypeOfNumber::Unknown,
            1 => TypeOfNumber::International,
            2 => TypeOfNumber::National,
            3 => TypeOfNumber::NetworkSpecific,
            4 => TypeOfNumber::Subscriber,
            5 => TypeOfNumber::Alphanumeric,
            6 => TypeOfNumber::Abbreviated,
            _ => TypeOfNumber::Reserved,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

/// Splits a validated number into (type of address, digits).
fn split_number(number: &str) -> (u8, &str) {
    match number.strip_prefix('+') {
        Some(digits) => (TOA_INTERNATIONAL, digits),
        None => (TOA_UNKNOWN, number),
    }
}

fn push_bcd(digits: &str, out: &mut Vec<u8>) {
    for pair in digits.as_bytes().chunks(2) {
        let lo = pair.first().map_or(0xF, |d| d.wrapping_sub(b'0') & 0x0F);
        let hi = pair.get(1).map_or(0xF, |d| d.wrapping_sub(b'0') & 0x0F);
        out.push(hi << 4 | lo);
    }
}

/// Appends TP-DA for a number already checked by `validate_number`.
pub fn encode_address(number: &str, out: &mut Vec<u8>) {
    let (toa, digits) = split_number(number);
    out.push(digits.len() as u8);
    out.push(toa);
    push_bcd(digits, out);
}

/// Appends the SMSC field: `00` for the SIM default, else length, TOA and digits.
pub fn encode_smsc(number: Option<&str>, out: &mut Vec<u8>) {
    match number {
        None => out.push(0),
        Some(n) => {
            let (toa, digits) = split_number(n);
            out.push(1 + digits.len().div_ceil(2) as u8);
            out.push(toa);
            push_bcd(digits, out);
        }
    }
}

fn semi_octet_char(n: u8) -> Option<char> {
    match n {
        0..=9 => Some(char::from(b'0' + n)),
        0xA => Some('*'),
        0xB => Some('#'),
        0xC => Some('a'),
        0xD => Some('b'),
        0xE => Some('c'),
        _ => None,
    }
}

fn bcd_number(toa: u8, data: &[u8], max_digits: usize) -> String {
    let mut value = String::with_capacity(max_digits + 1);
    if toa & 0x70 == 0x10 {
        value.push('+');
    }
    let nibbles = data.iter().flat_map(|b| [b & 0x0F, b >> 4]);
    for c in nibbles.take(max_digits).filter_map(semi_octet_char) {
        value.push(c);
    }
    value
}

/// Reads TP-OA / TP-DA / TP-RA.
pub fn decode_address(r: &mut Reader<'_>) -> Result<Address, PduError> {
    let semi_octets = usize::from(r.octet("address length missing")?);
    let toa = r.octet("type of address missing")?;
    let data = r.take(semi_octets.div_ceil(2), "address shorter than its length")?;
    let value = if toa & 0x70 == 0x50 {
        let septets = gsm7::unpack(data, 0, semi_octets * 4 / 7)
            .ok_or(PduError::Malformed("alphanumeric address too short"))?;
        gsm7::decode_septets(&septets)
    } else {
        bcd_number(toa, data, semi_octets)
    };
    Ok(Address { toa, value })
}

/// Reads the SMSC field; `None` when it is `00` (SIM default).
pub fn decode_smsc(r: &mut Reader<'_>) -> Result<Option<Address>, PduError> {
    let len = usize::from(r.octet("empty PDU")?);
    if len == 0 {
        return Ok(None);
    }
    let toa = r.octet("SMSC type of address missing")?;
    let data = r.take(len - 1, "SMSC shorter than its length")?;
    Ok(Some(Address {
        toa,
        value: bcd_number(toa, data, data.len() * 2),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn international_odd_number_is_padded_with_f() {
        let mut out = Vec::new();
        encode_address("+46708251358", &mut out);
        assert_eq!(out, vec![0x0B, 0x91, 0x64, 0x07, 0x28, 0x15, 0x53, 0xF8]);
        let a = decode_address(&mut Reader::new(&out)).unwrap();
        assert_eq!(a.value, "+46708251358");
        assert!(!a.is_alphanumeric());
    }

    #[test]
    fn national_even_number() {
        let mut out = Vec::new();
        encode_address("01701234", &mut out);
        assert_eq!(out, vec![0x08, 0x81, 0x10, 0x07, 0x21, 0x43]);
        assert_eq!(
            decode_address(&mut Reader::new(&out)).unwrap().value,
            "01701234"
        );
    }

    #[test]
    fn smsc_field() {
        let mut out = Vec::new();
        encode_smsc(None, &mut out);
        assert_eq!(out, vec![0x00]);
        out.clear();
        encode_smsc(Some("+27381000015"), &mut out);
        assert_eq!(out, vec![0x07, 0x91, 0x72, 0x83, 0x01, 0x00, 0x10, 0xF5]);
        let smsc = decode_smsc(&mut Reader::new(&out)).unwrap().unwrap();
        assert_eq!(smsc.value, "+27381000015");
        assert_eq!(decode_smsc(&mut Reader::new(&[0])).unwrap(), None);
    }

    #[test]
    fn alphanumeric_sender() {
        // "Vodafone" packed: 8 septets = 7 octets = 14 semi-octets.
        let septets = gsm7::encode_text("Vodafone").unwrap();
        let mut packed = Vec::new();
        gsm7::pack(&septets, 0, &mut packed);
        let mut field = vec![14, 0xD0];
        field.extend(&packed);
        let a = decode_address(&mut Reader::new(&field)).unwrap();
        assert!(a.is_alphanumeric());
        assert_eq!(a.value, "Vodafone");
    }

    #[test]
    fn alphanumeric_sender_lengths_in_semi_octets() {
        // len = semi-octets holding 7 bits per character: ceil(7n / 4); 7n/8 octets follow.
        for name in [
            "A",
            "ab",
            "Bank",
            "Info",
            "MyBank1",
            "Vodafone",
            "TelekomDE1",
            "ABCDEFGHIJK",
        ] {
            let septets = gsm7::encode_text(name).unwrap();
            let mut packed = Vec::new();
            gsm7::pack(&septets, 0, &mut packed);
            let semi = (septets.len() * 7).div_ceil(4);
            let mut field = vec![semi as u8, 0xD0];
            field.extend(&packed);
            let a = decode_address(&mut Reader::new(&field)).unwrap();
            assert_eq!(a.value, name, "len {semi}");
        }
    }

    #[test]
    fn types_of_number() {
        let national = decode_address(&mut Reader::new(&[0x04, 0xA1, 0x10, 0x32])).unwrap();
        assert_eq!(national.type_of_number(), TypeOfNumber::National);
        assert_eq!(national.value, "0123");
        let intl = decode_address(&mut Reader::new(&[0x02, 0x91, 0x21])).unwrap();
        assert_eq!(
            (intl.type_of_number(), intl.value.as_str()),
            (TypeOfNumber::International, "+12")
        );
        let net = decode_address(&mut Reader::new(&[0x03, 0xB1, 0x21, 0xF3])).unwrap();
        assert_eq!(
            (net.type_of_number(), net.value.as_str()),
            (TypeOfNumber::NetworkSpecific, "123")
        );
        assert_eq!(net.type_of_number().name(), "network specific");
        assert_eq!(TypeOfNumber::Reserved.name(), "reserved");
        let star = decode_address(&mut Reader::new(&[0x03, 0x81, 0xBA, 0xF1])).unwrap();
        assert_eq!(star.value, "*#1");
    }

    #[test]
    fn truncated_addresses_are_errors() {
        assert!(decode_address(&mut Reader::new(&[0x0B, 0x91, 0x64])).is_err());
        assert!(decode_address(&mut Reader::new(&[0x0B])).is_err());
        assert!(decode_smsc(&mut Reader::new(&[0x07, 0x91])).is_err());
        assert!(decode_smsc(&mut Reader::new(&[])).is_err());
    }
}
