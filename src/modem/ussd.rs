//! USSD as a job of the engine: `AT+CUSD=1,<code>,15` in the GSM 7-bit packed-hex form Huawei
//! firmwares need (the plain form when the stick refuses it), the `+CUSD:` reply decoded from
//! packed hex, UCS-2 hex or text (lines of a multi-line reply arrive joined by the digester),
//! a clear error on refusal or timeout, and `AT+CUSD=2` to close a session that asks for more.
//!
//! Owns the request queue (bounded) and the one request in progress; it must not do I/O or read
//! a clock. Requests wait behind a send in flight: the engine runs one command at a time.

use super::engine::Event;
use super::init::Step;
use crate::pdu::ussd;
use std::time::Instant;

/// USSD requests waiting at most (more are refused at once).
const QUEUE: usize = 4;

/// How the request is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UssdForm {
    /// `AT+CUSD=1,"AA180C3602",15` (Huawei).
    Packed,
    /// `AT+CUSD=1,"*100#",15`.
    Text,
    /// `AT+CUSD=2`: end the session.
    Cancel,
}

#[derive(Debug)]
struct Current {
    id: u64,
    code: String,
    form: UssdForm,
    deadline: Instant,
}

#[derive(Debug, Default)]
pub struct UssdJob {
    queue: Vec<(u64, String, Instant)>,
    current: Option<Current>,
    step: Option<Step>,
    /// The session must be closed (`AT+CUSD=2`) once the line is free.
    cancel: bool,
}

impl UssdJob {
    pub fn request(&mut self, id: u64, code: &str, deadline: Instant, events: &mut Vec<Event>) {
        let code = code.trim();
        let valid = !code.is_empty()
            && code.len() <= 160
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"*#+ ".contains(&b));
        if !valid {
            let result = Err("a USSD code is digits, *, # and + (e.g. *100#)".to_string());
            events.push(Event::Ussd { id, result });
        } else if self.queue.len() >= QUEUE {
            let result = Err("too many USSD requests waiting".to_string());
            events.push(Event::Ussd { id, result });
        } else {
            self.queue.push((id, code.to_string(), deadline));
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        let queued = self.queue.iter().map(|q| q.2).min();
        match (&self.current, queued) {
            (Some(c), Some(q)) => Some(c.deadline.min(q)),
            (Some(c), None) => Some(c.deadline),
            (None, q) => q,
        }
    }

    pub fn next_step(&mut self) -> Option<Step> {
        if let Some(step) = self.step.take() {
            return Some(step);
        }
        if self.current.is_none() {
            if self.cancel {
                self.cancel = false;
                return Some(Step::Cusd(UssdForm::Cancel));
            }
            if self.queue.is_empty() {
                return None;
            }
            let (id, code, deadline) = self.queue.remove(0);
            let form = if ussd::encode_request(&code).is_some() {
                UssdForm::Packed
            } else {
                UssdForm::Text
            };
            self.current = Some(Current {
                id,
                code,
                form,
                deadline,
            });
            return Some(Step::Cusd(form));
        }
        None
    }

    pub fn put_back(&mut self, step: Step) {
        self.step = Some(step);
    }

    pub fn command_line(&self, form: &UssdForm) -> String {
        let code = self.current.as_ref().map_or("", |c| c.code.as_str());
        match form {
            UssdForm::Packed => {
                let hex = ussd::encode_request(code).unwrap_or_default();
                format!("AT+CUSD=1,\"{hex}\",15")
            }
            UssdForm::Text => format!("AT+CUSD=1,\"{code}\",15"),
            UssdForm::Cancel => "AT+CUSD=2".into(),
        }
    }

    /// The `AT+CUSD` command ended; the reply itself comes as a `+CUSD:` URC.
    pub fn answered(
        &mut self,
        form: UssdForm,
        result: Result<(), String>,
        events: &mut Vec<Event>,
    ) {
        match (form, result) {
            (UssdForm::Cancel, _) | (_, Ok(())) => {}
            (UssdForm::Packed, Err(_)) => {
                if let Some(c) = self.current.as_mut() {
                    c.form = UssdForm::Text;
                    self.step = Some(Step::Cusd(UssdForm::Text));
                }
            }
            (UssdForm::Text, Err(why)) => {
                self.finish(
                    Err(format!("the modem refused the USSD request ({why})")),
                    events,
                );
            }
        }
    }

