//! The SMS endpoints of the HiLink API: send (`send-sms` with the web UI's exact compact body,
//! confirmed through `send-status`, paced, retried on 113004), list the inbox (`sms-list`), mark
//! read and delete (one index per call).
//!
//! Request bodies and answer parsing are pure functions; the calls go through `Stick`. It must not
//! write files: what to do with a received message is the backend's business.

use super::stick::{Stick, StickError};
use super::xml::{self, RequestXml};
use std::time::{Duration, Instant};

/// Messages listed per `sms-list` call (the web UI's page size is 20; 50 is the documented max).
pub const LIST_PAGE: u32 = 50;

/// The `send-sms` body, as the -320 firmware's web UI sends it: no whitespace, fixed order,
/// `Length` in UTF-16 units (the UI counts JavaScript string length), `Reserved` 1 for text the GSM
/// alphabet can carry, 0 (UCS-2) otherwise, `Date` as `YYYY-MM-DD hh:mm:ss`.
pub fn send_body(to: &str, text: &str, gsm7: bool, date: &str) -> String {
    let mut x = RequestXml::new().elem("Index", "-1");
    x.open("Phones");
    let mut x = x.elem("Phone", to);
    x.close("Phones");
    x.elem("Sca", "")
        .elem("Content", text)
        .elem("Length", &text.encode_utf16().count().to_string())
        .elem("Reserved", if gsm7 { "1" } else { "0" })
        .elem("Date", date)
        .finish()
}

/// What `send-status` says about one number.
#[derive(Debug, PartialEq, Eq)]
pub enum SendState {
    Sent,
    Failed,
    Pending,
}

/// Reads a `send-status` answer for `to` (`SucPhone`/`FailPhone` hold `;`- or `,`-separated numbers).
pub fn send_state(inner: &str, to: &str) -> SendState {
    let has = |tag: &str| {
        xml::text(inner, tag)
            .is_some_and(|list| list.split([';', ',']).any(|p| same_number(p.trim(), to)))
    };
    if has("SucPhone") {
        SendState::Sent
    } else if has("FailPhone") {
        SendState::Failed
    } else {
        SendState::Pending
    }
}

/// Numbers compare by their digits (the stick may drop or add the `+`).
pub fn same_number(a: &str, b: &str) -> bool {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    !a.is_empty() && digits(a) == digits(b) && !digits(a).is_empty()
}

/// The `sms-list` body for `box_type` (1 inbox, 2 sent, 3 drafts), oldest first.
pub fn list_body(box_type: u32) -> String {
    RequestXml::new()
        .elem("PageIndex", "1")
        .elem("ReadCount", &LIST_PAGE.to_string())
        .elem("BoxType", &box_type.to_string())
        .elem("SortType", "0")
        .elem("Ascending", "1")
        .elem("UnreadPreferred", "0")
        .finish()
}

/// One message of an `sms-list` answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListedSms {
    /// Local indices start at 40000.
    pub index: u32,
    pub phone: String,
    pub content: String,
    /// `YYYY-MM-DD hh:mm:ss`, the stick's local time.
    pub date: String,
    /// 1 single, 2 multipart, 7 delivery confirmation (delivered), 8 (failed).
    pub sms_type: u32,
    /// 0 unread, 1 read, ...
    pub smstat: u32,
}

/// Parses an `sms-list` answer (bounded by `LIST_PAGE` messages; unparsable entries skipped).
pub fn parse_list(inner: &str) -> Vec<ListedSms> {
    xml::all(inner, "Message", LIST_PAGE as usize)
        .into_iter()
        .filter_map(|m| {
            let num = |t: &str| xml::text(m, t).and_then(|v| v.parse::<u32>().ok());
            Some(ListedSms {
                index: num("Index")?,
                phone: xml::text(m, "Phone").unwrap_or_default(),
                content: xml::text(m, "Content").unwrap_or_default(),
                date: xml::text(m, "Date").unwrap_or_default(),
                sms_type: num("SmsType").unwrap_or(1),
                smstat: num("Smstat").unwrap_or(0),
            })
        })
        .collect()
}

pub fn list(stick: &mut Stick, box_type: u32) -> Result<Vec<ListedSms>, StickError> {
    Ok(parse_list(
        &stick.post("sms/sms-list", &list_body(box_type))?,
    ))
}

