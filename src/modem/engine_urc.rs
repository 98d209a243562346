//! Unsolicited result codes seen by the modem engine: registration and signal changes, the
//! `+CMTI`/`+CDSI`/`^SMMEMFULL` hints (only hints: the inbox poll reads every storage), routed
//! `+CMT`/`+CDS` PDUs (acknowledged by the stick itself with `AT+CSMS=0`), and USSD answers.
//! Part of [`Engine`]; no I/O, no clock reads.

use super::{Engine, Event, Link};
use crate::modem::inbox::Listed;
use crate::status::Registration;
use std::time::Instant;

impl Engine {
    pub(super) fn handle_urcs(&mut self, now: Instant) {
        for urc in &self.dig.take_urcs() {
            self.urc(urc, now);
        }
    }

    pub(super) fn urc(&mut self, urc: &str, now: Instant) {
        if let Some(stat) = crate::modem::session::parse_creg(urc, false) {
            let reg = Registration::from_stat(stat);
            self.registered = reg.is_registered();
            self.info.registration = reg;
            self.touch_info();
            if self.init.is_empty() && matches!(self.link, Link::Open) {
                self.ready_state();
            }
        } else if let Some(rssi) = crate::modem::session::parse_rssi_urc(urc) {
            crate::modem::session::set_signal(&mut self.info, rssi);
            self.touch_info();
        } else if urc.starts_with("+CMTI:")
            || urc.starts_with("+CDSI:")
            || urc.starts_with("^SMMEMFULL")
        {
            // Only a hint: the poll that follows reads every storage (SR included).
            self.inbox.poll_now(now);
        } else if let Some(pdu) = urc
            .strip_prefix("+CMT:")
            .or_else(|| urc.strip_prefix("+CDS:"))
        {
            // Routed to us, nothing to delete: a message (should not happen with CNMI mt=1) or a
            // pushed delivery report (CNMI ds=1). With AT+CSMS=0 the stick acknowledges it
            // itself: no AT+CNMA.
            if let Some((_, hex)) = pdu.split_once('\n') {
                self.events
                    .push(match crate::modem::inbox::decode_listed(hex) {
                        Listed::Sms(sms) => Event::Received { slot: None, sms },
                        Listed::Report(report) => Event::Report { slot: None, report },
                    });
            }
        } else if urc.starts_with("+CUSD:") {
            self.ussd.urc(urc, &mut self.events);
        }
    }
}
