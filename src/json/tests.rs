use super::*;
use proptest::prelude::*;

const BIG: usize = 1 << 20;

fn ok(s: &str) -> Value {
    parse(s.as_bytes(), BIG).unwrap()
}

fn kind(s: &[u8]) -> JsonErrorKind {
    parse(s, BIG).unwrap_err().kind
}

fn string(s: &str) -> String {
    let mut o = String::new();
    push_string(&mut o, s);
    o
}

/// Writes any value (the tests' serializer for round trips).
fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(n),
        Value::String(s) => push_string(out, s),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, x);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut w = ObjectWriter::new(out);
            for (k, x) in m {
                write_value(w.key(k), x);
            }
            w.end();
        }
    }
}

#[test]
fn reads_every_kind_of_value() {
    let v = ok(r#" {"a": [1, -2.5e+3, 0, true, false, null], "b": {"c": "d"}, "e": ""} "#);
    let a = v.get("a").unwrap().as_array().unwrap();
    assert_eq!(a.len(), 6);
    assert_eq!(a[0].as_u64(), Some(1));
    assert_eq!(a[1], Value::Number("-2.5e+3".into()));
    assert_eq!(a[3], Value::Bool(true));
    assert_eq!(a[5], Value::Null);
    assert_eq!(v.get("b").unwrap().get("c").unwrap().as_str(), Some("d"));
    assert_eq!(v.get("e").unwrap().as_str(), Some(""));
    assert_eq!(v.get("zz"), None);
    assert_eq!(ok("7"), Value::Number("7".into()));
}

#[test]
fn escapes_decode_including_surrogate_pairs() {
    let v = ok(r#""a\"b\\c\/d\b\f\n\r\t\u00e9\u20AC\ud83d\ude00 plain é😀""#);
    assert_eq!(
        v.as_str().unwrap(),
        "a\"b\\c/d\u{8}\u{c}\n\r\t\u{e9}€😀 plain é😀"
    );
}

#[test]
fn lone_or_reversed_surrogates_are_refused() {
    for s in [
        r#""\ud83d""#,
        r#""\ud83dx""#,
        r#""\ude00""#,
        r#""\ude00\ud83d""#,
        r#""\ud83d\u0041""#,
    ] {
        assert_eq!(kind(s.as_bytes()), JsonErrorKind::LoneSurrogate, "{s}");
    }
}

#[test]
fn malformed_documents_name_the_problem() {
    let cases: &[(&[u8], JsonErrorKind)] = &[
        (b"", JsonErrorKind::UnexpectedEnd),
        (b"{", JsonErrorKind::UnexpectedEnd),
        (b"{\"a\":1,}", JsonErrorKind::Unexpected),
        (b"[1,]", JsonErrorKind::Unexpected),
        (b"[1 2]", JsonErrorKind::Unexpected),
        (b"{'a':1}", JsonErrorKind::Unexpected),
        (b"{\"a\" 1}", JsonErrorKind::Unexpected),
        (b"tru", JsonErrorKind::UnexpectedEnd),
        (b"nul!", JsonErrorKind::Unexpected),
        (b"\"a\\x\"", JsonErrorKind::BadEscape),
        (b"\"\\u12g4\"", JsonErrorKind::BadEscape),
        (b"\"a\nb\"", JsonErrorKind::ControlInString),
        (b"\"abc", JsonErrorKind::UnexpectedEnd),
        (b"01", JsonErrorKind::TrailingData),
        (b"-", JsonErrorKind::BadNumber),
        (b"1.", JsonErrorKind::BadNumber),
        (b"1e", JsonErrorKind::BadNumber),
        (b".5", JsonErrorKind::Unexpected),
        (b"+1", JsonErrorKind::Unexpected),
        (b"{\"a\":1,\"a\":2}", JsonErrorKind::DuplicateKey),
        (b"{} {}", JsonErrorKind::TrailingData),
        (b"\"\xff\"", JsonErrorKind::NotUtf8),
        (b"\"\xed\xa0\x80\"", JsonErrorKind::NotUtf8),
    ];
    for (doc, want) in cases {
        assert_eq!(kind(doc), *want, "{:?}", String::from_utf8_lossy(doc));
    }
}

#[test]
fn error_message_is_one_readable_line_with_the_offset() {
    let e = parse(b"{\"a\": tx}", BIG).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid JSON: unexpected character at byte 7"
    );
}

#[test]
fn size_and_depth_limits_hold() {
    assert_eq!(
        parse(b"[1, 2, 3]", 8).unwrap_err().kind,
        JsonErrorKind::TooLarge
    );
    let deep_ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
    assert!(parse(deep_ok.as_bytes(), BIG).is_ok());
    let too_deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
    assert_eq!(kind(too_deep.as_bytes()), JsonErrorKind::TooDeep);
    // a million open brackets: refused quickly, no stack overflow
    assert_eq!(
        kind("[".repeat(1_000_000).as_bytes()),
        JsonErrorKind::TooDeep
    );
    assert_eq!(
        kind("{\"a\":".repeat(100_000).as_bytes()),
        JsonErrorKind::TooDeep
    );
}

#[test]
fn integers_only_for_as_u64() {
    assert_eq!(ok("18446744073709551615").as_u64(), Some(u64::MAX));
    assert_eq!(ok("18446744073709551616").as_u64(), None);
    assert_eq!(ok("-1").as_u64(), None);
    assert_eq!(ok("1.0").as_u64(), None);
    assert_eq!(ok("\"1\"").as_u64(), None);
}

#[test]
fn writer_escapes_everything_dangerous() {
    assert_eq!(
        string("a\"b\\c\n\u{1}\u{2028}é"),
        "\"a\\\"b\\\\c\\n\\u0001\\u2028é\""
    );
    let mut o = String::new();
    ObjectWriter::new(&mut o)
        .str("s", "x")
        .u64("n", 42)
        .i64("m", -7)
        .bool("b", true)
        .null("z")
        .strs("l", &["a".into(), "b".into()])
        .end();
    assert_eq!(
        o,
        r#"{"s":"x","n":42,"m":-7,"b":true,"z":null,"l":["a","b"]}"#
    );
}

fn value_strategy() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.to_string())),
        "[0-9]{1,5}\\.[0-9]{1,3}[eE][+-]?[0-9]{1,2}"
            .prop_map(|n| Value::Number(n.trim_start_matches('0').to_string().replace('.', "0."))),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse(&bytes, BIG);
    }

    #[test]
    fn any_string_round_trips_through_the_writer(s in any::<String>()) {
        let doc = string(&s);
        prop_assert_eq!(parse(doc.as_bytes(), BIG).unwrap(), Value::String(s));
    }

    #[test]
    fn written_values_read_back_equal(v in value_strategy()) {
        let mut doc = String::new();
        write_value(&mut doc, &v);
        prop_assert_eq!(parse(doc.as_bytes(), BIG), Ok(v));
    }

    #[test]
    fn mutated_valid_documents_never_panic(
        v in value_strategy(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let mut doc = String::new();
        write_value(&mut doc, &v);
        let mut bytes = doc.into_bytes();
        for (at, byte, op) in edits {
            if bytes.is_empty() {
                bytes.push(byte);
                continue;
            }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => { bytes.remove(i); }
            }
        }
        if let Ok(back) = parse(&bytes, BIG) {
            // whatever is accepted must be re-writable and read back the same
            let mut again = String::new();
            write_value(&mut again, &back);
            prop_assert_eq!(parse(again.as_bytes(), BIG), Ok(back));
        }
    }
}

