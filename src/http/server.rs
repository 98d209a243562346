//! The daemon's connection layer: our own accept loop, a fixed pool of worker threads, and a
//! bounded request reader and the response writer.
//!
//! Why not `tiny_http::Server`: its flaws sit where no outside code can reach (DESIGN.md field
//! notes) — it accepts and reads on its own threads (spawned without bound), reads header lines
//! without a size cap, allocates the whole unread body (`Content-Length`) at once when a request
//! is dropped, and ends its accept loop for good on the first `accept()` error. So this module
//! owns accept, threads, timeouts and the request head/body (pure [`parse_head`], never panics),
//! and writes the finished [`Reply`] itself (plain `push_str`, no `core::fmt`). It must not decide
//! anything about SMS: that is [`Gateway::handle`].

use super::{reason, Gateway, HttpRequest, Reply};
use crate::config::ServeConfig;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Longest request head (request line + headers).
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Most header lines.
pub const MAX_HEADERS: usize = 64;
/// Longest accepted request body.
pub const MAX_BODY_BYTES: usize = super::query::MAX_QUERY_BYTES;
/// Worker thread stack: the handler needs little; untouched stack pages cost no RAM.
const WORKER_STACK: usize = 256 * 1024;

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

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

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

/// How much of a `length`-byte body to keep for `target`. Alertmanager's webhook is never
/// refused for its size (it would drop the alert): up to `MAX_ALERT_BODY` is kept, the rest is
/// read and discarded, and the handler sends what the kept part holds.
pub fn body_keep(target: &str, length: usize) -> usize {
    let path = target.split('?').next().unwrap_or("");
    let cap = if path == "/alertmanager" {
        crate::integrations::alertmanager::MAX_ALERT_BODY
    } else {
        MAX_BODY_BYTES
    };
    length.min(cap)
}

/// Parses a complete head (without the body). Strict: refuses what could smuggle or confuse.
pub fn parse_head(raw: &[u8]) -> Result<Head, HeadError> {
    let text = std::str::from_utf8(raw).map_err(|_| HeadError(400, "request head is not UTF-8"))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError(400, "malformed request line"));
    };
    if method.is_empty() || !method.bytes().all(is_token_byte) {
        return Err(HeadError(400, "malformed method"));
    }
    // absolute-form (`GET http://router:8767/cgi-bin/sms?...`, sent through proxies): keep the path
    let target = match target.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("http://") => {
            let rest = target.get(7..).unwrap_or("");
            rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("/")
        }
        _ => target,
    };
    if !target.starts_with('/') || target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(HeadError(400, "malformed request target"));
    }
    let minor = match version {
        "HTTP/1.1" => 1,
        "HTTP/1.0" => 0,
        v if v.starts_with("HTTP/") => return Err(HeadError(505, "only HTTP/1.0 and 1.1")),
        _ => return Err(HeadError(400, "malformed HTTP version")),
    };
    let mut head = Head {
        method: method.to_string(),
        target: target.to_string(),
        minor,
        ..Head::default()
    };
    let mut content_length: Option<usize> = None;
    for line in lines {
        if line.is_empty() {
            break;
        }
        if head.headers.len() >= MAX_HEADERS {
            return Err(HeadError(431, "too many header fields"));
        }
        if line.starts_with([' ', '\t']) {
            return Err(HeadError(400, "folded header lines are not accepted"));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(HeadError(400, "malformed header line"));
        };
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(HeadError(400, "malformed header name"));
        }
        let value = value.trim_matches([' ', '\t']);
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
    if head.content_length > MAX_BODY_BYTES && body_keep(&head.target, usize::MAX) == MAX_BODY_BYTES
    {
        return Err(HeadError(413, "request body too large"));
    }
    Ok(head)
}

/// Limits of one connection, from `serve` options.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Whole-request deadline (head and body), also the write timeout.
    pub request_timeout: Duration,
    pub workers: usize,
    /// Accepted connections waiting for a worker; beyond that new ones get a quick 503.
    pub queue: usize,
}

impl Limits {
    pub fn from_config(cfg: &ServeConfig) -> Limits {
        let workers = cfg.max_connections.clamp(1, 1024);
        Limits {
            // clamped: an absurd value must not overflow `Instant + Duration`
            request_timeout: cfg
                .request_timeout
                .clamp(Duration::from_millis(100), Duration::from_secs(3600)),
            workers,
            queue: workers.saturating_mul(4),
        }
    }
}

/// Binds `cfg.listen` and serves forever.
pub fn run(cfg: &ServeConfig, gateway: Arc<Gateway>) -> Result<(), String> {
    let addr = crate::config::parse_socket_addr(&cfg.listen)?;
    let listener =
        TcpListener::bind(addr).map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    eprintln!("smsgw: listening on {}", cfg.listen);
    serve_listener(listener, gateway, Limits::from_config(cfg))
}

