//! The simulated stick's SMS side, shared by the built-in sim (`--device sim`) and the test pty
//! simulator (`tests/common/modem_sim.rs` includes this file): message storages ME (from index 0,
//! as Huawei) and SM, `AT+CPMS`, `AT+CNMI` (0 again after every power-up), `AT+CSMS`,
//! `AT+CMGL=4`/`AT+CMGR`/`AT+CMGD`, `+CMTI` hints, `^SMMEMFULL` with the network retrying later,
//! and USSD (`AT+CUSD`, packed or plain). Optional quirks: `+CMTI` lost, `AT+CPMS` counting 0
//! right after an arrival.
//!
//! Delivery reports: a part sent with TP-SRR gets an SMS-STATUS-REPORT `report_delay` later —
//! status 0 (delivered), 70 (validity period expired: failed) for numbers ending in 13, none at
//! all for numbers ending in 14 (a network that never reports). With `AT+CNMI=..,..,..,1` it is
//! pushed (`+CDS:`), with `2` stored in "SR" and announced (`+CDSI:`), with `0` dropped.
//!
//! Self-contained on purpose (no crate imports): it is the modem's side, not smsgw's.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// A command's answer: info lines then OK, or a failure line.
pub type Answer = Result<Vec<String>, String>;

const NAMES: [&str; 3] = ["ME", "SM", "SR"];
/// Index of the status-report storage in `NAMES`.
const SR: usize = 2;

#[derive(Clone, Debug, Default)]
pub struct StoreOptions {
    /// Slots per storage (a Huawei stick: about 20).
    pub slots: usize,
    /// `+CMTI` hints are never sent (URCs on another port, or lost).
    pub lose_hints: bool,
    /// `AT+CPMS` does not count a message until it was asked once after the arrival.
    pub cpms_lag: bool,
    /// Time from `+CMGS` to the delivery report.
    pub report_delay: Duration,
    /// `AT+CNMI` with `<ds>` 2 is refused (a stick that only pushes reports as `+CDS`).
    pub push_reports_only: bool,
}

#[derive(Clone, Debug)]
struct Stored {
    pdu: String,
    read: bool,
    counted: bool,
}

/// Storage state: survives a replug (it is flash/SIM), except `cnmi_mt` and the selection.
#[derive(Debug)]
pub struct SmsStore {
    pub opts: StoreOptions,
    mems: [Vec<Option<Stored>>; 3],
    mem1: usize,
    mem3: usize,
    pub cnmi_mt: u8,
    /// `<ds>` of `AT+CNMI`: 0 drop reports, 1 push `+CDS`, 2 store in SR with `+CDSI`.
    pub cnmi_ds: u8,
    /// Status reports the network will deliver: when, and the PDU.
    reports: Vec<(Instant, String)>,
    /// Messages the network will retry (storage was full).
    backlog: Vec<String>,
    /// Every message ever deleted (PDU), for tests.
    pub deleted: Vec<String>,
    ussd_waiting: Option<String>,
}

/// `n` empty slots (a loop: `vec![None; n]` clones through a generic helper).
fn empty(n: usize) -> Vec<Option<Stored>> {
    let mut slots = Vec::with_capacity(n);
    for _ in 0..n {
        slots.push(None);
    }
    slots
}

impl SmsStore {
    pub fn new(opts: StoreOptions) -> SmsStore {
        let n = opts.slots.max(1);
        SmsStore {
            opts,
            mems: [empty(n), empty(n), empty(n)],
            mem1: 0,
            mem3: 0,
            cnmi_mt: 0,
            cnmi_ds: 0,
            reports: Vec::new(),
            backlog: Vec::new(),
            deleted: Vec::new(),
            ussd_waiting: None,
        }
    }

    /// Power-up: `AT+CNMI` back to 0, ME selected.
    pub fn power_up(&mut self) {
        self.cnmi_mt = 0;
        self.cnmi_ds = 0;
        self.mem1 = 0;
    }

    /// First index of a storage: ME counts from 0 (Huawei), SM from 1.
    fn base(mem: usize) -> usize {
        if mem == 0 {
            0
        } else {
            1
        }
    }

    pub fn stored(&self) -> usize {
        self.mems.iter().flatten().filter(|m| m.is_some()).count()
    }

    fn counts(&mut self, mem: usize) -> (usize, usize) {
        let lag = self.opts.cpms_lag;
        let Some(slots) = self.mems.get_mut(mem) else {
            return (0, 0);
        };
        let mut used = 0;
        for m in slots.iter_mut().flatten() {
            if m.counted || !lag {
                used += 1;
            }
            m.counted = true;
        }
        (used, slots.len())
    }

