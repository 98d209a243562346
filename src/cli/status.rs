//! `smsgw status`: shows the API token (from UCI or the token file) and the running daemon's
//! `/status`, fetched over loopback.
//!
//! Owns only this diagnostic's argument handling and output; it never changes configuration
//! and never decides HTTP policy (it reads the token the way CGI mode does).

use crate::config::{uci, ServeConfig, DEFAULT_UCI_FILE};
use crate::http::cidr::push_ip;
use crate::http::{auth, push_u64};
use crate::log::{err, out, out_fmt};
use crate::net::http_client::{request, Endpoint, Limits};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

const USAGE: &str =
    "usage: smsgw status [--listen ADDR:PORT] [--token-file PATH] [--config UCI_FILE]\n";

/// Where to reach a daemon listening on `listen` from this host.
fn local_target(listen: &str) -> Option<SocketAddr> {
    let addr = crate::config::parse_socket_addr(listen).ok()?;
    let ip = match addr.ip() {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    Some(SocketAddr::new(ip, addr.port()))
}

/// Why a request to the daemon got no answer.
pub struct Unreachable(pub String);

/// `GET target` from the daemon through the gateway's one HTTP client (the token as a Bearer
/// header): the HTTP status and the body, or why nothing answered (connect or read failed).
pub fn daemon_get(
    addr: SocketAddr,
    target: &str,
    token: Option<&str>,
    accept: &str,
    wait: Duration,
) -> Result<(u16, String), Unreachable> {
    let ep = Endpoint {
        addr,
        host: socket_addr_text(addr),
        base_path: String::new(),
    };
    let limits = Limits {
        connect: Duration::from_secs(3),
        io: wait,
        max_response: 256 * 1024,
    };
    let bearer = token.map(|t| ["Bearer ", t].concat());
    let mut headers = vec![("Accept", accept)];
    if let Some(b) = bearer.as_deref() {
        headers.push(("Authorization", b));
    }
    let r = request(&ep, &limits, "GET", target, &headers, b"")
        .map_err(|e| Unreachable(e.to_string()))?;
    Ok((r.status, String::from_utf8_lossy(&r.body).into_owned()))
}

fn fetch_status(target: SocketAddr) -> Result<String, String> {
    let wait = Duration::from_secs(3);
    let (status, body) = daemon_get(target, "/status", None, "application/json", wait)
        .map_err(|Unreachable(e)| e)?;
    if status != 200 {
        return Err(format!("answered HTTP {status}: {}", body.trim()));
    }
    Ok(body.trim().to_string())
}

/// The daemon's settings as this host sees them: the UCI file (`SMSGW_CONFIG`, else
/// `/etc/config/smsgw`) or the defaults. Returns the file's path too.
pub fn daemon_config() -> (ServeConfig, String) {
    let uci_path = uci_path();
    let cfg = read_uci(&uci_path);
    (cfg, uci_path)
}

/// `SMSGW_CONFIG`, else `/etc/config/smsgw`.
fn uci_path() -> String {
    std::env::var("SMSGW_CONFIG").unwrap_or_else(|_| DEFAULT_UCI_FILE.to_string())
}

fn read_uci(uci_path: &str) -> ServeConfig {
    match crate::spool::read_text(std::path::Path::new(uci_path)) {
        Ok(text) => uci::parse_uci(&text).unwrap_or_else(|e| {
            crate::errln!("smsgw: {uci_path}: {e}");
            ServeConfig::default()
        }),
        Err(_) => ServeConfig::default(),
    }
}

/// The token a client of the daemon presents: from the configuration or the token file (`None`
/// with `no_auth` or when there is none yet).
pub fn daemon_token(cfg: &ServeConfig) -> Option<String> {
    if cfg.no_auth {
        return None;
    }
    cfg.token
        .clone()
        .or_else(|| auth::read_token_file(Path::new(&cfg.token_file)))
}

/// Where to reach the daemon configured in `cfg` from this host.
pub fn daemon_address(cfg: &ServeConfig) -> Option<SocketAddr> {
    local_target(&cfg.listen)
}

/// `addr` as its `Display` writes it (`a.b.c.d:port`, `[v6%scope]:port`), via [`push_ip`].
fn socket_addr_text(addr: SocketAddr) -> String {
    let mut s = String::with_capacity(48);
    match addr {
        SocketAddr::V4(a) => push_ip(&mut s, (*a.ip()).into()),
        SocketAddr::V6(a) => {
            s.push('[');
            push_ip(&mut s, (*a.ip()).into());
            if a.scope_id() != 0 {
                s.push('%');
                push_u64(&mut s, u64::from(a.scope_id()));
            }
            s.push(']');
        }
    }
    s.push(':');
    push_u64(&mut s, u64::from(addr.port()));
    s
}

/// Runs the subcommand; returns the exit code.
pub fn status_main(args: &[String]) -> i32 {
    let mut uci_path = uci_path();
    let mut listen: Option<String> = None;
    let mut token_file: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let known = matches!(a.as_str(), "--listen" | "--token-file" | "--config");
        let (true, Some(v)) = (known, it.next()) else {
            err(USAGE);
            return 2;
        };
        match a.as_str() {
            "--listen" => listen = Some(v.clone()),
            "--token-file" => token_file = Some(v.clone()),
            _ => uci_path = v.clone(),
        }
    }
    let mut cfg = read_uci(&uci_path);
    if let Some(l) = listen {
        cfg.listen = l;
    }
    if let Some(t) = token_file {
        cfg.token_file = t;
    }
    let token_line = if cfg.no_auth {
        "token: none (no_auth is set: any allowed client can send)\n".to_string()
    } else if let Some(t) = &cfg.token {
        format!("token: {t} (from {uci_path})\n")
    } else if let Some(t) = auth::read_token_file(Path::new(&cfg.token_file)) {
        format!("token: {t} (from {})\n", cfg.token_file)
    } else {
        "token: not generated yet (the daemon creates it at first start)\n".to_string()
    };
    // a closed pipe (`smsgw status | head -1`) ends the output, not the program with a panic
    let _ = out(&token_line);
    let Some(target) = local_target(&cfg.listen) else {
        crate::errln!(
            "smsgw status: cannot resolve listen address '{}'",
            cfg.listen
        );
        return 1;
    };
    let target_text = socket_addr_text(target);
    match fetch_status(target) {
        Ok(body) => {
            let _ = out_fmt(format_args!(
                "daemon: http://{target_text}/status\n{body}\n"
            ));
            0
        }
        Err(e) => {
            let _ = out_fmt(format_args!(
                "daemon: not reachable at {target_text}: {e}\n"
            ));
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses_print_like_display() {
        for a in [
            "127.0.0.1:8767",
            "[::1]:80",
            "[fe80::1%3]:8080",
            "[::ffff:1.2.3.4]:1",
        ] {
            let addr: SocketAddr = a.parse().unwrap();
            assert_eq!(socket_addr_text(addr), addr.to_string());
        }
    }

    #[test]
    fn wildcard_listen_maps_to_loopback() {
        assert_eq!(
            local_target("0.0.0.0:8767"),
            Some("127.0.0.1:8767".parse().unwrap())
        );
        assert_eq!(local_target("[::]:1"), Some("[::1]:1".parse().unwrap()));
        assert_eq!(
            local_target("192.168.1.1:80"),
            Some("192.168.1.1:80".parse().unwrap())
        );
        assert_eq!(local_target("nonsense"), None);
    }
}
