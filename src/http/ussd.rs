//! `GET /ussd?code=*100%23`: a USSD request through the daemon's modem thread; the network's
//! reply as text (JSON `{"status":"ok","code":…,"reply":…}` when asked).
//!
//! Owns this route's query, the check of the code and the HTTP status of each outcome. The
//! request itself is the modem engine's (`modem::driver::UssdClient`); it must not speak AT.

use super::{query, Gateway, HttpRequest, Reply};
use crate::json::ObjectWriter;
use crate::status::ModemState;
use std::time::Duration;

/// The longest accepted code.
const MAX_CODE: usize = 160;
/// How long a request waits for the engine (which gives up on the network after 30 s).
const WAIT: Duration = Duration::from_secs(40);

/// Whether `code` is a USSD code: digits, `*`, `#` and `+`.
pub fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_CODE
        && code
            .bytes()
            .all(|b| b.is_ascii_digit() || b"*#+".contains(&b))
}

/// The HTTP status of a failed request: the engine's answers are lines for people; timeouts say
/// "in time", a full queue or a busy line "busy"/"waiting".
fn failure_code(why: &str) -> u16 {
    if why.contains("in time") {
        504
    } else if why.contains("busy") || why.contains("waiting") {
        503
    } else {
        502
    }
}

impl Gateway {
    pub(super) fn ussd(&self, req: &HttpRequest, json: bool) -> Reply {
        if !matches!(req.method.as_str(), "GET" | "HEAD") {
            return Reply::line(405, "method not allowed: use GET", json);
        }
        let (mut code, mut token) = (None, None);
        for pair in req.query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            // a `+` in a code is a `+` (as `*100#` must be sent `%23`, a space is never meant)
            let (slot, plus_is_plus) = match name {
                "code" => (&mut code, true),
                "token" => (&mut token, false),
                _ => continue,
            };
            match query::decode_component(value.as_bytes(), "code", plus_is_plus) {
                Ok(v) => *slot = Some(v),
                Err(_) => return Reply::line(400, "bad %-escape or not UTF-8", json),
            }
        }
        if let Some(refusal) = self.authorize(token.as_deref(), req, json) {
            return refusal;
        }
        let Some(code) = code.filter(|c| valid_code(c)) else {
            return Reply::line(
                400,
                "code must be a USSD code: digits, *, # and + (e.g. code=*100%23)",
                json,
            );
        };
        let Some(client) = &self.ussd else {
            return Reply::line(503, crate::hilink::NO_USSD, json);
        };
        let state = match self.status.modem.lock() {
            Ok(m) => m.state.clone(),
            Err(p) => p.into_inner().state.clone(),
        };
        if matches!(state, ModemState::WaitingForDevice | ModemState::Error(_)) {
            let why = ["no modem: ", state.as_str()].concat();
            return Reply::line(503, &why, json);
        }
        match client.request(&code, WAIT) {
            Ok(reply) if json => {
                let mut b = String::new();
                ObjectWriter::new(&mut b)
                    .str("status", "ok")
                    .str("code", &code)
                    .str("reply", &reply)
                    .end();
                Reply::json(b)
            }
            Ok(reply) => Reply::text(200, &reply),
            Err(why) => Reply::line(failure_code(&why), &why, json),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_digits_stars_hashes_and_plus() {
        assert!(valid_code("*100#"));
        assert!(valid_code("*#06#"));
        assert!(valid_code("+123*1#"));
        assert!(!valid_code(""));
        assert!(!valid_code("*100# ; rm"));
        assert!(!valid_code("*100\"#"));
        assert!(!valid_code(&"1".repeat(MAX_CODE + 1)));
    }

    #[test]
    fn timeouts_and_refusals_get_their_status() {
        assert_eq!(failure_code("no USSD reply to *100# in time"), 504);
        assert_eq!(
            failure_code("the modem did not answer the USSD request in time"),
            504
        );
        assert_eq!(failure_code("too many USSD requests waiting"), 503);
        assert_eq!(failure_code("the modem was busy; *100# was not sent"), 503);
        assert_eq!(
            failure_code("the modem refused the USSD request (ERROR)"),
            502
        );
        assert_eq!(
            failure_code("the network does not support this USSD request"),
            502
        );
    }
}
