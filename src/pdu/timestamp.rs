//! TP-SCTS / TP-DT service-centre time stamps (3GPP TS 23.040 section 9.2.3.11).
//!
//! Owns the 7-octet swapped-BCD time stamp with its time zone. Never reads a clock.
//!
//! ```text
//! octet: 1 year  2 month  3 day  4 hour  5 minute  6 second  7 time zone
//! each octet: units digit in the high nibble, tens digit in the low nibble ("swapped")
//! time zone: quarter hours from GMT; bit 3 of the low nibble is the sign (1 = negative)
//! ```

use super::reader::Reader;
use super::PduError;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    /// Full year (two-digit years 00..=69 are 20xx, 70..=99 are 19xx).
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// Offset from GMT in quarter hours (e.g. 4 = +01:00, -20 = -05:00).
    pub tz_quarters: i8,
}

fn swapped_bcd(b: u8) -> u8 {
    (b & 0x0F) * 10 + (b >> 4)
}

impl Timestamp {
    pub fn from_octets(o: [u8; 7]) -> Timestamp {
        let yy = u16::from(swapped_bcd(o[0]));
        let tz = o[6];
        let quarters = ((tz & 0x07) * 10 + (tz >> 4)) as i8;
        Timestamp {
            year: if yy < 70 { 2000 + yy } else { 1900 + yy },
            month: swapped_bcd(o[1]),
            day: swapped_bcd(o[2]),
            hour: swapped_bcd(o[3]),
            minute: swapped_bcd(o[4]),
            second: swapped_bcd(o[5]),
            tz_quarters: if tz & 0x08 != 0 { -quarters } else { quarters },
        }
    }

    pub fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Timestamp, PduError> {
        let b = r.take(7, field)?;
        let mut o = [0u8; 7];
        o.copy_from_slice(b);
        Ok(Timestamp::from_octets(o))
    }
}

impl fmt::Display for Timestamp {
    /// `2026-11-21 08:00:00 +01:00`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.tz_quarters < 0 { '-' } else { '+' };
        let q = self.tz_quarters.unsigned_abs();
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {sign}{:02}:{:02}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            q / 4,
            (q % 4) * 15
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_and_negative_zones() {
        // 99-03-29 15:16:59, zone 0x80 = +8 quarters (the dreamfabric SMS-DELIVER example).
        let t = Timestamp::from_octets([0x99, 0x30, 0x92, 0x51, 0x61, 0x95, 0x80]);
        assert_eq!(t.to_string(), "1999-03-29 15:16:59 +02:00");
        // 26-11-21 08:00:05, zone -5h = 20 quarters -> tens 2 | sign, units 0 -> 0x0A.
        let t = Timestamp::from_octets([0x62, 0x11, 0x12, 0x80, 0x00, 0x50, 0x0A]);
        assert_eq!(t.tz_quarters, -20);
        assert_eq!(t.to_string(), "2026-11-21 08:00:05 -05:00");
        // +05:45 (Nepal) = 23 quarters -> 0x32.
        let t = Timestamp::from_octets([0x62, 0x11, 0x12, 0x80, 0x00, 0x50, 0x32]);
        assert_eq!(t.to_string(), "2026-11-21 08:00:05 +05:45");
    }

    #[test]
    fn garbage_octets_do_not_panic() {
        let t = Timestamp::from_octets([0xFF; 7]);
        assert_eq!(t.month, 165);
        assert!(Timestamp::read(&mut Reader::new(&[1, 2, 3]), "ts").is_err());
    }
}
