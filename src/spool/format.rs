//! The smstools3 message file format, pure: `Header: value` lines, a blank line, the body.
//!
//! Owns parsing (LF or CRLF, unknown headers kept but ignored, smsd's `To:`/`To_TOA:` number
//! conventions, `Alphabet:` body decoding incl. UCS-2 big-endian as smstools' `sendsms` writes it)
//! and printing (injection-proof: no header name or value may contain a line break). It does no I/O,
//! reads no clock and never panics on any input.

use super::OutgoingSms;
use std::fmt;

/// Why a spool file cannot be turned into a message, or a message cannot be written as a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// There is no `To:` header.
    NoRecipient,
    /// The `To:` value is not a phone number.
    BadNumber(String),
    /// The body holds no text.
    EmptyText,
    /// The body cannot be decoded in its alphabet.
    BadText(&'static str),
    /// `Alphabet: binary` messages are not supported.
    Binary,
    /// A header name or value would break the line structure of the file.
    BadHeader(String),
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::NoRecipient => write!(f, "no To: header"),
            FormatError::BadNumber(n) => write!(
                f,
                "invalid phone number '{n}': use digits with an optional leading +"
            ),
            FormatError::EmptyText => write!(f, "message text is empty"),
            FormatError::BadText(why) => write!(f, "message text cannot be decoded: {why}"),
            FormatError::Binary => write!(f, "binary messages are not supported"),
            FormatError::BadHeader(h) => {
                write!(f, "header '{h}' contains a line break or is malformed")
            }
        }
    }
}

/// One spool file: headers in file order (names as written) and the raw body bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpoolFile {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl SpoolFile {
    /// Parses a file. Never fails: lines without a colon are ignored; a file without a blank line
    /// is all header and no body (smsd does the same).
    pub fn parse(bytes: &[u8]) -> SpoolFile {
        let mut headers = Vec::new();
        let mut rest = bytes;
        loop {
            let (line, next, ended) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let (line, next) = rest.split_at(i);
                    (line, next.get(1..).unwrap_or_default(), false)
                }
                None => (rest, &[][..], true),
            };
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            rest = next;
            if line.is_empty() {
                if ended {
                    break;
                }
                return SpoolFile {
                    headers,
                    body: rest.to_vec(),
                };
            }
            let text = String::from_utf8_lossy(line);
            if let Some((name, value)) = text.split_once(':') {
                headers.push((name.trim().to_string(), value.trim().to_string()));
            }
            if ended {
                break;
            }
        }
        SpoolFile {
            headers,
            body: Vec::new(),
        }
    }

    /// The first value of a header, name compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replaces the value of `name` (or appends it), rejecting line breaks.
    pub fn set_header(&mut self, name: &str, value: &str) -> Result<(), FormatError> {
        check_header(name, value)?;
        match self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(h) => h.1 = value.to_string(),
            None => self.headers.push((name.to_string(), value.to_string())),
        }
        Ok(())
    }

    /// Prints the file. Fails rather than write a header that could inject lines.
    pub fn to_bytes(&self) -> Result<Vec<u8>, FormatError> {
        let mut out = Vec::with_capacity(64 + self.body.len());
        for (name, value) in &self.headers {
            check_header(name, value)?;
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.body);
        Ok(out)
    }

    /// `Priority: high` (smsd writes `HIGH`; `yes`/`true` are accepted too).
    pub fn is_high_priority(&self) -> bool {
        self.header("Priority").is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v == "high" || yes(&v)
        })
    }
}

fn check_header(name: &str, value: &str) -> Result<(), FormatError> {
    let bad = |c: char| c == '\n' || c == '\r' || c == '\0';
    if name.is_empty() || name.contains(':') || name.contains(bad) || value.contains(bad) {
        return Err(FormatError::BadHeader(name.chars().take(40).collect()));
    }
    Ok(())
}

