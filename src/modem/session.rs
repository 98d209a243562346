//! One modem session over an [`AtPort`]: the init sequence, `AT+CMGS`, status queries, and the pure
//! parsers/classifiers for their answers (`+CSQ`, `+CREG`, `+COPS`, `+CMGS`, `+CMS ERROR` codes).
//!
//! Owns what a careful smsd does after opening the port; it must not open devices, sleep for long,
//! own threads or know the spool. Reconnecting and retrying are the engine's job (`modem/mod.rs`).

use crate::at::{AtError, AtPort, Final};
use crate::config::ServeConfig;
use crate::pdu::SubmitPart;
use crate::status::{GatewayStatus, Registration};
use std::io::{Read, Write};
use std::time::Duration;

/// Extra init when the user configured none: Huawei, silence `^RSSI`/`^HCSQ`/... URCs.
pub const DEFAULT_INIT: &[&str] = &["AT^CURC=0"];

/// Per-command timeouts.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub command: Duration,
    /// Wait for the `+CMGS` result after the PDU.
    pub cmgs: Duration,
}

impl Timeouts {
    pub fn from_config(cfg: &ServeConfig) -> Timeouts {
        let command = cfg
            .command_timeout
            .clamp(Duration::from_secs(1), Duration::from_secs(3600));
        Timeouts {
            command,
            cmgs: command.saturating_mul(6),
        }
    }
}

/// Why the session could not be set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitError {
    /// The device failed (gone): reconnect.
    Device(String),
    /// The modem answered but cannot be used now (no SIM, PIN problem, no answer): retry later.
    Failed(String),
}

impl std::fmt::Display for InitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InitError::Device(e) => f.write_str(e),
            InitError::Failed(e) => f.write_str(e),
        }
    }
}

fn device(e: AtError) -> InitError {
    match e {
        AtError::Io(m) => InitError::Device(m),
        other => InitError::Failed(other.to_string()),
    }
}

/// Runs a command; a device error aborts, anything else is returned for the caller to judge.
fn soft<S: Read + Write>(
    at: &mut AtPort<S>,
    cmd: &str,
    t: Duration,
) -> Result<Result<Vec<String>, AtError>, InitError> {
    match at.command(cmd, t) {
        Err(AtError::Io(m)) => Err(InitError::Device(m)),
        other => Ok(other),
    }
}

/// The init sequence: `AT` until OK, `ATE0`, `AT+CMEE=1`, PIN (once, only when asked, never after
/// a rejection), extra init, `AT+CMGF=0`, SMSC, identity and status. Returns whether the modem is
/// registered. `pin_rejected` lives as long as the process: a rejected PIN is never sent again.
pub fn init<S: Read + Write>(
    at: &mut AtPort<S>,
    cfg: &ServeConfig,
    t: &Timeouts,
    pin_rejected: &mut bool,
    status: &GatewayStatus,
) -> Result<bool, InitError> {
    // ESC leaves a PDU prompt that a previous run may have left open.
    at.write_raw(&[crate::at::ESC]).map_err(device)?;
    at.drain(Duration::from_millis(200)).map_err(device)?;
    let probe = t.command.min(Duration::from_secs(2));
    let mut alive = false;
    for _ in 0..5 {
        if soft(at, "AT", probe)?.is_ok() {
            alive = true;
            break;
        }
    }
    if !alive {
        return Err(InitError::Failed("modem does not answer AT".into()));
    }
    at.command("ATE0", t.command).map_err(device)?;
    let _ = soft(at, "AT+CMEE=1", t.command)?;
    unlock_sim(at, cfg, t, pin_rejected)?;
    let defaults = DEFAULT_INIT.iter().copied().filter(|_| cfg.init.is_empty());
    for cmd in defaults.chain(cfg.init.iter().map(String::as_str)) {
        if let Err(e) = soft(at, cmd, t.command)? {
            eprintln!("modem: init command {cmd} failed: {e}");
        }
    }
    at.command("AT+CMGF=0", t.command).map_err(device)?;
    if let Some(smsc) = &cfg.smsc {
        let kind = if smsc.starts_with('+') { 145 } else { 129 };
        if let Err(e) = soft(at, &format!("AT+CSCA=\"{smsc}\",{kind}"), t.command)? {
            eprintln!("modem: setting the SMSC failed: {e}");
        }
    }
    identify(at, t, status)?;
    refresh(at, t, status)
}