fn index_body(index: u32) -> String {
    RequestXml::new().elem("Index", &index.to_string()).finish()
}

/// Deletes one message (the API takes one index per call).
pub fn delete(stick: &mut Stick, index: u32) -> Result<(), StickError> {
    stick.post("sms/delete-sms", &index_body(index)).map(|_| ())
}

pub fn set_read(stick: &mut Stick, index: u32) -> Result<(), StickError> {
    stick.post("sms/set-read", &index_body(index)).map(|_| ())
}

/// Spacing of sends: at least `gap` between two `send-sms`, doubled after each 113004 ("too fast")
/// up to `max_gap`, back to `gap` after a send went through. Pure: the caller passes the time.
#[derive(Debug)]
pub struct Pacer {
    pub gap: Duration,
    pub max_gap: Duration,
    current: Duration,
    last: Option<Instant>,
}

impl Pacer {
    pub fn new(gap: Duration, max_gap: Duration) -> Pacer {
        Pacer {
            gap,
            max_gap,
            current: gap,
            last: None,
        }
    }

    /// How long to wait before the next `send-sms`.
    pub fn wait(&self, now: Instant) -> Duration {
        self.last.map_or(Duration::ZERO, |l| {
            (l + self.current).saturating_duration_since(now)
        })
    }

    /// A `send-sms` was made at `now`; `too_fast` says it was answered 113004.
    pub fn sent(&mut self, now: Instant, too_fast: bool) {
        self.last = Some(now);
        self.current = if too_fast {
            (self.current * 2).min(self.max_gap)
        } else {
            self.gap
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_body_is_the_web_ui_body() {
        assert_eq!(
            send_body("+4912345", "a<b & c", true, "2021-12-29 02:11:51"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><request><Index>-1</Index><Phones><Phone>+4912345</Phone></Phones><Sca></Sca><Content>a&lt;b &amp; c</Content><Length>7</Length><Reserved>1</Reserved><Date>2021-12-29 02:11:51</Date></request>"
        );
        let ucs2 = send_body("1", "😀ü", false, "d");
        assert!(
            ucs2.contains("<Length>3</Length><Reserved>0</Reserved>"),
            "{ucs2}"
        );
    }

    #[test]
    fn send_status_finds_the_number_in_success_or_failure_lists() {
        let s = "<Phone>+4912345</Phone><SucPhone>4912345</SucPhone><FailPhone></FailPhone><TotalCount>1</TotalCount><CurIndex>1</CurIndex>";
        assert_eq!(send_state(s, "+4912345"), SendState::Sent);
        let f = "<SucPhone>1;2</SucPhone><FailPhone>+4912345</FailPhone>";
        assert_eq!(send_state(f, "+4912345"), SendState::Failed);
        assert_eq!(
            send_state("<SucPhone/><FailPhone/>", "+4912345"),
            SendState::Pending
        );
    }

    #[test]
    fn list_answer_is_parsed_with_types() {
        let inner = "<Count>2</Count><Messages><Message><Smstat>0</Smstat><Index>40001</Index><Phone>+491701</Phone><Content>a &amp; b</Content><Date>2026-11-28 10:00:00</Date><Sca></Sca><SaveType>4</SaveType><Priority>0</Priority><SmsType>1</SmsType></Message><Message><Index>40002</Index><Phone>+491702</Phone><Content></Content><SmsType>7</SmsType></Message><Message><Index>bad</Index></Message></Messages>";
        let l = parse_list(inner);
        assert_eq!(l.len(), 2);
        assert_eq!(
            (l[0].index, l[0].content.as_str(), l[0].sms_type),
            (40001, "a & b", 1)
        );
        assert_eq!((l[1].index, l[1].sms_type), (40002, 7));
    }

    #[test]
    fn pacer_spaces_sends_and_backs_off_on_too_fast() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut p = Pacer::new(s(1), s(8));
        assert_eq!(p.wait(t0), Duration::ZERO);
        p.sent(t0, false);
        assert_eq!(p.wait(t0), s(1));
        p.sent(t0, true);
        assert_eq!(p.wait(t0), s(2));
        p.sent(t0, true);
        p.sent(t0, true);
        p.sent(t0, true);
        assert_eq!(p.wait(t0), s(8), "bounded");
        p.sent(t0, false);
        assert_eq!(p.wait(t0 + s(1)), Duration::ZERO);
    }
}