    /// An SMS-DELIVER (hex, SMSC field first) arrives from the network; returns the URCs.
    pub fn deliver(&mut self, pdu: &str) -> Vec<String> {
        self.backlog.push(pdu.to_string());
        self.retry()
    }

    /// Stores `pdu` in the first free slot of `mem`: its index, or the PDU back when it is full.
    fn put(&mut self, mem: usize, pdu: String) -> Result<usize, String> {
        let slots = &mut self.mems[mem];
        let Some(i) = slots.iter().position(Option::is_none) else {
            return Err(pdu);
        };
        slots[i] = Some(Stored {
            pdu,
            read: false,
            counted: false,
        });
        Ok(i + Self::base(mem))
    }

    /// The network retries what did not fit; returns the URCs.
    pub fn retry(&mut self) -> Vec<String> {
        let mut urcs = Vec::new();
        while !self.backlog.is_empty() {
            let pdu = self.backlog.remove(0);
            let mem = self.mem3;
            match self.put(mem, pdu) {
                Ok(index) => {
                    if self.cnmi_mt == 1 && !self.opts.lose_hints {
                        urcs.push(format!("+CMTI: \"{}\",{index}", NAMES[mem]));
                    }
                }
                Err(pdu) => {
                    self.backlog.insert(0, pdu);
                    urcs.push(format!("^SMMEMFULL: \"{}\"", NAMES[mem]));
                    break;
                }
            }
        }
        urcs
    }

    /// A part went out as `+CMGS: mr` at `now`: schedules its delivery report if it asked for one.
    pub fn submitted(&mut self, submit_hex: &str, mr: u8, now: Instant) {
        let delay = self.opts.report_delay;
        // 26-11-28 12:MM:00 +00:00 with MM from the reference; discharged `delay` seconds later.
        let minute = mr % 60;
        let swapped = |v: u8| ((v % 10) << 4) | (v / 10);
        let scts = [0x62, 0x11, 0x82, 0x21, swapped(minute), 0x00, 0x00];
        let mut dt = scts;
        dt[5] = swapped(delay.as_secs().min(59) as u8);
        if let Some(pdu) = submit_to_status_report(submit_hex, mr, scts, dt, None) {
            self.reports.push((now + delay, pdu));
        }
    }

    /// Reports due at `now`, as the stick passes them on: `+CDS` lines (push) or `+CDSI` hints
    /// (stored in SR); with `<ds>` 0 they are lost.
    pub fn due_reports(&mut self, now: Instant) -> Vec<String> {
        let mut urcs = Vec::new();
        let mut due = Vec::new();
        for (t, pdu) in std::mem::take(&mut self.reports) {
            if t <= now {
                due.push(pdu);
            } else {
                self.reports.push((t, pdu));
            }
        }
        for pdu in due {
            match self.cnmi_ds {
                1 => urcs.push(format!("+CDS: {}\r\n{pdu}", tpdu_len(&pdu))),
                2 => match self.put(SR, pdu) {
                    Ok(index) if !self.opts.lose_hints => {
                        urcs.push(format!("+CDSI: \"SR\",{index}"));
                    }
                    Ok(_) => {}
                    // SR full: the network tries again later.
                    Err(pdu) => self.reports.push((now, pdu)),
                },
                _ => {}
            }
        }
        urcs
    }

    /// The network sends this status report (hex) at `at`.
    pub fn report_at(&mut self, pdu: &str, at: Instant) {
        self.reports.push((at, pdu.to_string()));
    }

    /// Reports the network has not delivered yet.
    pub fn reports_in_network(&self) -> usize {
        self.reports.len()
    }

    pub fn waiting_in_network(&self) -> usize {
        self.backlog.len()
    }

    fn mem_of(name: &str) -> Option<usize> {
        NAMES
            .iter()
            .position(|n| *n == name.trim().trim_matches('"'))
    }

    fn slot(&mut self, arg: &str) -> Option<&mut Option<Stored>> {
        let i: usize = arg.split(',').next()?.trim().parse().ok()?;
        let base = Self::base(self.mem1);
        self.mems[self.mem1].get_mut(i.checked_sub(base)?)
    }

