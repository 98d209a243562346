//! `GET /messages/<id>`, `GET /messages?box=outbox|inbox[&limit=N]` and `DELETE /messages/<id>`:
//! outgoing messages with their state, parts, references and reports, as JSON; received ones
//! are `inbox`'s.
//!
//! Owns the routing and query of these routes and the JSON shape of an outgoing message. Reading
//! the spool is `spool::outbox`'s; the token check is the same as for sending. It must not change
//! files (deleting a received message is `inbox`'s).

use super::{inbox, query, Gateway, HttpRequest, Reply};
use crate::delivery::{iso_utc, record, MessageState, Part, SentMessage};
use crate::json::ObjectWriter;
use crate::pdu::{status_text, DeliveryOutcome};
use crate::spool::incoming;
use crate::spool::outbox::{self, OutboxEntry};

/// Default and largest `limit` of a listing.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;

/// The query parameters these routes read.
#[derive(Default)]
struct MessagesQuery {
    token: Option<String>,
    outbox: bool,
    limit: usize,
}

fn parse(raw: &str) -> Result<MessagesQuery, String> {
    let mut q = MessagesQuery {
        outbox: true,
        limit: DEFAULT_LIMIT,
        ..MessagesQuery::default()
    };
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "token" => {
                let v = query::decode_component(value.as_bytes(), "token", false)
                    .map_err(|_| String::from("token: bad %-escape or not UTF-8"))?;
                q.token = Some(v);
            }
            "box" => match value {
                "outbox" => q.outbox = true,
                "inbox" => q.outbox = false,
                _ => return Err("box must be inbox or outbox".into()),
            },
            "limit" => {
                q.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| format!("limit must be a number from 1 to {MAX_LIMIT}"))?;
            }
            _ => {}
        }
    }
    Ok(q)
}

impl Gateway {
    /// `/messages` and `/messages/<id>` (`DELETE` for a received message).
    pub(super) fn messages(&self, req: &HttpRequest, json: bool) -> Reply {
        let id = req.path.strip_prefix("/messages/");
        let delete = req.method == "DELETE" && id.is_some();
        if !delete && !matches!(req.method.as_str(), "GET" | "HEAD") {
            let allowed = if id.is_some() {
                "method not allowed: use GET or DELETE"
            } else {
                "method not allowed: use GET"
            };
            return Reply::line(405, allowed, json);
        }
        let q = match parse(&req.query) {
            Ok(q) => q,
            Err(e) => return Reply::line(400, &e, json),
        };
        if let Some(refusal) = self.authorize(q.token.as_deref(), req, json) {
            return refusal;
        }
        let root = self.spool.root();
        let body = match id {
            Some(id) if delete => return inbox::delete(root, id, json),
            Some(id) if incoming::valid_id(id) => match inbox::get(root, id) {
                Some(b) => b,
                None => return Reply::line(404, "no such message", json),
            },
            Some(id) => match outbox::find(root, id) {
                Some(entry) => {
                    let mut b = String::new();
                    push_entry(&mut b, &entry);
                    b
                }
                None => return Reply::line(404, "no such message", json),
            },
            None if !q.outbox => inbox::list(root, q.limit),
            None => {
                let mut b = String::from("[");
                for (i, entry) in outbox::list(root, q.limit).iter().enumerate() {
                    if i > 0 {
                        b.push(',');
                    }
                    push_entry(&mut b, entry);
                }
                b.push(']');
                b
            }
        };
        Reply {
            code: 200,
            body: body + "\n",
            json: true,
            retry_after: None,
        }
    }
}

