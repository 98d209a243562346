//! The AT steps of a session and what each answer means: the init sequence (probe, echo off,
//! `+CMEE`, SIM identity and PIN, extra init, PDU mode, SMSC, identity, receiving setup), the
//! status refresh and the inbox commands. Part of the sans-I/O engine: answers come in as lines,
//! the next steps and the modem facts go out.
//!
//! Owns the per-step policy (what is fatal, what is only logged, the PIN that is sent at most
//! once per SIM and PIN); it must not do I/O or read a clock.

use super::engine::{Engine, EngineConfig, Event};
use super::inbox::{Listed, Storage};
use super::session;
use super::ussd::UssdForm;
use crate::at::Final;
use std::time::{Duration, Instant};

/// Extra init when the user configured none: Huawei, silence `^RSSI`/`^HCSQ`/... URCs.
pub const DEFAULT_INIT: &[&str] = &["AT^CURC=0"];

/// One AT command of a session (or a marker in the init queue).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// `AT`, the n-th try.
    Probe(u8),
    Echo,
    Cmee,
    /// `AT^ICCID?` (Huawei), readable before the PIN.
    Iccid,
    CpinQuery,
    CpinEnter,
    /// `AT+CPIN?` after the PIN, the n-th time.
    CpinWait(u8),
    Extra(usize),
    Cmgf,
    Csca,
    /// 0 = `+CGMI`, 1 = `+CGMM`, 2 = `+CGSN`.
    Ident(u8),
    /// `AT+CPMS=?`: the storages to poll.
    CpmsList,
    /// `AT+CPMS="X","X","X"`: where new messages go.
    CpmsInit,
    Csms,
    Cnmi,
    Csq,
    Creg,
    Cops,
    /// End of the init queue: the session is up.
    Done,
    Cmgs,
    /// `AT+CPMS="X"`: read/delete storage, answers the counts.
    Select(Storage),
    /// `AT+CMGL=4`: every message, PDU mode.
    List(Storage),
    Delete(Storage, u16),
    Cusd(UssdForm),
}

/// A queue of steps, bounded by type (one instantiation for init, refresh and the inbox poll).
pub type Steps = heapless::Deque<Step, 40>;

/// Extra init commands sent at most (`--init`).
const MAX_EXTRA: usize = 16;

/// The init sequence, after the ESC and the quiet time.
pub fn sequence(cfg: &EngineConfig) -> Steps {
    let extra = if cfg.init.is_empty() {
        DEFAULT_INIT.len()
    } else {
        cfg.init.len().min(MAX_EXTRA)
    };
    let smsc = cfg.smsc.iter().map(|_| Step::Csca);
    let receive = [Step::CpmsList, Step::CpmsInit, Step::Csms, Step::Cnmi];
    let receive = receive.into_iter().filter(|_| cfg.receive);
    let mut s = Steps::new();
    let all = [
        Step::Probe(0),
        Step::Echo,
        Step::Cmee,
        Step::Iccid,
        Step::CpinQuery,
    ]
    .into_iter()
    .chain((0..extra).map(Step::Extra))
    .chain([Step::Cmgf])
    .chain(smsc)
    .chain([Step::Ident(0), Step::Ident(1), Step::Ident(2)])
    .chain(receive)
    .chain([Step::Csq, Step::Creg, Step::Cops, Step::Done]);
    for step in all {
        let _ = s.push_back(step);
    }
    s
}

