//! Shared, read-mostly gateway state: modem facts, queue counters, last error, uptime.
//!
//! Owns nothing but plain data behind locks and atomics. The modem writes the modem part, the spool
//! sender writes the counters, the HTTP layer only reads (for `/status` and `/metrics`). It must not do
//! I/O, format output or know about HTTP: rendering lives with whoever renders.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// An event counter. 32 bits: the router (mips32) has no 64-bit atomics, and four billion SMS
/// outlive any prepaid balance.
pub type Counter = AtomicU32;
use std::sync::Mutex;
use std::time::Instant;

/// Network registration state as reported by `+CREG` (3GPP TS 27.007 `<stat>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Registration {
    #[default]
    Unknown,
    NotRegistered,
    Home,
    Searching,
    Denied,
    Roaming,
}

impl Registration {
    /// Maps the numeric `<stat>` of `+CREG`/`+CGREG`.
    pub fn from_stat(stat: u8) -> Registration {
        match stat {
            0 => Registration::NotRegistered,
            1 => Registration::Home,
            2 => Registration::Searching,
            3 => Registration::Denied,
            5 => Registration::Roaming,
            _ => Registration::Unknown,
        }
    }

    /// Registered on a network (home or roaming): SMS can be sent.
    pub fn is_registered(self) -> bool {
        matches!(self, Registration::Home | Registration::Roaming)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Registration::Unknown => "unknown",
            Registration::NotRegistered => "not registered",
            Registration::Home => "home",
            Registration::Searching => "searching",
            Registration::Denied => "denied",
            Registration::Roaming => "roaming",
        }
    }
}

/// What the modem engine is doing, as `/status` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ModemState {
    #[default]
    Starting,
    WaitingForDevice,
    Initializing,
    WaitingForNetwork,
    Ready,
    Sending,
    /// The modem answered but cannot be used now (PIN, no SIM, no answer): why.
    Error(String),
}

impl ModemState {
    /// The state a short word names (`ready`, `error: why`, ...); the reverse of `Display`.
    pub fn from_word(word: &str) -> ModemState {
        match word {
            "starting" => ModemState::Starting,
            "waiting for device" => ModemState::WaitingForDevice,
            "initializing" => ModemState::Initializing,
            "waiting for network" => ModemState::WaitingForNetwork,
            "ready" => ModemState::Ready,
            "sending" => ModemState::Sending,
            other => ModemState::Error(other.strip_prefix("error: ").unwrap_or(other).into()),
        }
    }

    /// The short word `/status` and the log show (`error: ...` carries the reason).
    pub fn as_str(&self) -> &str {
        match self {
            ModemState::Starting => "starting",
            ModemState::WaitingForDevice => "waiting for device",
            ModemState::Initializing => "initializing",
            ModemState::WaitingForNetwork => "waiting for network",
            ModemState::Ready => "ready",
            ModemState::Sending => "sending",
            ModemState::Error(why) => why,
        }
    }
}

impl std::fmt::Display for ModemState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let ModemState::Error(_) = self {
            f.write_str("error: ")?;
        }
        f.write_str(self.as_str())
    }
}

/// What the modem engine last learnt about the stick. Cached; refreshed on a slow timer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModemInfo {
    pub state: ModemState,
    /// Signal in dBm from `+CSQ` (None when 99 = unknown).
    pub signal_dbm: Option<i32>,
    /// smsd-style quality word ("Excellent", "Good", ...).
    pub signal_quality: &'static str,
    pub registration: Registration,
    pub operator: String,
    pub manufacturer: String,
    pub model: String,
    pub imei: String,
    /// Messages in the modem's polled storages, and their capacity (`AT+CPMS`).
    pub storage_used: u16,
    pub storage_total: u16,
    /// The stick's SMS storage is full (new messages cannot arrive).
    pub storage_full: bool,
}

/// Process-wide status shared by all threads.
pub struct GatewayStatus {
    pub started: Instant,
    pub modem: Mutex<ModemInfo>,
    pub sent: Counter,
    pub failed: Counter,
    pub retried: Counter,
    pub accepted: Counter,
    pub rejected: Counter,
    pub queue_depth: Counter,
    /// Received messages written to `incoming/`.
    pub received: Counter,
    /// False while the spool cannot be written (missing directories that cannot be re-created, a
    /// full disk, wrong permissions); written by the spool sender.
    pub spool_writable: AtomicBool,
    pub last_error: Mutex<String>,
    /// Status reports received (each written to `report/`).
    pub reports: Counter,
    /// Reports no sent message matched.
    pub reports_unmatched: Counter,
    /// Messages whose every part was reported delivered.
    pub delivered: Counter,
    /// Messages with a part reported undeliverable.
    pub undeliverable: Counter,
    /// Submit-to-delivery times of delivered parts (service-centre time stamps): seconds summed,
    /// and how many.
    pub delivery_seconds_sum: Counter,
    pub delivery_seconds_count: Counter,
}

impl Default for GatewayStatus {
    fn default() -> Self {
        GatewayStatus {
            started: Instant::now(),
            modem: Mutex::new(ModemInfo {
                signal_quality: "unknown",
                ..ModemInfo::default()
            }),
            sent: Counter::new(0),
            failed: Counter::new(0),
            retried: Counter::new(0),
            accepted: Counter::new(0),
            rejected: Counter::new(0),
            queue_depth: Counter::new(0),
            received: Counter::new(0),
            spool_writable: AtomicBool::new(true),
            last_error: Mutex::new(String::new()),
            reports: Counter::new(0),
            reports_unmatched: Counter::new(0),
            delivered: Counter::new(0),
            undeliverable: Counter::new(0),
            delivery_seconds_sum: Counter::new(0),
            delivery_seconds_count: Counter::new(0),
        }
    }
}

impl GatewayStatus {
    /// A copy of the modem facts; a poisoned lock still yields the data.
    pub fn modem(&self) -> ModemInfo {
        match self.modem.lock() {
            Ok(m) => m.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Changes the modem facts under the lock.
    pub fn update_modem(&self, f: impl FnOnce(&mut ModemInfo)) {
        f(&mut self.lock_modem());
    }

    /// The lock of the modem facts; a poisoned lock still yields the data. Not inlined: one copy
    /// for the twenty-odd `update_modem` closures.
    #[inline(never)]
    fn lock_modem(&self) -> std::sync::MutexGuard<'_, ModemInfo> {
        self.modem
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn set_last_error(&self, msg: &str) {
        self.set_last_error_fmt(format_args!("{msg}"));
    }

    /// [`GatewayStatus::set_last_error`] of formatted text (formatted once, straight into place).
    pub fn set_last_error_fmt(&self, msg: std::fmt::Arguments<'_>) {
        let msg = std::fmt::format(msg);
        match self.last_error.lock() {
            Ok(mut e) => *e = msg,
            Err(p) => *p.into_inner() = msg,
        }
    }

    pub fn last_error(&self) -> String {
        match self.last_error.lock() {
            Ok(e) => e.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn count(counter: &Counter) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// One delivered part took `seconds` from submit to delivery.
    pub fn observe_delivery(&self, seconds: u64) {
        let s = u32::try_from(seconds).unwrap_or(u32::MAX);
        self.delivery_seconds_sum.fetch_add(s, Ordering::Relaxed);
        Self::count(&self.delivery_seconds_count);
    }

    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }
}
