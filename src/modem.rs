//! Modem policy: session setup, sending SMS parts, status polling and recovery on a Huawei stick.
//!
//! Owns the init sequence (echo off, CMEE, PIN once, extra init, PDU mode, SMSC, registration wait),
//! `AT+CMGS` sends with error classification (transient vs permanent), the cached modem status and
//! reconnection when the device vanishes; also the built-in simulated modem (`--device sim`).
//! It must not touch the spool, HTTP or PDU internals: it sends the hex it is given.
//!
//! NOTE: placeholder implementation (the simulated modem only logs); the AT engine replaces it
//! behind the same `SmsSender` interface.

use crate::config::ServeConfig;
use crate::pdu::SubmitPart;
use crate::status::GatewayStatus;
use std::fmt;
use std::sync::Arc;

/// Why a part was not sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// Worth retrying later: no network, modem busy or gone, timeout, `+CMS ERROR` 38/41/42/47/331/332.
    Transient(String),
    /// Retrying will not help: invalid destination, barred, malformed PDU.
    Permanent(String),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Transient(m) => write!(f, "temporary failure: {m}"),
            SendError::Permanent(m) => write!(f, "permanent failure: {m}"),
        }
    }
}

/// Something that can put one SMS-SUBMIT PDU on the air. Blocking; may take seconds.
pub trait SmsSender: Send {
    /// Sends one part; returns the message reference from `+CMGS: <mr>`.
    fn send_part(&mut self, part: &SubmitPart) -> Result<u8, SendError>;
}

/// Opens the modem named by `cfg.device` (`sim` = built-in simulated modem).
/// Never fails: a missing device is waited for inside the sender.
pub fn open(cfg: &ServeConfig, status: Arc<GatewayStatus>) -> Box<dyn SmsSender> {
    status.update_modem(|m| m.state = "ready".into());
    if cfg.device == "sim" {
        Box::new(SimPlaceholder { next_mr: 0 })
    } else {
        Box::new(Unavailable)
    }
}

struct SimPlaceholder {
    next_mr: u8,
}

impl SmsSender for SimPlaceholder {
    fn send_part(&mut self, part: &SubmitPart) -> Result<u8, SendError> {
        eprintln!("sim: AT+CMGS={} {}", part.tpdu_len, part.hex);
        self.next_mr = self.next_mr.wrapping_add(1);
        Ok(self.next_mr)
    }
}

struct Unavailable;

impl SmsSender for Unavailable {
    fn send_part(&mut self, _part: &SubmitPart) -> Result<u8, SendError> {
        Err(SendError::Transient(
            "serial modem support not built yet".into(),
        ))
    }
}