/// Accepted connections waiting for a worker: a bounded FIFO (a plain `Mutex` + `Condvar`, far
/// smaller in the router binary than an `mpsc` channel of its own type).
struct Backlog {
    /// Oldest first; short (4 per worker), so a `Vec` is fine and smaller than a `VecDeque`.
    queue: Mutex<Vec<(TcpStream, SocketAddr)>>,
    ready: Condvar,
    capacity: usize,
}

impl Backlog {
    fn lock(&self) -> MutexGuard<'_, Vec<(TcpStream, SocketAddr)>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a connection, or gives it back when the queue is full.
    fn push(&self, conn: TcpStream, peer: SocketAddr) -> Result<(), TcpStream> {
        let mut q = self.lock();
        if q.len() >= self.capacity {
            return Err(conn);
        }
        q.push((conn, peer));
        drop(q);
        self.ready.notify_one();
        Ok(())
    }

    /// Waits for the next connection.
    fn pop(&self) -> (TcpStream, SocketAddr) {
        let mut q = self.lock();
        loop {
            if !q.is_empty() {
                return q.remove(0);
            }
            q = self.ready.wait(q).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Serves connections from `listener` forever with a fixed worker pool.
pub fn serve_listener(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    limits: Limits,
) -> Result<(), String> {
    let backlog = Arc::new(Backlog {
        queue: Mutex::new(Vec::with_capacity(limits.queue)),
        ready: Condvar::new(),
        capacity: limits.queue,
    });
    for i in 0..limits.workers {
        let (backlog, gw) = (backlog.clone(), gateway.clone());
        std::thread::Builder::new()
            .name({
                let mut name = String::from("http-");
                super::push_u64(&mut name, i as u64);
                name
            })
            .stack_size(WORKER_STACK)
            .spawn(move || loop {
                let (stream, peer) = backlog.pop();
                handle_connection(stream, peer, &gw, limits);
            })
            .map_err(|e| format!("cannot start HTTP worker: {e}"))?;
    }
    accept_loop(&listener, &backlog)
}

/// Accepts forever. Errors never end the loop: on fd exhaustion a reserve descriptor is given up
/// so the waiting client can still be told "busy", then the loop backs off briefly.
fn accept_loop(listener: &TcpListener, backlog: &Backlog) -> Result<(), String> {
    let mut reserve = std::fs::File::open("/dev/null").ok();
    let mut last_log: Option<Instant> = None;
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                if let Err(stream) = backlog.push(stream, peer) {
                    busy(stream);
                }
            }
            Err(e) => {
                if last_log.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                    eprintln!("smsgw: accept failed (continuing): {e}");
                    last_log = Some(Instant::now());
                }
                let exhausted = matches!(
                    e.raw_os_error(),
                    Some(libc::EMFILE)
                        | Some(libc::ENFILE)
                        | Some(libc::ENOBUFS)
                        | Some(libc::ENOMEM)
                );
                if exhausted {
                    drop(reserve.take());
                    if let Ok((stream, _)) = listener.accept() {
                        busy(stream);
                    }
                    reserve = std::fs::File::open("/dev/null").ok();
                    std::thread::sleep(Duration::from_millis(50));
                } else {
                    // ECONNABORTED, EINTR, EPROTO...: the next accept is fine
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }
}

/// Overload answer written from the accept thread: never blocks it.
fn busy(mut stream: TcpStream) {
    let _ = stream.set_nonblocking(true);
    let _ = stream.write_all(
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 25\r\nRetry-After: 1\r\nConnection: close\r\n\r\nserver busy, retry later\n",
    );
    let _ = stream.shutdown(Shutdown::Write);
}

enum ReadHead {
    Done { head_len: usize },
    Error(u16, &'static str),
    Closed,
}

/// Reads until the end of the head, within the deadline and [`MAX_HEAD_BYTES`].
fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> ReadHead {
    let mut chunk = [0u8; 2048];
    loop {
        if let Some(end) = head_end(buf) {
            return ReadHead::Done { head_len: end };
        }
        if buf.len() >= MAX_HEAD_BYTES {
            return if buf.contains(&b'\n') {
                ReadHead::Error(431, "request header fields too large")
            } else {
                ReadHead::Error(414, "request line too long")
            };
        }
        match read_some(stream, &mut chunk, deadline) {
            Ok(0) if buf.is_empty() => return ReadHead::Closed,
            Ok(0) => return ReadHead::Error(400, "incomplete request head"),
            Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or(&[])),
            Err(e) if is_timeout(&e) => {
                return if buf.is_empty() {
                    ReadHead::Closed
                } else {
                    ReadHead::Error(408, "request not received in time")
                };
            }
            Err(_) => return ReadHead::Closed,
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// One `read` bounded by the absolute deadline (slowloris cannot stretch it by trickling).
fn read_some(stream: &mut TcpStream, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::ErrorKind::TimedOut.into());
    }
    stream.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
    loop {
        match stream.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

fn handle_connection(mut stream: TcpStream, peer: SocketAddr, gw: &Gateway, limits: Limits) {
    let deadline = Instant::now() + limits.request_timeout;
    let _ = stream.set_write_timeout(Some(limits.request_timeout));
    let _ = stream.set_nodelay(true);
    // refuse other networks before reading a byte of their request
    if !super::cidr::allowed(&gw.policy.clients, peer.ip()) {
        crate::status::GatewayStatus::count(&gw.status.rejected);
        respond_raw(
            &mut stream,
            403,
            &super::client_not_allowed(peer.ip()),
            true,
        );
        return;
    }
    let mut buf = Vec::with_capacity(1024);
    let head_len = match read_head(&mut stream, &mut buf, deadline) {
        ReadHead::Done { head_len } => head_len,
        ReadHead::Closed => return,
        ReadHead::Error(code, msg) => {
            respond_raw(&mut stream, code, msg, code != 408);
            return;
        }
    };
    let head = match parse_head(buf.get(..head_len).unwrap_or(&[])) {
        Ok(h) => h,
        Err(HeadError(code, msg)) => {
            respond_raw(&mut stream, code, msg, true);
            return;
        }
    };
    let mut body = buf.get(head_len..).unwrap_or(&[]).to_vec();
    if head.expect_continue && body.len() < head.content_length {
        let _ = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    let mut chunk = [0u8; 2048];
    let keep = body_keep(&head.target, head.content_length);
    let mut received = body.len();
    while received < head.content_length {
        match read_some(&mut stream, &mut chunk, deadline) {
            Ok(0) => {
                respond_raw(&mut stream, 400, "incomplete request body", false);
                return;
            }
            Ok(n) => {
                received += n;
                if body.len() < keep {
                    body.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
                }
            }
            Err(e) if is_timeout(&e) => {
                respond_raw(&mut stream, 408, "request body not received in time", false);
                return;
            }
            Err(_) => return,
        }
    }
    body.truncate(keep);
    let (path, query) = match head.target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (head.target.as_str(), ""),
    };
    let req = HttpRequest {
        method: head.method.clone(),
        path: path.to_string(),
        query: query.to_string(),
        peer: Some(peer.ip()),
        authorization: head.header("authorization").map(str::to_string),
        accept: head.header("accept").map(str::to_string),
        content_type: head.header("content-type").map(str::to_string),
        body,
    };
    let reply = gw.handle(&req);
    write_reply(&mut stream, &reply, head.minor, head.method == "HEAD");
    let _ = stream.shutdown(Shutdown::Write);
}

/// Writes a reply and flushes.
fn write_reply(stream: &mut TcpStream, reply: &Reply, minor: u8, head_only: bool) {
    let _ = stream.write_all(reply_bytes(reply, minor, head_only).as_bytes());
    let _ = stream.flush();
}

/// The whole response: status line, `Connection: close`, `Date`, the reply's headers and
/// `Content-Length`, then the body (none for `HEAD`).
fn reply_bytes(reply: &Reply, minor: u8, head_only: bool) -> String {
    let mut out = String::with_capacity(256 + reply.body.len());
    out.push_str(if minor == 0 { "HTTP/1.0 " } else { "HTTP/1.1 " });
    super::push_u64(&mut out, u64::from(reply.code));
    out.push(' ');
    out.push_str(reason(reply.code));
    out.push_str("\r\nConnection: close\r\nDate: ");
    push_http_date(&mut out, std::time::SystemTime::now());
    out.push_str("\r\nContent-Type: ");
    out.push_str(reply.content_type());
    out.push_str("\r\nCache-Control: no-store\r\n");
    if let Some(s) = reply.retry_after {
        out.push_str("Retry-After: ");
        super::push_u64(&mut out, s);
        out.push_str("\r\n");
    }
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

/// Answers a refused head. `drain`: the client may still be sending (a body we will not read);
/// read a bounded amount briefly so the kernel does not reset the connection before the answer
/// arrives. Nothing of it is kept.
fn respond_raw(stream: &mut TcpStream, code: u16, msg: &str, drain: bool) {
    let out = reply_bytes(&Reply::text(code, msg), 1, false);
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.shutdown(Shutdown::Write);
    if drain {
        let until = Instant::now() + Duration::from_millis(500);
        let mut sink = [0u8; 4096];
        let mut total = 0usize;
        while total < 256 * 1024 {
            match read_some(stream, &mut sink, until) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(s: &str) -> Result<Head, HeadError> {
        parse_head(s.as_bytes())
    }

    #[test]
    fn absurd_timeouts_are_clamped() {
        let cfg = ServeConfig {
            request_timeout: Duration::from_secs(u64::MAX),
            max_connections: 0,
            ..ServeConfig::default()
        };
        let l = Limits::from_config(&cfg);
        assert_eq!(l.request_timeout, Duration::from_secs(3600));
        assert_eq!(l.workers, 1);
        let _ = Instant::now() + l.request_timeout;
    }

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
