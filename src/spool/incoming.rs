//! Received messages in the spool: `incoming/<id>` in smstools3's incoming format, written
//! atomically (tmp + fsync + link, never replacing a file + directory fsync, mode 0600), parts of
//! multipart messages kept in `incoming-parts/` until their siblings come (or the multipart timeout
//! passes: then `Incomplete: yes`), the `HOOK RECEIVED FILE` event, retention, and reading/listing/
//! deleting for the CLI and HTTP.
//!
//! File names are derived from the message itself, so a message read twice from the modem (a crash
//! between storing and deleting it there) finds its file already written: no duplicate. Owns the
//! modem's [`MessageSink`]; it must not speak AT or parse HTTP.

use super::clock::{Ages, Now};
use super::format::SpoolFile;
use super::hook::HookRunner;
use super::reassembly::{Added, Table};
use crate::config::ServeConfig;
use crate::modem::{MessageSink, ReceivedSms};
use crate::pdu::{Alphabet, Timestamp};
use crate::status::GatewayStatus;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

pub const INCOMING: &str = "incoming";
pub const PARTS: &str = "incoming-parts";

/// Our own headers of a part file.
const HDR_PART: &str = "Part";
const HDR_GROUP: &str = "Concat_key";

fn fnv(chunks: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in chunks {
        for &b in c.iter().chain(&[0u8]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// smsd's `yy-mm-dd hh:mm:ss` of a service centre time stamp (the sender's local time; the zone
/// goes to `Sent_timezone`).
fn sent_time(t: &Timestamp) -> String {
    let mut out = String::with_capacity(17);
    let fields = [
        t.year % 100,
        t.month.into(),
        t.day.into(),
        t.hour.into(),
        t.minute.into(),
        t.second.into(),
    ];
    for (i, v) in fields.into_iter().enumerate() {
        match i {
            1 | 2 => out.push('-'),
            3 => out.push(' '),
            4 | 5 => out.push(':'),
            _ => {}
        }
        out.push(char::from(b'0' + (v / 10 % 10) as u8));
        out.push(char::from(b'0' + (v % 10) as u8));
    }
    out
}

/// `91 international, ISDN/telephone` as smsd writes `From_TOA`.
fn toa_text(toa: u8) -> String {
    let ton = match (toa >> 4) & 0x07 {
        1 => "international",
        2 => "national",
        3 => "network specific",
        4 => "subscriber",
        5 => "alphanumeric",
        6 => "abbreviated",
        _ => "unknown",
    };
    let npi = if toa & 0x0F == 1 {
        "ISDN/telephone"
    } else {
        "unknown"
    };
    let mut hex = String::with_capacity(2);
    crate::pdu::push_hex(&[toa], &mut hex);
    [hex.as_str(), " ", ton, ", ", npi].concat()
}

/// Header-safe: control characters become spaces.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The smstools3 incoming file of one message (or part).
fn file_of(sms: &ReceivedSms, received: SystemTime) -> SpoolFile {
    let mut h: Vec<(String, String)> = Vec::new();
    let mut add = |n: &str, v: String| h.push((n.to_string(), v));
    add(
        "From",
        clean(sms.from.strip_prefix('+').unwrap_or(&sms.from)),
    );
    add("From_TOA", toa_text(sms.from_toa));
    if !sms.smsc.is_empty() {
        add(
            "From_SMSC",
            clean(sms.smsc.strip_prefix('+').unwrap_or(&sms.smsc)),
        );
    }
    if let Some(t) = &sms.sent {
        add("Sent", sent_time(t));
        let zone = t.to_string();
        add(
            "Sent_timezone",
            zone.rsplit(' ').next().unwrap_or("").to_string(),
        );
    }
    add("Received", super::sender::smsd_time(received));
    let alphabet = match sms.alphabet {
        Alphabet::Gsm7 => "ISO",
        Alphabet::Ucs2 => "UCS2",
        Alphabet::EightBit => "binary",
    };
    add("Alphabet", alphabet.into());
    if sms.flash {
        add("Flash", "yes".into());
    }
    if let Some(e) = &sms.error {
        add("Error", clean(e));
    }
    add("Length", sms.text.chars().count().to_string());
    SpoolFile {
        headers: h,
        body: sms.text.as_bytes().to_vec(),
    }
}

/// Writes `dir/name` with `bytes` unless it exists: tmp + fsync + `link` (never replaces) +
/// directory fsync, mode 0600. `Ok(false)` when the file was already there.
pub fn write_new(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<bool> {
    // `rm -rf SPOOL/*` (the smstools way to clear a spool) must not stop reception
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".tmp-{name}"));
    let _ = fs::remove_file(&tmp);
    let written = super::create_synced(&tmp, bytes, true);
    let linked = written.and_then(|()| fs::hard_link(&tmp, dir.join(name)));
    let _ = fs::remove_file(&tmp);
    let new = match linked {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(e),
    };
    File::open(dir)?.sync_all()?;
    Ok(new)
}

/// A received message's id is a file name in `incoming/`: `in-` and 16 hex digits.
pub fn valid_id(id: &str) -> bool {
    id.len() == 19 && id.starts_with("in-") && id.bytes().skip(3).all(|b| b.is_ascii_hexdigit())
}

/// Received messages, newest first: (id, modification time).
pub fn list(root: &Path) -> Vec<(String, SystemTime)> {
    let (mut keys, mut times) = (Vec::new(), Vec::new());
    for e in &super::queue::entries(&root.join(INCOMING)) {
        let Some(name) = e
            .file_name()
            .to_str()
            .filter(|n| valid_id(n))
            .map(str::to_string)
        else {
            continue;
        };
        let Some(t) = e.metadata().ok().and_then(|m| m.modified().ok()) else {
            continue;
        };
        let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        let nanos = since.as_secs().saturating_mul(1_000_000_000);
        keys.push((
            nanos.saturating_add(u64::from(since.subsec_nanos())),
            name,
            times.len(),
        ));
        times.push(t);
    }
    super::queue::sort_newest_first(&mut keys);
    let mut out = Vec::with_capacity(keys.len());
    for (_, name, i) in keys {
        if let Some(t) = times.get(i) {
            out.push((name, *t));
        }
    }
    out
}

/// One received message, parsed with the spool's reader.
pub fn read(root: &Path, id: &str) -> io::Result<SpoolFile> {
    if !valid_id(id) {
        return Err(io::ErrorKind::NotFound.into());
    }
    let bytes = super::queue::read_file(&root.join(INCOMING).join(id))?;
    Ok(SpoolFile::parse(&bytes))
}

/// Removes a received message.
pub fn delete(root: &Path, id: &str) -> io::Result<()> {
    if !valid_id(id) {
        return Err(io::ErrorKind::NotFound.into());
    }
    fs::remove_file(root.join(INCOMING).join(id))
}

/// The modem's [`MessageSink`]: received messages into `incoming/`.
pub struct IncomingStore {
    incoming: PathBuf,
    parts: PathBuf,
    /// Retention of `incoming/`: `--keep-sent` records, `--keep-days` days.
    keep: (usize, u64),
    status: Arc<GatewayStatus>,
    table: Table,
    timeout: Duration,
    hooks: HookRunner,
    ages: Ages,
}

impl IncomingStore {
    /// Creates `incoming/` and `incoming-parts/` and takes over parts a previous run left (their
    /// timeout starts again now: a clock that moved cannot expire them early).
    pub fn open(
        root: &Path,
        cfg: &ServeConfig,
        status: Arc<GatewayStatus>,
        now: Instant,
    ) -> io::Result<IncomingStore> {
        let incoming = root.join(INCOMING);
        let parts = root.join(PARTS);
        fs::create_dir_all(&incoming)?;
        fs::create_dir_all(&parts)?;
        let mut store = IncomingStore {
            incoming,
            parts,
            keep: (cfg.keep_sent, cfg.keep_days),
            status,
            table: Table::default(),
            timeout: cfg.multipart_timeout,
            hooks: HookRunner::new(cfg.hook.clone(), cfg.hook_timeout),
            ages: Ages::new(Now::real()),
        };
        for e in &super::queue::entries(&store.parts) {
            let name = e.file_name();
            let Some((key, seq, total)) = store.part_of(&name) else {
                continue;
            };
            store.add_part(key, seq, total, now)?;
        }
        Ok(store)
    }

    /// (key, seq, total) of a part file.
    fn part_of(&self, name: &OsStr) -> Option<(u64, u8, u8)> {
        let (key, seq) = name.to_str()?.split_once('-')?;
        let key = u64::from_str_radix(key, 16).ok()?;
        let seq: u8 = seq.parse().ok()?;
        let file = SpoolFile::parse(&super::queue::read_file(&self.parts.join(name)).ok()?);
        let total = file.header(HDR_PART)?.split_once('/')?.1.parse().ok()?;
        Some((key, seq, total))
    }

    fn add_part(&mut self, key: u64, seq: u8, total: u8, now: Instant) -> io::Result<()> {
        loop {
            match self.table.add(key, seq, total, now) {
                Added::Waiting => return Ok(()),
                Added::Complete(k) => return self.assemble(k),
                Added::Full { evicted } => self.assemble(evicted)?,
            }
        }
    }

    /// Writes the message `key` from its part files (what is there), then removes the parts.
    fn assemble(&mut self, key: u64) -> io::Result<()> {
        let prefix = format!("{key:016x}-");
        // In part order (ties in file order), through the spool's one sort of (u64, usize) keys;
        // plain loops (an iterator chain that collects costs more in the router binary).
        let mut parts: Vec<(PathBuf, SpoolFile)> = Vec::new();
        let mut order: Vec<(u64, usize)> = Vec::new();
        for e in &super::queue::entries(&self.parts) {
            let name = e.file_name();
            let seq = name.to_str().and_then(|n| n.strip_prefix(&prefix));
            let Some(seq) = seq.and_then(|s| s.parse::<u8>().ok()) else {
                continue;
            };
            let path = self.parts.join(&name);
            let Ok(bytes) = super::queue::read_file(&path) else {
                continue;
            };
            order.push((u64::from(seq), parts.len()));
            parts.push((path, SpoolFile::parse(&bytes)));
        }
        order.sort_unstable();
        let total = self.table.remove(key).map_or(0, |g| g.total);
        let mut text = Vec::new();
        let mut first = None;
        for (_, i) in order {
            if let Some((_, f)) = parts.get(i) {
                first = first.or(Some(f));
                text.extend_from_slice(&f.body);
            }
        }
        let Some(first) = first else {
            return Ok(());
        };
        let mut file = SpoolFile {
            headers: Vec::new(),
            body: text,
        };
        for (n, v) in &first.headers {
            if n != HDR_PART && n != HDR_GROUP && n != "Length" {
                file.headers.push((n.clone(), v.clone()));
            }
        }
        let length = String::from_utf8_lossy(&file.body).chars().count();
        file.headers.push(("Length".into(), length.to_string()));
        if parts.len() < usize::from(total) {
            file.headers.push(("Incomplete".into(), "yes".into()));
        }
        let sent = first.header("Sent").unwrap_or("");
        let id = format!(
            "in-{:016x}",
            fnv(&[&key.to_le_bytes(), sent.as_bytes(), &file.body])
        );
        self.publish(&id, &file)?;
        for (path, _) in &parts {
            fs::remove_file(path)?;
        }
        File::open(&self.parts)?.sync_all()
    }

    /// Writes `incoming/<id>` (unless it is there already), counts it, runs the hook, prunes.
    fn publish(&mut self, id: &str, file: &SpoolFile) -> io::Result<()> {
        let bytes = file
            .to_bytes()
            .map_err(|e| io::Error::other(e.to_string()))?;
        if self.incoming.join(id).exists() {
            return Ok(()); // read again after a crash: already written
        }
        // Queued for the forward URLs before the file exists: a crash between the two forwards
        // it once more (at least once) instead of never.
        forward_received(&self.incoming, id, file)?;
        if !write_new(&self.incoming, id, &bytes)? {
            return Ok(());
        }
        GatewayStatus::count(&self.status.received);
        let from = file.header("From").unwrap_or("?");
        crate::log_info!("received SMS from {from} -> incoming/{id}");
        self.hooks.run("RECEIVED", &self.incoming.join(id));
        let (keep, days) = self.keep;
        super::retention::prune(&self.incoming, keep, days, &self.ages, Now::real());
        Ok(())
    }
}

/// The sender of a received file as users see it (`/messages`, forwards): `+` before an
/// international number (`From_TOA: 91 international, ...`), since smsd writes the digits alone.
pub fn sender(file: &SpoolFile) -> String {
    let from = file.header("From").unwrap_or("");
    let toa = file.header("From_TOA").unwrap_or("");
    let international = toa.contains("international");
    if international && !from.is_empty() && from.bytes().all(|b| b.is_ascii_digit()) {
        ["+", from].concat()
    } else {
        from.to_string()
    }
}

/// Hands a received message to the forward queue (a no-op when no forward URL is set).
fn forward_received(incoming: &Path, id: &str, file: &SpoolFile) -> io::Result<()> {
    let Some(root) = incoming.parent() else {
        return Ok(());
    };
    let event = crate::forward::ForwardEvent {
        kind: crate::forward::EventKind::Received,
        id: id.to_string(),
        from: Some(sender(file)),
        to: None,
        text: Some(String::from_utf8_lossy(&file.body).into_owned()),
        time: file.header("Sent").unwrap_or("").to_string(),
        message_id: None,
        status: None,
        incomplete: file.header("Incomplete") == Some("yes"),
    };
    crate::forward::enqueue(root, &event).map(|_| ())
}

impl MessageSink for IncomingStore {
    fn store(&mut self, sms: &ReceivedSms, now: Instant) -> Result<(), String> {
        let mut file = file_of(sms, SystemTime::now());
        let multi = sms
            .concat
            .filter(|c| c.total > 1 && c.seq >= 1 && c.seq <= c.total);
        let result = match multi {
            None => {
                let sent = file.header("Sent").unwrap_or("").to_string();
                let id = format!(
                    "in-{:016x}",
                    fnv(&[
                        sms.from.as_bytes(),
                        sms.smsc.as_bytes(),
                        sent.as_bytes(),
                        &file.body
                    ])
                );
                self.publish(&id, &file)
            }
            Some(c) => {
                let key = fnv(&[sms.from.as_bytes(), &c.reference.to_le_bytes(), &[c.total]]);
                let part = format!("{}/{}", c.seq, c.total);
                file.headers.push((HDR_PART.into(), part));
                file.headers.push((HDR_GROUP.into(), format!("{key:016x}")));
                let bytes = file.to_bytes().map_err(|e| e.to_string())?;
                let name = format!("{key:016x}-{:03}", c.seq);
                write_new(&self.parts, &name, &bytes)
                    .and_then(|_| self.add_part(key, c.seq, c.total, now))
            }
        };
        result.map_err(|e| e.to_string())
    }

    fn tick(&mut self, now: Instant) {
        while let Some(key) = self.table.expired(now, self.timeout) {
            if let Err(e) = self.assemble(key) {
                // The parts stay on disk and are taken up again at the next start.
                crate::log_error!("cannot write an incomplete multipart SMS: {e}");
                self.table.remove(key);
            }
        }
    }
}

#[cfg(test)]
#[path = "incoming_tests.rs"]
mod tests;
