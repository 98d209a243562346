//! USSD as a job of the engine: `AT+CUSD=1,<code>,15` in the GSM 7-bit packed-hex form Huawei
//! firmwares need (the plain form when the stick refuses it), the `+CUSD:` reply decoded from
//! packed hex, UCS-2 hex or text (lines of a multi-line reply arrive joined by the digester),
//! a clear error on refusal or timeout, and `AT+CUSD=2` to close a session that asks for more.
//!
//! Owns the request queue (bounded) and the one request in progress; it must not do I/O or read
//! a clock. Requests wait behind a send in flight: the engine runs one command at a time.

use super::engine::Event;
use super::init::Step;
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
            let form = if pack(&code).is_some() {
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
            UssdForm::Packed => format!("AT+CUSD=1,\"{}\",15", pack(code).unwrap_or_default()),
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
        let reply = decode_reply(text, dcs)
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

/// Packs a code of GSM 7-bit characters that are also ASCII (digits, letters, `*#+ `) for
/// `AT+CUSD`; with a CR pad when 7 bits would be left over (23.038 6.1.2.3.1).
pub fn pack(code: &str) -> Option<String> {
    let mut septets: Vec<u8> = code.bytes().collect();
    if septets
        .iter()
        .any(|b| !(b.is_ascii_alphanumeric() || b"*#+ ".contains(b)))
    {
        return None;
    }
    if septets.len() % 8 == 7 {
        septets.push(b'\r');
    }
    // The characters allowed here are the same in ASCII and the GSM 7-bit default alphabet.
    let text: String = septets.iter().map(|&b| char::from(b)).collect();
    Some(super::sim_storage::pack_ascii(&text))
}

fn hex_octets(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || s.len() % 2 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    crate::pdu::parse_hex(s).ok()
}

/// The reply's `<str>` as text: UCS-2 hex (DCS 72 = 0x48, or 0x11 with a language), packed
/// GSM 7-bit hex, or text as it came.
pub fn decode_reply(text: &str, dcs: Option<u8>) -> String {
    let Some(octets) = hex_octets(text) else {
        return text.to_string();
    };
    let ucs2 = matches!(dcs, Some(d) if d == 0x48 || d == 0x11 || (d & 0xCC) == 0x48);
    if ucs2 {
        let units = octets.chunks(2).map(|p| match p {
            [h, l] => u16::from_be_bytes([*h, *l]),
            _ => 0xFFFD,
        });
        return char::decode_utf16(units)
            .map(|c| c.unwrap_or('\u{FFFD}'))
            .collect();
    }
    // Packed GSM 7-bit: only when it unpacks to printable text (else it was digits as text).
    let mut septets = Vec::with_capacity(octets.len() * 8 / 7);
    let (mut acc, mut bits) = (0u32, 0u32);
    for o in &octets {
        acc |= u32::from(*o) << bits;
        bits += 8;
        while bits >= 7 {
            septets.push((acc & 0x7F) as u8);
            acc >>= 7;
            bits -= 7;
        }
    }
    if octets.len() % 7 == 0 && septets.last() == Some(&b'\r') {
        septets.pop();
    }
    let text_ok = septets
        .iter()
        .all(|s| (0x20..0x7F).contains(s) || matches!(s, b'\n' | b'\r'));
    if text_ok {
        septets.iter().map(|&s| char::from(s)).collect()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_pack_like_huawei_expects() {
        assert_eq!(pack("*100#").as_deref(), Some("AA180C3602"));
        assert_eq!(pack("*144#").as_deref(), Some("AA188D3602"));
        assert_eq!(decode_reply("AA180C3602", Some(15)), "*100#");
        assert_eq!(pack("*101*ж#"), None);
        // seven characters get a CR pad, which the reply side drops
        let seven = pack("*123*1#").unwrap_or_default();
        assert_eq!(decode_reply(&seven, Some(15)), "*123*1#");
    }

    #[test]
    fn replies_decode_from_ucs2_packed_or_text() {
        assert_eq!(decode_reply("0042006106440020", Some(72)), "Ba\u{644} ");
        assert_eq!(decode_reply("Balance 5.00", Some(15)), "Balance 5.00");
        let packed = pack("Balance 5").unwrap_or_default();
        assert_eq!(decode_reply(&packed, Some(15)), "Balance 5");
    }
}