/// smsd's yes: `yes`, `true`, `on` or `1`, any case.
pub(crate) fn yes(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "yes" | "true" | "on" | "1"
    )
}

/// Normalizes a destination to "digits with an optional leading `+`" following smsd's conventions:
/// grouped digits (`358 12 345`) are joined; `To_TOA:` decides the type when present; otherwise a
/// leading `s` marks a short number (type unknown), a leading `+` or plain digits mean international
/// (smsd's documented default: "international format without the leading +").
pub fn normalize_number(to: &str, toa: Option<&str>) -> Result<String, FormatError> {
    let joined: String = to.chars().filter(|c| !c.is_whitespace()).collect();
    let (short, digits) = match joined.strip_prefix(['s', 'S']) {
        Some(d) => (true, d),
        None => (false, joined.strip_prefix('+').unwrap_or(&joined)),
    };
    if !crate::pdu::is_digits(digits) {
        return Err(FormatError::BadNumber(to.chars().take(40).collect()));
    }
    let international = match toa.map(|t| t.trim().to_ascii_lowercase()) {
        Some(t) if t.starts_with("int") => true,
        Some(t) if t.starts_with("nat") || t.starts_with("unk") => false,
        _ => !short,
    };
    Ok(if international {
        format!("+{digits}")
    } else {
        digits.to_string()
    })
}

/// The message a spool file asks to send.
pub fn message_of(file: &SpoolFile) -> Result<OutgoingSms, FormatError> {
    let to = file.header("To").ok_or(FormatError::NoRecipient)?;
    let to = normalize_number(to, file.header("To_TOA"))?;
    let alphabet = file
        .header("Alphabet")
        .map(|a| a.chars().take(3).collect::<String>().to_ascii_uppercase())
        .unwrap_or_default();
    let (text, ucs2) = match alphabet.as_str() {
        "UCS" | "CHI" | "UNI" => (decode_ucs2(&file.body)?, true),
        "BIN" => return Err(FormatError::Binary),
        // UTF: UTF-8 or refused. ISO / Latin / Ansi / GSM / none: UTF-8 when it is valid UTF-8
        // (the seed's Lua CGI and `sendsms` write UTF-8 without an Alphabet header), else
        // ISO-8859-15.
        other => match String::from_utf8(file.body.clone()) {
            Ok(s) => (s, false),
            Err(_) if other == "UTF" => return Err(FormatError::BadText("invalid UTF-8")),
            Err(_) => (file.body.iter().map(|&b| latin9(b)).collect(), false),
        },
    };
    let text = if ucs2 {
        text
    } else {
        text.replace("\r\n", "\n")
    };
    if text.is_empty() {
        return Err(FormatError::EmptyText);
    }
    Ok(OutgoingSms {
        to,
        text,
        flash: file.header("Flash").is_some_and(yes),
        report: file.header("Report").is_some_and(yes),
        priority_high: file.is_high_priority(),
        validity: file.header("Validity").and_then(parse_validity),
        ucs2,
    })
}

/// The file this spool writes for a message. `To:` is the number as given (smsd reads a leading `+`
/// as international, like plain digits); numbers without `+` get `To_TOA: Unknown` so they keep
/// their meaning when read back (by this gateway or by smsd, which would take plain digits as
/// international).
pub fn file_of(msg: &OutgoingSms) -> Result<SpoolFile, FormatError> {
    let (digits, international) = match msg.to.strip_prefix('+') {
        Some(d) => (d, true),
        None => (msg.to.as_str(), false),
    };
    if !crate::pdu::is_digits(digits) {
        return Err(FormatError::BadNumber(msg.to.chars().take(40).collect()));
    }
    let mut f = SpoolFile::default();
    f.set_header("To", &msg.to)?;
    if !international {
        f.set_header("To_TOA", "Unknown")?;
    }
    if msg.flash {
        f.set_header("Flash", "yes")?;
    }
    if msg.report {
        f.set_header("Report", "yes")?;
    }
    if msg.priority_high {
        f.set_header("Priority", "HIGH")?;
    }
    if let Some(vp) = msg.validity {
        f.set_header("Validity", &vp.to_string())?;
    }
    if msg.ucs2 {
        f.set_header("Alphabet", "UCS2")?;
        f.body = msg.text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    } else {
        if !msg.text.is_ascii() {
            f.set_header("Alphabet", "UTF-8")?;
        }
        f.body = msg.text.as_bytes().to_vec();
    }
    Ok(f)
}

