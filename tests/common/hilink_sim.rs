//! Starts scripts/lib/hilink_sim.py (the HiLink stick simulator, loopback only) and reads its
//! control endpoints. Shared by the backend's unit tests (src/hilink/tests.rs) and the black-box
//! tests (tests/hilink.rs). Std only.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

pub struct Sim {
    child: Child,
    pub port: u16,
    pub url: String,
}

impl Sim {
    pub fn start(args: &[&str]) -> Sim {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/lib/hilink_sim.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the HiLink simulator");
        let mut line = String::new();
        let out = child.stdout.take().expect("stdout");
        BufReader::new(out).read_line(&mut line).expect("PORT line");
        let port: u16 = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .expect("PORT n");
        Sim {
            child,
            port,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    fn call(&self, method: &str, path: &str, body: &str) -> Json {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("sim listens");
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: sim\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        let body = resp.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        Json(body.to_string())
    }

    pub fn state(&self) -> Json {
        self.call("GET", "/sim/state", "")
    }

    pub fn inject(&self, phone: &str, content: &str) {
        self.inject_typed(phone, content, 1);
    }

    /// Puts a message of `SmsType` `sms_type` (1 single, 2 multipart, 7/8 confirmations) in the inbox.
    pub fn inject_typed(&self, phone: &str, content: &str, sms_type: u32) {
        let body = format!(
            "{{\"phone\": \"{phone}\", \"content\": \"{}\", \"sms_type\": {sms_type}}}",
            content.replace('\\', "\\\\").replace('"', "\\\"")
        );
        self.call("POST", "/sim/inject", &body);
    }

    pub fn storm(&self, count: u32) {
        self.call("POST", "/sim/storm", &format!("{{\"count\": {count}}}"));
    }

    pub fn expire(&self) {
        self.call("POST", "/sim/expire", "{}");
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Just enough JSON reading for the simulator's state (python's `json.dumps` output).
pub struct Json(pub String);

impl Json {
    /// The number of objects in the top-level list `key`.
    pub fn count(&self, key: &str) -> usize {
        let Some(list) = self.list(key) else { return 0 };
        let mut depth = 0;
        let mut n = 0;
        for c in list.chars() {
            match c {
                '{' | '[' => {
                    if depth == 1 && c == '{' {
                        n += 1;
                    }
                    depth += 1;
                }
                '}' | ']' => depth -= 1,
                _ => {}
            }
        }
        n
    }

    /// The raw text of the list `key`.
    pub fn list(&self, key: &str) -> Option<&str> {
        let at = self.0.find(&format!("\"{key}\": ["))? + key.len() + 4;
        let rest = &self.0[at..];
        let mut depth = 0;
        for (i, c) in rest.char_indices() {
            match c {
                '[' | '{' => depth += 1,
                ']' | '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(&rest[..=i]);
                    }
                }
                _ => {}
            }
        }
        None
    }

    pub fn number(&self, key: &str) -> i64 {
        let at = self.0.find(&format!("\"{key}\": ")).expect("key") + key.len() + 4;
        let digits: String = self.0[at..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().expect("number")
    }

    pub fn has(&self, text: &str) -> bool {
        self.0.contains(text)
    }
}

/// `s` as python's `json.dumps` writes it (non-ASCII as `\uXXXX` UTF-16 units).
pub fn json_str(s: &str) -> String {
    let mut out = String::new();
    for u in s.encode_utf16() {
        match u {
            0x22 => out.push_str("\\\""),
            0x5c => out.push_str("\\\\"),
            0x0a => out.push_str("\\n"),
            0x20..=0x7e => out.push(u as u8 as char),
            _ => out.push_str(&format!("\\u{u:04x}")),
        }
    }
    out
}
