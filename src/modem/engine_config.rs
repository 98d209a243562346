//! The modem engine's settings (taken from `ServeConfig` by the driver, or set by tests).

use std::time::Duration;

/// What the engine is configured with (from `ServeConfig`, or tests).
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub pin: Option<String>,
    pub smsc: Option<String>,
    /// Extra init commands; empty = `AT^CURC=0` (silence Huawei's URCs).
    pub init: Vec<String>,
    /// Timeout of one AT command.
    pub command: Duration,
    /// Timeout of the `+CMGS` result after the PDU.
    pub cmgs: Duration,
    /// Read and delete received SMS.
    pub receive: bool,
    /// Inbox poll period (the backbone; `+CMTI` only makes it come sooner).
    pub poll_interval: Duration,
    /// Keys (see [`crate::modem::init::pin_key`]) of PINs the SIM rejected before: never sent again.
    pub rejected_pins: Vec<String>,
    /// How long a USSD reply is waited for.
    pub ussd_timeout: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            pin: None,
            smsc: None,
            init: Vec::new(),
            command: Duration::from_secs(10),
            cmgs: Duration::from_secs(60),
            receive: true,
            poll_interval: Duration::from_secs(10),
            rejected_pins: Vec::new(),
            ussd_timeout: Duration::from_secs(30),
        }
    }
}
