//! Black-box tests of the integration endpoints against the real binary (`serve --device sim`)
//! over loopback: the JSON send body (`POST /cgi-bin/sms`) and Alertmanager's webhook
//! (`POST /alertmanager`), with curl as the client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a finding

mod http_support;
use http_support::*;
use std::process::Command;

/// curl with a JSON body; returns (body, status code).
fn post_json(url: &str, headers: &[&str], body: &str) -> (String, String) {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-s",
        "-w",
        "\n%{http_code}",
        "-H",
        "Content-Type: application/json",
    ]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    let out = cmd
        .args(["--data-binary", "@-", url])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(body.as_bytes())?;
            c.wait_with_output()
        })
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or((&text, ""));
    (body.to_string(), code.to_string())
}

fn bearer() -> String {
    format!("Authorization: Bearer {TOKEN}")
}

#[test]
fn json_body_with_a_phone_list_queues_one_message_each() {
    let s = Server::start(&[]);
    let (body, code) = post_json(
        &s.url("/cgi-bin/sms"),
        &[&bearer()],
        r#"{"phone": ["+491701234567", "+491711234567"], "message": "Grüße \"x\" 😀", "report": true, "title": "ignored"}"#,
    );
    assert_eq!(code, "200", "{body}");
    assert!(body.starts_with("done "), "{body}");
    let files = wait_queued(&s.spool, 2);
    assert!(files.iter().any(|f| addressed_to(f, "+491701234567")));
    assert!(files.iter().any(|f| addressed_to(f, "+491711234567")));
    assert!(
        files.iter().all(|f| body_of(f) == "Grüße \"x\" 😀"),
        "{files:?}"
    );
    assert!(files.iter().all(|f| f.contains("Report: yes")), "{files:?}");
}

