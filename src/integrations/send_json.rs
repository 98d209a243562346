//! The JSON form of a send request (`POST /cgi-bin/sms`, `Content-Type: application/json`):
//! `{"phone": "+49…" | ["…", "…"], "message": "…", "flash": false, "report": false}` plus the
//! query string's parameters, into the same [`SmsRequest`] the GET produces.
//!
//! Owns only the mapping: `msg` is accepted for `message` (Uptime Kuma), unknown fields are ignored
//! (Home Assistant, Kuma add their own), a known field of the wrong type is refused, `null` counts
//! as absent. A field given in both the query and the body must have the same value. Number and
//! text rules are the GET's (`http::query`). Pure, never panics.

use crate::http::query::{self, QueryError, SmsRequest};
use crate::json::{self, JsonError, Value};
use std::fmt;

/// Largest JSON send body (the server's body cap for this endpoint: Uptime Kuma's body with its
/// whole monitor object is about 3 KB).
pub const MAX_JSON_SEND_BYTES: usize = query::MAX_QUERY_BYTES;

/// Why a JSON send request was refused (all map to HTTP 400).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JsonSendError {
    Json(JsonError),
    NotAnObject,
    /// A known field of the wrong type: (field, what it must be).
    WrongType(&'static str, &'static str),
    /// The query and the body disagree about this field.
    Conflict(&'static str),
    Query(QueryError),
}

impl fmt::Display for JsonSendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonSendError::Json(e) => e.fmt(f),
            JsonSendError::NotAnObject => f.write_str("the JSON body must be an object"),
            JsonSendError::WrongType(field, want) => {
                f.write_str("field '")?;
                f.write_str(field)?;
                f.write_str("' must be ")?;
                f.write_str(want)
            }
            JsonSendError::Conflict(field) => {
                f.write_str("field '")?;
                f.write_str(field)?;
                f.write_str("' differs between the query string and the JSON body")
            }
            JsonSendError::Query(e) => e.fmt(f),
        }
    }
}

impl From<QueryError> for JsonSendError {
    fn from(e: QueryError) -> Self {
        JsonSendError::Query(e)
    }
}

/// A string field; `null` or absent is `None`.
fn string_field(obj: &Value, key: &'static str) -> Result<Option<String>, JsonSendError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(JsonSendError::WrongType(key, "a string")),
    }
}

/// `true`/`false` as the query's `1`/`0`; `null` or absent is `None`.
fn bool_field(obj: &Value, key: &'static str) -> Result<Option<String>, JsonSendError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(flag_text(*b))),
        Some(_) => Err(JsonSendError::WrongType(key, "true or false")),
    }
}

fn flag_text(b: bool) -> String {
    String::from(if b { "1" } else { "0" })
}

/// `phone` as one comma-separated string (the GET's form) or a list of strings.
fn phone_field(obj: &Value) -> Result<Option<String>, JsonSendError> {
    const WANT: &str = "a string or a list of strings";
    match obj.get("phone") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Array(items)) => {
            let mut joined = String::new();
            for item in items {
                let Value::String(s) = item else {
                    return Err(JsonSendError::WrongType("phone", WANT));
                };
                // a comma inside one list item would smuggle in a second number: refuse it
                if s.contains(',') {
                    return Err(JsonSendError::WrongType("phone", WANT));
                }
                if !joined.is_empty() {
                    joined.push(',');
                }
                joined.push_str(s);
            }
            Ok(Some(joined))
        }
        Some(_) => Err(JsonSendError::WrongType("phone", WANT)),
    }
}

/// A query or body `phone` that is not blank, parsed.
fn recipients(phone: &Option<String>) -> Result<Option<Vec<String>>, QueryError> {
    match phone.as_deref().filter(|p| !p.trim().is_empty()) {
        Some(p) => query::parse_recipients(p).map(Some),
        None => Ok(None),
    }
}

/// Whether the query's and the body's value of parameter `i` ([`query::KNOWN`] order) differ.
fn differ(i: usize, q: &Option<String>, b: &Option<String>) -> Result<bool, QueryError> {
    Ok(match (q, b) {
        (Some(_), Some(_)) if i == 0 => recipients(q)? != recipients(b)?,
        (Some(qv), Some(bv)) => qv != bv,
        _ => false,
    })
}