    /// `+CUSD: <m>[,"<str>"[,<dcs>]]`.
    pub fn urc(&mut self, line: &str, events: &mut Vec<Event>) {
        let Some(c) = self.current.as_ref() else {
            return; // a network-initiated message nobody asked for
        };
        let rest = line.strip_prefix("+CUSD:").unwrap_or(line).trim();
        let m = rest
            .split(',')
            .next()
            .and_then(|m| m.trim().parse::<u8>().ok())
            .unwrap_or(0);
        let (text, dcs) = match (rest.find('"'), rest.rfind('"')) {
            (Some(a), Some(b)) if b > a => {
                let dcs = rest
                    .get(b + 1..)
                    .and_then(|d| d.trim_start_matches(',').trim().parse().ok());
                (rest.get(a + 1..b).unwrap_or(""), dcs)
            }
            _ => ("", None),
        };
        if text.is_empty() && m >= 2 {
            let why = match m {
                2 => "the network ended the USSD session without a reply",
                4 => "the network does not support this USSD request",
                5 => "the network did not answer the USSD request in time",
                _ => "the USSD request failed",
            };
            if c.form == UssdForm::Packed && m == 4 {
                // Some firmwares want the plain form.
                self.step = Some(Step::Cusd(UssdForm::Text));
                if let Some(c) = self.current.as_mut() {
                    c.form = UssdForm::Text;
                }
                return;
            }
            self.finish(Err(why.to_string()), events);
            return;
        }
        let reply = ussd::decode_reply(text, dcs)
            .replace("\r\n", "\n")
            .replace('\r', "\n");
        if m == 1 {
            self.cancel = true;
        }
        self.finish(Ok(reply), events);
    }

    fn finish(&mut self, result: Result<String, String>, events: &mut Vec<Event>) {
        if let Some(c) = self.current.take() {
            self.step = None;
            events.push(Event::Ussd { id: c.id, result });
        }
    }

    pub fn expire(&mut self, now: Instant, events: &mut Vec<Event>) {
        if self.current.as_ref().is_some_and(|c| now >= c.deadline) {
            if let Some(c) = self.current.as_ref() {
                let why = format!("no USSD reply to {} in time", c.code);
                self.finish(Err(why), events);
                self.cancel = true;
            }
        }
        while let Some(pos) = self.queue.iter().position(|q| now >= q.2) {
            let (id, code, _) = self.queue.remove(pos);
            let result = Err(format!("the modem was busy; {code} was not sent"));
            events.push(Event::Ussd { id, result });
        }
    }

    pub fn fail_waiting(&mut self, events: &mut Vec<Event>, why: &str) {
        self.finish(Err(why.to_string()), events);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_packed_request_is_tried_plain_then_fails_clearly() {
        let mut job = UssdJob::default();
        let mut events = Vec::new();
        let t = Instant::now();
        job.request(1, "*100#", t, &mut events);
        assert_eq!(job.next_step(), Some(Step::Cusd(UssdForm::Packed)));
        assert_eq!(
            job.command_line(&UssdForm::Packed),
            "AT+CUSD=1,\"AA180C3602\",15"
        );
        job.answered(UssdForm::Packed, Err("ERROR".into()), &mut events);
        assert_eq!(job.next_step(), Some(Step::Cusd(UssdForm::Text)));
        assert_eq!(job.command_line(&UssdForm::Text), "AT+CUSD=1,\"*100#\",15");
        job.answered(UssdForm::Text, Err("ERROR".into()), &mut events);
        assert!(
            matches!(&events[..], [Event::Ussd { id: 1, result: Err(e) }] if e.contains("refused"))
        );
    }

    #[test]
    fn replies_are_decoded_and_bad_codes_refused() {
        let mut job = UssdJob::default();
        let mut events = Vec::new();
        let t = Instant::now();
        job.request(1, "*100#", t, &mut events);
        let _ = job.next_step();
        job.urc("+CUSD: 0,\"0042006106440020\",72", &mut events);
        job.request(2, "rm -rf", t, &mut events);
        assert_eq!(
            events,
            vec![
                Event::Ussd {
                    id: 1,
                    result: Ok("Ba\u{644} ".into())
                },
                Event::Ussd {
                    id: 2,
                    result: Err("a USSD code is digits, *, # and + (e.g. *100#)".into())
                },
            ]
        );
    }
}
