//! How the send loop finishes a message: into `sent/` with the record of its parts (for delivery
//! reports), back to `outgoing/` for a retry with backoff (or kept in memory when the spool cannot
//! take it), or into `failed/` with the reason; and the event hook for each. Part of `Sender`.

use super::*;

impl<M: SmsSender> Sender<M> {
    /// Finishes a message that went out: `Sent`, the record of its parts (`Message_id`,
    /// `Parts`, `Part_<n>`, `State`), into `sent/` (under the lock report updates take).
    pub(super) fn sent(
        &mut self,
        claim: Claim,
        mut file: SpoolFile,
        record: &SentMessage,
        now: Now,
    ) {
        self.fault.pause(Fault::AfterSend, &self.stop);
        self.waiting_for_modem = false;
        let _ = file.set_header("Sent", &smsd_time(now.wall));
        let name = claim.name.to_string_lossy();
        let spool = &self.spool;
        let finished = match &self.deliveries {
            Some(d) => d.file(record, &mut file, |f| spool.finish(&claim, SENT, f)),
            None => {
                let _ = delivery::record::write(&mut file, record);
                spool.finish(&claim, SENT, &file)
            }
        };
        match finished {
            Ok(path) => {
                self.records[0].added();
                GatewayStatus::count(&self.status.sent);
                let (to, parts) = (&record.recipient, record.parts.len().max(1));
                crate::log_info!("sent {name} to {to} ({parts} part(s))");
                self.hook("SENT", &path);
            }
            Err(e) => {
                // Stays in sending/ and is recovered (and sent again: at-least-once) later.
                self.status
                    .set_last_error_fmt(format_args!("cannot move {name} to sent/: {e}"));
                crate::log_error!("sent {name} but cannot move it to sent/: {e}");
            }
        }
    }

    /// The delivery side's clock reading for `now` (seconds; its own monotonic origin).
    pub(super) fn delivery_now(&self, now: Now) -> delivery::Now {
        match &self.deliveries {
            Some(d) => d.now(),
            None => delivery::Now {
                wall: now
                    .wall
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
                mono: 0,
            },
        }
    }

    /// Requeues after a transient error (`counts`: one attempt more) or a stop between parts.
    pub(super) fn retry(
        &mut self,
        claim: Claim,
        mut file: SpoolFile,
        reason: &str,
        now: Now,
        counts: bool,
    ) {
        self.waiting_for_modem = false;
        let before = file
            .header(HDR_ATTEMPTS)
            .and_then(|a| a.parse::<u32>().ok())
            .unwrap_or(0);
        let attempts = before.saturating_add(u32::from(counts));
        let reason = one_line(reason);
        // also in `failed/`: the count the reason gives
        let _ = file.set_header(HDR_ATTEMPTS, &attempts.to_string());
        if counts && attempts >= self.cfg.max_attempts.max(1) {
            let why = format!("{reason} (gave up after {attempts} attempts)");
            return self.fail(&claim, file, &why);
        }
        let wait = if counts {
            GatewayStatus::count(&self.status.retried);
            self.status.set_last_error(&reason);
            backoff(attempts)
        } else {
            Duration::ZERO
        };
        let at = now.wall + wait;
        let at_secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let _ = file.set_header(HDR_RETRY_AT, &at_secs.to_string());
        let _ = file.set_header("Last_error", &reason);
        let name = claim.name.to_string_lossy().into_owned();
        match self.spool.requeue(&claim, &file) {
            Ok(now_named) => {
                self.due.retain(|(n, _)| *n != now_named);
                self.due.push((now_named.clone(), now.mono + wait));
                let renamed = if now_named == claim.name {
                    String::new()
                } else {
                    format!(
                        " (requeued as {}: the name was taken)",
                        now_named.to_string_lossy()
                    )
                };
                crate::log_warn!(
                    "{name}: {reason}; attempt {attempts} of {}, retry in {} s{renamed}",
                    self.cfg.max_attempts,
                    wait.as_secs()
                );
            }
            Err(e) => {
                crate::log_error!("{name}: {reason}; cannot write its retry state ({e}): kept in memory, retry in {} s", wait.as_secs());
                self.status
                    .set_last_error_fmt(format_args!("{name}: cannot requeue: {e}"));
                self.held.push(Held {
                    claim,
                    file,
                    due: now.mono + wait,
                });
            }
        }
    }

    /// The modem could not try (not present, not set up, no network): the message stays claimed
    /// in `sending/`, its file untouched, and is tried again in [`NOT_READY_WAIT`] however long
    /// the modem takes; no attempt is counted. Logged once per wait, not at every try.
    pub(super) fn wait_for_modem(&mut self, claim: Claim, file: SpoolFile, reason: &str, now: Now) {
        let reason = one_line(reason);
        if !self.waiting_for_modem && !self.stop.load(Ordering::SeqCst) {
            let name = claim.name.to_string_lossy();
            crate::log_warn!("{name}: {reason}; it waits for the modem (no attempt counted)");
        }
        self.waiting_for_modem = true;
        self.status.set_last_error(&reason);
        self.held.push(Held {
            claim,
            file,
            due: now.mono + NOT_READY_WAIT,
        });
    }

    pub(super) fn hook(&mut self, event: &'static str, path: &std::path::Path) {
        let cfg = &self.cfg;
        self.hooks
            .get_or_insert_with(|| HookRunner::new(cfg.hook.clone(), cfg.hook_timeout))
            .run(event, path);
    }

    pub(super) fn fail(&mut self, claim: &Claim, mut file: SpoolFile, reason: &str) {
        self.waiting_for_modem = false;
        let reason = one_line(reason);
        let _ = file.set_header("Failed", &smsd_time(std::time::SystemTime::now()));
        let _ = file.set_header("Fail_reason", &reason);
        let name = claim.name.to_string_lossy();
        GatewayStatus::count(&self.status.failed);
        self.status
            .set_last_error_fmt(format_args!("{name}: {reason}"));
        match self.spool.finish(claim, FAILED, &file) {
            Ok(path) => {
                self.records[1].added();
                crate::log_warn!("failed {name}: {reason}");
                self.hook("FAILED", &path);
            }
            Err(e) => crate::log_error!("failed {name} ({reason}) and cannot move it: {e}"),
        }
    }
}
