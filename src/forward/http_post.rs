//! The forward worker's [`Transport`]: one POST per event and target through the gateway's plain
//! HTTP/1.1 client (`net::http_client`: `http://IP[:PORT][/PATH]` only, no name resolution, no
//! TLS).
//!
//! Owns only the mapping from a forward to a request; sockets and timeouts are the client's.

use super::worker::Transport;
use crate::net::http_client::{request, Endpoint, Limits};

/// Whether `url` is a forward URL the client can reach (`http://IP[:PORT][/PATH]`).
pub fn valid_url(url: &str) -> bool {
    Endpoint::parse(url).is_ok()
}

/// POSTs over a fresh connection per event.
pub struct HttpPost;

impl Transport for HttpPost {
    fn post(&mut self, url: &str, bearer: Option<&str>, body: &[u8]) -> Result<u16, String> {
        let ep = Endpoint::parse(url).map_err(|e| e.to_string())?;
        let auth = bearer.map(|t| ["Bearer ", t].concat());
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(a) = auth.as_deref() {
            headers.push(("Authorization", a));
        }
        let limits = Limits {
            max_response: 4096,
            ..Limits::default()
        };
        request(&ep, &limits, "POST", "", &headers, body)
            .map(|r| r.status)
            .map_err(|e| e.to_string())
    }
}
