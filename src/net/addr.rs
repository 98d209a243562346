//! Socket addresses without `std`'s heavier paths: `IP:PORT` text to a `SocketAddr` (one parser
//! for the listen address and client URLs, instead of `SocketAddr`'s own `FromStr`), and a TCP
//! connect bounded by a timeout (the kernel's `SO_SNDTIMEO` bound of a blocking `connect()`,
//! instead of `TcpStream::connect_timeout`'s non-blocking poll loop): about 2 KB less on the router.
//!
//! Owns only these two; no name resolution (host names are refused, see `http_client`).

use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV6, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::time::Duration;

/// Parses `IP:PORT`, `[IPv6]:PORT` or `[IPv6%SCOPE]:PORT` (as `SocketAddr`'s `FromStr` does);
/// without a port, `default_port` is taken when given, else the text is refused.
pub fn parse_ip_port(s: &str, default_port: Option<u16>) -> Option<SocketAddr> {
    let (ip, scope, port) = if let Some(v6) = s.strip_prefix('[') {
        let (ip, after) = v6.split_once(']')?;
        let (ip, scope) = match ip.split_once('%') {
            Some((ip, scope)) => (ip, Some(scope.parse::<u32>().ok()?)),
            None => (ip, None),
        };
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return None,
        };
        (ip.parse::<std::net::Ipv6Addr>().ok()?.into(), scope, port)
    } else {
        let (ip, port) = match s.split_once(':') {
            Some((ip, p)) => (ip, Some(p)),
            None => (s, None),
        };
        (IpAddr::V4(ip.parse().ok()?), None, port)
    };
    let port = match port {
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
        Some(_) => return None,
        None => default_port?,
    };
    Some(match (ip, scope) {
        (IpAddr::V6(v6), Some(scope)) => SocketAddrV6::new(v6, port, 0, scope).into(),
        (ip, _) => SocketAddr::new(ip, port),
    })
}

/// Connects to `addr`, giving up after `timeout` (a `TimedOut` error).
pub fn connect(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: a plain socket(2) call; the descriptor is owned by the TcpStream at once.
    let fd = unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh, open socket owned by nobody else.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    // On Linux a blocking connect() gives up with EINPROGRESS when SO_SNDTIMEO runs out.
    stream.set_write_timeout(Some(timeout.max(Duration::from_millis(1))))?;
    // SAFETY: all-zero is a valid value of these plain C structs.
    let mut v4: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut v6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
    let (ptr, len) = match addr {
        SocketAddr::V4(a) => {
            v4.sin_family = libc::AF_INET as libc::sa_family_t;
            v4.sin_port = a.port().to_be();
            v4.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            let p: *const libc::sockaddr_in = &v4;
            (p.cast::<libc::sockaddr>(), std::mem::size_of_val(&v4))
        }
        SocketAddr::V6(a) => {
            v6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            v6.sin6_port = a.port().to_be();
            v6.sin6_addr.s6_addr = a.ip().octets();
            v6.sin6_flowinfo = a.flowinfo();
            v6.sin6_scope_id = a.scope_id();
            let p: *const libc::sockaddr_in6 = &v6;
            (p.cast::<libc::sockaddr>(), std::mem::size_of_val(&v6))
        }
    };
    // SAFETY: `ptr` points to a live sockaddr of `len` bytes.
    if unsafe { libc::connect(stream.as_raw_fd(), ptr, len as libc::socklen_t) } != 0 {
        let e = io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::EINPROGRESS) => io::ErrorKind::TimedOut.into(),
            _ => e,
        });
    }
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn addresses_parse_like_socketaddr_from_str() {
        for a in [
            "127.0.0.1:8767",
            "0.0.0.0:1",
            "[::1]:80",
            "[fe80::1%3]:8080",
            "[::ffff:1.2.3.4]:65535",
        ] {
            assert_eq!(parse_ip_port(a, None), a.parse().ok(), "{a}");
        }
        for bad in [
            "1.2.3.4",
            "1.2.3.4:",
            "1.2.3.4:+1",
            "1.2.3.4:65536",
            "[::1]",
            "::1:80",
            "[::1]x80",
            "host:80",
            "[fe80::1%x]:1",
            "1.2.3:80",
            "",
        ] {
            assert_eq!(parse_ip_port(bad, None), None, "{bad}");
            assert_eq!(bad.parse::<SocketAddr>().ok(), None, "{bad}");
        }
        assert_eq!(parse_ip_port("[::1]", Some(80)), "[::1]:80".parse().ok());
        assert_eq!(
            parse_ip_port("10.0.0.1", Some(80)),
            "10.0.0.1:80".parse().ok()
        );
    }

    #[test]
    fn connect_reaches_a_listener_and_refused_is_an_error() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let s = connect(&addr, Duration::from_secs(2)).unwrap();
        assert_eq!(s.peer_addr().unwrap(), addr);
        drop(l);
        let e = connect(&addr, Duration::from_secs(2)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        let l6 = TcpListener::bind("[::1]:0").unwrap();
        let a6 = l6.local_addr().unwrap();
        assert_eq!(
            connect(&a6, Duration::from_secs(2))
                .unwrap()
                .peer_addr()
                .unwrap(),
            a6
        );
    }
}
