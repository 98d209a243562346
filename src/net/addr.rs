//! Socket addresses without `std`'s heavier paths: IP address text (std's grammar in less code),
//! `IP:PORT` text to a `SocketAddr` (one parser for the listen address and client URLs, instead of
//! `SocketAddr`'s own `FromStr`), and a TCP connect bounded by a timeout (the kernel's
//! `SO_SNDTIMEO` bound of a blocking `connect()`, instead of `TcpStream::connect_timeout`'s
//! non-blocking poll loop): about 2 KB less on the router.
//!
//! Owns only these; no name resolution (host names are refused, see `http_client`).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::time::Duration;

/// `IpAddr`'s `FromStr`: the same grammar (std's `core::net::parser`, followed step by step) in
/// about half of its code on the router.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    parse_ipv4(s)
        .map(IpAddr::V4)
        .or_else(|| parse_ipv6(s).map(IpAddr::V6))
}

/// `Ipv4Addr`'s `FromStr`.
pub fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    let mut t = IpText { s: s.as_bytes() };
    let v4 = t.ipv4()?;
    t.s.is_empty().then(|| v4.into())
}

/// `Ipv6Addr`'s `FromStr`.
pub fn parse_ipv6(s: &str) -> Option<Ipv6Addr> {
    let mut t = IpText { s: s.as_bytes() };
    let v6 = t.ipv6()?;
    t.s.is_empty().then(|| v6.into())
}

/// The rest of an address being read. Every reader that fails leaves it as it was.
struct IpText<'a> {
    s: &'a [u8],
}

impl IpText<'_> {
    /// Reads the byte `c` if it comes next.
    fn byte(&mut self, c: u8) -> bool {
        match self.s.split_first() {
            Some((&b, rest)) if b == c => {
                self.s = rest;
                true
            }
            _ => false,
        }
    }

    /// 1 to `max` digits in `radix`; with `zero_prefix` false, a leading `0` only alone.
    fn number(&mut self, radix: u32, max: usize, zero_prefix: bool) -> Option<u32> {
        let start = self.s;
        let (mut n, mut count) = (0u32, 0usize);
        while let Some((d, rest)) = self
            .s
            .split_first()
            .and_then(|(&b, rest)| Some((char::from(b).to_digit(radix)?, rest)))
        {
            n = n * radix + d;
            count += 1;
            self.s = rest;
            if count > max {
                break;
            }
        }
        if count == 0 || count > max || (!zero_prefix && count > 1 && start.first() == Some(&b'0'))
        {
            self.s = start;
            return None;
        }
        Some(n)
    }

    /// Four dot-separated decimal octets.
    fn ipv4(&mut self) -> Option<[u8; 4]> {
        let start = self.s;
        let mut octets = [0u8; 4];
        for (i, o) in octets.iter_mut().enumerate() {
            let n = if i == 0 || self.byte(b'.') {
                self.number(10, 3, false)
            } else {
                None
            };
            match n.and_then(|n| u8::try_from(n).ok()) {
                Some(n) => *o = n,
                None => {
                    self.s = start;
                    return None;
                }
            }
        }
        Some(octets)
    }

    /// Up to `out.len() / 2` `:`-separated groups of 1 to 4 hex digits, the last two of them
    /// possibly written as an IPv4 address, into `out` (big-endian): how many groups were read,
    /// and whether as IPv4.
    fn groups(&mut self, out: &mut [u8]) -> (usize, bool) {
        let limit = out.len() / 2;
        for i in 0..limit {
            let before = self.s;
            if i > 0 && !self.byte(b':') {
                return (i, false);
            }
            if i + 1 < limit {
                if let Some(v4) = self.ipv4() {
                    for (o, v) in out.iter_mut().skip(2 * i).zip(v4) {
                        *o = v;
                    }
                    return (i + 2, true);
                }
            }
            match self.number(16, 4, true) {
                Some(n) => {
                    for (o, v) in out.iter_mut().skip(2 * i).zip((n as u16).to_be_bytes()) {
                        *o = v;
                    }
                }
                None => {
                    self.s = before;
                    return (i, false);
                }
            }
        }
        (limit, false)
    }

    /// Eight groups, or fewer around one `::` (which stands for at least one zero group).
    fn ipv6(&mut self) -> Option<[u8; 16]> {
        let start = self.s;
        let mut head = [0u8; 16];
        let (n, v4) = self.groups(&mut head);
        if n == 8 {
            return Some(head);
        }
        if v4 || !(self.byte(b':') && self.byte(b':')) {
            self.s = start;
            return None;
        }
        let mut tail = [0u8; 14];
        let (t, _) = self.groups(tail.get_mut(..14 - 2 * n).unwrap_or_default());
        for (h, v) in head.iter_mut().skip(16 - 2 * t).zip(tail) {
            *h = v;
        }
        Some(head)
    }
}

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
        (parse_ipv6(ip)?.into(), scope, port)
    } else {
        let (ip, port) = match s.split_once(':') {
            Some((ip, p)) => (ip, Some(p)),
            None => (s, None),
        };
        (IpAddr::V4(parse_ipv4(ip)?), None, port)
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
    fn ip_text_parses_like_std() {
        for a in [
            "0.0.0.0",
            "1.2.3.4",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "0.0.0.00",
            "1.2.3",
            "1.2.3.4.5",
            "1.2.3.4 ",
            "::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8::",
            "1::2::3",
            "::ffff:1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1.2.3.4::",
            "::1.2.3.4:1",
            "fe80::1%3",
            "12345::",
            "0000:0:0:0:0:0:0:1",
            ":",
            ":::",
            "1:",
            ":1",
            "g::",
            "",
            "1:2:3:4:5:6:7",
            "::1.2.3",
            "abcd:EF01::",
            "[::1]",
        ] {
            assert_eq!(parse_ip(a), a.parse::<IpAddr>().ok(), "{a}");
            assert_eq!(parse_ipv4(a), a.parse::<Ipv4Addr>().ok(), "{a}");
            assert_eq!(parse_ipv6(a), a.parse::<Ipv6Addr>().ok(), "{a}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        #[test]
        fn random_ip_text_parses_like_std(a in "[0-9a-fA-F:.%g]{0,24}") {
            proptest::prop_assert_eq!(parse_ip(&a), a.parse::<IpAddr>().ok());
            proptest::prop_assert_eq!(parse_ipv4(&a), a.parse::<Ipv4Addr>().ok());
            proptest::prop_assert_eq!(parse_ipv6(&a), a.parse::<Ipv6Addr>().ok());
        }

        #[test]
        fn random_ipv6_shapes_parse_like_std(
            groups in proptest::collection::vec("[0-9a-f]{0,5}|[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}", 0..10),
        ) {
            let a = groups.join(":");
            proptest::prop_assert_eq!(parse_ip(&a), a.parse::<IpAddr>().ok(), "{}", a);
        }
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