fn unlock_sim<S: Read + Write>(
    at: &mut AtPort<S>,
    cfg: &ServeConfig,
    t: &Timeouts,
    pin_rejected: &mut bool,
) -> Result<(), InitError> {
    let state = sim_state(at, t)?;
    match state.as_str() {
        "READY" => return Ok(()),
        "SIM PIN" => {}
        other => {
            return Err(InitError::Failed(format!(
                "SIM is not ready ({other}); not sending anything to it"
            )))
        }
    }
    if *pin_rejected {
        return Err(InitError::Failed(
            "SIM asks for its PIN, but it was rejected before; not trying again (fix --pin and restart)"
                .into(),
        ));
    }
    let Some(pin) = &cfg.pin else {
        return Err(InitError::Failed(
            "SIM asks for a PIN and none is configured (--pin)".into(),
        ));
    };
    match soft(at, &format!("AT+CPIN=\"{pin}\""), t.command)? {
        Ok(_) => {}
        Err(e) => {
            // Also on a timeout: an unknown outcome must never lead to a second try.
            *pin_rejected = true;
            return Err(InitError::Failed(format!(
                "SIM rejected the PIN ({e}); not trying again (fix --pin and restart)"
            )));
        }
    }
    // The SIM takes a moment after the PIN.
    for _ in 0..10 {
        if sim_state(at, t)? == "READY" {
            return Ok(());
        }
        at.drain(Duration::from_millis(500)).map_err(device)?;
    }
    Err(InitError::Failed("SIM not ready after the PIN".into()))
}

/// `AT+CPIN?` -> `READY`, `SIM PIN`, `SIM PUK`, ...
fn sim_state<S: Read + Write>(at: &mut AtPort<S>, t: &Timeouts) -> Result<String, InitError> {
    let lines = soft(at, "AT+CPIN?", t.command)?
        .map_err(|e| InitError::Failed(format!("SIM check failed: {e}")))?;
    Ok(lines
        .iter()
        .find_map(|l| l.strip_prefix("+CPIN:"))
        .map(|s| s.trim().trim_matches('"').to_string())
        .unwrap_or_else(|| "unknown".into()))
}

fn first_value(lines: &[String], prefix: &str) -> Option<String> {
    lines
        .iter()
        .map(|l| l.strip_prefix(prefix).unwrap_or(l).trim())
        .find(|l| !l.is_empty())
        .map(|l| l.trim_matches('"').to_string())
}

/// Manufacturer, model, IMEI into the status (failures ignored).
pub fn identify<S: Read + Write>(
    at: &mut AtPort<S>,
    t: &Timeouts,
    status: &GatewayStatus,
) -> Result<(), InitError> {
    let mut facts = [String::new(), String::new(), String::new()];
    for (slot, (cmd, prefix)) in facts.iter_mut().zip([
        ("AT+CGMI", "+CGMI:"),
        ("AT+CGMM", "+CGMM:"),
        ("AT+CGSN", "+CGSN:"),
    ]) {
        if let Ok(lines) = soft(at, cmd, t.command)? {
            *slot = first_value(&lines, prefix).unwrap_or_default();
        }
    }
    let [manufacturer, model, imei] = facts;
    status.update_modem(|m| {
        m.manufacturer = manufacturer;
        m.model = model;
        m.imei = imei;
    });
    Ok(())
}

/// Signal, registration and operator into the status; returns whether registered.
pub fn refresh<S: Read + Write>(
    at: &mut AtPort<S>,
    t: &Timeouts,
    status: &GatewayStatus,
) -> Result<bool, InitError> {
    if let Ok(lines) = soft(at, "AT+CSQ", t.command)? {
        if let Some(rssi) = lines.iter().find_map(|l| parse_csq(l)) {
            set_signal(status, rssi);
        }
    }
    let registered = check_registration(at, t, status)?;
    if let Ok(lines) = soft(at, "AT+COPS?", t.command)? {
        let op = lines.iter().find_map(|l| parse_cops(l)).unwrap_or_default();
        status.update_modem(|m| m.operator = op);
    }
    Ok(registered)
}

/// `AT+CREG?` into the status; returns whether registered (home or roaming).
pub fn check_registration<S: Read + Write>(
    at: &mut AtPort<S>,
    t: &Timeouts,
    status: &GatewayStatus,
) -> Result<bool, InitError> {
    let lines = match soft(at, "AT+CREG?", t.command)? {
        Ok(lines) => lines,
        Err(e) => return Err(InitError::Failed(e.to_string())),
    };
    let reg = lines
        .iter()
        .find_map(|l| parse_creg(l, true))
        .map_or(Registration::Unknown, Registration::from_stat);
    status.update_modem(|m| m.registration = reg);
    Ok(reg.is_registered())
}

/// Sends one part; returns the message reference.
pub fn send<S: Read + Write>(
    at: &mut AtPort<S>,
    part: &SubmitPart,
    t: &Timeouts,
) -> Result<u8, AtError> {
    let lines = at.send_pdu(part.tpdu_len, &part.hex, t.command, t.cmgs)?;
    Ok(lines.iter().find_map(|l| parse_cmgs(l)).unwrap_or(0))
}

/// Records a `+CSQ`/`^RSSI` value.
pub fn set_signal(status: &GatewayStatus, rssi: u8) {
    let dbm = csq_dbm(rssi);
    status.update_modem(|m| {
        m.signal_dbm = dbm;
        m.signal_quality = quality_word(dbm);
    });
}

fn after_colon<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    line.strip_prefix(prefix).map(str::trim)
}

