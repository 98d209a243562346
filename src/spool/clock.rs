//! The sender's view of time: wall clock and monotonic clock read together (`Now`, injectable in
//! tests), and file ages that no clock step can inflate (`Ages`).
//!
//! Owns only arithmetic on times; it does no I/O and must not decide policy (what expires, when to
//! retry): the sender and retention ask it.

use std::time::{Duration, Instant, SystemTime};

/// One reading of both clocks. Waits and deadlines use `mono`; `wall` only goes into files.
#[derive(Clone, Copy, Debug)]
pub struct Now {
    pub wall: SystemTime,
    pub mono: Instant,
}

impl Now {
    pub fn real() -> Now {
        Now {
            wall: SystemTime::now(),
            mono: Instant::now(),
        }
    }
}

/// Ages of files by their mtime, bounded by what the monotonic clock has seen: a file cannot have
/// aged more than the time since this process started plus the age it had (by the wall clock) at
/// that start. A forward step of the wall clock (NTP on a router without RTC) therefore ages
/// nothing, and a backward step makes files look younger, never older.
#[derive(Clone, Copy, Debug)]
pub struct Ages {
    start: Now,
}

impl Ages {
    pub fn new(start: Now) -> Ages {
        Ages { start }
    }

    pub fn age(&self, mtime: SystemTime, now: Now) -> Duration {
        let by_wall = now.wall.duration_since(mtime).unwrap_or_default();
        let at_start = self.start.wall.duration_since(mtime).unwrap_or_default();
        let seen = now.mono.saturating_duration_since(self.start.mono);
        by_wall.min(seen.saturating_add(at_start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forward_clock_step_ages_nothing_and_a_backward_step_makes_files_younger() {
        let start = Now::real();
        let ages = Ages::new(start);
        let day = Duration::from_secs(86_400);
        let written = start.wall - Duration::from_secs(60);
        // One hour later by both clocks: one hour older.
        let hour = Duration::from_secs(3600);
        let later = Now {
            wall: start.wall + hour,
            mono: start.mono + hour,
        };
        assert_eq!(ages.age(written, later), hour + Duration::from_secs(60));
        // NTP jumps the wall clock a year forward: still one hour older.
        let jumped = Now {
            wall: later.wall + 365 * day,
            mono: later.mono,
        };
        assert_eq!(ages.age(written, jumped), hour + Duration::from_secs(60));
        // The wall clock steps back before the file was written: age 0.
        let back = Now {
            wall: written - day,
            mono: later.mono,
        };
        assert_eq!(ages.age(written, back), Duration::ZERO);
        // A file from before the start keeps the age it had then.
        let old = start.wall - 10 * day;
        assert_eq!(ages.age(old, jumped), 10 * day + hour);
    }
}
