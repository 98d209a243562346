//! Alert-storm guard: a global rate limit (messages per hour) and duplicate suppression (same
//! recipient + same text within a window).
//!
//! Pure state machine: the caller passes `now` in whole seconds (monotonic in the daemon; in CGI
//! mode, where the state is kept in a small text file via [`StormGuard::to_text`] /
//! [`StormGuard::from_text`], the [`GuardClock`] stored with it). Never wall time: the router has
//! no RTC and its clock steps by years at the first NTP sync, or back. No I/O, no clocks,
//! bounded memory, never panics.

use std::fmt;

const HOUR: u64 = 3600;
/// Most duplicate fingerprints remembered (oldest are forgotten first).
const MAX_FINGERPRINTS: usize = 4096;

/// Why the guard refused (HTTP 429).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    RateLimited { limit: u32, retry_after: u64 },
    Duplicate { to: String, ago: u64, window: u64 },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::RateLimited { limit, retry_after } => write!(
                f,
                "rate limit reached ({limit} messages per hour); retry in {retry_after} s"
            ),
            Refusal::Duplicate { to, ago, window } => write!(
                f,
                "duplicate: the same text to {to} was accepted {ago} s ago (window {window} s)"
            ),
        }
    }
}

impl Refusal {
    /// Seconds a client should wait (for `Retry-After`).
    pub fn retry_after(&self) -> u64 {
        match self {
            Refusal::RateLimited { retry_after, .. } => *retry_after,
            Refusal::Duplicate { ago, window, .. } => window.saturating_sub(*ago).max(1),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StormGuard {
    limit_per_hour: u32,
    window: u64,
    /// Acceptance times of the last hour, oldest first. (`Vec`, not `VecDeque`: the lists are
    /// short and the router binary is smaller without two more `VecDeque` instantiations.)
    accepted: Vec<u64>,
    /// (fingerprint, time) of recent messages, oldest first.
    recent: Vec<(u64, u64)>,
}

/// The CGI guard's clock: seconds that only move forward, advanced by the kernel's boot clock
/// (`CLOCK_BOOTTIME`, which no clock step touches) between two requests. Stored in the state
/// file as `c NOW BOOT`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GuardClock {
    /// Guard time (the `now` passed to [`StormGuard`]).
    pub now: u64,
    /// Seconds since boot when `now` was taken.
    pub boot: u64,
}

impl GuardClock {
    /// The clock at `boot_now` seconds since boot, `last` being the stored one.
    pub fn advance(last: Option<GuardClock>, boot_now: u64) -> GuardClock {
        let now = match last {
            None => boot_now,
            Some(l) if boot_now >= l.boot => l.now.saturating_add(boot_now - l.boot),
            // rebooted since: at least `boot_now` seconds have passed
            Some(l) => l.now.saturating_add(boot_now),
        };
        GuardClock {
            now,
            boot: boot_now,
        }
    }

    /// Appends the `c NOW BOOT` line.
    pub fn push_text(&self, s: &mut String) {
        s.push_str("c ");
        super::push_u64(s, self.now);
        s.push(' ');
        super::push_u64(s, self.boot);
        s.push('\n');
    }
}

/// FNV-1a of recipient and text: the duplicate fingerprint (collisions only cause a rare 429).
/// The recipient is normalised first: `+4917...` and `004917...` are one number.
pub fn fingerprint(to: &str, text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let (prefix, number) = match to.strip_prefix('+') {
        Some(rest) => ("00", rest),
        None => ("", to),
    };
    for part in [prefix, number, "\0", text].iter() {
        for b in part.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

impl StormGuard {
    /// `limit_per_hour` 0 = no rate limit; `window_secs` 0 = no duplicate suppression.
    pub fn new(limit_per_hour: u32, window_secs: u64) -> StormGuard {
        StormGuard {
            limit_per_hour,
            window: window_secs,
            accepted: Vec::new(),
            recent: Vec::new(),
        }
    }

    /// Forgets entries older than their period, and entries from the future (the clock went
    /// backwards).
    fn expire(&mut self, now: u64) {
        let window = self.window;
        self.accepted
            .retain(|&t| now.saturating_sub(t) < HOUR && t <= now);
        self.recent
            .retain(|&(_, t)| now.saturating_sub(t) < window && t <= now);
    }

    /// Admits one message to each recipient, recording them, or refuses all of them.
    pub fn admit(&mut self, now: u64, recipients: &[String], text: &str) -> Result<(), Refusal> {
        self.expire(now);
        if self.window > 0 {
            for to in recipients {
                let fp = fingerprint(to, text);
                if let Some(&(_, t)) = self.recent.iter().rev().find(|(f, _)| *f == fp) {
                    return Err(Refusal::Duplicate {
                        to: to.clone(),
                        ago: now.saturating_sub(t),
                        window: self.window,
                    });
                }
            }
        }
        if self.limit_per_hour > 0 {
            let limit = self.limit_per_hour as usize;
            if self.accepted.len().saturating_add(recipients.len()) > limit {
                // the slot that frees first is the oldest still counted
                let retry_after = self
                    .accepted
                    .first()
                    .map(|&t| t.saturating_add(HOUR).saturating_sub(now).max(1))
                    .unwrap_or(HOUR);
                return Err(Refusal::RateLimited {
                    limit: self.limit_per_hour,
                    retry_after,
                });
            }
            self.accepted
                .resize(self.accepted.len().saturating_add(recipients.len()), now);
        }
        if self.window > 0 {
            for to in recipients {
                self.recent.push((fingerprint(to, text), now));
            }
            keep_last(&mut self.recent, MAX_FINGERPRINTS);
        }
        Ok(())
    }

    /// Undoes the last [`admit`](Self::admit) (the spool refused the message after all).
    pub fn release(&mut self, recipients: &[String], text: &str) {
        if self.limit_per_hour > 0 {
            let kept = self.accepted.len().saturating_sub(recipients.len());
            self.accepted.truncate(kept);
        }
        if self.window > 0 {
            for to in recipients {
                let fp = fingerprint(to, text);
                if let Some(i) = self.recent.iter().rposition(|(f, _)| *f == fp) {
                    self.recent.remove(i);
                }
            }
        }
    }

    /// Line format for CGI mode: `a TIME` and `d FINGERPRINT TIME`.
    pub fn to_text(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(24 * self.accepted.len() + 40 * self.recent.len());
        for &t in &self.accepted {
            s.push_str("a ");
            super::push_u64(&mut s, t);
            s.push('\n');
        }
        for &(f, t) in &self.recent {
            s.push_str("d ");
            for shift in (0..16).rev() {
                let digit = HEX.get((f >> (shift * 4)) as usize & 0xf).copied();
                s.push(char::from(digit.unwrap_or(b'0')));
            }
            s.push(' ');
            super::push_u64(&mut s, t);
            s.push('\n');
        }
        s
    }

    /// Restores state written by [`to_text`](Self::to_text) and the clock of its first
    /// `c NOW BOOT` line ([`GuardClock::push_text`]), if any; unreadable lines are skipped.
    pub fn from_text(
        limit_per_hour: u32,
        window_secs: u64,
        text: &str,
    ) -> (StormGuard, Option<GuardClock>) {
        let mut g = StormGuard::new(limit_per_hour, window_secs);
        let mut clock = None;
        for line in text.lines() {
            let mut w = line.split(' ');
            match (w.next(), w.next(), w.next()) {
                (Some("c"), Some(now), Some(boot)) if clock.is_none() && w.next().is_none() => {
                    if let (Ok(now), Ok(boot)) = (now.parse(), boot.parse()) {
                        clock = Some(GuardClock { now, boot });
                    }
                }
                (Some("a"), Some(t), None) => {
                    if let Ok(t) = t.parse() {
                        g.accepted.push(t);
                    }
                }
                (Some("d"), Some(f), Some(t)) => {
                    if let (Ok(f), Ok(t)) = (u64::from_str_radix(f, 16), t.parse()) {
                        g.recent.push((f, t));
                    }
                }
                _ => {}
            }
        }
        keep_last(&mut g.accepted, limit_per_hour as usize);
        keep_last(&mut g.recent, MAX_FINGERPRINTS);
        (g, clock)
    }
}

/// Drops the oldest (first) entries beyond `max`.
fn keep_last<T: Copy>(v: &mut Vec<T>, max: usize) {
    let excess = v.len().saturating_sub(max);
    if excess > 0 {
        v.copy_within(excess.., 0);
        v.truncate(max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to(s: &str) -> Vec<String> {
        vec![s.to_string()]
    }

    #[test]
    fn rate_limit_is_a_sliding_hour() {
        let mut g = StormGuard::new(3, 0);
        assert!(g.admit(0, &to("1"), "a").is_ok());
        assert!(g.admit(10, &to("2"), "b").is_ok());
        assert!(g.admit(20, &to("3"), "c").is_ok());
        let r = g.admit(30, &to("4"), "d").unwrap_err();
        assert_eq!(
            r,
            Refusal::RateLimited {
                limit: 3,
                retry_after: 3570
            }
        );
        assert!(r.to_string().contains("3 messages per hour"));
        assert!(g.admit(3600, &to("4"), "d").is_ok());
        // a request with more recipients than the remaining budget is refused whole
        assert!(g
            .admit(3601, &["5".to_string(), "6".to_string()], "e")
            .is_err());
    }

    #[test]
    fn duplicates_inside_the_window_are_refused() {
        let mut g = StormGuard::new(0, 300);
        assert!(g.admit(100, &to("+491"), "disk full").is_ok());
        let r = g.admit(150, &to("+491"), "disk full").unwrap_err();
        assert!(matches!(r, Refusal::Duplicate { ago: 50, .. }));
        assert_eq!(r.retry_after(), 250);
        assert!(g.admit(150, &to("+492"), "disk full").is_ok());
        assert!(g.admit(150, &to("+491"), "disk ok").is_ok());
        assert!(g.admit(400, &to("+491"), "disk full").is_ok());
    }

    #[test]
    fn plus_and_00_prefixes_are_one_recipient_for_the_duplicate_guard() {
        let mut g = StormGuard::new(0, 300);
        assert!(g.admit(100, &to("+491701234567"), "disk full").is_ok());
        assert!(g.admit(101, &to("00491701234567"), "disk full").is_err());
        assert!(g.admit(102, &to("0491701234567"), "disk full").is_ok());
    }

    #[test]
    fn the_guard_clock_ignores_wall_clock_steps_and_survives_reboots() {
        let c = GuardClock::advance(None, 50);
        assert_eq!(c.now, 50);
        let c = GuardClock::advance(Some(c), 80);
        assert_eq!(c, GuardClock { now: 80, boot: 80 });
        // reboot: the boot clock restarts, guard time still moves forward
        let c = GuardClock::advance(
            Some(GuardClock {
                now: 5000,
                boot: 4000,
            }),
            30,
        );
        assert_eq!(
            c,
            GuardClock {
                now: 5030,
                boot: 30
            }
        );
        let mut text = String::from("a 7\n");
        c.push_text(&mut text);
        let (g, clock) = StormGuard::from_text(5, 60, &text);
        assert_eq!(clock, Some(c));
        // the state line does not disturb the guard's own lines
        assert_eq!(g.to_text(), "a 7\n");
        assert_eq!(
            StormGuard::from_text(5, 60, "c x 1\nc 1\nc 1 2 3\n").1,
            None
        );
        let first = StormGuard::from_text(5, 60, "c x 1\nc 4 5\nc 6 7\n").1;
        assert_eq!(first, Some(GuardClock { now: 4, boot: 5 }));
    }

    #[test]
    fn off_means_off_and_release_undoes() {
        let mut g = StormGuard::new(0, 0);
        for i in 0..10_000 {
            assert!(g.admit(i, &to("1"), "same").is_ok());
        }
        let mut g = StormGuard::new(1, 60);
        assert!(g.admit(0, &to("1"), "x").is_ok());
        g.release(&to("1"), "x");
        assert!(g.admit(1, &to("1"), "x").is_ok());
    }

    #[test]
    fn text_round_trip_and_garbage() {
        let mut g = StormGuard::new(5, 60);
        g.admit(7, &to("1"), "x").unwrap();
        g.admit(8, &to("2"), "y").unwrap();
        let text = g.to_text();
        assert_eq!(
            text,
            format!(
                "a 7\na 8\nd {:016x} 7\nd {:016x} 8\n",
                fingerprint("1", "x"),
                fingerprint("2", "y")
            )
        );
        let (back, _) = StormGuard::from_text(5, 60, &text);
        assert_eq!(back, g);
        let (junk, _) = StormGuard::from_text(5, 60, "zz\na x\nd 1\nd qq 5\n\u{0}");
        let (mut edge, _) = StormGuard::from_text(1, 60, &format!("a {}\n", u64::MAX));
        assert!(edge.admit(u64::MAX, &to("1"), "x").is_err());
        assert_eq!(junk, StormGuard::new(5, 60));
        // a clock that went backwards does not wedge the guard
        let mut g = StormGuard::new(1, 60);
        g.admit(1000, &to("1"), "x").unwrap();
        assert!(g.admit(5, &to("1"), "x").is_ok());
    }
}
