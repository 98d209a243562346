//! Prometheus Alertmanager's webhook (payload version 4; Grafana's webhook contact point sends
//! the same shape as version 1) → the text of one SMS.
//!
//! Owns the payload's meaning and the message layout:
//!
//! ```text
//! [FIRING:2] InstanceDown: web1:9100 has been down for 5 minutes
//! InstanceDown: web2:9100 has been down for 5 minutes
//! [RESOLVED:1] DiskFull: /var is 95% full
//! job=node env=prod
//! ```
//!
//! One line per alert, `alertname: summary` (else `description`, else the alert's own labels),
//! firing ones first under `[FIRING:N]` (N includes `truncatedAlerts`), resolved ones under
//! `[RESOLVED:M]`, and the group's labels other than `alertname` once at the end. [`fit`] cuts the
//! text to a number of SMS parts with `...` (GSM text) or `…` (UCS-2 text). Pure, never panics.

use crate::json::{self, JsonError, Value};
use crate::pdu::{self, Alphabet, EncodeOptions};
use std::fmt;

/// Bodies up to this size are read whole; a larger one is read this far and what it holds is sent.
/// (Alertmanager sends about 36 KB for 30 alerts.)
pub const MAX_ALERT_BODY: usize = 256 * 1024;

/// Why a payload was refused (HTTP 400: Alertmanager does not retry a 4xx).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlertError {
    Json(JsonError),
    NotAnObject,
    Version(String),
    /// A field of the wrong type: (field, what it must be).
    WrongType(&'static str, &'static str),
    NoAlerts,
}

impl fmt::Display for AlertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlertError::Json(e) => e.fmt(f),
            AlertError::NotAnObject => f.write_str("the webhook body must be a JSON object"),
            AlertError::Version(v) => {
                f.write_str("unsupported Alertmanager webhook version '")?;
                f.write_str(v)?;
                f.write_str("' (Alertmanager's 4 and Grafana's 1 are supported)")
            }
            AlertError::WrongType(field, want) => {
                f.write_str("field '")?;
                f.write_str(field)?;
                f.write_str("' must be ")?;
                f.write_str(want)
            }
            AlertError::NoAlerts => f.write_str("the webhook payload has no alerts"),
        }
    }
}

/// One alert's line: `alertname: summary`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertLine {
    pub name: String,
    pub detail: String,
}

/// What one webhook call says, in the order it is written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notification {
    pub firing: Vec<AlertLine>,
    pub resolved: Vec<AlertLine>,
    /// Alerts Alertmanager left out (`max_alerts`); counted as firing when the group is firing.
    pub truncated: u64,
    pub group_is_firing: bool,
    /// `groupLabels` without `alertname`, in payload order, as `k=v` pairs separated by spaces.
    pub group_labels: String,
}

/// Label names and values, borrowed from the payload.
type Pairs<'a> = Vec<(&'a str, &'a str)>;

/// The string members of a label/annotation object (other values are refused).
fn labels<'a>(v: Option<&'a Value>, field: &'static str) -> Result<Pairs<'a>, AlertError> {
    const WANT: &str = "an object of strings";
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(m)) => {
            let mut out = Vec::with_capacity(m.len());
            for (k, v) in m {
                let Value::String(s) = v else {
                    return Err(AlertError::WrongType(field, WANT));
                };
                out.push((k.as_str(), s.as_str()));
            }
            Ok(out)
        }
        Some(_) => Err(AlertError::WrongType(field, WANT)),
    }
}

fn find<'a>(pairs: &[(&'a str, &'a str)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| *k == key)
        .map(|&(_, v)| v)
        .filter(|v| !v.trim().is_empty())
}