/// A rejected PIN is remembered by this key (FNV-1a of PIN and ICCID): the PIN itself is never
/// written down, and a new PIN or another SIM gets a new key.
pub fn pin_key(pin: &str, iccid: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in pin.bytes().chain([0]).chain(iccid.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The command line of `step`.
pub fn command_line(e: &Engine, step: &Step) -> String {
    let fixed = match step {
        Step::Probe(_) => "AT",
        Step::Echo => "ATE0",
        Step::Cmee => "AT+CMEE=1",
        Step::Iccid => "AT^ICCID?",
        Step::CpinQuery | Step::CpinWait(_) => "AT+CPIN?",
        Step::Cmgf => "AT+CMGF=0",
        Step::CpmsList => "AT+CPMS=?",
        Step::Csms => "AT+CSMS=0",
        // mode 2, mt 1: new SMS are stored and announced by +CMTI (never routed as +CMT); ds 2:
        // delivery reports stored in SR and announced by +CDSI (else 1: pushed as +CDS, which
        // AT+CSMS=0 lets the stick acknowledge itself).
        Step::Cnmi => return format!("AT+CNMI=2,1,0,{},0", e.cnmi_ds),
        Step::Csq => "AT+CSQ",
        Step::Creg => "AT+CREG?",
        Step::Cops => "AT+COPS?",
        Step::Ident(0) => "AT+CGMI",
        Step::Ident(1) => "AT+CGMM",
        Step::Ident(_) => "AT+CGSN",
        Step::List(_) => "AT+CMGL=4",
        Step::Done | Step::Cmgs => "AT",
        Step::CpinEnter => return format!("AT+CPIN=\"{}\"", e.cfg.pin.as_deref().unwrap_or("")),
        Step::Extra(i) => {
            let configured = e.cfg.init.get(*i).map(String::as_str);
            return configured
                .or(DEFAULT_INIT.get(*i).copied())
                .unwrap_or("AT")
                .to_string();
        }
        Step::Csca => {
            let smsc = e.cfg.smsc.as_deref().unwrap_or("");
            let kind = if smsc.starts_with('+') { 145 } else { 129 };
            return format!("AT+CSCA=\"{smsc}\",{kind}");
        }
        Step::CpmsInit => {
            let m = e.inbox.receive_storage().as_str();
            return format!("AT+CPMS=\"{m}\",\"{m}\",\"{m}\"");
        }
        Step::Select(m) => return format!("AT+CPMS=\"{}\"", m.as_str()),
        Step::Delete(_, i) => return format!("AT+CMGD={i}"),
        Step::Cusd(form) => return e.ussd.command_line(form),
    };
    fixed.to_string()
}

fn first_value(lines: &[String], prefix: &str) -> String {
    lines
        .iter()
        .map(|l| l.strip_prefix(prefix).unwrap_or(l).trim())
        .find(|l| !l.is_empty())
        .map(|l| l.trim_matches('"').to_string())
        .unwrap_or_default()
}

/// A command of `step` ended with `result` (`Ok(info lines)` or the failure).
pub fn answered(e: &mut Engine, step: Step, result: Result<Vec<String>, Final>, now: Instant) {
    let failed = |r: &Result<Vec<String>, Final>| match r {
        Ok(_) => None,
        Err(f) => Some(f.to_string()),
    };
    match step {
        Step::Probe(n) => {
            if result.is_err() {
                if n < 4 {
                    let _ = e.init.push_front(Step::Probe(n + 1));
                } else {
                    e.init_failed("modem does not answer AT".into(), now);
                }
            }
        }
        Step::Echo | Step::Cmgf => {
            if let Some(why) = failed(&result) {
                let cmd = command_line(e, &step);
                e.init_failed(format!("{cmd}: {why}"), now);
            }
        }
        // A stick without `^ICCID` keys the memory by the PIN alone.
        Step::Iccid => e.iccid = result.map_or(String::new(), |l| first_value(&l, "^ICCID:")),
        Step::CpinQuery => match result {
            Ok(lines) => sim_state(e, &first_value(&lines, "+CPIN:"), now),
            Err(f) => e.init_failed(format!("SIM check failed: {f}"), now),
        },
        Step::CpinEnter => {
            if let Some(why) = failed(&result) {
                // Also on a timeout: an unknown outcome must never lead to a second try.
                let key = pin_key(e.cfg.pin.as_deref().unwrap_or(""), &e.iccid);
                e.cfg.rejected_pins.push(key.clone());
                e.push_event(Event::PinRejected { key });
                let msg = format!(
                    "SIM rejected the PIN ({why}); not trying again (fix --pin and restart)"
                );
                e.init_failed(msg, now);
            } else {
                let _ = e.init.push_front(Step::CpinWait(0));
            }
        }
        Step::CpinWait(n) => {
            let ready = matches!(&result, Ok(l) if first_value(l, "+CPIN:") == "READY");
            if !ready {
                if n < 9 {
                    e.pause(Duration::from_millis(500), now);
                    let _ = e.init.push_front(Step::CpinWait(n + 1));
                } else {
                    e.init_failed("SIM not ready after the PIN".into(), now);
                }
            }
        }
        Step::Cmee => {}
        Step::Cnmi if result.is_err() && e.cnmi_ds > 0 => {
            let cmd = command_line(e, &step);
            e.cnmi_ds -= 1;
            let next = command_line(e, &step);
            e.log(format!("modem: {cmd} refused; trying {next}"));
            if !e.init.is_empty() {
                let _ = e.init.push_front(Step::Cnmi);
            }
        }
        Step::Extra(_) | Step::Csca | Step::Csms | Step::Cnmi | Step::CpmsInit => {
            if let Some(why) = failed(&result) {
                let cmd = command_line(e, &step);
                e.warn(format!("modem: {cmd} failed: {why}"));
            }
        }
        Step::Ident(k) => {
            if let Ok(lines) = result {
                let prefix = ["+CGMI:", "+CGMM:", "+CGSN:"].get(usize::from(k)).copied();
                let v = first_value(&lines, prefix.unwrap_or(""));
                match k {
                    0 => e.info.manufacturer = v,
                    1 => e.info.model = v,
                    _ => e.info.imei = v,
                }
                e.touch_info();
            }
        }
        Step::CpmsList => {
            let offered = result.ok().map(|l| first_value(&l, "+CPMS:"));
            e.inbox.set_storages(offered.as_deref());
        }
        Step::Csq => {
            if let Some(rssi) = result
                .ok()
                .and_then(|l| l.iter().find_map(|l| session::parse_csq(l)))
            {
                session::set_signal(&mut e.info, rssi);
                e.touch_info();
            }
        }
        Step::Creg => match result {
            Ok(lines) => {
                let stat = lines.iter().find_map(|l| session::parse_creg(l, true));
                let reg = stat.map_or(
                    crate::status::Registration::Unknown,
                    crate::status::Registration::from_stat,
                );
                e.registered = reg.is_registered();
                e.info.registration = reg;
                e.touch_info();
                if e.init.is_empty() {
                    e.ready_state();
                }
            }
            Err(f) => e.init_failed(format!("AT+CREG?: {f}"), now),
        },
        Step::Cops => {
            if let Ok(lines) = result {
                e.info.operator = lines
                    .iter()
                    .find_map(|l| session::parse_cops(l))
                    .unwrap_or_default();
                e.touch_info();
            }
        }
        Step::Select(m) => match result {
            Ok(lines) => {
                let counts = session::parse_cpms_counts(&first_value(&lines, "+CPMS:"));
                e.inbox.selected(m, counts);
                let (used, total) = e.inbox.usage();
                e.info.storage_used = used;
                e.info.storage_total = total;
                e.touch_info();
            }
            Err(f) => {
                if e.inbox.select_failed(m) {
                    let m = m.as_str();
                    e.warn(format!("modem: storage {m} cannot be selected ({f})"));
                }
            }
        },
        Step::List(m) => match result {
            Ok(lines) => {
                for (index, listed) in e.inbox.listed(m, &lines) {
                    let slot = Some((m, index));
                    e.push_event(match listed {
                        Listed::Sms(sms) => Event::Received { slot, sms },
                        Listed::Report(report) => Event::Report { slot, report },
                    });
                }
            }
            Err(f) => e.warn(format!("modem: AT+CMGL=4 on {} failed: {f}", m.as_str())),
        },
        Step::Delete(m, i) => {
            if let Some(why) = failed(&result) {
                e.warn(format!(
                    "modem: AT+CMGD={i} on {} failed: {why}",
                    m.as_str()
                ));
            }
            e.inbox.deleted((m, i));
        }
        Step::Cusd(form) => {
            let r = result.map_err(|f| f.to_string());
            e.ussd_answered(form, r, now);
        }
        Step::Done | Step::Cmgs => {}
    }
}

/// No final result within the timeout.
pub fn timed_out(e: &mut Engine, step: Step, now: Instant) {
    let cmd = command_line(e, &step);
    match step {
        // Reading and deleting are not worth a restart; a modem that stopped answering shows on
        // the registration check.
        Step::Probe(_)
        | Step::Cmee
        | Step::Iccid
        | Step::CpinEnter
        | Step::Extra(_)
        | Step::Csca
        | Step::Ident(_)
        | Step::CpmsList
        | Step::CpmsInit
        | Step::Csms
        | Step::Cnmi
        | Step::Csq
        | Step::Cops
        | Step::Select(_)
        | Step::List(_)
        | Step::Delete(..)
        | Step::Cusd(_) => answered(
            e,
            step,
            Err(Final::Other(format!("no answer to {cmd}"))),
            now,
        ),
        _ => e.init_failed(format!("no answer to {cmd}"), now),
    }
}

fn sim_state(e: &mut Engine, state: &str, now: Instant) {
    match state {
        "READY" => {}
        "SIM PIN" => {
            let Some(pin) = e.cfg.pin.clone() else {
                e.init_failed(
                    "SIM asks for a PIN and none is configured (--pin)".into(),
                    now,
                );
                return;
            };
            if e.cfg.rejected_pins.contains(&pin_key(&pin, &e.iccid)) {
                let msg = "SIM asks for its PIN, but this PIN was rejected before; not trying \
                           again (fix --pin and restart)";
                e.init_failed(msg.into(), now);
                return;
            }
            let _ = e.init.push_front(Step::CpinEnter);
        }
        other => {
            let other = if other.is_empty() { "unknown" } else { other };
            e.init_failed(
                format!("SIM is not ready ({other}); not sending anything to it"),
                now,
            );
        }
    }
}
