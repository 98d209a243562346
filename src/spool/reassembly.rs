//! The multipart reassembly table, pure and bounded by type: which parts of which message are on
//! disk, and since when. Parts are keyed by sender + concatenation reference (8- or 16-bit) +
//! part count, so they may arrive in any order and interleaved with other messages.
//!
//! Owns only the bookkeeping (no texts: those are in the part files under `incoming-parts/`);
//! it must not do I/O or read a clock.

use std::time::{Duration, Instant};

/// Multipart messages waiting for parts at once; when a new one comes, the oldest is written
/// as incomplete to make room.
pub const MAX_GROUPS: usize = 16;

/// One message being reassembled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub key: u64,
    pub total: u8,
    /// Bit `seq - 1` set for each part on disk (seq 1..=255).
    have: [u64; 4],
    pub first_seen: Instant,
}

impl Group {
    fn bit(seq: u8) -> Option<(usize, u64)> {
        let i = usize::from(seq.checked_sub(1)?);
        Some((i / 64, 1u64 << (i % 64)))
    }

    #[cfg(test)] // used by the tests only
    pub fn has(&self, seq: u8) -> bool {
        Self::bit(seq).is_some_and(|(w, b)| self.have.get(w).is_some_and(|x| x & b != 0))
    }

    pub fn count(&self) -> u32 {
        self.have.iter().map(|w| w.count_ones()).sum()
    }

    pub fn complete(&self) -> bool {
        self.count() >= u32::from(self.total)
    }
}

/// What adding a part means for its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Added {
    /// More parts are awaited.
    Waiting,
    /// Every part is there: assemble `key`.
    Complete(u64),
    /// The table was full: `evicted` must be written as incomplete first (then add again).
    Full { evicted: u64 },
}

#[derive(Debug, Default)]
pub struct Table {
    groups: heapless::Vec<Group, MAX_GROUPS>,
}

impl Table {
    /// Records part `seq` of `total` for `key` (seen at `now`).
    pub fn add(&mut self, key: u64, seq: u8, total: u8, now: Instant) -> Added {
        let pos = match self.groups.iter().position(|g| g.key == key) {
            Some(p) => p,
            None => {
                let group = Group {
                    key,
                    total,
                    have: [0; 4],
                    first_seen: now,
                };
                if self.groups.push(group).is_err() {
                    let oldest = self
                        .groups
                        .iter()
                        .min_by_key(|g| g.first_seen)
                        .map(|g| g.key);
                    return match oldest {
                        Some(evicted) => Added::Full { evicted },
                        None => Added::Waiting,
                    };
                }
                self.groups.len() - 1
            }
        };
        let Some(g) = self.groups.get_mut(pos) else {
            return Added::Waiting;
        };
        if let Some((w, b)) = Group::bit(seq) {
            if let Some(x) = g.have.get_mut(w) {
                *x |= b;
            }
        }
        if g.complete() {
            Added::Complete(key)
        } else {
            Added::Waiting
        }
    }

    /// Forgets `key` (written out).
    pub fn remove(&mut self, key: u64) -> Option<Group> {
        let pos = self.groups.iter().position(|g| g.key == key)?;
        Some(self.groups.swap_remove(pos))
    }

    #[cfg(test)] // used by the tests only
    pub fn get(&self, key: u64) -> Option<&Group> {
        self.groups.iter().find(|g| g.key == key)
    }

    /// Messages still incomplete `timeout` after their first part.
    pub fn expired(&self, now: Instant, timeout: Duration) -> Option<u64> {
        self.groups
            .iter()
            .find(|g| now.saturating_duration_since(g.first_seen) >= timeout)
            .map(|g| g.key)
    }

    #[cfg(test)] // used by the tests only
    pub fn len(&self) -> usize {
        self.groups.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_in_any_order_complete_once() {
        let now = Instant::now();
        let mut t = Table::default();
        assert_eq!(t.add(7, 3, 3, now), Added::Waiting);
        assert_eq!(t.add(9, 1, 2, now), Added::Waiting);
        assert_eq!(t.add(7, 1, 3, now), Added::Waiting);
        assert_eq!(
            t.add(7, 1, 3, now),
            Added::Waiting,
            "a repeated part counts once"
        );
        assert_eq!(t.add(7, 2, 3, now), Added::Complete(7));
        assert!(t.get(7).is_some_and(|g| g.has(2) && !g.has(4)));
        assert!(t.remove(7).is_some());
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn the_table_is_bounded_and_times_out() {
        let start = Instant::now();
        let mut t = Table::default();
        for k in 0..MAX_GROUPS as u64 {
            let at = start + Duration::from_secs(k);
            assert_eq!(t.add(k, 1, 2, at), Added::Waiting);
        }
        let later = start + Duration::from_secs(100);
        assert_eq!(t.add(99, 1, 2, later), Added::Full { evicted: 0 });
        assert_eq!(
            t.expired(start + Duration::from_secs(50), Duration::from_secs(60)),
            None
        );
        assert_eq!(
            t.expired(start + Duration::from_secs(61), Duration::from_secs(60)),
            Some(0)
        );
        assert_eq!(t.add(5, 0, 2, later), Added::Waiting, "seq 0 is ignored");
    }
}
