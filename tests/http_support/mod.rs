//! Shared helpers for the HTTP black-box tests: start the real binary on a free loopback port,
//! talk raw HTTP over TcpStream, run curl/wget, inspect the spool.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "test-token-123";
pub const PHONE: &str = "+491701234567";

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A fresh empty directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "smsgw-{tag}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_smsgw")
}

/// A running `smsgw serve --device sim` on 127.0.0.1; killed and cleaned up on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
    pub spool: PathBuf,
    pub log: PathBuf,
}

impl Server {
    /// Starts with `--token TOKEN --rate-limit 0 --duplicate-window 0`, then `extra` (later wins).
    pub fn start(extra: &[&str]) -> Server {
        Self::start_with(extra, |_| {})
    }

    pub fn start_with(extra: &[&str], tweak: impl FnOnce(&mut Command)) -> Server {
        Self::start_inner(true, extra, tweak)
    }

    /// Starts without `--token` (the daemon generates one into DIR/token).
    pub fn start_without_token(extra: &[&str]) -> Server {
        Self::start_inner(false, extra, |_| {})
    }

    fn start_inner(with_token: bool, extra: &[&str], tweak: impl FnOnce(&mut Command)) -> Server {
        let dir = temp_dir("http");
        let spool = dir.join("spool");
        let log = dir.join("log");
        let port = free_port();
        let mut cmd = Command::new(bin());
        cmd.args(["serve", "--device", "sim", "--spool"])
            .arg(&spool)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(if with_token {
                &["--token", TOKEN][..]
            } else {
                &[][..]
            })
            .args(["--rate-limit", "0", "--duplicate-window", "0"])
            .arg("--token-file")
            .arg(dir.join("token"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("stdout")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap());
        tweak(&mut cmd);
        let child = cmd.spawn().expect("start smsgw");
        let mut s = Server {
            child,
            port,
            dir,
            spool,
            log,
        };
        let until = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(s.alive(), "smsgw exited at start: {}", s.log_text());
            assert!(Instant::now() < until, "smsgw did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Everything the daemon logged: stdout (info, as procd logs it) then stderr (errors).
    pub fn log_text(&self) -> String {
        self.stdout_text() + &self.stderr_text()
    }

    pub fn stdout_text(&self) -> String {
        std::fs::read_to_string(self.dir.join("stdout")).unwrap_or_default()
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn get(&self, target: &str) -> Response {
        self.raw(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
    }

    pub fn raw(&self, req: &[u8]) -> Response {
        raw_request(self.port, req).expect("a response")
    }

    /// Files in outgoing/, sent/ and failed/ (everything that was queued).
    pub fn queued(&self) -> Vec<PathBuf> {
        spool_files(&self.spool)
    }

    /// Threads of the server process (Linux /proc).
    pub fn threads(&self) -> usize {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    }

    /// Peak resident memory of the server process in KiB (Linux `VmHWM`).
    pub fn peak_rss_kib(&self) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// Asserts the server answers a normal request right now (the "second client").
    pub fn assert_serving(&self) {
        let r = raw_request(self.port, b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("second client answered");
        assert_eq!(r.code, 200, "second client: {r:?}");
        assert!(r.body.contains("\"uptime_seconds\""));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every queued message file: regular files in the spool's subdirectories (outgoing/, sent/,
/// failed/, or whatever the spool adds), except its tmp/ and hidden entries.
pub fn spool_files(spool: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(spool) else {
        return out;
    };
    for d in dirs.filter_map(|e| e.ok()) {
        let name = d.file_name().to_string_lossy().to_string();
        if name == "tmp" || name.starts_with('.') || !d.path().is_dir() {
            continue;
        }
        if let Ok(rd) = std::fs::read_dir(d.path()) {
            out.extend(
                rd.filter_map(|e| e.ok())
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .map(|e| e.path())
                    .filter(|p| p.is_file()),
            );
        }
    }
    out.sort();
    out
}

/// Waits (generously) until `n` message files can be read, returning their contents.
pub fn wait_queued(spool: &Path, n: usize) -> Vec<String> {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        // a file may move (outgoing -> sent) between listing and reading: then list again
        let contents: Vec<String> = spool_files(spool)
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .collect();
        if contents.len() >= n || Instant::now() > until {
            return contents;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The `To:` header value of a spool file (None if absent).
pub fn to_header(file: &str) -> Option<String> {
    let head = file.split_once("\n\n").map(|(h, _)| h).unwrap_or(file);
    head.lines()
        .find_map(|l| l.strip_prefix("To:"))
        .map(|v| v.trim().to_string())
}

/// Whether the file is addressed to `number` (the spool may or may not keep the leading `+`).
pub fn addressed_to(file: &str, number: &str) -> bool {
    to_header(file).is_some_and(|t| t.trim_start_matches('+') == number.trim_start_matches('+'))
}

/// The message body of a spool file (after the blank line; one trailing newline ignored).
pub fn body_of(file: &str) -> String {
    let body = file.split_once("\n\n").map(|(_, b)| b).unwrap_or("");
    body.strip_suffix('\n').unwrap_or(body).to_string()
}

#[derive(Debug, Clone)]
pub struct Response {
    pub code: u16,
    pub head: String,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

pub fn parse_response(raw: &[u8]) -> Option<Response> {
    let text = String::from_utf8_lossy(raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    head.starts_with("HTTP/1.").then(|| Response {
        code,
        head: head.to_string(),
        body: body.to_string(),
    })
}

/// Sends `req`, half-closes, reads the whole answer (generous timeout).
pub fn raw_request(port: u16, req: &[u8]) -> Option<Response> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(30))).ok()?;
    let _ = s.write_all(req);
    let _ = s.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    parse_response(&out)
}

/// Percent-encodes every byte that is not unreserved (like curl --data-urlencode).
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn sms_query(phone: &str, message: &str) -> String {
    format!(
        "/cgi-bin/sms?token={TOKEN}&phone={}&message={}",
        enc(phone),
        enc(message)
    )
}
