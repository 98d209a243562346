//! The forward worker's [`Transport`]: one plain HTTP/1.1 POST per connection to an
//! `http://IP[:PORT][/PATH]` URL (no name resolution, no TLS), reading only the status line.
//!
//! Owns the socket and its timeouts; nothing about events or retries.

use super::worker::Transport;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const IO_TIMEOUT: Duration = Duration::from_secs(15);

/// `http://IP[:PORT][/PATH]` → (address, `Host` value, path). Host names are refused: the
/// router resolves no names (see docs/integrations.md).
pub fn parse_url(url: &str) -> Option<(SocketAddr, &str, &str)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let addr = authority
        .parse::<SocketAddr>()
        .ok()
        .or_else(|| authority.parse().ok().map(|ip| SocketAddr::new(ip, 80)))
        .or_else(|| {
            let v6 = authority.strip_prefix('[')?.strip_suffix(']')?;
            v6.parse().ok().map(|ip| SocketAddr::new(ip, 80))
        })?;
    if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return None;
    }
    Some((addr, authority, path))
}

/// POSTs over a fresh TCP connection.
pub struct HttpPost;

impl Transport for HttpPost {
    fn post(&mut self, url: &str, bearer: Option<&str>, body: &[u8]) -> Result<u16, String> {
        let (addr, host, path) = parse_url(url).ok_or("bad URL")?;
        let mut s =
            TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).map_err(|e| e.to_string())?;
        let _ = s.set_read_timeout(Some(IO_TIMEOUT));
        let _ = s.set_write_timeout(Some(IO_TIMEOUT));
        let mut head = String::with_capacity(256);
        for part in ["POST ", path, " HTTP/1.1\r\nHost: ", host] {
            head.push_str(part);
        }
        head.push_str("\r\nContent-Type: application/json\r\nConnection: close\r\n");
        if let Some(t) = bearer.filter(|t| !t.contains(['\r', '\n'])) {
            head.push_str("Authorization: Bearer ");
            head.push_str(t);
            head.push_str("\r\n");
        }
        head.push_str("Content-Length: ");
        crate::http::push_u64(&mut head, body.len() as u64);
        head.push_str("\r\n\r\n");
        s.write_all(head.as_bytes())
            .and_then(|()| s.write_all(body))
            .map_err(|e| e.to_string())?;
        // "HTTP/1.1 200 ..." — the status is all the worker needs
        let mut line = [0u8; 16];
        let mut got = 0;
        while got < 12 {
            match s.read(line.get_mut(got..).unwrap_or(&mut [])) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        // three digits after "HTTP/1.x "
        let digits = line
            .get(..got)
            .filter(|l| l.starts_with(b"HTTP/1."))
            .and_then(|l| l.get(9..12))
            .filter(|d| d.iter().all(u8::is_ascii_digit));
        match digits {
            Some(d) => Ok(d.iter().fold(0u16, |n, &b| n * 10 + u16::from(b - b'0'))),
            None => Err("no HTTP status line in the answer".to_string()),
        }
    }
}
