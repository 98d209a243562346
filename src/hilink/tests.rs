//! The HiLink backend against the HiLink simulator (scripts/lib/hilink_sim.py, a real HTTP server on
//! 127.0.0.1 with the firmware's quirks): sends, token rotation, session loss, pacing, login,
//! receiving with delete-after-write, delivery confirmations, status.

use super::*;
use std::path::PathBuf;
#[path = "../../tests/common/hilink_sim.rs"]
mod hilink_sim;
use hilink_sim::{json_str, Sim};

fn tmp_spool(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("smsgw-hilink-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn backend(sim: &Sim, spool: &std::path::Path, user_pw: Option<(&str, &str)>) -> Backend {
    let cfg = ServeConfig {
        device: sim.url.clone(),
        spool: spool.to_string_lossy().into_owned(),
        hilink_user: user_pw.map(|(u, _)| u.to_string()),
        hilink_password: user_pw.map(|(_, p)| p.to_string()),
        ..ServeConfig::default()
    };
    let status = Arc::new(GatewayStatus::default());
    std::fs::create_dir_all(spool).unwrap();
    let store = crate::spool::incoming::IncomingStore::open(
        spool,
        &cfg,
        status.clone(),
        std::time::Instant::now(),
    )
    .unwrap();
    let mut b = Backend::new(&cfg, status, Some(Box::new(store)));
    // Tests run against a fast simulator: the production gap of 1 s only slows them down.
    b.pacer = Pacer::new(Duration::ZERO, Duration::from_secs(2));
    b
}

fn files(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| std::fs::read_to_string(e.path()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn gsm_ucs2_long_and_markup_texts_arrive_exactly_once_and_unchanged() {
    let sim = Sim::start(&[]);
    let spool = tmp_spool("send");
    let mut b = backend(&sim, &spool, None);
    let long = "Part of a long alert. ".repeat(20);
    let texts = [
        "hello",
        "Grüße ✓ 😀",
        long.as_str(),
        "a < b && c > d </Content><x>",
    ];
    for (i, t) in texts.iter().enumerate() {
        assert_eq!(b.send("+491701234567", t), Ok(i as u8 + 1), "{t}");
    }
    let st = sim.state();
    assert_eq!(st.count("sent"), 4, "{}", st.0);
    for t in texts {
        assert!(
            st.has(&format!("\"content\": \"{}\"", json_str(t))),
            "{t} not sent verbatim: {}",
            st.0
        );
    }
    assert!(
        st.has("\"reserved\": \"0\"") && st.has("\"reserved\": \"1\""),
        "{}",
        st.0
    );
    assert_eq!(st.count("drafts"), 0, "a send ended in Drafts: {}", st.0);
    assert_eq!(st.list("codes"), Some("[]"), "{}", st.0);
}

#[test]
fn too_long_text_is_a_permanent_failure_before_any_request() {
    let sim = Sim::start(&[]);
    let mut b = backend(&sim, &tmp_spool("long"), None);
    let r = b.send("+491701234567", &"x".repeat(160 * 7));
    assert!(matches!(r, Err(SendError::Permanent(_))), "{r:?}");
    assert_eq!(sim.state().count("sent"), 0);
}

#[test]
fn tokens_are_used_once_each_and_rotate_from_answers() {
    let sim = Sim::start(&[]);
    let mut b = backend(&sim, &tmp_spool("tokens"), None);
    for _ in 0..5 {
        assert!(b.send("+491701234567", "tick").is_ok());
    }
    let st = sim.state();
    // A reused token would be answered 125002 by the simulator.
    assert_eq!(st.list("codes"), Some("[]"), "{}", st.0);
    assert_eq!(st.count("sent"), 5);
}

#[test]
fn session_expiry_mid_queue_loses_nothing_and_sends_nothing_twice() {
    let sim = Sim::start(&["--expire-after", "2"]);
    let mut b = backend(&sim, &tmp_spool("expiry"), None);
    for i in 0..6 {
        let r = b.send("+491701234567", &format!("queued {i}"));
        assert!(r.is_ok(), "message {i}: {r:?}");
    }
    let st = sim.state();
    assert!(st.has("125003"), "the session never expired: {}", st.0);
    assert_eq!(st.count("sent"), 6, "{}", st.0);
    for i in 0..6 {
        assert_eq!(
            st.0.matches(&format!("\"content\": \"queued {i}\""))
                .count(),
            1,
            "sent once: {}",
            st.0
        );
    }
}

#[test]
fn a_125002_storm_fails_the_send_transiently_then_it_goes_out_once() {
    let sim = Sim::start(&[]);
    let mut b = backend(&sim, &tmp_spool("storm"), None);
    sim.storm(3);
    let r = b.send("+491701234567", "after the storm");
    assert!(
        matches!(&r, Err(SendError::Transient(m)) if m.contains("125002")),
        "{r:?}"
    );
    // Later (the spool retries): the storm is over.
    assert!(b.send("+491701234567", "after the storm").is_ok());
    assert_eq!(sim.state().count("sent"), 1);
}

#[test]
fn sends_answered_113004_are_paced_and_go_out_once() {
    let sim = Sim::start(&["--too-fast-ms", "400"]);
    let mut b = backend(&sim, &tmp_spool("pace"), None);
    b.pacer = Pacer::new(Duration::from_millis(100), Duration::from_secs(2));
    for i in 0..3 {
        assert!(
            b.send("+491701234567", &format!("paced {i}")).is_ok(),
            "{i}"
        );
    }
    let st = sim.state();
    assert!(st.has("113004"), "never too fast: {}", st.0);
    assert_eq!(st.count("sent"), 3, "{}", st.0);
}

#[test]
fn login_with_a_type_4_password_then_sends() {
    let sim = Sim::start(&["--password", "s3cr€t"]);
    let mut b = backend(&sim, &tmp_spool("login"), Some(("admin", "s3cr€t")));
    assert!(b.send("+491701234567", "logged in").is_ok());
    assert!(b.send("+491701234567", "still logged in").is_ok());
    let st = sim.state();
    assert_eq!(st.number("logins"), 1, "{}", st.0);
    assert_eq!(st.count("sent"), 2);
}

#[test]
fn login_with_a_type_3_password() {
    let sim = Sim::start(&["--password", "pw", "--password-type", "3"]);
    let mut b = backend(&sim, &tmp_spool("login3"), Some(("admin", "pw")));
    assert!(b.send("+491701234567", "type 3").is_ok());
}

#[test]
fn a_stick_with_login_and_no_credentials_says_so() {
    let sim = Sim::start(&["--password", "pw"]);
    let mut b = backend(&sim, &tmp_spool("nologin"), None);
    let r = b.send("+491701234567", "x");
    assert!(
        matches!(&r, Err(SendError::NotReady(m)) if m.contains("--hilink-password")),
        "{r:?}"
    );
}

#[test]
fn a_wrong_password_is_tried_once_and_not_again_until_the_backoff() {
    let sim = Sim::start(&["--password", "right", "--max-tries", "3"]);
    let spool = tmp_spool("wrong");
    let mut b = backend(&sim, &spool, Some(("admin", "wrong")));
    for _ in 0..5 {
        let r = b.send("+491701234567", "x");
        assert!(
            matches!(&r, Err(SendError::NotReady(m)) if m.contains("108006")),
            "{r:?}"
        );
    }
    b.poll();
    assert!(
        b.status.modem().state.to_string().contains("108006"),
        "{:?}",
        b.status.modem().state
    );
    let st = sim.state();
    assert_eq!(
        st.number("wrong_logins"),
        1,
        "the login was repeated: {}",
        st.0
    );
    assert_eq!(st.count("sent"), 0);
}

#[test]
fn received_messages_are_deleted_only_after_their_file_exists() {
    let sim = Sim::start(&[]);
    let spool = tmp_spool("recv");
    let mut b = backend(&sim, &spool, None);
    sim.inject("+491709876543", "first <&> message");
    sim.inject("+491709876543", "zweite Nachricht ✓");
    // The spool cannot take files: nothing may be deleted.
    std::fs::remove_dir_all(spool.join("incoming")).unwrap();
    std::fs::write(spool.join("incoming"), "not a directory").unwrap();
    b.poll();
    let st = sim.state();
    assert_eq!(
        st.list("deleted"),
        Some("[]"),
        "deleted without a file: {}",
        st.0
    );
    std::fs::remove_file(spool.join("incoming")).unwrap();
    b.poll();
    let got = files(&spool.join("incoming"));
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got.iter()
            .any(|f| f.starts_with("From: 491709876543\n") && f.ends_with("\n\nfirst <&> message")),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|f| f.contains("Alphabet: UCS2") && f.ends_with("zweite Nachricht ✓")),
        "{got:?}"
    );
    let st = sim.state();
    assert_eq!(st.list("deleted"), Some("[40000, 40001]"), "{}", st.0);
    assert_eq!(st.count("inbox"), 0);
    b.poll();
    assert_eq!(files(&spool.join("incoming")).len(), 2, "written twice");
}

#[test]
fn a_delivery_confirmation_is_filed_as_a_report_on_the_sent_message_id() {
    let sim = Sim::start(&["--reports"]);
    let spool = tmp_spool("report");
    let mut b = backend(&sim, &spool, None);
    let status = Arc::new(GatewayStatus::default());
    let sp = Arc::new(crate::spool::Spool::open(&spool).unwrap());
    let deliveries = Arc::new(
        crate::spool::deliveries::Deliveries::open(sp, Default::default(), status.clone()).unwrap(),
    );
    let incoming = crate::spool::incoming::IncomingStore::open(
        &spool,
        &ServeConfig::default(),
        status.clone(),
        std::time::Instant::now(),
    )
    .unwrap();
    b.sink = Some(Box::new(crate::spool::deliveries::WithReports {
        messages: incoming,
        deliveries,
    }));
    let id = b.send("+491701234567", "please confirm").unwrap();
    b.poll();
    let reports = files(&spool.join("report"));
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].starts_with("From: 491701234567\n"),
        "{}",
        reports[0]
    );
    assert!(
        reports[0].contains(&format!("Message_id: {id}\n")),
        "{}",
        reports[0]
    );
    assert!(reports[0].contains("Status: 0,"), "{}", reports[0]);
    assert_eq!(
        files(&spool.join("incoming")).len(),
        0,
        "a confirmation is not an SMS"
    );
    assert_eq!(sim.state().count("inbox"), 0, "deleted once on disk");
}

