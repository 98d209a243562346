//! The accept loop and the worker pool: our own accept loop, a bounded queue of accepted
//! connections and a fixed pool of worker threads that each serve one connection at a time.
//!
//! Why not `tiny_http::Server`: its flaws sit where no outside code can reach (DESIGN.md field
//! notes) — it accepts and reads on its own threads (spawned without bound), reads header lines
//! without a size cap, allocates the whole unread body (`Content-Length`) at once when a request
//! is dropped, and ends its accept loop for good on the first `accept()` error. So this module
//! owns accept (including refusing other networks there, before they take a worker), threads and
//! overload answers. One connection is `connection`, the head parser `head`, the response writer
//! `response`. It must not decide anything about SMS: that is [`Gateway::handle`].

use super::connection::handle_connection;
use super::response::reply_bytes;
use super::{Gateway, Reply, ServeError};
use crate::config::ServeConfig;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Worker thread stack: the handler needs little; untouched stack pages cost no RAM.
const WORKER_STACK: usize = 256 * 1024;

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

/// Binds `cfg.listen`.
pub fn bind(cfg: &ServeConfig) -> Result<TcpListener, ServeError> {
    let addr = crate::config::parse_socket_addr(&cfg.listen).map_err(ServeError::Listen)?;
    let listener = TcpListener::bind(addr).map_err(|error| ServeError::Bind {
        addr: cfg.listen.clone(),
        error,
    })?;
    crate::log_info!("listening on {}", cfg.listen);
    Ok(listener)
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
) -> Result<(), ServeError> {
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
            // boxed: the same `spawn` instantiation as every other thread of the gateway
            // (`modem::spawn_named`), not one of its own
            .spawn(Box::new(move || loop {
                let (stream, peer) = backlog.pop();
                handle_connection(stream, peer, &gw, limits);
            }) as Box<dyn FnOnce() + Send>)
            .map_err(ServeError::Worker)?;
    }
    accept_loop(&listener, &backlog, &gateway)
}

/// Accepts forever. Errors never end the loop: on fd exhaustion a reserve descriptor is given up
/// so the waiting client can still be told "busy", then the loop backs off briefly.
fn accept_loop(listener: &TcpListener, backlog: &Backlog, gw: &Gateway) -> Result<(), ServeError> {
    let mut reserve = std::fs::File::open("/dev/null").ok();
    let mut last_log: Option<Instant> = None;
    loop {
        match listener.accept() {
            // other networks are refused here, before they can take a worker or a queue slot
            Ok((stream, peer)) if !super::cidr::allowed(&gw.policy.clients, peer.ip()) => {
                crate::status::GatewayStatus::count(&gw.status.rejected);
                refuse(stream, peer);
            }
            Ok((stream, peer)) => {
                if let Err(stream) = backlog.push(stream, peer) {
                    busy(stream);
                }
            }
            Err(e) => {
                if last_log.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                    crate::log_error!("accept failed (continuing): {e}");
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

/// The 403 for a client outside `--allow-client`, written from the accept thread: never blocks
/// and never waits for the client. What the client already sent is read (without waiting) so
/// that closing sends a FIN after the answer, not a reset that could destroy it.
fn refuse(mut stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nonblocking(true);
    let reply = Reply::text(403, &super::client_not_allowed(peer.ip()));
    let _ = stream.write_all(reply_bytes(&reply, 1, false).as_bytes());
    let _ = stream.shutdown(Shutdown::Write);
    let mut sink = [0u8; 2048];
    for _ in 0..4 {
        if !matches!(stream.read(&mut sink), Ok(n) if n > 0) {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
