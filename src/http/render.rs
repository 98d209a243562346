//! Renders `/status` (hand-written JSON) and `/metrics` (Prometheus text format 0.0.4) from a
//! `GatewayStatus` snapshot.
//!
//! Read-only: never changes status, never renders the token or the IMEI.

use crate::status::{Counter, GatewayStatus, ModemState};
use std::sync::atomic::Ordering;

use crate::json::write::push_i64;
use crate::json::ObjectWriter;

/// The modem state as its `Display` writes it (`error: ` before a reason), without `core::fmt`.
fn state_text(s: &ModemState) -> String {
    let prefix = if matches!(s, ModemState::Error(_)) {
        "error: "
    } else {
        ""
    };
    [prefix, s.as_str()].concat()
}

fn count(c: &Counter) -> u64 {
    u64::from(c.load(Ordering::Relaxed))
}

/// The counters of `/status`, in order.
const COUNTERS: [&str; 11] = [
    "queue_depth",
    "sent",
    "failed",
    "retried",
    "accepted",
    "rejected",
    "received",
    "delivered",
    "undeliverable",
    "reports",
    "reports_unmatched",
];

/// `/status` body.
pub fn status_json(st: &GatewayStatus) -> String {
    let m = st.modem();
    let mut o = String::with_capacity(512);
    let mut w = ObjectWriter::new(&mut o);
    w.str("version", env!("CARGO_PKG_VERSION"))
        .u64("uptime_seconds", st.uptime_secs());
    {
        let mut mw = ObjectWriter::new(w.key("modem"));
        mw.str("state", &state_text(&m.state));
        match m.signal_dbm {
            Some(d) => mw.i64("signal_dbm", i64::from(d)),
            None => mw.null("signal_dbm"),
        };
        mw.str("signal_quality", m.signal_quality)
            .str("registration", m.registration.as_str())
            .bool("registered", m.registration.is_registered())
            .str("operator", &m.operator)
            .str("manufacturer", &m.manufacturer)
            .str("model", &m.model)
            .u64("storage_used", u64::from(m.storage_used))
            .u64("storage_total", u64::from(m.storage_total))
            .end();
    }
    let counters = [
        &st.queue_depth,
        &st.sent,
        &st.failed,
        &st.retried,
        &st.accepted,
        &st.rejected,
        &st.received,
        &st.delivered,
        &st.undeliverable,
        &st.reports,
        &st.reports_unmatched,
    ];
    for (&key, &counter) in COUNTERS.iter().zip(counters.iter()) {
        w.u64(key, count(counter));
    }
    w.bool(
        "spool_writable",
        st.spool_writable.load(std::sync::atomic::Ordering::Relaxed),
    )
    .str("last_error", &st.last_error())
    .end();
    o.push('\n');
    o
}

