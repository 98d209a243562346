//! Pure parsing of a `/cgi-bin/sms` request (query string or form body) into an [`SmsRequest`].
//!
//! Owns the parameter rules of the public contract: `phone` (comma-separated recipients),
//! `message`, optional `flash`, `report` and `token`; `+` is a space and `%XX` is UTF-8. Unlike
//! `form_urlencoded` alone it refuses invalid `%` escapes, invalid UTF-8 and control characters
//! instead of repairing them. No I/O, no clocks, never panics: every input yields a value or a
//! [`QueryError`].

use std::fmt;

/// Most recipients accepted in one request.
pub const MAX_RECIPIENTS: usize = 10;
/// Longest accepted query string or form body, in bytes (6 UCS-2 parts fully %-encoded fit).
pub const MAX_QUERY_BYTES: usize = 16 * 1024;

/// A decoded, syntactically valid send request. Numbers are not yet checked against allowlists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SmsRequest {
    /// Recipients in request order, de-duplicated; each is digits with an optional leading `+`.
    pub recipients: Vec<String>,
    pub text: String,
    pub flash: bool,
    /// `report=…` as given (`None`: not given or empty; the `--report` default applies).
    pub report: Option<bool>,
    /// The `token` parameter, if any (checked by the caller, never echoed).
    pub token: Option<String>,
}

