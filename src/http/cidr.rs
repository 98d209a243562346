//! Client allowlist: IPv4/IPv6 CIDR parsing and matching.
//!
//! Pure values only (no sockets). IPv4-mapped IPv6 peers (`::ffff:a.b.c.d`) match IPv4 ranges.
//! Never panics on any input string.

use std::net::IpAddr;

/// Used when no `--allow-client` is configured: loopback, RFC 1918, unique-local IPv6.
pub const DEFAULT_ALLOWED: [&str; 6] = [
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "::1/128",
    "fc00::/7",
];

/// One network: address bits plus prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `ADDR/LEN` or a bare `ADDR` (a single host).
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let bad = || format!("invalid client network '{s}' (want e.g. 192.168.1.0/24)");
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr = crate::net::addr::parse_ip(addr).ok_or_else(bad)?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if prefix > max {
            return Err(bad());
        }
        // `::ffff:a.b.c.d/len` is a v4 rule: peers are compared as v4 (mapped ones too)
        if let IpAddr::V6(v6) = addr {
            if let (Some(v4), Some(p)) = (v6.to_ipv4_mapped(), prefix.checked_sub(96)) {
                return Ok(Cidr {
                    addr: IpAddr::V4(v4),
                    prefix: p,
                });
            }
        }
        Ok(Cidr { addr, prefix })
    }

    pub fn contains(&self, peer: IpAddr) -> bool {
        let peer = match peer {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        match (self.addr, peer) {
            (IpAddr::V4(net), IpAddr::V4(p)) => prefix_eq(&net.octets(), &p.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(p)) => prefix_eq(&net.octets(), &p.octets(), self.prefix),
            _ => false,
        }
    }
}

/// Whether the first `prefix` bits of `a` and `b` are equal (byte-wise: no 128-bit shifts, which
/// are long code on a 32-bit CPU).
fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let bits = prefix % 8;
    if a.get(..full) != b.get(..full) {
        return false;
    }
    if bits == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - bits);
    match (a.get(full), b.get(full)) {
        (Some(x), Some(y)) => x & mask == y & mask,
        _ => false,
    }
}

/// Parses the configured list, or the default list when it is empty.
pub fn parse_allowlist(items: &[String]) -> Result<Vec<Cidr>, String> {
    let mut out = Vec::with_capacity(items.len().max(DEFAULT_ALLOWED.len()));
    if items.is_empty() {
        for s in DEFAULT_ALLOWED.iter() {
            out.push(Cidr::parse(s)?);
        }
    }
    for s in items {
        out.push(Cidr::parse(s)?);
    }
    Ok(out)
}

/// Appends `ip` exactly as its `Display` does (RFC 5952 for IPv6: lowercase, longest zero run
/// as `::`, IPv4-mapped as `::ffff:a.b.c.d`) without linking core's address formatters (~4 KB
/// in the router binary).
pub fn push_ip(out: &mut String, ip: IpAddr) {
    let v6 = match ip {
        IpAddr::V4(v4) => return push_ipv4(out, v4.octets()),
        IpAddr::V6(v6) => v6,
    };
    if let Some(v4) = v6.to_ipv4_mapped() {
        out.push_str("::ffff:");
        return push_ipv4(out, v4.octets());
    }
    let seg = v6.segments();
    // the longest run of two or more zero groups (the first of equal runs) becomes `::`
    let (mut best, mut best_len, mut run, mut run_len) = (0usize, 0usize, 0usize, 0usize);
    for (i, &g) in seg.iter().enumerate() {
        if g == 0 {
            if run_len == 0 {
                run = i;
            }
            run_len += 1;
            if run_len > best_len {
                (best, best_len) = (run, run_len);
            }
        } else {
            run_len = 0;
        }
    }
    let skip = if best_len > 1 {
        best..best + best_len
    } else {
        9..9
    };
    for (i, &g) in seg.iter().enumerate() {
        if skip.contains(&i) {
            if i == skip.start {
                out.push_str("::");
            }
            continue;
        }
        if i > 0 && i != skip.end {
            out.push(':');
        }
        push_hex(out, g);
    }
}