    /// The answer to `cmd` (upper case, without `AT`), or `None` if it is not an SMS command.
    pub fn command(&mut self, cmd: &str) -> Option<Answer> {
        let ok = |l: Vec<String>| Some(Ok(l));
        if cmd == "+CPMS=?" {
            let list = "(\"ME\",\"MT\",\"SM\",\"SR\")";
            return ok(vec![format!("+CPMS: {list},{list},{list}")]);
        }
        if let Some(args) = cmd.strip_prefix("+CPMS=") {
            let mut mems = Vec::new();
            for name in args.split(',') {
                match Self::mem_of(name) {
                    Some(m) => mems.push(m),
                    None => return Some(Err("+CMS ERROR: 302".into())),
                }
            }
            self.mem1 = mems.first().copied().unwrap_or(0);
            if let Some(m3) = mems.get(2) {
                self.mem3 = *m3;
            }
            let mut line = String::from("+CPMS: ");
            for m in [self.mem1, self.mem1, self.mem3] {
                let (u, t) = self.counts(m);
                if line.len() > 7 {
                    line.push(',');
                }
                line.push_str(&format!("{u},{t}"));
            }
            return ok(vec![line]);
        }
        if let Some(args) = cmd.strip_prefix("+CNMI=") {
            // <mode>,<mt>,<bm>,<ds>: a missing or bad value counts as 0
            let mut v = [0u8; 4];
            for (slot, a) in v.iter_mut().zip(args.split(',')) {
                *slot = a.trim().parse().unwrap_or(0);
            }
            let [_, mt, _, ds] = v;
            if ds > 2 || (ds == 2 && self.opts.push_reports_only) {
                return Some(Err("+CMS ERROR: 303".into()));
            }
            self.cnmi_mt = mt;
            self.cnmi_ds = ds;
            return ok(vec![]);
        }
        if cmd.starts_with("+CSMS=") {
            return ok(vec!["+CSMS: 1,1,1".into()]);
        }
        if cmd == "+CMGL=4" {
            let base = Self::base(self.mem1);
            let mut lines = Vec::new();
            for (i, m) in self.mems[self.mem1].iter_mut().enumerate() {
                if let Some(m) = m {
                    let stat = u8::from(m.read);
                    m.read = true;
                    lines.push(format!("+CMGL: {},{stat},,{}", i + base, tpdu_len(&m.pdu)));
                    lines.push(m.pdu.clone());
                }
            }
            return ok(lines);
        }
        if cmd.starts_with("+CMGL=\"") {
            return Some(Err("+CMS ERROR: 302".into())); // text-mode listing in PDU mode
        }
        if let Some(arg) = cmd.strip_prefix("+CMGR=") {
            let arg = arg.to_string();
            return Some(match self.slot(&arg) {
                Some(Some(m)) => {
                    let stat = u8::from(m.read);
                    m.read = true;
                    Ok(vec![
                        format!("+CMGR: {stat},,{}", tpdu_len(&m.pdu)),
                        m.pdu.clone(),
                    ])
                }
                _ => Err("+CMS ERROR: 321".into()),
            });
        }
        if let Some(arg) = cmd.strip_prefix("+CMGD=") {
            let arg = arg.to_string();
            return Some(match self.slot(&arg) {
                Some(slot) => {
                    if let Some(m) = slot.take() {
                        self.deleted.push(m.pdu);
                    }
                    Ok(vec![])
                }
                None => Err("+CMS ERROR: 321".into()),
            });
        }
        if let Some(args) = cmd.strip_prefix("+CUSD=") {
            return Some(self.ussd(args));
        }
        None
    }

    fn ussd(&mut self, args: &str) -> Answer {
        if args.trim() == "2" {
            return Ok(vec![]);
        }
        let code = args.split('"').nth(1).unwrap_or("");
        let (text, packed) = match unpack_ascii(code) {
            Some(t) if t.starts_with('*') => (t, true),
            _ => (code.to_string(), false),
        };
        let reply = match text.as_str() {
            "*100#" => "Balance: 12.34 EUR\r\nValid until 2027-01-31",
            "*101#" => "Your number is +4915550000000",
            _ => "",
        };
        self.ussd_waiting = Some(if reply.is_empty() {
            "+CUSD: 4".to_string()
        } else {
            let body = if packed {
                pack_ascii(reply)
            } else {
                reply.to_string()
            };
            format!("+CUSD: 0,\"{body}\",15")
        });
        Ok(vec![])
    }

    /// The `+CUSD:` reply that follows the `OK` of an `AT+CUSD` (taken once).
    pub fn take_ussd_reply(&mut self) -> Option<String> {
        self.ussd_waiting.take()
    }
}

/// Octets of the TPDU (after the SMSC field) of a hex PDU.
pub fn tpdu_len(hex: &str) -> usize {
    let smsc = hex
        .get(..2)
        .and_then(|h| usize::from_str_radix(h, 16).ok())
        .unwrap_or(0);
    (hex.len() / 2).saturating_sub(1 + smsc)
}

fn octets(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    let mut out = Vec::with_capacity(hex.len() / 2);
    for i in 0..hex.len() / 2 {
        out.push(u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?);
    }
    Some(out)
}

