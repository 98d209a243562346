//! User data header (3GPP TS 23.040 section 9.2.3.24): concatenation information elements.
//!
//! Owns building the 8-bit-reference concatenation header and reading concatenation info
//! (8- and 16-bit references) out of any header; other elements are skipped.
//!
//! ```text
//! UDH = UDHL, then IEs: IEI, IEDL, data
//! IEI 0x00 (8-bit ref):  00 03 ref total seq      -> UDH 05 00 03 rr tt ss (6 octets, 1 fill bit)
//! IEI 0x08 (16-bit ref): 08 04 ref_hi ref_lo total seq
//! ```

use super::PduError;

/// Concatenation info of one part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Concat {
    pub reference: u16,
    /// Total number of parts.
    pub total: u8,
    /// This part's number, 1-based.
    pub seq: u8,
}

/// UDH octets (UDHL included) of the 8-bit-reference concatenation header.
pub const CONCAT8_UDH_LEN: usize = 6;

/// Appends the complete 8-bit-reference concatenation UDH (UDHL first).
pub fn push_concat8(reference: u8, total: u8, seq: u8, out: &mut Vec<u8>) {
    out.extend_from_slice(&[0x05, 0x00, 0x03, reference, total, seq]);
}

/// Scans the header (without its UDHL octet) for concatenation info.
pub fn parse_concat(header: &[u8]) -> Result<Option<Concat>, PduError> {
    let mut rest = header;
    let mut found = None;
    while let [iei, len, tail @ ..] = rest {
        let len = usize::from(*len);
        let data = tail
            .get(..len)
            .ok_or(PduError::Malformed("user data header element too long"))?;
        match (*iei, data) {
            (0x00, &[r, total, seq]) => {
                found = Some(Concat {
                    reference: u16::from(r),
                    total,
                    seq,
                })
            }
            (0x08, &[hi, lo, total, seq]) => {
                found = Some(Concat {
                    reference: u16::from_be_bytes([hi, lo]),
                    total,
                    seq,
                })
            }
            _ => {}
        }
        rest = tail.get(len..).unwrap_or(&[]);
    }
    if !rest.is_empty() {
        return Err(PduError::Malformed("truncated user data header"));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_and_sixteen_bit_references() {
        let mut udh = Vec::new();
        push_concat8(7, 2, 1, &mut udh);
        assert_eq!(udh, vec![5, 0, 3, 7, 2, 1]);
        assert_eq!(
            parse_concat(&udh[1..]).unwrap(),
            Some(Concat {
                reference: 7,
                total: 2,
                seq: 1
            })
        );
        assert_eq!(
            parse_concat(&[0x08, 0x04, 0x12, 0x34, 3, 2]).unwrap(),
            Some(Concat {
                reference: 0x1234,
                total: 3,
                seq: 2
            })
        );
    }

    #[test]
    fn other_elements_are_skipped_and_truncation_refused() {
        // a port-addressing element (IEI 05) before the concatenation element
        let h = [0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 9, 3, 3];
        assert_eq!(parse_concat(&h).unwrap().map(|c| c.seq), Some(3));
        assert_eq!(
            parse_concat(&[0x05, 0x04, 0x0B]),
            Err(PduError::Malformed("user data header element too long"))
        );
        assert!(parse_concat(&[0x00]).is_err());
        assert_eq!(parse_concat(&[]).unwrap(), None);
    }
}
