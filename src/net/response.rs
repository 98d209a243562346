//! Pure HTTP/1.1 response parser: bytes in, a `Response` (or "need more") out.
//!
//! Handles the status line, headers, `Content-Length`, `Transfer-Encoding: chunked` and
//! read-until-close bodies, with a hard size bound. No I/O and no panics on any input: every index
//! is checked, every number parsed with overflow checks. The socket side is `http_client.rs`.

use std::fmt;

/// Most header lines accepted in one response.
const MAX_HEADERS: usize = 64;

/// Why a response could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// The URL is not `http://IP[:PORT][/PATH]`.
    BadUrl(String),
    /// TCP connect failed (refused, unreachable, timed out).
    Connect(String),
    /// The peer did not answer within the timeout (phase: "connect", "write", "read").
    Timeout(&'static str),
    /// Another socket error.
    Io(String),
    /// The response was longer than the bound.
    TooLarge(usize),
    /// The bytes are not an HTTP/1.x response.
    Malformed(&'static str),
    /// The peer closed the connection before the response was complete.
    Truncated,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // (before, value, after): plain `write_str`s, no format arguments to build
        let mut n = String::new();
        let (before, value, after): (&str, &str, &str) = match self {
            HttpError::BadUrl(u) => (
                "bad URL '",
                u,
                "' (want http://IP[:PORT]; host names are not resolved)",
            ),
            HttpError::Connect(e) => ("cannot connect: ", e, ""),
            HttpError::Timeout(phase) => ("timed out (", phase, ")"),
            HttpError::Io(e) => ("connection error: ", e, ""),
            HttpError::TooLarge(max) => {
                crate::http::push_u64(&mut n, *max as u64);
                ("response larger than ", &n, " bytes")
            }
            HttpError::Malformed(why) => ("malformed HTTP response: ", why, ""),
            HttpError::Truncated => ("connection closed before the response was complete", "", ""),
        };
        f.write_str(before)?;
        f.write_str(value)?;
        f.write_str(after)
    }
}

/// A complete response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Header names as sent, values trimmed; in order, duplicates kept.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All `Set-Cookie` values' `name=value` parts.
    pub fn cookies(&self) -> impl Iterator<Item = &str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| v.split(';').next())
            .map(str::trim)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Parses `buf`, the bytes received so far; `eof` says the peer closed the connection.
/// `Ok(None)` means more bytes are needed. `max` bounds the whole response.
pub fn parse_response(buf: &[u8], eof: bool, max: usize) -> Result<Option<Response>, HttpError> {
    let Some(head_end) = find(buf, b"\r\n\r\n") else {
        if buf.len() > max {
            return Err(HttpError::TooLarge(max));
        }
        return if eof {
            Err(HttpError::Truncated)
        } else {
            Ok(None)
        };
    };
    let head = buf.get(..head_end).unwrap_or_default();
    let rest = buf.get(head_end + 4..).unwrap_or_default();
    let head = std::str::from_utf8(head).map_err(|_| HttpError::Malformed("head is not text"))?;
    let mut lines = head.split("\r\n");
    let status = parse_status_line(lines.next().unwrap_or(""))?;
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(HttpError::Malformed("header line without ':'"));
        };
        if name.is_empty() || name.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err(HttpError::Malformed("bad header name"));
        }
        if headers.len() >= MAX_HEADERS {
            return Err(HttpError::Malformed("too many headers"));
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let mut resp = Response {
        status,
        headers,
        body: Vec::new(),
    };
    // 1xx, 204 and 304 have no body.
    if status < 200 || status == 204 || status == 304 {
        resp.body.clear();
        return Ok(Some(resp));
    }
    let chunked = resp.header("transfer-encoding").is_some_and(|v| {
        v.as_bytes()
            .windows(7)
            .any(|w| w.eq_ignore_ascii_case(b"chunked"))
    });
    if chunked {
        return match decode_chunked(rest, max)? {
            Some(body) => {
                resp.body = body;
                Ok(Some(resp))
            }
            None if eof => Err(HttpError::Truncated),
            None => Ok(None),
        };
    }
    if let Some(len) = resp.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| HttpError::Malformed("bad Content-Length"))?;
        if len > max {
            return Err(HttpError::TooLarge(max));
        }
        return match rest.get(..len) {
            Some(body) => {
                resp.body = body.to_vec();
                Ok(Some(resp))
            }
            None if eof => Err(HttpError::Truncated),
            None => Ok(None),
        };
    }
    if rest.len() > max {
        return Err(HttpError::TooLarge(max));
    }
    if eof {
        resp.body = rest.to_vec();
        Ok(Some(resp))
    } else {
        Ok(None)
    }
}

fn parse_status_line(line: &str) -> Result<u16, HttpError> {
    let mut words = line.splitn(3, ' ');
    let version = words.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::Malformed("not an HTTP/1.x status line"));
    }
    let code = words.next().unwrap_or("");
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HttpError::Malformed("bad status code"));
    }
    code.parse()
        .map_err(|_| HttpError::Malformed("bad status code"))
}

