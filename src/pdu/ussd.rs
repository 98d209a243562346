//! USSD strings as Huawei sticks take and give them in `AT+CUSD` (3GPP TS 23.038 sections 5 and
//! 6.1.2.3, 27.007 +CUSD).
//!
//! Owns packing a request into GSM 7-bit packed hex and turning a reply's `<str>` back into text
//! given its `<dcs>`. Does not parse the `+CUSD:` line, talk to the modem or join replies.
//!
//! ```text
//! request:  AT+CUSD=1,"<hex>",15     hex = GSM 7-bit septets packed as in SMS, upper-case hex
//!           "*100#" -> AA180C3602    "*144#" -> AA188D3602
//! CR pad (23.038 6.1.2.3.1): n septets with n % 8 == 7 leave 7 spare bits that a receiver would
//!           read as '@': a CR is added. A wanted final CR that ends on an octet boundary
//!           (n % 8 == 0) gets a second CR, so the receiver's pad removal keeps the first.
//! reply:    +CUSD: <m>,"<str>",<dcs>   str = packed GSM 7-bit hex, UCS-2 hex, or plain text
//! CBS DCS (23.038 section 5) as used for USSD:
//!   0000 xxxx, 0010 xxxx, 0011 xxxx  GSM 7-bit (language groups, 0x0F = unspecified)
//!   0001 0000  GSM 7-bit, text preceded by a language ("en" CR)
//!   0001 0001  UCS-2, text preceded by a 2-octet packed language
//!   01xx xxxx, 1001 xxxx  general coding: bits 3-2 00 GSM 7-bit, 01 8-bit, 10 UCS-2
//!   1111 xxxx  bit 2: 0 GSM 7-bit, 1 8-bit
//! ```
//!
//! The pad rule is the one 23.038 states (`n % 8 == 7`), not ModemManager's Huawei plugin rule
//! (`n % 7 == 0`): both pad a 7-character code such as `*123*1#`, but for 14 characters
//! ModemManager's CR itself ends with 7 spare bits, and at 15 it leaves 7 zero bits unpadded.
//! Reply decoding drops one trailing CR when the octet count is a multiple of 7 (the only case in
//! which a pad CR can occur), as ModemManager does.

use super::dcs::Alphabet;
use super::{gsm7, parse_hex, push_hex, user_data};

/// The `<dcs>` for requests: GSM 7-bit, language unspecified.
pub const REQUEST_DCS: u8 = 15;

const CR: u8 = 0x0D;

/// Packs a USSD code (or menu answer) for `AT+CUSD=1,"<hex>",15`. `None` when a character is not
/// in the GSM 7-bit alphabet.
pub fn encode_request(text: &str) -> Option<String> {
    let mut septets = gsm7::encode_text(text)?;
    let n = septets.len();
    if n % 8 == 7 || (n % 8 == 0 && septets.last() == Some(&CR)) {
        septets.push(CR);
    }
    let mut packed = Vec::with_capacity(n);
    gsm7::pack(&septets, 0, &mut packed);
    let mut hex = String::with_capacity(packed.len() * 2);
    push_hex(&packed, &mut hex);
    Some(hex)
}

/// The alphabet a USSD `<dcs>` (cell broadcast coding groups) announces, and whether the text
/// starts with a language indication.
fn coding(dcs: u8) -> (Alphabet, bool) {
    let general = |bits: u8| match (bits >> 2) & 0x03 {
        1 => Alphabet::EightBit,
        2 => Alphabet::Ucs2,
        _ => Alphabet::Gsm7,
    };
    match dcs >> 4 {
        0x1 if dcs == 0x11 => (Alphabet::Ucs2, true),
        0x1 if dcs == 0x10 => (Alphabet::Gsm7, true),
        0x4..=0x7 | 0x9 => (general(dcs), false),
        0xF if dcs & 0x04 != 0 => (Alphabet::EightBit, false),
        _ => (Alphabet::Gsm7, false),
    }
}

/// sms_tool's `looks_like_ucs2`: even length, at least 4 octets, no surrogates, at least 3/4 of
/// the units with a zero high octet and 9/10 printable. Catches firmwares that announce GSM 7-bit
/// but send UCS-2 hex of Latin text.
fn looks_like_ucs2(octets: &[u8]) -> bool {
    if octets.len() < 4 || !octets.len().is_multiple_of(2) {
        return false;
    }
    let units: Vec<u16> = octets
        .chunks_exact(2)
        .map(|p| {
            u16::from_be_bytes([
                p.first().copied().unwrap_or(0),
                p.get(1).copied().unwrap_or(0),
            ])
        })
        .collect();
    if units.iter().any(|u| (0xD800..=0xDFFF).contains(u)) {
        return false;
    }
    let zero_high = units.iter().filter(|&&u| u < 0x100).count();
    let printable = units
        .iter()
        .filter(|&&u| matches!(u, 0x0A | 0x0D | 0x09) || (u >= 0x20 && u != 0x7F))
        .count();
    zero_high * 4 >= units.len() * 3 && printable * 10 >= units.len() * 9
}