/// Appends `s` as an escaped Prometheus label value.
fn label(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// The plain metrics: name, type and help, in the order [`metrics_text`] writes them.
const METRICS: [(&str, &str, &str); 17] = [
    ("smsgw_up", "gauge", "Always 1 while the daemon answers."),
    (
        "smsgw_uptime_seconds",
        "gauge",
        "Seconds since the daemon started.",
    ),
    ("smsgw_sent_total", "counter", "Messages sent."),
    ("smsgw_failed_total", "counter", "Messages given up on."),
    ("smsgw_retried_total", "counter", "Send attempts retried."),
    (
        "smsgw_messages_delivered_total",
        "counter",
        "Messages whose every part was reported delivered.",
    ),
    (
        "smsgw_messages_undeliverable_total",
        "counter",
        "Messages with a part reported undeliverable.",
    ),
    (
        "smsgw_reports_total",
        "counter",
        "Delivery reports received.",
    ),
    (
        "smsgw_reports_unmatched_total",
        "counter",
        "Delivery reports that matched no sent message.",
    ),
    (
        "smsgw_http_accepted_total",
        "counter",
        "Messages accepted over HTTP.",
    ),
    (
        "smsgw_http_rejected_total",
        "counter",
        "HTTP send requests refused.",
    ),
    (
        "smsgw_queue_depth",
        "gauge",
        "Messages waiting in outgoing/.",
    ),
    (
        "smsgw_received_total",
        "counter",
        "Received messages written to incoming/.",
    ),
    (
        "smsgw_modem_storage_used",
        "gauge",
        "Messages stored on the modem (polled storages).",
    ),
    (
        "smsgw_modem_storage_total",
        "gauge",
        "Capacity of the modem's polled storages.",
    ),
    (
        "smsgw_modem_registered",
        "gauge",
        "1 when registered (home or roaming).",
    ),
    (
        "smsgw_modem_signal_dbm",
        "gauge",
        "Signal strength from +CSQ.",
    ),
];

/// Appends one metric: `# HELP`, `# TYPE` and the sample line.
fn metric(o: &mut String, (name, kind, help): (&str, &str, &str), value: i64) {
    o.push_str("# HELP ");
    o.push_str(name);
    o.push(' ');
    o.push_str(help);
    o.push_str("\n# TYPE ");
    o.push_str(name);
    o.push(' ');
    o.push_str(kind);
    o.push('\n');
    o.push_str(name);
    o.push(' ');
    push_i64(o, value);
    o.push('\n');
}

/// `/metrics` body.
pub fn metrics_text(st: &GatewayStatus) -> String {
    let m = st.modem();
    let mut o = String::with_capacity(1024);
    let c = |a: &Counter| Some(count(a) as i64);
    let uptime = i64::try_from(st.uptime_secs()).unwrap_or(i64::MAX);
    let registered = i64::from(m.registration.is_registered());
    let signal = m.signal_dbm.map(i64::from);
    // the values of [`METRICS`], in its order (`None`: not known, not written)
    let values: [Option<i64>; 17] = [
        Some(1),
        Some(uptime),
        c(&st.sent),
        c(&st.failed),
        c(&st.retried),
        c(&st.delivered),
        c(&st.undeliverable),
        c(&st.reports),
        c(&st.reports_unmatched),
        c(&st.accepted),
        c(&st.rejected),
        c(&st.queue_depth),
        c(&st.received),
        Some(i64::from(m.storage_used)),
        Some(i64::from(m.storage_total)),
        Some(registered),
        signal,
    ];
    for (&m, &value) in METRICS.iter().zip(values.iter()) {
        if let Some(v) = value {
            metric(&mut o, m, v);
        }
    }
    o.push_str("# HELP smsgw_delivery_seconds Submit to delivery of delivered parts, by the service centre's time stamps.\n# TYPE smsgw_delivery_seconds summary\nsmsgw_delivery_seconds_sum ");
    super::push_u64(&mut o, count(&st.delivery_seconds_sum));
    o.push_str("\nsmsgw_delivery_seconds_count ");
    super::push_u64(&mut o, count(&st.delivery_seconds_count));
    o.push('\n');
    o.push_str("# HELP smsgw_modem_info Modem facts as labels.\n# TYPE smsgw_modem_info gauge\nsmsgw_modem_info{state=\"");
    label(&mut o, &state_text(&m.state));
    o.push_str("\",registration=\"");
    label(&mut o, m.registration.as_str());
    o.push_str("\",operator=\"");
    label(&mut o, &m.operator);
    o.push_str("\",model=\"");
    label(&mut o, &m.model);
    o.push_str("\"} 1\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Registration;

    #[test]
    fn delivery_counters_in_status_and_metrics() {
        let st = GatewayStatus::default();
        GatewayStatus::count(&st.delivered);
        GatewayStatus::count(&st.reports);
        GatewayStatus::count(&st.reports);
        st.observe_delivery(30);
        st.observe_delivery(12);
        let j = status_json(&st);
        assert!(
            j.contains("\"delivered\":1,\"undeliverable\":0,\"reports\":2,\"reports_unmatched\":0"),
            "{j}"
        );
        let m = metrics_text(&st);
        assert!(m.contains("\nsmsgw_messages_delivered_total 1\n"), "{m}");
        assert!(m.contains("\nsmsgw_reports_total 2\n"), "{m}");
        assert!(m.contains("# TYPE smsgw_delivery_seconds summary\nsmsgw_delivery_seconds_sum 42\nsmsgw_delivery_seconds_count 2\n"), "{m}");
    }

    #[test]
    fn status_and_metrics_show_modem_facts() {
        let st = GatewayStatus::default();
        st.update_modem(|m| {
            m.state = crate::status::ModemState::Ready;
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
        assert!(m.starts_with("# HELP smsgw_up Always 1 while the daemon answers.\n# TYPE smsgw_up gauge\nsmsgw_up 1\n"), "{m}");
        assert!(m.ends_with("\",model=\"\"} 1\n"), "{m}");
        let quiet = metrics_text(&GatewayStatus::default());
        assert!(
            quiet.contains("\nsmsgw_delivery_seconds_count 0\n"),
            "{quiet}"
        );
        assert!(
            quiet.contains("\nsmsgw_reports_unmatched_total 0\n"),
            "{quiet}"
        );
        assert!(!quiet.contains("signal_dbm"), "{quiet}");
        assert!(j.starts_with("{\"version\":\""), "{j}");
        assert!(
            j.contains("\"storage_total\":0},\"queue_depth\":0,\"sent\":1,\"failed\":0,"),
            "{j}"
        );
    }

    #[test]
    fn state_text_is_the_display_of_the_state() {
        for s in [
            ModemState::Starting,
            ModemState::WaitingForDevice,
            ModemState::Ready,
            ModemState::Error("no SIM".into()),
        ] {
            assert_eq!(state_text(&s), s.to_string());
        }
    }

    #[test]
    fn status_reports_a_spool_that_cannot_be_written() {
        let st = GatewayStatus::default();
        assert!(status_json(&st).contains("\"spool_writable\":true"));
        st.spool_writable
            .store(false, std::sync::atomic::Ordering::Relaxed);
        assert!(status_json(&st).contains("\"spool_writable\":false"));
    }
}
