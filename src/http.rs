//! HTTP endpoint for LAN hosts (tiny_http) and the CGI mode that answers the same request.
//!
//! Owns request parsing (`/cgi-bin/sms` query and form bodies), auth, client and recipient
//! allowlists, the alert-storm guard, `/status` and `/metrics` rendering, and hardening around
//! tiny_http's flaws. It must not write spool files itself or talk to the modem: it calls
//! `Spool::submit` and reads `GatewayStatus`.
//!
//! NOTE: minimal placeholder (no auth, no hardening); the real endpoint replaces it.

use crate::config::ServeConfig;
use crate::spool::{OutgoingSms, Spool, SpoolError};
use crate::status::GatewayStatus;
use std::sync::Arc;

/// Runs the HTTP server until the listening socket fails for good.
pub fn serve(
    cfg: &ServeConfig,
    spool: Arc<Spool>,
    _status: Arc<GatewayStatus>,
) -> Result<(), String> {
    let server = tiny_http::Server::http(&cfg.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    eprintln!("smsgw: listening on {}", cfg.listen);
    for req in server.incoming_requests() {
        let url = req.url().to_string();
        let (path, query) = url.split_once('?').unwrap_or((&url, ""));
        let (code, body) = if path == "/cgi-bin/sms" {
            let mut msg = OutgoingSms::default();
            for (k, v) in form_urlencoded::parse(query.as_bytes()) {
                match &*k {
                    "phone" => msg.to = v.into_owned(),
                    "message" => msg.text = v.into_owned(),
                    _ => {}
                }
            }
            if msg.to.is_empty() || msg.text.is_empty() {
                (400, "missing phone or message".to_string())
            } else {
                match spool.submit(&msg) {
                    Ok(id) => (200, format!("done {id}")),
                    Err(e @ SpoolError::Invalid(_)) => (400, e.to_string()),
                    Err(e) => (503, e.to_string()),
                }
            }
        } else {
            (404, "not found".to_string())
        };
        let _ = req.respond(tiny_http::Response::from_string(body + "\n").with_status_code(code));
    }
    Ok(())
}

/// CGI mode (uhttpd sets `GATEWAY_INTERFACE`): answers one request from the environment.
pub fn cgi_main() -> i32 {
    println!(
        "Status: 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\nCGI mode not built yet"
    );
    0
}
