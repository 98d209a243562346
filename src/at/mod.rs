//! AT line protocol (3GPP TS 27.007 / 27.005): the pure digester (`digester.rs`), final result
//! codes and the `+CMS ERROR` cause table (`result.rs`), and a blocking client for diagnostics
//! (`port.rs`).
//!
//! It must not know modem policy (PINs, registration, retries) nor open devices.

pub mod digester;
pub mod port;
pub mod result;

pub use digester::{Digester, Outcome};
pub use port::{AtError, AtPort};
pub use result::Final;

use std::time::{Duration, Instant};

/// Ctrl-Z ends a PDU; ESC aborts it.
pub const CTRL_Z: u8 = 0x1A;
pub const ESC: u8 = 0x1B;

/// A read that only timed out (or was interrupted): the port is fine, nothing arrived.
pub fn is_quiet(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{Interrupted, TimedOut, WouldBlock};
    matches!(e.kind(), TimedOut | WouldBlock | Interrupted)
}

/// `now + t`, saturating instead of panicking on absurd timeouts.
pub fn deadline_after(t: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(t)
        .or_else(|| now.checked_add(Duration::from_secs(86_400 * 365)))
        .unwrap_or(now)
}
