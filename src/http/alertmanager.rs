//! `POST /alertmanager[?phone=…]`: Prometheus Alertmanager's webhook → one SMS per notification.
//!
//! Owns the endpoint's answer codes, chosen for Alertmanager's retry policy: 2xx once the SMS is
//! durably queued (or is a repeat of one that is), 4xx for auth and bad payloads (never retried,
//! so never for length: the text is cut to fit), 5xx only when nothing was queued (retried).
//! Recipients come from `phone=` (comma-separated) or else the `--alert-to` list. The payload's
//! meaning and the text layout are `integrations::alertmanager`; queueing is the shared
//! [`Gateway::queue`].

use super::query::{self, SmsRequest};
use super::{Gateway, HttpRequest, Reply, Source};
use crate::integrations::alertmanager::{fit, parse_webhook, render, MAX_ALERT_BODY};

impl Gateway {
    pub(crate) fn alertmanager(&self, req: &HttpRequest, json: bool) -> Reply {
        if req.method != "POST" {
            return Reply::line(
                405,
                "method not allowed: Alertmanager's webhook is a POST",
                json,
            );
        }
        let mut fields = query::Fields::default();
        if let Err(e) = query::known_fields(req.query.as_bytes(), &mut fields) {
            return Reply::line(400, &e.to_string(), json);
        }
        let [phone, _, _, _, token] = &fields;
        if let Some(refused) = self.authorize(token.as_deref(), req, json) {
            return refused;
        }
        let recipients = match phone.as_deref().filter(|p| !p.trim().is_empty()) {
            Some(p) => match query::parse_recipients(p) {
                Ok(r) => r,
                Err(e) => return Reply::line(400, &e.to_string(), json),
            },
            None => self.policy.alert_to.clone(),
        };
        if recipients.is_empty() {
            return Reply::line(
                400,
                "no recipients: add ?phone=... to the webhook URL or set --alert-to",
                json,
            );
        }
        // a body that filled the whole read buffer was cut: send what it holds
        let complete = req.body.len() < MAX_ALERT_BODY;
        let notification = match parse_webhook(&req.body, complete) {
            Ok(n) => n,
            Err(e) => return Reply::line(400, &e.to_string(), json),
        };
        let sms = SmsRequest {
            recipients,
            text: fit(&render(&notification), self.policy.max_parts),
            flash: false,
            report: None,
            token: None,
        };
        self.queue(&sms, json, Source::Alertmanager)
    }
}
