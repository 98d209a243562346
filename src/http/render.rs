//! Renders `/status` (hand-written JSON) and `/metrics` (Prometheus text format 0.0.4) from a
//! `GatewayStatus` snapshot, plus the JSON string escaper used for all JSON replies.
//!
//! Read-only: never changes status, never renders the token or the IMEI.

use crate::status::GatewayStatus;
use std::fmt::Write;
use std::sync::atomic::Ordering;

/// Appends `s` as a JSON string literal (quotes included).
pub fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `/status` body.
pub fn status_json(st: &GatewayStatus) -> String {
    let m = st.modem();
    let mut o = String::with_capacity(512);
    o.push_str("{\"version\":");
    json_string(&mut o, env!("CARGO_PKG_VERSION"));
    let _ = write!(o, ",\"uptime_seconds\":{}", st.uptime_secs());
    o.push_str(",\"modem\":{\"state\":");
    json_string(&mut o, &m.state);
    o.push_str(",\"signal_dbm\":");
    match m.signal_dbm {
        Some(d) => {
            let _ = write!(o, "{d}");
        }
        None => o.push_str("null"),
    }
    o.push_str(",\"signal_quality\":");
    json_string(&mut o, m.signal_quality);
    o.push_str(",\"registration\":");
    json_string(&mut o, m.registration.as_str());
    let _ = write!(o, ",\"registered\":{}", m.registration.is_registered());
    o.push_str(",\"operator\":");
    json_string(&mut o, &m.operator);
    o.push_str(",\"manufacturer\":");
    json_string(&mut o, &m.manufacturer);
    o.push_str(",\"model\":");
    json_string(&mut o, &m.model);
    let c = |a: &crate::status::Counter| a.load(Ordering::Relaxed);
    let _ = write!(
        o,
        "}},\"queue_depth\":{},\"sent\":{},\"failed\":{},\"retried\":{},\"accepted\":{},\"rejected\":{}",
        c(&st.queue_depth),
        c(&st.sent),
        c(&st.failed),
        c(&st.retried),
        c(&st.accepted),
        c(&st.rejected)
    );
    o.push_str(",\"last_error\":");
    json_string(&mut o, &st.last_error());
    o.push_str("}\n");
    o
}

/// Escapes a Prometheus label value.
fn label(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            '\\' => vec!['\\', '\\'],
            '"' => vec!['\\', '"'],
            '\n' => vec!['\\', 'n'],
            c => vec![c],
        })
        .collect()
}

/// `/metrics` body.
pub fn metrics_text(st: &GatewayStatus) -> String {
    let m = st.modem();
    let mut o = String::with_capacity(1024);
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        let _ = write!(
            o,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        );
    };
    let c = |a: &crate::status::Counter| a.load(Ordering::Relaxed).to_string();
    metric(
        "smsgw_up",
        "gauge",
        "Always 1 while the daemon answers.",
        "1".into(),
    );
    metric(
        "smsgw_uptime_seconds",
        "gauge",
        "Seconds since the daemon started.",
        st.uptime_secs().to_string(),
    );
    metric("smsgw_sent_total", "counter", "Messages sent.", c(&st.sent));
    metric(
        "smsgw_failed_total",
        "counter",
        "Messages given up on.",
        c(&st.failed),
    );
    metric(
        "smsgw_retried_total",
        "counter",
        "Send attempts retried.",
        c(&st.retried),
    );
    metric(
        "smsgw_http_accepted_total",
        "counter",
        "Messages accepted over HTTP.",
        c(&st.accepted),
    );
    metric(
        "smsgw_http_rejected_total",
        "counter",
        "HTTP send requests refused.",
        c(&st.rejected),
    );
    metric(
        "smsgw_queue_depth",
        "gauge",
        "Messages waiting in outgoing/.",
        c(&st.queue_depth),
    );
    metric(
        "smsgw_modem_registered",
        "gauge",
        "1 when registered (home or roaming).",
        u8::from(m.registration.is_registered()).to_string(),
    );
    if let Some(d) = m.signal_dbm {
        metric(
            "smsgw_modem_signal_dbm",
            "gauge",
            "Signal strength from +CSQ.",
            d.to_string(),
        );
    }
    let _ = write!(
        o,
        "# HELP smsgw_modem_info Modem facts as labels.\n# TYPE smsgw_modem_info gauge\nsmsgw_modem_info{{state=\"{}\",registration=\"{}\",operator=\"{}\",model=\"{}\"}} 1\n",
        label(&m.state),
        label(m.registration.as_str()),
        label(&m.operator),
        label(&m.model)
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Registration;

    #[test]
    fn json_escapes_everything_dangerous() {
        let mut s = String::new();
        json_string(&mut s, "a\"b\\c\n\u{1}\u{2028}é");
        assert_eq!(s, "\"a\\\"b\\\\c\\n\\u0001\\u2028é\"");
    }

    #[test]
    fn status_and_metrics_show_modem_facts() {
        let st = GatewayStatus::default();
        st.update_modem(|m| {
            m.state = "ready".into();
            m.signal_dbm = Some(-69);
            m.registration = Registration::Roaming;
            m.operator = "Op \"X\"".into();
            m.imei = "123456789012345".into();
        });
        GatewayStatus::count(&st.sent);
        st.set_last_error("boom");
        let j = status_json(&st);
        assert!(j.contains("\"signal_dbm\":-69"), "{j}");
        assert!(
            j.contains("\"registration\":\"roaming\",\"registered\":true"),
            "{j}"
        );
        assert!(j.contains("\"operator\":\"Op \\\"X\\\"\""), "{j}");
        assert!(
            j.contains("\"sent\":1") && j.contains("\"last_error\":\"boom\""),
            "{j}"
        );
        assert!(!j.contains("123456789012345"));
        let m = metrics_text(&st);
        assert!(m.contains("\nsmsgw_sent_total 1\n"), "{m}");
        assert!(m.contains("smsgw_modem_signal_dbm -69"), "{m}");
        assert!(m.contains("operator=\"Op \\\"X\\\"\""), "{m}");
    }
}
