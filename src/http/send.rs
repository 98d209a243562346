//! The send path shared by `/cgi-bin/sms` (query, form or JSON body) and `/alertmanager`:
//! parsing the request, the token check, recipient allowlist, length check, storm guard and
//! queueing one spool file per recipient, with the answer codes each caller's retry policy needs.
//!
//! Owns no state: everything is on [`Gateway`]. It must not write spool files itself
//! (`Spool::submit` does).

use super::guard::Refusal;
use super::{query, Gateway, HttpRequest, Reply};
use crate::integrations::send_json;
use crate::json::ObjectWriter;
use crate::pdu::{self, EncodeOptions, PduError};
use crate::spool::{OutgoingSms, SpoolError};
use crate::status::GatewayStatus;
use std::sync::atomic::Ordering::Relaxed;

/// Who is asking: the answer codes differ where a client's retry policy needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A send request (`/cgi-bin/sms`): the contract's codes.
    Client,
    /// Alertmanager: 2xx done, 4xx never retried, 5xx retried.
    Alertmanager,
}

impl Gateway {
    pub(crate) fn sms(&self, req: &HttpRequest, json: bool) -> Reply {
        let post = match req.method.as_str() {
            "GET" => false,
            "POST" => true,
            _ => return Reply::line(405, "method not allowed: use GET or POST", json),
        };
        let ct = req.content_type.as_deref().unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim();
        let is_json = post && mime.eq_ignore_ascii_case("application/json");
        if post
            && !is_json
            && !(mime.is_empty() || mime.eq_ignore_ascii_case("application/x-www-form-urlencoded"))
        {
            return Reply::line(
                415,
                "unsupported content type: send application/x-www-form-urlencoded or application/json",
                json,
            );
        }
        let parsed = if is_json {
            send_json::parse_sms_json(&req.body, req.query.as_bytes()).map_err(|e| e.to_string())
        } else {
            let mut p = req.query.as_bytes().to_vec();
            if post && !req.body.is_empty() {
                if !p.is_empty() {
                    p.push(b'&');
                }
                p.extend_from_slice(&req.body);
            }
            query::parse_sms_query(&p).map_err(|e| e.to_string())
        };
        let sms = match parsed {
            Ok(s) => s,
            Err(e) => return Reply::line(400, &e, json),
        };
        if let Some(refused) = self.authorize(sms.token.as_deref(), req, json) {
            return refused;
        }
        self.queue(&sms, json, Source::Client)
    }

    /// Checks recipients and length, admits through the storm guard and queues one message per
    /// recipient; answers `done <ids>` (or JSON) only when all are durably queued.
    pub(crate) fn queue(&self, sms: &query::SmsRequest, json: bool, source: Source) -> Reply {
        if let Some(bad) = sms
            .recipients
            .iter()
            .find(|n| !self.policy.recipient_allowed(n))
        {
            let mut msg = String::from("recipient ");
            msg.push_str(bad);
            msg.push_str(" not allowed");
            return Reply::line(403, &msg, json);
        }
        let report = sms.report.unwrap_or(self.policy.report);
        let opts = EncodeOptions {
            flash: sms.flash,
            status_report: report,
            max_parts: self.policy.max_parts,
            ..EncodeOptions::default()
        };
        for to in &sms.recipients {
            match pdu::encode_submit(to, &sms.text, &opts, 0) {
                Ok(_) => {}
                Err(e @ PduError::TooLong { .. }) => return Reply::line(413, &e.to_string(), json),
                Err(e) => return Reply::line(400, &e.to_string(), json),
            }
        }
        if let Err(refusal) = self.guard.admit(&sms.recipients, &sms.text) {
            // Alertmanager drops a notification answered 4xx: a repeat of one already queued
            // is done (2xx); the hourly limit is "try later" (5xx, which it retries).
            let code = match (source, &refusal) {
                (Source::Client, _) => 429,
                (Source::Alertmanager, Refusal::Duplicate { .. }) => 200,
                (Source::Alertmanager, Refusal::RateLimited { .. }) => 503,
            };
            let mut r = Reply::line(code, &refusal.to_string(), json);
            if code != 200 {
                r.retry_after = Some(refusal.retry_after());
            }
            return r;
        }
        let mut ids = Vec::with_capacity(sms.recipients.len());
        for (i, to) in sms.recipients.iter().enumerate() {
            let msg = OutgoingSms {
                to: to.clone(),
                text: sms.text.clone(),
                flash: sms.flash,
                report,
                priority_high: false,
                ..OutgoingSms::default()
            };
            let submitted = self.spool.submit(&msg);
            // At once (the sender, which copies it too, may sleep for minutes); the cause of a
            // refusal is logged when the spool stops taking messages, not at every 503.
            let writable = self.spool.writable();
            let was = self.status.spool_writable.swap(writable, Relaxed);
            match submitted {
                Ok(id) => {
                    GatewayStatus::count(&self.status.accepted);
                    ids.push(id);
                }
                Err(e) => {
                    if was && !writable {
                        crate::log_error!("new messages refused (503): {e}");
                    }
                    let rest = sms.recipients.get(i..).unwrap_or(&[]);
                    self.guard.release(rest, &sms.text);
                    let mut msg = e.to_string();
                    if !ids.is_empty() {
                        msg.push_str(" (already queued: ");
                        msg.push_str(&ids.join(" "));
                        msg.push(')');
                    }
                    let code = match (&e, source) {
                        // some are queued: Alertmanager must not retry (it would send them twice)
                        (_, Source::Alertmanager) if !ids.is_empty() => 200,
                        (SpoolError::Invalid(_), _) => 400,
                        _ => 503,
                    };
                    return Reply::line(code, &msg, json);
                }
            }
        }
        if json {
            let mut b = String::new();
            ObjectWriter::new(&mut b)
                .str("status", "done")
                .strs("ids", &ids)
                .end();
            b.push('\n');
            Reply {
                code: 200,
                body: b,
                json: true,
                retry_after: None,
            }
        } else {
            let mut msg = String::from("done ");
            msg.push_str(&ids.join(" "));
            Reply::text(200, &msg)
        }
    }
}