/// Decodes a chunked body; `Ok(None)` when the terminating chunk has not arrived yet.
fn decode_chunked(mut rest: &[u8], max: usize) -> Result<Option<Vec<u8>>, HttpError> {
    let mut body = Vec::new();
    loop {
        let Some(eol) = find(rest, b"\r\n") else {
            if rest.len() > 1024 {
                return Err(HttpError::Malformed("chunk size line too long"));
            }
            return Ok(None);
        };
        let line = rest.get(..eol).unwrap_or_default();
        let size_text = line.split(|&b| b == b';').next().unwrap_or_default();
        let size_text = std::str::from_utf8(size_text)
            .map_err(|_| HttpError::Malformed("bad chunk size"))?
            .trim();
        if size_text.is_empty() || size_text.len() > 8 {
            return Err(HttpError::Malformed("bad chunk size"));
        }
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| HttpError::Malformed("bad chunk size"))?;
        rest = rest.get(eol + 2..).unwrap_or_default();
        if size == 0 {
            // Trailers (ignored) end with an empty line.
            return Ok(
                if rest.starts_with(b"\r\n") || find(rest, b"\r\n\r\n").is_some() {
                    Some(body)
                } else {
                    None
                },
            );
        }
        if body.len().saturating_add(size) > max {
            return Err(HttpError::TooLarge(max));
        }
        let Some(data) = rest.get(..size) else {
            return Ok(None);
        };
        match rest.get(size..size + 2) {
            Some(b"\r\n") => {}
            Some(_) => return Err(HttpError::Malformed("chunk not followed by CRLF")),
            None => return Ok(None),
        }
        body.extend_from_slice(data);
        rest = rest.get(size + 2..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX: usize = 4096;

    #[test]
    fn content_length_body_is_cut_at_the_length() {
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-A: b \r\n\r\nabcdef",
            false,
            MAX,
        );
        let r = r.unwrap().unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"abc"[..]));
        assert_eq!(r.header("x-a"), Some("b"));
    }

    #[test]
    fn short_content_length_body_needs_more_then_is_truncated_at_eof() {
        let b = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
        assert_eq!(parse_response(b, false, MAX), Ok(None));
        assert_eq!(parse_response(b, true, MAX), Err(HttpError::Truncated));
    }

    #[test]
    fn chunked_body_is_decoded_with_extensions_and_trailers() {
        let b = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nT: v\r\n\r\n";
        let r = parse_response(b, false, MAX).unwrap().unwrap();
        assert_eq!(r.body, b"Wikipedia");
        let cut = &b[..b.len() - 10];
        assert_eq!(parse_response(cut, false, MAX), Ok(None));
        assert_eq!(parse_response(cut, true, MAX), Err(HttpError::Truncated));
    }

    #[test]
    fn body_without_length_runs_to_close() {
        let b = b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\n<response>OK</response>";
        assert_eq!(parse_response(b, false, MAX), Ok(None));
        let r = parse_response(b, true, MAX).unwrap().unwrap();
        assert_eq!(r.body, b"<response>OK</response>");
    }

    #[test]
    fn oversized_responses_are_refused() {
        let b = b"HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\n";
        assert_eq!(parse_response(b, false, MAX), Err(HttpError::TooLarge(MAX)));
        let huge = vec![b'a'; MAX + 1];
        assert_eq!(
            parse_response(&huge, false, MAX),
            Err(HttpError::TooLarge(MAX))
        );
        let b = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFF\r\n";
        assert_eq!(parse_response(b, false, MAX), Err(HttpError::TooLarge(MAX)));
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for b in [
            &b"SSH-2.0-OpenSSH\r\n\r\n"[..],
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ] {
            assert!(
                matches!(parse_response(b, true, MAX), Err(HttpError::Malformed(_))),
                "{b:?}"
            );
        }
    }

    #[test]
    fn set_cookie_values_are_listed_without_attributes() {
        let b = b"HTTP/1.1 204 No Content\r\nSet-Cookie: SessionID=abc; path=/; HttpOnly\r\n\r\n";
        let r = parse_response(b, false, MAX).unwrap().unwrap();
        assert_eq!(r.cookies().collect::<Vec<_>>(), ["SessionID=abc"]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), eof: bool) {
            let _ = parse_response(&bytes, eof, 256);
        }

        #[test]
        fn mutated_responses_never_panic_and_stay_bounded(
            body in proptest::collection::vec(any::<u8>(), 0..300),
            cut in 0usize..400, flip in 0usize..400, byte: u8, eof: bool,
        ) {
            let mut b = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            for c in body.chunks(7) {
                b.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                b.extend_from_slice(c);
                b.extend_from_slice(b"\r\n");
            }
            b.extend_from_slice(b"0\r\n\r\n");
            if let Ok(Some(r)) = parse_response(&b, false, 4096) {
                prop_assert_eq!(&r.body, &body);
            }
            if let Some(x) = b.get_mut(flip) { *x = byte; }
            b.truncate(cut.max(1) * 2);
            if let Ok(Some(r)) = parse_response(&b, eof, 256) {
                prop_assert!(r.body.len() <= 256);
            }
        }
    }
}
