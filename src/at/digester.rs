//! The AT digester: pure, bytes in, classified lines out (3GPP TS 27.007 framing).
//!
//! Owns byte framing (`\r\n` lines, the `> ` prompt that has no line end, echo, Huawei's extra
//! blank lines and `\r\r\n` endings) and the split of unsolicited result codes from command
//! responses, done before anything interprets a line. It must not do I/O, read a clock or know
//! modem policy.

use super::result::{parse_final, Final};

/// Longest line kept; the rest of a longer line is dropped (garbage protection).
const MAX_LINE: usize = 600;
/// URCs kept until someone takes them; older ones are dropped first.
const MAX_URCS: usize = 64;
/// Info lines kept per command.
const MAX_RESPONSE_LINES: usize = 200;

/// URC prefixes: always unsolicited unless the pending command asked for that very prefix.
const URC_PREFIXES: &[&str] = &[
    "+CREG:", "+CGREG:", "+CEREG:", "+CMTI:", "+CMT:", "+CDS:", "+CDSI:", "+CBM:", "+CUSD:",
    "+CRING:", "+CLIP:", "+CSSU:", "+CSSI:", "+CGEV:", "+CIEV:", "+PACSP", "+STIN:", "RING",
];
/// URCs whose next line (the PDU) belongs to them.
const TWO_LINE_URCS: &[&str] = &["+CMT:", "+CDS:", "+CBM:"];

fn urc_prefix(line: &str) -> Option<&str> {
    if line.starts_with('^') {
        return Some(line.split(':').next().unwrap_or(line));
    }
    URC_PREFIXES
        .iter()
        .find(|p| line.starts_with(*p))
        .map(|p| p.trim_end_matches(':'))
}

/// The command the digester is waiting on.
#[derive(Clone, Debug, Default)]
struct Pending {
    /// Info prefix the command answers with (`+CREG` for `AT+CREG?`), upper case.
    prefix: String,
    /// `> ` expected (AT+CMGS before the PDU).
    prompt: bool,
    /// The PDU text written after the prompt: its echo is dropped.
    pdu_echo: Option<String>,
}

/// What ended a pending command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Final(Final),
    /// The `> ` prompt for the PDU.
    Prompt,
}

/// Pure AT digester: feed raw bytes, get URCs, response lines and outcomes. Never panics and
/// never grows without bound, whatever the bytes.
#[derive(Debug, Default)]
pub struct Digester {
    /// The line being received: bounded by its type.
    line: heapless::Vec<u8, MAX_LINE>,
    overflow: bool,
    pending: Option<Pending>,
    /// A two-line URC waiting for its second line.
    urc_head: Option<String>,
    /// Oldest first; a `Vec` (at most `MAX_URCS`, so dropping the oldest is cheap): a
    /// `VecDeque<String>` drained into a `Vec` cost over 1 KB in the router binary.
    urcs: Vec<String>,
    lines: Vec<String>,
    outcome: Option<Outcome>,
    /// Bytes that arrived after the prompt, before the caller wrote the PDU.
    backlog: Vec<u8>,
    /// Set at the prompt: bytes go to the backlog until `begin_pdu`/`begin`/`abandon`.
    paused: bool,
}

/// Info prefix that a command line answers with: `AT+CREG?` -> `+CREG`, `AT^CURC=0` -> `^CURC`.
fn command_prefix(cmd: &str) -> String {
    let body = cmd.trim();
    let body = body
        .get(..2)
        .filter(|p| p.eq_ignore_ascii_case("AT"))
        .map_or(body, |_| body.get(2..).unwrap_or(""));
    body.chars()
        .take_while(|c| !matches!(c, '=' | '?' | ';'))
        .collect::<String>()
        .to_ascii_uppercase()
}

impl Digester {
    pub fn new() -> Digester {
        Digester::default()
    }

    /// Starts waiting for the answer to `cmd` (the command line as written, without `\r`).
    pub fn begin(&mut self, cmd: &str, prompt: bool) {
        self.pending = Some(Pending {
            prefix: command_prefix(cmd),
            prompt,
            pdu_echo: None,
        });
        self.lines.clear();
        self.outcome = None;
        self.replay();
    }

