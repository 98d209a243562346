//! Adapters between other programs' payloads and the gateway: the JSON send body
//! (`send_json`) and Prometheus Alertmanager's webhook (`alertmanager`).
//!
//! Pure: payload bytes in, a send request or SMS text out. They must not touch the spool, the
//! modem or sockets; the HTTP layer calls them and queues the result.

pub mod alertmanager;
pub mod send_json;
