//! TP-DCS data coding scheme (3GPP TS 23.038 section 4): alphabet and message class.
//!
//! ```text
//! 00xx xxxx  general coding: bit 5 compressed, bit 4 class valid, bits 3-2 alphabet, bits 1-0 class
//! 01xx xxxx  same, marked for automatic deletion
//! 1000 xxxx - 1011 xxxx  reserved (read as GSM 7-bit, no class)
//! 1100 xxxx  message waiting, discard message, GSM 7-bit
//! 1101 xxxx  message waiting, store message, GSM 7-bit;   1110 xxxx  same, UCS-2
//!            (bit 3: indication active, bits 1-0: 00 voicemail, 01 fax, 10 e-mail, 11 other)
//! 1111 xxxx  bit 2 alphabet (0 GSM 7-bit, 1 8-bit data), bits 1-0 class (0xF0 = flash, GSM 7-bit)
//! alphabet bits: 00 GSM 7-bit, 01 8-bit data, 10 UCS-2, 11 reserved (read as GSM 7-bit)
//! Encoder uses: 0x00 GSM 7-bit, 0x10 GSM 7-bit class 0 (flash), 0x08 UCS-2, 0x18 UCS-2 class 0
//! ```

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alphabet {
    Gsm7,
    EightBit,
    Ucs2,
}

impl fmt::Display for Alphabet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Alphabet::Gsm7 => "GSM 7-bit",
            Alphabet::EightBit => "8-bit data",
            Alphabet::Ucs2 => "UCS-2",
        })
    }
}

/// What a DCS octet says about the user data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataCoding {
    pub alphabet: Alphabet,
    /// Message class 0..=3 if the DCS gives one (class 0 = flash).
    pub class: Option<u8>,
    /// Compressed user data (TS 23.042), which this codec does not decompress.
    pub compressed: bool,
    /// Message waiting indication groups (DCS 0xC0-0xEF).
    pub message_waiting: Option<MessageWaiting>,
}

/// The message waiting indication of DCS groups 1100-1110.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageWaiting {
    /// Bit 3: set the indicator (true) or clear it (false).
    pub active: bool,
    /// Bits 1-0: 0 voicemail, 1 fax, 2 e-mail, 3 other.
    pub kind: u8,
    /// Group 1100: the text may be discarded once the indication is shown.
    pub discard: bool,
}

impl DataCoding {
    pub fn from_dcs(dcs: u8) -> DataCoding {
        let alphabet_bits = |bits: u8| match bits & 0x03 {
            1 => Alphabet::EightBit,
            2 => Alphabet::Ucs2,
            _ => Alphabet::Gsm7,
        };
        let plain = |alphabet| DataCoding {
            alphabet,
            class: None,
            compressed: false,
            message_waiting: None,
        };
        let group = dcs >> 4;
        match group {
            0x0..=0x7 => DataCoding {
                class: (dcs & 0x10 != 0).then_some(dcs & 0x03),
                compressed: dcs & 0x20 != 0,
                ..plain(alphabet_bits(dcs >> 2))
            },
            0xC..=0xE => DataCoding {
                message_waiting: Some(MessageWaiting {
                    active: dcs & 0x08 != 0,
                    kind: dcs & 0x03,
                    discard: group == 0xC,
                }),
                ..plain(if group == 0xE {
                    Alphabet::Ucs2
                } else {
                    Alphabet::Gsm7
                })
            },
            0xF => DataCoding {
                class: Some(dcs & 0x03),
                ..plain(if dcs & 0x04 != 0 {
                    Alphabet::EightBit
                } else {
                    Alphabet::Gsm7
                })
            },
            _ => plain(Alphabet::Gsm7),
        }
    }

    /// The DCS the encoder writes.
    pub fn encode(alphabet: Alphabet, flash: bool) -> u8 {
        let a = match alphabet {
            Alphabet::Gsm7 => 0x00,
            Alphabet::EightBit => 0x04,
            Alphabet::Ucs2 => 0x08,
        };
        if flash {
            a | 0x10
        } else {
            a
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoder_values_and_their_reading() {
        assert_eq!(DataCoding::encode(Alphabet::Gsm7, false), 0x00);
        assert_eq!(DataCoding::encode(Alphabet::Gsm7, true), 0x10);
        assert_eq!(DataCoding::encode(Alphabet::Ucs2, false), 0x08);
        assert_eq!(DataCoding::encode(Alphabet::Ucs2, true), 0x18);
        let d = DataCoding::from_dcs(0x18);
        assert_eq!((d.alphabet, d.class), (Alphabet::Ucs2, Some(0)));
        let d = DataCoding::from_dcs(0x00);
        assert_eq!((d.alphabet, d.class), (Alphabet::Gsm7, None));
    }

    #[test]
    fn other_groups() {
        assert_eq!(DataCoding::from_dcs(0xF0).class, Some(0));
        assert_eq!(DataCoding::from_dcs(0xF4).alphabet, Alphabet::EightBit);
        assert_eq!(DataCoding::from_dcs(0xE0).alphabet, Alphabet::Ucs2);
        assert_eq!(DataCoding::from_dcs(0x48).alphabet, Alphabet::Ucs2);
        assert!(DataCoding::from_dcs(0x20).compressed);
        assert_eq!(DataCoding::from_dcs(0x0C).alphabet, Alphabet::Gsm7);
        assert_eq!(DataCoding::from_dcs(0x80).class, None);
        assert_eq!(DataCoding::from_dcs(0x13).class, Some(3));
        assert_eq!(DataCoding::from_dcs(0x06).class, None); // class bits without bit 4
    }

    #[test]
    fn message_waiting_groups() {
        let d = DataCoding::from_dcs(0xC8); // discard, active, voicemail
        assert_eq!(d.alphabet, Alphabet::Gsm7);
        assert_eq!(
            d.message_waiting,
            Some(MessageWaiting {
                active: true,
                kind: 0,
                discard: true
            })
        );
        let d = DataCoding::from_dcs(0xD2); // store, inactive, e-mail
        assert_eq!(
            d.message_waiting,
            Some(MessageWaiting {
                active: false,
                kind: 2,
                discard: false
            })
        );
        let d = DataCoding::from_dcs(0xE9);
        assert_eq!(d.alphabet, Alphabet::Ucs2);
        assert_eq!(
            d.message_waiting.map(|m| (m.active, m.kind)),
            Some((true, 1))
        );
        assert_eq!(DataCoding::from_dcs(0xF0).message_waiting, None);
        assert_eq!(DataCoding::from_dcs(0x00).message_waiting, None);
    }
}
