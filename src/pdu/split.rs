//! Splitting text into SMS parts (3GPP TS 23.040 9.2.3.24.1, TS 23.038 6.2.1).
//!
//! Works on code units (GSM septets or UTF-16 units) and never cuts between the two units of one
//! character: an escape pair (ESC + extension code) or a UTF-16 surrogate pair.
//!
//! ```text
//!             single part   per part with 8-bit-ref concatenation UDH (6 octets)
//! GSM 7-bit   160 septets   153 septets  (140 octets = 160 septets; UDH + 1 fill bit = 7 septets)
//! UCS-2        70 units      67 units    (140 octets = 70 units; UDH = 6 octets = 3 units)
//! ```

pub const GSM7_SINGLE: usize = 160;
pub const GSM7_PER_PART: usize = 153;
pub const UCS2_SINGLE: usize = 70;
pub const UCS2_PER_PART: usize = 67;

/// Cuts `units` into parts: one part if it fits `single`, else parts of at most `per_part`
/// units, moving a cut back by one unit when `joins_next(last unit)` says that unit starts a pair.
pub fn split<T>(
    units: &[T],
    single: usize,
    per_part: usize,
    joins_next: impl Fn(&T) -> bool,
) -> Vec<&[T]> {
    if units.len() <= single {
        return vec![units];
    }
    let mut parts = Vec::new();
    let mut rest = units;
    while !rest.is_empty() {
        let mut cut = per_part.min(rest.len()).max(1);
        if cut < rest.len() && cut > 1 && rest.get(cut - 1).is_some_and(&joins_next) {
            cut -= 1;
        }
        let (part, tail) = rest.split_at(cut);
        parts.push(part);
        rest = tail;
    }
    parts
}

/// Number of parts `split` would produce, without building them.
pub fn count<T>(
    units: &[T],
    single: usize,
    per_part: usize,
    joins_next: impl Fn(&T) -> bool,
) -> usize {
    split(units, single, per_part, joins_next).len()
}

/// True for an ESC septet (first half of an escape pair).
pub fn gsm7_joins_next(s: &u8) -> bool {
    *s == super::gsm7::ESC
}

/// True for a UTF-16 high surrogate (first half of a surrogate pair).
pub fn utf16_joins_next(u: &u16) -> bool {
    (0xD800..=0xDBFF).contains(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_limits() {
        let a160 = vec![0x41u8; 160];
        assert_eq!(split(&a160, 160, 153, gsm7_joins_next).len(), 1);
        let a161 = vec![0x41u8; 161];
        let parts = split(&a161, 160, 153, gsm7_joins_next);
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [153, 8]);
        let u70 = vec![0x0E01u16; 70];
        assert_eq!(split(&u70, 70, 67, utf16_joins_next).len(), 1);
        let u71 = vec![0x0E01u16; 71];
        let lens: Vec<_> = split(&u71, 70, 67, utf16_joins_next)
            .iter()
            .map(|p| p.len())
            .collect();
        assert_eq!(lens, [67, 4]);
    }

    #[test]
    fn escape_pair_at_153_154_moves_to_next_part() {
        let mut s = vec![0x41u8; 152];
        s.extend([0x1B, 0x65]); // € at septets 153/154
        s.extend([0x41; 10]);
        let parts = split(&s, 160, 153, gsm7_joins_next);
        assert_eq!(parts[0].len(), 152);
        assert_eq!(parts[1].first(), Some(&0x1B));
        // an escape pair ending exactly at 153 stays
        let mut s = vec![0x41u8; 151];
        s.extend([0x1B, 0x65]);
        s.extend([0x41; 10]);
        assert_eq!(split(&s, 160, 153, gsm7_joins_next)[0].len(), 153);
    }

    #[test]
    fn surrogate_pair_at_67_68_moves_to_next_part() {
        let mut u = vec![0x41u16; 66];
        u.extend([0xD83D, 0xDE00]); // 😀 at units 67/68
        u.extend([0x41; 10]);
        let parts = split(&u, 70, 67, utf16_joins_next);
        assert_eq!(parts[0].len(), 66);
        assert_eq!(parts[1].first(), Some(&0xD83D));
        assert_eq!(count(&u, 70, 67, utf16_joins_next), 2);
    }
}