/// Upper-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        for n in [b >> 4, b & 0x0F] {
            out.push(char::from(
                DIGITS.get(usize::from(n)).copied().unwrap_or(b'0'),
            ));
        }
    }
    out
}

/// GSM 7-bit packing of ASCII text that the default alphabet shares (digits, letters, `*#+ .:-`).
pub fn pack_ascii(text: &str) -> String {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in text.bytes() {
        acc |= u32::from(b & 0x7F) << bits;
        bits += 7;
        while bits >= 8 {
            out.push((acc & 0xFF) as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    if bits > 0 {
        out.push((acc & 0xFF) as u8);
    }
    hex(&out)
}

/// The reverse of [`pack_ascii`] (a trailing CR pad dropped); `None` if not hex.
pub fn unpack_ascii(hex: &str) -> Option<String> {
    let data = octets(hex)?;
    let (mut acc, mut bits, mut out) = (0u32, 0u32, String::new());
    for o in &data {
        acc |= u32::from(*o) << bits;
        bits += 8;
        while bits >= 7 {
            out.push(char::from((acc & 0x7F) as u8));
            acc >>= 7;
            bits -= 7;
        }
    }
    while out.ends_with('\r') || out.ends_with('\0') {
        out.pop();
    }
    Some(out)
}

/// Turns an SMS-SUBMIT (hex, SMSC field first, as `smsgw encode` prints it) into the
/// SMS-DELIVER its recipient would get: TP-DA becomes TP-OA (the sender), TP-MR and TP-VP go,
/// `scts` (7 swapped-BCD octets) is the service centre time stamp.
pub fn submit_to_deliver(submit_hex: &str, scts: [u8; 7]) -> Option<String> {
    let o = octets(submit_hex)?;
    let smsc_len = usize::from(*o.first()?);
    let mut i = 1 + smsc_len;
    let first = *o.get(i)?;
    let vp_len = match (first >> 3) & 0x03 {
        0 => 0,
        2 => 1,
        _ => 7,
    };
    i += 2; // first octet, TP-MR
    let da_len = usize::from(*o.get(i)?);
    let addr = o.get(i..i + 2 + da_len.div_ceil(2))?;
    i += addr.len();
    let pid_dcs = o.get(i..i + 2)?;
    i += 2 + vp_len;
    let ud = o.get(i..)?;
    let mut out = Vec::with_capacity(o.len() + 8);
    out.push(0); // SMSC: none given
    out.push(first & 0x40 | 0x04); // DELIVER, no more messages, UDHI kept
    out.extend_from_slice(addr);
    out.extend_from_slice(pid_dcs);
    out.extend_from_slice(&scts);
    out.extend_from_slice(ud);
    Some(hex(&out))
}

/// What the simulated network reports for a part sent to `digits` (the recipient's digits):
/// `None` for numbers ending in 14 (a network that never reports), status 70 (validity period
/// expired: failed) for numbers ending in 13, else 0 (delivered).
pub fn report_status_for(digits: &str) -> Option<u8> {
    if digits.ends_with("14") {
        None
    } else if digits.ends_with("13") {
        Some(0x46)
    } else {
        Some(0)
    }
}

/// The SMS-STATUS-REPORT (hex, empty SMSC field first) the service centre sends for an
/// SMS-SUBMIT (hex, SMSC field first) that asked for one (TP-SRR) and was answered `+CMGS: mr`.
/// `status` `None`: as [`report_status_for`] the recipient. `None` when the SUBMIT asked for
/// no report, the network does not report to that number, or the PDU is not readable.
pub fn submit_to_status_report(
    submit_hex: &str,
    mr: u8,
    scts: [u8; 7],
    discharge: [u8; 7],
    status: Option<u8>,
) -> Option<String> {
    let o = octets(submit_hex)?;
    let smsc_len = usize::from(*o.first()?);
    let mut i = 1 + smsc_len;
    let first = *o.get(i)?;
    if first & 0x20 == 0 {
        return None;
    }
    i += 2; // first octet, TP-MR
    let da_len = usize::from(*o.get(i)?);
    let addr = o.get(i..i + 2 + da_len.div_ceil(2))?;
    let mut digits = String::new();
    for b in addr.get(2..)? {
        for nibble in [b & 0x0F, b >> 4] {
            if nibble < 10 && digits.len() < da_len {
                digits.push(char::from(b'0' + nibble));
            }
        }
    }
    let status = status.or_else(|| report_status_for(&digits))?;
    let mut out = Vec::with_capacity(32);
    out.push(0); // SMSC: none given
    out.push(0x06); // STATUS-REPORT, no more messages
    out.push(mr);
    out.extend_from_slice(addr);
    out.extend_from_slice(&scts);
    out.extend_from_slice(&discharge);
    out.push(status);
    Some(hex(&out))
}