    fn replay(&mut self) {
        self.paused = false;
        let backlog = std::mem::take(&mut self.backlog);
        self.feed(&backlog);
    }

    /// After the prompt: the PDU was written, now wait for its final result.
    pub fn begin_pdu(&mut self, hex: &str) {
        let prefix = "+CMGS".to_string();
        self.pending = Some(Pending {
            prefix,
            prompt: false,
            pdu_echo: Some(hex.to_ascii_uppercase()),
        });
        self.outcome = None;
        self.replay();
    }

    /// Gives up on the pending command (timeout): late answers become stray lines.
    pub fn abandon(&mut self) {
        self.pending = None;
        self.outcome = None;
        self.replay();
    }

    /// The outcome of the pending command, once it has arrived.
    pub fn take_outcome(&mut self) -> Option<Outcome> {
        self.outcome.take()
    }

    /// Info lines received for the last command.
    pub fn take_lines(&mut self) -> Vec<String> {
        std::mem::take(&mut self.lines)
    }

    /// URCs collected so far (oldest first).
    pub fn take_urcs(&mut self) -> Vec<String> {
        std::mem::take(&mut self.urcs)
    }

    /// Feeds raw bytes from the modem.
    /// Bytes after a prompt wait (up to a bound) until the caller says what comes next.
    pub fn feed(&mut self, bytes: &[u8]) {
        for (i, &b) in bytes.iter().enumerate() {
            if self.paused {
                let rest = bytes.get(i..).unwrap_or(&[]);
                let room = (4 * MAX_LINE).saturating_sub(self.backlog.len());
                self.backlog
                    .extend_from_slice(rest.get(..room.min(rest.len())).unwrap_or(&[]));
                return;
            }
            self.feed_byte(b);
        }
    }

    fn feed_byte(&mut self, b: u8) {
        match b {
            b'\r' | b'\n' => self.end_line(),
            0x20..=0x7E => {
                if self.line.push(b).is_err() {
                    self.overflow = true;
                }
                self.check_prompt();
            }
            // Control characters, NUL, 8-bit garbage: dropped.
            _ => {}
        }
    }

    fn check_prompt(&mut self) {
        let waiting = matches!(&self.pending, Some(p) if p.prompt) && self.outcome.is_none();
        if waiting && matches!(self.line.as_slice(), b"> " | b">") {
            self.line.clear();
            if let Some(p) = self.pending.as_mut() {
                p.prompt = false;
            }
            self.outcome = Some(Outcome::Prompt);
            self.paused = true;
        }
    }

    fn end_line(&mut self) {
        let raw = std::mem::take(&mut self.line);
        self.overflow = false;
        let text = String::from_utf8_lossy(&raw);
        let line = text.trim();
        if !line.is_empty() {
            self.classify(line.to_string());
        }
    }

    fn push_urc(&mut self, urc: String) {
        if self.urcs.len() >= MAX_URCS {
            self.urcs.remove(0);
        }
        self.urcs.push(urc);
    }