/// The body's parameter `i` ([`query::KNOWN`] order) in the query's form, type-checked.
fn body_field(doc: &Value, i: usize) -> Result<Option<String>, JsonSendError> {
    match i {
        0 => phone_field(doc),
        1 => match string_field(doc, "message")? {
            Some(m) => Ok(Some(m)),
            None => string_field(doc, "msg"),
        },
        2 => bool_field(doc, "flash"),
        3 => bool_field(doc, "report"),
        _ => string_field(doc, "token"),
    }
}

/// Builds the send request from a JSON `body` and the raw (still %-encoded) `query` string.
pub fn parse_sms_json(body: &[u8], query_string: &[u8]) -> Result<SmsRequest, JsonSendError> {
    let doc = json::parse(body, MAX_JSON_SEND_BYTES).map_err(JsonSendError::Json)?;
    let mut from_query = query::Fields::default();
    let mut from_body = query::Fields::default();
    let late = merge(&doc, query_string, &mut from_query, &mut from_body)?;
    let sms = query::request_of(&mut from_query)?;
    match late {
        Some(field) => Err(JsonSendError::Conflict(field)),
        None => Ok(sms),
    }
}

/// Reads both sides into `from_query` and `from_body`, checks them and merges them into
/// `from_query`; a disagreement on a flag or the token is returned (it is reported only after
/// the rest of the request is checked).
fn merge(
    doc: &Value,
    query_string: &[u8],
    from_query: &mut query::Fields,
    from_body: &mut query::Fields,
) -> Result<Option<&'static str>, JsonSendError> {
    if !matches!(doc, Value::Object(_)) {
        return Err(JsonSendError::NotAnObject);
    }
    query::known_fields(query_string, from_query)?;
    // the body's own fields, each type-checked even when the query has it
    for (i, slot) in from_body.iter_mut().enumerate() {
        *slot = body_field(doc, i)?;
    }
    let [q_phone, _, q_flash, q_report, q_token] = from_query;
    // a blank phone is none
    for p in [q_phone, &mut from_body[0]] {
        if recipients(p)?.is_none() {
            *p = None;
        }
    }
    // a query flag as the body's `1`/`0` (an empty one is `0`: given, and false)
    for (flag, name) in [(q_flash, "flash"), (q_report, "report")] {
        if let Some(v) = flag {
            *v = flag_text(query::parse_flag(Some(v), name)?);
        }
    }
    if q_token.as_deref() == Some("") {
        *q_token = None;
    }
    // one value per parameter: both sides must agree (phone and message are checked before the
    // rest of the request, the flags and the token after it)
    let mut late = None;
    for (i, (q, b)) in from_query.iter_mut().zip(from_body.iter_mut()).enumerate() {
        if differ(i, q, b)? {
            let field = query::KNOWN.get(i).copied().unwrap_or("?");
            if i < 2 {
                return Err(JsonSendError::Conflict(field));
            }
            late = late.or(Some(field));
        }
        if b.is_some() {
            *q = b.take();
        }
    }
    Ok(late)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str, query: &str) -> Result<SmsRequest, String> {
        parse_sms_json(body.as_bytes(), query.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn phone_as_string_or_list_with_message_flash_report() {
        let r = parse(
            r#"{"phone": "+491701234567", "message": "hi", "flash": true, "report": true}"#,
            "",
        )
        .unwrap();
        assert_eq!(r.recipients, ["+491701234567"]);
        assert_eq!(r.text, "hi");
        assert!(r.flash && r.report == Some(true));
        let r = parse(
            r#"{"phone": ["+491701234567", "+491709999999", "+491701234567"], "message": "x"}"#,
            "",
        )
        .unwrap();
        assert_eq!(r.recipients, ["+491701234567", "+491709999999"]);
        assert!(!r.flash && r.report.is_none() && r.token.is_none());
        let r = parse(
            r#"{"phone": "+491701234567,+491709999999", "message": "x"}"#,
            "",
        )
        .unwrap();
        assert_eq!(r.recipients.len(), 2);
    }

    #[test]
    fn uptime_kuma_msg_and_unknown_fields_are_accepted() {
        let r = parse(
            r#"{"heartbeat": {"status": 0, "msg": "timeout"}, "monitor": {"name": "web"},
                "msg": "[web] [🔴 Down] timeout"}"#,
            "phone=%2B491701234567",
        )
        .unwrap();
        assert_eq!(r.text, "[web] [🔴 Down] timeout");
        assert_eq!(r.recipients, ["+491701234567"]);
        // message wins over msg
        let r = parse(r#"{"phone":"+491701234567","message":"a","msg":"b"}"#, "").unwrap();
        assert_eq!(r.text, "a");
    }

    #[test]
    fn query_and_body_combine_and_must_agree() {
        let r = parse(r#"{"message": "x"}"#, "phone=+491701234567&token=t1").unwrap();
        assert_eq!(r.recipients, ["+491701234567"]);
        assert_eq!(r.token.as_deref(), Some("t1"));
        let r = parse(
            r#"{"phone": "+491701234567", "message": "x", "token": "t1"}"#,
            "phone=+491701234567&token=t1",
        )
        .unwrap();
        assert_eq!(r.token.as_deref(), Some("t1"));
        assert_eq!(
            parse(
                r#"{"phone": "+491701234567", "message": "x"}"#,
                "phone=+491709999999"
            )
            .unwrap_err(),
            "field 'phone' differs between the query string and the JSON body"
        );
        assert_eq!(
            parse(
                r#"{"phone": "+491701234567", "message": "x", "token": "a"}"#,
                "token=b"
            )
            .unwrap_err(),
            "field 'token' differs between the query string and the JSON body"
        );
        assert!(parse(
            r#"{"phone": "+491701234567", "message": "x", "flash": true}"#,
            "flash=0"
        )
        .is_err());
    }

    #[test]
    fn every_error_is_one_readable_line() {
        let cases = [
            (
                r#"{"phone": "+491701234567", "message": "x""#,
                "invalid JSON: unexpected end of input at byte 41",
            ),
            (r#"["+491701234567"]"#, "the JSON body must be an object"),
            (
                r#"{"phone": 491701234567, "message": "x"}"#,
                "field 'phone' must be a string or a list of strings",
            ),
            (
                r#"{"phone": ["+491701234567", 5], "message": "x"}"#,
                "field 'phone' must be a string or a list of strings",
            ),
            (
                r#"{"phone": ["+491701234567,+491709999999"], "message": "x"}"#,
                "field 'phone' must be a string or a list of strings",
            ),
            (
                r#"{"phone": "+491701234567", "message": ["x"]}"#,
                "field 'message' must be a string",
            ),
            (
                r#"{"phone": "+491701234567", "msg": 1}"#,
                "field 'msg' must be a string",
            ),
            (
                r#"{"phone": "+491701234567", "message": "x", "flash": "yes"}"#,
                "field 'flash' must be true or false",
            ),
            (
                r#"{"phone": "+491701234567", "message": "x", "report": 1}"#,
                "field 'report' must be true or false",
            ),
            (
                r#"{"phone": "+491701234567", "message": "x", "token": 5}"#,
                "field 'token' must be a string",
            ),
            (
                r#"{"phone": "+491701234567"}"#,
                "missing parameter 'message'",
            ),
            (
                r#"{"phone": "+491701234567", "message": ""}"#,
                "missing parameter 'message'",
            ),
            (r#"{"message": "x"}"#, "missing parameter 'phone'"),
            (
                r#"{"phone": "12ab", "message": "x"}"#,
                "invalid phone number '12ab': use digits with an optional leading +",
            ),
            (
                r#"{"phone": "+491701234567", "message": "a\u0000b"}"#,
                "parameter 'message' contains a control character",
            ),
            (
                r#"{"phone": "+491701234567", "message": "x", "message": "y"}"#,
                "invalid JSON: duplicate object key at byte 43",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(parse(body, "").unwrap_err(), want, "{body}");
        }
    }

    #[test]
    fn null_counts_as_absent() {
        let r = parse(
            r#"{"phone": "+491701234567", "message": "x", "flash": null, "title": null}"#,
            "",
        )
        .unwrap();
        assert!(!r.flash);
    }
}
