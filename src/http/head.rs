//! The HTTP request head: finding its end and parsing it, strictly (refuses what could smuggle
//! or confuse), with the caps of [`MAX_HEAD_BYTES`] and [`MAX_HEADERS`].
//!
//! Pure: bytes in, [`Head`] or [`HeadError`] out; never panics. Must not read sockets or decide
//! anything about SMS.

use super::MAX_BODY_BYTES;

/// Longest request head (request line + headers).
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Most header lines.
pub const MAX_HEADERS: usize = 64;

/// The parsed request head.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Head {
    pub method: String,
    pub target: String,
    /// Minor version of HTTP/1.x.
    pub minor: u8,
    pub headers: Vec<(String, String)>,
    pub content_length: usize,
    pub expect_continue: bool,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A head we refuse: the status code and one human line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeadError(pub u16, pub &'static str);

/// Index just past the blank line ending the head (`\r\n\r\n` or `\n\n`), if present.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(pos) = buf.get(i..)?.iter().position(|&b| b == b'\n') {
        let nl = i + pos;
        match buf.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if buf.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => {}
        }
        i = nl + 1;
    }
    None
}

/// Alertmanager's webhook is never refused for its size (Alertmanager would drop the alert):
/// its body is kept up to `MAX_ALERT_BODY` and the rest is read and discarded.
pub fn is_uncapped(target: &str) -> bool {
    target.split('?').next() == Some("/alertmanager")
}

/// How much of a `length`-byte body for `target` is kept.
pub fn body_kept(target: &str, length: usize) -> usize {
    let cap = if is_uncapped(target) {
        crate::integrations::alertmanager::MAX_ALERT_BODY
    } else {
        MAX_BODY_BYTES
    };
    length.min(cap)
}

/// Parses a complete head (without the body) with `httparse` (the field's fuzzed parser), then
/// strictly: refuses what could smuggle or confuse.
pub fn parse_head(raw: &[u8]) -> Result<Head, HeadError> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut fields);
    match req.parse(raw) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HeadError(400, "incomplete request head")),
        Err(e) => return Err(parse_error(e, raw)),
    }
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(HeadError(400, "malformed request line"));
    };
    // absolute-form (`GET http://router:8767/cgi-bin/sms?...`, sent through proxies): keep the path
    let target = match target.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("http://") => {
            let rest = target.get(7..).unwrap_or("");
            rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("/")
        }
        _ => target,
    };
    if !target.starts_with('/') || target.bytes().any(|b| b <= b' ' || b >= 0x7f) {
        return Err(HeadError(400, "malformed request target"));
    }
    let mut head = Head {
        method: method.to_string(),
        target: target.to_string(),
        minor,
        ..Head::default()
    };
    let mut content_length: Option<usize> = None;
    for field in req.headers.iter() {
        let name = field.name;
        let value = std::str::from_utf8(field.value)
            .map_err(|_| HeadError(400, "request head is not UTF-8"))?
            .trim_matches([' ', '\t']);
        if value.bytes().any(|b| (b < b' ' && b != b'\t') || b == 0x7f) {
            return Err(HeadError(400, "control character in header value"));
        }
        if name.eq_ignore_ascii_case("content-length") {
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(HeadError(400, "malformed Content-Length"));
            }
            // saturate: anything beyond usize is "too large", not a parse error
            let n = value.parse::<usize>().unwrap_or(usize::MAX);
            if content_length.is_some_and(|c| c != n) {
                return Err(HeadError(400, "conflicting Content-Length headers"));
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(HeadError(
                411,
                "Transfer-Encoding is not supported: send Content-Length",
            ));
        } else if name.eq_ignore_ascii_case("expect") {
            if value.eq_ignore_ascii_case("100-continue") {
                head.expect_continue = true;
            } else {
                return Err(HeadError(400, "unsupported Expect"));
            }
        }
        head.headers.push((name.to_string(), value.to_string()));
    }
    head.content_length = content_length.unwrap_or(0);
    if head.content_length > MAX_BODY_BYTES && !is_uncapped(&head.target) {
        return Err(HeadError(413, "request body too large"));
    }
    Ok(head)
}

