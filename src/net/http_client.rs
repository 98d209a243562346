//! A small blocking plain-HTTP/1.1 client: one request per connection (`Connection: close`), GET or
//! POST with extra headers, timeouts on connect, write and read, a bounded response.
//!
//! Hosts are IP literals only (`http://192.168.8.1`, `http://[::1]:8080`): the gateway deliberately
//! does not resolve names (musl's resolver and the DNS it needs are not worth their bytes on the
//! router, and the peers — a HiLink stick, a LAN webhook — have fixed addresses). No TLS. Parsing of
//! the answer is the pure `response.rs`; this file only moves bytes.

use super::response::{parse_response, HttpError, Response};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Default bound of one response (head and body).
pub const DEFAULT_MAX_RESPONSE: usize = 256 * 1024;

/// Where requests go: an `http://IP[:PORT]` base URL, plus the path prefix it carried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub addr: SocketAddr,
    /// The `Host:` header value (`192.168.8.1`, `[::1]:8080`).
    pub host: String,
    /// Path prefix without a trailing `/` (empty for `http://host/`).
    pub base_path: String,
}

impl Endpoint {
    /// Parses `http://IP[:PORT][/PATH]`; host names are refused (see the module doc).
    pub fn parse(url: &str) -> Result<Endpoint, HttpError> {
        let bad = || HttpError::BadUrl(url.to_string());
        let rest = url.strip_prefix("http://").ok_or_else(bad)?;
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (ip, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (ip, after) = v6.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad())?,
                None if after.is_empty() => 80,
                None => return Err(bad()),
            };
            (ip, port)
        } else {
            match authority.split_once(':') {
                Some((ip, p)) => (ip, p.parse().map_err(|_| bad())?),
                None => (authority, 80),
            }
        };
        let ip: IpAddr = ip.parse().map_err(|_| bad())?;
        Ok(Endpoint {
            addr: SocketAddr::new(ip, port),
            // As written in the URL (formatting the address would link IPv6 printing).
            host: authority.to_string(),
            base_path: path.trim_end_matches('/').to_string(),
        })
    }
}

/// Timeouts and bounds of a client.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub connect: Duration,
    /// Bound of each write and of the whole read of the answer.
    pub io: Duration,
    pub max_response: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect: Duration::from_secs(5),
            io: Duration::from_secs(15),
            max_response: DEFAULT_MAX_RESPONSE,
        }
    }
}

/// Sends one request to `ep` and reads the whole answer. `path` is appended to the endpoint's base
/// path; `headers` are sent as given (name, value); a body gets `Content-Length`.
pub fn request(
    ep: &Endpoint,
    limits: &Limits,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Response, HttpError> {
    let mut head = format!(
        "{method} {}{path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        ep.base_path, ep.host
    );
    for (name, value) in headers {
        // A header value with a line break would smuggle a header: drop such values.
        if !value.contains(['\r', '\n']) {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
    }
    if method != "GET" || !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");

    let mut stream = TcpStream::connect_timeout(&ep.addr, limits.connect).map_err(|e| {
        if e.kind() == ErrorKind::TimedOut {
            HttpError::Timeout("connect")
        } else {
            HttpError::Connect(e.to_string())
        }
    })?;
    let io = limits.io.max(Duration::from_millis(1));
    let _ = stream.set_write_timeout(Some(io));
    let mut msg = head.into_bytes();
    msg.extend_from_slice(body);
    stream.write_all(&msg).map_err(|e| io_error(e, "write"))?;
    read_response(&mut stream, io, limits.max_response)
}

fn io_error(e: std::io::Error, phase: &'static str) -> HttpError {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => HttpError::Timeout(phase),
        _ => HttpError::Io(e.to_string()),
    }
}

/// Reads until the response is complete, the peer closes, the bound or the deadline is hit.
fn read_response(
    stream: &mut TcpStream,
    timeout: Duration,
    max: usize,
) -> Result<Response, HttpError> {
    let deadline = Instant::now() + timeout;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HttpError::Timeout("read"));
        }
        let _ = stream.set_read_timeout(Some(left));
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            // A reset after a complete answer is still the answer.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                return parse_response(&buf, true, max)?.ok_or(HttpError::Truncated)
            }
            Err(e) => return Err(io_error(e, "read")),
        };
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if let Some(resp) = parse_response(&buf, n == 0, max)? {
            return Ok(resp);
        }
        if n == 0 {
            return Err(HttpError::Truncated);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn endpoint_takes_ip_literals_and_refuses_names() {
        let e = Endpoint::parse("http://192.168.8.1").unwrap();
        assert_eq!(
            (e.addr.port(), e.host.as_str(), e.base_path.as_str()),
            (80, "192.168.8.1", "")
        );
        let e = Endpoint::parse("http://[::1]:8080/hook/").unwrap();
        assert_eq!(e.addr.port(), 8080);
        assert_eq!(
            (e.host.as_str(), e.base_path.as_str()),
            ("[::1]:8080", "/hook")
        );
        for bad in [
            "https://1.2.3.4",
            "http://router.lan",
            "http://1.2.3.4:x",
            "http://[::1",
        ] {
            assert!(
                matches!(Endpoint::parse(bad), Err(HttpError::BadUrl(_))),
                "{bad}"
            );
        }
    }

    /// A one-shot server: answers `reply` after reading the request head, returns what it read.
    fn serve_once(reply: &'static [u8]) -> (Endpoint, std::thread::JoinHandle<Vec<u8>>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let ep = Endpoint::parse(&format!("http://{}", l.local_addr().unwrap())).unwrap();
        let h = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut got = Vec::new();
            let mut b = [0u8; 1024];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut b).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&b[..n]);
            }
            let _ = s.write_all(reply);
            got
        });
        (ep, h)
    }

    #[test]
    fn post_sends_headers_and_body_and_reads_a_chunked_answer() {
        let (ep, h) = serve_once(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n",
        );
        let r = request(
            &ep,
            &Limits::default(),
            "POST",
            "/api/x",
            &[("Cookie", "a=b"), ("X-Bad", "a\r\nInjected: 1")],
            b"<r/>",
        )
        .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"OK"[..]));
        let sent = String::from_utf8(h.join().unwrap()).unwrap();
        assert!(sent.starts_with("POST /api/x HTTP/1.1\r\n"), "{sent}");
        assert!(sent.contains("Cookie: a=b\r\n") && sent.contains("Connection: close\r\n"));
        assert!(
            sent.contains("Content-Length: 4\r\n") && !sent.contains("Injected"),
            "{sent}"
        );
    }

    #[test]
    fn silent_server_is_a_read_timeout() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let ep = Endpoint::parse(&format!("http://{}", l.local_addr().unwrap())).unwrap();
        let limits = Limits {
            io: Duration::from_millis(200),
            ..Limits::default()
        };
        assert_eq!(
            request(&ep, &limits, "GET", "/", &[], b""),
            Err(HttpError::Timeout("read"))
        );
        drop(l);
    }

    #[test]
    fn refused_connection_is_a_connect_error() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let ep = Endpoint::parse(&format!("http://{}", l.local_addr().unwrap())).unwrap();
        drop(l);
        assert!(matches!(
            request(&ep, &Limits::default(), "GET", "/", &[], b""),
            Err(HttpError::Connect(_))
        ));
    }
}
