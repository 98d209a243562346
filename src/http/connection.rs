//! One connection: reads the request head and body within the deadline, hands the request to
//! [`Gateway::handle`] and writes its reply.
//!
//! Owns per-connection timeouts (an absolute deadline slowloris cannot stretch) and the short
//! error answers for bad heads. Must not decide anything about SMS, and must not accept or queue
//! connections (that is `server`).

use super::head::{body_kept, head_end, parse_head, HeadError, MAX_HEAD_BYTES};
use super::response::{reply_bytes, write_reply};
use super::server::Limits;
use super::{Gateway, HttpRequest, Reply};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

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

pub(super) fn handle_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    gw: &Gateway,
    limits: Limits,
) {
    let deadline = Instant::now() + limits.request_timeout;
    let _ = stream.set_write_timeout(Some(limits.request_timeout));
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
        // The answer then comes as a second write: no Nagle wait for the ACK of the first. (Every
        // other answer is one write followed by close, which Nagle never delays.)
        let _ = stream.set_nodelay(true);
        let _ = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    let mut chunk = [0u8; 2048];
    let keep = body_kept(&head.target, head.content_length);
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
    // Dropping the stream closes it: the FIN follows the answer (a `shutdown` first would add a
    // system call and change nothing).
    write_reply(&mut stream, &reply, head.minor, head.method == "HEAD");
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
