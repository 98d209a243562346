//! The HiLink backend: a Huawei stick in HiLink mode (a network card answering a web API at
//! `http://192.168.8.1`) sends, receives and reports through HTTP instead of AT commands.
//!
//! Owns the `Backend` (one `Stick` behind a mutex, shared by the sender's calls and a poller thread
//! that receives, deletes and refreshes the status). Submodules: `xml` (compact writer, tolerant
//! reader), `session` (pure token/session/login state), `password` (login encodings), `stick`
//! (HTTP calls), `sms` (SMS endpoints), `inbox` (listed messages as received SMS and reports). It must not speak AT or encode PDUs.

pub mod inbox;
pub mod password;
pub mod session;
pub mod sms;
pub mod stick;
pub mod xml;

use crate::config::ServeConfig;
use crate::modem::{MessageSink, SendError, SmsSender};
use crate::net::http_client::{Endpoint, Limits};
use crate::pdu::SubmitPart;
use crate::status::{GatewayStatus, Registration};
use sms::{Pacer, SendState};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};
use stick::{Credentials, Stick, StickError};

/// How often the inbox and the status are looked at.
const POLL: Duration = Duration::from_secs(5);
/// Full status refresh (signal, network, device) this often.
const STATUS_EVERY: Duration = Duration::from_secs(60);
/// How long a send may stay unconfirmed in `send-status`.
const CONFIRM_FOR: Duration = Duration::from_secs(60);
const CONFIRM_POLL: Duration = Duration::from_millis(300);
/// Least time between two `send-sms` (four back-to-back sends drew 113004 on a real stick).
const SEND_GAP: Duration = Duration::from_secs(1);
/// `send-sms` tries of one message within one call (113004 "too fast" answers are paced).
const SEND_TRIES: u32 = 4;
/// Sent messages remembered for matching delivery confirmations.
const SENT_MEMORY: usize = 64;

/// The answer to a USSD request for a HiLink stick (`GET /ussd`, `smsgw ussd`): this gateway
/// does not speak its USSD.
pub const NO_USSD: &str = "USSD is not available with this modem";

/// `--device` names a HiLink stick.
pub fn is_hilink(device: &str) -> bool {
    device.starts_with("http://")
}

/// A sent message waiting for its delivery confirmation.
struct SentRecord {
    phone: String,
    id: u8,
}

struct Backend {
    stick: Stick,
    pacer: Pacer,
    next_id: u8,
    sent: Vec<SentRecord>,
    /// Indices already written to the spool whose delete failed (not written twice).
    written: Vec<u32>,
    /// Where received SMS and delivery confirmations go (the spool's incoming store and delivery
    /// tracker); `None` with `--no-receive`.
    sink: Option<Box<dyn MessageSink>>,
    /// Multipart messages seen on the last poll and their text length: one is taken only when a
    /// later poll finds it unchanged (the stick may still be joining parts).
    multipart: Vec<(u32, usize)>,
    status: Arc<GatewayStatus>,
    next_status: Instant,
    max_parts: usize,
    /// `--device` is not a usable URL (messages wait, as for a missing device).
    bad_url: Option<String>,
}

/// The sender's handle; the poller thread holds another reference to the same backend.
struct HiLinkSender {
    backend: Arc<Mutex<Backend>>,
}

fn lock(b: &Mutex<Backend>) -> MutexGuard<'_, Backend> {
    b.lock().unwrap_or_else(|p| p.into_inner())
}