/// Decodes the `<str>` of a `+CUSD:` reply. `dcs` is its `<dcs>` (`None` when the modem gave
/// none: GSM 7-bit is assumed). Text that is not hex (odd length or other characters) is returned
/// as it is: some firmwares answer already decoded. 8-bit data is returned as the hex it came in.
pub fn decode_reply(reply: &str, dcs: Option<u8>) -> String {
    let Ok(octets) = parse_hex(reply) else {
        return reply.to_string();
    };
    if octets.is_empty() {
        return String::new();
    }
    let (mut alphabet, with_language) = coding(dcs.unwrap_or(REQUEST_DCS));
    if alphabet == Alphabet::Gsm7 && looks_like_ucs2(&octets) {
        alphabet = Alphabet::Ucs2;
    }
    match alphabet {
        Alphabet::Ucs2 => {
            let skip = if with_language { 2 } else { 0 };
            user_data::decode_ucs2(octets.get(skip..).unwrap_or(&[]))
        }
        Alphabet::EightBit => reply.trim().to_ascii_uppercase(),
        Alphabet::Gsm7 => {
            let count = octets.len() * 8 / 7;
            let mut septets = gsm7::unpack(&octets, 0, count).unwrap_or_default();
            if octets.len() % 7 == 0 && septets.last() == Some(&CR) {
                septets.pop();
            }
            let text = gsm7::decode_septets(&septets);
            if with_language {
                // "en" CR: two letters of language, then the text
                if let Some(rest) = text.get(2..).and_then(|t| t.strip_prefix('\r')) {
                    return rest.to_string();
                }
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn worked_examples_from_huawei_sticks() {
        assert_eq!(encode_request("*100#").as_deref(), Some("AA180C3602"));
        assert_eq!(encode_request("*144#").as_deref(), Some("AA188D3602"));
        assert_eq!(decode_reply("AA180C3602", Some(15)), "*100#");
        assert_eq!(encode_request("*101*ж#"), None);
    }

    #[test]
    fn cr_pad_only_when_seven_bits_would_be_spare() {
        // 7 septets: 49 bits in 7 octets, 7 spare bits -> CR (8 septets, 7 octets)
        let hex = encode_request("*123*1#").unwrap();
        assert_eq!(hex.len(), 14);
        let octets = parse_hex(&hex).unwrap();
        assert_eq!(gsm7::unpack(&octets, 0, 8).unwrap()[7], CR);
        assert_eq!(decode_reply(&hex, Some(15)), "*123*1#");
        // 14 septets: ModemManager would pad, 23.038 does not (6 spare bits)
        let fourteen = encode_request("*123*45678901#").unwrap();
        assert_eq!(fourteen.len() / 2, 13); // 98 bits, no pad
        assert_eq!(decode_reply(&fourteen, Some(15)), "*123*45678901#");
        // 15 septets: 105 bits -> 14 octets with 7 spare bits -> CR
        let fifteen = encode_request("*123*456789012#").unwrap();
        assert_eq!(fifteen.len() / 2, 14);
        assert_eq!(decode_reply(&fifteen, Some(15)), "*123*456789012#");
        // a wanted final CR on an octet boundary is doubled (9 septets, 8 octets): without the
        // second CR, 7 octets ending in CR would read as a pad and lose it
        let with_cr = encode_request("1234567\r").unwrap();
        assert_eq!(parse_hex(&with_cr).unwrap().len(), 8);
        assert_eq!(decode_reply(&with_cr, Some(15)), "1234567\r\r");
    }

    #[test]
    fn reply_codings() {
        // UCS-2 by DCS 72 (0x48)
        assert_eq!(
            decode_reply("04110430043B0430043D04410020", Some(72)),
            "Баланс "
        );
        // UCS-2 with language (DCS 17): two packed language octets first
        assert_eq!(decode_reply("E5B20048006900210021", Some(17)), "Hi!!");
        // announced GSM 7-bit but UCS-2 hex of Latin text (sms_tool's heuristic)
        assert_eq!(
            decode_reply("00420061006C0020003500200045005500520021", Some(15)),
            "Bal 5 EUR!"
        );
        // already plain text
        assert_eq!(
            decode_reply("Your balance is 5.00 EUR", Some(15)),
            "Your balance is 5.00 EUR"
        );
        assert_eq!(decode_reply("100", Some(15)), "100");
        // 8-bit data stays hex
        assert_eq!(decode_reply("00ff10", Some(0x44)), "00FF10");
        // GSM 7-bit with language ("en" CR)
        let hex = encode_request("en\rHello").unwrap();
        assert_eq!(decode_reply(&hex, Some(0x10)), "Hello");
        // no DCS at all: GSM 7-bit assumed
        assert_eq!(decode_reply("AA180C3602", None), "*100#");
        assert_eq!(decode_reply("", Some(15)), "");
    }

    #[test]
    fn surrogates_and_odd_octets_do_not_panic() {
        assert_eq!(decode_reply("D83DDE00", Some(72)), "😀");
        assert_eq!(decode_reply("D83D0041", Some(72)), "\u{FFFD}A");
        assert_eq!(decode_reply("004100", Some(72)), "A\u{FFFD}");
    }

    proptest! {
        #[test]
        fn gsm_requests_round_trip(text in "[ -~]{0,200}") {
            // printable ASCII except ` (not in GSM 7-bit)
            let text = text.replace('`', "'");
            let hex = encode_request(&text).unwrap();
            prop_assert_eq!(decode_reply(&hex, Some(15)), text);
        }

        #[test]
        fn decode_never_panics(reply in "\\PC{0,120}", dcs: Option<u8>) {
            let _ = decode_reply(&reply, dcs);
        }

        #[test]
        fn decode_never_panics_on_hex(octets in prop::collection::vec(any::<u8>(), 0..160), dcs: u8) {
            let mut hex = String::new();
            push_hex(&octets, &mut hex);
            let _ = decode_reply(&hex, Some(dcs));
        }
    }
}
