//! Pure parsers of the answers a modem session needs: `+CSQ`, `+CREG`, `+COPS`, `+CMGS`, `+CPMS`
//! and `^RSSI`, and the smsd-style signal words.
//!
//! It must not do I/O; the engine (`engine.rs`, `init.rs`) decides what the values mean for the
//! session.

use crate::status::ModemInfo;

/// Records a `+CSQ`/`^RSSI` value.
pub fn set_signal(info: &mut ModemInfo, rssi: u8) {
    let dbm = csq_dbm(rssi);
    info.signal_dbm = dbm;
    info.signal_quality = quality_word(dbm);
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

/// `+CPMS: 3,23,3,23,3,23` (the answer to `AT+CPMS="ME"`, prefix stripped) -> (3, 23).
pub fn parse_cpms_counts(rest: &str) -> Option<(u16, u16)> {
    let mut f = rest.split(',').map(|v| v.trim().trim_matches('"'));
    let used = f.next()?.parse().ok()?;
    let total = f.next()?.parse().ok()?;
    Some((used, total))
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
    fn storage_counts_are_read_from_cpms() {
        assert_eq!(parse_cpms_counts(" 3,23,3,23,3,23"), Some((3, 23)));
        assert_eq!(parse_cpms_counts("0,20"), Some((0, 20)));
        assert_eq!(parse_cpms_counts("x"), None);
    }
}
