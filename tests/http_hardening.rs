//! tiny_http 0.12's known flaws (DESIGN.md field notes), each thrown at the real binary: while the
//! attack is under way a second client must be answered, and the process must be alive afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a finding

mod http_support;
use http_support::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

fn read_all(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).to_string()
}

#[test]
fn huge_content_length_with_unread_body() {
    let mut s = Server::start(&[]);
    for cl in [
        "3000000000",
        "18446744073709551615",
        "99999999999999999999999999",
    ] {
        let mut c = connect(s.port);
        let head = format!(
            "POST /cgi-bin/sms HTTP/1.1\r\nHost: x\r\nContent-Length: {cl}\r\n\r\nphone=1&message="
        );
        c.write_all(head.as_bytes()).unwrap();
        // keep the connection open and keep trickling body bytes while another client is served
        s.assert_serving();
        let _ = c.write_all(&[b'a'; 4096]);
        let answer = read_all(&mut c);
        assert!(answer.starts_with("HTTP/1.1 413 "), "{cl}: {answer}");
    }
    // and the same with Expect: 100-continue, which must not be answered with 100
    let mut c = connect(s.port);
    c.write_all(
        b"POST /cgi-bin/sms HTTP/1.1\r\nContent-Length: 3000000000\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    let answer = read_all(&mut c);
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    s.assert_serving();
    assert!(s.alive());
    assert!(s.queued().is_empty());
    // nothing near Content-Length was ever allocated
    let peak = s.peak_rss_kib();
    assert!(peak < 32 * 1024, "peak RSS {peak} KiB");
}

#[test]
fn slowloris_clients_are_cut_off_at_the_deadline() {
    let mut s = Server::start(&["--request-timeout", "2", "--max-connections", "4"]);
    // three slow clients trickle a header byte every 300 ms: each read succeeds, so only an
    // absolute deadline ends them
    let started = Instant::now();
    let mut slow: Vec<TcpStream> = (0..3).map(|_| connect(s.port)).collect();
    for c in &mut slow {
        c.write_all(b"GET /status HTTP/1.1\r\nX-Slow: ").unwrap();
    }
    let mut cut = vec![false; slow.len()];
    while started.elapsed() < Duration::from_secs(20) && cut.iter().any(|c| !c) {
        for (i, c) in slow.iter_mut().enumerate() {
            if !cut[i] && c.write_all(b"a").is_err() {
                cut[i] = true;
            }
        }
        // the fourth worker still serves others
        s.assert_serving();
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(cut.iter().all(|&c| c), "slow clients must be disconnected");
    for c in &mut slow {
        let answer = read_all(c);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408 "),
            "{answer}"
        );
    }
    // a slow *body* is cut off too
    let mut c = connect(s.port);
    c.write_all(b"POST /cgi-bin/sms HTTP/1.1\r\nContent-Length: 100\r\n\r\nphone=")
        .unwrap();
    s.assert_serving();
    let answer = read_all(&mut c);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(s.alive());
}

#[test]
fn many_connections_do_not_grow_threads_without_bound() {
    let mut s = Server::start(&["--max-connections", "8", "--request-timeout", "3"]);
    // once a request is answered the accept loop runs, so every worker has been spawned
    s.assert_serving();
    let base = s.threads();
    // 300 idle connections: more than workers plus queue
    let idle: Vec<TcpStream> = (0..300)
        .filter_map(|_| TcpStream::connect(("127.0.0.1", s.port)).ok())
        .collect();
    assert!(idle.len() >= 200, "could open {} connections", idle.len());
    std::thread::sleep(Duration::from_millis(300));
    let during = s.threads();
    // bounded: the 8 workers exist from the start; 300 connections add none
    assert!(during <= base + 2, "threads grew from {base} to {during}");
    assert!(during <= 8 + 12, "{during} threads for 8 workers");
    // a second client is answered meanwhile: served, or told "busy" right away
    let r = raw_request(s.port, b"GET /status HTTP/1.1\r\n\r\n").expect("answered");
    assert!(r.code == 200 || r.code == 503, "{r:?}");
    drop(idle);
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        match raw_request(s.port, b"GET /status HTTP/1.1\r\n\r\n") {
            Some(r) if r.code == 200 => break,
            _ => assert!(Instant::now() < until, "not serving again after the flood"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(s.alive());
}

#[test]
fn over_long_request_lines_and_headers() {
    let mut s = Server::start(&[]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            [
                b"GET /cgi-bin/sms?phone=".as_slice(),
                &vec![b'1'; 1_000_000],
                b" HTTP/1.1\r\n\r\n",
            ]
            .concat(),
            "414",
        ),
        (
            [
                b"GET / HTTP/1.1\r\nX-Long: ".as_slice(),
                &vec![b'a'; 1_000_000],
                b"\r\n\r\n",
            ]
            .concat(),
            "431",
        ),
        (
            [
                b"GET / HTTP/1.1\r\n".as_slice(),
                &b"X: y\r\n".repeat(100_000),
                b"\r\n",
            ]
            .concat(),
            "431",
        ),
        (
            [
                b"GET / HTTP/1.1\r\n".as_slice(),
                &b"X: y\r\n".repeat(70),
                b"\r\n",
            ]
            .concat(),
            "431",
        ),
    ];
    for (req, code) in cases {
        let mut c = connect(s.port);
        let writer = {
            let mut w = c.try_clone().unwrap();
            std::thread::spawn(move || {
                let _ = w.write_all(&req);
                let _ = w.shutdown(Shutdown::Write);
            })
        };
        let answer = read_all(&mut c);
        let _ = writer.join();
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {code} ")),
            "want {code}: {answer:.80}"
        );
        s.assert_serving();
    }
    assert!(s.alive());
    let peak = s.peak_rss_kib();
    assert!(peak < 32 * 1024, "peak RSS {peak} KiB after megabyte heads");
}

#[test]
fn accept_errors_do_not_end_the_server() {
    // 64 descriptors: 16 workers + a queue of 64 hold more, so accept() fails with EMFILE
    let mut s = Server::start_with(
        &["--max-connections", "16", "--request-timeout", "2"],
        |c| {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe and touches only the child being spawned.
            unsafe {
                c.pre_exec(|| {
                    let lim = libc::rlimit {
                        rlim_cur: 64,
                        rlim_max: 64,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        },
    );
    let idle: Vec<TcpStream> = (0..120)
        .filter_map(|_| TcpStream::connect(("127.0.0.1", s.port)).ok())
        .collect();
    assert!(idle.len() >= 100);
    // a second client gets an answer while descriptors are exhausted (busy, or served)
    let r = raw_request(s.port, b"GET /status HTTP/1.1\r\n\r\n").expect("answered during EMFILE");
    assert!(r.code == 200 || r.code == 503, "{r:?}");
    let until = Instant::now() + Duration::from_secs(20);
    while !s.log_text().contains("accept failed") {
        assert!(
            Instant::now() < until,
            "EMFILE was never hit: {}",
            s.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(idle);
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        match raw_request(s.port, b"GET /status HTTP/1.1\r\n\r\n") {
            Some(r) if r.code == 200 => break,
            _ => assert!(Instant::now() < until, "not serving after accept errors"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(s.get(&sms_query(PHONE, "still here")).code, 200);
    assert!(s.alive());
}

#[test]
fn idle_connections_from_refused_addresses_cannot_starve_the_workers() {
    // 127.0.0.1 is outside the allowlist: every connection is refused in the accept loop, at
    // once, without a worker (one worker, queue of 4) and without waiting for the client
    let s = Server::start(&["--allow-client", "10.0.0.0/8", "--max-connections", "1"]);
    let mut idle: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(("127.0.0.1", s.port)).unwrap())
        .collect();
    for c in &mut idle {
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let answer = read_all(c);
        assert!(answer.starts_with("HTTP/1.1 403 "), "{answer:?}");
        assert!(answer.contains("client address 127.0.0.1 not allowed"));
    }
}