#[test]
fn json_answer_when_asked_and_phone_and_token_from_the_query() {
    let s = Server::start(&[]);
    let (body, code) = post_json(
        &s.url(&format!("/cgi-bin/sms?phone=%2B491701234567&token={TOKEN}")),
        &["Accept: application/json"],
        r#"{"msg": "Uptime Kuma says down"}"#,
    );
    assert_eq!(code, "200", "{body}");
    assert!(body.starts_with(r#"{"status":"done","ids":[""#), "{body}");
    let files = wait_queued(&s.spool, 1);
    assert_eq!(body_of(&files[0]), "Uptime Kuma says down");
}

#[test]
fn every_json_error_is_a_400_line_and_queues_nothing() {
    let s = Server::start(&[]);
    let cases = [
        (
            r#"{"phone": "+491701234567", "message": "x""#,
            "invalid JSON",
        ),
        (
            r#"{"phone": 491701234567, "message": "x"}"#,
            "field 'phone' must be",
        ),
        (
            r#"{"phone": "+491701234567", "message": 5}"#,
            "field 'message' must be a string",
        ),
        (
            r#"{"phone": "+491701234567", "message": "x", "flash": "1"}"#,
            "field 'flash' must be true or false",
        ),
        (r#"{"phone": "+491701234567"}"#, "missing parameter"),
        (r#"["+491701234567", "x"]"#, "must be an object"),
        (
            r#"{"phone": "+49170x", "message": "x"}"#,
            "invalid phone number",
        ),
    ];
    for (json, word) in cases {
        let (body, code) = post_json(&s.url("/cgi-bin/sms"), &[&bearer()], json);
        assert_eq!(code, "400", "{json}: {body}");
        assert!(body.contains(word), "{json}: {body}");
        assert_eq!(body.lines().count(), 1, "{body}");
    }
    // the same field in the query and the body with different values
    let (body, code) = post_json(
        &s.url("/cgi-bin/sms?phone=%2B491711234567"),
        &[&bearer()],
        r#"{"phone": "+491701234567", "message": "x"}"#,
    );
    assert_eq!(code, "400", "{body}");
    assert!(body.contains("differs"), "{body}");
    // auth still applies
    let (_, code) = post_json(
        &s.url("/cgi-bin/sms"),
        &[],
        r#"{"phone": "+491701234567", "message": "x"}"#,
    );
    assert_eq!(code, "401");
    assert!(s.queued().is_empty(), "{:?}", s.queued());
}

/// An Alertmanager v4 body in its field order with `n` firing alerts.
fn webhook(status: &str, n: usize) -> String {
    let alerts: Vec<String> = (1..=n)
        .map(|i| {
            format!(
                r#"{{"status":"{status}","labels":{{"alertname":"InstanceDown","instance":"web{i}:9100","job":"node","severity":"critical","team":"infrastructure","datacenter":"fra1"}},"annotations":{{"summary":"web{i}:9100 has been down for more than 5 minutes","description":"web{i}:9100 of job node has not answered scrapes for more than 5 minutes; check the host, its network and the exporter.","runbook_url":"https://runbooks.example.com/alerts/InstanceDown"}},"startsAt":"2026-11-28T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus.example.com:9090/graph?g0.expr=up%7Bjob%3D%22node%22%7D+%3D%3D+0&g0.tab=1","fingerprint":"{i:016x}"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"receiver":"sms","status":"{status}","alerts":[{}],"groupLabels":{{"alertname":"InstanceDown"}},"commonLabels":{{"alertname":"InstanceDown","job":"node"}},"commonAnnotations":{{}},"externalURL":"http://am:9093","version":"4","groupKey":"{{}}:{{alertname=\"InstanceDown\"}}","truncatedAlerts":0}}"#,
        alerts.join(",")
    )
}

#[test]
fn alertmanager_firing_and_resolved_become_one_sms_each() {
    let s = Server::start(&[]);
    let url = s.url("/alertmanager?phone=%2B491701234567");
    let (body, code) = post_json(&url, &[&bearer()], &webhook("firing", 1));
    assert_eq!(code, "200", "{body}");
    let (body, code) = post_json(&url, &[&bearer()], &webhook("resolved", 2));
    assert_eq!(code, "200", "{body}");
    let mut texts: Vec<String> = wait_queued(&s.spool, 2)
        .iter()
        .map(|f| body_of(f))
        .collect();
    texts.sort();
    assert_eq!(
        texts,
        [
            "[FIRING:1] InstanceDown: web1:9100 has been down for more than 5 minutes",
            "[RESOLVED:2] InstanceDown: web1:9100 has been down for more than 5 minutes\nInstanceDown: web2:9100 has been down for more than 5 minutes",
        ]
    );
}

#[test]
fn thirty_alerts_are_cut_to_max_parts_never_413() {
    let s = Server::start(&["--max-parts", "2"]);
    let body30 = webhook("firing", 30);
    assert!(
        body30.len() > 16 * 1024,
        "bigger than a send request may be"
    );
    let (body, code) = post_json(
        &s.url("/alertmanager?phone=%2B491701234567"),
        &[&bearer()],
        &body30,
    );
    assert_eq!(code, "200", "{body}");
    let files = wait_queued(&s.spool, 1);
    let text = body_of(&files[0]);
    assert!(
        text.starts_with("[FIRING:30] InstanceDown: web1:9100"),
        "{text}"
    );
    assert!(text.ends_with("..."), "{text}");
    assert!(text.len() <= 2 * 153, "{}", text.len());
}

#[test]
fn a_body_larger_than_what_is_read_is_still_answered_2xx_with_a_cut_sms() {
    let s = Server::start(&[]);
    let huge = webhook("firing", 500);
    assert!(huge.len() > 300 * 1024, "{}", huge.len());
    let (body, code) = post_json(
        &s.url("/alertmanager?phone=%2B491701234567"),
        &[&bearer()],
        &huge,
    );
    assert_eq!(code, "200", "{body}");
    let text = body_of(&wait_queued(&s.spool, 1)[0]);
    assert!(text.starts_with("[FIRING:"), "{text}");
    assert!(
        text.contains("InstanceDown: web1:9100 has been down"),
        "{text}"
    );
    assert!(text.ends_with("..."), "{text}");
}

#[test]
fn alertmanager_with_a_wrong_token_or_bad_payload_queues_nothing() {
    let s = Server::start(&[]);
    let url = s.url("/alertmanager?phone=%2B491701234567");
    let (_, code) = post_json(
        &url,
        &["Authorization: Bearer wrong"],
        &webhook("firing", 1),
    );
    assert_eq!(code, "403");
    let (_, code) = post_json(&url, &[], &webhook("firing", 1));
    assert_eq!(code, "401");
    let (body, code) = post_json(&url, &[&bearer()], r#"{"version":"4","alerts":"x"}"#);
    assert_eq!(code, "400", "{body}");
    let (body, code) = post_json(&s.url("/alertmanager"), &[&bearer()], &webhook("firing", 1));
    assert_eq!(code, "400", "no recipients: {body}");
    assert!(body.contains("--alert-to"), "{body}");
    let r = s.get("/alertmanager");
    assert_eq!(r.code, 405);
    assert!(s.queued().is_empty(), "{:?}", s.queued());
}