/// One outgoing message as a JSON object.
fn push_entry(out: &mut String, e: &OutboxEntry) {
    let mut o = ObjectWriter::new(out);
    o.str("id", &e.id)
        .str("box", "outbox")
        .str("state", e.state.as_str())
        .str("to", &e.to)
        .str("text", &e.text);
    let requested = e.file.header("Report").is_some_and(|v| {
        ["yes", "true", "on", "1"]
            .iter()
            .any(|w| v.eq_ignore_ascii_case(w))
    });
    let report = match &e.record {
        Some(r) => r.report_state().as_str(),
        None if requested => "pending",
        None => "not requested",
    };
    if e.state == MessageState::Queued {
        o.str("queued", &iso_utc(e.mtime));
    }
    let sent = e
        .record
        .as_ref()
        .and_then(|r| r.parts.first())
        .filter(|p| p.sent_at > 0)
        .map(|p| p.sent_at)
        .or_else(|| e.file.header("Sent").and_then(record::parse_smsd_time));
    if let Some(t) = sent.filter(|_| e.state != MessageState::Queued) {
        o.str("sent", &iso_utc(t));
    }
    if let Some(t) = e.file.header("Failed").and_then(record::parse_smsd_time) {
        o.str("failed", &iso_utc(t));
    }
    if let Some(why) = e.file.header("Fail_reason") {
        o.str("fail_reason", why);
    }
    o.str("report", report);
    let parts = o.key("parts");
    parts.push('[');
    if let Some(r) = &e.record {
        push_parts(parts, r);
    }
    parts.push(']');
    o.end();
}

fn push_parts(out: &mut String, msg: &SentMessage) {
    for (i, p) in msg.parts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_part(out, i + 1, p, msg.report_requested);
    }
}

fn push_part(out: &mut String, n: usize, p: &Part, requested: bool) {
    let mut o = ObjectWriter::new(out);
    o.u64("part", n as u64)
        .u64("reference", u64::from(p.reference));
    if p.sent_at > 0 {
        o.str("sent", &iso_utc(p.sent_at));
    }
    o.str("state", p.state().as_str())
        .str("report", p.report_state(requested).as_str());
    if let Some(r) = &p.report {
        o.u64("status", u64::from(r.status))
            .str("status_text", status_text(r.status))
            .str("outcome", DeliveryOutcome::of(r.status).as_str());
        if r.received_at > 0 {
            o.str("report_received", &iso_utc(r.received_at));
        }
        if !r.submitted.is_empty() {
            o.str("submitted", &r.submitted);
        }
        if !r.discharged.is_empty() {
            o.str("discharged", &r.discharged);
        }
    }
    o.end();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_of_the_listing() {
        let q = parse("box=outbox&limit=5&token=a%2Bb").unwrap();
        assert!(q.outbox);
        assert_eq!(q.limit, 5);
        assert_eq!(q.token.as_deref(), Some("a+b"));
        assert!(parse("limit=0").is_err());
        assert!(parse("limit=x").is_err());
        assert!(parse("box=trash").is_err());
        assert!(!parse("box=inbox").unwrap().outbox);
    }

    #[test]
    fn an_entry_renders_state_parts_and_reports() {
        let file = crate::spool::format::SpoolFile::parse(
            b"To: +4930123456\nReport: yes\nPart_1: ref=17 sent=1795907402 status=0 at=1795907431 \
              scts=2026-11-28T23:10:03+01:00 dt=2026-11-28T23:10:29+01:00 report=r1\n\
              Part_2: ref=18 sent=1795907404\nParts: 2\n\nhi \"you\"",
        );
        let record = record::read("m", &file);
        let e = OutboxEntry {
            id: "m".into(),
            state: MessageState::Sent,
            to: "+4930123456".into(),
            text: "hi \"you\"".into(),
            file,
            record,
            mtime: 0,
        };
        let mut out = String::new();
        push_entry(&mut out, &e);
        assert_eq!(
            out,
            "{\"id\":\"m\",\"box\":\"outbox\",\"state\":\"sent\",\"to\":\"+4930123456\",\
             \"text\":\"hi \\\"you\\\"\",\"sent\":\"2026-11-28T23:10:02Z\",\"report\":\"pending\",\
             \"parts\":[{\"part\":1,\"reference\":17,\"sent\":\"2026-11-28T23:10:02Z\",\
             \"state\":\"delivered\",\"report\":\"received\",\"status\":0,\
             \"status_text\":\"Ok,short message received by the SME\",\"outcome\":\"delivered\",\
             \"report_received\":\"2026-11-28T23:10:31Z\",\"submitted\":\"2026-11-28T23:10:03+01:00\",\
             \"discharged\":\"2026-11-28T23:10:29+01:00\"},\
             {\"part\":2,\"reference\":18,\"sent\":\"2026-11-28T23:10:04Z\",\"state\":\"sent\",\
             \"report\":\"pending\"}]}"
        );
    }
}
