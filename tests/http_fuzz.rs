//! Live fuzz: a few thousand random and mutated raw requests against the running binary. No crash,
//! every answer is well-formed HTTP (or a close), nothing partial in the spool, and every queued file
//! has a clean `To:` header. (The 10 000-case property tests of the pure parsers live next to them:
//! `http::query::fuzz`, `http::head::fuzz`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a finding

mod http_support;
use http_support::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const PIECES: &[&str] = &[
    "phone=",
    "message=",
    "token=",
    "flash=1",
    "report=1",
    "&",
    "=",
    "%",
    "%2B",
    "%0A",
    "%0D",
    "%00",
    "%ZZ",
    "%C3",
    "%A4",
    "%E2%82%AC",
    "+",
    ",",
    "49170",
    "1234567",
    "+491701234567",
    "Flash:",
    "x",
    " ",
    "%FF",
    "%3A",
    "\n",
    "\r\n",
    "?",
    "#",
    "/",
];

fn random_query(r: &mut Rng) -> String {
    let mut q = String::new();
    if r.below(3) > 0 {
        q.push_str(&format!("token={TOKEN}&"));
    }
    for _ in 0..r.below(12) {
        q.push_str(r.pick(PIECES));
    }
    if r.below(2) == 0 {
        q.push_str(&format!(
            "&phone={}&message=m{}",
            r.pick(&["%2B491701234567", "+491711234567", "12", "%2B49%0AX"]),
            r.below(1000)
        ));
    }
    q
}

fn random_request(r: &mut Rng) -> Vec<u8> {
    let q = random_query(r);
    let mut req = match r.below(4) {
        0 => format!(
            "POST /cgi-bin/sms HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{q}",
            q.len() + r.below(3) // sometimes claims more than it sends
        )
        .into_bytes(),
        1 => format!("{} {} HTTP/1.{}\r\nHost: x\r\n\r\n", r.pick(&["GET", "HEAD", "PUT", "G\tT", ""]), r.pick(&["/status", "/metrics", "/cgi-bin/sms", "*", "/%00"]), r.below(3)).into_bytes(),
        _ => format!("GET /cgi-bin/sms?{q} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes(),
    };
    // byte-level mutations
    for _ in 0..r.below(4) {
        if req.is_empty() {
            break;
        }
        let i = r.below(req.len());
        match r.below(3) {
            0 => req[i] = r.next() as u8,
            1 => req.insert(i, r.next() as u8),
            _ => {
                req.remove(i);
            }
        }
    }
    if r.below(20) == 0 {
        req.truncate(r.below(req.len() + 1));
    }
    req
}

#[test]
fn thousands_of_random_requests_against_the_live_server() {
    let mut s = Server::start(&["--request-timeout", "3"]);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut answered = 0;
    let mut ok = 0;
    for i in 0..3000 {
        let req = random_request(&mut rng);
        let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let _ = c.write_all(&req);
        let _ = c.shutdown(Shutdown::Write);
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        if !out.is_empty() {
            let r = parse_response(&out).unwrap_or_else(|| {
                panic!(
                    "request {i} got a malformed answer: {:?}",
                    String::from_utf8_lossy(&out)
                )
            });
            assert!((200..600).contains(&r.code));
            answered += 1;
            ok += usize::from(r.code == 200 && r.body.starts_with("done "));
        }
        if i % 500 == 0 {
            assert!(s.alive(), "server died at request {i}");
        }
    }
    assert!(s.alive());
    s.assert_serving();
    assert!(answered > 2500, "only {answered} answered");
    assert!(ok > 10, "the fuzz should also hit valid requests ({ok})");
    let tmp = std::fs::read_dir(s.spool.join("tmp"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(tmp, 0, "partial files left in tmp/");
    let files = wait_queued(&s.spool, ok);
    assert!(
        files.len() >= ok,
        "{} files for {ok} accepted requests",
        files.len()
    );
    for f in &files {
        assert!(f.contains("\n\n"), "header/body separator: {f}");
        let to = to_header(f).expect("To header");
        let digits = to.strip_prefix('+').unwrap_or(&to);
        assert!(
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
            "{f}"
        );
        assert!(!body_of(f).is_empty(), "{f}");
    }
}
