use super::*;

/// An alert as Alertmanager marshals it (field order of its Go `template.Alert`).
fn alert(status: &str, name: &str, instance: &str, summary: Option<&str>) -> String {
    let notes = match summary {
        Some(s) => format!(r#"{{"summary":"{s}","runbook_url":"https://runbooks/x"}}"#),
        None => "{}".to_string(),
    };
    format!(
        r#"{{"status":"{status}","labels":{{"alertname":"{name}","instance":"{instance}","job":"node","severity":"critical"}},"annotations":{notes},"startsAt":"2026-11-28T10:00:00.000Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph?g0.expr=up+%3D%3D+0","fingerprint":"3c5e6f1f2a7d8b9c"}}"#
    )
}

/// A webhook body in version 4's documented shape and Alertmanager's field order.
fn webhook(status: &str, alerts: &[String], group: &str, truncated: u64) -> String {
    format!(
        r#"{{"receiver":"sms","status":"{status}","alerts":[{}],"groupLabels":{group},"commonLabels":{{"job":"node","severity":"critical"}},"commonAnnotations":{{}},"externalURL":"http://alertmanager:9093","version":"4","groupKey":"{{}}:{{alertname=\"InstanceDown\"}}","truncatedAlerts":{truncated}}}"#,
        alerts.join(",")
    )
}

/// A firing notification of one `InstanceDown` alert for web1:9100.
fn one_instance_down(summary: Option<&str>, truncated: u64) -> String {
    webhook(
        "firing",
        &[alert("firing", "InstanceDown", "web1:9100", summary)],
        r#"{"alertname":"InstanceDown"}"#,
        truncated,
    )
}

fn text(body: &str) -> String {
    render(&parse_webhook(body.as_bytes(), true).unwrap())
}

#[test]
fn one_firing_alert_is_one_line_with_its_summary() {
    let body = one_instance_down(Some("web1:9100 is down"), 0);
    assert_eq!(text(&body), "[FIRING:1] InstanceDown: web1:9100 is down");
}

#[test]
fn firing_and_resolved_share_one_sms_and_group_labels_come_once() {
    let body = webhook(
        "firing",
        &[
            alert("firing", "InstanceDown", "web1:9100", Some("web1 down")),
            alert("resolved", "InstanceDown", "web2:9100", Some("web2 down")),
            alert("firing", "InstanceDown", "web3:9100", Some("web3 down")),
        ],
        r#"{"alertname":"InstanceDown","job":"node"}"#,
        0,
    );
    assert_eq!(
        text(&body),
        "[FIRING:2] InstanceDown: web1 down\nInstanceDown: web3 down\n[RESOLVED:1] InstanceDown: web2 down\njob=node"
    );
}

#[test]
fn resolved_only_notification() {
    let body = webhook(
        "resolved",
        &[alert(
            "resolved",
            "DiskFull",
            "nas:9100",
            Some("/var is full"),
        )],
        r#"{"alertname":"DiskFull"}"#,
        0,
    );
    assert_eq!(text(&body), "[RESOLVED:1] DiskFull: /var is full");
}

#[test]
fn truncated_alerts_count_in_n() {
    let body = one_instance_down(Some("web1 down"), 4);
    assert_eq!(text(&body), "[FIRING:5] InstanceDown: web1 down");
}

#[test]
fn description_then_distinguishing_labels_stand_in_for_a_missing_summary() {
    let with_description = r#"{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"HighLoad"},"annotations":{"description":"load\n  is 12"}}]}"#;
    assert_eq!(text(with_description), "[FIRING:1] HighLoad: load is 12");
    let body = one_instance_down(None, 0);
    // job and severity are common to the group: only the instance tells this one apart
    assert_eq!(text(&body), "[FIRING:1] InstanceDown: instance=web1:9100");
}

#[test]
fn bad_payloads_are_refused_with_one_line() {
    let cases = [
        ("{", "invalid JSON: unexpected end of input at byte 1"),
        ("[]", "the webhook body must be a JSON object"),
        (
            r#"{"version":"3","alerts":[]}"#,
            "unsupported Alertmanager webhook version '3' (Alertmanager's 4 and Grafana's 1 are supported)",
        ),
        (
            r#"{"version":"4"}"#,
            "field 'alerts' must be a list of alerts",
        ),
        (
            r#"{"version":"4","alerts":{}}"#,
            "field 'alerts' must be a list of alerts",
        ),
        (
            r#"{"version":"4","alerts":[1]}"#,
            "field 'alerts' must be a list of alerts",
        ),
        (
            r#"{"version":"4","alerts":[{"labels":{"a":1}}]}"#,
            "field 'labels' must be an object of strings",
        ),
        (
            r#"{"version":"4","alerts":[{"status":"odd"}]}"#,
            "field 'status' must be \"firing\" or \"resolved\"",
        ),
        (
            r#"{"version":"4","alerts":[],"truncatedAlerts":-1}"#,
            "field 'truncatedAlerts' must be a non-negative integer",
        ),
        (
            r#"{"version":"4","alerts":[]}"#,
            "the webhook payload has no alerts",
        ),
    ];
    for (body, want) in cases {
        assert_eq!(
            parse_webhook(body.as_bytes(), true)
                .unwrap_err()
                .to_string(),
            want,
            "{body}"
        );
    }
}

#[test]
fn thirty_alerts_are_cut_to_fit_max_parts_with_dots() {
    let alerts: Vec<String> = (1..=30)
        .map(|i| {
            alert(
                "firing",
                "InstanceDown",
                &format!("web{i}:9100"),
                Some(&format!(
                    "web{i}:9100 of job node has been down for more than 5 minutes"
                )),
            )
        })
        .collect();
    let body = webhook("firing", &alerts, r#"{"alertname":"InstanceDown"}"#, 0);
    assert!(body.len() > 10_000, "a realistic body: {}", body.len());
    let full = text(&body);
    assert!(full.starts_with("[FIRING:30] InstanceDown: web1:9100 of job node"));
    for max_parts in [1, 2, 6] {
        let cut = fit(&full, max_parts);
        assert!(cut.ends_with("..."), "{cut}");
        assert!(cut.starts_with("[FIRING:30] InstanceDown: web1:9100"));
        let opts = EncodeOptions {
            max_parts,
            ..EncodeOptions::default()
        };
        let parts = pdu::encode_submit("+491701234567", &cut, &opts, 0).unwrap();
        assert_eq!(parts.len(), max_parts, "uses the room it has");
        // one more character would not fit
        let longer = format!("{}x", cut);
        assert!(pdu::encode_submit("+491701234567", &longer, &opts, 0).is_err());
    }
}

#[test]
fn ucs2_text_is_cut_with_one_ellipsis_character() {
    let long = "Сервер недоступен. ".repeat(40);
    let cut = fit(&long, 2);
    assert!(cut.ends_with('…'), "{cut}");
    assert!(!cut.ends_with("...…"));
    // fills both parts (a space before the cut is dropped, so one unit may stay free)
    let units = cut.encode_utf16().count();
    assert!((2 * 67 - 1..=2 * 67).contains(&units), "{units}");
    // text that fits is left alone
    assert_eq!(fit("short", 1), "short");
}

#[test]
fn a_body_cut_short_still_yields_the_alerts_before_the_cut() {
    let alerts: Vec<String> = (1..=5)
        .map(|i| {
            alert(
                "firing",
                "InstanceDown",
                &format!("web{i}"),
                Some(&format!("web{i} down")),
            )
        })
        .collect();
    let body = webhook("firing", &alerts, r#"{"alertname":"InstanceDown"}"#, 0);
    let cut_at = body.find("web4 down").unwrap();
    let n = parse_webhook(&body.as_bytes()[..cut_at], false).unwrap();
    assert_eq!(n.firing.len(), 4, "the cut fourth alert keeps its name");
    assert_eq!(n.firing[2].detail, "web3 down");
    // nothing useful before the cut: still a message, never a refusal
    let n = parse_webhook(br#"{"receiver":"sms","status":"fir"#, false).unwrap();
    assert_eq!(render(&n), "[FIRING:0]");
}