/// `+CSQ: 22,99` -> 22.
pub fn parse_csq(line: &str) -> Option<u8> {
    after_colon(line, "+CSQ:")?
        .split(',')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// RSSI index to dBm (27.007: 0 = -113 dBm or less, 31 = -51 or more, 99 = unknown).
pub fn csq_dbm(rssi: u8) -> Option<i32> {
    (rssi <= 31).then(|| -113 + 2 * i32::from(rssi))
}

/// smsd's words: Excellent above -75 dBm, Good, Workable, Marginal.
pub fn quality_word(dbm: Option<i32>) -> &'static str {
    match dbm {
        None => "unknown",
        Some(d) if d > -75 => "Excellent",
        Some(d) if d > -85 => "Good",
        Some(d) if d > -95 => "Workable",
        Some(_) => "Marginal",
    }
}

/// `<stat>` of `+CREG`. A solicited answer is `+CREG: <n>,<stat>[,...]`, the URC `+CREG: <stat>[,...]`
/// (a URC that slipped into an `AT+CREG?` answer is recognised by its quoted second field).
pub fn parse_creg(line: &str, solicited: bool) -> Option<u8> {
    let rest = after_colon(line, "+CREG:")?;
    let mut fields = rest.split(',').map(str::trim);
    let first = fields.next()?.parse::<u8>().ok()?;
    match fields.next().map(str::parse::<u8>) {
        Some(Ok(stat)) if solicited => Some(stat),
        None if solicited => None,
        _ => Some(first),
    }
}

/// `+COPS: 0,0,"dtac",7` -> `dtac`.
pub fn parse_cops(line: &str) -> Option<String> {
    let rest = after_colon(line, "+COPS:")?;
    let name = rest.split(',').nth(2)?.trim().trim_matches('"');
    (!name.is_empty()).then(|| name.to_string())
}

/// `+CMGS: 45` -> 45.
pub fn parse_cmgs(line: &str) -> Option<u8> {
    after_colon(line, "+CMGS:")?
        .split(',')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// `^RSSI:20` -> 20.
pub fn parse_rssi_urc(line: &str) -> Option<u8> {
    line.strip_prefix("^RSSI:")?.trim().parse().ok()
}

/// Whether a failed `AT+CMGS` is worth retrying. Transient: network trouble (`+CMS ERROR`
/// 38/41/42/47/331/332 and the like), plain `ERROR`, ME errors. Permanent: the destination or the
/// PDU itself was refused (unassigned number, barred, TPDU/PDU-parameter errors).
pub fn is_transient(result: &Final) -> bool {
    match result {
        Final::CmsError(code) => !matches!(
            code,
            1 | 8 | 10 | 21 | 27 | 28 | 29 | 30 | 50 | 96..=127 | 128..=255 | 301 | 303 | 304 | 305
        ),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_matches_smsd() {
        assert_eq!(parse_csq("+CSQ: 22,99"), Some(22));
        assert_eq!(csq_dbm(22), Some(-69));
        assert_eq!(quality_word(csq_dbm(22)), "Excellent");
        assert_eq!(quality_word(csq_dbm(21)), "Excellent");
        assert_eq!(quality_word(csq_dbm(19)), "Good");
        assert_eq!(quality_word(csq_dbm(12)), "Workable");
        assert_eq!(quality_word(csq_dbm(5)), "Marginal");
        assert_eq!(csq_dbm(99), None);
        assert_eq!(quality_word(None), "unknown");
        assert_eq!(parse_csq("+CSQ: x"), None);
        assert_eq!(parse_rssi_urc("^RSSI:20"), Some(20));
    }

    #[test]
    fn registration_answers_and_urcs() {
        assert_eq!(
            parse_creg("+CREG: 2,5,\"792D\",\"04947221\"", true),
            Some(5)
        );
        assert_eq!(parse_creg("+CREG: 0,1", true), Some(1));
        assert_eq!(parse_creg("+CREG: 5,\"792D\",\"04947221\"", true), Some(5));
        assert_eq!(parse_creg("+CREG: 5,\"792D\",\"04947221\"", false), Some(5));
        assert_eq!(parse_creg("+CREG: 1", false), Some(1));
        assert_eq!(parse_creg("+CREG: 2", true), None);
        assert_eq!(parse_creg("+CREG: ", true), None);
        assert_eq!(parse_creg("+CSQ: 1,2", true), None);
    }

    #[test]
    fn operator_and_reference() {
        assert_eq!(parse_cops("+COPS: 0,0,\"dtac\",7").as_deref(), Some("dtac"));
        assert_eq!(parse_cops("+COPS: 0"), None);
        assert_eq!(parse_cmgs("+CMGS: 45"), Some(45));
        assert_eq!(parse_cmgs("+CMGS: 300"), None);
    }

    #[test]
    fn cms_errors_are_classified() {
        for c in [38, 41, 42, 47, 331, 332, 500] {
            assert!(is_transient(&Final::CmsError(c)), "{c}");
        }
        for c in [1, 21, 28, 304] {
            assert!(!is_transient(&Final::CmsError(c)), "{c}");
        }
        assert!(is_transient(&Final::Error));
    }
}