fn decode_ucs2(body: &[u8]) -> Result<String, FormatError> {
    if !body.len().is_multiple_of(2) {
        return Err(FormatError::BadText("odd number of bytes in UCS-2 text"));
    }
    let text = crate::pdu::utf16be(body, true)
        .ok_or(FormatError::BadText("broken UTF-16 surrogate pair"))?;
    Ok(text.strip_prefix('\u{FEFF}').unwrap_or(&text).to_string())
}

/// ISO-8859-15 (Latin-9) byte to char: Latin-1 except eight code points.
fn latin9(b: u8) -> char {
    match b {
        0xA4 => '€',
        0xA6 => 'Š',
        0xA8 => 'š',
        0xB4 => 'Ž',
        0xB8 => 'ž',
        0xBC => 'Œ',
        0xBD => 'œ',
        0xBE => 'Ÿ',
        _ => char::from(b),
    }
}

/// smsd's `Validity:`: a raw TP-VP value 0..=255, `max`, or an amount with a unit (`30min`,
/// `12 hours`, `2days`, `1week`), rounded up to the next value TP-VP can express. `None` = invalid
/// or absent (the network default applies).
pub fn parse_validity(v: &str) -> Option<u8> {
    let v = v.trim().to_ascii_lowercase();
    if v == "max" {
        return Some(255);
    }
    if let Ok(raw) = v.parse::<u8>() {
        return Some(raw);
    }
    let split = v.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    let unit = unit.trim();
    let minutes = if unit.starts_with("min") || unit == "m" {
        n
    } else if unit.starts_with('h') {
        n.checked_mul(60)?
    } else if unit.starts_with('d') {
        n.checked_mul(1440)?
    } else if unit.starts_with('w') {
        n.checked_mul(10080)?
    } else {
        return None;
    };
    Some(validity_minutes(minutes))
}