    fn classify(&mut self, line: String) {
        if let Some(head) = self.urc_head.take() {
            let joined = format!("{head}\n{line}");
            if head.starts_with("+CUSD:") && !line.contains('"') && joined.len() < 4 * MAX_LINE {
                self.urc_head = Some(joined); // a multi-line USSD reply goes on
            } else {
                self.push_urc(joined);
            }
            return;
        }
        let active = self.outcome.is_none();
        let pending = self.pending.as_ref().filter(|_| active);
        if let Some(p) = pending {
            let upper = line.to_ascii_uppercase();
            // Echo of the command line (echo on) or of the PDU.
            if upper.starts_with("AT") || p.pdu_echo.as_deref() == Some(upper.as_str()) {
                return;
            }
        }
        if let Some(fin) = parse_final(&line) {
            if pending.is_some() {
                self.pending = None;
                self.outcome = Some(Outcome::Final(fin));
            }
            // A final with nothing pending (late answer after a timeout) is dropped.
            return;
        }
        if line.starts_with("+CUSD:") {
            // USSD replies are always unsolicited (some firmwares send them before the OK of
            // AT+CUSD); one with an open quote continues on the next lines.
            if line.matches('"').count() == 1 {
                self.urc_head = Some(line);
            } else {
                self.push_urc(line);
            }
            return;
        }
        let claimed = match (urc_prefix(&line), pending) {
            (Some(prefix), Some(p)) => prefix.eq_ignore_ascii_case(&p.prefix),
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (None, None) => false,
        };
        if claimed {
            if self.lines.len() < MAX_RESPONSE_LINES {
                self.lines.push(line);
            }
        } else if TWO_LINE_URCS.iter().any(|p| line.starts_with(p)) {
            self.urc_head = Some(line);
        } else {
            self.push_urc(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds a transcript; returns (urcs, info lines, outcome).
    fn digest(
        chunks: &[&[u8]],
        cmd: &str,
        prompt: bool,
    ) -> (Vec<String>, Vec<String>, Option<Outcome>) {
        let mut d = Digester::new();
        d.begin(cmd, prompt);
        for c in chunks {
            d.feed(c);
        }
        let o = d.take_outcome();
        (d.take_urcs(), d.take_lines(), o)
    }

    const SEED_CREG: &[u8] = b"\r\n^RSSI:20\r\nAT+CREG?\r\r\n^HCSQ:\"LTE\",48,35,86,14\r\n\r\n+CREG: 2,5,\"792D\",\"04947221\"\r\n\r\n^NWTIME:18/12/13,06:20:04+28,00\r\n\r\nOK\r\n\r\n+CREG: 5,\"007C\",\"00B19502\"\r\n";

    #[test]
    fn urcs_before_inside_and_after_a_response_are_separated() {
        let (urcs, lines, o) = digest(&[SEED_CREG], "AT+CREG?", false);
        assert_eq!(o, Some(Outcome::Final(Final::Ok)));
        assert_eq!(lines, vec!["+CREG: 2,5,\"792D\",\"04947221\""]);
        assert_eq!(
            urcs,
            vec![
                "^RSSI:20",
                "^HCSQ:\"LTE\",48,35,86,14",
                "^NWTIME:18/12/13,06:20:04+28,00",
                "+CREG: 5,\"007C\",\"00B19502\""
            ]
        );
    }

    #[test]
    fn every_split_point_gives_the_same_result() {
        let whole = digest(&[SEED_CREG], "AT+CREG?", false);
        for k in 0..=SEED_CREG.len() {
            let (a, b) = SEED_CREG.split_at(k);
            assert_eq!(digest(&[a, b], "AT+CREG?", false), whole, "split at {k}");
        }
        let bytes: Vec<&[u8]> = SEED_CREG.chunks(1).collect();
        assert_eq!(digest(&bytes, "AT+CREG?", false), whole);
    }

    #[test]
    fn echo_is_dropped_and_bare_info_lines_are_kept() {
        let (urcs, lines, o) = digest(
            &[b"AT+CGSN\r\r\n866785033700732\r\n\r\nOK\r\n"],
            "AT+CGSN",
            false,
        );
        assert!(urcs.is_empty());
        assert_eq!(lines, vec!["866785033700732"]);
        assert_eq!(o, Some(Outcome::Final(Final::Ok)));
    }

    #[test]
    fn prompt_without_newline_then_pdu_echo_and_result() {
        let mut d = Digester::new();
        d.begin("AT+CMGS=17", true);
        d.feed(b"AT+CMGS=17\r\r\n>");
        assert_eq!(
            d.take_outcome(),
            Some(Outcome::Prompt),
            "'>' without its space counts"
        );
        d.feed(b" ");
        assert_eq!(d.take_outcome(), None);
        d.begin_pdu("0011");
        d.feed(b"0011\x1a\r\n^RSSI:3\r\n+CMGS: 42\r\n\r\nOK\r\n");
        assert_eq!(d.take_outcome(), Some(Outcome::Final(Final::Ok)));
        assert_eq!(d.take_lines(), vec!["+CMGS: 42"]);
        assert_eq!(d.take_urcs(), vec!["^RSSI:3"]);
    }

    #[test]
    fn prompt_is_only_a_prompt_when_one_is_expected() {
        let (urcs, lines, o) = digest(&[b"\r\n> \r\n"], "AT", false);
        assert_eq!(o, None);
        assert!(urcs.is_empty());
        assert_eq!(lines, vec![">"]);
    }

    #[test]
    fn error_finals_are_parsed() {
        assert_eq!(parse_final("+CMS ERROR: 38"), Some(Final::CmsError(38)));
        assert_eq!(parse_final("+CME ERROR: 16"), Some(Final::CmeError(16)));
        assert_eq!(
            parse_final("+CME ERROR: incorrect password"),
            Some(Final::Other("+CME ERROR: incorrect password".into()))
        );
        assert_eq!(parse_final("ERROR"), Some(Final::Error));
        assert_eq!(
            parse_final("COMMAND NOT SUPPORT"),
            Some(Final::Other("COMMAND NOT SUPPORT".into()))
        );
        assert_eq!(parse_final("+CSQ: 1,2"), None);
        let (_, _, o) = digest(&[b"\r\n+CMS ERROR: 331\r\n"], "AT+CMGS=3", true);
        assert_eq!(o, Some(Outcome::Final(Final::CmsError(331))));
    }

    #[test]
    fn garbage_bytes_are_dropped_and_overlong_lines_bounded() {
        let (urcs, lines, o) = digest(
            &[b"\xff\x00\xfe\r\n+C\x00SQ: 2\xff2,99\r\n\x01OK\r\n"],
            "AT+CSQ",
            false,
        );
        assert!(urcs.is_empty());
        assert_eq!(lines, vec!["+CSQ: 22,99"]);
        assert_eq!(o, Some(Outcome::Final(Final::Ok)));
        let long = vec![b'A'; 10_000];
        let (urcs, _, _) = digest(&[b"\r\n", &long, b"\r\n"], "AT+X", false);
        assert!(urcs.is_empty());
        let mut d = Digester::new();
        d.feed(&long);
        d.feed(b"\r\n");
        assert_eq!(d.take_urcs().first().map(|u| u.len()), Some(MAX_LINE));
    }

    #[test]
    fn stray_finals_are_dropped_and_unsolicited_lines_collected() {
        let mut d = Digester::new();
        d.feed(b"\r\nOK\r\n\r\nRING\r\n\r\n+CMTI: \"ME\",3\r\n+CMT: ,23\r\n0791AB\r\n");
        assert_eq!(d.take_outcome(), None);
        assert_eq!(
            d.take_urcs(),
            vec!["RING", "+CMTI: \"ME\",3", "+CMT: ,23\n0791AB"]
        );
    }

    #[test]
    fn urc_store_is_bounded() {
        let mut d = Digester::new();
        for _ in 0..1000 {
            d.feed(b"^RSSI:9\r\n");
        }
        assert_eq!(d.take_urcs().len(), MAX_URCS);
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000), prompt in any::<bool>()) {
                let mut d = Digester::new();
                d.begin("AT+CMGS=5", prompt);
                d.feed(&bytes);
                let _ = d.take_outcome();
                prop_assert!(d.take_urcs().len() <= MAX_URCS);
                prop_assert!(d.take_lines().len() <= MAX_RESPONSE_LINES);
            }

            #[test]
            fn random_chunking_is_invisible(cuts in proptest::collection::vec(0..SEED_CREG.len(), 0..8)) {
                let mut cuts = cuts;
                cuts.sort_unstable();
                let mut chunks: Vec<&[u8]> = Vec::new();
                let mut start = 0;
                for c in cuts {
                    chunks.push(&SEED_CREG[start..c]);
                    start = c;
                }
                chunks.push(&SEED_CREG[start..]);
                prop_assert_eq!(digest(&chunks, "AT+CREG?", false), digest(&[SEED_CREG], "AT+CREG?", false));
            }
        }
    }
}