fn push_ipv4(out: &mut String, octets: [u8; 4]) {
    for (i, o) in octets.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        super::push_u64(out, u64::from(*o));
    }
}

/// Lowercase hex without leading zeros.
fn push_hex(out: &mut String, n: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut started = false;
    for &shift in [12u32, 8, 4, 0].iter() {
        let d = usize::from((n >> shift) & 0xf);
        if d != 0 || started || shift == 0 {
            started = true;
            out.push(char::from(HEX.get(d).copied().unwrap_or(b'0')));
        }
    }
}

pub fn allowed(list: &[Cidr], peer: IpAddr) -> bool {
    list.iter().any(|c| c.contains(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ip_text_matches_std_display() {
        for a in [
            "0.0.0.0",
            "127.0.0.1",
            "192.168.100.254",
            "::",
            "::1",
            "1::",
            "fe80::1",
            "2001:db8::1:0:0:1",
            "2001:db8:0:0:1:0:0:1",
            "2001:0:0:1::1",
            "1:0:2:0:3:0:4:0",
            "1:2:3:4:5:6:7:8",
            "ffff:abcd:0:0:0:0:0:0",
            "0:0:1:0:0:0:0:2",
            "::ffff:10.1.2.3",
            "::1.2.3.4",
            "64:ff9b::c000:221",
        ] {
            let ip = ip(a);
            let mut s = String::new();
            push_ip(&mut s, ip);
            assert_eq!(s, ip.to_string(), "{a}");
        }
    }

    #[test]
    fn default_list_is_loopback_and_private() {
        let l = parse_allowlist(&[]).unwrap();
        for ok in [
            "127.0.0.1",
            "10.1.2.3",
            "172.31.255.1",
            "192.168.1.20",
            "::1",
            "fd00::5",
            "::ffff:192.168.1.2",
        ] {
            assert!(allowed(&l, ip(ok)), "{ok}");
        }
        for no in [
            "8.8.8.8",
            "172.32.0.1",
            "192.169.0.1",
            "2001:db8::1",
            "::ffff:8.8.8.8",
            "fe80::1",
        ] {
            assert!(!allowed(&l, ip(no)), "{no}");
        }
    }

    #[test]
    fn v4_mapped_rules_match_v4_peers_and_v4_rules_match_mapped_peers() {
        let mapped = Cidr::parse("::ffff:127.0.0.1").unwrap();
        assert!(mapped.contains(ip("127.0.0.1")));
        assert!(mapped.contains(ip("::ffff:127.0.0.1")));
        assert!(!mapped.contains(ip("127.0.0.2")));
        let net = Cidr::parse("::ffff:192.168.0.0/112").unwrap();
        assert!(net.contains(ip("192.168.3.4")));
        assert!(!net.contains(ip("192.169.0.1")));
        let v4 = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(v4.contains(ip("::ffff:10.1.2.3")));
        // a short v6 prefix stays a v6 rule
        assert!(!Cidr::parse("::/64").unwrap().contains(ip("127.0.0.1")));
    }

    #[test]
    fn parses_hosts_prefixes_and_rejects_junk() {
        let l = parse_allowlist(&["192.168.5.7".into(), "0.0.0.0/0".into()]).unwrap();
        assert!(allowed(&l, ip("1.2.3.4")));
        let host = Cidr::parse("192.168.5.7").unwrap();
        assert!(host.contains(ip("192.168.5.7")) && !host.contains(ip("192.168.5.8")));
        assert!(Cidr::parse("::/0").unwrap().contains(ip("2001:db8::1")));
        for bad in [
            "",
            "1.2.3.4/33",
            "::1/129",
            "10.0.0.0/x",
            "hello",
            "1.2.3/8",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }
}
