//! Retention of `sent/` and `failed/`: keeps at most `keep` records per directory and none older
//! than `keep_days`, ages measured so that no clock step expires anything (`clock::Ages`).
//!
//! Owns only deleting finished records (never dot files, never anything in `outgoing/` or
//! `sending/`); it must not touch messages still to be sent.

use super::clock::{Ages, Now};
use super::queue::entries;
use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// A finished record: name, mtime (for the order of the count limit), age (for the age limit).
pub type Record = (OsString, SystemTime, Duration);

/// Which records retention removes: beyond the newest `keep` (0 = no count limit) or older than
/// `keep_days` (0 = no age limit).
pub fn expired(all: Vec<Record>, keep: usize, keep_days: u64) -> Vec<OsString> {
    let max_age = Duration::from_secs(keep_days.saturating_mul(86_400));
    let mut gone = Vec::new();
    let mut files = Vec::with_capacity(all.len());
    for f in all {
        if keep_days > 0 && f.2 > max_age {
            gone.push(f.0);
        } else {
            files.push(f);
        }
    }
    while keep > 0 && files.len() > keep {
        let oldest = files
            .iter()
            .enumerate()
            .min_by(|(_, a), (_, b)| a.1.cmp(&b.1).then(a.0.cmp(&b.0)))
            .map(|(i, _)| i);
        match oldest {
            Some(i) => gone.push(files.swap_remove(i).0),
            None => break,
        }
    }
    gone
}

/// Applies [`expired`] to the records in `dir`. Returns how many records are left.
pub fn prune(dir: &Path, keep: usize, keep_days: u64, ages: &Ages, now: Now) -> usize {
    let mut files: Vec<Record> = Vec::new();
    for e in &entries(dir) {
        let name = e.file_name();
        if name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        if let Ok(mtime) = e.metadata().and_then(|m| m.modified()) {
            files.push((name, mtime, ages.age(mtime, now)));
        }
    }
    let listed = files.len();
    let gone = expired(files, keep, keep_days);
    for name in &gone {
        let _ = std::fs::remove_file(dir.join(name));
    }
    listed - gone.len()
}

/// When a directory of records needs a look: its count may be over `keep`, or its age check is
/// due (hourly: ages are counted in days). Saves listing `sent/` after every message.
#[derive(Default)]
pub struct Schedule {
    /// Records believed to be in the directory (`None` = not listed yet).
    count: Option<usize>,
    aged: Option<std::time::Instant>,
}

impl Schedule {
    pub fn added(&mut self) {
        self.count = self.count.map(|c| c + 1);
    }

    pub fn due(&self, keep: usize, keep_days: u64, now: Now) -> bool {
        let over = keep > 0 && self.count.is_none_or(|c| c > keep);
        let hourly = keep_days > 0
            && self
                .aged
                .is_none_or(|t| now.mono.saturating_duration_since(t) >= Duration::from_secs(3600));
        over || hourly
    }

    pub fn pruned(&mut self, left: usize, now: Now) {
        self.count = Some(left);
        self.aged = Some(now.mono);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn retention_bounds_count_and_age() {
        let now = UNIX_EPOCH + Duration::from_secs(100 * 86_400);
        let day = |d: u64| {
            (
                now - Duration::from_secs(d * 86_400),
                Duration::from_secs(d * 86_400),
            )
        };
        let rec = |n: &str, d: u64| -> Record { (OsString::from(n), day(d).0, day(d).1) };
        let files = vec![rec("a", 0), rec("b", 1), rec("c", 2), rec("old", 30)];
        let mut by_count = expired(files.clone(), 2, 0);
        by_count.sort();
        assert_eq!(by_count, vec![OsString::from("c"), OsString::from("old")]);
        assert_eq!(expired(files.clone(), 0, 7), vec![OsString::from("old")]);
        assert!(expired(files, 0, 0).is_empty());
    }
}
