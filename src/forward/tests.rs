use super::http_post::{valid_url, HttpPost};
use super::worker::{classify, Outcome, Queue, Transport, FIRST_RETRY};
use super::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

fn spool_with_forward() -> (tempdir::Dir, PathBuf) {
    let d = tempdir::Dir::new();
    let q = d.path().join(FORWARD_DIR);
    fs::create_dir_all(&q).unwrap();
    (d, q)
}

mod tempdir {
    /// A unique directory under the system temp dir, removed on drop.
    pub struct Dir(std::path::PathBuf);
    impl Dir {
        pub fn new() -> Dir {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let p = std::env::temp_dir().join(format!(
                "smsgw-forward-{}-{}",
                std::process::id(),
                N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn received(id: &str, text: &str) -> ForwardEvent {
    ForwardEvent {
        kind: EventKind::Received,
        id: id.into(),
        from: Some("+491701234567".into()),
        text: Some(text.into()),
        time: "26-11-28 10:00:00".into(),
        ..ForwardEvent::default()
    }
}

#[test]
fn event_json_has_the_documented_fields() {
    assert_eq!(
        received("GSM1.abc", "hi \"there\"\n").to_json(),
        r#"{"event":"received","id":"GSM1.abc","from":"+491701234567","text":"hi \"there\"\n","time":"26-11-28 10:00:00","incomplete":false}"#
    );
    let report = ForwardEvent {
        kind: EventKind::Report,
        id: "r1".into(),
        to: Some("+491709999999".into()),
        message_id: Some("smsgw-1-2-3".into()),
        status: Some("delivered".into()),
        time: "26-11-28 10:00:05".into(),
        ..ForwardEvent::default()
    };
    assert_eq!(
        report.to_json(),
        r#"{"event":"report","id":"r1","to":"+491709999999","message_id":"smsgw-1-2-3","status":"delivered","time":"26-11-28 10:00:05"}"#
    );
}

#[test]
fn enqueue_is_a_no_op_when_forwarding_is_off() {
    let d = tempdir::Dir::new();
    assert!(!enqueue(d.path(), &received("a", "x")).unwrap());
    assert!(!d.path().join(FORWARD_DIR).exists());
}

#[test]
fn enqueue_writes_the_exact_body_atomically_in_order() {
    let (d, q) = spool_with_forward();
    for i in 0..3 {
        assert!(enqueue(d.path(), &received(&format!("m{i}"), "x")).unwrap());
    }
    let names = pending(&q);
    assert_eq!(names.len(), 3);
    let bodies: Vec<String> = names
        .iter()
        .map(|n| fs::read_to_string(q.join(n)).unwrap())
        .collect();
    assert_eq!(bodies[0], received("m0", "x").to_json());
    assert!(bodies[2].contains("\"id\":\"m2\""));
    // no temporary file is left behind
    assert_eq!(fs::read_dir(&q).unwrap().count(), 3);
}

#[test]
fn queued_events_are_private_files() {
    use std::os::unix::fs::PermissionsExt;
    let (d, q) = spool_with_forward();
    assert!(enqueue(d.path(), &received("m", "secret text")).unwrap());
    let name = pending(&q).pop().unwrap();
    let mode = fs::metadata(q.join(name)).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
}

#[test]
fn a_full_queue_drops_the_oldest_events() {
    let (d, q) = spool_with_forward();
    for i in 0..MAX_PENDING + 3 {
        enqueue(d.path(), &received(&format!("m{i}"), "x")).unwrap();
    }
    let names = pending(&q);
    assert_eq!(names.len(), MAX_PENDING);
    let oldest = fs::read_to_string(q.join(&names[0])).unwrap();
    assert!(oldest.contains("\"id\":\"m3\""), "{oldest}");
}

#[test]
fn statuses_map_to_delivered_refused_or_retry() {
    assert_eq!(classify(&Ok(200)), Outcome::Delivered);
    assert_eq!(classify(&Ok(204)), Outcome::Delivered);
    for code in [408, 429, 500, 502, 503] {
        assert_eq!(classify(&Ok(code)), Outcome::Retry, "{code}");
    }
    assert_eq!(classify(&Err("refused".into())), Outcome::Retry);
    for code in [301, 400, 401, 404, 413] {
        assert_eq!(classify(&Ok(code)), Outcome::Refused, "{code}");
    }
}

/// Answers from a script; records (url, bearer, body) of every attempt.
struct Scripted {
    answers: Vec<Result<u16, String>>,
    seen: Vec<(String, Option<String>, String)>,
}

impl Transport for Scripted {
    fn post(&mut self, url: &str, bearer: Option<&str>, body: &[u8]) -> Result<u16, String> {
        self.seen.push((
            url.into(),
            bearer.map(String::from),
            String::from_utf8_lossy(body).into_owned(),
        ));
        if self.answers.is_empty() {
            Ok(200)
        } else {
            self.answers.remove(0)
        }
    }
}

#[test]
fn a_target_that_is_down_is_retried_after_backoff_in_order() {
    let (d, q) = spool_with_forward();
    enqueue(d.path(), &received("first", "1")).unwrap();
    enqueue(d.path(), &received("second", "2")).unwrap();
    let mut queue = Queue::new(&q, &["http://127.0.0.1:9/a".into()], Some("tok".into()));
    let mut t = Scripted {
        answers: vec![Err("connection refused".into()), Ok(503)],
        seen: Vec::new(),
    };
    let t0 = Duration::from_secs(100);
    let next = queue.pass(&mut t, t0);
    assert_eq!(next, Some(t0 + FIRST_RETRY));
    assert_eq!(t.seen.len(), 1, "the second event waits behind the first");
    // too early: nothing is tried
    queue.pass(&mut t, t0 + FIRST_RETRY - Duration::from_millis(1));
    assert_eq!(t.seen.len(), 1);
    // second failure: the delay doubles
    let next = queue.pass(&mut t, t0 + FIRST_RETRY);
    assert_eq!(next, Some(t0 + FIRST_RETRY + FIRST_RETRY * 2));
    assert_eq!(pending(&q).len(), 2);
    // back up: both go, oldest first, and leave the queue
    let next = queue.pass(&mut t, t0 + FIRST_RETRY * 3);
    assert_eq!(next, None);
    let ids: Vec<bool> = t.seen.iter().map(|s| s.2.contains("first")).collect();
    assert_eq!(ids, [true, true, true, false]);
    assert!(t.seen.iter().all(|s| s.1.as_deref() == Some("tok")));
    assert!(pending(&q).is_empty());
}

#[test]
fn each_target_gets_each_event_once_and_a_refusal_is_not_retried() {
    let (d, q) = spool_with_forward();
    enqueue(d.path(), &received("e", "x")).unwrap();
    let urls = [
        "http://127.0.0.1:1/a".to_string(),
        "http://127.0.0.1:2/b".to_string(),
    ];
    let mut queue = Queue::new(&q, &urls, None);
    // a: ok; b: down
    let mut t = Scripted {
        answers: vec![Ok(200), Err("down".into())],
        seen: Vec::new(),
    };
    queue.pass(&mut t, Duration::ZERO);
    assert_eq!(pending(&q).len(), 1, "kept until b has it");
    // b answers 400: refused, not retried; the event is done
    t.answers = vec![Ok(400)];
    queue.pass(&mut t, FIRST_RETRY);
    let to_a = t.seen.iter().filter(|s| s.0.ends_with("/a")).count();
    assert_eq!(to_a, 1, "a is not sent the event twice");
    assert!(pending(&q).is_empty());
}

#[test]
fn pending_events_survive_a_restart() {
    let (d, q) = spool_with_forward();
    enqueue(d.path(), &received("kept", "x")).unwrap();
    {
        let mut queue = Queue::new(&q, &["http://127.0.0.1:9/".into()], None);
        let mut down = Scripted {
            answers: vec![Err("down".into())],
            seen: Vec::new(),
        };
        queue.pass(&mut down, Duration::ZERO);
    } // "process" ends
    assert_eq!(pending(&q).len(), 1);
    let mut queue = Queue::new(&q, &["http://127.0.0.1:9/".into()], None);
    let mut up = Scripted {
        answers: Vec::new(),
        seen: Vec::new(),
    };
    queue.pass(&mut up, Duration::ZERO);
    assert!(up.seen[0].2.contains("\"id\":\"kept\""));
    assert!(pending(&q).is_empty());
}

/// A real HTTP receiver on loopback: records each request's head and body, answers `status`.
fn receiver(listener: TcpListener, status: u16, log: Arc<StdMutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let mut r = BufReader::new(conn);
            let mut head = String::new();
            let mut len = 0;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            log.lock()
                .unwrap()
                .push(format!("{head}\n{}", String::from_utf8_lossy(&body)));
            let _ = r
                .get_mut()
                .write_all(format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n").as_bytes());
        }
    });
}

#[test]
fn forwards_to_a_real_http_receiver_after_it_comes_up() {
    let (d, q) = spool_with_forward();
    // reserve a port, then close it: the target is down
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/hook");
    enqueue(d.path(), &received("GSM1.x", "Grüße 😀")).unwrap();
    let mut queue = Queue::new(&q, std::slice::from_ref(&url), Some("s3cret".into()));
    let next = queue.pass(&mut HttpPost, Duration::ZERO);
    assert_eq!(next, Some(FIRST_RETRY), "connection refused: retry later");
    assert_eq!(pending(&q).len(), 1);
    // the receiver comes up on that port
    let log = Arc::new(StdMutex::new(Vec::new()));
    receiver(
        TcpListener::bind(("127.0.0.1", port)).unwrap(),
        204,
        log.clone(),
    );
    queue.pass(&mut HttpPost, FIRST_RETRY);
    assert!(pending(&q).is_empty());
    let got = log.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with("POST /hook HTTP/1.1\r\n"), "{}", got[0]);
    assert!(got[0].contains("Authorization: Bearer s3cret\r\n"));
    assert!(got[0].ends_with(&received("GSM1.x", "Grüße 😀").to_json()));
}

#[test]
fn forward_urls_are_ip_literals_with_a_path() {
    for good in [
        "http://192.168.1.10:8080/hooks/sms",
        "http://10.0.0.1",
        "http://[::1]:9/x",
    ] {
        assert!(valid_url(good), "{good}");
    }
    for bad in [
        "https://10.0.0.1/",
        "http://example.com/",
        "ftp://x",
        "http://10.0.0.1:99999/",
    ] {
        assert!(!valid_url(bad), "{bad}");
    }
}
