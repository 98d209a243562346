//! Received messages over HTTP: the JSON shape of one (`GET /messages/<id>`, the entries of
//! `GET /messages?box=inbox`) and `DELETE /messages/<id>`.
//!
//! Owns only the rendering of `SPOOL/incoming/<id>` files and the answers of a delete; reading,
//! listing and removing the files (and which ids are valid) is `spool::incoming`'s. Routing and
//! the token check are `messages`'s.

use super::Reply;
use crate::delivery::{iso_utc, record};
use crate::json::ObjectWriter;
use crate::spool::format::SpoolFile;
use crate::spool::incoming::{self, sender};
use crate::spool::outbox;
use std::io::ErrorKind;
use std::path::Path;

/// One received message as a JSON object, or `None` when there is no such message.
pub(super) fn get(root: &Path, id: &str) -> Option<String> {
    let file = incoming::read(root, id).ok()?;
    let mut out = String::new();
    push_received(&mut out, id, &file);
    Some(out)
}

/// The newest `limit` received messages as a JSON list, newest first.
pub(super) fn list(root: &Path, limit: usize) -> String {
    let mut out = String::from("[");
    let mut n = 0;
    for (id, _) in incoming::list(root).iter() {
        if n == limit {
            break;
        }
        // removed meanwhile: skipped
        let Ok(file) = incoming::read(root, id) else {
            continue;
        };
        if n > 0 {
            out.push(',');
        }
        push_received(&mut out, id, &file);
        n += 1;
    }
    out.push(']');
    out
}

/// `DELETE /messages/<id>`: removes a received message; an outgoing one is refused.
pub(super) fn delete(root: &Path, id: &str, json: bool) -> Reply {
    if !incoming::valid_id(id) {
        return if outbox::find(root, id).is_some() {
            Reply::line(409, "only received messages can be deleted", json)
        } else {
            Reply::line(404, "no such message", json)
        };
    }
    match incoming::delete(root, id) {
        Ok(()) if json => {
            let mut b = String::new();
            ObjectWriter::new(&mut b)
                .str("status", "deleted")
                .str("id", id)
                .end();
            Reply::json(b)
        }
        Ok(()) => Reply::text(200, &["deleted ", id].concat()),
        Err(e) if e.kind() == ErrorKind::NotFound => Reply::line(404, "no such message", json),
        Err(e) => Reply::line(
            500,
            &["cannot delete ", id, ": ", &e.to_string()].concat(),
            json,
        ),
    }
}

/// `26-11-28 23:10:03` and `+01:00` (the centre's local time and zone) as ISO 8601.
fn sent_iso(sent: &str, zone: Option<&str>) -> Option<String> {
    let (date, time) = sent.trim().split_once(' ')?;
    record::parse_smsd_time(sent)?;
    Some(["20", date, "T", time, zone.unwrap_or("").trim()].concat())
}

/// One received message as a JSON object.
fn push_received(out: &mut String, id: &str, file: &SpoolFile) {
    let mut o = ObjectWriter::new(out);
    o.str("id", id)
        .str("box", "inbox")
        .str("from", &sender(file));
    if let Some(toa) = file.header("From_TOA") {
        o.str("from_toa", toa);
    }
    if let Some(smsc) = file.header("From_SMSC") {
        o.str("smsc", smsc);
    }
    if let Some(sent) = file
        .header("Sent")
        .and_then(|s| sent_iso(s, file.header("Sent_timezone")))
    {
        o.str("sent", &sent);
    }
    if let Some(t) = file.header("Received").and_then(record::parse_smsd_time) {
        o.str("received", &iso_utc(t));
    }
    if let Some(a) = file.header("Alphabet") {
        o.str("alphabet", a);
    }
    let text = String::from_utf8_lossy(&file.body);
    let length = file
        .header("Length")
        .and_then(|l| l.trim().parse::<u64>().ok())
        .unwrap_or(text.chars().count() as u64);
    let incomplete = file
        .header("Incomplete")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("yes"));
    o.u64("length", length).bool("incomplete", incomplete);
    if let Some(e) = file.header("Error") {
        o.str("error", e);
    }
    o.str("text", &text).end();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_received_file_renders_as_json() {
        let file = SpoolFile::parse(
            b"From: 4915550001\nFrom_TOA: 91 international, ISDN/telephone\nFrom_SMSC: 4917000\n\
              Sent: 26-11-28 23:10:03\nSent_timezone: +01:00\nReceived: 26-11-28 22:10:09\n\
              Alphabet: UCS2\nLength: 5\nIncomplete: yes\n\nhi \"\xc3\xa4\"",
        );
        let mut out = String::new();
        push_received(&mut out, "in-0123456789abcdef", &file);
        assert_eq!(
            out,
            "{\"id\":\"in-0123456789abcdef\",\"box\":\"inbox\",\"from\":\"+4915550001\",\
             \"from_toa\":\"91 international, ISDN/telephone\",\"smsc\":\"4917000\",\
             \"sent\":\"2026-11-28T23:10:03+01:00\",\"received\":\"2026-11-28T22:10:09Z\",\
             \"alphabet\":\"UCS2\",\"length\":5,\"incomplete\":true,\"text\":\"hi \\\"ä\\\"\"}"
        );
    }

    #[test]
    fn alphanumeric_senders_get_no_plus() {
        let file = SpoolFile::parse(b"From: Bank\nFrom_TOA: D0 alphanumeric, unknown\n\nx");
        assert_eq!(sender(&file), "Bank");
        let mut out = String::new();
        push_received(&mut out, "in-0000000000000000", &file);
        assert!(out.contains("\"incomplete\":false"), "{out}");
        assert!(!out.contains("\"sent\""), "{out}");
    }

    #[test]
    fn a_bad_sent_stamp_is_left_out() {
        assert_eq!(
            sent_iso("26-11-28 23:10:03", None).as_deref(),
            Some("2026-11-28T23:10:03")
        );
        assert_eq!(sent_iso("yesterday", Some("+01:00")), None);
    }
}