#[test]
fn a_confirmation_nobody_keeps_stays_on_the_stick() {
    // the incoming store alone keeps no reports (as with an AT modem): not deleted, not lost
    let sim = Sim::start(&["--reports"]);
    let spool = tmp_spool("report-kept");
    let mut b = backend(&sim, &spool, None);
    b.send("+491701234567", "please confirm").unwrap();
    b.poll();
    assert_eq!(sim.state().count("inbox"), 1);
    assert!(
        sim.state().list("deleted") == Some("[]"),
        "{}",
        sim.state().0
    );
}

#[test]
fn status_shows_signal_network_device_and_storage_full() {
    let sim = Sim::start(&["--inbox-max", "1"]);
    let spool = tmp_spool("status");
    let mut b = backend(&sim, &spool, None);
    sim.inject("+491709876543", "fills the stick");
    std::fs::remove_dir_all(spool.join("incoming")).unwrap();
    std::fs::write(spool.join("incoming"), "blocks writing").unwrap();
    b.poll();
    let m = b.status.modem();
    assert_eq!(m.signal_dbm, Some(-69));
    assert_eq!(m.registration, Registration::Home);
    assert_eq!(
        (m.operator.as_str(), m.model.as_str()),
        ("smsgw HiLink sim", "E3372h-320")
    );
    assert!(
        m.storage_full && m.state.to_string().contains("storage full"),
        "{m:?}"
    );
}

#[test]
fn a_multipart_message_is_taken_only_when_a_later_poll_finds_it_unchanged() {
    let sim = Sim::start(&[]);
    let spool = tmp_spool("multi");
    let mut b = backend(&sim, &spool, None);
    sim.inject_typed("+491709876543", "first half", 2);
    b.poll();
    assert_eq!(
        files(&spool.join("incoming")).len(),
        0,
        "taken while the stick may still join parts"
    );
    b.poll();
    let got = files(&spool.join("incoming"));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(sim.state().count("inbox"), 0);
}

#[test]
fn firmware_without_sestokinfo_gets_its_session_from_webserver_token() {
    let sim = Sim::start(&["--no-sestokinfo", "--password", "pw"]);
    let mut b = backend(&sim, &tmp_spool("token"), Some(("admin", "pw")));
    assert!(b.send("+491701234567", "via webserver/token").is_ok());
    assert_eq!(sim.state().count("sent"), 1);
}
