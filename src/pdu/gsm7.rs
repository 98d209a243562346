//! GSM 7-bit default alphabet (3GPP TS 23.038 section 6.2.1) and septet packing (section 6.1.2.1).
//!
//! Owns the two character tables and the bit packing of septets into octets, including the fill bits
//! that follow a user data header. Pure functions, no allocation beyond the returned values; knows
//! nothing about PDUs, addresses or splitting.
//!
//! ```text
//! Default alphabet (b7..b4 = column, b3..b0 = row)       Extension table (after ESC 0x1B)
//!      0x00 0x10 0x20 0x30 0x40 0x50 0x60 0x70            0x0A form feed   0x14 ^
//!  0    @    Δ    SP   0    ¡    P    ¿    p              0x28 {           0x29 }
//!  1    £    _    !    1    A    Q    a    q              0x2F \           0x3C [
//!  2    $    Φ    "    2    B    R    b    r              0x3D ~           0x3E ]
//!  3    ¥    Γ    #    3    C    S    c    s              0x40 |           0x65 €
//!  4    è    Λ    ¤    4    D    T    d    t
//!  5    é    Ω    %    5    E    U    e    u            An escaped code missing from the extension
//!  6    ù    Π    &    6    F    V    f    v            table is shown as its default-alphabet
//!  7    ì    Ψ    '    7    G    W    g    w            character (23.038 6.2.1.1); ESC ESC is
//!  8    ò    Σ    (    8    H    X    h    x            shown as a space.
//!  9    Ç    Θ    )    9    I    Y    i    y
//!  A    LF   Ξ    *    :    J    Z    j    z
//!  B    Ø    ESC  +    ;    K    Ä    k    ä
//!  C    ø    Æ    ,    <    L    Ö    l    ö
//!  D    CR   æ    -    =    M    Ñ    m    ñ
//!  E    Å    ß    .    >    N    Ü    n    ü
//!  F    å    É    /    ?    O    §    o    à
//! ```
//!
//! Packing: septet `n` occupies bits `7n .. 7n+6` of the user data, counted from bit 0 of the first
//! octet (least significant bit first). A UDH of `h` octets is followed by `(7 - 8h % 7) % 7` fill
//! bits so that the first character starts on a septet boundary.

/// The escape septet that introduces an extension-table character.
pub const ESC: u8 = 0x1B;

/// The table as UTF-16 units: every entry is in the Basic Multilingual Plane, and half the size of
/// `[char; 128]` in the router binary.
const fn chars_to_u16(chars: [char; 128]) -> [u16; 128] {
    let mut out = [0u16; 128];
    let mut i = 0;
    while i < 128 {
        out[i] = chars[i] as u16;
        i += 1;
    }
    out
}

/// The default-alphabet character of a septet (the high bit is ignored).
pub fn default_char(septet: u8) -> char {
    let unit = DEFAULT_ALPHABET[usize::from(septet & 0x7F)];
    char::from_u32(u32::from(unit)).unwrap_or(' ')
}

/// Default alphabet, indexed by septet. Slot 0x1B (ESC) is never produced by decoding and never
/// matched when encoding.
pub static DEFAULT_ALPHABET: [u16; 128] = chars_to_u16([
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1B}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
]);

/// Extension table: (code after ESC, character).
pub static EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// How one character is written in the default alphabet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gsm7Char {
    /// One septet from the default table.
    Single(u8),
    /// ESC followed by this extension code (two septets).
    Escaped(u8),
}

/// Looks a character up in both tables; `None` if the default alphabet cannot represent it.
pub fn lookup(c: char) -> Option<Gsm7Char> {
    // Letters, digits and the space have their ASCII codes in the default alphabet: most text
    // never needs the table search.
    if c.is_ascii_alphanumeric() || c == ' ' {
        return Some(Gsm7Char::Single(c as u8));
    }
    if let Some(pos) = DEFAULT_ALPHABET
        .iter()
        .position(|&d| u32::from(d) == u32::from(c))
    {
        if pos != ESC as usize {
            return Some(Gsm7Char::Single(pos as u8));
        }
    }
    EXTENSION
        .iter()
        .find(|&&(_, e)| e == c)
        .map(|&(code, _)| Gsm7Char::Escaped(code))
}

/// The septets for `text`, or `None` if any character needs UCS-2.
pub fn encode_text(text: &str) -> Option<Vec<u8>> {
    let mut septets = Vec::with_capacity(text.len());
    for c in text.chars() {
        match lookup(c)? {
            Gsm7Char::Single(s) => septets.push(s),
            Gsm7Char::Escaped(code) => {
                septets.push(ESC);
                septets.push(code);
            }
        }
    }
    Some(septets)
}

/// Turns septets back into text (escape sequences resolved, see the module table).
pub fn decode_septets(septets: &[u8]) -> String {
    let mut text = String::with_capacity(septets.len());
    let mut escaped = false;
    for &s in septets {
        let s = s & 0x7F;
        if escaped {
            escaped = false;
            let c = match EXTENSION.iter().find(|&&(code, _)| code == s) {
                Some(&(_, c)) => c,
                None if s == ESC => ' ',
                None => default_char(s),
            };
            text.push(c);
        } else if s == ESC {
            escaped = true;
        } else {
            text.push(default_char(s));
        }
    }
    text
}

/// Number of fill bits after a user data header of `udh_octets` octets (UDHL included).
pub fn fill_bits(udh_octets: usize) -> usize {
    (7 - (udh_octets * 8) % 7) % 7
}

