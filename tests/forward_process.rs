//! Forwarding against the real binary (`serve --device sim --forward-url ...`) and a real HTTP
//! receiver on loopback: an event queued in `SPOOL/forward/` while the target is down stays
//! queued across a restart and is delivered (with the bearer token) once the target is up.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a finding

mod http_support;
use http_support::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Accepts one request, answers 200, hands (head, body) over.
fn receive_one(listener: TcpListener) -> mpsc::Receiver<(String, String)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut r = BufReader::new(conn);
        let (mut head, mut len) = (String::new(), 0);
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
            head.push_str(&line);
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body).unwrap();
        r.get_mut()
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        tx.send((head, String::from_utf8(body).unwrap())).unwrap();
    });
    rx
}

#[test]
fn a_pending_forward_survives_a_restart_and_is_delivered_when_the_target_is_up() {
    let dir = temp_dir("forward");
    let spool = dir.join("spool");
    let queue = spool.join("forward");
    std::fs::create_dir_all(&queue).unwrap();
    let event = r#"{"event":"received","id":"GSM1.test","from":"+491701234567","text":"Grüße","time":"26-11-28 10:00:00","incomplete":false}"#;
    std::fs::write(queue.join("000000000001-0000000000-1.json"), event).unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let spool_arg = spool.to_str().unwrap();
    let args = [
        "--spool",
        spool_arg,
        "--forward-url",
        url.as_str(),
        "--forward-token",
        "fw-secret",
    ];
    {
        // the target is down: the event stays queued
        let s = Server::start(&args);
        std::thread::sleep(Duration::from_millis(500));
        assert!(queue.join("000000000001-0000000000-1.json").exists());
        assert!(s.log_text().contains("will retry"), "{}", s.log_text());
    } // restart
    let rx = receive_one(TcpListener::bind(("127.0.0.1", port)).unwrap());
    let _s = Server::start(&args);
    let (head, body) = rx.recv_timeout(Duration::from_secs(20)).expect("delivered");
    assert!(head.starts_with("POST /hook HTTP/1.1\r\n"), "{head}");
    assert!(
        head.contains("Authorization: Bearer fw-secret\r\n"),
        "{head}"
    );
    assert!(
        head.contains("Content-Type: application/json\r\n"),
        "{head}"
    );
    assert_eq!(body, event);
    let until = Instant::now() + Duration::from_secs(5);
    while std::fs::read_dir(&queue).unwrap().count() > 0 {
        assert!(Instant::now() < until, "delivered event not removed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_forward_url_with_a_host_name_is_refused_at_start() {
    let dir = temp_dir("forward-bad");
    let out = std::process::Command::new(bin())
        .args([
            "serve",
            "--device",
            "sim",
            "--no-auth",
            "--listen",
            "127.0.0.1:0",
            "--spool",
        ])
        .arg(dir.join("spool"))
        .args(["--forward-url", "http://hooks.example.com/sms"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("host names are not resolved"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_received_sms_is_forwarded_as_json() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/in");
    let rx = receive_one(TcpListener::bind(("127.0.0.1", port)).unwrap());
    let s = Server::start(&["--forward-url", url.as_str()]);
    // the built-in sim answers a text starting with "echo" with a received SMS
    let r = s.get(&format!(
        "/cgi-bin/sms?token={TOKEN}&phone=%2B491701234567&message=echo+hello+there"
    ));
    assert_eq!(r.code, 200, "{}", r.body);
    let (head, body) = rx.recv_timeout(Duration::from_secs(30)).expect("forwarded");
    assert!(head.starts_with("POST /in HTTP/1.1\r\n"), "{head}");
    assert!(body.contains(r#""event":"received""#), "{body}");
    assert!(body.contains("hello there"), "{body}");
    // queued for forwarding just before the file is written: wait for the file
    let until = Instant::now() + Duration::from_secs(5);
    let incoming = loop {
        let names: Vec<_> = std::fs::read_dir(s.spool.join("incoming"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().into_string().unwrap())
            .filter(|n| !n.starts_with('.'))
            .collect();
        if !names.is_empty() || Instant::now() > until {
            break names;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(incoming.len(), 1, "{incoming:?}");
    assert!(
        body.contains(&format!(r#""id":"{}""#, incoming[0])),
        "{body} {incoming:?}"
    );
}