/// Why a query was refused (all map to HTTP 400).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryError {
    TooLarge,
    BadEscape(&'static str),
    BadUtf8(&'static str),
    Repeated(String),
    Missing(&'static str),
    ControlCharacter(&'static str),
    BadFlag(&'static str),
    InvalidNumber(String),
    TooManyRecipients,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // (before, value, after): plain `write_str`s, no format arguments to build
        let (before, value, after): (&str, &str, &str) = match self {
            QueryError::TooLarge => ("request parameters too large", "", ""),
            QueryError::BadEscape(p) => ("invalid %-escape in parameter '", p, "'"),
            QueryError::BadUtf8(p) => ("parameter '", p, "' is not valid UTF-8"),
            QueryError::Repeated(p) => ("parameter '", p, "' given more than once"),
            QueryError::Missing(p) => ("missing parameter '", p, "'"),
            QueryError::ControlCharacter(p) => ("parameter '", p, "' contains a control character"),
            QueryError::BadFlag(p) => ("parameter '", p, "' must be 0 or 1"),
            QueryError::InvalidNumber(n) => (
                "invalid phone number '",
                n,
                "': use digits with an optional leading +",
            ),
            QueryError::TooManyRecipients => ("too many recipients (at most 10)", "", ""),
        };
        f.write_str(before)?;
        f.write_str(value)?;
        f.write_str(after)
    }
}

/// The parameters this endpoint knows; anything else is ignored (old clients add their own).
pub const KNOWN: [&str; 5] = ["phone", "message", "flash", "report", "token"];

/// Five parameters in [`KNOWN`] order.
pub type Fields = [Option<String>; 5];

/// The known parameters of a query string or form body, decoded, into `values` (in [`KNOWN`]
/// order; all `None` before); a parameter given twice is refused, unknown ones are skipped.
pub fn known_fields(raw: &[u8], values: &mut Fields) -> Result<(), QueryError> {
    if raw.len() > MAX_QUERY_BYTES {
        return Err(QueryError::TooLarge);
    }
    for pair in raw.split(|&b| b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (
                pair.get(..i).unwrap_or(b""),
                pair.get(i + 1..).unwrap_or(b""),
            ),
            None => (pair, &b""[..]),
        };
        let Some(slot) = KNOWN.iter().position(|k| k.as_bytes() == key) else {
            continue;
        };
        let name = KNOWN.get(slot).copied().unwrap_or("?");
        // In `phone` a literal `+` before a number's first digit is the international prefix
        // (`wget ".../sms?phone=+49..."`, as the seed's users write it); after a digit it is
        // the space of a grouped number (`%2B49+170+1234567`, as form encoders send it).
        let decoded = decode_component(value, name, name == "phone")?;
        let Some(entry) = values.get_mut(slot) else {
            continue;
        };
        if entry.is_some() {
            return Err(QueryError::Repeated(name.to_string()));
        }
        *entry = Some(decoded);
    }
    Ok(())
}

/// Parses `application/x-www-form-urlencoded` bytes (a query string or a POST body).
pub fn parse_sms_query(raw: &[u8]) -> Result<SmsRequest, QueryError> {
    let mut values = Fields::default();
    known_fields(raw, &mut values)?;
    request_of(&mut values)
}

/// The request from its decoded parameters (in [`KNOWN`] order, taken from `values`): the rules
/// of every send form.
pub fn request_of(values: &mut Fields) -> Result<SmsRequest, QueryError> {
    let [phone, message, flash, report, token] = values;
    let phone = phone
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .ok_or(QueryError::Missing("phone"))?;
    let text = message
        .take()
        .filter(|m| !m.is_empty())
        .ok_or(QueryError::Missing("message"))?;
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(QueryError::ControlCharacter("message"));
    }
    Ok(SmsRequest {
        recipients: parse_recipients(phone)?,
        text,
        flash: parse_flag(flash.as_deref(), "flash")?,
        report: match report.as_deref() {
            None | Some("") => None,
            given => Some(parse_flag(given, "report")?),
        },
        token: token.take(),
    })
}

pub fn parse_flag(v: Option<&str>, name: &'static str) -> Result<bool, QueryError> {
    // the words of each value, in one table: index 0..4 false, 4..8 true
    const WORDS: [&str; 8] = ["", "0", "false", "no", "1", "true", "yes", "on"];
    let v = v.unwrap_or("");
    match WORDS.iter().position(|w| *w == v) {
        Some(i) => Ok(i >= 4),
        None => Err(QueryError::BadFlag(name)),
    }
}

/// Splits `phone` on commas; strips spaces inside numbers; validates each number's syntax.
pub fn parse_recipients(phone: &str) -> Result<Vec<String>, QueryError> {
    let mut out: Vec<String> = Vec::new();
    for item in phone.split(',') {
        let mut number = String::with_capacity(item.len());
        for c in item.chars() {
            if c.is_control() {
                return Err(QueryError::ControlCharacter("phone"));
            }
            if c != ' ' {
                number.push(c);
            }
        }
        if number.is_empty() {
            continue;
        }
        if crate::pdu::validate_number(&number).is_err() {
            return Err(QueryError::InvalidNumber(item.trim().to_string()));
        }
        if !out.contains(&number) {
            out.push(number);
        }
        if out.len() > MAX_RECIPIENTS {
            return Err(QueryError::TooManyRecipients);
        }
    }
    if out.is_empty() {
        return Err(QueryError::Missing("phone"));
    }
    Ok(out)
}

/// Strictly decodes one form component: `+` is a space (with `plus_is_plus`: a plus unless a
/// digit came before it since the last comma, see the `phone` parameter), `%XX` must be two
/// hex digits, and the result must be UTF-8.
pub fn decode_component(
    raw: &[u8],
    name: &'static str,
    plus_is_plus: bool,
) -> Result<String, QueryError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    let mut digit_seen = false;
    while let Some(&b) = raw.get(i) {
        match out.last() {
            Some(d) if d.is_ascii_digit() => digit_seen = true,
            Some(b',') => digit_seen = false,
            _ => {}
        }
        match b {
            b'%' => {
                let hi = raw.get(i + 1).and_then(|&h| hex_value(h));
                let lo = raw.get(i + 2).and_then(|&l| hex_value(l));
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(QueryError::BadEscape(name));
                };
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' if !plus_is_plus || digit_seen => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| QueryError::BadUtf8(name))
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Whether a request `Accept` header asks for JSON.
pub fn wants_json(accept: Option<&str>) -> bool {
    const JSON: &[u8] = b"application/json";
    accept.is_some_and(|a| {
        a.as_bytes()
            .windows(JSON.len())
            .any(|w| w.eq_ignore_ascii_case(JSON))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<SmsRequest, QueryError> {
        parse_sms_query(s.as_bytes())
    }

    #[test]
    fn error_messages() {
        assert_eq!(MAX_RECIPIENTS, 10, "the TooManyRecipients message says 10");
        assert_eq!(
            QueryError::TooManyRecipients.to_string(),
            "too many recipients (at most 10)"
        );
        assert_eq!(
            QueryError::BadFlag("flash").to_string(),
            "parameter 'flash' must be 0 or 1"
        );
        assert_eq!(
            QueryError::InvalidNumber("12a".into()).to_string(),
            "invalid phone number '12a': use digits with an optional leading +"
        );
        assert_eq!(
            QueryError::Missing("phone").to_string(),
            "missing parameter 'phone'"
        );
    }

    #[test]
    fn seed_curl_form_decodes_plus_and_utf8() {
        let r =
            parse("phone=%2B491701234567&message=Disk+full%20on%20db1+%C3%A4%E2%82%AC").unwrap();
        assert_eq!(r.recipients, vec!["+491701234567"]);
        assert_eq!(r.text, "Disk full on db1 ä€");
        assert!(!r.flash && r.report.is_none() && r.token.is_none());
    }

    #[test]
    fn grouped_numbers_are_accepted_however_their_spaces_are_encoded() {
        for q in [
            "phone=%2B49+170+1234567",
            "phone=%2B49%20170%201234567",
            "phone=+49+170+1234567",
            "phone=+49%20170+1234567",
            "phone=004917+01234567",
        ] {
            let want = if q.contains("0049") {
                "00491701234567"
            } else {
                "+491701234567"
            };
            let r = parse(&[q, "&message=x"].concat()).unwrap();
            assert_eq!(r.recipients, vec![want], "{q}");
        }
        let r = parse("phone=%2B49+170+1234567,+4930+123456&message=x").unwrap();
        assert_eq!(r.recipients, vec!["+491701234567", "+4930123456"]);
    }

    #[test]
    fn literal_plus_in_phone_is_international_prefix() {
        let r = parse("phone=+491701234567&message=a+b").unwrap();
        assert_eq!(r.recipients, vec!["+491701234567"]);
        assert_eq!(r.text, "a b");
    }

    #[test]
    fn several_recipients_flags_and_token() {
        let r = parse("token=abc&phone=%2B4917012345,+49 171 234567,%2B4917012345&message=x&flash=1&report=yes&other=z").unwrap();
        assert_eq!(r.recipients, vec!["+4917012345", "+49171234567"]);
        assert!(r.flash && r.report == Some(true));
        assert_eq!(r.token.as_deref(), Some("abc"));
    }

    #[test]
    fn header_injection_is_refused() {
        assert_eq!(
            parse("phone=%2B49%0AFlash%3A%20yes&message=x"),
            Err(QueryError::ControlCharacter("phone"))
        );
        assert!(parse("phone=%2B49&message=a%00b").is_err());
        // newlines in the body are text, not headers: allowed
        assert_eq!(
            parse("phone=%2B4917012345&message=a%0Ab").unwrap().text,
            "a\nb"
        );
    }

    #[test]
    fn invalid_escapes_and_utf8_are_refused() {
        assert_eq!(
            parse("phone=1234567&message=x%ZZ"),
            Err(QueryError::BadEscape("message"))
        );
        assert_eq!(
            parse("phone=1234567&message=x%4"),
            Err(QueryError::BadEscape("message"))
        );
        assert_eq!(
            parse("phone=1234567&message=%FF%FE"),
            Err(QueryError::BadUtf8("message"))
        );
        assert_eq!(
            parse("phone=%C3&message=x"),
            Err(QueryError::BadUtf8("phone"))
        );
    }

    #[test]
    fn a_missing_parameter_is_named_alone() {
        let err = |q: &str| parse(q).unwrap_err().to_string();
        assert_eq!(err("phone=%2B491701234567"), "missing parameter 'message'");
        assert_eq!(
            err("phone=%2B491701234567&message="),
            "missing parameter 'message'"
        );
        assert_eq!(err("message=x"), "missing parameter 'phone'");
        assert_eq!(err(""), "missing parameter 'phone'");
    }

    #[test]
    fn missing_repeated_and_bad_values() {
        assert!(matches!(parse(""), Err(QueryError::Missing(_))));
        assert!(matches!(parse("phone=123"), Err(QueryError::Missing(_))));
        assert!(matches!(parse("message=x"), Err(QueryError::Missing(_))));
        assert!(matches!(
            parse("phone=&message=x"),
            Err(QueryError::Missing(_))
        ));
        assert!(matches!(
            parse("phone=,,&message=x"),
            Err(QueryError::Missing(_))
        ));
        assert!(matches!(
            parse("phone=1&phone=2&message=x"),
            Err(QueryError::Repeated(_))
        ));
        assert!(matches!(
            parse("phone=12a&message=x"),
            Err(QueryError::InvalidNumber(_))
        ));
        assert!(matches!(
            parse("phone=1&message=x&flash=2"),
            Err(QueryError::BadFlag(_))
        ));
        let many = (0..11)
            .map(|i| format!("12345{i:02}"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            parse(&format!("phone={many}&message=x")),
            Err(QueryError::TooManyRecipients)
        );
        let huge = "a".repeat(MAX_QUERY_BYTES);
        assert_eq!(
            parse(&format!("phone=1&message={huge}")),
            Err(QueryError::TooLarge)
        );
    }

    #[test]
    fn json_accept_detection() {
        assert!(wants_json(Some("text/html, Application/JSON;q=0.9")));
        assert!(!wants_json(Some("*/*")));
        assert!(!wants_json(None));
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// Query-ish bytes: mostly the characters that matter to the parser, some arbitrary bytes.
    fn query_bytes() -> impl Strategy<Value = Vec<u8>> {
        let interesting = prop_oneof![
            8 => prop::sample::select(b"phonemessagetokenflashreport=&%+,0123456789abcdefABCDEFZ \n".to_vec()),
            2 => any::<u8>(),
        ];
        prop::collection::vec(interesting, 0..160)
    }

    fn structured() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::sample::select(vec!["phone", "message", "token", "flash", "report", "x"]),
            query_bytes(),
            prop::sample::select(vec!["phone", "message", "token", "flash", "report", "x"]),
            query_bytes(),
        )
            .prop_map(|(k1, v1, k2, v2)| {
                let mut q = format!("{k1}=").into_bytes();
                q.extend(v1);
                q.extend(format!("&{k2}=").bytes());
                q.extend(v2);
                q
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        /// Never panics; whatever is accepted is safe to write as a spool header and body.
        #[test]
        fn random_queries_never_panic_and_accepted_ones_are_clean(
            raw in prop_oneof![query_bytes(), structured()]
        ) {
            if let Ok(r) = parse_sms_query(&raw) {
                prop_assert!(!r.text.is_empty());
                prop_assert!(!r.recipients.is_empty() && r.recipients.len() <= MAX_RECIPIENTS);
                for n in &r.recipients {
                    prop_assert!(crate::pdu::validate_number(n).is_ok());
                    prop_assert!(n.bytes().all(|b| b == b'+' || b.is_ascii_digit()));
                }
                prop_assert!(!r.text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')));
            }
        }

        /// Strict decoding agrees with form_urlencoded whenever the input is well-formed.
        #[test]
        fn strict_decoder_matches_form_urlencoded_on_valid_input(raw in query_bytes()) {
            if let Ok(strict) = decode_component(&raw, "x", false) {
                if !raw.contains(&b'&') && !raw.contains(&b'=') {
                    let lenient: String = form_urlencoded::parse(&[b"k=".as_slice(), &raw].concat())
                        .map(|(_, v)| v.into_owned())
                        .collect();
                    prop_assert_eq!(strict, lenient);
                }
            }
        }
    }
}