/// Appends `septets` packed LSB-first to `out`, starting `fill` zero bits into the first octet.
pub fn pack(septets: &[u8], fill: usize, out: &mut Vec<u8>) {
    let mut acc: u32 = 0;
    let mut bits = (fill % 8) as u32;
    for &s in septets {
        acc |= u32::from(s & 0x7F) << bits;
        bits += 7;
        while bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    if bits > 0 {
        out.push(acc as u8);
    }
}

/// Reads `count` septets from `data`, the first one starting at bit `bit_offset`. `None` if the
/// data is too short.
pub fn unpack(data: &[u8], bit_offset: usize, count: usize) -> Option<Vec<u8>> {
    let end_bit = bit_offset.checked_add(count.checked_mul(7)?)?;
    if end_bit.div_ceil(8) > data.len() {
        return None;
    }
    let mut septets = Vec::with_capacity(count);
    for i in 0..count {
        let bit = bit_offset + 7 * i;
        let lo = u16::from(*data.get(bit / 8)?);
        let hi = u16::from(data.get(bit / 8 + 1).copied().unwrap_or(0));
        let word = lo | hi << 8;
        septets.push(((word >> (bit % 8)) & 0x7F) as u8);
    }
    Some(septets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02X}")).collect()
    }

    #[test]
    fn letters_digits_and_space_take_the_same_code_as_in_the_table() {
        for c in (0u8..=0x7f).map(char::from) {
            let table = DEFAULT_ALPHABET
                .iter()
                .position(|&d| u32::from(d) == u32::from(c))
                .filter(|&p| p != ESC as usize);
            if c.is_ascii_alphanumeric() || c == ' ' {
                assert_eq!(table, Some(c as usize), "{c:?}");
                assert_eq!(lookup(c), Some(Gsm7Char::Single(c as u8)));
            }
        }
    }

    #[test]
    fn hellohello_is_the_classic_vector() {
        let septets = encode_text("hellohello").unwrap();
        let mut out = Vec::new();
        pack(&septets, 0, &mut out);
        assert_eq!(hex(&out), "E8329BFD4697D9EC37");
        assert_eq!(unpack(&out, 0, 10).unwrap(), septets);
    }

    #[test]
    fn packing_at_every_length_mod_8() {
        // "A" = 0x41; n septets take ceil(7n/8) octets.
        let expected = [
            (1, "41"),
            (2, "C120"),
            (3, "C16010"),
            (4, "C1603008"),
            (5, "C160301804"),
            (6, "C16030180C02"),
            (7, "C16030180C0601"),
            (8, "C16030180C0683"),
            (9, "C16030180C068341"),
        ];
        for (n, want) in expected {
            let septets = vec![0x41u8; n];
            let mut out = Vec::new();
            pack(&septets, 0, &mut out);
            let want_len = (7 * n).div_ceil(8);
            assert_eq!(out.len(), want_len, "length for {n}");
            assert_eq!(hex(&out), want, "bytes for {n}");
            assert_eq!(unpack(&out, 0, n).unwrap(), septets, "round trip {n}");
        }
    }

    #[test]
    fn fill_bits_after_udh() {
        assert_eq!(fill_bits(6), 1); // 8-bit concatenation UDH
        assert_eq!(fill_bits(7), 0); // 16-bit concatenation UDH
        assert_eq!(fill_bits(0), 0);
        assert_eq!(fill_bits(1), 6);
        // "A" after a 6-octet UDH and one fill bit: 0x41 << 1 = 0x82.
        let mut out = Vec::new();
        pack(&[0x41], 1, &mut out);
        assert_eq!(out, vec![0x82]);
        assert_eq!(unpack(&out, 1, 1).unwrap(), vec![0x41]);
    }

    #[test]
    fn extension_characters_are_escaped() {
        assert_eq!(
            encode_text("€[]{}\\~^|\u{0C}").unwrap(),
            vec![
                0x1B, 0x65, 0x1B, 0x3C, 0x1B, 0x3E, 0x1B, 0x28, 0x1B, 0x29, 0x1B, 0x2F, 0x1B, 0x3D,
                0x1B, 0x14, 0x1B, 0x40, 0x1B, 0x0A
            ]
        );
        assert_eq!(
            decode_septets(&encode_text("€[]{}\\~^|").unwrap()),
            "€[]{}\\~^|"
        );
    }

    #[test]
    fn every_table_character_round_trips() {
        for i in 0..128u8 {
            let c = default_char(i);
            assert_eq!(u32::from(c), u32::from(DEFAULT_ALPHABET[usize::from(i)]));
            if i == ESC {
                assert_eq!(lookup(c), None);
                continue;
            }
            assert_eq!(lookup(c), Some(Gsm7Char::Single(i)));
            assert_eq!(decode_septets(&[i]), c.to_string());
        }
    }

    #[test]
    fn non_gsm_characters_are_refused() {
        for c in ['ç', 'Ж', 'ก', '😀', '`', '\t'] {
            assert_eq!(lookup(c), None, "{c:?}");
        }
        assert_eq!(encode_text("abc ж"), None);
    }

    #[test]
    fn odd_escapes_decode_leniently() {
        assert_eq!(decode_septets(&[ESC, 0x41]), "A"); // unknown extension code
        assert_eq!(decode_septets(&[ESC, ESC]), " ");
        assert_eq!(decode_septets(&[0x41, ESC]), "A"); // dangling escape dropped
    }

    #[test]
    fn unpack_refuses_short_data() {
        assert_eq!(unpack(&[0xE8, 0x32], 0, 3), None);
        assert_eq!(unpack(&[], 0, 0), Some(vec![]));
        assert_eq!(unpack(&[0xFF], usize::MAX, usize::MAX), None);
    }
}