/// Opens the HiLink backend for `cfg.device` (`http://IP[:PORT]`). Never fails: a bad URL or an
/// absent stick shows in `/status` and fails sends as transient.
pub fn open(
    cfg: &ServeConfig,
    status: Arc<GatewayStatus>,
    sink: Option<Box<dyn MessageSink>>,
) -> Box<dyn SmsSender> {
    let backend = Arc::new(Mutex::new(Backend::new(cfg, status, sink)));
    let weak = Arc::downgrade(&backend);
    let spawned = crate::modem::spawn_named(
        "hilink",
        Box::new(move || {
            while let Some(b) = weak.upgrade() {
                lock(&b).poll();
                drop(b);
                std::thread::sleep(POLL);
            }
        }),
    );
    if let Err(e) = spawned {
        crate::log_error!("cannot start the HiLink poller: {e}");
    }
    Box::new(HiLinkSender { backend })
}

impl SmsSender for HiLinkSender {
    fn send_part(&mut self, _part: &SubmitPart) -> Result<u8, SendError> {
        Err(SendError::Permanent(
            "a HiLink stick sends whole texts, not PDUs".into(),
        ))
    }

    /// Sends a whole text (the stick splits it); the message id for delivery confirmations.
    fn send_text(&mut self, to: &str, text: &str) -> Option<Result<u8, SendError>> {
        Some(lock(&self.backend).send(to, text))
    }
}

impl Backend {
    fn new(
        cfg: &ServeConfig,
        status: Arc<GatewayStatus>,
        sink: Option<Box<dyn MessageSink>>,
    ) -> Backend {
        let (ep, bad_url) = match Endpoint::parse(&cfg.device) {
            Ok(ep) => (ep, None),
            // Never called: the URL error is the answer to every send and the state.
            Err(e) => (
                Endpoint {
                    addr: ([0, 0, 0, 0], 9).into(),
                    host: String::new(),
                    base_path: String::new(),
                },
                Some(format!("--device: {e}")),
            ),
        };
        let credentials = cfg.hilink_password.as_ref().map(|pw| Credentials {
            user: cfg.hilink_user.clone().unwrap_or_else(|| "admin".into()),
            password: pw.clone(),
        });
        let limits = Limits {
            io: cfg.command_timeout.max(Duration::from_secs(1)),
            ..Limits::default()
        };
        Backend {
            stick: Stick::new(ep, limits, credentials),
            pacer: Pacer::new(SEND_GAP, Duration::from_secs(30)),
            next_id: 0,
            sent: Vec::new(),
            written: Vec::new(),
            sink,
            multipart: Vec::new(),
            status,
            next_status: Instant::now(),
            max_parts: cfg.max_parts,
            bad_url,
        }
    }

    /// Sets the modem state; logs problems and the recovery from one (not every send).
    fn set_state(&self, state: &str) {
        // Compared and replaced under the lock (no copy of all the modem facts).
        use crate::status::ModemState;
        let new = ModemState::from_word(state);
        let error = |s: &ModemState| matches!(s, ModemState::Error(_));
        let mut log = None;
        self.status.update_modem(|m| {
            if m.state != new {
                // a problem on stderr (procd: `err`), the recovery on stdout
                log = if error(&new) {
                    Some(crate::log::Level::Warn)
                } else {
                    error(&m.state).then_some(crate::log::Level::Info)
                };
                m.state = new;
            }
        });
        if let Some(level) = log {
            crate::log::line(level, format_args!("hilink: {state}"));
        }
    }

    fn problem(&self, e: &StickError) {
        self.set_state(&format!("error: {e}"));
    }