#[test]
fn a_cut_document_keeps_every_complete_item() {
    let doc =
        br#"{"alerts": [{"a": 1, "s": "x"}, {"a": 2, "s": "y"}, {"a": 3, "s": "zzz"}], "n": 5}"#;
    let full = parse(doc, BIG).unwrap();
    assert_eq!(parse_prefix(doc).unwrap(), full);
    let alerts = |v: &Value| v.get("alerts").unwrap().as_array().unwrap().len();
    // cut inside the third alert's string: two whole alerts and the third's first member
    let cut = &doc[..doc.len() - 18];
    let v = parse_prefix(cut).unwrap();
    assert_eq!(alerts(&v), 3);
    assert_eq!(
        v.get("alerts").unwrap().as_array().unwrap()[2],
        Value::Object(vec![("a".into(), Value::Number("3".into()))])
    );
    // a number touching the cut may have lost digits: dropped
    let v = parse_prefix(br#"{"n": 12"#).unwrap();
    assert_eq!(v, Value::Object(vec![]));
    // a character cut in half at the end is part of the cut
    let v = parse_prefix("[\"é\", \"é".as_bytes().split_last().unwrap().1).unwrap();
    assert_eq!(v, Value::Array(vec![Value::String("é".into())]));
    // bad JSON before the cut is still refused
    assert_eq!(
        parse_prefix(b"[1, x, 2").unwrap_err().kind,
        JsonErrorKind::Unexpected
    );
    assert_eq!(
        parse_prefix(&"[".repeat(1000).into_bytes())
            .unwrap_err()
            .kind,
        JsonErrorKind::TooDeep
    );
}

proptest! {
    #[test]
    fn every_prefix_of_a_valid_document_is_salvaged_without_panic(v in value_strategy(), cut in any::<prop::sample::Index>()) {
        let mut doc = String::new();
        write_value(&mut doc, &v);
        let bytes = doc.as_bytes();
        let n = cut.index(bytes.len() + 1);
        let r = parse_prefix(&bytes[..n]);
        if n == bytes.len() && !matches!(v, Value::Number(_)) {
            prop_assert_eq!(r, Ok(v));
        } else if matches!(v, Value::Array(_) | Value::Object(_)) && n > 0 {
            prop_assert!(r.is_ok(), "{:?}", r);
        }
    }
}