/// Appends `k=v` pairs separated by spaces, except `alertname` and the pairs in `skip`.
fn push_pairs(out: &mut String, pairs: &[(&str, &str)], skip: &[(&str, &str)]) {
    for &(k, v) in pairs {
        if k == "alertname" || skip.contains(&(k, v)) {
            continue;
        }
        if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
}

/// Newlines and tabs inside a summary would break the one-line-per-alert layout.
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Reads a webhook body. `complete` is false when the body was longer than what was read: the
/// alerts before the cut are used (Alertmanager writes `alerts` before the group fields).
pub fn parse_webhook(body: &[u8], complete: bool) -> Result<Notification, AlertError> {
    let doc = if complete {
        json::parse(body, MAX_ALERT_BODY)
    } else {
        json::parse_prefix(body)
    }
    .map_err(AlertError::Json)?;
    if !matches!(doc, Value::Object(_)) {
        return Err(AlertError::NotAnObject);
    }
    match doc.get("version") {
        None => {}
        // Grafana's webhook contact point sends the same shape as version "1"
        Some(Value::String(v)) if v == "4" || v == "1" => {}
        Some(Value::String(v)) => return Err(AlertError::Version(v.clone())),
        Some(_) => return Err(AlertError::WrongType("version", "a string")),
    }
    let alerts = match doc.get("alerts") {
        Some(Value::Array(a)) => a.as_slice(),
        None if !complete => &[],
        _ => return Err(AlertError::WrongType("alerts", "a list of alerts")),
    };
    let truncated = match doc.get("truncatedAlerts") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_u64().ok_or(AlertError::WrongType(
            "truncatedAlerts",
            "a non-negative integer",
        ))?,
    };
    let common = labels(doc.get("commonLabels"), "commonLabels")?;
    let mut group_labels = String::new();
    push_pairs(
        &mut group_labels,
        &labels(doc.get("groupLabels"), "groupLabels")?,
        &[],
    );
    let mut n = Notification {
        truncated,
        group_labels,
        ..Notification::default()
    };
    for alert in alerts {
        if !matches!(alert, Value::Object(_)) {
            return Err(AlertError::WrongType("alerts", "a list of alerts"));
        }
        let own = labels(alert.get("labels"), "labels")?;
        let notes = labels(alert.get("annotations"), "annotations")?;
        let name = find(&own, "alertname").unwrap_or("alert").to_string();
        let detail = match find(&notes, "summary").or(find(&notes, "description")) {
            Some(d) => one_line(d),
            None => {
                // the labels that tell this alert apart from the others in the group
                let mut s = String::new();
                push_pairs(&mut s, &own, &common);
                one_line(&s)
            }
        };
        let line = AlertLine { name, detail };
        match alert.get("status").and_then(Value::as_str) {
            Some("resolved") => n.resolved.push(line),
            Some("firing") | None => n.firing.push(line),
            Some(_) => {
                return Err(AlertError::WrongType(
                    "status",
                    "\"firing\" or \"resolved\"",
                ))
            }
        }
    }
    n.group_is_firing = match doc.get("status").and_then(Value::as_str) {
        Some(s) => s == "firing",
        None => !n.firing.is_empty(),
    };
    if n.firing.is_empty() && n.resolved.is_empty() && n.truncated == 0 {
        if !complete {
            // nothing survived the cut, but something was there: say so rather than drop it
            n.group_is_firing = true;
            return Ok(n);
        }
        return Err(AlertError::NoAlerts);
    }
    Ok(n)
}

fn push_section(out: &mut String, tag: &str, count: u64, lines: &[AlertLine]) {
    if !out.is_empty() {
        out.push('\n');
    }
    out.push('[');
    out.push_str(tag);
    out.push(':');
    crate::http::push_u64(out, count);
    out.push(']');
    for (i, l) in lines.iter().enumerate() {
        out.push(if i == 0 { ' ' } else { '\n' });
        out.push_str(&l.name);
        if !l.detail.is_empty() {
            out.push_str(": ");
            out.push_str(&l.detail);
        }
    }
}

/// The full SMS text (before [`fit`]).
pub fn render(n: &Notification) -> String {
    let mut out = String::new();
    let (extra_firing, extra_resolved) = if n.group_is_firing {
        (n.truncated, 0)
    } else {
        (0, n.truncated)
    };
    let firing = n.firing.len() as u64 + extra_firing;
    let resolved = n.resolved.len() as u64 + extra_resolved;
    if firing > 0 || resolved == 0 {
        push_section(&mut out, "FIRING", firing, &n.firing);
    }
    if resolved > 0 {
        push_section(&mut out, "RESOLVED", resolved, &n.resolved);
    }
    if !n.group_labels.is_empty() {
        out.push('\n');
        out.push_str(&n.group_labels);
    }
    out
}

/// Whether `text` fits in `max_parts` SMS parts, and whether it would go as UCS-2.
fn plan(text: &str, max_parts: usize) -> (bool, bool) {
    let p = pdu::plan(text, &EncodeOptions::default());
    (p.parts <= max_parts.min(255), p.alphabet == Alphabet::Ucs2)
}

/// `text` cut to fit `max_parts` SMS parts, ending in `...` (GSM text) or `…` (UCS-2 text) when
/// cut. Unchanged when it fits.
pub fn fit(text: &str, max_parts: usize) -> String {
    if plan(text, max_parts).0 {
        return text.to_string();
    }
    // no more characters than the most septets `max_parts` parts carry can fit
    let limit = max_parts.clamp(1, 255) * 160;
    let chars: Vec<usize> = text.char_indices().map(|(i, _)| i).take(limit).collect();
    let cut_at = |n: usize| -> String {
        let end = chars.get(n).copied().unwrap_or(text.len());
        let mut s = text.get(..end).unwrap_or("").trim_end().to_string();
        // `…` is not in the GSM alphabet: it would turn GSM text into UCS-2
        s.push_str(if plan(&s, 255).1 { "…" } else { "..." });
        s
    };
    // binary search for the longest prefix that fits with the ellipsis
    let (mut lo, mut hi) = (0usize, chars.len());
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if plan(&cut_at(mid), max_parts).0 {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    cut_at(lo)
}

#[cfg(test)]
mod tests;
