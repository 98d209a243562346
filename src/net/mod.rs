//! Network clients of the gateway: a small blocking plain-HTTP/1.1 client (`http_client`) used by
//! the HiLink backend and the forwarding webhooks.
//!
//! Owns sockets to other hosts and nothing else: no HiLink, spool or server knowledge.

pub mod http_client;
pub mod response;
