//! Final result codes of AT commands (3GPP TS 27.007 / 27.005): `OK`, `ERROR`, `+CME ERROR`,
//! `+CMS ERROR` and Huawei's failure words, and the typed `+CMS ERROR` cause table.
//!
//! Owns what a final line means; it must not read bytes or decide retries beyond naming which
//! causes are transient (the engine applies that policy).

use std::fmt;

/// The final result code that ends a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Final {
    Ok,
    Error,
    /// `+CME ERROR: <n>` (numeric with `AT+CMEE=1`).
    CmeError(u16),
    /// `+CMS ERROR: <n>`.
    CmsError(u16),
    /// Any other failure word (`NO CARRIER`, `COMMAND NOT SUPPORT`, verbose `+CME ERROR: text`).
    Other(String),
}

impl fmt::Display for Final {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Final::Ok => f.write_str("OK"),
            Final::Error => f.write_str("ERROR"),
            Final::CmeError(n) => write!(f, "+CME ERROR: {n}"),
            Final::CmsError(n) => write!(f, "+CMS ERROR: {n}"),
            Final::Other(s) => f.write_str(s),
        }
    }
}

/// Parses a line as a final result code.
pub fn parse_final(line: &str) -> Option<Final> {
    let coded = |rest: &str, make: fn(u16) -> Final| match rest.trim().parse::<u16>() {
        Ok(n) => make(n),
        Err(_) => Final::Other(line.to_string()),
    };
    if line == "OK" {
        Some(Final::Ok)
    } else if line == "ERROR" {
        Some(Final::Error)
    } else if let Some(rest) = line.strip_prefix("+CME ERROR:") {
        Some(coded(rest, Final::CmeError))
    } else if let Some(rest) = line.strip_prefix("+CMS ERROR:") {
        Some(coded(rest, Final::CmsError))
    } else if matches!(
        line,
        "NO CARRIER" | "BUSY" | "NO ANSWER" | "NO DIALTONE" | "COMMAND NOT SUPPORT"
    ) || line.starts_with("TOO MANY PARAMETERS")
    {
        Some(Final::Other(line.to_string()))
    } else {
        None
    }
}

/// A `+CMS ERROR` cause (27.005 section 3.2.5, network causes from 24.011 annex E-2), named where
/// the gateway's policy depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmsCause {
    /// 1: the number does not exist.
    UnassignedNumber,
    /// 8: operator determined barring.
    OperatorBarring,
    /// 10: call barred.
    CallBarred,
    /// 21: the network refused the message.
    ShortMessageRejected,
    /// 27: destination out of service.
    DestinationOutOfOrder,
    /// 28: unidentified subscriber.
    UnidentifiedSubscriber,
    /// 29: facility rejected.
    FacilityRejected,
    /// 30: unknown subscriber.
    UnknownSubscriber,
    /// 38: network out of order.
    NetworkOutOfOrder,
    /// 41: temporary failure.
    TemporaryFailure,
    /// 42: congestion.
    Congestion,
    /// 47: resources unavailable.
    ResourcesUnavailable,
    /// 50: requested facility not subscribed.
    NotSubscribed,
    /// 96..=255: the TPDU itself was refused (TP-FCS values).
    TpduRefused(u16),
    /// 301: SMS service of the ME reserved.
    ServiceReserved,
    /// 303: operation not supported.
    NotSupported,
    /// 304: invalid PDU mode parameter.
    InvalidPdu,
    /// 305: invalid text mode parameter.
    InvalidText,
    /// 321: invalid memory index.
    InvalidIndex,
    /// 322: memory full.
    MemoryFull,
    /// 331: no network service.
    NoNetwork,
    /// 332: network timeout.
    NetworkTimeout,
    /// Anything else (500 = unknown error, 330 = SMSC unknown, ME errors).
    Unknown(u16),
}

/// Code and cause, one table for both directions.
const CMS_CAUSES: &[(u16, CmsCause)] = &[
    (1, CmsCause::UnassignedNumber),
    (8, CmsCause::OperatorBarring),
    (10, CmsCause::CallBarred),
    (21, CmsCause::ShortMessageRejected),
    (27, CmsCause::DestinationOutOfOrder),
    (28, CmsCause::UnidentifiedSubscriber),
    (29, CmsCause::FacilityRejected),
    (30, CmsCause::UnknownSubscriber),
    (38, CmsCause::NetworkOutOfOrder),
    (41, CmsCause::TemporaryFailure),
    (42, CmsCause::Congestion),
    (47, CmsCause::ResourcesUnavailable),
    (50, CmsCause::NotSubscribed),
    (301, CmsCause::ServiceReserved),
    (303, CmsCause::NotSupported),
    (304, CmsCause::InvalidPdu),
    (305, CmsCause::InvalidText),
    (321, CmsCause::InvalidIndex),
    (322, CmsCause::MemoryFull),
    (331, CmsCause::NoNetwork),
    (332, CmsCause::NetworkTimeout),
];

impl CmsCause {
    pub fn from_code(code: u16) -> CmsCause {
        match CMS_CAUSES.iter().find(|(c, _)| *c == code) {
            Some((_, cause)) => *cause,
            None if (96..=255).contains(&code) => CmsCause::TpduRefused(code),
            None => CmsCause::Unknown(code),
        }
    }

    /// Worth sending again later: network trouble and unknown causes. Permanent: the destination,
    /// the subscription or the PDU itself was refused — the same message would be refused again.
    pub fn is_transient(self) -> bool {
        !matches!(
            self,
            CmsCause::UnassignedNumber
                | CmsCause::OperatorBarring
                | CmsCause::CallBarred
                | CmsCause::ShortMessageRejected
                | CmsCause::DestinationOutOfOrder
                | CmsCause::UnidentifiedSubscriber
                | CmsCause::FacilityRejected
                | CmsCause::UnknownSubscriber
                | CmsCause::NotSubscribed
                | CmsCause::TpduRefused(_)
                | CmsCause::ServiceReserved
                | CmsCause::NotSupported
                | CmsCause::InvalidPdu
                | CmsCause::InvalidText
        )
    }
}

impl Final {
    /// Whether a failed `AT+CMGS` is worth retrying: named permanent `+CMS ERROR` causes are not,
    /// everything else (plain `ERROR`, ME errors, unknown causes) is.
    pub fn is_transient(&self) -> bool {
        match self {
            Final::CmsError(code) => CmsCause::from_code(*code).is_transient(),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cms_causes_are_named_and_classified() {
        for c in [38, 41, 42, 47, 322, 331, 332, 500, 330] {
            assert!(Final::CmsError(c).is_transient(), "{c}");
        }
        for c in [
            1, 8, 10, 21, 27, 28, 29, 30, 50, 96, 127, 128, 255, 301, 303, 304, 305,
        ] {
            assert!(!Final::CmsError(c).is_transient(), "{c}");
        }
        assert!(Final::Error.is_transient());
        assert_eq!(CmsCause::from_code(21), CmsCause::ShortMessageRejected);
        assert_eq!(CmsCause::from_code(500), CmsCause::Unknown(500));
        assert_eq!(CmsCause::from_code(97), CmsCause::TpduRefused(97));
    }
}
