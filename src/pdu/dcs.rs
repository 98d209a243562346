//! TP-DCS data coding scheme (3GPP TS 23.038 section 4): alphabet and message class.
//!
//! ```text
//! 00xx xxxx  general coding: bit 5 compressed, bit 4 class valid, bits 3-2 alphabet, bits 1-0 class
//! 01xx xxxx  same, marked for automatic deletion
//! 1100 / 1101 xxxx  message waiting, GSM 7-bit;   1110 xxxx  message waiting, UCS-2
//! 1111 xxxx  bit 2 alphabet (0 GSM 7-bit, 1 8-bit data), bits 1-0 class
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
}

impl DataCoding {
    pub fn from_dcs(dcs: u8) -> DataCoding {
        let alphabet_bits = |bits: u8| match bits & 0x03 {
            1 => Alphabet::EightBit,
            2 => Alphabet::Ucs2,
            _ => Alphabet::Gsm7,
        };
        match dcs >> 4 {
            0x0..=0x7 => DataCoding {
                alphabet: alphabet_bits(dcs >> 2),
                class: (dcs & 0x10 != 0).then_some(dcs & 0x03),
                compressed: dcs & 0x20 != 0,
            },
            0xC | 0xD => DataCoding {
                alphabet: Alphabet::Gsm7,
                class: None,
                compressed: false,
            },
            0xE => DataCoding {
                alphabet: Alphabet::Ucs2,
                class: None,
                compressed: false,
            },
            0xF => DataCoding {
                alphabet: if dcs & 0x04 != 0 {
                    Alphabet::EightBit
                } else {
                    Alphabet::Gsm7
                },
                class: Some(dcs & 0x03),
                compressed: false,
            },
            _ => DataCoding {
                alphabet: Alphabet::Gsm7,
                class: None,
                compressed: false,
            },
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
    }
}