    /// Sends one whole message and waits for the stick to confirm it.
    fn send(&mut self, to: &str, text: &str) -> Result<u8, SendError> {
        if let Some(e) = &self.bad_url {
            return Err(SendError::NotReady(e.clone()));
        }
        let opts = crate::pdu::EncodeOptions {
            max_parts: self.max_parts,
            ..crate::pdu::EncodeOptions::default()
        };
        // The stick splits long texts itself; the same limits as on the AT path apply.
        if let Err(e) = crate::pdu::encode_submit(to, text, &opts, 0) {
            return Err(SendError::Permanent(e.to_string()));
        }
        let gsm7 = crate::pdu::is_gsm7(text);
        let mut tries = 0;
        loop {
            tries += 1;
            let wait = self.pacer.wait(Instant::now());
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
            let date = inbox::timestamp(SystemTime::now(), true);
            let body = sms::send_body(to, text, gsm7, &date);
            self.set_state("sending");
            let r = self.stick.post("sms/send-sms", &body);
            let too_fast = matches!(r, Err(StickError::Api { code: 113004, .. }));
            self.pacer.sent(Instant::now(), too_fast);
            match r {
                Ok(_) => break,
                Err(e) if too_fast && tries < SEND_TRIES => {
                    // Not `as_millis`: a u128, whose printing costs ~2 KB on the router.
                    let w = self.pacer.wait(Instant::now());
                    let ms = w.as_secs() * 1000 + u64::from(w.subsec_millis());
                    crate::log_warn!("hilink: {e}; sending again in {ms} ms");
                }
                Err(e) => {
                    self.problem(&e);
                    let m = e.to_string();
                    return Err(match e {
                        // unreachable, or no login: the message waits for the stick
                        StickError::Http(_) | StickError::Login(_) => SendError::NotReady(m),
                        e if e.is_transient() => SendError::Transient(m),
                        _ => SendError::Permanent(m),
                    });
                }
            }
        }
        let confirmed = self.confirm(to, text);
        self.set_state("ready");
        confirmed?;
        // 1..=255: 0 is the reference of a confirmation that matches no message sent here.
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        if self.sent.len() >= SENT_MEMORY {
            self.sent.remove(0);
        }
        self.sent.push(SentRecord {
            phone: to.to_string(),
            id: self.next_id,
        });
        Ok(self.next_id)
    }

    /// Polls `send-status` until the number is listed as sent or failed. An OK of `send-sms` alone
    /// proves nothing: such messages can end in Drafts.
    fn confirm(&mut self, to: &str, text: &str) -> Result<(), SendError> {
        let until = Instant::now() + CONFIRM_FOR;
        while Instant::now() < until {
            match self.stick.get("sms/send-status") {
                Ok(inner) => match sms::send_state(&inner, to) {
                    SendState::Sent => return Ok(()),
                    SendState::Failed => {
                        return Err(SendError::Transient(
                            "the HiLink stick reports the send failed".into(),
                        ))
                    }
                    SendState::Pending => {}
                },
                Err(e) => crate::log_warn!("hilink: send-status: {e}"),
            }
            std::thread::sleep(CONFIRM_POLL);
        }
        // No verdict: if it is in the sent box it went out (never send it twice); else retry.
        if let Ok(sent) = sms::list(&mut self.stick, 2) {
            if sent
                .iter()
                .any(|m| sms::same_number(&m.phone, to) && m.content == text)
            {
                return Ok(());
            }
        }
        Err(SendError::Transient(
            "the HiLink stick did not confirm the send".into(),
        ))
    }

    /// One poll: receive (write, then delete each message), then the status when due.
    fn poll(&mut self) {
        if let Some(e) = &self.bad_url {
            self.set_state(&format!("error: {e}"));
            return;
        }
        if let Err(e) = self.receive() {
            self.problem(&e);
            return;
        }
        if Instant::now() >= self.next_status {
            self.next_status = Instant::now() + STATUS_EVERY;
            self.refresh_status();
        }
    }

