//! The response writer: status line, headers and body of a finished [`Reply`], with plain
//! `push_str` (no `core::fmt`: the router build counts every byte).
//!
//! Owns the wire format of answers only; must not decide which answer to give.

use super::Reply;
use std::io::Write;
use std::net::TcpStream;

/// Writes a reply and flushes.
pub(super) fn write_reply(stream: &mut TcpStream, reply: &Reply, minor: u8, head_only: bool) {
    let _ = stream.write_all(reply_bytes(reply, minor, head_only).as_bytes());
    let _ = stream.flush();
}

/// The whole response: status line, `Connection: close`, `Date`, the reply's headers and
/// `Content-Length`, then the body (none for `HEAD`).
pub(super) fn reply_bytes(reply: &Reply, minor: u8, head_only: bool) -> String {
    let mut out = String::with_capacity(256 + reply.body.len());
    out.push_str(if minor == 0 { "HTTP/1.0 " } else { "HTTP/1.1 " });
    super::push_u64(&mut out, u64::from(reply.code));
    out.push(' ');
    out.push_str(reason(reply.code));
    out.push_str("\r\nConnection: close\r\nDate: ");
    push_http_date(&mut out, std::time::SystemTime::now());
    out.push_str("\r\n");
    push_reply_headers(&mut out, reply);
    if reply.code == 401 {
        out.push_str("WWW-Authenticate: Bearer\r\n");
    }
    out.push_str("Content-Length: ");
    super::push_u64(&mut out, reply.body.len() as u64);
    out.push_str("\r\n\r\n");
    if !head_only {
        out.push_str(&reply.body);
    }
    out
}

/// `Content-Type`, `Cache-Control` and `Retry-After` of a reply: the headers the daemon's and
/// CGI mode's answers share.
pub(super) fn push_reply_headers(out: &mut String, reply: &Reply) {
    out.push_str("Content-Type: ");
    out.push_str(reply.content_type());
    out.push_str("\r\nCache-Control: no-store\r\n");
    if let Some(s) = reply.retry_after {
        out.push_str("Retry-After: ");
        super::push_u64(out, s);
        out.push_str("\r\n");
    }
}

/// Appends an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110) for `t`.
pub fn push_http_date(out: &mut String, t: std::time::SystemTime) {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // 32-bit arithmetic below (no 64-bit division on mips32): days fit in u32 for any real clock
    let days = u32::try_from(secs / 86_400).unwrap_or(0);
    let rem = (secs % 86_400) as u32;
    let (year, month, day) = crate::civil::civil_from_days(days);
    const WEEKDAYS: &str = "ThuFriSatSunMonTueWed";
    const MONTHS: &str = "JanFebMarAprMayJunJulAugSepOctNovDec";
    let wd = (days % 7) as usize * 3;
    out.push_str(WEEKDAYS.get(wd..wd + 3).unwrap_or("Thu"));
    out.push_str(", ");
    push_2(out, day);
    out.push(' ');
    let mi = (month as usize).saturating_sub(1) * 3;
    out.push_str(MONTHS.get(mi..mi + 3).unwrap_or("Jan"));
    out.push(' ');
    super::push_u64(out, u64::from(year));
    out.push(' ');
    push_2(out, rem / 3600);
    out.push(':');
    push_2(out, rem / 60 % 60);
    out.push(':');
    push_2(out, rem % 60);
    out.push_str(" GMT");
}

/// Two decimal digits (`n` < 100).
fn push_2(out: &mut String, n: u32) {
    out.push(char::from(b'0' + (n / 10 % 10) as u8));
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// The standard reason phrase for the codes this gateway uses.
pub fn reason(code: u16) -> &'static str {
    REASONS
        .iter()
        .find(|&&(c, _)| c == code)
        .map_or("Unknown", |&(_, r)| r)
}

/// The codes this gateway uses and their reason phrases.
const REASONS: [(u16, &str); 19] = [
    (100, "Continue"),
    (200, "OK"),
    (400, "Bad Request"),
    (401, "Unauthorized"),
    (403, "Forbidden"),
    (404, "Not Found"),
    (405, "Method Not Allowed"),
    (408, "Request Timeout"),
    (411, "Length Required"),
    (413, "Payload Too Large"),
    (414, "URI Too Long"),
    (415, "Unsupported Media Type"),
    (429, "Too Many Requests"),
    (431, "Request Header Fields Too Large"),
    (500, "Internal Server Error"),
    (502, "Bad Gateway"),
    (503, "Service Unavailable"),
    (504, "Gateway Timeout"),
    (505, "HTTP Version Not Supported"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_http_dates() {
        let date = |secs: u64| {
            let mut s = String::new();
            push_http_date(&mut s, std::time::UNIX_EPOCH + Duration::from_secs(secs));
            s
        };
        assert_eq!(date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(date(420_895_020), "Wed, 04 May 1983 11:17:00 GMT");
        assert_eq!(date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(date(1_709_210_096), "Thu, 29 Feb 2024 12:34:56 GMT");
        assert_eq!(date(4_133_980_799), "Fri, 31 Dec 2100 23:59:59 GMT");
    }

    #[test]
    fn every_code_has_a_reason() {
        for c in [
            200, 400, 401, 403, 404, 405, 408, 411, 413, 414, 415, 429, 431, 503, 505,
        ] {
            assert_ne!(reason(c), "Unknown");
        }
    }
}
