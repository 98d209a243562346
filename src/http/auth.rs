//! Token authentication: constant-time comparison, `Authorization: Bearer` extraction, and the
//! first-start token (generated with getrandom, stored in the token file).
//!
//! Owns only the token; it never logs or renders it except the one "generated" notice at first
//! start. Does not know about HTTP framing beyond the header value.

use std::fs;
use std::io::Write;
use std::path::Path;

/// What the client presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthOutcome {
    Ok,
    /// No token at all (HTTP 401).
    Missing,
    /// A token that does not match (HTTP 403).
    Wrong,
}

/// Compares in time that depends only on the lengths, not on where the bytes differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u64;
    for (i, &x) in a.iter().enumerate() {
        let y = b.get(i % b.len().max(1)).copied().unwrap_or(0);
        diff |= u64::from(x ^ y);
    }
    diff == 0
}

/// The token of an `Authorization: Bearer TOKEN` header value.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let h = header?.trim();
    let (scheme, rest) = h.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

/// Checks the presented token (query parameter or bearer header) against the configured one.
pub fn check(expected: &str, query_token: Option<&str>, header: Option<&str>) -> AuthOutcome {
    let presented = query_token.filter(|t| !t.is_empty()).or(bearer(header));
    match presented {
        None => AuthOutcome::Missing,
        Some(t) if constant_time_eq(t.as_bytes(), expected.as_bytes()) => AuthOutcome::Ok,
        Some(_) => AuthOutcome::Wrong,
    }
}

/// A new random token: 32 lowercase hex digits (128 bits).
pub fn generate_token() -> Result<String, String> {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|e| format!("cannot get random bytes: {e}"))?;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut token = String::with_capacity(32);
    for b in raw {
        for &d in [b >> 4, b & 0xf].iter() {
            token.push(char::from(HEX.get(usize::from(d)).copied().unwrap_or(b'0')));
        }
    }
    Ok(token)
}

/// Reads the first line of the token file; `None` when missing or empty.
pub fn read_token_file(path: &Path) -> Option<String> {
    let text = crate::spool::read_text(path).ok()?;
    let t = text.lines().next().unwrap_or("").trim().to_string();
    (!t.is_empty()).then_some(t)
}

/// Writes a token file readable by its owner only.
pub fn write_token_file(path: &Path, token: &str) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(format!("{token}\n").as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The daemon's token: configured, else stored in the token file, else generated and stored.
/// Returns the token and whether it was just generated and stored (a token that cannot be stored
/// is logged here, with the reason: it is not in the file `smsgw status` reads, and the next start
/// makes another one).
pub fn load_or_create(
    configured: Option<&str>,
    token_file: &Path,
) -> Result<(String, bool), String> {
    if let Some(t) = configured {
        return Ok((t.to_string(), false));
    }
    if let Some(t) = read_token_file(token_file) {
        return Ok((t, false));
    }
    let t = generate_token()?;
    if let Err(e) = write_token_file(token_file, &t) {
        crate::log_warn!("generated API token {t} not stored (the next start makes another): {e}");
        return Ok((t, false));
    }
    Ok((t, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The daemon announced "generated API token ... (stored in FILE; shown by `smsgw status`)"
    /// also when the file could not be written.
    #[test]
    fn a_generated_token_that_cannot_be_stored_is_not_announced_as_stored() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (t, stored) = load_or_create(None, dir.path()).unwrap_or_default();
        assert_eq!((t.len(), stored), (32, false));
        let file = dir.path().join("token");
        let (t, stored) = load_or_create(None, &file).unwrap_or_default();
        assert!(stored);
        assert_eq!(read_token_file(&file), Some(t));
    }

    #[test]
    fn compares_exactly() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret1"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(!constant_time_eq(b"x", b""));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn query_or_bearer() {
        assert_eq!(check("tok", Some("tok"), None), AuthOutcome::Ok);
        assert_eq!(check("tok", None, Some("Bearer tok")), AuthOutcome::Ok);
        assert_eq!(check("tok", None, Some("bearer  tok ")), AuthOutcome::Ok);
        assert_eq!(check("tok", None, Some("Basic dG9r")), AuthOutcome::Missing);
        assert_eq!(check("tok", None, None), AuthOutcome::Missing);
        assert_eq!(check("tok", Some(""), None), AuthOutcome::Missing);
        assert_eq!(check("tok", Some("nope"), None), AuthOutcome::Wrong);
    }

    #[test]
    fn generated_tokens_are_random_hex_and_stored() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        let dir = std::env::temp_dir().join(format!("smsgw-auth-{}", std::process::id()));
        let file = dir.join("sub/token");
        let (t1, new1) = load_or_create(None, &file).unwrap();
        let (t2, new2) = load_or_create(None, &file).unwrap();
        assert!(new1 && !new2);
        assert_eq!(t1, t2);
        assert_eq!(
            load_or_create(Some("x"), &file).unwrap(),
            ("x".to_string(), false)
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