/// The refusal for what `httparse` rejected.
fn parse_error(e: httparse::Error, raw: &[u8]) -> HeadError {
    match e {
        httparse::Error::TooManyHeaders => HeadError(431, "too many header fields"),
        httparse::Error::Version => {
            let line_end = raw.iter().position(|&b| b == b'\n').unwrap_or(raw.len());
            let line = raw.get(..line_end).unwrap_or(raw);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            // a well-formed request line of another HTTP version, e.g. `GET / HTTP/2.0`
            let mut words = line.split(|&b| b == b' ');
            let version = (words.next(), words.next(), words.next(), words.next());
            let other_version = matches!(version,
                (Some(m), Some(t), Some(v), None) if !m.is_empty() && !t.is_empty() && v.starts_with(b"HTTP/"));
            if other_version {
                HeadError(505, "only HTTP/1.0 and 1.1")
            } else {
                HeadError(400, "malformed HTTP version")
            }
        }
        httparse::Error::Token => HeadError(400, "malformed request line"),
        httparse::Error::HeaderName => HeadError(400, "malformed header name"),
        httparse::Error::HeaderValue => HeadError(400, "malformed header value"),
        _ => HeadError(400, "malformed request head"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(s: &str) -> Result<Head, HeadError> {
        parse_head(s.as_bytes())
    }

    #[test]
    fn finds_the_end_of_the_head() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody"), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.0\n\nx"), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
        assert_eq!(head_end(b""), None);
        assert_eq!(head_end(b"\n"), None);
    }

    #[test]
    fn parses_curl_and_busybox_heads() {
        let h = head("GET /cgi-bin/sms?phone=1&message=x HTTP/1.1\r\nHost: r\r\nUser-Agent: curl/7.88\r\nAccept: */*\r\n\r\n").unwrap();
        assert_eq!(h.method, "GET");
        assert_eq!(h.target, "/cgi-bin/sms?phone=1&message=x");
        assert_eq!(h.header("user-agent"), Some("curl/7.88"));
        let h = head("GET /cgi-bin/sms?a HTTP/1.0\r\nHost: r\r\nUser-Agent: Wget\r\nConnection: close\r\n\r\n").unwrap();
        assert_eq!(h.minor, 0);
        let h =
            head("POST /x HTTP/1.1\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n").unwrap();
        assert_eq!((h.content_length, h.expect_continue), (12, true));
    }

    #[test]
    fn refuses_dangerous_heads() {
        let code = |s: &str| head(s).unwrap_err().0;
        assert_eq!(
            code("POST / HTTP/1.1\r\nContent-Length: 3000000000\r\n\r\n"),
            413
        );
        assert_eq!(
            code("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
            413
        );
        assert_eq!(
            code("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            400
        );
        assert_eq!(code("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400);
        assert_eq!(
            code("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            411
        );
        assert_eq!(code("GET / HTTP/2.0\r\n\r\n"), 505);
        assert_eq!(code("GET /  HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(code("GET ftp://x/ HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(
            head("GET http://r:8767/cgi-bin/sms?a=b HTTP/1.1\r\n\r\n")
                .unwrap()
                .target,
            "/cgi-bin/sms?a=b"
        );
        assert_eq!(head("GET HTTP://r HTTP/1.1\r\n\r\n").unwrap().target, "/");
        assert_eq!(code("GET / HTTP/1.1\r\n folded\r\n\r\n"), 400);
        assert_eq!(code("GET / HTTP/1.1\r\nA: b\u{1}c\r\n\r\n"), 400);
        assert_eq!(code("GET / HTTP/1.1\r\nno colon\r\n\r\n"), 400);
        assert_eq!(code("G\u{e9}T / HTTP/1.1\r\n\r\n"), 400);
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: y\r\n")).collect();
        assert_eq!(code(&format!("GET / HTTP/1.1\r\n{many}\r\n")), 431);
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\n\xff: x\r\n\r\n")
                .unwrap_err()
                .0,
            400
        );
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn head_bytes() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            3 => prop::sample::select(vec![
                "GET ", "POST ", "/cgi-bin/sms?", "phone=1", " HTTP/1.1", " HTTP/1.0", "\r\n", "\n",
                "Content-Length: ", "Transfer-Encoding: chunked", "Expect: 100-continue", ": ", "0",
                "4294967296", "\r", " ", "\t", "Host: x",
            ]).prop_map(|s| s.as_bytes().to_vec()),
            1 => prop::collection::vec(any::<u8>(), 0..8),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        /// Never panics; an accepted head has a sane body size and a clean target.
        #[test]
        fn random_heads_never_panic(raw in head_bytes()) {
            let _ = head_end(&raw);
            match parse_head(&raw) {
                Ok(h) => {
                    prop_assert!(h.content_length <= MAX_BODY_BYTES || h.target.starts_with("/alertmanager"));
                    prop_assert!(h.headers.len() <= MAX_HEADERS);
                    prop_assert!(h.target.starts_with('/'));
                    prop_assert!(!h.target.bytes().any(|b| b <= b' '));
                }
                Err(HeadError(code, _)) => prop_assert!((400..=505).contains(&code)),
            }
        }
    }
}
