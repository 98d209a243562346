use super::*;
use crate::pdu::Concat;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("smsgw-in-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    let _ = fs::create_dir_all(&d);
    d
}

fn sms(text: &str, concat: Option<(u16, u8, u8)>) -> ReceivedSms {
    ReceivedSms {
        from: "+491701234567".into(),
        from_toa: 0x91,
        smsc: "+491722270333".into(),
        sent: Some(Timestamp::from_octets([
            0x62, 0x11, 0x82, 0x21, 0x43, 0x00, 0x40,
        ])),
        alphabet: Alphabet::Gsm7,
        text: text.into(),
        concat: concat.map(|(reference, total, seq)| Concat {
            reference,
            total,
            seq,
        }),
        flash: false,
        error: None,
    }
}

fn store(root: &Path, now: Instant) -> IncomingStore {
    let cfg = ServeConfig {
        multipart_timeout: Duration::from_secs(60),
        ..ServeConfig::default()
    };
    IncomingStore::open(root, &cfg, Arc::new(GatewayStatus::default()), now).unwrap()
}

#[test]
fn a_message_becomes_one_smstools_file_and_storing_it_again_adds_none() {
    let root = tmp("single");
    let now = Instant::now();
    let mut s = store(&root, now);
    s.store(&sms("Hallo €", None), now).unwrap();
    s.store(&sms("Hallo €", None), now).unwrap();
    let ids = list(&root);
    assert_eq!(ids.len(), 1);
    let f = read(&root, &ids[0].0).unwrap();
    assert_eq!(f.header("From"), Some("491701234567"));
    assert_eq!(
        f.header("From_TOA"),
        Some("91 international, ISDN/telephone")
    );
    assert_eq!(f.header("From_SMSC"), Some("491722270333"));
    assert_eq!(f.header("Sent"), Some("26-11-28 12:34:00"));
    assert_eq!(f.header("Sent_timezone"), Some("+01:00"));
    assert_eq!(f.header("Alphabet"), Some("ISO"));
    assert_eq!(f.header("Length"), Some("7"));
    assert_eq!(f.body, "Hallo €".as_bytes());
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(root.join(INCOMING).join(&ids[0].0))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    delete(&root, &ids[0].0).unwrap();
    assert!(list(&root).is_empty());
    assert!(read(&root, "../etc/passwd").is_err());
}

#[test]
fn parts_out_of_order_and_repeated_make_one_message() {
    let root = tmp("parts");
    let now = Instant::now();
    let mut s = store(&root, now);
    s.store(&sms("three", Some((300, 3, 3))), now).unwrap();
    s.store(&sms("one ", Some((300, 3, 1))), now).unwrap();
    s.store(&sms("one ", Some((300, 3, 1))), now).unwrap();
    assert!(list(&root).is_empty(), "waits for part 2");
    s.store(&sms("two ", Some((300, 3, 2))), now).unwrap();
    let ids = list(&root);
    assert_eq!(ids.len(), 1);
    let f = read(&root, &ids[0].0).unwrap();
    assert_eq!(f.body, b"one two three");
    assert_eq!(f.header("Incomplete"), None);
    assert_eq!(f.header("Part"), None);
    assert_eq!(fs::read_dir(root.join(PARTS)).unwrap().count(), 0);
}

#[test]
fn a_missing_part_is_written_incomplete_after_the_timeout_even_across_a_restart() {
    let root = tmp("incomplete");
    let t0 = Instant::now();
    let mut s = store(&root, t0);
    s.store(&sms("first ", Some((7, 3, 1))), t0).unwrap();
    drop(s);
    // Restart: the part on disk is taken up again, its timeout starts anew.
    let t1 = t0 + Duration::from_secs(30);
    let mut s = store(&root, t1);
    s.tick(t1 + Duration::from_secs(59));
    assert!(list(&root).is_empty());
    s.store(&sms("third", Some((7, 3, 3))), t1).unwrap();
    s.tick(t1 + Duration::from_secs(60));
    let ids = list(&root);
    assert_eq!(ids.len(), 1);
    let f = read(&root, &ids[0].0).unwrap();
    assert_eq!(f.body, b"first third");
    assert_eq!(f.header("Incomplete"), Some("yes"));
}

#[test]
fn crash_after_the_parts_before_assembly_writes_the_message_once_at_restart() {
    let root = tmp("crash");
    let now = Instant::now();
    let mut s = store(&root, now);
    s.store(&sms("a", Some((9, 2, 1))), now).unwrap();
    // As if part 2 had been written and the process died before assembling.
    let mut f = file_of(&sms("b", Some((9, 2, 2))), SystemTime::now());
    let key = fnv(&[b"+491701234567", &9u16.to_le_bytes(), &[2]]);
    f.headers.push((HDR_PART.into(), "2/2".into()));
    write_new(
        &root.join(PARTS),
        &format!("{key:016x}-002"),
        &f.to_bytes().unwrap(),
    )
    .unwrap();
    drop(s);
    let _s = store(&root, now);
    let ids = list(&root);
    assert_eq!(ids.len(), 1);
    assert_eq!(read(&root, &ids[0].0).unwrap().body, b"ab");
}

#[test]
fn a_forwarded_sms_from_an_international_number_has_its_plus() {
    // `"from":"+491701234567"`, as `/messages` shows it, not the file's bare digits
    let root = tmp("forward-plus");
    fs::create_dir_all(root.join(crate::forward::FORWARD_DIR)).unwrap();
    let now = Instant::now();
    let mut s = store(&root, now);
    s.store(&sms("Door open", None), now).unwrap();
    let body = fs::read_dir(root.join(crate::forward::FORWARD_DIR))
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .next()
        .unwrap();
    assert!(body.contains("\"from\":\"+491701234567\""), "{body}");
    let _ = fs::remove_dir_all(&root);
}
