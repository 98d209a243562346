//! AT line protocol over any `Read + Write` (3GPP TS 27.007 / 27.005 framing).
//!
//! Owns byte framing (`\r\n` lines, the `> ` prompt that has no line end, echo), the split of
//! unsolicited result codes from command responses (done first, before anything interprets a line),
//! final result codes (`OK`, `ERROR`, `+CME ERROR`, `+CMS ERROR`) and per-command timeouts.
//! It must not know modem policy (PINs, registration, retries) nor open devices: the caller hands it
//! a stream.
//!
//! NOTE: empty until the AT engine lands.
