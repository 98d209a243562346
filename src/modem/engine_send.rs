//! The send job of the modem engine: a part waits for the network and its deadline, goes out
//! as `AT+CMGS`, and is answered with its reference or with why it failed (transient errors are
//! tried again a few times, permanent ones at once). Part of [`Engine`]; no I/O, no clock reads.

use super::{Engine, Event, SendJob, Turn, REGISTRATION_POLL, SEND_ATTEMPTS};
use crate::at::Final;
use crate::modem::init::Step;
use crate::modem::SendError;
use crate::status::ModemState;
use std::time::{Duration, Instant};

impl Engine {
    pub(super) fn answer_send(&mut self, job: SendJob, result: Result<u8, SendError>) {
        self.events.push(Event::Sent { id: job.id, result });
    }

    /// The process stops: a part that is not in `AT+CMGS` is answered "not sent" now.
    pub fn withdraw(&mut self) {
        let sending = matches!(&self.inflight, Some(f) if matches!(f.step, Step::Cmgs));
        if !sending {
            if let Some(job) = self.send.take() {
                let why = "stopping before the modem took it".to_string();
                self.answer_send(job, Err(SendError::NotReady(why)));
            }
        }
    }

    /// A waiting part whose deadline passed is answered with why the modem is not ready.
    pub(super) fn expire(&mut self, now: Instant) {
        let sending = matches!(&self.inflight, Some(f) if matches!(f.step, Step::Cmgs));
        if let Some(job) = self.send.take() {
            if now >= job.deadline && !sending {
                let why = format!("modem not ready: {}", self.problem);
                // A part whose AT+CMGS already failed was tried: that counts.
                let e = if job.failures > 0 {
                    SendError::Transient(why)
                } else {
                    SendError::NotReady(why)
                };
                self.answer_send(job, Err(e));
            } else {
                self.send = Some(job);
            }
        }
    }

    pub(super) fn start_send(&mut self, now: Instant) {
        if !self.registered {
            // Sending waits for the network; the registration poll runs meanwhile.
            if let Some(j) = self.send.as_mut() {
                j.not_before = now + REGISTRATION_POLL;
            }
            if self.refresh.is_empty() {
                self.next_refresh = self.next_refresh.min(now);
            }
            return;
        }
        let Some(len) = self.send.as_ref().map(|j| j.part.tpdu_len) else {
            return;
        };
        if len == 0 {
            return;
        }
        self.turn = Turn::Send;
        self.set_state(ModemState::Sending);
        self.start(Step::Cmgs, now);
    }

    pub(super) fn sent(&mut self, mr: u8) {
        if let Some(job) = self.send.take() {
            self.answer_send(job, Ok(mr));
        }
        self.ready_state();
    }

    pub(super) fn send_failed(&mut self, result: Final, now: Instant) {
        self.ready_state();
        let Some(mut job) = self.send.take() else {
            return;
        };
        let msg = format!("modem answered {result}");
        if !result.is_transient() {
            self.answer_send(job, Err(SendError::Permanent(msg)));
            return;
        }
        if matches!(result, Final::CmsError(331 | 332)) {
            self.registered = false;
            self.ready_state();
        }
        job.failures += 1;
        let retry_at = now + Duration::from_secs(1);
        if job.failures < SEND_ATTEMPTS && retry_at < job.deadline {
            self.warn(format_args!("AT+CMGS failed ({result}), trying again"));
            job.not_before = retry_at;
            self.send = Some(job);
        } else {
            self.answer_send(job, Err(SendError::Transient(msg)));
        }
    }
}