    fn receive(&mut self) -> Result<(), StickError> {
        let hint = self.stick.get("monitoring/check-notifications")?;
        let full = xml::text(&hint, "SmsStorageFull").as_deref() == Some("1");
        self.status.update_modem(|m| m.storage_full = full);
        // The unread count is only a hint: the inbox is listed on every poll anyway (cheap), since
        // read-but-undeleted messages (an earlier delete failed) must still be taken.
        let list = sms::list(&mut self.stick, 1)?;
        let state = if full {
            "ready (SMS storage full)"
        } else {
            "ready"
        };
        self.set_state(state);
        let seen = std::mem::take(&mut self.multipart);
        for m in &list {
            if m.sms_type == 2 && !seen.contains(&(m.index, m.content.len())) {
                self.multipart.push((m.index, m.content.len()));
                continue;
            }
            if !self.written.contains(&m.index) {
                // --no-receive: received SMS and confirmations stay on the stick.
                let Some(sink) = self.sink.as_mut() else {
                    continue;
                };
                let confirmation = m.sms_type == 7 || m.sms_type == 8;
                let written = if confirmation {
                    // the delivery tracker: report/ file, the sent message's state, hook, forward
                    let reference = self
                        .sent
                        .iter()
                        .find(|r| sms::same_number(&r.phone, &m.phone));
                    let reference = reference.map_or(0, |r| r.id);
                    sink.report(&inbox::received_report(m, reference, SystemTime::now()))
                        .map(|()| "report/")
                } else {
                    // the spool's incoming store: file, hook, counters, forwarding
                    sink.store(&inbox::received_sms(m), Instant::now())
                        .map(|()| "incoming/")
                };
                match written {
                    Ok(dir) => {
                        crate::log_info!("hilink: received {} from {} -> {dir}", m.index, m.phone);
                        self.written.push(m.index);
                        if confirmation {
                            self.confirmed(&m.phone);
                        }
                    }
                    Err(e) => {
                        // Not durable: leave it on the stick for the next poll.
                        crate::log_warn!("hilink: cannot write message {}: {e}", m.index);
                        continue;
                    }
                }
                let _ = sms::set_read(&mut self.stick, m.index);
            }
            // Only now, with the file on disk, delete it from the stick (one index per call).
            sms::delete(&mut self.stick, m.index)?;
            self.written.retain(|&i| i != m.index);
        }
        Ok(())
    }

    /// The oldest sent message to `phone` got its confirmation: the next one is about a later one.
    fn confirmed(&mut self, phone: &str) {
        if let Some(at) = self
            .sent
            .iter()
            .position(|r| sms::same_number(&r.phone, phone))
        {
            self.sent.remove(at);
        }
    }

    fn refresh_status(&mut self) {
        if let Ok(sig) = self.stick.get("device/signal") {
            let dbm = xml::text(&sig, "rssi")
                .or_else(|| xml::text(&sig, "rsrp"))
                .and_then(|v| {
                    v.trim_end_matches("dBm")
                        .trim()
                        .trim_start_matches('>')
                        .parse::<i32>()
                        .ok()
                });
            self.status.update_modem(|m| {
                m.signal_dbm = dbm;
                m.signal_quality = crate::modem::session::quality_word(dbm);
            });
        }
        if let Ok(st) = self.stick.get("monitoring/status") {
            // ServiceStatus 2 = service available; RoamingStatus 1 = roaming.
            let service = xml::text(&st, "ServiceStatus");
            let roaming = xml::text(&st, "RoamingStatus").as_deref() == Some("1");
            let reg = match service.as_deref() {
                Some("2") if roaming => Registration::Roaming,
                Some("2") => Registration::Home,
                Some(_) => Registration::NotRegistered,
                None => Registration::Unknown,
            };
            self.status.update_modem(|m| m.registration = reg);
        }
        if let Ok(plmn) = self.stick.get("net/current-plmn") {
            let op = xml::text(&plmn, "FullName").or_else(|| xml::text(&plmn, "ShortName"));
            self.status
                .update_modem(|m| m.operator = op.unwrap_or_default());
        }
        match self.stick.get("device/information") {
            Ok(info) => self.status.update_modem(|m| {
                m.manufacturer = "huawei".into();
                m.model = xml::text(&info, "DeviceName").unwrap_or_default();
                m.imei = xml::text(&info, "Imei").unwrap_or_default();
            }),
            Err(e) => self.problem(&e),
        }
    }
}

#[cfg(test)]
mod tests;