/// Relative TP-VP (3GPP TS 23.040 9.2.3.12.1) for at least `minutes`.
pub fn validity_minutes(minutes: u64) -> u8 {
    // Anything from 63 weeks on is 255: clamp so the rest is 32-bit arithmetic (no 64-bit division
    // calls on the router).
    let minutes = minutes.min(1_000_000) as u32;
    let vp = if minutes <= 720 {
        minutes.div_ceil(5).saturating_sub(1)
    } else if minutes <= 1440 {
        143 + (minutes - 720).div_ceil(30)
    } else if minutes <= 30 * 1440 {
        166 + minutes.div_ceil(1440)
    } else {
        (192 + minutes.div_ceil(10080)).max(197)
    };
    u8::try_from(vp.min(255)).unwrap_or(255)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(to: &str, text: &str) -> OutgoingSms {
        OutgoingSms {
            to: to.into(),
            text: text.into(),
            ..OutgoingSms::default()
        }
    }

    #[test]
    fn round_trips_every_field() {
        let cases = [
            msg("+491721234567", "Hello"),
            msg("01711234567", "national, ünïcödé € 😀\nsecond line"),
            OutgoingSms {
                flash: true,
                report: true,
                priority_high: true,
                validity: Some(167),
                ucs2: true,
                ..msg("+4412", "UCS-2 body 😀 with\r\nCRLF kept")
            },
        ];
        for m in cases {
            let bytes = file_of(&m).unwrap().to_bytes().unwrap();
            let back = message_of(&SpoolFile::parse(&bytes)).unwrap();
            assert_eq!(back, m, "file was:\n{}", String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn writes_smsd_style_headers() {
        let m = OutgoingSms {
            priority_high: true,
            ..msg("+491721234567", "Grüße")
        };
        let text = String::from_utf8(file_of(&m).unwrap().to_bytes().unwrap()).unwrap();
        assert_eq!(
            text,
            "To: +491721234567\nPriority: HIGH\nAlphabet: UTF-8\n\nGrüße"
        );
        let n = String::from_utf8(file_of(&msg("112", "x")).unwrap().to_bytes().unwrap()).unwrap();
        assert_eq!(n, "To: 112\nTo_TOA: Unknown\n\nx");
    }

    #[test]
    fn reads_crlf_files_unknown_headers_and_smsd_numbers() {
        let f = SpoolFile::parse(
            b"From: monitor\r\nTo: 358 40 123 4567\r\nX-Whatever: 1\r\nflash: YES\r\n\r\nline1\r\nline2",
        );
        let m = message_of(&f).unwrap();
        assert_eq!(m.to, "+358401234567");
        assert_eq!(m.text, "line1\nline2");
        assert!(m.flash);
        assert!(!m.report);
        assert_eq!(
            message_of(&SpoolFile::parse(b"To: s1234\n\nx")).unwrap().to,
            "1234"
        );
        let toa = SpoolFile::parse(b"To: 0171\nTo_TOA: National\n\nx");
        assert_eq!(message_of(&toa).unwrap().to, "0171");
    }

    #[test]
    fn decodes_alphabets_like_sendsms_writes_them() {
        // sendsms: `Alphabet: UCS` + iconv -t UNICODEBIG (UTF-16BE, no BOM).
        let mut file = b"To: 491721234567\nAlphabet: UCS\n\n".to_vec();
        file.extend("Привет 😀".encode_utf16().flat_map(u16::to_be_bytes));
        let m = message_of(&SpoolFile::parse(&file)).unwrap();
        assert_eq!(m.text, "Привет 😀");
        assert!(m.ucs2);
        // ISO-8859-15 bytes without UTF-8 validity.
        let iso = message_of(&SpoolFile::parse(b"To: 1\nAlphabet: ISO\n\n\xA4 \xE9")).unwrap();
        assert_eq!(iso.text, "€ é");
        // Plain UTF-8 without an Alphabet header (the seed's Lua CGI).
        let lua = message_of(&SpoolFile::parse("To: 1\n\nÄpfel".as_bytes())).unwrap();
        assert_eq!(lua.text, "Äpfel");
    }

    #[test]
    fn refuses_bad_files_with_a_reason() {
        let err = |b: &[u8]| message_of(&SpoolFile::parse(b)).unwrap_err();
        assert_eq!(err(b"\nhello"), FormatError::NoRecipient);
        assert!(matches!(err(b"To: 12ab\n\nx"), FormatError::BadNumber(_)));
        assert!(matches!(err(b"To: +\n\nx"), FormatError::BadNumber(_)));
        assert_eq!(err(b"To: 123\n\n"), FormatError::EmptyText);
        assert_eq!(err(b"To: 123"), FormatError::EmptyText);
        assert_eq!(err(b"To: 1\nAlphabet: binary\n\nx"), FormatError::Binary);
        assert!(matches!(
            err(b"To: 1\nAlphabet: UCS2\n\n\x00\x41\x00"),
            FormatError::BadText(_)
        ));
        assert!(matches!(
            err(b"To: 1\nAlphabet: UTF-8\n\n\xff"),
            FormatError::BadText(_)
        ));
    }

    #[test]
    fn injection_attempts_are_rejected() {
        for to in ["123\nFlash: yes", "123\r\n\r\nother", "+49 170\n", "123\0"] {
            assert!(file_of(&msg(to, "x")).is_err(), "{to:?}");
        }
        let mut f = SpoolFile::default();
        assert!(f.set_header("Fail_reason", "bad\nTo: 999").is_err());
        assert!(f.set_header("X\nTo", "1").is_err());
        assert!(f.set_header("To: 1", "1").is_err());
        f.headers.push(("Sneaky".into(), "a\rb".into()));
        assert!(f.to_bytes().is_err());
        // A body with header-looking lines stays body.
        let m = msg("1", "\n\nTo: 999\nPriority: high");
        let back = message_of(&SpoolFile::parse(&file_of(&m).unwrap().to_bytes().unwrap()));
        assert_eq!(back.unwrap(), m);
    }

    #[test]
    fn validity_follows_tp_vp_steps() {
        assert_eq!(parse_validity("0"), Some(0));
        assert_eq!(parse_validity("255"), Some(255));
        assert_eq!(parse_validity("max"), Some(255));
        assert_eq!(parse_validity("5min"), Some(0));
        assert_eq!(parse_validity("12 hours"), Some(143));
        assert_eq!(parse_validity("1day"), Some(167));
        assert_eq!(parse_validity("2 days"), Some(168));
        assert_eq!(parse_validity("1week"), Some(173));
        assert_eq!(parse_validity("5weeks"), Some(197));
        assert_eq!(parse_validity("99weeks"), Some(255));
        assert_eq!(parse_validity("soon"), None);
        assert_eq!(parse_validity("3 fortnights"), None);
        assert_eq!(parse_validity("99999999999999999999 weeks"), None);
    }

    /// TS 23.040 9.2.3.12.1: minutes a relative TP-VP octet stands for.
    fn vp_minutes(vp: u8) -> u64 {
        let vp = u64::from(vp);
        match vp {
            0..=143 => (vp + 1) * 5,
            144..=167 => 720 + (vp - 143) * 30,
            168..=196 => (vp - 166) * 1440,
            _ => (vp - 192) * 10080,
        }
    }

    #[test]
    fn validity_is_the_smallest_tp_vp_covering_the_minutes() {
        for vp in 0..=255u8 {
            assert_eq!(validity_minutes(vp_minutes(vp)), vp);
        }
        for m in 1..=70_000u64 {
            let vp = validity_minutes(m);
            assert!(vp_minutes(vp) >= m || vp == 255, "{m} -> {vp}");
            assert!(
                vp == 0 || vp_minutes(vp - 1) < m,
                "{m} -> {vp} is not the smallest"
            );
        }
    }

    #[test]
    fn priority_header() {
        assert!(SpoolFile::parse(b"Priority: HIGH\n\n").is_high_priority());
        assert!(SpoolFile::parse(b"priority: high\n\n").is_high_priority());
        assert!(!SpoolFile::parse(b"Priority: low\n\n").is_high_priority());
        assert!(!SpoolFile::parse(b"To: 1\n\n").is_high_priority());
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_bytes_parse_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let f = SpoolFile::parse(&bytes);
            let _ = message_of(&f);
            let _ = f.is_high_priority();
        }

        #[test]
        fn any_valid_message_round_trips(
            plus in any::<bool>(),
            digits in "[0-9]{1,20}",
            text in "\\PC{1,200}",
            flash in any::<bool>(),
            report in any::<bool>(),
            priority_high in any::<bool>(),
            validity in proptest::option::of(any::<u8>()),
            ucs2 in any::<bool>(),
        ) {
            let m = OutgoingSms {
                to: if plus { format!("+{digits}") } else { digits },
                text: text.replace('\r', ""),
                flash, report, priority_high, validity, ucs2,
            };
            let bytes = file_of(&m).unwrap().to_bytes().unwrap();
            prop_assert_eq!(message_of(&SpoolFile::parse(&bytes)).unwrap(), m);
        }
    }
}
